//! User administration used by `switchboard user …`: the only place passwords
//! exist in clear, long enough to compute HA1 for each digest algorithm
//! (realm = the user's domain). Nothing stores or logs them.

use anyhow::{Context, bail};
use sb_store::{ListUsers, NewUser, Store, StoreError};

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
            extension: None,
            context: None,
            groups: Vec::new(),
            call_allow: Vec::new(),
            call_deny: Vec::new(),
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
                    group: None,
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

/// HA1 values for realm = domain, as the API computes them.
fn secrets(name: &str, domain: &str, password: &str) -> (sb_store::Ha1Md5, sb_store::Ha1Sha256) {
    sb_http_api::user_secrets(name, domain, password)
}

/// The API's user-name rule ([`sb_http_api::validate_username`]).
fn validate_user(name: &str) -> anyhow::Result<()> {
    sb_http_api::validate_username(name).map_err(|e| anyhow::anyhow!(e.message))
}

/// The API's domain rule ([`sb_http_api::validate_domain`]); returns it lower-case.
fn validate_domain(domain: &str) -> anyhow::Result<String> {
    sb_http_api::validate_domain(domain).map_err(|e| anyhow::anyhow!(e.message))
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
