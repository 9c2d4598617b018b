//! The statement texts of call-detail record queries, built from which filters are set.
//!
//! A text depends only on which filters of a [`CdrQuery`] are set (its *shape*, a bit
//! mask), never on their values, which are always bound parameters; each text is built
//! once and prepared once per connection. Filters are numbered `$1`, `$2`, … in the order
//! of [`FILTERS`] among those set, then come the cursor's two values and the limit (pages)
//! or the UTC offset (the daily summary).
//!
//! Plain filters are conjunctions that every CDR index serves as a range. The two "either
//! side" filters are disjunctions: `party` (caller or callee) and `trunk` (source or
//! destination trunk). An `OR` across two indexes cannot be read in `(start, id)` order,
//! so each alternative becomes its own *branch* (a `SELECT` over one index, in order, with
//! its own `LIMIT`), made disjoint by excluding the earlier alternatives, and the page is
//! the first `limit` rows of their `UNION ALL` in order: at most `branches × limit` rows
//! are read, however many match. Counts add the branches' counts; the summary groups
//! their union.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::{CdrOrder, CdrQuery};

/// The filters, in binding order: bit `i` of a shape is `FILTERS[i]`.
pub(crate) const FILTERS: usize = 10;

/// Conditions of the conjunctive filters (bits 0..8); `$_` is the filter's placeholder.
const PLAIN: [&str; 8] = [
    "start_at >= $_",
    "start_at < $_",
    "caller = $_",
    "callee = $_",
    "disposition = $_",
    "source_name = $_",
    "destination_name = $_",
    "billable_ms >= $_",
];

/// Bit of the `party` filter: its disjoint alternatives.
const PARTY: usize = 8;
const PARTY_BRANCHES: [&str; 2] = ["caller = $_", "callee = $_ AND caller <> $_"];

/// Bit of the `trunk` filter: its disjoint alternatives.
const TRUNK: usize = 9;
const TRUNK_BRANCHES: [&str; 2] = [
    "source_kind = 'trunk' AND source_name = $_",
    "destination_kind = 'trunk' AND destination_name = $_ \
     AND NOT (source_kind = 'trunk' AND source_name = $_)",
];

/// Shape bit: the page continues after a cursor.
pub(crate) const CURSOR: usize = 1 << FILTERS;
/// Shape bit: oldest first.
pub(crate) const OLDEST_FIRST: usize = CURSOR << 1;
/// Mask of the filter bits.
pub(crate) const FILTER_BITS: usize = CURSOR - 1;

static SELECTS: [OnceLock<String>; 4 * CURSOR] = [const { OnceLock::new() }; 4 * CURSOR];
static COUNTS: [OnceLock<String>; CURSOR] = [const { OnceLock::new() }; CURSOR];
static SUMMARIES: [OnceLock<String>; CURSOR] = [const { OnceLock::new() }; CURSOR];

/// The columns `cdr_from_row` reads, in its order.
macro_rules! cdr_columns {
    () => {
        "id, call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
         destination_kind, destination_name, start_at, answer_at, end_at, duration_ms, \
         billable_ms, disposition, sip_status, hangup_by, node, end_reason, media"
    };
}

/// A bound filter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// The values of a query's filters, in [`FILTERS`] order (`None` = not filtered).
pub(crate) fn filter_values(q: &CdrQuery) -> [Option<Value<'_>>; FILTERS] {
    fn text(t: &Option<String>) -> Option<Value<'_>> {
        t.as_deref().map(Value::Text)
    }
    [
        q.from_unix_ms.map(Value::Int),
        q.to_unix_ms.map(Value::Int),
        text(&q.caller),
        text(&q.callee),
        q.disposition.map(|d| Value::Text(d.as_str())),
        text(&q.source_name),
        text(&q.destination_name),
        q.min_billable_ms.map(Value::Int),
        text(&q.party),
        text(&q.trunk),
    ]
}

/// The shape of a page query: its filters, whether it has a cursor, its order.
pub(crate) fn page_shape(q: &CdrQuery) -> usize {
    filter_shape(&filter_values(q))
        | if q.after.is_some() { CURSOR } else { 0 }
        | match q.order {
            CdrOrder::NewestFirst => 0,
            CdrOrder::OldestFirst => OLDEST_FIRST,
        }
}

/// The filter bits of a shape.
pub(crate) fn filter_shape(values: &[Option<Value<'_>>]) -> usize {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_some())
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// One branch: the conditions of the set filters, choosing alternative `party` of the
/// party filter and `trunk` of the trunk filter. Returns the conditions and the next
/// free placeholder number.
fn conditions(shape: usize, party: usize, trunk: usize) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut next = 1;
    for bit in 0..FILTERS {
        if shape & 1 << bit == 0 {
            continue;
        }
        let template = match bit {
            PARTY => PARTY_BRANCHES[party],
            TRUNK => TRUNK_BRANCHES[trunk],
            plain => PLAIN[plain],
        };
        out.push(template.replace("$_", &format!("${next}")));
        next += 1;
    }
    (out, next)
}

/// The branches of a shape, as (party alternative, trunk alternative).
fn branches(shape: usize) -> Vec<(usize, usize)> {
    let parties = if shape & 1 << PARTY != 0 { 2 } else { 1 };
    let trunks = if shape & 1 << TRUNK != 0 { 2 } else { 1 };
    (0..parties)
        .flat_map(|p| (0..trunks).map(move |t| (p, t)))
        .collect()
}

fn push_where(sql: &mut String, conditions: &[String]) {
    for (i, condition) in conditions.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        sql.push_str(condition);
    }
}

/// The page statement of a shape.
pub(crate) fn select_sql(shape: usize) -> &'static str {
    SELECTS[shape].get_or_init(|| {
        let (dir, cmp) = if shape & OLDEST_FIRST != 0 {
            ("ASC", ">")
        } else {
            ("DESC", "<")
        };
        let branches = branches(shape);
        let mut parts = Vec::with_capacity(branches.len());
        let mut limit = 0;
        for (party, trunk) in &branches {
            let (mut conds, next) = conditions(shape, *party, *trunk);
            limit = next;
            if shape & CURSOR != 0 {
                conds.push(format!("(start_at, id) {cmp} (${next}, ${})", next + 1));
                limit = next + 2;
            }
            let mut sql = concat!("SELECT ", cdr_columns!(), " FROM cdrs").to_owned();
            push_where(&mut sql, &conds);
            parts.push(sql);
        }
        let order = format!(" ORDER BY start_at {dir}, id {dir} LIMIT ${limit}");
        if parts.len() == 1 {
            return parts.remove(0) + &order;
        }
        let mut sql = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                sql.push_str(" UNION ALL ");
            }
            write!(
                sql,
                "SELECT {} FROM ({part}{order}) AS b{i}",
                cdr_columns!()
            )
            .expect("writing to a String");
        }
        sql + &order
    })
}

/// The count statement of a shape (filter bits only).
pub(crate) fn count_sql(shape: usize) -> &'static str {
    let shape = shape & FILTER_BITS;
    COUNTS[shape].get_or_init(|| {
        let counts: Vec<String> = branches(shape)
            .into_iter()
            .map(|(party, trunk)| {
                let mut sql = "SELECT COUNT(*) FROM cdrs".to_owned();
                push_where(&mut sql, &conditions(shape, party, trunk).0);
                sql
            })
            .collect();
        if let [one] = &counts[..] {
            return one.clone();
        }
        let sum: Vec<String> = counts.iter().map(|c| format!("({c})")).collect();
        format!("SELECT {}", sum.join(" + "))
    })
}

/// The daily summary statement of a shape (filter bits only). The day of a record is
/// `floor((start_at + offset) / 86_400_000)` (days since 1970-01-01 in that offset),
/// written with `%` and `/` so both databases compute it in integers, also before 1970
/// (both truncate toward zero).
pub(crate) fn summary_sql(shape: usize) -> &'static str {
    let shape = shape & FILTER_BITS;
    SUMMARIES[shape].get_or_init(|| {
        let rows: Vec<String> = branches(shape)
            .into_iter()
            .map(|(party, trunk)| {
                let (conds, offset) = conditions(shape, party, trunk);
                let mut sql =
                    format!("SELECT start_at + ${offset} AS s, disposition, billable_ms FROM cdrs");
                push_where(&mut sql, &conds);
                sql
            })
            .collect();
        format!(
            "SELECT (s - ((s % 86400000) + 86400000) % 86400000) / 86400000 AS day, \
             COUNT(*), \
             CAST(SUM(CASE WHEN disposition = 'ANSWERED' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(billable_ms) AS BIGINT) \
             FROM ({}) AS r GROUP BY day ORDER BY day",
            rows.join(" UNION ALL ")
        )
    })
}

/// Binds `$values` (an iterator of [`Value`]) in order to `$query`.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                $crate::cdr_sql::Value::Int(v) => query.bind(v),
                $crate::cdr_sql::Value::Text(t) => query.bind(t),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Pools;
    use crate::{Disposition, Store, StoreOptions};

    #[test]
    fn statement_texts_number_placeholders_in_binding_order() {
        assert_eq!(
            count_sql(0b101_0101),
            "SELECT COUNT(*) FROM cdrs WHERE start_at >= $1 AND caller = $2 \
             AND disposition = $3 AND destination_name = $4"
        );
        let all_plain = select_sql(0xff | CURSOR);
        assert!(
            all_plain.ends_with(
                " FROM cdrs WHERE start_at >= $1 AND start_at < $2 AND caller = $3 \
                 AND callee = $4 AND disposition = $5 AND source_name = $6 \
                 AND destination_name = $7 AND billable_ms >= $8 \
                 AND (start_at, id) < ($9, $10) \
                 ORDER BY start_at DESC, id DESC LIMIT $11"
            ),
            "{all_plain}"
        );
        assert!(
            select_sql(CURSOR | OLDEST_FIRST).ends_with(
                " FROM cdrs WHERE (start_at, id) > ($1, $2) ORDER BY start_at ASC, id ASC LIMIT $3"
            ),
            "{}",
            select_sql(CURSOR | OLDEST_FIRST)
        );
        assert!(select_sql(0).ends_with(" FROM cdrs ORDER BY start_at DESC, id DESC LIMIT $1"));
        // Every text is a pure function of the shape: the same &'static str each time.
        assert!(std::ptr::eq(select_sql(5), select_sql(5)));
    }

    #[test]
    fn either_side_filters_become_disjoint_branches() {
        let party = 1 << PARTY;
        assert_eq!(
            count_sql(party | 0b1),
            "SELECT (SELECT COUNT(*) FROM cdrs WHERE start_at >= $1 AND caller = $2) + \
             (SELECT COUNT(*) FROM cdrs WHERE start_at >= $1 AND callee = $2 AND caller <> $2)"
        );
        let page = select_sql(party | CURSOR);
        let order = " ORDER BY start_at DESC, id DESC LIMIT $4";
        assert_eq!(
            page,
            format!(
                "SELECT {c} FROM (SELECT {c} FROM cdrs WHERE caller = $1 \
                 AND (start_at, id) < ($2, $3){order}) AS b0 UNION ALL \
                 SELECT {c} FROM (SELECT {c} FROM cdrs WHERE callee = $1 AND caller <> $1 \
                 AND (start_at, id) < ($2, $3){order}) AS b1{order}",
                c = cdr_columns!()
            )
        );
        let both = count_sql(party | 1 << TRUNK);
        assert_eq!(both.matches("SELECT COUNT(*)").count(), 4, "{both}");
        assert!(summary_sql(1 << TRUNK).contains("UNION ALL"));
        assert!(summary_sql(0b10).contains("SELECT start_at + $2 AS s"));
    }

    #[test]
    fn shape_follows_the_set_filters() {
        let query = CdrQuery {
            to_unix_ms: Some(5),
            callee: Some("bob".to_owned()),
            disposition: Some(Disposition::Busy),
            party: Some("carol".to_owned()),
            order: CdrOrder::OldestFirst,
            ..CdrQuery::default()
        };
        let values = filter_values(&query);
        assert_eq!(filter_shape(&values), 0b1_0001_1010);
        assert_eq!(page_shape(&query), 0b1_0001_1010 | OLDEST_FIRST);
        let bound: Vec<Value<'_>> = values.into_iter().flatten().collect();
        assert_eq!(
            bound,
            [
                Value::Int(5),
                Value::Text("bob"),
                Value::Text("BUSY"),
                Value::Text("carol")
            ]
        );
        assert_eq!(filter_shape(&filter_values(&CdrQuery::default())), 0);
    }

    async fn sqlite_plan(store: &Store, sql: &str) -> String {
        let Pools::Sqlite { writer, .. } = &store.pools else {
            panic!("SQLite pools");
        };
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                .fetch_all(writer)
                .await
                .expect("query plan");
        let plan: Vec<String> = rows.into_iter().map(|(_, _, _, detail)| detail).collect();
        plan.join("\n")
    }

    /// Each filter's page reads an index range in order (one per branch), never the
    /// table, and sorts at most the branches' pages.
    #[tokio::test]
    async fn every_filter_pages_through_an_index_in_order() {
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory database");
        store.migrate().await.expect("migrate");
        let party = 1 << PARTY;
        let trunk = 1 << TRUNK;
        for (shape, indexes) in [
            (0, &["cdrs_start"][..]),
            (CURSOR, &["cdrs_start"]),
            (0b11 | CURSOR | OLDEST_FIRST, &["cdrs_start"]),
            (0b100 | CURSOR, &["cdrs_caller"]),
            (0b1000 | 0b11, &["cdrs_callee"]),
            (0b1_0000 | 1 << 7 | CURSOR, &["cdrs_disposition"]),
            (0b10_0000 | OLDEST_FIRST, &["cdrs_source_name"]),
            (0b100_0000 | CURSOR, &["cdrs_destination_name"]),
            (party | CURSOR, &["cdrs_caller", "cdrs_callee"]),
            (
                party | CURSOR | OLDEST_FIRST,
                &["cdrs_caller", "cdrs_callee"],
            ),
            (
                trunk | 0b11 | CURSOR,
                &["cdrs_source_name", "cdrs_destination_name"],
            ),
        ] {
            let sql = select_sql(shape);
            let plan = sqlite_plan(&store, sql).await;
            for index in indexes {
                // SEARCH: a range of the index; SCAN … USING INDEX: all of it, in order
                // (no filter), stopped by the LIMIT.
                let search = format!("SEARCH cdrs USING INDEX {index} (");
                let in_order = format!("SCAN cdrs USING INDEX {index}");
                assert!(
                    plan.contains(&search)
                        || (shape & FILTER_BITS == 0 && plan.contains(&in_order)),
                    "{index}: {sql}:\n{plan}"
                );
            }
            assert!(
                plan.lines().all(|l| !l
                    .trim_start_matches(['|', '-', '`', ' '])
                    .starts_with("SCAN cdrs")
                    || l.contains("USING")),
                "no table scan: {sql}:\n{plan}"
            );
            let sorts = plan.matches("TEMP B-TREE").count();
            if indexes.len() == 1 {
                assert_eq!(sorts, 0, "no sort step: {sql}:\n{plan}");
            }
            if shape & FILTER_BITS != 0 {
                let count = sqlite_plan(&store, count_sql(shape)).await;
                assert!(
                    !count.contains("SCAN cdrs"),
                    "{}:\n{count}",
                    count_sql(shape)
                );
            }
        }
        store.close().await;
    }
}
