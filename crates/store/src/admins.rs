//! Administrator accounts of the HTTP API. The store keeps the password hash (an argon2
//! PHC string computed by the caller), never a password.

use std::fmt;

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Store, StoreError};

/// An administrator account. `Debug` shows `<redacted>` in place of the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    /// Unique login name (non-empty, case-sensitive).
    pub name: String,
    /// argon2 PHC string of the password (`$argon2id$v=19$…`).
    pub password_hash: String,
    /// Whether the account may log in.
    pub enabled: bool,
    /// Creation time, unix milliseconds.
    pub created_at_unix_ms: i64,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("enabled", &self.enabled)
            .field("created_at_unix_ms", &self.created_at_unix_ms)
            .finish()
    }
}

fn admin_from_row<'r, R>(row: &'r R) -> Result<Admin, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    bool: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(Admin {
        name: row.try_get(0)?,
        password_hash: row.try_get(1)?,
        enabled: row.try_get(2)?,
        created_at_unix_ms: row.try_get(3)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "admin",
        key: name.to_owned(),
    }
}

fn check(name: &str, password_hash: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "name",
            reason: "must not be empty",
        });
    }
    if password_hash.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "password_hash",
            reason: "must not be empty",
        });
    }
    Ok(())
}

impl Store {
    /// Creates an enabled administrator with this password hash.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::InvalidInput`] for
    /// an empty name or hash.
    pub async fn create_admin(&self, name: &str, password_hash: &str) -> Result<Admin, StoreError> {
        check(name, password_hash)?;
        let now = now_unix_ms();
        let sql = "INSERT INTO admins (name, password_hash, enabled, created_at) \
                   VALUES ($1, $2, $3, $4)";
        with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(name)
                .bind(password_hash)
                .bind(true)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| StoreError::conflict_or_db(e, "admin", name.to_owned()))?;
        Ok(Admin {
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
            enabled: true,
            created_at_unix_ms: now,
        })
    }

    /// One administrator by name.
    pub async fn get_admin(&self, name: &str) -> Result<Option<Admin>, StoreError> {
        let sql = "SELECT name, password_hash, enabled, created_at FROM admins WHERE name = $1";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(admin_from_row).transpose()
        })
    }

    /// Every administrator, ordered by name.
    pub async fn list_admins(&self) -> Result<Vec<Admin>, StoreError> {
        let sql = "SELECT name, password_hash, enabled, created_at FROM admins ORDER BY name";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(admin_from_row).collect()
        })
    }

    /// Replaces an administrator's password hash (its tokens stay valid: revoke them with
    /// [`Store::delete_token`] if wanted).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such administrator.
    pub async fn set_admin_password(
        &self,
        name: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        check(name, password_hash)?;
        let sql = "UPDATE admins SET password_hash = $2 WHERE name = $1";
        let updated = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(name)
                .bind(password_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// Enables or disables an administrator.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such administrator.
    pub async fn set_admin_enabled(&self, name: &str, enabled: bool) -> Result<(), StoreError> {
        let sql = "UPDATE admins SET enabled = $2 WHERE name = $1";
        let updated = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(name)
                .bind(enabled)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }

    /// Deletes an administrator and, with it, every token it holds.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such administrator.
    pub async fn delete_admin(&self, name: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM admins WHERE name = $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_hash() {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        let admin = Admin {
            name: "root".to_owned(),
            password_hash: hash.to_owned(),
            enabled: true,
            created_at_unix_ms: 1,
        };
        let text = format!("{admin:?} {admin:#?}");
        assert!(
            text.contains("root") && text.contains("<redacted>"),
            "{text}"
        );
        assert!(
            !text.contains("argon2") && !text.contains("aGFzaGhh"),
            "{text}"
        );
    }
}
