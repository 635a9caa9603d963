//! Connectors: each makes one vendor match what SCIM asked for (docs/architecture.md).
//!
//! A connector receives the resource before and after a change and returns the vendor keys it
//! used; it knows its vendor and the SCIM resource model, nothing of HTTP frameworks or the
//! store. This crate holds the [`Connector`] trait, the [`Registry`] of connector kinds, what
//! every vendor connector shares (outbound HTTP with retries and limits, the metadata cache,
//! secrets, status) and [`directory::Directory`], the connector without a vendor. Each vendor
//! has a crate of its own (`connector-mytimetable`, `connector-timeedit`,
//! `connector-workspace365`) that depends on this one.

pub mod directory;
pub mod http;
pub mod mapping;
pub mod metadata;
pub mod outbound;
pub mod registry;
pub mod secret;
pub mod status;
pub mod telemetry;
pub mod trail;

use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use scim::members::MemberDelta;
use scim::schema::Schema;
use serde_json::{Map, Value};

pub use directory::Directory;
pub use registry::{ConnectorFactory, Problem, Registry, SettingsFactory, unusable};
pub use secret::Secret;
pub use status::{ConnectorStatus, EndpointStatus, LimiterStatus};
pub use trail::{CallObserver, Context, VendorAttempt};

/// What a connector offers, reflected in `/ResourceTypes` and `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether Groups are offered.
    pub groups: bool,
    /// Whether a SCIM `password` reaches the vendor.
    pub change_password: bool,
}

/// One change for the vendor: the resource before (`None` for a create) and after (`None` for
/// a delete), as canonical SCIM attributes without `id` and `meta`. A Group's attributes never
/// hold its members: `members` says who joins and who leaves (on a delete, who it had), so
/// that a change of one member costs one member's calls at any group size.
#[derive(Debug, Clone, Copy)]
pub struct ResourceChange<'a> {
    pub kind: ResourceKind,
    pub id: &'a str,
    pub before: Option<&'a Map<String, Value>>,
    pub after: Option<&'a Map<String, Value>>,
    /// The members a Group gains and loses (empty for a User).
    pub members: &'a MemberDelta,
    /// The keys the previous change returned (an empty object at first).
    pub vendor_keys: &'a Value,
    /// Our request id, for the vendor's logs where it takes one.
    pub request_id: Option<&'a str>,
    /// The vendor keys of other resources of this connector (a Group's members).
    pub lookup: &'a dyn KeyLookup,
}

/// The vendor keys of a resource a connector keeps in the store only, reaching no vendor (a
/// TimeEdit Group the mapping gives no organization, with `unmapped_groups = "store_only"`).
/// The admin API lists the resources that have them.
pub fn store_only_keys() -> Value {
    serde_json::json!({"storeOnly": true})
}

/// Reads what the store keeps for other resources of the same connector: a Group change
/// names its members by SCIM id, and the vendor knows them by the keys their own changes
/// returned.
#[async_trait]
pub trait KeyLookup: Send + Sync + std::fmt::Debug {
    /// The vendor keys of a resource; `None` when it does not exist. A store that cannot
    /// answer is [`ConnectorError::Unavailable`]: the change must not go out half-resolved.
    async fn vendor_keys(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, ConnectorError>;
}

/// A [`KeyLookup`] that knows nothing (tests, and changes without references).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLookup;

#[async_trait]
impl KeyLookup for NoLookup {
    async fn vendor_keys(&self, _: ResourceKind, _: &str) -> Result<Option<Value>, ConnectorError> {
        Ok(None)
    }
}

/// Why a vendor did not take a change. The gateway maps each to one SCIM error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The vendor refused the input; the reason is the vendor's, for the SCIM client (400).
    #[error("the vendor refused the change: {reason}")]
    Rejected { reason: String },
    /// The change would alter what this connector's policy keeps fixed, such as a `userName`
    /// the vendor cannot rename (400 `mutability`).
    #[error("{reason}")]
    Immutable { reason: String },
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

    /// Whether `apply` acts outside the store (calls a vendor). When it does not, the gateway
    /// journals and commits a change in one step: no crash can fall between the two.
    fn has_vendor(&self) -> bool {
        true
    }

    /// How many independent writes may reach this connector at once (a Bulk request's creates
    /// run in waves of this size). Connectors that batch take more.
    fn concurrency(&self) -> usize {
        64
    }

    /// Refuses, before anything is journalled or sent, a change this connector will never
    /// make (a rename its policy forbids). Local and cheap: no vendor call.
    fn check(&self, change: &ResourceChange<'_>) -> Result<(), ConnectorError> {
        let _ = change;
        Ok(())
    }

    /// Makes the vendor match `change.after`; returns the vendor keys to keep. Must be safe
    /// to call again with the same change (a replay after a crash).
    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError>;

    /// Every vendor field of `kind` with its mapping rule and what `resource` gives it
    /// (`scim-bridge mapping preview`); empty for a connector without a mapping.
    fn mapped(
        &self,
        kind: ResourceKind,
        resource: &Map<String, Value>,
    ) -> Vec<mapping::MappedField> {
        let _ = (kind, resource);
        Vec::new()
    }

    /// The calls writing `resource` (of `kind`, SCIM id `id`) anew would make, each with what
    /// it carries, from the mapping alone: no vendor call is made (`scim-bridge mapping
    /// preview`). A refusal is what a write would meet. A connector without a vendor makes
    /// no call.
    fn preview(
        &self,
        kind: ResourceKind,
        id: &str,
        resource: &Map<String, Value>,
    ) -> Result<Vec<PlannedCall>, ConnectorError> {
        let _ = (kind, id, resource);
        Ok(Vec::new())
    }

    /// The live status of the vendor endpoints this connector calls, for the admin API: no
    /// vendor call is made. A connector without a vendor has no endpoints.
    fn status(&self) -> ConnectorStatus {
        ConnectorStatus::default()
    }

    /// Calls the vendor once with the cheapest harmless request it offers, to learn whether
    /// it answers and takes our credentials now; the call shows in [`Connector::status`].
    /// `Ok` for a connector without a vendor.
    async fn probe(&self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// What only the vendor can tell about the settings (`check-config --online`): that it
    /// answers and takes our credentials (by default, one [`Connector::probe`]), and, where a
    /// connector can ask, that it has what the settings name. Keys are relative to the
    /// connector's settings table; nothing is changed at the vendor (MyTimetable's type check
    /// is a write for a user no instance has, which creates nothing).
    async fn check_online(&self) -> Vec<Problem> {
        match self.probe().await {
            Ok(()) => Vec::new(),
            Err(e) => vec![probe_problem(&e)],
        }
    }

    /// One page of the accounts of `kind` the vendor has, for reconciliation: `cursor` is
    /// `None` for the first page and then the previous page's `next`.
    async fn list_accounts(
        &self,
        kind: ResourceKind,
        cursor: Option<&str>,
    ) -> Result<AccountPage, ConnectorError> {
        let _ = cursor;
        Err(ConnectorError::Unsupported(format!(
            "the {} connector cannot list the vendor's {kind}s",
            self.kind()
        )))
    }

    /// The vendor's account for one stored resource, `None` when the vendor has none: what
    /// the admin API's history shows beside the store, without listing every account.
    /// `name` is what [`Connector::account_name`] gives (else the unique attribute), and
    /// `stored_keys` the vendor keys the store holds, which may locate the account better.
    async fn read_account(
        &self,
        kind: ResourceKind,
        name: &str,
        stored_keys: &Value,
    ) -> Result<Option<VendorAccount>, ConnectorError> {
        let _ = (name, stored_keys);
        Err(ConnectorError::Unsupported(format!(
            "the {} connector cannot read one of the vendor's {kind}s",
            self.kind()
        )))
    }

    /// The name the vendor lists a stored resource under ([`VendorAccount::name`]), which
    /// reconciliation matches on, when the connector's mapping derives it (a login name from
    /// a UPN). `None` (the default): the resource's unique attribute (`userName`).
    fn account_name(
        &self,
        kind: ResourceKind,
        attributes: &Map<String, Value>,
        vendor_keys: &Value,
    ) -> Option<String> {
        let _ = (kind, attributes, vendor_keys);
        None
    }

    /// How the vendor's account differs from the keys the store holds for it (empty when they
    /// agree), one human-readable line per difference.
    fn compare(&self, stored_keys: &Value, account: &VendorAccount) -> Vec<String> {
        if *stored_keys == account.keys {
            Vec::new()
        } else {
            vec![format!(
                "the store has vendor keys {stored_keys}, the vendor has {}",
                account.keys
            )]
        }
    }
}

/// What a failed probe means for the settings that made it, with a fix.
pub fn probe_problem(e: &ConnectorError) -> Problem {
    match e {
        ConnectorError::Unauthorized { reason } => Problem::new(
            "",
            format!("the vendor refused scim-bridge's credentials: {reason}"),
            "check the token, key or password in this table (or its _file), and that the account may use the API",
        ),
        ConnectorError::Unavailable { reason, .. } => Problem::new(
            "",
            format!("the vendor cannot be reached: {reason}"),
            "check the URL in this table, the network between scim-bridge and the vendor, and the vendor's status",
        ),
        other => Problem::new(
            "",
            format!("the vendor refused the check: {other}"),
            "check the URL and environment in this table against the vendor's",
        ),
    }
}

/// One vendor call a write would make, as [`Connector::preview`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedCall {
    /// The call, e.g. `importUsers` or `PUT https://…/Users/{objectId}/`.
    pub call: String,
    /// What it carries, as the vendor receives it; empty for a call without a body. Secrets
    /// are shown as `***`.
    pub body: String,
}

impl PlannedCall {
    pub fn new(call: impl Into<String>, body: impl Into<String>) -> PlannedCall {
        PlannedCall {
            call: call.into(),
            body: body.into(),
        }
    }
}

/// One account as the vendor lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorAccount {
    /// The SCIM unique key the account corresponds to (`userName` for a User).
    pub name: String,
    /// The vendor keys the connector would keep for it.
    pub keys: Value,
}

/// A page of [`VendorAccount`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountPage {
    pub accounts: Vec<VendorAccount>,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
    /// How many accounts there are in all, when the vendor says.
    pub total: Option<u64>,
}
