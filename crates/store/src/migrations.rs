//! The schema of each backend, embedded in the binary and applied at start by sqlx's migrator
//! (which records what it applied in `_sqlx_migrations` and, on PostgreSQL, holds an advisory
//! lock meanwhile, so replicas starting together apply each migration once).
//!
//! The backends call `Migrator::run_direct` on one connection rather than `run(&pool)`: the
//! latter's `Acquire` bound makes every future that awaits it fail to be `Send` ("implementation
//! of `Acquire` is not general enough"), which `tokio::spawn` needs; sqlx provides `run_direct`
//! for exactly this.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, SQL)` of each SQLite migration, oldest first.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "outbox",
        include_str!("../migrations/sqlite/0002_outbox.sql"),
    ),
    (
        3,
        "drop journal_resource",
        include_str!("../migrations/sqlite/0003_drop_journal_resource.sql"),
    ),
    (
        4,
        "members apart",
        include_str!("../migrations/sqlite/0004_members_apart.sql"),
    ),
];

/// `(version, description, SQL)` of each PostgreSQL migration, oldest first.
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "outbox",
        include_str!("../migrations/postgres/0002_outbox.sql"),
    ),
    (
        3,
        "write generation",
        include_str!("../migrations/postgres/0003_write_generation.sql"),
    ),
    (
        4,
        "counter shards",
        include_str!("../migrations/postgres/0004_counter_shards.sql"),
    ),
    (
        5,
        "drop journal_resource",
        include_str!("../migrations/postgres/0005_drop_journal_resource.sql"),
    ),
    (
        6,
        "members apart",
        include_str!("../migrations/postgres/0006_members_apart.sql"),
    ),
];

fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}
