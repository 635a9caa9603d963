//! Connectors: each makes one vendor match what SCIM asked for (DESIGN.md "Architecture").
//!
//! A connector receives the resource before and after a change and returns the vendor keys it
//! used; it knows its vendor and the SCIM resource model, nothing of HTTP frameworks or the
//! store. [`directory::Directory`] is the connector without a vendor.

pub mod directory;
pub mod http;
pub mod timeedit;

use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use scim::schema::Schema;
use serde_json::{Map, Value};

pub use directory::Directory;

/// What a connector offers, reflected in `/ResourceTypes` and `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether Groups are offered.
    pub groups: bool,
    /// Whether a SCIM `password` reaches the vendor.
    pub change_password: bool,
}

/// One change for the vendor: the resource before (`None` for a create) and after (`None` for
/// a delete), as canonical SCIM attributes without `id` and `meta`.
#[derive(Debug, Clone, Copy)]
pub struct ResourceChange<'a> {
    pub kind: ResourceKind,
    pub id: &'a str,
    pub before: Option<&'a Map<String, Value>>,
    pub after: Option<&'a Map<String, Value>>,
    /// The keys the previous change returned (an empty object at first).
    pub vendor_keys: &'a Value,
    /// Our request id, for the vendor's logs where it takes one.
    pub request_id: Option<&'a str>,
}

/// Why a vendor did not take a change. The gateway maps each to one SCIM error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The vendor refused the input; the reason is the vendor's, for the SCIM client (400).
    #[error("the vendor refused the change: {reason}")]
    Rejected { reason: String },
    /// The vendor already has a conflicting account (409 `uniqueness`).
    #[error("the vendor reports a conflict: {reason}")]
    Conflict { reason: String },
    /// The vendor is down, slow or throttling us; try again later (503 + `Retry-After`).
    #[error("the vendor is unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The vendor refused our credentials: an operator must act; never retried (502).
    #[error("the vendor refused scim-bridge's credentials: {reason}")]
    Unauthorized { reason: String },
    /// The connector does not offer this (e.g. Groups) (501).
    #[error("{0}")]
    Unsupported(String),
}

/// Makes one vendor match SCIM.
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The config `kind` (`"directory"`, `"mytimetable"`, …).
    fn kind(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Extension schemas this connector publishes, per resource kind.
    fn extensions(&self) -> Vec<(ResourceKind, Schema)> {
        Vec::new()
    }

    /// Makes the vendor match `change.after`; returns the vendor keys to keep. Must be safe
    /// to call again with the same change (a replay after a crash).
    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError>;
}
