//! PostgreSQL batch path for binding changes: one array statement per run of changes.
//!
//! A batch is cut into runs of consecutive changes of the same kind; each run becomes one
//! statement whose parameters are column arrays expanded by `UNNEST`. Runs keep the
//! batch's order, so `Upsert(k)`, `Remove(k)`, `Upsert(k)` ends with `k` present. Inside a
//! run of upserts a key may appear once only (PostgreSQL refuses to update a row twice in
//! one `INSERT ... ON CONFLICT`); the last upsert of a key wins, exactly as if the run had
//! been applied one by one, since an upsert overwrites every column.

use std::collections::HashMap;

use sqlx::PgPool;
use sqlx::postgres::PgConnection;

use crate::StoreError;
use crate::bindings::{BindingChange, BindingRecord, binding_columns, binding_upsert_tail};

pub(crate) async fn apply(pool: &PgPool, changes: &[BindingChange]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let mut rest = changes;
    while let Some(first) = rest.first() {
        let kind = std::mem::discriminant(first);
        let len = rest
            .iter()
            .position(|c| std::mem::discriminant(c) != kind)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        match first {
            BindingChange::Upsert(_) => upsert_run(&mut tx, run).await?,
            BindingChange::Remove { .. } => remove_run(&mut tx, run).await?,
            BindingChange::RemoveAor { .. } => remove_aor_run(&mut tx, run).await?,
        }
        rest = tail;
    }
    tx.commit().await?;
    Ok(())
}

/// Column arrays for one `UNNEST` upsert.
#[derive(Default)]
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
    fn push(&mut self, r: &'a BindingRecord) {
        self.aor.push(&r.aor);
        self.binding_id.push(&r.binding_id);
        self.contact.push(&r.contact);
        self.instance.push(r.instance.as_deref());
        self.reg_id.push(r.reg_id.map(i64::from));
        self.q.push(r.q.map(i32::from));
        self.call_id.push(&r.call_id);
        self.cseq.push(i64::from(r.cseq));
        self.expires_at.push(r.expires_at_unix_ms);
        self.transport.push(&r.transport);
        self.source.push(&r.source);
        self.local.push(&r.local);
        self.user_agent.push(r.user_agent.as_deref());
        self.path.push(r.path.as_deref());
        self.node.push(r.node.as_deref());
        self.updated_at.push(r.updated_at_unix_ms);
    }
}

async fn upsert_run(tx: &mut PgConnection, run: &[BindingChange]) -> Result<(), StoreError> {
    let records = || {
        run.iter().filter_map(|c| match c {
            BindingChange::Upsert(r) => Some(r),
            _ => None,
        })
    };
    let mut last: HashMap<(&str, &str), usize> = HashMap::with_capacity(run.len());
    for (i, r) in records().enumerate() {
        last.insert((&r.aor, &r.binding_id), i);
    }
    let mut cols = Columns::default();
    for (i, r) in records().enumerate() {
        if last.get(&(r.aor.as_str(), r.binding_id.as_str())) == Some(&i) {
            cols.push(r);
        }
    }
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
        .execute(tx)
        .await?;
    Ok(())
}

async fn remove_run(tx: &mut PgConnection, run: &[BindingChange]) -> Result<(), StoreError> {
    let mut aors = Vec::with_capacity(run.len());
    let mut ids = Vec::with_capacity(run.len());
    for change in run {
        if let BindingChange::Remove { aor, binding_id } = change {
            aors.push(aor.as_str());
            ids.push(binding_id.as_str());
        }
    }
    let sql = "DELETE FROM bindings AS b USING UNNEST($1::text[], $2::text[]) AS r(aor, binding_id) \
               WHERE b.aor = r.aor AND b.binding_id = r.binding_id";
    sqlx::query(sql).bind(&aors).bind(&ids).execute(tx).await?;
    Ok(())
}

async fn remove_aor_run(tx: &mut PgConnection, run: &[BindingChange]) -> Result<(), StoreError> {
    let aors: Vec<&str> = run
        .iter()
        .filter_map(|c| match c {
            BindingChange::RemoveAor { aor } => Some(aor.as_str()),
            _ => None,
        })
        .collect();
    let sql = "DELETE FROM bindings WHERE aor = ANY($1::text[])";
    sqlx::query(sql).bind(&aors).execute(tx).await?;
    Ok(())
}
