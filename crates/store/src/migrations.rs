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
    (
        5,
        "trail",
        include_str!("../migrations/sqlite/0005_trail.sql"),
    ),
    (
        6,
        "trail rowid",
        include_str!("../migrations/sqlite/0006_trail_rowid.sql"),
    ),
    (
        7,
        "trail apart",
        include_str!("../migrations/sqlite/0007_trail_apart.sql"),
    ),
    (
        8,
        "guard",
        include_str!("../migrations/sqlite/0008_guard.sql"),
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
    (
        7,
        "trail",
        include_str!("../migrations/postgres/0007_trail.sql"),
    ),
    (
        8,
        "guard",
        include_str!("../migrations/postgres/0008_guard.sql"),
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

/// An upgrade keeps what the previous schema held: a Group written with its member list inside
/// its attributes, and a journal entry that carries whole lists, read as members apart and a
/// delta (migration 4 on SQLite, 6 on PostgreSQL; `codec::parse_journalled`).
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sqlx::Connection;

    use super::*;
    use crate::{Member, ResourceKind, Store, Trail};

    const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

    /// Rows as the version before members were kept apart wrote them (`$TS` is a timestamp in
    /// the backend's form).
    fn old_rows(ts: &str) -> String {
        let group = json!({"schemas": [GROUP_URN], "displayName": "Old", "members": [
            {"value": "u1", "display": "One"}, {"value": "u2", "type": "User"}
        ]});
        let after =
            json!({"schemas": [GROUP_URN], "displayName": "Old", "members": [{"value": "u2"}]});
        let change =
            json!({"operation": "replace", "id": "g1", "expectedVersion": 1, "attributes": after});
        let before = json!({"kind": "Group", "id": "g1", "version": 1,
            "created": "2026-01-01T00:00:00.000000Z", "lastModified": "2026-01-01T00:00:00.000000Z",
            "attributes": group, "vendorKeys": {}});
        let user = |id: &str| {
            format!(
                "INSERT INTO resources (connector, kind, id, version, created, last_modified, \
                 attributes, vendor_keys, unique_key) VALUES ('c', 'User', '{id}', 1, {ts}, {ts}, \
                 '{{\"userName\": \"{id}\"}}', '{{}}', '{id}');"
            )
        };
        format!(
            "{}{}
             INSERT INTO resources (connector, kind, id, version, created, last_modified,
                 attributes, vendor_keys, unique_key, display_name, display_name_ci)
             VALUES ('c', 'Group', 'g1', 1, {ts}, {ts}, '{group}', '{{}}', 'old', 'Old', 'old');
             INSERT INTO memberships (connector, group_id, member_id)
             VALUES ('c', 'g1', 'u1'), ('c', 'g1', 'u2');
             INSERT INTO journal (connector, kind, resource_id, operation, change,
                 before_resource, state, attempts, created, updated)
             VALUES ('c', 'Group', 'g1', 'replace', '{change}', '{before}', 'pending', 0, {ts}, {ts});",
            user("u1"),
            user("u2"),
        )
    }

    async fn check_upgraded(store: &dyn Store) {
        let group = store
            .get("c", ResourceKind::Group, "g1")
            .await
            .expect("get")
            .expect("the group is still there");
        assert!(!group.attributes.contains_key("members"), "{group:?}");
        assert_eq!(group.attributes["displayName"], "Old");
        let member = |id: &str, display: Option<&str>| Member {
            value: id.into(),
            kind: Some(ResourceKind::User),
            display: display.map(str::to_owned),
        };
        assert_eq!(
            store.members("c", "g1", None).await.expect("members"),
            [member("u1", Some("One")), member("u2", None)]
        );
        let pending = store.journal_pending().await.expect("pending");
        let [entry] = pending.as_slice() else {
            panic!("one pending entry: {pending:?}")
        };
        assert_eq!(entry.change.members().remove, ["u1"]);
        assert!(entry.change.members().add.is_empty());
        assert!(
            entry
                .before
                .as_ref()
                .is_some_and(|b| !b.attributes.contains_key("members"))
        );
        // Recovery would finish it: the delta applies.
        store.commit(entry.seq, json!({})).await.expect("commit");
        assert_eq!(
            store.members("c", "g1", None).await.expect("members"),
            [member("u2", None)]
        );
    }

    /// A SQLite file at `path` with the first `migrations` applied, and a connection to it.
    async fn sqlite_at(
        path: &std::path::Path,
        migrations: usize,
    ) -> (sqlx::sqlite::SqliteConnectOptions, sqlx::SqliteConnection) {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("open");
        migrator(&SQLITE[..migrations])
            .run_direct(None, &mut conn, false)
            .await
            .expect("the earlier schema");
        (options, conn)
    }

    #[tokio::test]
    async fn a_sqlite_store_of_the_previous_version_upgrades() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("previous.db");
        let (_, mut conn) = sqlite_at(&path, 3).await;
        let rows = old_rows("'2026-01-01T00:00:00.000000Z'");
        sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
            .execute(&mut conn)
            .await
            .expect("old rows");
        conn.close().await.expect("close");
        let store = crate::SqliteStore::open(&path).await.expect("upgrade");
        check_upgraded(&store).await;
        crate::Maintenance::close(&store).await;
    }

    #[tokio::test]
    async fn a_sqlite_trail_moves_to_its_own_file_with_its_records() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("trail.db");
        // Version 5 kept the trail in the store's file, with AUTOINCREMENT.
        let (options, mut conn) = sqlite_at(&path, 5).await;
        sqlx::raw_sql(
            "INSERT INTO trail (request_id, at, record) VALUES \
             ('r1', '2026-01-01T00:00:00.000000Z', '{\"type\": \"request\"}'), \
             ('r1', '2026-01-01T00:00:01.000000Z', '{\"type\": \"vendor\"}');",
        )
        .execute(&mut conn)
        .await
        .expect("old records");
        conn.close().await.expect("close");
        let store = crate::SqliteStore::open(&path).await.expect("upgrade");
        store
            .trail_append(vec![crate::TrailRecord {
                request_id: "r1".into(),
                at: time::OffsetDateTime::now_utc(),
                record: json!({"type": "vendor", "attempt": 2}),
            }])
            .await
            .expect("append");
        let kept = store.trail_of(&["r1".into()]).await.expect("trail");
        let kinds: Vec<&Value> = kept.iter().map(|r| &r.record["type"]).collect();
        assert_eq!(kinds, ["request", "vendor", "vendor"], "in the order kept");
        crate::Maintenance::close(&store).await;

        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("reopen");
        let left: Option<String> =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'trail'")
                .fetch_optional(&mut conn)
                .await
                .expect("the store's schema");
        assert_eq!(left, None, "the store's own trail table is gone");
        conn.close().await.expect("close");
        let trail = dir.path().join("trail.trail.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&trail);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("the trail's file");
        let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM trail")
            .fetch_one(&mut conn)
            .await
            .expect("count");
        assert_eq!(kept, 3);
        conn.close().await.expect("close");

        // Opened again: nothing is copied twice.
        let store = crate::SqliteStore::open(&path).await.expect("reopen");
        assert_eq!(
            store.trail_of(&["r1".into()]).await.expect("trail").len(),
            3
        );
        crate::Maintenance::close(&store).await;
    }

    #[tokio::test]
    async fn a_postgres_store_of_the_previous_version_upgrades() {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            eprintln!("skipped: TEST_DATABASE_URL is not set, PostgreSQL not tested");
            return;
        };
        let name = format!(
            "scim_upgrade_{}_{}",
            std::process::id(),
            crate::codec::now().unix_timestamp_nanos()
        );
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
        let url = match query {
            "" => format!("{server}/{name}"),
            query => format!("{server}/{name}?{query}"),
        };
        {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            migrator(&POSTGRES[..5])
                .run_direct(None, &mut conn, false)
                .await
                .expect("the previous schema");
            sqlx::raw_sql(sqlx::AssertSqlSafe(old_rows("'2026-01-01T00:00:00Z'")))
                .execute(&mut conn)
                .await
                .expect("old rows");
            conn.close().await.expect("close");
        }
        let store = crate::PgStore::connect(&url).await.expect("upgrade");
        check_upgraded(&store).await;
        crate::Maintenance::close(&store).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("drop database");
    }
}
