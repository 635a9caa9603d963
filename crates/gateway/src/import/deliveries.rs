//! What became of the deliveries an import queued (a connector with `delivery = "queued"`
//! answers each row once the write is durable; the vendor sees it later). `import` waits for
//! them so that its exit status says whether the users reached the vendor, not only the store.

use std::ops::ControlFlow;
use std::time::Duration;

use store::{DeliveryState, QueueFilter, StoreError};

use crate::state::AppState;

/// Queue entries read per page while looking for an import's own.
const PAGE: usize = 500;

/// One delivery of the import that did not reach the vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undelivered {
    /// The SCIM id of the User.
    pub id: String,
    /// Why (the last error; `None` for one still waiting its first attempt).
    pub reason: Option<String>,
}

/// Where an import's deliveries stand when [`wait_for_deliveries`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Given up for good: an operator must retry or drop them (admin API).
    pub failed: Vec<Undelivered>,
    /// Still queued at the deadline: a worker keeps trying (with its last error, if any).
    pub waiting: Vec<Undelivered>,
}

impl DeliveryReport {
    /// Whether every delivery reached the vendor.
    pub fn all_delivered(&self) -> bool {
        self.failed.is_empty() && self.waiting.is_empty()
    }
}

/// The import's deliveries (journalled with `<run>-<line>` request ids, `run` being the
/// import's) of `connector` in `state`. Only the entries waiting or failed are read, never the
/// delivered history.
async fn undelivered(
    app: &AppState,
    connector: &str,
    run: &str,
    state: DeliveryState,
) -> Result<Vec<Undelivered>, StoreError> {
    let prefix = format!("{run}-");
    let mut found = Vec::new();
    let filter = QueueFilter {
        connector: Some(connector),
        state: Some(state),
        before_seq: None,
        limit: PAGE,
    };
    app.store
        .queue_each(filter, &mut |delivery| {
            let entry = &delivery.entry;
            if entry
                .request_id
                .as_deref()
                .is_some_and(|id| id.starts_with(&prefix))
            {
                found.push(Undelivered {
                    id: entry.change.id().to_owned(),
                    reason: delivery.last_error.clone(),
                });
            }
            ControlFlow::Continue(())
        })
        .await?;
    Ok(found)
}

/// Waits until none of the import's deliveries waits any more, or `deadline` passes, polling
/// every `poll`; a delivery worker must be running (the import's own, or a gateway's).
pub async fn wait_for_deliveries(
    app: &AppState,
    connector: &str,
    run: &str,
    deadline: Duration,
    poll: Duration,
) -> Result<DeliveryReport, StoreError> {
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let waiting = undelivered(app, connector, run, DeliveryState::Queued).await?;
        if waiting.is_empty() || tokio::time::Instant::now() >= until {
            let failed = undelivered(app, connector, run, DeliveryState::Failed).await?;
            return Ok(DeliveryReport { failed, waiting });
        }
        tokio::time::sleep(poll).await;
    }
}
