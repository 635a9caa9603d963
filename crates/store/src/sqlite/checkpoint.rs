//! WAL checkpoints for SQLite, on a thread of their own.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back into
//! the database file and syncs it, so that the WAL can start over. SQLite's default runs the
//! checkpoint inside the commit that takes the WAL past 1,000 pages, on the committing
//! connection: here the writer's, which every write waits for. Under load that was a sixth of
//! the writer's CPU and two more fsyncs in its way. So the writer's connection does not
//! checkpoint; it nudges this thread after each commit, and the thread runs a `PASSIVE`
//! checkpoint on a connection of its own, beside the writer (WAL lets a checkpoint copy pages
//! while a writer appends).
//!
//! The WAL restarts only when a checkpoint has copied every page of it, and a checkpoint beside
//! a busy writer is always a little behind. So once the WAL holds more than
//! [`WAL_LIMIT_PAGES`], the writer is asked to checkpoint once itself, between two groups: the
//! few pages not yet copied, after which its next commit starts the WAL over. The WAL stays
//! about that size under any load, and the database file never lags far behind it.
//!
//! Durability does not depend on any of this: a committed write is in the synced WAL.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::StoreError;

/// How many pages the WAL may hold before the writer finishes a checkpoint itself
/// (16,384 pages of 4 KiB: 64 MiB). Also the auto-checkpoint threshold of the other
/// connections that write (the pool's queue updates), as a backstop.
pub(crate) const WAL_LIMIT_PAGES: u32 = 16_384;

/// After a checkpoint, the thread waits this long before the next, so that pages rewritten by
/// several commits (index roots, the journal's last page) are copied once, not once a commit.
const PAUSE: Duration = Duration::from_millis(20);

/// The writer's side of the checkpoint thread.
pub(crate) struct Checkpoints {
    nudge: SyncSender<()>,
    /// Set by the thread when the WAL has outgrown [`WAL_LIMIT_PAGES`].
    behind: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Checkpoints {
    /// Starts the checkpoint thread on the database file at `path`, asking for the writer's
    /// help past `limit_pages` in the WAL ([`WAL_LIMIT_PAGES`]); it ends when this handle is
    /// dropped.
    pub(crate) fn start(
        path: &Path,
        busy_timeout: Duration,
        limit_pages: u32,
    ) -> Result<Checkpoints, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(busy_timeout)?;
        // FULL, like every connection that writes: the checkpoint syncs the database file.
        conn.execute_batch("PRAGMA synchronous = FULL;")?;
        let (nudge, nudges) = sync_channel(1);
        let behind = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&behind);
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudges, &flag, limit_pages))
            .map_err(|e| {
                StoreError::Backend(format!("cannot start the SQLite checkpoints: {e}"))
            })?;
        Ok(Checkpoints {
            nudge,
            behind,
            thread,
        })
    }

    /// Ends the thread and waits for it, so that no checkpoint of its own runs after this
    /// returns: the writer's closing `TRUNCATE` checkpoint would find the checkpoint lock
    /// taken and leave the WAL as it is.
    pub(crate) fn stop(self) {
        drop(self.nudge);
        if self.thread.join().is_err() {
            tracing::warn!("the SQLite checkpoint thread panicked");
        }
    }

    /// Called after each commit: a checkpoint is due soon.
    pub(crate) fn committed(&self) {
        match self.nudge.try_send(()) {
            // One nudge waiting is enough; a stopped thread only costs the WAL its restarts.
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }

    /// Whether the writer should checkpoint now (clears the request).
    pub(crate) fn take_behind(&self) -> bool {
        self.behind.swap(false, Ordering::AcqRel)
    }
}

/// A `PASSIVE` checkpoint: copies what it can without waiting for anyone. Returns the pages in
/// the WAL.
pub(crate) fn checkpoint(conn: &Connection) -> Result<u32, StoreError> {
    let (_busy, wal_pages): (i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(u32::try_from(wal_pages).unwrap_or(u32::MAX))
}

fn run(conn: &Connection, nudges: &Receiver<()>, behind: &AtomicBool, limit_pages: u32) {
    while nudges.recv().is_ok() {
        match checkpoint(conn) {
            Ok(pages) if pages > limit_pages => behind.store(true, Ordering::Release),
            Ok(_) => {}
            // Only the WAL's size suffers; the writer's own checkpoint is the next chance.
            Err(e) => {
                tracing::warn!(error = %e, "a WAL checkpoint failed");
                behind.store(true, Ordering::Release);
            }
        }
        std::thread::sleep(PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x BLOB);")
            .expect("schema");
        (dir, path)
    }

    /// Inserts `rows` rows of about ten pages each in one transaction.
    fn write(conn: &Connection, rows: u32) {
        conn.execute_batch("BEGIN").expect("begin");
        for _ in 0..rows {
            conn.execute("INSERT INTO t VALUES (zeroblob(40000))", [])
                .expect("insert");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }

    /// (pages in the WAL, pages copied back), after a checkpoint of whatever is left.
    fn wal_state(conn: &Connection) -> (i64, i64) {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint")
    }

    #[test]
    fn the_thread_copies_the_wal_back_and_asks_for_help_past_the_limit() {
        let (_dir, path) = temp_db();
        let writer = Connection::open(&path).expect("writer");
        writer
            .execute_batch("PRAGMA wal_autocheckpoint = 0;")
            .expect("no auto checkpoint");
        let limit = 500;
        let checkpoints = Checkpoints::start(&path, Duration::from_secs(1), limit).expect("start");

        // About 200 pages: under the limit, copied back by the thread alone.
        write(&writer, 20);
        checkpoints.committed();
        std::thread::sleep(PAUSE * 5);
        assert!(
            !checkpoints.take_behind(),
            "a WAL under the limit needs no help"
        );
        let db_len = std::fs::metadata(&path).expect("database file").len();
        assert!(
            db_len >= 200 * 4096,
            "the thread copied the pages into the database file: {db_len} bytes"
        );

        // Past the limit: the thread asks the writer to finish.
        write(&writer, limit / 10 + 20);
        checkpoints.committed();
        let mut asked = false;
        for _ in 0..100 {
            std::thread::sleep(PAUSE);
            if checkpoints.take_behind() {
                asked = true;
                break;
            }
        }
        assert!(asked, "a WAL over the limit asks the writer to checkpoint");
        // The writer's checkpoint, then its next commit starts the WAL over.
        checkpoint(&writer).expect("checkpoint");
        write(&writer, 1);
        let (in_wal, _) = wal_state(&writer);
        assert!(
            in_wal < i64::from(limit) / 10,
            "the WAL started over: {in_wal} pages"
        );
    }
}
