//! What selects call-detail records: filters, order, page position, and the per-day
//! summary's result.

use crate::CdrId;
use crate::Disposition;

/// A position in the order of [`Store::query_cdrs`](crate::Store::query_cdrs): a page
/// continues with the records strictly after it in the query's [`CdrOrder`] (smaller
/// `(start, id)` newest first, larger oldest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CdrCursor {
    /// Start time of the last record received, unix ms.
    pub start_unix_ms: i64,
    /// Its id.
    pub id: CdrId,
}

/// The order of a page of records, by `(start, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CdrOrder {
    /// Latest start first (the default).
    #[default]
    NewestFirst,
    /// Earliest start first.
    OldestFirst,
}

/// Filters and page for [`Store::query_cdrs`](crate::Store::query_cdrs),
/// [`Store::count_cdrs`](crate::Store::count_cdrs) and
/// [`Store::cdr_daily_summary`](crate::Store::cdr_daily_summary). Every filter that is set
/// must match (AND); text filters are exact, case-sensitive matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrQuery {
    /// Only calls that started at or after this instant (unix ms, inclusive).
    pub from_unix_ms: Option<i64>,
    /// Only calls that started before this instant (unix ms, exclusive).
    pub to_unix_ms: Option<i64>,
    /// Only calls from this caller.
    pub caller: Option<String>,
    /// Only calls to this callee.
    pub callee: Option<String>,
    /// Only calls where this is the caller or the callee.
    pub party: Option<String>,
    /// Only calls that ended this way.
    pub disposition: Option<Disposition>,
    /// Only calls from a source (user or trunk) of this name.
    pub source_name: Option<String>,
    /// Only calls to a destination (user or trunk) of this name.
    pub destination_name: Option<String>,
    /// Only calls that came from or went to the trunk of this name.
    pub trunk: Option<String>,
    /// Only calls with at least this many billable milliseconds.
    pub min_billable_ms: Option<i64>,
    /// The order of the page. Ignored by [`Store::count_cdrs`](crate::Store::count_cdrs)
    /// and the daily summary.
    pub order: CdrOrder,
    /// Continue after this position (see [`Cdr::cursor`](crate::Cdr::cursor)); `None`
    /// starts with the first record in [`CdrQuery::order`]. Ignored by
    /// [`Store::count_cdrs`](crate::Store::count_cdrs) and the daily summary.
    pub after: Option<CdrCursor>,
    /// At most this many records, capped at [`CdrQuery::MAX_LIMIT`]. Default 100.
    /// Ignored by [`Store::count_cdrs`](crate::Store::count_cdrs) and the daily summary.
    pub limit: u32,
}

impl CdrQuery {
    /// The largest page [`Store::query_cdrs`](crate::Store::query_cdrs) returns, whatever
    /// [`CdrQuery::limit`] says.
    pub const MAX_LIMIT: u32 = 1000;
}

impl Default for CdrQuery {
    fn default() -> Self {
        CdrQuery {
            from_unix_ms: None,
            to_unix_ms: None,
            caller: None,
            callee: None,
            party: None,
            disposition: None,
            source_name: None,
            destination_name: None,
            trunk: None,
            min_billable_ms: None,
            order: CdrOrder::NewestFirst,
            after: None,
            limit: 100,
        }
    }
}

/// The calls of one local day, from [`Store::cdr_daily_summary`](crate::Store::cdr_daily_summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrDaySummary {
    /// The day calls started on, `YYYY-MM-DD`, in the summary's UTC offset.
    pub day: String,
    /// How many calls started that day.
    pub calls: u64,
    /// How many of them were answered.
    pub answered: u64,
    /// Their billable milliseconds, summed.
    pub billable_ms: u64,
}
