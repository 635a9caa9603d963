//! Reconciliation (`scim-bridge reconcile`): what the store holds for a connector against what
//! the vendor lists, account by account, and optionally the import of vendor accounts the
//! store lacks. Imports go through the journal like any write, but make no vendor call: the
//! account is already there. [`check_account`] does the same comparison for one resource (the
//! admin API's history with `vendor=true`).

use std::collections::HashMap;

use connector::{Connector, ConnectorError, VendorAccount};
use scim::filter::Filter;
use scim::{ResourceKind, UnknownAttributes, validate_resource};
use serde_json::{Map, Value, json};
use store::{Change, ListQuery, NewJournalEntry, StoreError, StoredResource};

use crate::state::AppState;

pub mod report;

pub use report::{Drift, Report};

/// Store pages are read this many resources at a time.
const PAGE: usize = 1000;

/// Where a long run reports how far it is (a progress bar on a terminal).
pub trait Progress {
    /// A new phase of `total` steps (unknown when `None`).
    fn phase(&self, name: &str, total: Option<u64>);
    fn advance(&self, steps: u64);
    fn done(&self);
}

/// No progress reporting (tests, scripts).
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn done(&self) {}
}

/// Why a reconciliation could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("no connector is named \"{0}\" in the configuration")]
    UnknownConnector(String),
    #[error("the vendor: {0}")]
    Vendor(#[from] ConnectorError),
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error("importing {name}: {reason}")]
    Import { name: String, reason: String },
}

/// Compares every resource kind the connector offers; imports vendor-only accounts when
/// `import` is set.
pub async fn reconcile(
    state: &AppState,
    connector: &str,
    import: bool,
    progress: &dyn Progress,
) -> Result<Report, ReconcileError> {
    let runtime = state
        .connectors
        .get(connector)
        .ok_or_else(|| ReconcileError::UnknownConnector(connector.to_owned()))?;
    let mut report = Report::default();
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let Some(schema) = runtime.schema(kind) else {
            continue;
        };

        // The vendor's accounts, by their unique name (compared case-insensitively).
        progress.phase(&format!("listing the vendor's {kind}s"), None);
        let mut vendor: HashMap<String, VendorAccount> = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = runtime
                .connector
                .list_accounts(kind, cursor.as_deref())
                .await?;
            if cursor.is_none() {
                progress.phase(&format!("listing the vendor's {kind}s"), page.total);
            }
            progress.advance(page.accounts.len() as u64);
            for account in page.accounts {
                vendor.insert(account.name.to_lowercase(), account);
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        report.at_vendor += vendor.len();

        // The store's resources, page by page, each matched with its account.
        let mut offset = 0;
        loop {
            let page = state
                .store
                .list(
                    &runtime.name,
                    kind,
                    ListQuery {
                        filter: None::<&Filter>,
                        schema,
                        sort: None,
                        offset,
                        limit: PAGE,
                    },
                )
                .await?;
            if offset == 0 {
                progress.phase(
                    &format!("comparing stored {kind}s"),
                    Some(page.total as u64),
                );
            }
            progress.advance(page.resources.len() as u64);
            let n = page.resources.len();
            for stored in page.resources {
                let name = unique_name(kind, &stored.attributes);
                let account_name = account_name(runtime.connector.as_ref(), &stored);
                report.stored += 1;
                match vendor.remove(&account_name.to_lowercase()) {
                    None => report.drift.push(Drift::MissingAtVendor {
                        kind,
                        id: stored.id,
                        name,
                    }),
                    Some(account) => {
                        let differences = runtime.connector.compare(&stored.vendor_keys, &account);
                        if differences.is_empty() {
                            report.in_sync += 1;
                        } else {
                            report.drift.push(Drift::Differs {
                                kind,
                                id: stored.id,
                                name,
                                differences,
                            });
                        }
                    }
                }
            }
            if n < PAGE {
                break;
            }
            offset += n;
        }

        // What is left exists only at the vendor.
        let mut only: Vec<VendorAccount> = vendor.into_values().collect();
        only.sort_by(|a, b| a.name.cmp(&b.name));
        if import && !only.is_empty() {
            progress.phase(&format!("importing {kind}s"), Some(only.len() as u64));
        }
        for account in only {
            let imported_as = if import {
                let id = import_account(state, &runtime.name, schema, kind, &account).await?;
                progress.advance(1);
                Some(id)
            } else {
                None
            };
            report.drift.push(Drift::OnlyAtVendor {
                kind,
                name: account.name,
                imported_as,
            });
        }
    }
    progress.done();
    Ok(report)
}

/// The resource's unique attribute (`userName`, a Group's `displayName`).
fn unique_name(kind: ResourceKind, attributes: &Map<String, Value>) -> String {
    attributes
        .get(kind.unique_attribute())
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The name the vendor knows a stored resource by: the one the connector's mapping derives (a
/// login name), else its unique attribute.
fn account_name(connector: &dyn Connector, stored: &StoredResource) -> String {
    connector
        .account_name(stored.kind, &stored.attributes, &stored.vendor_keys)
        .unwrap_or_else(|| unique_name(stored.kind, &stored.attributes))
}

/// One stored resource against what the vendor holds for it now.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountCheck {
    /// The vendor's account; `None` when it has none.
    pub account: Option<VendorAccount>,
    /// How the two differ, one line each; empty when they agree.
    pub differences: Vec<String>,
}

impl AccountCheck {
    pub fn in_sync(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Reconciles one resource (the admin API's history with `vendor=true`): the vendor's account
/// read by the name reconciliation would match it on, compared as reconciliation compares.
pub async fn check_account(
    connector: &dyn Connector,
    stored: &StoredResource,
) -> Result<AccountCheck, ConnectorError> {
    let name = account_name(connector, stored);
    let account = connector
        .read_account(stored.kind, &name, &stored.vendor_keys)
        .await?;
    let differences = match &account {
        Some(account) => connector.compare(&stored.vendor_keys, account),
        None => vec![format!("the vendor has no account \"{name}\"")],
    };
    Ok(AccountCheck {
        account,
        differences,
    })
}

/// Journals and commits a resource for a vendor account, with the vendor's keys.
async fn import_account(
    state: &AppState,
    connector: &str,
    schema: &scim::ResourceSchema,
    kind: ResourceKind,
    account: &VendorAccount,
) -> Result<String, ReconcileError> {
    let failed = |reason: String| ReconcileError::Import {
        name: account.name.clone(),
        reason,
    };
    let body = json!({
        "schemas": [schema.core.id],
        kind.unique_attribute(): account.name,
    });
    let attributes = validate_resource(schema, &body, UnknownAttributes::Reject)
        .map_err(|e| failed(e.to_string()))?;
    let id = uuid::Uuid::new_v4().to_string();
    let seq = state
        .store
        .journal_append(NewJournalEntry {
            connector: connector.to_owned(),
            kind,
            change: Change::Create {
                id: id.clone(),
                attributes,
                members: store::MemberDelta::default(),
            },
            before: None,
            request_id: Some(format!("reconcile-import-{id}")),
        })
        .await?;
    let committed = state.store.commit(seq, account.keys.clone()).await;
    state.cache.invalidate(connector);
    match committed {
        Ok(_) => Ok(id),
        Err(e) => {
            state.store.journal_fail(seq, &e.to_string()).await?;
            Err(failed(e.to_string()))
        }
    }
}
