//! History of the dialplan files: every saved text with its author, numbered from 1 per
//! file name. The files stay the source of truth; this is what the API shows and restores.

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, Pools, now_unix_ms, with_reader};
use crate::{Store, StoreError};

/// One saved text of a dialplan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanVersion {
    /// The file name.
    pub name: String,
    /// 1 for the first saved text of that name, then one more for each.
    pub version: i64,
    /// The text, as saved.
    pub content: String,
    /// Who saved it.
    pub author: String,
    /// When, unix milliseconds (the store's clock).
    pub created_at_unix_ms: i64,
}

/// A version without its text, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialplanVersionInfo {
    /// The file name.
    pub name: String,
    /// The version number.
    pub version: i64,
    /// Who saved it.
    pub author: String,
    /// When, unix milliseconds.
    pub created_at_unix_ms: i64,
    /// Length of the text in bytes (UTF-8).
    pub size: i64,
}

fn version_from_row<'r, R>(row: &'r R) -> Result<DialplanVersion, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(DialplanVersion {
        name: row.try_get(0)?,
        version: row.try_get(1)?,
        content: row.try_get(2)?,
        author: row.try_get(3)?,
        created_at_unix_ms: row.try_get(4)?,
    })
}

fn info_from_row<'r, R>(row: &'r R) -> Result<DialplanVersionInfo, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(DialplanVersionInfo {
        name: row.try_get(0)?,
        version: row.try_get(1)?,
        author: row.try_get(2)?,
        created_at_unix_ms: row.try_get(3)?,
        size: row.try_get(4)?,
    })
}

impl Store {
    /// Records a saved text as the next version of `name` (the previous largest plus one,
    /// 1 for the first) and returns it. Safe against concurrent writers: the number is
    /// computed in the insert itself, and on PostgreSQL writers of one name take turns (a
    /// transaction-scoped advisory lock).
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty name.
    pub async fn add_dialplan_version(
        &self,
        name: &str,
        content: &str,
        author: &str,
    ) -> Result<DialplanVersion, StoreError> {
        if name.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "name",
                reason: "must not be empty",
            });
        }
        let size = i64::try_from(content.len()).expect("a text in memory is below i64::MAX bytes");
        let now = now_unix_ms();
        let sql = "INSERT INTO dialplan_versions (name, version, content, author, size, created_at) \
                   SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 \
                   FROM dialplan_versions WHERE name = $1 RETURNING version";
        let version: i64 = match &self.pools {
            // One writer connection: numbers cannot collide.
            Pools::Sqlite { writer, .. } => {
                sqlx::query_scalar(sql)
                    .bind(name)
                    .bind(content)
                    .bind(author)
                    .bind(size)
                    .bind(now)
                    .fetch_one(writer)
                    .await?
            }
            // Writers of the same name queue on a transaction-scoped lock, so the
            // number computed in the insert is never taken meanwhile, however many
            // nodes save at once.
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "SELECT pg_advisory_xact_lock(hashtext('dialplan_versions'), hashtext($1))",
                )
                .bind(name)
                .execute(&mut *tx)
                .await?;
                let version = sqlx::query_scalar(sql)
                    .bind(name)
                    .bind(content)
                    .bind(author)
                    .bind(size)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                version
            }
        };
        Ok(DialplanVersion {
            name: name.to_owned(),
            version,
            content: content.to_owned(),
            author: author.to_owned(),
            created_at_unix_ms: now,
        })
    }

    /// The versions of `name` without their texts, newest first.
    pub async fn list_dialplan_versions(
        &self,
        name: &str,
    ) -> Result<Vec<DialplanVersionInfo>, StoreError> {
        let sql = "SELECT name, version, author, created_at, size FROM dialplan_versions \
                   WHERE name = $1 ORDER BY version DESC";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).bind(name).fetch_all(pool).await?;
            rows.iter().map(info_from_row).collect()
        })
    }

    /// One version of `name`.
    pub async fn get_dialplan_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<DialplanVersion>, StoreError> {
        let sql = "SELECT name, version, content, author, created_at FROM dialplan_versions \
                   WHERE name = $1 AND version = $2";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).bind(version).fetch_optional(pool).await?;
            row.as_ref().map(version_from_row).transpose()
        })
    }

    /// The newest version of `name`.
    pub async fn latest_dialplan_version(
        &self,
        name: &str,
    ) -> Result<Option<DialplanVersion>, StoreError> {
        let sql = "SELECT name, version, content, author, created_at FROM dialplan_versions \
                   WHERE name = $1 ORDER BY version DESC LIMIT 1";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(version_from_row).transpose()
        })
    }
}
