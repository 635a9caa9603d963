//! Group commit for SQLite. SQLite has one writer at a time, and with `synchronous=FULL`
//! (nothing accepted may be lost, not even at a power cut) every transaction waits for an
//! fsync. Writing each journal entry and each commit in a transaction of its own caps the
//! gateway at a few hundred writes per second. So every write goes to one writer thread, which
//! runs all the writes waiting at that moment in one transaction, each under its own savepoint
//! (one write's failure undoes only that write), commits once, and only then answers each
//! caller: an answer still means "durable".
//!
//! Nothing waits to form a group: a write that finds the writer idle is committed at once;
//! writes that arrive during a commit form the next group.
//!
//! The writer is a thread of its own with its own connection, not a task on the runtime: its
//! statements and its fsync block, and they run back to back without crossing threads (see
//! [`crate::sqlite::write_tx`]). Callers wait for their answer without holding a runtime thread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::commit::{self, Vendor};
use crate::sqlite::checkpoint::{self, Checkpoints, WAL_LIMIT_PAGES};
use crate::sqlite::guard::{Ask, Order};
use crate::sqlite::write_tx::{self, STATEMENT_CACHE, WriterTx, run_now};
use crate::{Admission, NewJournalEntry, Pruned, StoreError, StoredResource, codec};

/// At most this many writes share one transaction.
const MAX_GROUP: usize = 512;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write, and where its answer goes.
enum Job {
    Append(Box<NewJournalEntry>, Reply<i64>),
    Commit(i64, Value, Reply<Option<StoredResource>>),
    Fail(i64, String, Reply<()>),
    /// Journal and commit in one step (no vendor in between, or the vendor later).
    AppendCommit(Box<NewJournalEntry>, Vendor, Reply<Option<StoredResource>>),
    /// Resources written as their creations' commits would have, without journal entries.
    Load(String, Vec<StoredResource>, Reply<()>),
    /// One batch of history removed (a stored timestamp, and the batch size).
    Prune(String, i64, Reply<Pruned>),
    /// A deletion guard's decision on one removal.
    Admit(Box<Ask>, Reply<Admission>),
    /// An operator's order to a connector's deletion guard.
    Order(String, Order, Reply<()>),
}

/// A write done inside the open transaction, its answer held until the group commits.
enum Done {
    Append(Reply<i64>, Result<i64, StoreError>),
    Commit(
        Reply<Option<StoredResource>>,
        Result<Option<StoredResource>, StoreError>,
    ),
    Unit(Reply<()>, Result<(), StoreError>),
    Pruned(Reply<Pruned>, Result<Pruned, StoreError>),
    Admitted(Reply<Admission>, Result<Admission, StoreError>),
}

impl Done {
    fn is_ok(&self) -> bool {
        match self {
            Done::Append(_, r) => r.is_ok(),
            Done::Commit(_, r) => r.is_ok(),
            Done::Unit(_, r) => r.is_ok(),
            Done::Pruned(_, r) => r.is_ok(),
            Done::Admitted(_, r) => r.is_ok(),
        }
    }

    /// Answers the caller; when the group did not commit, with that error instead.
    fn answer(self, group_failed: Option<&StoreError>) {
        fn pick<T>(
            outcome: Result<T, StoreError>,
            failed: Option<&StoreError>,
        ) -> Result<T, StoreError> {
            match failed {
                Some(e) => Err(e.clone()),
                None => outcome,
            }
        }
        // A caller that gave up (its request was cancelled) is not an error here.
        match self {
            Done::Append(reply, r) => drop(reply.send(pick(r, group_failed))),
            Done::Commit(reply, r) => drop(reply.send(pick(r, group_failed))),
            Done::Unit(reply, r) => drop(reply.send(pick(r, group_failed))),
            Done::Pruned(reply, r) => drop(reply.send(pick(r, group_failed))),
            Done::Admitted(reply, r) => drop(reply.send(pick(r, group_failed))),
        }
    }
}

impl Job {
    /// Answers without running (the transaction could not start, or broke).
    fn refuse(self, e: &StoreError) {
        match self {
            Job::Append(_, reply) => drop(reply.send(Err(e.clone()))),
            Job::Commit(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::Fail(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::AppendCommit(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::Load(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::Prune(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::Admit(_, reply) => drop(reply.send(Err(e.clone()))),
            Job::Order(_, _, reply) => drop(reply.send(Err(e.clone()))),
        }
    }

    fn run(self, tx: &mut WriterTx<'_>) -> Done {
        match self {
            Job::Append(entry, reply) => Done::Append(reply, write_tx::append(tx, &entry)),
            Job::Commit(seq, keys, reply) => Done::Commit(
                reply,
                run_now(commit::commit(tx, seq, Some(keys), codec::now())),
            ),
            Job::Fail(seq, reason, reply) => Done::Unit(reply, write_tx::fail(tx, seq, &reason)),
            // A failure rolls back to the savepoint: the entry goes with the change.
            Job::AppendCommit(entry, vendor, reply) => {
                let outcome = (|| {
                    let entry = *entry;
                    let seq = write_tx::append_committed(tx, &entry)?;
                    if let Vendor::Queued = vendor {
                        write_tx::enqueue(tx, seq, &entry)?;
                    }
                    run_now(commit::apply(
                        tx,
                        &entry.connector,
                        entry.kind,
                        entry.change,
                        vendor.keys(),
                        codec::now(),
                    ))
                })();
                Done::Commit(reply, outcome)
            }
            Job::Load(connector, resources, reply) => {
                Done::Unit(reply, run_now(commit::load(tx, &connector, &resources)))
            }
            Job::Prune(older_than, batch, reply) => {
                Done::Pruned(reply, write_tx::prune_batch(tx, &older_than, batch))
            }
            Job::Admit(ask, reply) => Done::Admitted(reply, ask.run(tx)),
            Job::Order(connector, order, reply) => Done::Unit(reply, order.run(tx, &connector)),
        }
    }
}

/// The handle to the writer thread.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Message>,
}

/// What the writer thread is sent.
enum Message {
    Write(Job),
    /// Finish the writes sent before, checkpoint, close the connection, end, then answer.
    Close(oneshot::Sender<()>),
}

fn stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl Writer {
    /// Opens the writer's connection to the database file at `path` (which must exist, in WAL
    /// mode, migrated) and starts the writer thread; it ends when the last handle goes.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> Result<Writer, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // FULL: a journal entry the gateway was told is durable survives a power cut.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        // Each write runs under a savepoint, whose undo copies of the pages it changes would
        // otherwise go to a temporary file: a write system call per page, for copies that
        // never outlive the transaction.
        conn.execute_batch("PRAGMA temp_store = MEMORY;")?;
        conn.busy_timeout(busy_timeout)?;
        // Checkpoints run beside the writer (see `checkpoint`); a WAL that has grown
        // (after a burst, or before the writer's own checkpoint) is cut back on restart.
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
            u64::from(WAL_LIMIT_PAGES) * 4096
        ))?;
        let checkpoints = Checkpoints::start(path, busy_timeout, WAL_LIMIT_PAGES)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let (jobs, queue) = mpsc::unbounded_channel::<Message>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, queue, checkpoints))
            .map_err(|e| StoreError::Backend(format!("cannot start the SQLite writer: {e}")))?;
        Ok(Writer { jobs })
    }

    async fn submit<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.jobs.send(Message::Write(job)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub(crate) async fn append(&self, entry: NewJournalEntry) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Append(Box::new(entry), reply), answer)
            .await
    }

    pub(crate) async fn commit(
        &self,
        seq: i64,
        vendor_keys: Value,
    ) -> Result<Option<StoredResource>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Commit(seq, vendor_keys, reply), answer)
            .await
    }

    pub(crate) async fn append_commit(
        &self,
        entry: NewJournalEntry,
        vendor: Vendor,
    ) -> Result<Option<StoredResource>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::AppendCommit(Box::new(entry), vendor, reply), answer)
            .await
    }

    pub(crate) async fn fail(&self, seq: i64, reason: &str) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Fail(seq, reason.to_owned(), reply), answer)
            .await
    }

    pub(crate) async fn load(
        &self,
        connector: &str,
        resources: Vec<StoredResource>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Load(connector.to_owned(), resources, reply), answer)
            .await
    }

    pub(crate) async fn prune_batch(
        &self,
        older_than: time::OffsetDateTime,
        batch: usize,
    ) -> Result<Pruned, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Prune(
            codec::timestamp_text(older_than),
            i64::try_from(batch).unwrap_or(i64::MAX),
            reply,
        );
        self.submit(job, answer).await
    }

    pub(crate) async fn admit(&self, ask: Ask) -> Result<Admission, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Admit(Box::new(ask), reply), answer).await
    }

    pub(crate) async fn order(&self, connector: &str, order: Order) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Order(connector.to_owned(), order, reply), answer)
            .await
    }

    /// Ends the writer once the writes sent before are done and the WAL is checkpointed;
    /// later writes fail.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.jobs.send(Message::Close(done)).is_ok() {
            // An error: the thread had ended already.
            let _ = closed.await;
        }
    }
}

/// The writer thread: takes the writes waiting, runs them as one group, until it is closed or
/// every handle is gone.
fn serve(
    mut conn: Connection,
    mut queue: mpsc::UnboundedReceiver<Message>,
    checkpoints: Checkpoints,
) {
    while let Some(first) = queue.blocking_recv() {
        let mut group = Vec::new();
        let mut close = None;
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Write(job) => group.push(job),
                Message::Close(done) => {
                    close = Some(done);
                    break;
                }
            }
            next = if group.len() < MAX_GROUP {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        if !group.is_empty() {
            run_group(&mut conn, group);
            checkpoints.committed();
            if checkpoints.take_behind()
                && let Err(e) = checkpoint::checkpoint(&conn)
            {
                tracing::warn!(error = %e, "the writer's WAL checkpoint failed");
            }
        }
        if let Some(done) = close {
            checkpoints.stop();
            truncate_wal(&conn);
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

/// Copies everything into the database file and empties the WAL, so that a file copied after
/// a graceful stop is whole without its `-wal`. The pragma reports a checkpoint it could not
/// finish (a reader of another connection still on an older snapshot) as `busy` rather than
/// as an error: it is tried again for a moment before giving up with a warning (the data is
/// safe in the WAL either way). Only the connection's own file (`main`): without a schema the
/// pragma would checkpoint every attached one too (the trail's connection attaches the store's).
pub(crate) fn truncate_wal(conn: &Connection) {
    const ATTEMPTS: u32 = 50;
    for attempt in 1..=ATTEMPTS {
        let busy: Result<i64, _> =
            conn.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |row| row.get(0));
        match busy {
            Ok(0) => return,
            Ok(_) if attempt < ATTEMPTS => std::thread::sleep(std::time::Duration::from_millis(10)),
            Ok(_) => tracing::warn!("the closing WAL checkpoint stayed busy; the WAL is kept"),
            Err(e) => {
                tracing::warn!(error = %e, "the closing WAL checkpoint failed");
                return;
            }
        }
    }
}

/// Runs one statement without parameters (transaction control), prepared once.
fn control(conn: &Connection, statement: &'static str) -> Result<(), StoreError> {
    conn.prepare_cached(statement)?.execute([])?;
    Ok(())
}

/// Runs one group in one transaction and answers every caller after the commit.
fn run_group(conn: &mut Connection, group: Vec<Job>) {
    // IMMEDIATE takes the write lock up front: no other connection (the queue's, another
    // process's) writes in between, and a busy database is waited for here, not mid-group.
    if let Err(e) = control(conn, "BEGIN IMMEDIATE") {
        for job in group {
            job.refuse(&e);
        }
        return;
    }
    let mut done = Vec::with_capacity(group.len());
    let mut broken: Option<StoreError> = None;
    for job in group {
        if let Some(e) = &broken {
            job.refuse(e);
            continue;
        }
        if let Err(e) = control(conn, "SAVEPOINT write") {
            job.refuse(&e);
            broken = Some(e);
            continue;
        }
        let outcome = job.run(&mut WriterTx(conn));
        let end = if outcome.is_ok() {
            control(conn, "RELEASE write")
        } else {
            control(conn, "ROLLBACK TO write").and_then(|()| control(conn, "RELEASE write"))
        };
        if let Err(e) = end {
            // The transaction is in an unknown state: nothing of it may be committed.
            broken = Some(e);
        }
        done.push(outcome);
    }
    let failed = match broken {
        Some(e) => Some(e),
        None => control(conn, "COMMIT").err(),
    };
    if let Some(e) = &failed {
        // Whatever is left of the transaction goes; the connection is clean for the next group.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        tracing::error!(error = %e, writes = done.len(), "a group of store writes did not commit");
    }
    for outcome in done {
        outcome.answer(failed.as_ref());
    }
}
