//! Dialplan documents: named texts edited through the API, with a version per document
//! for optimistic concurrency and a change counter for the whole table.
//!
//! The store keeps the text exactly as given; compiling and checking it is the dialplan
//! compiler's job, before the text is written and again when it is loaded.

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Store, StoreError};

/// A stored dialplan document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialplan {
    /// Unique name (non-empty, case-sensitive).
    pub name: String,
    /// The dialplan text, as written.
    pub content: String,
    /// 1 when created, plus one on every write since; pass it back to
    /// [`Store::put_dialplan`] to update only what was read.
    pub version: i64,
    /// Last write, unix milliseconds (the store's clock).
    pub updated_at_unix_ms: i64,
}

fn dialplan_from_row<'r, R>(row: &'r R) -> Result<Dialplan, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(Dialplan {
        name: row.try_get(0)?,
        content: row.try_get(1)?,
        version: row.try_get(2)?,
        updated_at_unix_ms: row.try_get(3)?,
    })
}

impl Store {
    /// Every dialplan document, ordered by name, with its text (documents are small; a
    /// server reloads them all when [`Store::dialplans_generation`] changes).
    pub async fn list_dialplans(&self) -> Result<Vec<Dialplan>, StoreError> {
        let sql = "SELECT name, content, version, updated_at FROM dialplans ORDER BY name";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(dialplan_from_row).collect()
        })
    }

    /// One dialplan document by name.
    pub async fn get_dialplan(&self, name: &str) -> Result<Option<Dialplan>, StoreError> {
        let sql = "SELECT name, content, version, updated_at FROM dialplans WHERE name = $1";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(dialplan_from_row).transpose()
        })
    }

    /// Creates or replaces a dialplan document and returns it as stored. Every write
    /// increments the version, also when the text is unchanged.
    ///
    /// `expected_version` makes the write conditional, in one statement (no window
    /// between the check and the write):
    /// - `None`: unconditional: creates the document at version 1 or replaces it;
    /// - `Some(0)`: only if no document of that name exists (create);
    /// - `Some(v)`: only if the document exists at version `v` (update what was read).
    ///
    /// # Errors
    /// [`StoreError::VersionConflict`] when the condition does not hold (with the version
    /// found, `None` if absent); nothing is written. [`StoreError::InvalidInput`] for an
    /// empty name or a negative expected version.
    pub async fn put_dialplan(
        &self,
        name: &str,
        content: &str,
        expected_version: Option<i64>,
    ) -> Result<Dialplan, StoreError> {
        if name.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "name",
                reason: "must not be empty",
            });
        }
        let now = now_unix_ms();
        let sql = match expected_version {
            None => {
                "INSERT INTO dialplans (name, content, version, updated_at) \
                 VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (name) DO UPDATE SET content = excluded.content, \
                 version = dialplans.version + 1, updated_at = excluded.updated_at \
                 RETURNING version"
            }
            Some(0) => {
                "INSERT INTO dialplans (name, content, version, updated_at) \
                 VALUES ($1, $2, 1, $3) ON CONFLICT (name) DO NOTHING RETURNING version"
            }
            Some(v) if v > 0 => {
                "UPDATE dialplans SET content = $2, version = version + 1, updated_at = $3 \
                 WHERE name = $1 AND version = $4 RETURNING version"
            }
            Some(_) => {
                return Err(StoreError::InvalidInput {
                    field: "expected_version",
                    reason: "must not be negative",
                });
            }
        };
        let version: Option<i64> = with_writer!(self, pool => {
            let query = sqlx::query_scalar(sql).bind(name).bind(content).bind(now);
            match expected_version {
                // The upsert always returns its row.
                None => Some(query.fetch_one(pool).await?),
                Some(0) => query.fetch_optional(pool).await?,
                Some(expected) => query.bind(expected).fetch_optional(pool).await?,
            }
        });
        match version {
            Some(version) => Ok(Dialplan {
                name: name.to_owned(),
                content: content.to_owned(),
                version,
                updated_at_unix_ms: now,
            }),
            None => Err(StoreError::VersionConflict {
                what: "dialplan",
                key: name.to_owned(),
                expected: expected_version.unwrap_or(0),
                actual: self.dialplan_version(name).await?,
            }),
        }
    }

    /// Deletes a dialplan document.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no document of that name.
    pub async fn delete_dialplan(&self, name: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM dialplans WHERE name = $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::NotFound {
                what: "dialplan",
                key: name.to_owned(),
            });
        }
        Ok(())
    }

    /// The dialplans change counter: increases with every created, replaced or deleted
    /// document (in any process sharing the database) and only then. Compare two
    /// readings; the absolute value has no meaning. One indexed read, cheap to poll.
    pub async fn dialplans_generation(&self) -> Result<i64, StoreError> {
        let sql = "SELECT value FROM generations WHERE name = 'dialplans'";
        let value: i64 = with_reader!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await?
        });
        Ok(value)
    }

    /// The current version of a document, read on the writer after a failed conditional
    /// write (so it sees that write's outcome).
    async fn dialplan_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let sql = "SELECT version FROM dialplans WHERE name = $1";
        let version: Option<i64> = with_writer!(self, pool => {
            sqlx::query_scalar(sql).bind(name).fetch_optional(pool).await?
        });
        Ok(version)
    }
}
