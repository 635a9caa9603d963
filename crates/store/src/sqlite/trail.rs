//! The trail on SQLite: a database file of its own beside the store's (`store.db` keeps its
//! trail in `store.trail.db`), written by a thread of its own.
//!
//! Kept in the store's file, every batch of trail records was one more insert on the store's
//! writer thread, the one every write waits for: about 8 % of the write throughput when the
//! writes cost the store alone (docs/benchmarks.md). Here the records go to another file and
//! another thread, and so never wait for, nor hold up, a write of the store.
//!
//! The trail is a record of what happened, not something the gateway promised: its file runs
//! with `synchronous = NORMAL`, so its commits do not wait for the disk (a power cut may lose
//! the last moments' records; a crash of the process loses none). The store's file keeps
//! `FULL`.
//!
//! Records are pruned with the journal: the trail's connection attaches the store's file
//! (as `store`) to see which request ids a journal entry still holds, and only reads it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{self, parse_timestamp};
use crate::queue::prune_sql;
use crate::sqlite::reader::Readers;
use crate::sqlite::writer::truncate_wal;
use crate::sqlite::{OPEN_RETRIES, OPEN_RETRY_DELAY};
use crate::{StoreError, TrailRecord};

/// The schema of the trail's file; `PRAGMA user_version` says which one a file has.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS trail (
        id         INTEGER PRIMARY KEY,
        request_id TEXT    NOT NULL,
        at         TEXT    NOT NULL,
        record     TEXT    NOT NULL
    );
    CREATE INDEX IF NOT EXISTS trail_request ON trail (request_id);
    PRAGMA user_version = 1;
";
const SCHEMA_VERSION: i64 = 1;

/// Prepared statements kept on the trail's connections.
const STATEMENT_CACHE: usize = 8;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What the trail's thread is sent.
enum Message {
    /// Records to keep, encoded: request id, time, record.
    Keep(Vec<(String, String, String)>, Reply<()>),
    /// One batch of records no journal entry holds, kept before a stored timestamp.
    Prune(String, i64, Reply<u64>),
    /// Finish what was sent before, empty the WAL, close, then answer.
    Close(oneshot::Sender<()>),
}

/// The trail's file: a thread that writes it, and readers beside.
pub(crate) struct TrailFile {
    jobs: mpsc::UnboundedSender<Message>,
    readers: Readers,
}

/// The trail's file beside the store's at `store`: `store.db` → `store.trail.db`, `store` →
/// `store.trail`.
pub(crate) fn path_beside(store: &Path) -> PathBuf {
    let stem = store.file_stem().unwrap_or_default().to_owned();
    let mut name = stem;
    name.push(".trail");
    if let Some(extension) = store.extension() {
        name.push(".");
        name.push(extension);
    }
    store.with_file_name(name)
}

fn stopped() -> StoreError {
    StoreError::Backend("the trail's writer has stopped".into())
}

impl TrailFile {
    /// Opens (creating if needed) the trail's file beside the store's file at `store`, and
    /// moves into it the records an earlier version kept in the store's own `trail` table (the
    /// store's migration 7 then drops that table).
    pub(crate) async fn open(
        store: &Path,
        busy_timeout: Duration,
    ) -> Result<TrailFile, StoreError> {
        let path = path_beside(store);
        let store = store.to_owned();
        let (conn, path) = tokio::task::spawn_blocking(move || {
            open_writer(&path, &store, busy_timeout).map(|conn| (conn, path))
        })
        .await
        .map_err(|e| StoreError::Backend(format!("cannot open the trail's file: {e}")))??;
        let (jobs, queue) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("sqlite-trail".into())
            .spawn(move || serve(conn, queue))
            .map_err(|e| StoreError::Backend(format!("cannot start the trail's writer: {e}")))?;
        Ok(TrailFile {
            jobs,
            readers: Readers::new(&path, busy_timeout),
        })
    }

    async fn ask<T>(
        &self,
        message: Message,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.jobs.send(message).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Keeps records (request id, time, record), encoded by the caller, in one transaction.
    pub(crate) async fn keep(&self, rows: Vec<(String, String, String)>) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Message::Keep(rows, reply), answer).await
    }

    /// Removes at most `batch` records kept before `older_than` (a stored timestamp) whose
    /// request no journal entry holds; answers how many went.
    pub(crate) async fn prune_batch(
        &self,
        older_than: String,
        batch: i64,
    ) -> Result<u64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ask(Message::Prune(older_than, batch, reply), answer)
            .await
    }

    /// The records of these requests, in the order they were kept.
    pub(crate) fn of(&self, request_ids: &str) -> Result<Vec<TrailRecord>, StoreError> {
        self.readers.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT request_id, at, record FROM trail \
                 WHERE request_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
            )?;
            let mut rows = statement.query([request_ids])?;
            let mut records = Vec::new();
            while let Some(row) = rows.next()? {
                let at: String = row.get(1)?;
                let record: String = row.get(2)?;
                records.push(TrailRecord {
                    request_id: row.get(0)?,
                    at: parse_timestamp(&at)?,
                    record: codec::parse_json(&record, "trail record")?,
                });
            }
            Ok(records)
        })
    }

    /// Ends the thread once what was sent before is done and the WAL is emptied.
    pub(crate) async fn close(&self) {
        self.readers.close();
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Message::Close(done)).is_ok() {
            // An error: the thread had ended already.
            let _ = closed.await;
        }
    }
}

/// The writer's connection: the file created, in WAL mode, its schema current, the store's file
/// attached, and any trail the store's file still holds moved over.
fn open_writer(
    path: &Path,
    store: &Path,
    busy_timeout: Duration,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    let mut attempt = 0;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && attempt < OPEN_RETRIES =>
            {
                attempt += 1;
                std::thread::sleep(OPEN_RETRY_DELAY);
            }
            other => {
                other?;
                break;
            }
        }
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "the trail's file {} has schema {version}, written by a newer scim-bridge (this one \
             knows {SCHEMA_VERSION})",
            path.display()
        )));
    }
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))?;
    let store = store.to_str().ok_or_else(|| {
        StoreError::Backend(format!("the store's path {} is not UTF-8", store.display()))
    })?;
    conn.execute("ATTACH DATABASE ?1 AS store", [store])?;
    move_from_store(&conn)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Copies the records of the store's own `trail` table (versions before the trail had a file of
/// its own), keeping their ids and so their order. Ids already here are skipped: a start that
/// stopped between this copy and the store's migration copies again, and nothing twice.
fn move_from_store(conn: &Connection) -> Result<(), StoreError> {
    let old: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM store.sqlite_master WHERE type = 'table' AND name = 'trail'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if old.is_some() {
        conn.execute(
            "INSERT OR IGNORE INTO main.trail (id, request_id, at, record) \
             SELECT id, request_id, at, record FROM store.trail",
            [],
        )?;
    }
    Ok(())
}

/// The trail's thread: each batch of records in a transaction of its own (the gateway's
/// recorder already gathers records into batches), until it is closed or every handle is gone.
fn serve(mut conn: Connection, mut queue: mpsc::UnboundedReceiver<Message>) {
    while let Some(message) = queue.blocking_recv() {
        match message {
            Message::Keep(rows, reply) => drop(reply.send(keep(&mut conn, &rows))),
            Message::Prune(older_than, batch, reply) => {
                drop(reply.send(prune_batch(&conn, &older_than, batch)));
            }
            Message::Close(done) => {
                truncate_wal(&conn);
                drop(conn);
                let _ = done.send(());
                return;
            }
        }
    }
}

fn keep(conn: &mut Connection, rows: &[(String, String, String)]) -> Result<(), StoreError> {
    // Deferred, not IMMEDIATE: that would take the write lock of the attached store's file too.
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare_cached("INSERT INTO trail (request_id, at, record) VALUES (?1, ?2, ?3)")?;
        for (request_id, at, record) in rows {
            insert.execute(params![request_id, at, record])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn prune_batch(conn: &Connection, older_than: &str, batch: i64) -> Result<u64, StoreError> {
    let cut: Option<i64> = conn
        .prepare_cached(prune_sql!(trail_cut, "?1"))?
        .query_row([older_than], |row| row.get(0))
        .optional()?;
    let pruned = conn
        .prepare_cached(prune_sql!(trail, "store.journal", "?1", "?2", "?3"))?
        .execute(params![cut.unwrap_or(i64::MAX), older_than, batch])?;
    Ok(u64::try_from(pruned).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::{TrailFile, path_beside};
    use std::path::Path;
    use std::time::Duration;

    /// A start that stopped after copying the store's old trail but before the migration
    /// that drops it copies again on the next start, and keeps each record once; a close
    /// empties the trail's WAL (and only its own: the store's file is attached).
    #[tokio::test]
    async fn a_start_cut_short_copies_the_old_trail_once() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = dir.path().join("store.db");
        let old = rusqlite::Connection::open(&store).expect("the store's file");
        old.execute_batch(
            "CREATE TABLE trail (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, \
             at TEXT NOT NULL, record TEXT NOT NULL); \
             INSERT INTO trail (request_id, at, record) VALUES \
             ('r1', '2026-01-01T00:00:00.000000Z', '{\"n\": 1}'), \
             ('r2', '2026-01-01T00:00:01.000000Z', '{\"n\": 2}');",
        )
        .expect("an old trail");
        drop(old);
        for _ in 0..2 {
            let trail = TrailFile::open(&store, Duration::from_secs(1))
                .await
                .expect("open");
            let kept = trail.of(r#"["r1", "r2"]"#).expect("read");
            let numbers: Vec<_> = kept.iter().map(|r| r.record["n"].clone()).collect();
            assert_eq!(numbers, [1, 2]);
            trail
                .keep(vec![(
                    "r3".into(),
                    "2026-01-01T00:00:02.000000Z".into(),
                    "{}".into(),
                )])
                .await
                .expect("keep");
            trail.close().await;
            // A graceful close leaves the records in the file itself, its WAL empty.
            let wal = dir.path().join("store.trail.db-wal");
            assert_eq!(std::fs::metadata(&wal).map_or(0, |m| m.len()), 0);
        }
    }

    #[test]
    fn the_trail_lies_beside_the_store() {
        let beside = |p: &str| path_beside(Path::new(p)).display().to_string();
        assert_eq!(
            beside("/var/lib/scim-bridge.db"),
            "/var/lib/scim-bridge.trail.db"
        );
        assert_eq!(beside("data/store"), "data/store.trail");
        assert_eq!(beside("store.sqlite3"), "store.trail.sqlite3");
    }
}
