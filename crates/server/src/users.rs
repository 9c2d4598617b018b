//! User administration used by `switchboard user …`: the only place passwords
//! exist in clear, long enough to compute HA1 for each digest algorithm
//! (realm = the user's domain). Nothing stores or logs them.

use anyhow::{Context, bail};
use sb_sip_auth::{Algorithm, compute_ha1};
use sb_store::{Ha1Md5, Ha1Sha256, ListUsers, NewUser, Store, StoreError};

use crate::Config;

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// User name.
    pub username: String,
    /// Domain.
    pub domain: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Whether the user may authenticate.
    pub enabled: bool,
}

/// User operations on the configured database.
#[derive(Debug)]
pub struct UserAdmin {
    store: Store,
}

impl UserAdmin {
    /// Opens (and migrates) the configured database.
    pub async fn open(config: &Config) -> anyhow::Result<UserAdmin> {
        let store = crate::open_store(config).await?;
        Ok(UserAdmin { store })
    }

    /// Adds a user; fails when it exists.
    pub async fn add(
        &self,
        name: &str,
        domain: &str,
        password: &str,
        display_name: Option<&str>,
    ) -> anyhow::Result<()> {
        validate_user(name)?;
        let domain = validate_domain(domain)?;
        let (ha1_md5, ha1_sha256) = secrets(name, &domain, password);
        let new = NewUser {
            username: name.to_owned(),
            domain: domain.clone(),
            display_name: display_name.map(str::to_owned),
            ha1_md5,
            ha1_sha256,
            enabled: true,
        };
        match self.store.create_user(&new).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => bail!("user {name}@{domain} already exists"),
            Err(e) => Err(e).context("cannot add the user"),
        }
    }

    /// Adds `(name, password)` pairs to `domain`, skipping users that exist.
    /// Every entry is validated before anything is written. Returns (added,
    /// skipped).
    pub async fn import(
        &self,
        domain: &str,
        entries: &[(String, String)],
    ) -> anyhow::Result<(usize, usize)> {
        let domain = validate_domain(domain)?;
        for (name, password) in entries {
            validate_user(name)?;
            if password.is_empty() {
                bail!("user {name}: the password must not be empty");
            }
        }
        let (mut added, mut skipped) = (0, 0);
        for (name, password) in entries {
            match self.add(name, &domain, password, None).await {
                Ok(()) => added += 1,
                Err(e) if e.to_string().ends_with("already exists") => skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok((added, skipped))
    }

    /// Lists users, optionally of one domain.
    pub async fn list(&self, domain: Option<&str>) -> anyhow::Result<Vec<UserSummary>> {
        let domain = domain.map(validate_domain).transpose()?;
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .list_users(&ListUsers {
                    domain: domain.clone(),
                    search: None,
                    limit: 500,
                    offset,
                })
                .await
                .context("cannot list users")?;
            let n = page.len();
            out.extend(page.into_iter().map(|u| UserSummary {
                username: u.username,
                domain: u.domain,
                display_name: u.display_name,
                enabled: u.enabled,
            }));
            if n < 500 {
                break;
            }
            offset += 500;
        }
        Ok(out)
    }

    /// Deletes a user; fails when there is none.
    pub async fn delete(&self, name: &str, domain: &str) -> anyhow::Result<()> {
        let domain = validate_domain(domain)?;
        match self.store.delete_user(name, &domain).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound { .. }) => bail!("no user {name}@{domain}"),
            Err(e) => Err(e).context("cannot delete the user"),
        }
    }

    /// Replaces a user's password (its HA1 values).
    pub async fn set_password(
        &self,
        name: &str,
        domain: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let domain = validate_domain(domain)?;
        let (md5, sha256) = secrets(name, &domain, password);
        match self
            .store
            .update_user_secrets(name, &domain, &md5, &sha256)
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound { .. }) => bail!("no user {name}@{domain}"),
            Err(e) => Err(e).context("cannot change the password"),
        }
    }
}

fn secrets(name: &str, domain: &str, password: &str) -> (Ha1Md5, Ha1Sha256) {
    let md5 = compute_ha1(Algorithm::Md5, name, domain, password);
    let sha256 = compute_ha1(Algorithm::Sha256, name, domain, password);
    (
        Ha1Md5::from_hex(md5.expose_hex()).expect("an MD5 HA1 is 32 hex digits"),
        Ha1Sha256::from_hex(sha256.expose_hex()).expect("a SHA-256 HA1 is 64 hex digits"),
    )
}

/// A SIP user part Switchboard accepts for accounts: letters, digits and
/// `. _ - + ~ !`, at most 64 characters (a subset of RFC 3261 §25.1 `user`
/// that needs no escaping anywhere).
fn validate_user(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+~!".contains(&b));
    if !ok {
        bail!("`{name}` is not a valid user name (letters, digits and . _ - + ~ !, at most 64)");
    }
    Ok(())
}

fn validate_domain(domain: &str) -> anyhow::Result<String> {
    let d = domain.trim().to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if !ok {
        bail!("`{domain}` is not a valid domain");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_domains_are_validated() {
        assert!(validate_user("alice").is_ok());
        assert!(validate_user("1001").is_ok());
        assert!(validate_user("a.b-c_d+e").is_ok());
        assert!(validate_user("").is_err());
        assert!(validate_user("al ice").is_err());
        assert!(validate_user("al@ice").is_err());
        assert!(validate_user(&"a".repeat(65)).is_err());
        assert_eq!(validate_domain("Example.TEST").unwrap(), "example.test");
        assert!(validate_domain("bad domain").is_err());
        assert!(validate_domain("a..b").is_err());
    }
}
