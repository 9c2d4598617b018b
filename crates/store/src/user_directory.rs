//! Users beyond credentials: partial updates, counting, the directory the switch routes
//! and checks permissions with, and the lookup by extension.

use std::fmt::Write as _;

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::users::{fold_domain, not_found, user_columns, user_from_row, user_write_error};
use crate::{Ha1Md5, Ha1Sha256, Store, StoreError, User, lists};

/// A partial update of a user for [`Store::update_user`]: `None` leaves a field unchanged;
/// for the optional fields `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// New display name (`Some(None)` clears it).
    pub display_name: Option<Option<String>>,
    /// New extension (`Some(None)` clears it); unique within the user's domain.
    pub extension: Option<Option<String>>,
    /// Enable or disable the account.
    pub enabled: Option<bool>,
    /// New start context (`Some(None)`: the groups' or the default one).
    pub context: Option<Option<String>>,
    /// New list of call group names, in order.
    pub groups: Option<Vec<String>>,
    /// New list of allowed number patterns.
    pub call_allow: Option<Vec<String>>,
    /// New list of denied number patterns.
    pub call_deny: Option<Vec<String>>,
    /// New HA1 values (after a password change), for realm = the user's domain.
    pub secrets: Option<(Ha1Md5, Ha1Sha256)>,
}

impl UserChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == UserChanges::default()
    }
}

/// What the switch needs to know about a user besides its credentials (no HA1 values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// SIP user part.
    pub username: String,
    /// SIP domain, lower-case.
    pub domain: String,
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
    /// Whether the account may register and call.
    pub enabled: bool,
}

/// A bound value of a dynamically built statement.
#[derive(Debug, Clone, Copy)]
enum Arg<'a> {
    Text(Option<&'a str>),
    Bool(bool),
    Int(i64),
}

fn entry_from_row<'r, R>(row: &'r R) -> Result<DirectoryEntry, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    bool: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    Ok(DirectoryEntry {
        username: row.try_get(0)?,
        domain: row.try_get(1)?,
        extension: row.try_get(2)?,
        context: row.try_get(3)?,
        groups: lists::decode(row.try_get(4)?),
        call_allow: lists::decode(row.try_get(5)?),
        call_deny: lists::decode(row.try_get(6)?),
        enabled: row.try_get(7)?,
    })
}

impl Store {
    /// Changes the fields of `changes` that are set, in one statement, and returns the user
    /// as stored afterwards. With no field set, returns the user unchanged (no write).
    /// Any write bumps [`Store::users_generation`] and `updated_at`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such user; [`StoreError::Conflict`] with
    /// `what` = `"extension"` when the new extension is taken in the user's domain;
    /// [`StoreError::InvalidInput`] for an empty list item or one with a line break.
    pub async fn update_user(
        &self,
        username: &str,
        domain: &str,
        changes: &UserChanges,
    ) -> Result<User, StoreError> {
        let domain = fold_domain(domain);
        if changes.is_empty() {
            return self
                .get_user(username, &domain)
                .await?
                .ok_or_else(|| not_found(username, &domain));
        }
        let encode = |field, list: &Option<Vec<String>>| {
            list.as_deref().map(|l| lists::encode(field, l)).transpose()
        };
        let groups = encode("groups", &changes.groups)?;
        let call_allow = encode("call_allow", &changes.call_allow)?;
        let call_deny = encode("call_deny", &changes.call_deny)?;

        let mut args = vec![
            Arg::Text(Some(username)),
            Arg::Text(Some(&domain)),
            Arg::Int(now_unix_ms()),
        ];
        let mut sql = String::from("UPDATE users SET updated_at = $3");
        fn set<'a>(sql: &mut String, column: &str, arg: Arg<'a>, args: &mut Vec<Arg<'a>>) {
            args.push(arg);
            write!(sql, ", {column} = ${}", args.len()).expect("writing to a String");
        }
        if let Some(v) = &changes.display_name {
            set(&mut sql, "display_name", Arg::Text(v.as_deref()), &mut args);
        }
        if let Some(v) = &changes.extension {
            set(&mut sql, "extension", Arg::Text(v.as_deref()), &mut args);
        }
        if let Some(v) = changes.enabled {
            set(&mut sql, "enabled", Arg::Bool(v), &mut args);
        }
        if let Some(v) = &changes.context {
            set(&mut sql, "context", Arg::Text(v.as_deref()), &mut args);
        }
        if let Some(v) = &groups {
            set(&mut sql, "group_names", Arg::Text(Some(v)), &mut args);
        }
        if let Some(v) = &call_allow {
            set(&mut sql, "call_allow", Arg::Text(Some(v)), &mut args);
        }
        if let Some(v) = &call_deny {
            set(&mut sql, "call_deny", Arg::Text(Some(v)), &mut args);
        }
        if let Some((md5, sha)) = &changes.secrets {
            set(
                &mut sql,
                "ha1_md5",
                Arg::Text(Some(md5.as_hex())),
                &mut args,
            );
            set(
                &mut sql,
                "ha1_sha256",
                Arg::Text(Some(sha.as_hex())),
                &mut args,
            );
        }
        sql.push_str(concat!(
            " WHERE username = $1 AND domain = $2 RETURNING ",
            user_columns!()
        ));
        let sql = sqlx::AssertSqlSafe(sql);
        let new_extension = changes.extension.as_ref().and_then(Option::as_deref);
        let row = with_writer!(self, pool => {
            let mut query = sqlx::query(sql);
            for arg in args {
                query = match arg {
                    Arg::Text(v) => query.bind(v),
                    Arg::Bool(v) => query.bind(v),
                    Arg::Int(v) => query.bind(v),
                };
            }
            match query.fetch_optional(pool).await {
                Ok(row) => row.as_ref().map(user_from_row).transpose(),
                Err(e) => Err(user_write_error(e, username, &domain, new_extension)),
            }
        })?;
        row.ok_or_else(|| not_found(username, &domain))
    }

    /// Every user without secrets, ordered by domain then username: what the switch needs
    /// to resolve extensions and apply call permissions (see [`DirectoryEntry`]).
    pub async fn user_directory(&self) -> Result<Vec<DirectoryEntry>, StoreError> {
        let sql = "SELECT username, domain, extension, context, group_names, call_allow, \
                   call_deny, enabled FROM users ORDER BY domain, username";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    /// The user with this extension in `domain` (any case), on the unique index.
    pub async fn find_user_by_extension(
        &self,
        extension: &str,
        domain: &str,
    ) -> Result<Option<User>, StoreError> {
        let domain = fold_domain(domain);
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE domain = $1 AND extension = $2"
        );
        with_reader!(self, pool => {
            let row = sqlx::query(sql)
                .bind(domain.as_ref())
                .bind(extension)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(user_from_row).transpose()
        })
    }
}
