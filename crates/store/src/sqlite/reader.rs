//! Point reads for SQLite, run on the caller's thread.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands it every statement (and
//! every row back) through channels: each statement is a round trip between threads. On a
//! small machine those thread switches, not SQLite, were most of the cost of a lookup by id or
//! by `userName` (about two thirds of the gateway's CPU under load). An index probe on a
//! B-tree whose pages are cached takes microseconds, less than the switches around it, so the
//! reads that are such probes (a resource by id, by unique key, the groups of a member, a list
//! answered by index lookups) run here directly, on read-only connections of our own. Reads
//! that walk many rows (pages, scans) stay on the pool, off the caller's thread.
//!
//! In WAL mode readers never wait for the writer, and each statement (or the read
//! transaction of a multi-lookup list) sees one committed snapshot.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::types::FromSql;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};
use scim::ResourceKind;
use scim::members::Member;

use crate::codec::{self, parse_json, parse_object, parse_timestamp};
use crate::tx::Fetched;
use crate::{StoreError, StoredResource, StoredText};

/// Idle connections kept; more may be open while more threads read at once.
const MAX_IDLE: usize = 8;

/// How much of the database file a reader maps into memory (`PRAGMA mmap_size`). A random
/// lookup among 100,000 users misses a connection's page cache on most of its pages; read
/// through the map, a page the OS holds is used where it lies instead of being copied into
/// each connection's cache. Mapped pages are the OS's file cache, shared by every connection
/// and given back under memory pressure: they count as file-backed resident memory, not as
/// the process's own (README "Performance" has the figures).
const READER_MMAP_BYTES: i64 = 1 << 30;
/// Prepared statements kept per connection: the few read shapes, each per lookup column.
const STATEMENT_CACHE: usize = 32;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// The read-only connections of one database file.
pub(crate) struct Readers {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl Readers {
    /// Readers of the database file at `path`, which must exist, in WAL mode (connections are
    /// opened when first needed).
    pub(crate) fn new(path: &Path, busy_timeout: Duration) -> Readers {
        Readers {
            path: path.to_owned(),
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        // Read-write (without create), then query_only: a connection opened read-only could
        // not recover the WAL index after a crash of the last writer.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(self.busy_timeout)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `read` on an idle connection (opening one when none is), then keeps the
    /// connection for the next read unless `read` left a transaction open.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let idle = self.idle().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let outcome = read(&mut conn);
        if conn.is_autocommit() && !self.closed.load(Ordering::Acquire) {
            let mut idle = self.idle();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        outcome
    }

    /// Closes the idle connections; reads from now on fail.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle().clear();
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // Nothing panics while holding the lock, and a list of idle connections is valid
        // whatever a panicking holder was doing.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".into())
}

/// Runs `body`, in a read transaction when `several` statements must see one snapshot (one
/// statement always does).
pub(crate) fn in_snapshot<T>(
    conn: &mut Connection,
    several: bool,
    body: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    if !several {
        return body(conn);
    }
    let tx = conn.transaction()?;
    let outcome = body(&tx)?;
    tx.commit()?;
    Ok(outcome)
}

/// A resource from the columns of `resource_columns!()`, in that order.
fn fetched(row: &Row<'_>, kind: ResourceKind) -> Result<Fetched, StoreError> {
    let text = |i: usize| -> Result<&str, StoreError> {
        Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
    };
    Ok(Fetched {
        seq: row.get(0)?,
        resource: StoredResource {
            kind,
            id: row.get(1)?,
            version: row.get(2)?,
            created: parse_timestamp(text(3)?)?,
            last_modified: parse_timestamp(text(4)?)?,
            attributes: parse_object(text(5)?, "attributes")?,
            vendor_keys: parse_json(text(6)?, "vendor keys")?,
        },
    })
}

/// The resource a statement selecting `resource_columns!()` finds, if any.
pub(crate) fn fetch_optional(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    kind: ResourceKind,
) -> Result<Option<Fetched>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    rows.next()?.map(|row| fetched(row, kind)).transpose()
}

/// The resource (its attributes as stored text) and the text of one more column after the
/// resource's, if a statement selecting `resource_columns!()` and that column finds one.
pub(crate) fn fetch_text_with(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    kind: ResourceKind,
) -> Result<Option<(StoredText, String)>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let text = |i: usize| -> Result<&str, StoreError> {
        Ok(row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)?)
    };
    let resource = StoredText {
        kind,
        id: row.get(1)?,
        version: row.get(2)?,
        created: parse_timestamp(text(3)?)?,
        last_modified: parse_timestamp(text(4)?)?,
        attributes: row.get(5)?,
        vendor_keys: row.get(6)?,
    };
    Ok(Some((resource, row.get(7)?)))
}

/// Every resource a statement selecting `resource_columns!()` finds.
pub(crate) fn fetch_all(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    kind: ResourceKind,
) -> Result<Vec<Fetched>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(params)?;
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(fetched(row, kind)?);
    }
    Ok(all)
}

/// The first column of the first row, if there is one.
pub(crate) fn scalar<T: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    Ok(statement.query_row(params, |row| row.get(0)).optional()?)
}

/// The first two columns of every row.
pub(crate) fn pairs<A: FromSql, B: FromSql>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<(A, B)>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The members a [`crate::sql::MEMBERS`] statement finds.
pub(crate) fn members(
    conn: &Connection,
    sql: &str,
    params: impl Params,
) -> Result<Vec<Member>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| {
        Ok(codec::member(row.get(0)?, row.get(1)?, row.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db() -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "scim-bridge-readers-{}-{}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);")
            .expect("schema");
        path
    }

    #[test]
    fn connections_are_reused_and_never_write() {
        let path = temp_db();
        let readers = Readers::new(&path, Duration::from_secs(1));
        for _ in 0..3 {
            let n: i64 = readers
                .read(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
                .expect("read");
            assert_eq!(n, 0);
        }
        assert_eq!(readers.idle().len(), 1, "one connection served every read");
        let write = readers.read(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
        assert!(write.is_err(), "query_only refuses writes");
        readers.close();
        assert!(readers.read(|_| Ok(())).is_err(), "closed");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_connection_left_in_a_transaction_is_not_kept() {
        let path = temp_db();
        let readers = Readers::new(&path, Duration::from_secs(1));
        readers
            .read(|c| Ok(c.execute_batch("BEGIN")?))
            .expect("begin");
        assert!(readers.idle().is_empty());
        let _ = std::fs::remove_file(&path);
    }
}
