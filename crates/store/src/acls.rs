//! ACLs: named lists of address blocks that trunks and the admin API refer to. Writes
//! bump [`Store::config_generation`].

use sqlx::{ColumnIndex, Row};

use crate::error::is_foreign_key_violation;
use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Store, StoreError, lists};

/// A named address list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// Unique name (non-empty, case-sensitive).
    pub name: String,
    /// Free text for people.
    pub description: Option<String>,
    /// Address blocks (`192.0.2.0/24`, `2001:db8::1`), as given (the caller checks them).
    pub cidrs: Vec<String>,
    /// Last write, unix milliseconds (set by the store; ignored on input).
    pub updated_at_unix_ms: i64,
}

fn acl_from_row<'r, R>(row: &'r R) -> Result<Acl, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    Ok(Acl {
        name: row.try_get(0)?,
        description: row.try_get(1)?,
        cidrs: lists::decode(row.try_get(2)?),
        updated_at_unix_ms: row.try_get(3)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "acl",
        key: name.to_owned(),
    }
}

fn encode(acl: &Acl) -> Result<String, StoreError> {
    if acl.name.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "name",
            reason: "must not be empty",
        });
    }
    lists::encode("cidrs", &acl.cidrs)
}

impl Store {
    /// Every ACL, ordered by name.
    pub async fn list_acls(&self) -> Result<Vec<Acl>, StoreError> {
        let sql = "SELECT name, description, cidrs, updated_at FROM acls ORDER BY name";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(acl_from_row).collect()
        })
    }

    /// One ACL by name.
    pub async fn get_acl(&self, name: &str) -> Result<Option<Acl>, StoreError> {
        let sql = "SELECT name, description, cidrs, updated_at FROM acls WHERE name = $1";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(acl_from_row).transpose()
        })
    }

    /// Creates an ACL and returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::InvalidInput`] for
    /// an empty name or a bad list item.
    pub async fn create_acl(&self, acl: &Acl) -> Result<Acl, StoreError> {
        let cidrs = encode(acl)?;
        let now = now_unix_ms();
        let sql = "INSERT INTO acls (name, description, cidrs, updated_at) VALUES ($1, $2, $3, $4)";
        with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&acl.name)
                .bind(acl.description.as_deref())
                .bind(&cidrs)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| StoreError::conflict_or_db(e, "acl", acl.name.clone()))?;
        Ok(Acl {
            updated_at_unix_ms: now,
            ..acl.clone()
        })
    }

    /// Replaces the description and address list of the ACL named `acl.name`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such ACL.
    pub async fn update_acl(&self, acl: &Acl) -> Result<Acl, StoreError> {
        let cidrs = encode(acl)?;
        let now = now_unix_ms();
        let sql = "UPDATE acls SET description = $2, cidrs = $3, updated_at = $4 WHERE name = $1";
        let updated = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&acl.name)
                .bind(acl.description.as_deref())
                .bind(&cidrs)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(not_found(&acl.name));
        }
        Ok(Acl {
            updated_at_unix_ms: now,
            ..acl.clone()
        })
    }

    /// Deletes an ACL that no trunk refers to.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such ACL; [`StoreError::Conflict`] with
    /// `used_by` naming a trunk (the first by name) when trunks refer to it (the database's
    /// foreign key refuses the delete, so this holds against concurrent writers too).
    pub async fn delete_acl(&self, name: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM acls WHERE name = $1";
        let users = "SELECT name FROM trunks WHERE acl = $1 ORDER BY name LIMIT 1";
        // A trunk may drop its reference between the refused delete and the look-up of
        // who refers: then the delete is tried again (twice; a third refusal is reported
        // as the database's).
        let mut attempt = 0;
        loop {
            attempt += 1;
            let deleted = with_writer!(self, pool => {
                sqlx::query(sql).bind(name).execute(pool).await.map(|r| r.rows_affected())
            });
            match deleted {
                Ok(0) => return Err(not_found(name)),
                Ok(_) => return Ok(()),
                Err(e) if attempt < 3 && is_foreign_key_violation(&e) => {
                    let trunk: Option<String> = with_writer!(self, pool => {
                        sqlx::query_scalar(users).bind(name).fetch_optional(pool).await?
                    });
                    if let Some(trunk) = trunk {
                        return Err(StoreError::Conflict {
                            what: "acl",
                            key: name.to_owned(),
                            used_by: Some(trunk),
                        });
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The configuration change counter: increases with every created, changed or deleted
    /// call group, ACL or trunk (in any process sharing the database) and only then.
    /// Compare two readings; the absolute value has no meaning. One indexed read.
    pub async fn config_generation(&self) -> Result<i64, StoreError> {
        let sql = "SELECT value FROM generations WHERE name = 'config'";
        let value: i64 = with_reader!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await?
        });
        Ok(value)
    }
}
