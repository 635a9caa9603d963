//! Batching: `validateUsers` and `importUsers` take many users per call, so writes that arrive
//! together (a `/Bulk` request, an import, a burst of creates) are sent together. Each writer
//! still gets its own user's Status back.
//!
//! One task per operation collects the submitted users. When no batch is in flight it sends
//! what is there at once (an idle vendor adds no delay); while batches are in flight it waits
//! up to `linger` for the batch to fill (several batches may be in flight). Writes to one user
//! are already serialised by the gateway, so one user is never in two batches at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::{TeUser, UserStatus};
use connector::ConnectorError;

/// Batches in flight at once, per operation.
pub(crate) const MAX_IN_FLIGHT: usize = 4;

/// Sends one batch; the answer has one Status per user, in order.
pub type BatchCall = Arc<
    dyn Fn(
            Vec<TeUser>,
        ) -> Pin<Box<dyn Future<Output = Result<Vec<UserStatus>, ConnectorError>> + Send>>
        + Send
        + Sync,
>;

struct Job {
    user: TeUser,
    reply: oneshot::Sender<Result<UserStatus, ConnectorError>>,
}

/// A queue in front of one batched operation.
#[derive(Debug, Clone)]
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("user", &self.user.key())
            .finish()
    }
}

impl Batcher {
    /// Starts the collecting task on the current tokio runtime.
    pub fn spawn(size: usize, linger: Duration, call: BatchCall) -> Batcher {
        let size = size.max(1);
        let (jobs, mut queue) = mpsc::channel::<Job>(size * MAX_IN_FLIGHT * 2);
        let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < size {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                // With nothing in flight the vendor is idle: send now. Otherwise writes are
                // arriving faster than calls finish: wait a little for the batch to fill.
                let busy = in_flight.available_permits() < MAX_IN_FLIGHT;
                if busy {
                    let deadline = tokio::time::Instant::now() + linger;
                    while batch.len() < size {
                        match tokio::time::timeout_at(deadline, queue.recv()).await {
                            Ok(Some(job)) => batch.push(job),
                            _ => break,
                        }
                    }
                }
                let Ok(permit) = in_flight.clone().acquire_owned().await else {
                    break;
                };
                let call = call.clone();
                tokio::spawn(async move {
                    send(&call, batch).await;
                    drop(permit);
                });
            }
        });
        Batcher { jobs }
    }

    /// Submits one user and waits for its Status.
    pub async fn submit(&self, user: TeUser) -> Result<UserStatus, ConnectorError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || ConnectorError::Unavailable {
            reason: "the TimeEdit batch queue has stopped".into(),
            retry_after: None,
        };
        self.jobs
            .send(Job { user, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Sends a batch and hands each job its Status (or the batch's error).
async fn send(call: &BatchCall, batch: Vec<Job>) {
    let users: Vec<TeUser> = batch.iter().map(|j| j.user.clone()).collect();
    match call(users).await {
        Ok(statuses) if statuses.len() == batch.len() => {
            for (job, status) in batch.into_iter().zip(statuses) {
                let _ = job.reply.send(Ok(status));
            }
        }
        Ok(statuses) => {
            let e = ConnectorError::Unavailable {
                reason: format!(
                    "TimeEdit answered {} statuses for {} users",
                    statuses.len(),
                    batch.len()
                ),
                retry_after: None,
            };
            for job in batch {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            for job in batch {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::{StatusCode, UserKey};

    fn recording(sizes: Arc<Mutex<Vec<usize>>>) -> BatchCall {
        Arc::new(move |users: Vec<TeUser>| {
            let sizes = sizes.clone();
            Box::pin(async move {
                sizes.lock().map(|mut s| s.push(users.len())).ok();
                Ok(users
                    .iter()
                    .map(|u| UserStatus {
                        key: UserKey::new(u.loginname.clone(), u.authserver.clone()),
                        code: StatusCode::Ok,
                        message: String::new(),
                    })
                    .collect())
            })
        })
    }

    #[tokio::test]
    async fn writes_that_arrive_together_share_a_call_and_each_gets_its_status() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let batcher = Batcher::spawn(10, Duration::from_millis(50), recording(sizes.clone()));
        let submits: Vec<_> = (0..25)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(
                    async move { batcher.submit(TeUser::new(format!("u{i}"), "te")).await },
                )
            })
            .collect();
        let mut names = Vec::new();
        for handle in submits {
            let status = handle.await.expect("joined").expect("status");
            names.push(status.key.loginname);
        }
        assert_eq!(names, (0..25).map(|i| format!("u{i}")).collect::<Vec<_>>());
        let sizes = sizes.lock().expect("sizes").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 25);
        assert!(sizes.iter().all(|s| *s <= 10), "{sizes:?}");
        assert!(sizes.len() <= 4, "batched, not one call each: {sizes:?}");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_writer() {
        let call: BatchCall = Arc::new(|_| {
            Box::pin(async {
                Err(ConnectorError::Unavailable {
                    reason: "down".into(),
                    retry_after: None,
                })
            })
        });
        let batcher = Batcher::spawn(10, Duration::from_millis(1), call);
        let e = batcher
            .submit(TeUser::new("a", "te"))
            .await
            .expect_err("fails");
        assert!(matches!(e, ConnectorError::Unavailable { .. }));
    }
}
