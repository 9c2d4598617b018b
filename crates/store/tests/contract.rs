//! The store contract: every test is written once and run against SQLite (a temporary
//! file) and PostgreSQL (`SWITCHBOARD_TEST_POSTGRES_URL`, or a throwaway cluster started by
//! `sb_store::testing`; without PostgreSQL binaries these tests fail, they never skip).

use sb_store::{BindingRecord, Ha1Md5, Ha1Sha256, NewUser, Store, StoreOptions};

#[path = "contract/auth.rs"]
mod auth;
#[path = "contract/bindings.rs"]
mod bindings;
#[path = "contract/cdr_filters.rs"]
mod cdr_filters;
#[path = "contract/cdr_media.rs"]
mod cdr_media;
#[path = "contract/cdr_plans.rs"]
mod cdr_plans;
#[path = "contract/cdr_queries.rs"]
mod cdr_queries;
#[path = "contract/cdrs.rs"]
mod cdrs;
#[path = "contract/cluster.rs"]
mod cluster;
#[path = "contract/config.rs"]
mod config;
#[path = "contract/dialplan_versions.rs"]
mod dialplan_versions;
#[path = "contract/dialplans.rs"]
mod dialplans;
#[path = "contract/user_directory.rs"]
mod user_directory;
#[path = "contract/users.rs"]
mod users;

/// A fixed wall-clock instant for binding times (unix ms).
const NOW: i64 = 1_700_000_000_000;

/// One database under test.
struct Harness {
    url: String,
}

impl Harness {
    /// A connected, migrated store.
    async fn open(&self) -> Store {
        let store = self.open_unmigrated().await;
        store.migrate().await.expect("migrate");
        store
    }

    async fn open_unmigrated(&self) -> Store {
        Store::connect(&self.url, StoreOptions::default())
            .await
            .expect("connect")
    }

    /// Runs one raw statement outside the store API; returns the database's refusal.
    async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.url.starts_with("sqlite") {
            let pool = sqlx::SqlitePool::connect(&self.url)
                .await
                .expect("raw sqlite");
            let result = sqlx::query(sql).execute(&pool).await;
            pool.close().await;
            result.map(drop)
        } else {
            let pool = sqlx::PgPool::connect(&self.url)
                .await
                .expect("raw postgres");
            let result = sqlx::query(sql).execute(&pool).await;
            pool.close().await;
            result.map(drop)
        }
    }

    /// One integer from a raw query, outside the store API.
    async fn scalar(&self, sql: &'static str) -> i64 {
        if self.url.starts_with("sqlite") {
            let pool = sqlx::SqlitePool::connect(&self.url)
                .await
                .expect("raw sqlite");
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
            pool.close().await;
            value
        } else {
            let pool = sqlx::PgPool::connect(&self.url)
                .await
                .expect("raw postgres");
            let value = sqlx::query_scalar(sql).fetch_one(&pool).await.expect(sql);
            pool.close().await;
            value
        }
    }
}

/// Instantiates each listed `module::test` (an `async fn(&Harness)`) once per backend, as
/// `sqlite::test` and `postgres::test`.
macro_rules! contract {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = sb_store::testing::SqliteDatabase::new();
                    let harness = crate::Harness { url: db.url().to_owned() };
                    crate::$module::$name(&harness).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = sb_store::testing::PostgresDatabase::create().await;
                    let harness = crate::Harness { url: db.url().to_owned() };
                    crate::$module::$name(&harness).await;
                    db.drop_database().await;
                }
            )*
        }
    };
}

contract!(
    users::migrations_are_idempotent,
    users::backend_matches_url,
    users::user_crud,
    users::duplicate_user_is_a_conflict,
    users::domain_is_case_insensitive,
    users::credentials_lookup,
    users::generation_bumps_on_each_change_and_only_then,
    users::generation_sees_other_connections,
    users::list_users_filters_and_pages,
    users::domains_of_users_are_listed,
    user_directory::user_directory_fields_round_trip,
    user_directory::extension_is_unique_per_domain,
    user_directory::update_user_changes_only_what_is_set,
    user_directory::count_users_and_group_filter,
    user_directory::user_directory_lists_everyone_without_secrets,
    bindings::binding_batch_upsert_overwrite_remove_remove_aor,
    bindings::binding_fields_round_trip,
    bindings::binding_batch_is_atomic,
    bindings::load_skips_expired_bindings,
    bindings::purge_expired_bindings,
    bindings::big_batch_of_5000_upserts,
    bindings::batches_around_chunk_boundaries,
    bindings::same_key_changes_across_chunk_boundaries,
    bindings::random_batches_match_in_order_application,
    cdrs::cdr_round_trip_every_field,
    cdrs::cdr_invalid_records_are_refused,
    cdr_queries::cdr_filters_each_and_combined,
    cdr_queries::cdr_pages_without_duplicates_or_gaps,
    cdr_filters::cdr_party_trunk_and_billable_filters,
    cdr_filters::cdr_pages_in_both_orders_without_duplicates_or_gaps,
    cdr_filters::cdr_daily_summary_in_an_offset,
    cdr_plans::cdr_filters_use_index_ranges,
    cdrs::cdr_csv_export_exact_bytes,
    cdrs::cdr_survives_close_and_reopen,
    cdr_media::cdr_media_fields_round_trip,
    cdr_media::cdr_upgrade_to_0004_keeps_records_and_ids,
    config::group_crud,
    config::acl_crud_and_references,
    config::trunk_crud,
    config::config_generation_counts_every_write,
    dialplans::dialplan_crud_and_versions,
    dialplans::dialplan_concurrent_updates_one_wins,
    dialplans::dialplans_generation_changes_on_every_write,
    dialplan_versions::dialplan_versions_number_from_one_per_name,
    dialplan_versions::dialplan_versions_concurrent_writers_get_distinct_numbers,
    auth::admin_crud,
    auth::tokens_find_list_and_revoke,
    auth::tokens_go_with_their_admin_or_user,
    cluster::nodes_join_beat_and_leave,
    cluster::bindings_of_chosen_aors_with_their_nodes,
    cluster::changes_are_announced,
);

/// Durability against a killed process only concerns SQLite: PostgreSQL's own server
/// process holds the data.
mod sqlite_durability {
    #[tokio::test]
    async fn cdr_survives_process_kill() {
        crate::cdrs::sqlite_cdr_survives_process_kill(
            "sqlite_durability::cdr_survives_process_kill",
        )
        .await;
    }
}

fn md5(fill: char) -> Ha1Md5 {
    Ha1Md5::from_hex(&fill.to_string().repeat(32)).expect("hex")
}

fn sha(fill: char) -> Ha1Sha256 {
    Ha1Sha256::from_hex(&fill.to_string().repeat(64)).expect("hex")
}

fn new_user(username: &str, domain: &str) -> NewUser {
    NewUser {
        username: username.to_owned(),
        domain: domain.to_owned(),
        display_name: None,
        ha1_md5: md5('1'),
        ha1_sha256: sha('2'),
        enabled: true,
        extension: None,
        context: None,
        groups: Vec::new(),
        call_allow: Vec::new(),
        call_deny: Vec::new(),
    }
}

fn binding(aor: &str, id: &str, expires_at_unix_ms: i64) -> BindingRecord {
    BindingRecord {
        aor: aor.to_owned(),
        binding_id: id.to_owned(),
        contact: format!("<sip:{id}@192.0.2.10:5060;transport=udp>"),
        instance: None,
        reg_id: None,
        q: None,
        call_id: format!("{id}-call@192.0.2.10"),
        cseq: 1,
        expires_at_unix_ms,
        transport: "udp".to_owned(),
        source: "192.0.2.10:5060".to_owned(),
        local: "192.0.2.1:5060".to_owned(),
        user_agent: None,
        path: None,
        node: None,
        updated_at_unix_ms: NOW,
    }
}

fn keys(records: &[BindingRecord]) -> Vec<(&str, &str)> {
    records
        .iter()
        .map(|r| (r.aor.as_str(), r.binding_id.as_str()))
        .collect()
}
