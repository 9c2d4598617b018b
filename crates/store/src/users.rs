//! Users: SIP accounts with their HA1 digests, and the users change counter.

use std::borrow::Cow;

use sqlx::{ColumnIndex, Row};

use crate::error::violates_unique;
use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Ha1Md5, Ha1Sha256, Store, StoreError, lists};

/// Database identity of a user row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(i64);

impl UserId {
    /// Wraps a raw id (as printed by [`UserId::get`]).
    pub fn new(id: i64) -> Self {
        UserId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A user to create. The caller computes both HA1 values for realm = `domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// SIP user part, case-sensitive (RFC 3261 §19.1.4).
    pub username: String,
    /// SIP domain; stored lower-case (ASCII).
    pub domain: String,
    /// Optional human-readable name.
    pub display_name: Option<String>,
    /// MD5 HA1 for realm = domain.
    pub ha1_md5: Ha1Md5,
    /// SHA-256 HA1 for realm = domain.
    pub ha1_sha256: Ha1Sha256,
    /// Whether the account may register and call.
    pub enabled: bool,
    /// Short number that reaches this user, unique within its domain (digits, `*`, `#`:
    /// checked by the caller).
    pub extension: Option<String>,
    /// Dialplan context the user's calls start in; `None`: its groups' or the default.
    pub context: Option<String>,
    /// Names of the call groups the user belongs to, in order (the first with a context
    /// gives the user's context). Not checked against the stored groups.
    pub groups: Vec<String>,
    /// Dialplan number patterns the user may call (empty: no restriction of its own).
    pub call_allow: Vec<String>,
    /// Dialplan number patterns the user may not call.
    pub call_deny: Vec<String>,
}

/// A stored user. `Debug` shows no HA1 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row identity.
    pub id: UserId,
    /// SIP user part.
    pub username: String,
    /// SIP domain, lower-case.
    pub domain: String,
    /// Optional human-readable name.
    pub display_name: Option<String>,
    /// MD5 HA1 for realm = domain.
    pub ha1_md5: Ha1Md5,
    /// SHA-256 HA1 for realm = domain.
    pub ha1_sha256: Ha1Sha256,
    /// Whether the account may register and call.
    pub enabled: bool,
    /// Short number that reaches this user, unique within its domain.
    pub extension: Option<String>,
    /// Dialplan context the user's calls start in.
    pub context: Option<String>,
    /// Names of the call groups the user belongs to, in order.
    pub groups: Vec<String>,
    /// Dialplan number patterns the user may call.
    pub call_allow: Vec<String>,
    /// Dialplan number patterns the user may not call.
    pub call_deny: Vec<String>,
    /// Creation time, unix milliseconds.
    pub created_at_unix_ms: i64,
    /// Last change, unix milliseconds.
    pub updated_at_unix_ms: i64,
}

/// What digest authentication needs about a user (the hot lookup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCredentials {
    /// MD5 HA1 for realm = domain.
    pub ha1_md5: Ha1Md5,
    /// SHA-256 HA1 for realm = domain.
    pub ha1_sha256: Ha1Sha256,
    /// Whether the account may register and call.
    pub enabled: bool,
}

/// Filter and page for [`Store::list_users`] (and filter for [`Store::count_users`]).
/// Results are ordered by domain, then username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUsers {
    /// Only users of this domain (any case).
    pub domain: Option<String>,
    /// Only users whose username or display name contains this text, ignoring case as the
    /// database's `lower()` does (ASCII in SQLite; per the database locale in PostgreSQL).
    pub search: Option<String>,
    /// Only members of the call group of this name (exact).
    pub group: Option<String>,
    /// At most this many users. Default 100.
    pub limit: u32,
    /// Skip this many users first. Default 0.
    pub offset: u32,
}

impl Default for ListUsers {
    fn default() -> Self {
        ListUsers {
            domain: None,
            search: None,
            group: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// The columns [`user_from_row`] reads, in its order.
macro_rules! user_columns {
    () => {
        "id, username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at, updated_at, \
         extension, context, group_names, call_allow, call_deny"
    };
}
pub(crate) use user_columns;

/// The filter of [`Store::list_users`] and [`Store::count_users`]: `$1` domain, `$2`
/// search pattern, `$3` group membership pattern (each NULL when not filtered).
macro_rules! list_users_where {
    () => {
        " WHERE ($1 IS NULL OR domain = $1) \
           AND ($2 IS NULL \
                OR lower(username) LIKE lower($2) ESCAPE '\\' \
                OR lower(display_name) LIKE lower($2) ESCAPE '\\') \
           AND ($3 IS NULL OR '\n' || group_names || '\n' LIKE $3 ESCAPE '\\')"
    };
}

/// Domains are compared lower-case; most callers already pass lower-case, so avoid copying.
pub(crate) fn fold_domain(domain: &str) -> Cow<'_, str> {
    if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Borrowed(domain)
    }
}

fn user_key(username: &str, domain: &str) -> String {
    format!("{username}@{domain}")
}

pub(crate) fn user_from_row<'r, R>(row: &'r R) -> Result<User, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    bool: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    Ok(User {
        id: UserId(row.try_get(0)?),
        username: row.try_get(1)?,
        domain: row.try_get(2)?,
        display_name: row.try_get(3)?,
        ha1_md5: Ha1Md5::from_stored(row.try_get(4)?)?,
        ha1_sha256: Ha1Sha256::from_stored(row.try_get(5)?)?,
        enabled: row.try_get(6)?,
        extension: row.try_get(9)?,
        context: row.try_get(10)?,
        groups: lists::decode(row.try_get(11)?),
        call_allow: lists::decode(row.try_get(12)?),
        call_deny: lists::decode(row.try_get(13)?),
        created_at_unix_ms: row.try_get(7)?,
        updated_at_unix_ms: row.try_get(8)?,
    })
}

fn credentials_from_row<'r, R>(row: &'r R) -> Result<UserCredentials, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    bool: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(UserCredentials {
        ha1_md5: Ha1Md5::from_stored(row.try_get(0)?)?,
        ha1_sha256: Ha1Sha256::from_stored(row.try_get(1)?)?,
        enabled: row.try_get(2)?,
    })
}

impl Store {
    /// Creates a user; the domain is stored lower-case.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `username@domain` exists (domain compared in any case;
    /// `what` = `"user"`) or the extension is taken in that domain (`what` =
    /// `"extension"`, `key` = the extension); [`StoreError::InvalidInput`] for an empty
    /// list item or one with a line break.
    pub async fn create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let domain = user.domain.to_ascii_lowercase();
        let groups = lists::encode("groups", &user.groups)?;
        let call_allow = lists::encode("call_allow", &user.call_allow)?;
        let call_deny = lists::encode("call_deny", &user.call_deny)?;
        let now = now_unix_ms();
        let sql = "INSERT INTO users \
                   (username, domain, display_name, ha1_md5, ha1_sha256, enabled, created_at, \
                    updated_at, extension, context, group_names, call_allow, call_deny) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12) RETURNING id";
        let id: i64 = with_writer!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(&user.username)
                .bind(&domain)
                .bind(user.display_name.as_deref())
                .bind(user.ha1_md5.as_hex())
                .bind(user.ha1_sha256.as_hex())
                .bind(user.enabled)
                .bind(now)
                .bind(user.extension.as_deref())
                .bind(user.context.as_deref())
                .bind(&groups)
                .bind(&call_allow)
                .bind(&call_deny)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| user_write_error(e, &user.username, &domain, user.extension.as_deref()))?;
        Ok(User {
            id: UserId(id),
            username: user.username.clone(),
            domain,
            display_name: user.display_name.clone(),
            ha1_md5: user.ha1_md5.clone(),
            ha1_sha256: user.ha1_sha256.clone(),
            enabled: user.enabled,
            extension: user.extension.clone(),
            context: user.context.clone(),
            groups: user.groups.clone(),
            call_allow: user.call_allow.clone(),
            call_deny: user.call_deny.clone(),
            created_at_unix_ms: now,
            updated_at_unix_ms: now,
        })
    }

    /// Looks a user up by username (exact) and domain (any case).
    pub async fn get_user(&self, username: &str, domain: &str) -> Result<Option<User>, StoreError> {
        let domain = fold_domain(domain);
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = $1 AND domain = $2"
        );
        with_reader!(self, pool => {
            let row = sqlx::query(sql)
                .bind(username)
                .bind(domain.as_ref())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }

    /// Lists users, ordered by domain then username.
    pub async fn list_users(&self, filter: &ListUsers) -> Result<Vec<User>, StoreError> {
        let domain = filter.domain.as_deref().map(fold_domain);
        let pattern = filter.search.as_deref().map(like_pattern);
        let group = filter.group.as_deref().map(lists::member_pattern);
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users",
            list_users_where!(),
            " ORDER BY domain, username LIMIT $4 OFFSET $5"
        );
        with_reader!(self, pool => {
            let rows = sqlx::query(sql)
                .bind(domain.as_deref())
                .bind(pattern.as_deref())
                .bind(group.as_deref())
                .bind(i64::from(filter.limit))
                .bind(i64::from(filter.offset))
                .fetch_all(pool)
                .await?;
            rows.iter().map(user_from_row).collect()
        })
    }

    /// How many users match the filter of `filter` (its limit and offset are ignored).
    pub async fn count_users(&self, filter: &ListUsers) -> Result<u64, StoreError> {
        let domain = filter.domain.as_deref().map(fold_domain);
        let pattern = filter.search.as_deref().map(like_pattern);
        let group = filter.group.as_deref().map(lists::member_pattern);
        let sql = concat!("SELECT COUNT(*) FROM users", list_users_where!());
        let count: i64 = with_reader!(self, pool => {
            sqlx::query_scalar(sql)
                .bind(domain.as_deref())
                .bind(pattern.as_deref())
                .bind(group.as_deref())
                .fetch_one(pool)
                .await?
        });
        u64::try_from(count).map_err(|_| StoreError::Corrupt {
            what: "COUNT(*)",
            reason: format!("negative count {count}"),
        })
    }

    /// Deletes a user.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such user.
    pub async fn delete_user(&self, username: &str, domain: &str) -> Result<(), StoreError> {
        let domain = fold_domain(domain);
        let sql = "DELETE FROM users WHERE username = $1 AND domain = $2";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(username)
                .bind(domain.as_ref())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if deleted == 0 {
            return Err(not_found(username, &domain));
        }
        Ok(())
    }

    /// Replaces both HA1 values (after a password change). Returns whether anything changed:
    /// writing the same values again is not a change and does not bump
    /// [`Store::users_generation`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such user.
    pub async fn update_user_secrets(
        &self,
        username: &str,
        domain: &str,
        ha1_md5: &Ha1Md5,
        ha1_sha256: &Ha1Sha256,
    ) -> Result<bool, StoreError> {
        let domain = fold_domain(domain);
        let sql = "UPDATE users SET ha1_md5 = $3, ha1_sha256 = $4, updated_at = $5 \
                   WHERE username = $1 AND domain = $2 AND (ha1_md5 <> $3 OR ha1_sha256 <> $4)";
        let changed = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(username)
                .bind(domain.as_ref())
                .bind(ha1_md5.as_hex())
                .bind(ha1_sha256.as_hex())
                .bind(now_unix_ms())
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.changed_or_not_found(changed, username, &domain).await
    }

    /// Enables or disables a user. Returns whether the flag changed; setting the current
    /// value again does not bump [`Store::users_generation`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such user.
    pub async fn set_user_enabled(
        &self,
        username: &str,
        domain: &str,
        enabled: bool,
    ) -> Result<bool, StoreError> {
        let domain = fold_domain(domain);
        let sql = "UPDATE users SET enabled = $3, updated_at = $4 \
                   WHERE username = $1 AND domain = $2 AND enabled <> $3";
        let changed = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(username)
                .bind(domain.as_ref())
                .bind(enabled)
                .bind(now_unix_ms())
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.changed_or_not_found(changed, username, &domain).await
    }

    /// The digest-authentication lookup: one query on the `(username, domain)` unique index.
    pub async fn credentials(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<UserCredentials>, StoreError> {
        let domain = fold_domain(domain);
        let sql =
            "SELECT ha1_md5, ha1_sha256, enabled FROM users WHERE username = $1 AND domain = $2";
        with_reader!(self, pool => {
            let row = sqlx::query(sql)
                .bind(username)
                .bind(domain.as_ref())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(credentials_from_row).transpose()
        })
    }

    /// The users change counter: increases with every created, changed or deleted user row
    /// (in any process sharing the database) and only then. Compare two readings; the
    /// absolute value has no meaning.
    pub async fn users_generation(&self) -> Result<i64, StoreError> {
        let sql = "SELECT value FROM generations WHERE name = 'users'";
        let value: i64 = with_reader!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await?
        });
        Ok(value)
    }

    /// Every domain that has at least one user, lower-case, sorted. A running server serves
    /// these domains in addition to the configured ones.
    pub async fn list_domains(&self) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT DISTINCT domain FROM users ORDER BY domain";
        let domains: Vec<String> = with_reader!(self, pool => {
            sqlx::query_scalar(sql).fetch_all(pool).await?
        });
        Ok(domains)
    }

    /// After an UPDATE that matched no row: was it a no-op or a missing user?
    async fn changed_or_not_found(
        &self,
        changed: u64,
        username: &str,
        domain: &str,
    ) -> Result<bool, StoreError> {
        if changed > 0 {
            return Ok(true);
        }
        let sql = "SELECT 1 FROM users WHERE username = $1 AND domain = $2";
        let exists = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(username)
                .bind(domain)
                .fetch_optional(pool)
                .await?
                .is_some()
        });
        if exists {
            Ok(false)
        } else {
            Err(not_found(username, domain))
        }
    }
}

/// Maps a failed insert or update of a user row: a duplicate extension or user name
/// becomes [`StoreError::Conflict`] naming it.
pub(crate) fn user_write_error(
    source: sqlx::Error,
    username: &str,
    domain: &str,
    extension: Option<&str>,
) -> StoreError {
    match extension {
        Some(extension)
            if violates_unique(&source, "users_domain_extension", "users.extension") =>
        {
            StoreError::Conflict {
                what: "extension",
                key: extension.to_owned(),
                used_by: None,
            }
        }
        _ => StoreError::conflict_or_db(source, "user", user_key(username, domain)),
    }
}

pub(crate) fn not_found(username: &str, domain: &str) -> StoreError {
    StoreError::NotFound {
        what: "user",
        key: user_key(username, domain),
    }
}

/// `%text%` for LIKE, with `\`, `%` and `_` in the text escaped (ESCAPE '\').
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("ali"), "%ali%");
        assert_eq!(like_pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
    }

    #[test]
    fn domain_folding_borrows_when_already_lower_case() {
        assert!(matches!(
            fold_domain("example.com"),
            Cow::Borrowed("example.com")
        ));
        assert_eq!(fold_domain("Example.COM"), "example.com");
        assert_eq!(fold_domain("ÉXAMPLE.test"), "Éxample.test");
    }

    #[test]
    fn user_debug_never_shows_ha1() {
        let md5 = "5f4dcc3b5aa765d61d8327deb882cf99";
        let sha = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        let user = User {
            id: UserId::new(7),
            username: "alice".to_owned(),
            domain: "example.com".to_owned(),
            display_name: Some("Alice".to_owned()),
            ha1_md5: Ha1Md5::from_hex(md5).unwrap(),
            ha1_sha256: Ha1Sha256::from_hex(sha).unwrap(),
            enabled: true,
            extension: Some("201".to_owned()),
            context: None,
            groups: vec!["sales".to_owned()],
            call_allow: Vec::new(),
            call_deny: Vec::new(),
            created_at_unix_ms: 1,
            updated_at_unix_ms: 2,
        };
        let text = format!("{user:?} {user:#?}");
        assert!(
            text.contains("alice") && text.contains("<redacted>"),
            "{text}"
        );
        assert!(!text.contains(md5) && !text.contains(sha), "{text}");
    }
}
