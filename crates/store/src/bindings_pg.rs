//! PostgreSQL batch path for binding changes: the batch's [`Plan`] as at most three array
//! statements (`UNNEST`), whatever the batch's size and interleaving.
//!
//! Each part of the plan (clear AORs, remove bindings, upsert bindings) is one statement
//! whose parameters are column arrays, so a batch costs one round trip per non-empty part.
//! A batch with a single part (the usual one: only upserts) runs as one autocommit
//! statement, which is its own transaction, saving the `BEGIN` and `COMMIT` round trips;
//! otherwise the parts run inside one transaction.

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use crate::StoreError;
use crate::bindings::{BindingChange, BindingRecord, binding_columns, binding_upsert_tail};
use crate::bindings_plan::Plan;

pub(crate) async fn apply(pool: &PgPool, changes: &[BindingChange]) -> Result<(), StoreError> {
    let plan = Plan::new(changes);
    match plan.parts() {
        0 => Ok(()),
        1 => run(&mut *pool.acquire().await?, &plan).await,
        _ => {
            let mut tx = pool.begin().await?;
            run(&mut tx, &plan).await?;
            tx.commit().await?;
            Ok(())
        }
    }
}

async fn run(conn: &mut PgConnection, plan: &Plan<'_>) -> Result<(), StoreError> {
    if !plan.remove_aors.is_empty() {
        let sql = "DELETE FROM bindings WHERE aor = ANY($1::text[])";
        sqlx::query(sql)
            .bind(&plan.remove_aors)
            .execute(&mut *conn)
            .await?;
    }
    if !plan.removes.is_empty() {
        let (aors, ids): (Vec<&str>, Vec<&str>) = plan.removes.iter().copied().unzip();
        let sql = "DELETE FROM bindings AS b USING UNNEST($1::text[], $2::text[]) AS r(aor, binding_id) \
                   WHERE b.aor = r.aor AND b.binding_id = r.binding_id";
        sqlx::query(sql)
            .bind(&aors)
            .bind(&ids)
            .execute(&mut *conn)
            .await?;
    }
    if !plan.upserts.is_empty() {
        upsert(conn, &plan.upserts).await?;
    }
    Ok(())
}

/// Column arrays for one `UNNEST` upsert.
struct Columns<'a> {
    aor: Vec<&'a str>,
    binding_id: Vec<&'a str>,
    contact: Vec<&'a str>,
    instance: Vec<Option<&'a str>>,
    reg_id: Vec<Option<i64>>,
    q: Vec<Option<i32>>,
    call_id: Vec<&'a str>,
    cseq: Vec<i64>,
    expires_at: Vec<i64>,
    transport: Vec<&'a str>,
    source: Vec<&'a str>,
    local: Vec<&'a str>,
    user_agent: Vec<Option<&'a str>>,
    path: Vec<Option<&'a str>>,
    node: Vec<Option<&'a str>>,
    updated_at: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn new(records: &[&'a BindingRecord]) -> Self {
        let column = |f: fn(&'a BindingRecord) -> &'a str| records.iter().map(|r| f(r)).collect();
        let optional =
            |f: fn(&'a BindingRecord) -> Option<&'a str>| records.iter().map(|r| f(r)).collect();
        Columns {
            aor: column(|r| &r.aor),
            binding_id: column(|r| &r.binding_id),
            contact: column(|r| &r.contact),
            instance: optional(|r| r.instance.as_deref()),
            reg_id: records.iter().map(|r| r.reg_id.map(i64::from)).collect(),
            q: records.iter().map(|r| r.q.map(i32::from)).collect(),
            call_id: column(|r| &r.call_id),
            cseq: records.iter().map(|r| i64::from(r.cseq)).collect(),
            expires_at: records.iter().map(|r| r.expires_at_unix_ms).collect(),
            transport: column(|r| &r.transport),
            source: column(|r| &r.source),
            local: column(|r| &r.local),
            user_agent: optional(|r| r.user_agent.as_deref()),
            path: optional(|r| r.path.as_deref()),
            node: optional(|r| r.node.as_deref()),
            updated_at: records.iter().map(|r| r.updated_at_unix_ms).collect(),
        }
    }
}

async fn upsert(conn: &mut PgConnection, records: &[&BindingRecord]) -> Result<(), StoreError> {
    let cols = Columns::new(records);
    let sql = concat!(
        "INSERT INTO bindings (",
        binding_columns!(),
        ") SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], \
         $6::integer[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], \
         $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])",
        binding_upsert_tail!()
    );
    sqlx::query(sql)
        .bind(&cols.aor)
        .bind(&cols.binding_id)
        .bind(&cols.contact)
        .bind(&cols.instance)
        .bind(&cols.reg_id)
        .bind(&cols.q)
        .bind(&cols.call_id)
        .bind(&cols.cseq)
        .bind(&cols.expires_at)
        .bind(&cols.transport)
        .bind(&cols.source)
        .bind(&cols.local)
        .bind(&cols.user_agent)
        .bind(&cols.path)
        .bind(&cols.node)
        .bind(&cols.updated_at)
        .execute(conn)
        .await?;
    Ok(())
}
