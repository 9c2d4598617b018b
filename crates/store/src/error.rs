//! The crate's one error type.

use sqlx::error::ErrorKind;

/// Everything that can go wrong in the store.
///
/// Messages never contain HA1 values or database passwords.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL could not be used (unknown scheme, bad syntax, bad parameters).
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// Why the URL was refused (never echoes the URL, which may hold a password).
        reason: String,
    },

    /// A value handed to the store is malformed (checked before touching the database).
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A row with the same unique key already exists, or (with `used_by`) the row cannot
    /// be deleted because another row refers to it.
    #[error(
        "{what} {key} {}",
        used_by.as_ref().map_or_else(|| "already exists".to_owned(), |t| format!("is used by trunk {t}"))
    )]
    Conflict {
        /// The kind of row, e.g. `"user"`, `"extension"`, `"acl"`.
        what: &'static str,
        /// The duplicated (or referenced) key, e.g. `"alice@example.com"`.
        key: String,
        /// For a refused delete: the name of the trunk that refers to the row (ACLs are
        /// the only rows others refer to by name). `None` for a duplicate key.
        used_by: Option<String>,
    },

    /// The row to change does not exist.
    #[error("{what} {key} not found")]
    NotFound {
        /// The kind of row, e.g. `"user"`.
        what: &'static str,
        /// The key that was looked up.
        key: String,
    },

    /// A conditional write found another version than the one it was based on (someone
    /// else changed or deleted the row in between): nothing was written.
    #[error(
        "{what} {key} is at version {}, not the expected {expected}",
        actual.map_or_else(|| "none (absent)".to_owned(), |v| v.to_string())
    )]
    VersionConflict {
        /// The kind of row, e.g. `"dialplan"`.
        what: &'static str,
        /// Its key, e.g. the dialplan name.
        key: String,
        /// The version the write expected (0: that the row did not exist).
        expected: i64,
        /// The version found when the write failed; `None` when the row does not exist.
        actual: Option<i64>,
    },

    /// The database refused a value through a CHECK, NOT NULL or foreign-key constraint
    /// (for example a binding `q` above 1000).
    #[error("value rejected by the database: {message}")]
    ConstraintViolation {
        /// The database's own message.
        message: String,
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },

    /// Any other database failure: connection, I/O, timeout, syntax.
    #[error("database error")]
    Database {
        /// The underlying error.
        #[source]
        source: sqlx::Error,
    },

    /// Applying or validating the embedded migrations failed.
    #[error("database migration failed")]
    Migration {
        /// The underlying error.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A stored value cannot be represented (written by something other than this crate).
    #[error("stored {what} is malformed: {reason}")]
    Corrupt {
        /// Which column or value.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// Maps a database error, turning a unique violation into [`StoreError::Conflict`].
    pub(crate) fn conflict_or_db(source: sqlx::Error, what: &'static str, key: String) -> Self {
        let unique = source
            .as_database_error()
            .is_some_and(|db| db.kind() == ErrorKind::UniqueViolation);
        if unique {
            StoreError::Conflict {
                what,
                key,
                used_by: None,
            }
        } else {
            StoreError::from(source)
        }
    }
}

/// Whether `source` is a unique violation of the index `index` (PostgreSQL names the
/// index; SQLite's message names the columns, e.g. `UNIQUE constraint failed: users.domain,
/// users.extension`, so `sqlite_column` is looked for in it).
pub(crate) fn violates_unique(source: &sqlx::Error, index: &str, sqlite_column: &str) -> bool {
    source.as_database_error().is_some_and(|db| {
        db.kind() == ErrorKind::UniqueViolation
            && match db.constraint() {
                Some(name) => name == index,
                None => db.message().contains(sqlite_column),
            }
    })
}

/// Whether `source` is a foreign-key violation.
pub(crate) fn is_foreign_key_violation(source: &sqlx::Error) -> bool {
    source
        .as_database_error()
        .is_some_and(|db| db.kind() == ErrorKind::ForeignKeyViolation)
}

impl From<sqlx::Error> for StoreError {
    fn from(source: sqlx::Error) -> Self {
        let constraint = source.as_database_error().and_then(|db| match db.kind() {
            ErrorKind::CheckViolation
            | ErrorKind::NotNullViolation
            | ErrorKind::ForeignKeyViolation
            | ErrorKind::ExclusionViolation => Some(db.message().to_owned()),
            // Unique violations are reported as `Conflict` where the caller knows the key.
            _ => None,
        });
        match constraint {
            Some(message) => StoreError::ConstraintViolation { message, source },
            None => StoreError::Database { source },
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(source: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration { source }
    }
}
