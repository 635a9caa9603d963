//! What the service holds while it runs: the store, and one [`ConnectorRuntime`] per configured
//! connector with everything a request to it needs.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use connector::{Connector, Registry};
use scim::bulk::BulkLimits;
use scim::config::{AuthenticationScheme, ServiceProviderConfig};
use scim::filter::FilterLimits;
use scim::{QueryLimits, ResourceKind, ResourceSchema, SchemaRegistry, UnknownAttributes};
use store::Store;
use tokio::sync::{Mutex, MutexGuard};

use crate::auth::Authenticator;
use crate::config::{Config, ConnectorConfig, DeliveryMode, UnknownAttributesPolicy};

/// Writes to one resource are serialised within a process by one of these striped locks
/// (bounded memory, no clean-up); the store's version check covers other processes.
const WRITE_LOCK_STRIPES: usize = 1024;

/// Shared state of the service.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Read answers, invalidated by every write.
    pub cache: crate::cache::ResponseCache,
    pub connectors: HashMap<String, Arc<ConnectorRuntime>>,
    pub public_url: String,
    pub max_body_bytes: usize,
    /// Queued deliveries: the worker's identity and wake-up call.
    pub queue: crate::delivery::Queue,
    /// Who may use `/admin`; `None` when no credential is configured (the API is off).
    pub admin: Option<Authenticator>,
    /// The last reconciliation the admin API ran, per connector, and when it finished.
    pub reconciliations: Mutex<HashMap<String, (time::OffsetDateTime, crate::reconcile::Report)>>,
}

/// One connector, ready to serve.
pub struct ConnectorRuntime {
    pub name: String,
    pub connector: Arc<dyn Connector>,
    pub registry: SchemaRegistry,
    users: ResourceSchema,
    groups: Option<ResourceSchema>,
    pub authenticator: Authenticator,
    pub service_provider_config: ServiceProviderConfig,
    pub unknown_attributes: UnknownAttributes,
    pub query_limits: QueryLimits,
    pub bulk_limits: BulkLimits,
    /// Inbound request quotas.
    pub limits: crate::limits::InboundLimits,
    /// When writes reach the vendor.
    pub delivery: DeliveryMode,
    write_locks: Vec<Mutex<()>>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration problems:\n{0}")]
    Config(String),
    #[error("connector {name}: {reason}")]
    Connector { name: String, reason: String },
    #[error("store: {0}")]
    Store(#[from] store::StoreError),
}

impl ConnectorRuntime {
    /// Builds a connector's runtime from its configuration.
    pub async fn new(
        name: &str,
        config: &ConnectorConfig,
        registry: &Registry,
        limits: &crate::config::ScimConfig,
    ) -> Result<ConnectorRuntime, StartError> {
        let error = |reason: String| StartError::Connector {
            name: name.into(),
            reason,
        };
        let factory = registry
            .get(&config.kind)
            .ok_or_else(|| error(format!("unknown connector kind \"{}\"", config.kind)))?;
        if let Some(table) = factory.settings_table()
            && !config.settings.contains_key(table)
        {
            return Err(error(format!(
                "the [connectors.{name}.{table}] settings table is missing"
            )));
        }
        let connector: Arc<dyn Connector> = factory
            .build(config.kind_settings(registry))
            .map_err(|e| error(e.to_string()))?;
        let capabilities = connector.capabilities();
        let mut registry = SchemaRegistry::standard();
        if !capabilities.groups {
            registry.retain_resource_types(&["User"]);
        }
        for (kind, schema) in connector.extensions() {
            registry
                .register_extension(kind.as_str(), schema, false)
                .map_err(|e| error(e.to_string()))?;
        }
        let users = registry
            .resource_schema("User")
            .ok_or_else(|| error("the User resource type is missing".into()))?;
        let groups = registry.resource_schema("Group");
        let authenticator = Authenticator::new(&config.auth)
            .await
            .map_err(|e| error(e.to_string()))?;
        let page_limits = QueryLimits {
            default_count: limits.default_count,
            max_count: limits.max_results,
            filter: FilterLimits {
                max_len: limits.max_filter_bytes,
                ..FilterLimits::default()
            },
        };
        let bulk_limits = BulkLimits {
            max_operations: limits.bulk_max_operations,
            max_payload_size: limits.bulk_max_payload_bytes,
        };
        let mut schemes = Vec::new();
        if !config.auth.bearer_token_hashes.is_empty() || config.auth.jwt.is_some() {
            schemes.push(AuthenticationScheme {
                kind: "oauthbearertoken".into(),
                name: "Bearer token".into(),
                description:
                    "A token minted by `scim-bridge token`, or a JWT, in the Authorization header"
                        .into(),
                primary: true,
            });
        }
        if !config.auth.basic.is_empty() {
            schemes.push(AuthenticationScheme {
                kind: "httpbasic".into(),
                name: "HTTP Basic".into(),
                description: "A user name and password in the Authorization header".into(),
                primary: schemes.is_empty(),
            });
        }
        let service_provider_config = ServiceProviderConfig {
            documentation_uri: None,
            patch: true,
            bulk: Some(bulk_limits),
            filter: Some(page_limits),
            change_password: capabilities.change_password,
            sort: true,
            etag: true,
            authentication_schemes: schemes,
        };
        Ok(ConnectorRuntime {
            name: name.to_owned(),
            connector,
            registry,
            users,
            groups,
            authenticator,
            service_provider_config,
            unknown_attributes: match config.unknown_attributes {
                UnknownAttributesPolicy::Reject => UnknownAttributes::Reject,
                UnknownAttributesPolicy::Ignore => UnknownAttributes::Ignore,
            },
            query_limits: page_limits,
            bulk_limits,
            limits: crate::limits::InboundLimits::new(&config.rate_limit),
            delivery: config.delivery,
            write_locks: (0..WRITE_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The schema of a resource kind, or `None` when the connector does not offer it.
    pub fn schema(&self, kind: ResourceKind) -> Option<&ResourceSchema> {
        match kind {
            ResourceKind::User => Some(&self.users),
            ResourceKind::Group => self.groups.as_ref(),
        }
    }

    /// Holds off other writes to the same resource in this process.
    pub async fn lock_resource(&self, kind: ResourceKind, id: &str) -> MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (kind, id).hash(&mut hasher);
        let stripe = (hasher.finish() % self.write_locks.len() as u64) as usize;
        self.write_locks[stripe].lock().await
    }
}

impl AppState {
    /// Opens the store and builds every connector, each by its kind's factory in `registry`.
    pub async fn new(config: &Config, registry: &Registry) -> Result<AppState, StartError> {
        let problems = config.problems(registry);
        if !problems.is_empty() {
            return Err(StartError::Config(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ));
        }
        let url = config
            .store
            .resolved_url()
            .map_err(|p| StartError::Config(p.to_string()))?;
        let store = store::open_store(&url).await?;
        Self::with_store(config, registry, store).await
    }

    /// Builds the connectors over an already opened store (tests share one).
    pub async fn with_store(
        config: &Config,
        registry: &Registry,
        store: Arc<dyn Store>,
    ) -> Result<AppState, StartError> {
        let mut connectors = HashMap::new();
        for (name, connector) in &config.connectors {
            connectors.insert(
                name.clone(),
                Arc::new(ConnectorRuntime::new(name, connector, registry, &config.scim).await?),
            );
        }
        let admin = if config.admin.enabled() {
            Some(
                Authenticator::new(&config.admin.auth)
                    .await
                    .map_err(|e| StartError::Config(format!("admin.auth: {e}")))?,
            )
        } else {
            None
        };
        Ok(AppState {
            store,
            cache: crate::cache::ResponseCache::new(&config.cache, config.connectors.keys()),
            connectors,
            public_url: config.public_url(),
            max_body_bytes: config.server.max_body_bytes,
            queue: crate::delivery::Queue::new(config.queue.clone(), config.store.retention()),
            admin,
            reconciliations: Mutex::new(HashMap::new()),
        })
    }

    /// The connectors whose writes are delivered by the queue, by name.
    pub fn queued_connectors(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .connectors
            .values()
            .filter(|c| c.delivery == DeliveryMode::Queued)
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        names
    }

    /// `{public_url}/scim/v2/{connector}`.
    pub fn base_url(&self, connector: &str) -> String {
        format!("{}/scim/v2/{connector}", self.public_url)
    }
}

/// What start-up recovery did with the writes a previous run left pending.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub committed: usize,
    pub failed: usize,
}

impl RecoveryReport {
    pub fn total(&self) -> usize {
        self.committed + self.failed
    }
}

impl AppState {
    /// Finishes every journal entry a crash left pending: the connector runs again (it is
    /// idempotent) and the change is committed, or the entry is marked failed when it can no
    /// longer apply (a newer version won, the connector is gone, the vendor refuses). The
    /// client of such a write never got an answer, so either outcome is consistent.
    ///
    /// On a database other replicas share, an entry may be a write another replica has in
    /// flight: only those pending for longer than `[queue] stale_after_secs` are taken (the
    /// worker's sweep takes the rest later).
    pub async fn recover(&self) -> Result<RecoveryReport, store::StoreError> {
        let grace = if self.store.is_shared() {
            self.queue.config().stale_after()
        } else {
            std::time::Duration::ZERO
        };
        self.recover_older_than(grace).await
    }

    /// Finishes the pending journal entries written more than `age` ago.
    pub async fn recover_older_than(
        &self,
        age: std::time::Duration,
    ) -> Result<RecoveryReport, store::StoreError> {
        let mut report = RecoveryReport::default();
        let cutoff = time::OffsetDateTime::now_utc() - age;
        let pending = self.store.journal_pending().await?;
        for entry in pending.into_iter().filter(|e| e.created <= cutoff) {
            let outcome = self.replay(&entry).await;
            match outcome {
                Ok(keys) => match self.store.commit(entry.seq, keys).await {
                    Ok(_) => report.committed += 1,
                    Err(e @ store::StoreError::Backend(_)) => return Err(e),
                    Err(e) => {
                        self.store
                            .journal_fail(entry.seq, &format!("recovery: {e}"))
                            .await?;
                        report.failed += 1;
                    }
                },
                Err(reason) => {
                    tracing::warn!(seq = entry.seq, %reason, "a pending write could not be finished");
                    self.store
                        .journal_fail(entry.seq, &format!("recovery: {reason}"))
                        .await?;
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    async fn replay(&self, entry: &store::JournalEntry) -> Result<serde_json::Value, String> {
        let runtime = self
            .connectors
            .get(&entry.connector)
            .ok_or_else(|| format!("connector \"{}\" is no longer configured", entry.connector))?;
        let empty = serde_json::Value::Object(serde_json::Map::new());
        let vendor_keys = entry.before.as_ref().map_or(&empty, |b| &b.vendor_keys);
        self.apply_entry(runtime, entry, vendor_keys)
            .await
            .map_err(|e| e.to_string())
    }

    /// Runs `runtime`'s connector for a journalled change (start-up recovery, queued
    /// delivery); `vendor_keys` are what the vendor knows the resource by now.
    pub async fn apply_entry(
        &self,
        runtime: &ConnectorRuntime,
        entry: &store::JournalEntry,
        vendor_keys: &serde_json::Value,
    ) -> Result<serde_json::Value, connector::ConnectorError> {
        let after = match &entry.change {
            store::Change::Create { attributes, .. }
            | store::Change::Replace { attributes, .. } => Some(attributes),
            store::Change::Delete { .. } => None,
        };
        let lookup = StoreLookup::new(self.store.clone(), &entry.connector);
        let change = connector::ResourceChange {
            kind: entry.kind,
            id: entry.change.id(),
            before: entry.before.as_ref().map(|b| &b.attributes),
            after,
            vendor_keys,
            request_id: entry.request_id.as_deref(),
            lookup: &lookup,
        };
        runtime.connector.apply(change).await
    }
}

/// The vendor keys of a connector's other resources, read from the store.
#[derive(Clone)]
pub struct StoreLookup {
    store: Arc<dyn Store>,
    connector: String,
}

impl StoreLookup {
    pub fn new(store: Arc<dyn Store>, connector: &str) -> Self {
        StoreLookup {
            store,
            connector: connector.to_owned(),
        }
    }
}

impl std::fmt::Debug for StoreLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLookup")
            .field("connector", &self.connector)
            .finish()
    }
}

#[async_trait::async_trait]
impl connector::KeyLookup for StoreLookup {
    async fn vendor_keys(
        &self,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, connector::ConnectorError> {
        match self.store.get(&self.connector, kind, id).await {
            Ok(found) => Ok(found.map(|r| r.vendor_keys)),
            Err(e) => Err(connector::ConnectorError::Unavailable {
                reason: format!("cannot read the vendor keys of {kind} {id}: {e}"),
                retry_after: None,
            }),
        }
    }
}
