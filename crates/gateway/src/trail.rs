//! The trail of each write (docs/architecture.md "The trail"): the inbound request (who, what,
//! the answer, how long) and every vendor call attempt it caused, kept by request id beside
//! the journal entries of that request and pruned with them.
//!
//! Recording never waits for the store: a record goes into a bounded channel and a writer task
//! keeps whatever has gathered meanwhile in one `trail_append` (on SQLite, in a file and by a
//! thread of its own, apart from the store's writer). When the channel is full the record is dropped and counted in
//! `scim_trail_dropped_total`; the write itself is never held up. No body is ever recorded,
//! so no password or vendor credential can be.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use connector::{CallObserver, VendorAttempt};
use serde_json::json;
use store::{Store, TrailRecord};
use tokio::sync::{Notify, mpsc, oneshot};

/// Records waiting for the writer at most; beyond, new ones are dropped.
const CAPACITY: usize = 65_536;
/// At most this many records in one append.
const BATCH: usize = 1_024;
/// How long the writer gathers records after the first before it appends them. Under load
/// this turns one append per write into one per linger; a record is in the history this much
/// later at most.
const LINGER: Duration = Duration::from_millis(50);

enum Message {
    Record(TrailRecord),
    /// Everything sent before is kept; then the sender hears back.
    Flush(oneshot::Sender<()>),
}

/// Where the gateway's trail records go. Cheap to share: connectors hold it as their
/// [`CallObserver`].
#[derive(Debug)]
pub struct TrailRecorder {
    sender: mpsc::Sender<Message>,
    /// Wakes the writer from its linger when someone waits for a flush.
    flushing: Arc<Notify>,
    /// Whether a dropped record was logged already (once is enough to see the cause).
    warned: AtomicBool,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Record(_) => "Record",
            Message::Flush(_) => "Flush",
        })
    }
}

/// An inbound write, as the trail keeps it.
#[derive(Debug, Clone)]
pub struct InboundRecord<'a> {
    pub request_id: &'a str,
    pub connector: &'a str,
    /// The credential's subject (`sha256:…` prefix, a JWT `sub`, a Basic user), never the
    /// credential.
    pub principal: Option<&'a str>,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration: Duration,
}

impl TrailRecorder {
    /// A recorder whose writer task keeps records in `store` (on the current runtime).
    pub fn start(store: Arc<dyn Store>) -> Arc<TrailRecorder> {
        let (sender, receiver) = mpsc::channel(CAPACITY);
        let flushing = Arc::new(Notify::new());
        tokio::spawn(write(store, receiver, Arc::clone(&flushing)));
        Arc::new(TrailRecorder {
            sender,
            flushing,
            warned: AtomicBool::new(false),
        })
    }

    /// Records an inbound write.
    pub fn request(&self, inbound: InboundRecord<'_>) {
        let at = time::OffsetDateTime::now_utc()
            - time::Duration::try_from(inbound.duration).unwrap_or_default();
        self.push(TrailRecord {
            request_id: inbound.request_id.to_owned(),
            at,
            record: json!({
                "type": "request",
                "at": rfc3339(at),
                "connector": inbound.connector,
                "principal": inbound.principal,
                "method": inbound.method,
                "path": inbound.path,
                "status": inbound.status,
                "durationMs": millis(inbound.duration),
            }),
        });
    }

    /// Waits until every record sent so far is kept (or the writer is gone).
    pub async fn flush(&self) {
        let (done, kept) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            self.flushing.notify_one();
            let _ = kept.await;
        }
    }

    fn push(&self, record: TrailRecord) {
        if self.sender.try_send(Message::Record(record)).is_err() {
            metrics::counter!("scim_trail_dropped_total").increment(1);
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "trail records are being dropped: the store does not keep up (see scim_trail_dropped_total)"
                );
            }
        }
    }
}

impl CallObserver for TrailRecorder {
    fn attempt(&self, attempt: VendorAttempt) {
        self.push(TrailRecord {
            record: json!({
                "type": "vendor",
                "at": rfc3339(attempt.at),
                "connector": attempt.connector,
                "endpoint": attempt.endpoint,
                "call": attempt.call,
                "method": attempt.method,
                "path": attempt.path,
                "status": attempt.status,
                "durationMs": millis(attempt.duration),
                "attempt": attempt.attempt,
                "vendorRequestId": attempt.vendor_request_id,
                "outcome": attempt.outcome.as_str(),
            }),
            request_id: attempt.request_id,
            at: attempt.at,
        });
    }
}

/// The writer task: from a first record, whatever gathers within [`LINGER`] (or until someone
/// waits for a flush) goes in appends of at most [`BATCH`].
///
/// It sleeps through the linger and then takes what gathered, rather than waiting for each
/// record as it comes: under load that would wake the task, and set a timer, once per record.
async fn write(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<Message>,
    flushing: Arc<Notify>,
) {
    let mut batch = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut next = Some(first);
        if matches!(next, Some(Message::Record(_))) {
            // A flush asked for meanwhile ends the linger early.
            let _ = tokio::time::timeout(LINGER, flushing.notified()).await;
        }
        while let Some(message) = next.take() {
            match message {
                Message::Record(record) => batch.push(record),
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() >= BATCH {
                append(store.as_ref(), &mut batch).await;
            }
            next = receiver.try_recv().ok();
        }
        append(store.as_ref(), &mut batch).await;
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn append(store: &dyn Store, batch: &mut Vec<TrailRecord>) {
    if !batch.is_empty()
        && let Err(e) = store.trail_append(std::mem::take(batch)).await
    {
        tracing::warn!(error = %e, "trail records could not be kept");
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
