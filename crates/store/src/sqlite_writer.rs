//! Group commit for SQLite. SQLite has one writer at a time, and with `synchronous=FULL`
//! (nothing accepted may be lost, not even at a power cut) every transaction waits for an
//! fsync. Writing each journal entry and each commit in a transaction of its own caps the
//! gateway at a few hundred writes per second. So every write goes to one writer task, which
//! runs all the writes waiting at that moment in one transaction, each under its own savepoint
//! (one write's failure undoes only that write), commits once, and only then answers each
//! caller: an answer still means "durable".
//!
//! Nothing waits to form a group: a write that finds the writer idle is committed at once;
//! writes that arrive during a commit form the next group.

use serde_json::Value;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::sqlite::{SqliteTx, append_in, fail_in};
use crate::sqlite_queue::enqueue_in;
use crate::{NewJournalEntry, StoreError, StoredResource, codec, commit};

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
}

/// Where the vendor stands in a write journalled and committed in one step.
pub(crate) enum Vendor {
    /// Done already (or there is none): the resource takes these keys.
    Done(Value),
    /// Queued: the resource keeps its keys and the delivery is queued.
    Queued,
}

/// A write done inside the open transaction, its answer held until the group commits.
enum Done {
    Append(Reply<i64>, Result<i64, StoreError>),
    Commit(
        Reply<Option<StoredResource>>,
        Result<Option<StoredResource>, StoreError>,
    ),
    Fail(Reply<()>, Result<(), StoreError>),
}

impl Done {
    fn is_ok(&self) -> bool {
        match self {
            Done::Append(_, r) => r.is_ok(),
            Done::Commit(_, r) => r.is_ok(),
            Done::Fail(_, r) => r.is_ok(),
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
            Done::Fail(reply, r) => drop(reply.send(pick(r, group_failed))),
        }
    }
}

impl Job {
    /// Answers without running (the transaction could not start).
    fn refuse(self, e: &StoreError) {
        match self {
            Job::Append(_, reply) => drop(reply.send(Err(e.clone()))),
            Job::Commit(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::Fail(_, _, reply) => drop(reply.send(Err(e.clone()))),
            Job::AppendCommit(_, _, reply) => drop(reply.send(Err(e.clone()))),
        }
    }

    async fn run(self, tx: &mut SqliteTx) -> Done {
        match self {
            Job::Append(entry, reply) => Done::Append(reply, append_in(tx, &entry).await),
            Job::Commit(seq, keys, reply) => Done::Commit(
                reply,
                commit::commit(tx, seq, Some(keys), codec::now()).await,
            ),
            Job::Fail(seq, reason, reply) => Done::Fail(reply, fail_in(tx, seq, &reason).await),
            // A failure rolls back to the savepoint: the entry goes with the change.
            Job::AppendCommit(entry, vendor, reply) => {
                let outcome = async {
                    let seq = append_in(tx, &entry).await?;
                    match vendor {
                        Vendor::Done(keys) => {
                            commit::commit(tx, seq, Some(keys), codec::now()).await
                        }
                        Vendor::Queued => {
                            let stored = commit::commit(tx, seq, None, codec::now()).await?;
                            enqueue_in(tx, seq, &entry).await?;
                            Ok(stored)
                        }
                    }
                }
                .await;
                Done::Commit(reply, outcome)
            }
        }
    }
}

/// The handle to the writer task.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl Writer {
    /// Starts the writer task on the current tokio runtime; it ends when the last handle goes.
    pub(crate) fn spawn(pool: SqlitePool) -> Writer {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match queue.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                run_group(&pool, group).await;
            }
        });
        Writer { jobs }
    }

    async fn submit<T>(
        &self,
        job: Job,
        answer: oneshot::Receiver<Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.jobs.send(job).map_err(|_| stopped())?;
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
}

async fn savepoint(tx: &mut SqliteTx, statement: &'static str) -> Result<(), StoreError> {
    sqlx::query(statement).execute(&mut *tx.0).await?;
    Ok(())
}

/// Runs one group in one transaction and answers every caller after the commit.
async fn run_group(pool: &SqlitePool, group: Vec<Job>) {
    // IMMEDIATE takes the write lock up front (see `SqliteStore::commit`).
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => SqliteTx(tx),
        Err(e) => {
            let e = StoreError::from(e);
            for job in group {
                job.refuse(&e);
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(group.len());
    let mut broken: Option<StoreError> = None;
    for job in group {
        if let Some(e) = &broken {
            job.refuse(e);
            continue;
        }
        if let Err(e) = savepoint(&mut tx, "SAVEPOINT write").await {
            job.refuse(&e);
            broken = Some(e);
            continue;
        }
        let outcome = job.run(&mut tx).await;
        let end = if outcome.is_ok() {
            savepoint(&mut tx, "RELEASE write").await
        } else {
            match savepoint(&mut tx, "ROLLBACK TO write").await {
                Ok(()) => savepoint(&mut tx, "RELEASE write").await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = end {
            // The transaction is in an unknown state: nothing of it may be committed.
            broken = Some(e);
        }
        done.push(outcome);
    }
    let failed = match broken {
        Some(e) => {
            let _ = tx.0.rollback().await;
            Some(e)
        }
        None => tx.0.commit().await.err().map(StoreError::from),
    };
    if let Some(e) = &failed {
        tracing::error!(error = %e, writes = done.len(), "a group of store writes did not commit");
    }
    for outcome in done {
        outcome.answer(failed.as_ref());
    }
}
