//! Call groups: shared call permissions and a default start context for their members.
//! Writes bump [`Store::config_generation`].

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Store, StoreError, lists};

/// A call group. Users name their groups in [`User::groups`](crate::User::groups); the
/// store does not check those names against the stored groups, and deleting a group leaves
/// users naming it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallGroup {
    /// Unique name (non-empty, case-sensitive).
    pub name: String,
    /// Free text for people.
    pub description: Option<String>,
    /// Dialplan context the members' calls start in, unless a member has its own.
    pub context: Option<String>,
    /// Dialplan number patterns members may call.
    pub call_allow: Vec<String>,
    /// Dialplan number patterns members may not call.
    pub call_deny: Vec<String>,
    /// Last write, unix milliseconds (set by the store; ignored on input).
    pub updated_at_unix_ms: i64,
}

fn group_from_row<'r, R>(row: &'r R) -> Result<CallGroup, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    Ok(CallGroup {
        name: row.try_get(0)?,
        description: row.try_get(1)?,
        context: row.try_get(2)?,
        call_allow: lists::decode(row.try_get(3)?),
        call_deny: lists::decode(row.try_get(4)?),
        updated_at_unix_ms: row.try_get(5)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "group",
        key: name.to_owned(),
    }
}

/// Checks and encodes what a write stores: (allow, deny).
fn encode(group: &CallGroup) -> Result<(String, String), StoreError> {
    if group.name.is_empty() {
        return Err(StoreError::InvalidInput {
            field: "name",
            reason: "must not be empty",
        });
    }
    Ok((
        lists::encode("call_allow", &group.call_allow)?,
        lists::encode("call_deny", &group.call_deny)?,
    ))
}

impl Store {
    /// Every call group, ordered by name.
    pub async fn list_groups(&self) -> Result<Vec<CallGroup>, StoreError> {
        let sql = "SELECT name, description, context, call_allow, call_deny, updated_at \
                   FROM call_groups ORDER BY name";
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(group_from_row).collect()
        })
    }

    /// One call group by name.
    pub async fn get_group(&self, name: &str) -> Result<Option<CallGroup>, StoreError> {
        let sql = "SELECT name, description, context, call_allow, call_deny, updated_at \
                   FROM call_groups WHERE name = $1";
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(group_from_row).transpose()
        })
    }

    /// Creates a call group and returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::InvalidInput`] for
    /// an empty name or a bad list item.
    pub async fn create_group(&self, group: &CallGroup) -> Result<CallGroup, StoreError> {
        let (allow, deny) = encode(group)?;
        let now = now_unix_ms();
        let sql = "INSERT INTO call_groups \
                   (name, description, context, call_allow, call_deny, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&group.name)
                .bind(group.description.as_deref())
                .bind(group.context.as_deref())
                .bind(&allow)
                .bind(&deny)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| StoreError::conflict_or_db(e, "group", group.name.clone()))?;
        Ok(CallGroup {
            updated_at_unix_ms: now,
            ..group.clone()
        })
    }

    /// Replaces every field of the call group named `group.name` and returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such group.
    pub async fn update_group(&self, group: &CallGroup) -> Result<CallGroup, StoreError> {
        let (allow, deny) = encode(group)?;
        let now = now_unix_ms();
        let sql = "UPDATE call_groups SET description = $2, context = $3, call_allow = $4, \
                   call_deny = $5, updated_at = $6 WHERE name = $1";
        let updated = with_writer!(self, pool => {
            sqlx::query(sql)
                .bind(&group.name)
                .bind(group.description.as_deref())
                .bind(group.context.as_deref())
                .bind(&allow)
                .bind(&deny)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(not_found(&group.name));
        }
        Ok(CallGroup {
            updated_at_unix_ms: now,
            ..group.clone()
        })
    }

    /// Deletes a call group (users naming it keep the name in their list).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such group.
    pub async fn delete_group(&self, name: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM call_groups WHERE name = $1";
        let deleted = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).execute(pool).await?.rows_affected()
        });
        if deleted == 0 {
            return Err(not_found(name));
        }
        Ok(())
    }
}
