//! The schema migrations, embedded from `migrations/sqlite` and `migrations/postgres`.
//!
//! Both directories hold the same file names (`NNNN_name.sql`, same number = same meaning).
//! They are compiled in with `include_str!` and handed to sqlx's runtime [`Migrator`], which
//! records applied versions and checksums in its `_sqlx_migrations` table, runs each pending
//! migration in a transaction, and refuses to start when an applied file was edited.

use std::borrow::Cow;

use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

/// One migration, in both dialects.
#[derive(Debug)]
pub(crate) struct EmbeddedMigration {
    /// The number at the start of the file name.
    pub(crate) version: i64,
    /// The file name, identical in both directories.
    pub(crate) file: &'static str,
    /// Text of `migrations/sqlite/<file>`.
    pub(crate) sqlite: &'static str,
    /// Text of `migrations/postgres/<file>`.
    pub(crate) postgres: &'static str,
}

macro_rules! embed {
    ($version:literal, $file:literal) => {
        EmbeddedMigration {
            version: $version,
            file: $file,
            sqlite: include_str!(concat!("../../../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../../../migrations/postgres/", $file)),
        }
    };
}

/// Every migration, in order. A unit test checks this against the directories.
pub(crate) const MIGRATIONS: &[EmbeddedMigration] = &[
    embed!(1, "0001_initial.sql"),
    embed!(2, "0002_cdrs_and_dialplans.sql"),
    embed!(3, "0003_app.sql"),
    embed!(4, "0004_cdr_media.sql"),
    embed!(5, "0005_cluster.sql"),
];

impl EmbeddedMigration {
    /// The description sqlx would derive from the file name: `0001_initial.sql` → `initial`.
    fn description(&self) -> String {
        let stem = self.file.strip_suffix(".sql").unwrap_or(self.file);
        let name = stem.split_once('_').map_or(stem, |(_, name)| name);
        name.replace('_', " ")
    }

    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Builds sqlx's migrator for one backend from the embedded text.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|m| {
            Migration::new(
                m.version,
                Cow::Owned(m.description()),
                MigrationType::Simple,
                SqlStr::from_static(m.sql(backend)),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    /// Reads `migrations/<dialect>` from the source tree: file name → text.
    fn files_on_disk(dialect: &str) -> BTreeMap<String, String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations")
            .join(dialect);
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.expect("directory entry").path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .expect("UTF-8 file name")
                    .to_owned();
                let text = std::fs::read_to_string(&path).expect("readable migration");
                (name, text)
            })
            .collect()
    }

    #[test]
    fn embedded_list_matches_both_directories_exactly() {
        let embedded: Vec<&str> = MIGRATIONS.iter().map(|m| m.file).collect();
        for (dialect, pick) in [
            (
                "sqlite",
                (|m: &EmbeddedMigration| m.sqlite) as fn(&EmbeddedMigration) -> &str,
            ),
            ("postgres", |m: &EmbeddedMigration| m.postgres),
        ] {
            let on_disk = files_on_disk(dialect);
            let names: Vec<&str> = on_disk.keys().map(String::as_str).collect();
            assert_eq!(
                names, embedded,
                "migrations/{dialect} differs from MIGRATIONS"
            );
            for m in MIGRATIONS {
                assert_eq!(on_disk[m.file], pick(m), "{dialect}/{} text", m.file);
            }
        }
    }

    #[test]
    fn versions_follow_file_names_and_increase() {
        let mut previous = 0;
        for m in MIGRATIONS {
            let (number, rest) = m.file.split_once('_').expect("NNNN_name.sql");
            assert_eq!(number.len(), 4, "{}: four-digit number", m.file);
            assert_eq!(number.parse::<i64>().expect("numeric prefix"), m.version);
            assert!(rest.ends_with(".sql") && rest.len() > 4, "{}", m.file);
            assert!(m.version > previous, "{}: versions must increase", m.file);
            previous = m.version;
        }
    }

    #[test]
    fn migrator_carries_every_migration_for_each_backend() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let migrator = migrator(backend);
            let got: Vec<(i64, String)> = migrator
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect();
            let want: Vec<(i64, String)> = MIGRATIONS
                .iter()
                .map(|m| (m.version, m.description()))
                .collect();
            assert_eq!(got, want);
            assert_eq!(want[0], (1, "initial".to_owned()));
            let first = migrator.iter().next().expect("one migration");
            assert_eq!(first.sql.as_str(), MIGRATIONS[0].sql(backend));
        }
    }
}
