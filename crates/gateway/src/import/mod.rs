//! `scim-bridge import`: users from an HR system's export (CSV or JSON) through the same write
//! path as SCIM requests, to any connector. A user the store does not have is created; one it
//! has (by `userName`) gets the file's attributes as a path-less PATCH `replace`, so what the
//! file does not mention stays as it is. Rows run concurrently (a connector may batch them,
//! as TimeEdit does), and every row gets its own outcome.

mod deliveries;
mod parse;

use futures_util::StreamExt;
use futures_util::stream;
use scim::ResourceKind;
use serde_json::{Map, Value, json};

pub use deliveries::{DeliveryReport, Undelivered, wait_for_deliveries};
pub use parse::{ColumnMap, Format, ParseError, Row, parse};

use crate::error::ApiError;
use crate::reconcile::Progress;
use crate::writer::Writer;

/// Rows in flight at once.
pub const CONCURRENCY: usize = 32;

/// What happened to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        id: String,
    },
    Updated {
        id: String,
    },
    /// The store already held exactly this.
    Unchanged {
        id: String,
    },
    /// The row was refused; `status`, `scim_type` and `detail` are the SCIM error's.
    Failed {
        status: u16,
        scim_type: Option<String>,
        detail: String,
    },
}

/// One row's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    /// The row's line in the file (1 is the first line), or its position in a JSON array.
    pub line: usize,
    pub user_name: Option<String>,
    pub outcome: Outcome,
}

/// Counts of the outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(results: &[RowResult]) -> Summary {
        let mut summary = Summary::default();
        for r in results {
            match r.outcome {
                Outcome::Created { .. } => summary.created += 1,
                Outcome::Updated { .. } => summary.updated += 1,
                Outcome::Unchanged { .. } => summary.unchanged += 1,
                Outcome::Failed { .. } => summary.failed += 1,
            }
        }
        summary
    }
}

fn failed(e: ApiError) -> Outcome {
    Outcome::Failed {
        status: e.error.status,
        scim_type: e.error.scim_type.map(|t| t.as_str().to_owned()),
        detail: e.error.detail,
    }
}

/// Imports `rows` through `writer` (one connector), in the file's order
/// as far as concurrency allows; the results come back in the file's order.
pub async fn import(writer: &Writer, rows: Vec<Row>, progress: &dyn Progress) -> Vec<RowResult> {
    progress.phase("importing users", Some(rows.len() as u64));
    let mut results: Vec<RowResult> = stream::iter(rows)
        .map(|row| async move {
            let user_name = row
                .user
                .get("userName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let outcome = match row.error {
                Some(detail) => Outcome::Failed {
                    status: 400,
                    scim_type: Some("invalidSyntax".into()),
                    detail,
                },
                None => {
                    // The row's own request id: `<the run's>-<line>`.
                    let writer = match writer.request_id() {
                        Some(run) => &writer.for_request(format!("{run}-{}", row.line)),
                        None => writer,
                    };
                    import_one(writer, user_name.as_deref(), &row.user).await
                }
            };
            progress.advance(1);
            RowResult {
                line: row.line,
                user_name,
                outcome,
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    progress.done();
    results.sort_by_key(|r| r.line);
    results
}

async fn import_one(writer: &Writer, user_name: Option<&str>, user: &Value) -> Outcome {
    let Some(user_name) = user_name else {
        return Outcome::Failed {
            status: 400,
            scim_type: Some("invalidValue".into()),
            detail: "the row has no userName".into(),
        };
    };
    let existing = match writer.find_unique(ResourceKind::User, user_name).await {
        Ok(existing) => existing,
        Err(e) => return failed(e),
    };
    match existing {
        None => match writer.create(ResourceKind::User, user).await {
            Ok(stored) => Outcome::Created { id: stored.id },
            Err(e) => failed(e),
        },
        Some(current) => {
            let (id, before) = (current.id, current.version);
            let mut value: Map<String, Value> = user.as_object().cloned().unwrap_or_default();
            value.shift_remove("schemas");
            let patch = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": value}]
            });
            match writer.patch(ResourceKind::User, &id, &patch, None).await {
                Ok(stored) if stored.version == before => Outcome::Unchanged { id },
                Ok(_) => Outcome::Updated { id },
                Err(e) => failed(e),
            }
        }
    }
}
