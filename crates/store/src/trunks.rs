//! SIP trunks managed through the API. Writes bump [`Store::config_generation`].

use std::fmt;

use sqlx::{ColumnIndex, Row};

use crate::error::is_foreign_key_violation;
use crate::store::{Column, now_unix_ms, with_reader, with_writer};
use crate::{Store, StoreError, lists};

/// A stored trunk. The password is kept in clear because outbound digest authentication
/// needs it; `Debug` shows `<redacted>` in its place.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTrunk {
    /// Unique name (non-empty, case-sensitive).
    pub name: String,
    /// `host:port` of the provider; `None` for a trunk that only receives calls.
    pub gateway: Option<String>,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Address blocks calls from this trunk come from.
    pub addresses: Vec<String>,
    /// Name of an [`Acl`](crate::Acl) whose blocks calls may also come from; the ACL
    /// must exist and cannot be deleted while the trunk names it.
    pub acl: Option<String>,
    /// Dialplan context calls from this trunk start in.
    pub context: String,
    /// Digest user name toward the provider.
    pub username: Option<String>,
    /// Digest password toward the provider (never logged).
    pub password: Option<String>,
    /// Whether to register with the provider.
    pub register: bool,
    /// Requested registration lifetime, seconds.
    pub register_expires: u32,
    /// User part of the From of calls sent to the provider.
    pub from_user: Option<String>,
    /// Host part of the From of calls sent to the provider.
    pub from_domain: Option<String>,
    /// Whether the trunk is in use.
    pub enabled: bool,
    /// Last write, unix milliseconds (set by the store; ignored on input).
    pub updated_at_unix_ms: i64,
}

impl fmt::Debug for StoredTrunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTrunk")
            .field("name", &self.name)
            .field("gateway", &self.gateway)
            .field("transport", &self.transport)
            .field("addresses", &self.addresses)
            .field("acl", &self.acl)
            .field("context", &self.context)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("register", &self.register)
            .field("register_expires", &self.register_expires)
            .field("from_user", &self.from_user)
            .field("from_domain", &self.from_domain)
            .field("enabled", &self.enabled)
            .field("updated_at_unix_ms", &self.updated_at_unix_ms)
            .finish()
    }
}

macro_rules! trunk_columns {
    () => {
        "name, gateway, transport, addresses, acl, context, username, password, register, \
         register_expires, from_user, from_domain, enabled, updated_at"
    };
}

fn trunk_from_row<'r, R>(row: &'r R) -> Result<StoredTrunk, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    bool: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
{
    let expires: i64 = row.try_get(9)?;
    Ok(StoredTrunk {
        name: row.try_get(0)?,
        gateway: row.try_get(1)?,
        transport: row.try_get(2)?,
        addresses: lists::decode(row.try_get(3)?),
        acl: row.try_get(4)?,
        context: row.try_get(5)?,
        username: row.try_get(6)?,
        password: row.try_get(7)?,
        register: row.try_get(8)?,
        register_expires: u32::try_from(expires).map_err(|_| StoreError::Corrupt {
            what: "trunks.register_expires",
            reason: format!("{expires} is not a u32"),
        })?,
        from_user: row.try_get(10)?,
        from_domain: row.try_get(11)?,
        enabled: row.try_get(12)?,
        updated_at_unix_ms: row.try_get(13)?,
    })
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound {
        what: "trunk",
        key: name.to_owned(),
    }
}

/// Checks what a write stores and encodes the address list.
fn encode(trunk: &StoredTrunk) -> Result<String, StoreError> {
    let invalid = |field, reason| Err(StoreError::InvalidInput { field, reason });
    if trunk.name.is_empty() {
        return invalid("name", "must not be empty");
    }
    if !matches!(trunk.transport.as_str(), "udp" | "tcp") {
        return invalid("transport", "expected udp or tcp");
    }
    lists::encode("addresses", &trunk.addresses)
}

/// A write refused by the foreign key names an ACL that does not exist.
fn write_error(source: sqlx::Error, trunk: &StoredTrunk) -> StoreError {
    if is_foreign_key_violation(&source) {
        StoreError::InvalidInput {
            field: "acl",
            reason: "names no existing ACL",
        }
    } else {
        StoreError::conflict_or_db(source, "trunk", trunk.name.clone())
    }
}

/// Binds the fourteen columns of [`trunk_columns!`] in order.
macro_rules! bind_trunk {
    ($query:expr, $trunk:expr, $addresses:expr, $now:expr) => {{
        let t: &StoredTrunk = $trunk;
        $query
            .bind(&t.name)
            .bind(t.gateway.as_deref())
            .bind(&t.transport)
            .bind($addresses)
            .bind(t.acl.as_deref())
            .bind(&t.context)
            .bind(t.username.as_deref())
            .bind(t.password.as_deref())
            .bind(t.register)
            .bind(i64::from(t.register_expires))
            .bind(t.from_user.as_deref())
            .bind(t.from_domain.as_deref())
            .bind(t.enabled)
            .bind($now)
    }};
}

impl Store {
    /// Every stored trunk, ordered by name, with its password.
    pub async fn list_trunks(&self) -> Result<Vec<StoredTrunk>, StoreError> {
        let sql = concat!("SELECT ", trunk_columns!(), " FROM trunks ORDER BY name");
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(trunk_from_row).collect()
        })
    }

    /// One trunk by name.
    pub async fn get_trunk(&self, name: &str) -> Result<Option<StoredTrunk>, StoreError> {
        let sql = concat!("SELECT ", trunk_columns!(), " FROM trunks WHERE name = $1");
        with_reader!(self, pool => {
            let row = sqlx::query(sql).bind(name).fetch_optional(pool).await?;
            row.as_ref().map(trunk_from_row).transpose()
        })
    }

    /// Creates a trunk and returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the name is taken; [`StoreError::InvalidInput`] with
    /// field `acl` when `acl` names no ACL, or for an empty name, a transport other than
    /// `udp`/`tcp` or a bad address item.
    pub async fn create_trunk(&self, trunk: &StoredTrunk) -> Result<StoredTrunk, StoreError> {
        let addresses = encode(trunk)?;
        let now = now_unix_ms();
        let sql = concat!(
            "INSERT INTO trunks (",
            trunk_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        with_writer!(self, pool => {
            bind_trunk!(sqlx::query(sql), trunk, &addresses, now)
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| write_error(e, trunk))?;
        Ok(StoredTrunk {
            updated_at_unix_ms: now,
            ..trunk.clone()
        })
    }

    /// Replaces every field of the trunk named `trunk.name` (the password too: pass the
    /// stored one to keep it) and returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such trunk; otherwise as
    /// [`Store::create_trunk`].
    pub async fn update_trunk(&self, trunk: &StoredTrunk) -> Result<StoredTrunk, StoreError> {
        let addresses = encode(trunk)?;
        let now = now_unix_ms();
        let sql = "UPDATE trunks SET gateway = $2, transport = $3, addresses = $4, acl = $5, \
                   context = $6, username = $7, password = $8, register = $9, \
                   register_expires = $10, from_user = $11, from_domain = $12, enabled = $13, \
                   updated_at = $14 WHERE name = $1";
        let updated = with_writer!(self, pool => {
            bind_trunk!(sqlx::query(sql), trunk, &addresses, now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| write_error(e, trunk))?;
        if updated == 0 {
            return Err(not_found(&trunk.name));
        }
        Ok(StoredTrunk {
            updated_at_unix_ms: now,
            ..trunk.clone()
        })
    }

    /// Deletes a trunk.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when there is no such trunk.
    pub async fn delete_trunk(&self, name: &str) -> Result<(), StoreError> {
        let sql = "DELETE FROM trunks WHERE name = $1";
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
    fn debug_never_shows_the_password() {
        let trunk = StoredTrunk {
            name: "carrier-a".to_owned(),
            gateway: Some("sip.example.com:5060".to_owned()),
            transport: "udp".to_owned(),
            addresses: vec!["192.0.2.0/24".to_owned()],
            acl: None,
            context: "from-carrier".to_owned(),
            username: Some("acct1".to_owned()),
            password: Some("s3cret-Pa55".to_owned()),
            register: true,
            register_expires: 3600,
            from_user: None,
            from_domain: None,
            enabled: true,
            updated_at_unix_ms: 1,
        };
        let text = format!("{trunk:?} {trunk:#?}");
        assert!(
            text.contains("carrier-a") && text.contains("<redacted>"),
            "{text}"
        );
        assert!(!text.contains("s3cret-Pa55"), "{text}");
    }
}
