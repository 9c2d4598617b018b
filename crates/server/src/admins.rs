//! Administrator accounts of the HTTP API, for `switchboard admin …`: the
//! password exists in clear only long enough to hash it (argon2id); the
//! store keeps the hash.

use anyhow::{Context, bail};
use sb_store::{Admin, Store, StoreError};

use crate::Config;

/// Administrator operations on the configured database.
#[derive(Debug)]
pub struct AdminAccounts {
    store: Store,
}

impl AdminAccounts {
    /// Opens (and migrates) the configured database.
    pub async fn open(config: &Config) -> anyhow::Result<AdminAccounts> {
        let store = crate::open_store(config).await?;
        Ok(AdminAccounts { store })
    }

    /// Adds an administrator; fails when the name is taken.
    pub async fn add(&self, name: &str, password: &str) -> anyhow::Result<()> {
        sb_http_api::validate_username(name).map_err(|e| anyhow::anyhow!("{}", e.message))?;
        check_password(password)?;
        let hash = sb_http_api::hash_password(password);
        match self.store.create_admin(name, &hash).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { .. }) => bail!("administrator {name} already exists"),
            Err(e) => Err(e).context("cannot add the administrator"),
        }
    }

    /// Every administrator.
    pub async fn list(&self) -> anyhow::Result<Vec<Admin>> {
        self.store
            .list_admins()
            .await
            .context("cannot list administrators")
    }

    /// Deletes an administrator and its tokens.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self.store.delete_admin(name).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound { .. }) => bail!("no administrator {name}"),
            Err(e) => Err(e).context("cannot delete the administrator"),
        }
    }

    /// Replaces an administrator's password.
    pub async fn set_password(&self, name: &str, password: &str) -> anyhow::Result<()> {
        check_password(password)?;
        let hash = sb_http_api::hash_password(password);
        match self.store.set_admin_password(name, &hash).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound { .. }) => bail!("no administrator {name}"),
            Err(e) => Err(e).context("cannot change the password"),
        }
    }
}

fn check_password(password: &str) -> anyhow::Result<()> {
    let n = password.chars().count();
    if !(sb_http_api::MIN_PASSWORD_LEN..=sb_http_api::MAX_PASSWORD_LEN).contains(&n) {
        bail!(
            "a password has {} to {} characters",
            sb_http_api::MIN_PASSWORD_LEN,
            sb_http_api::MAX_PASSWORD_LEN
        );
    }
    Ok(())
}
