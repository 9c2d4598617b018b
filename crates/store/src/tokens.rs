//! Bearer tokens of the HTTP API: login sessions and named API tokens. Only the SHA-256
//! of a token is stored, so the database never holds anything that authenticates. A
//! token belongs to an administrator or to a SIP user and is deleted with it (foreign keys
//! with `ON DELETE CASCADE`).

use std::fmt;

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::users::fold_domain;
use crate::{Store, StoreError};

/// Whom a token authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSubject {
    /// An administrator account, by name.
    Admin {
        /// The administrator's name.
        name: String,
    },
    /// A SIP user.
    User {
        /// The user part.
        username: String,
        /// The domain (compared in any case, returned lower-case).
        domain: String,
    },
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A login session (expires).
    Session,
    /// A named API token created by an administrator.
    Api,
}

impl TokenKind {
    /// The stored text: `session` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }

    fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "session" => Ok(TokenKind::Session),
            "api" => Ok(TokenKind::Api),
            other => Err(StoreError::Corrupt {
                what: "auth_tokens.kind",
                reason: format!("unexpected value {other:?}"),
            }),
        }
    }
}

/// A stored token (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// Row identity, to list and revoke tokens.
    pub id: i64,
    /// Whom it authenticates.
    pub subject: TokenSubject,
    /// Session or API token.
    pub kind: TokenKind,
    /// A label given by its creator.
    pub name: Option<String>,
    /// Creation time, unix milliseconds.
    pub created_at_unix_ms: i64,
    /// When it stops being valid (exclusive), unix milliseconds; `None`: never.
    pub expires_at_unix_ms: Option<i64>,
    /// When [`Store::find_token`] last found it, to [`TOKEN_USE_RESOLUTION_MS`].
    pub last_used_at_unix_ms: Option<i64>,
}

/// A token to store. `Debug` does not show the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// SHA-256 of the secret token (the secret itself is never stored).
    pub token_hash: [u8; 32],
    /// Whom it authenticates; must exist.
    pub subject: TokenSubject,
    /// Session or API token.
    pub kind: TokenKind,
    /// A label.
    pub name: Option<String>,
    /// When it stops being valid, unix milliseconds; `None`: never.
    pub expires_at_unix_ms: Option<i64>,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("token_hash", &"<redacted>")
            .field("subject", &self.subject)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("expires_at_unix_ms", &self.expires_at_unix_ms)
            .finish()
    }
}

/// [`Store::find_token`] records a use only when the recorded one is at least this old
/// (milliseconds), so an API client does not cost a database write per request.
pub const TOKEN_USE_RESOLUTION_MS: i64 = 60_000;

macro_rules! token_select {
    () => {
        "SELECT t.id, t.admin_name, u.username, u.domain, t.kind, t.name, t.created_at, \
         t.expires_at, t.last_used_at FROM auth_tokens t LEFT JOIN users u ON u.id = t.user_id"
    };
}

fn token_from_row<'r, R>(row: &'r R) -> Result<AuthToken, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    Option<i64>: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    let admin: Option<String> = row.try_get(1)?;
    let username: Option<String> = row.try_get(2)?;
    let domain: Option<String> = row.try_get(3)?;
    let subject = match (admin, username, domain) {
        (Some(name), None, None) => TokenSubject::Admin { name },
        (None, Some(username), Some(domain)) => TokenSubject::User { username, domain },
        _ => {
            return Err(StoreError::Corrupt {
                what: "auth_tokens subject",
                reason: "neither exactly one administrator nor one user".to_owned(),
            });
        }
    };
    Ok(AuthToken {
        id: row.try_get(0)?,
        subject,
        kind: TokenKind::from_stored(row.try_get(4)?)?,
        name: row.try_get(5)?,
        created_at_unix_ms: row.try_get(6)?,
        expires_at_unix_ms: row.try_get(7)?,
        last_used_at_unix_ms: row.try_get(8)?,
    })
}

impl Store {
    /// Stores a token for an existing administrator or user and returns it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the subject does not exist; [`StoreError::Conflict`]
    /// when a token with the same hash exists.
    pub async fn create_token(&self, token: &NewToken) -> Result<AuthToken, StoreError> {
        let now = now_unix_ms();
        let hash = &token.token_hash[..];
        let (sql, first, second) = match &token.subject {
            TokenSubject::Admin { name } => (
                "INSERT INTO auth_tokens \
                 (token_hash, admin_name, kind, name, created_at, expires_at) \
                 SELECT $1, name, $3, $4, $5, $6 FROM admins WHERE name = $2 RETURNING id",
                name.as_str(),
                None,
            ),
            TokenSubject::User { username, domain } => (
                "INSERT INTO auth_tokens \
                 (token_hash, user_id, kind, name, created_at, expires_at) \
                 SELECT $1, id, $3, $4, $5, $6 FROM users \
                 WHERE username = $2 AND domain = $7 RETURNING id",
                username.as_str(),
                Some(fold_domain(domain)),
            ),
        };
        let id: Option<i64> = with_writer!(self, pool => {
            let query = sqlx::query_scalar(sql)
                .bind(hash)
                .bind(first)
                .bind(token.kind.as_str())
                .bind(token.name.as_deref())
                .bind(now)
                .bind(token.expires_at_unix_ms);
            let query = match &second {
                Some(domain) => query.bind(domain.as_ref()),
                None => query,
            };
            query.fetch_optional(pool).await
        })
        .map_err(|e| StoreError::conflict_or_db(e, "token", "with this hash".to_owned()))?;
        let Some(id) = id else {
            return Err(match &token.subject {
                TokenSubject::Admin { name } => StoreError::NotFound {
                    what: "admin",
                    key: name.clone(),
                },
                TokenSubject::User { username, domain } => {
                    crate::users::not_found(username, &fold_domain(domain))
                }
            });
        };
        let subject = match &token.subject {
            TokenSubject::User { username, domain } => TokenSubject::User {
                username: username.clone(),
                domain: domain.to_ascii_lowercase(),
            },
            admin => admin.clone(),
        };
        Ok(AuthToken {
            id,
            subject,
            kind: token.kind,
            name: token.name.clone(),
            created_at_unix_ms: now,
            expires_at_unix_ms: token.expires_at_unix_ms,
            last_used_at_unix_ms: None,
        })
    }

    /// The token with this hash, unless it has expired at `now_unix_ms` (a token is valid
    /// while `now < expires_at`). Records the use (`last_used_at = now`) when the recorded
    /// one is older than [`TOKEN_USE_RESOLUTION_MS`] or absent; the returned token shows
    /// the recorded value.
    pub async fn find_token(
        &self,
        token_hash: &[u8; 32],
        now_unix_ms: i64,
    ) -> Result<Option<AuthToken>, StoreError> {
        let sql = concat!(
            token_select!(),
            " WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)"
        );
        let token = with_reader!(self, pool => {
            let row = sqlx::query(sql)
                .bind(&token_hash[..])
                .bind(now_unix_ms)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(token_from_row).transpose()
        })?;
        let Some(mut token) = token else {
            return Ok(None);
        };
        let stale = token
            .last_used_at_unix_ms
            .is_none_or(|used| now_unix_ms - used >= TOKEN_USE_RESOLUTION_MS);
        if stale {
            let sql = "UPDATE auth_tokens SET last_used_at = $2 WHERE id = $1";
            with_writer!(self, pool => {
                sqlx::query(sql).bind(token.id).bind(now_unix_ms).execute(pool).await?;
            });
            token.last_used_at_unix_ms = Some(now_unix_ms);
        }
        Ok(Some(token))
    }

    /// Every token of `subject` (expired ones too, until purged), oldest first.
    pub async fn list_tokens(&self, subject: &TokenSubject) -> Result<Vec<AuthToken>, StoreError> {
        let admin = concat!(token_select!(), " WHERE t.admin_name = $1 ORDER BY t.id");
        let user = concat!(
            token_select!(),
            " WHERE u.username = $1 AND u.domain = $2 ORDER BY t.id"
        );
        with_reader!(self, pool => {
            let rows = match subject {
                TokenSubject::Admin { name } => {
                    sqlx::query(admin).bind(name).fetch_all(pool).await?
                }
                TokenSubject::User { username, domain } => {
                    sqlx::query(user)
                        .bind(username)
                        .bind(fold_domain(domain).as_ref())
                        .fetch_all(pool)
                        .await?
                }
            };
            rows.iter().map(token_from_row).collect()
        })
    }

    /// Revokes a token by id.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such token.
    pub async fn delete_token(&self, id: i64) -> Result<(), StoreError> {
        let sql = "DELETE FROM auth_tokens WHERE id = $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(id).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(StoreError::NotFound {
                what: "token",
                key: id.to_string(),
            });
        }
        Ok(())
    }

    /// Revokes the token with this hash (logout); returns whether there was one.
    pub async fn delete_token_by_hash(&self, token_hash: &[u8; 32]) -> Result<bool, StoreError> {
        let sql = "DELETE FROM auth_tokens WHERE token_hash = $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(&token_hash[..]).execute(pool).await?.rows_affected()
        });
        Ok(deleted > 0)
    }

    /// Deletes every token expired at `now_unix_ms`; returns how many.
    pub async fn purge_expired_tokens(&self, now_unix_ms: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM auth_tokens WHERE expires_at <= $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(now_unix_ms).execute(pool).await?.rows_affected()
        });
        Ok(deleted)
    }
}
