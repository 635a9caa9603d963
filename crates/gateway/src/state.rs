//! What the service holds while it runs: the store, and one [`ConnectorRuntime`] per configured
//! connector with everything a request to it needs.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use connector::{Connector, Registry};
use scim::bulk::BulkLimits;
use scim::config::{AuthenticationScheme, ServiceProviderConfig};
use scim::filter::FilterLimits;
use scim::validate::SizeLimits;
use scim::{QueryLimits, ResourceKind, ResourceSchema, SchemaRegistry, UnknownAttributes};
use store::Store;
use tokio::sync::{Mutex, MutexGuard};

use crate::auth::Authenticator;
use crate::config::{Config, ConnectorConfig, DeliveryMode, UnknownAttributesPolicy};
use crate::error::ApiError;

/// Writes to one resource are serialised within a process by one of these striped locks
/// (bounded memory, no clean-up); the store's version check covers other processes.
const WRITE_LOCK_STRIPES: usize = 1024;

/// Shared state of the service.
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Read answers, invalidated by every write.
    pub cache: crate::cache::ResponseCache,
    pub connectors: HashMap<String, Arc<ConnectorRuntime>>,
    /// What a request to a connector that does not exist meets ([`Authenticator::nobody`]).
    pub unknown_connector: Authenticator,
    pub public_url: String,
    /// How much of a request body is read, and for how long.
    pub body_limits: crate::extract::BodyLimits,
    /// Queued deliveries: the worker's identity and wake-up call.
    pub queue: crate::queue::Queue,
    /// Who may use `/admin`; `None` when no credential is configured (the API is off).
    pub admin: Option<Authenticator>,
    /// Where the trail of each write goes (requests and vendor calls).
    pub trail: Option<Arc<crate::trail::TrailRecorder>>,
    /// Who may read `/metrics`; `None` when anyone may.
    pub metrics: Option<Authenticator>,
    /// `/metrics` is served on a port of its own, so the SCIM port answers 404 there.
    pub metrics_elsewhere: bool,
    /// The last reconciliation the admin API ran, per connector, and when it finished.
    pub reconciliations:
        Mutex<HashMap<String, (time::OffsetDateTime, crate::reconcile::report::Report)>>,
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
    /// What one resource may hold.
    pub size_limits: SizeLimits,
    /// Inbound request quotas.
    pub limits: crate::limits::InboundLimits,
    /// Holds mass deletions and deactivations, when configured.
    pub deletion_guard: Option<crate::guard::DeletionGuard>,
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
        context: &connector::Context,
        config: &ConnectorConfig,
        registry: &Registry,
        limits: &crate::config::ScimConfig,
        guard: &Arc<crate::auth::BasicGuard>,
    ) -> Result<ConnectorRuntime, StartError> {
        let name = context.name.as_str();
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
            .build(context, config.kind_settings(registry))
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
        let authenticator = Authenticator::new(&config.auth, Arc::clone(guard))
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
            size_limits: SizeLimits {
                max_values: limits.max_values_per_attribute,
                max_bytes: limits.max_resource_bytes,
            },
            limits: crate::limits::InboundLimits::new(&config.rate_limit),
            deletion_guard: config
                .deletion_guard
                .map(|guard| crate::guard::DeletionGuard::new(name, guard)),
            delivery: config.delivery,
            write_locks: (0..WRITE_LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        })
    }

    /// The schema of `kind`, or a clear 404 when the connector does not offer it.
    pub fn offered_schema(&self, kind: ResourceKind) -> Result<&ResourceSchema, ApiError> {
        self.schema(kind).ok_or_else(|| {
            ApiError::not_found(format!(
                "the connector \"{}\" does not offer {}s (see its /ResourceTypes)",
                self.name,
                kind.as_str()
            ))
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
        // The connectors register series as they are built (the credentials gauge): the
        // recorder must be there first.
        crate::telemetry::handle();
        // One bound on Basic verification for the whole process: it guards its CPU and memory.
        let guard = Arc::new(crate::auth::BasicGuard::default());
        let trail = config
            .store
            .trail
            .then(|| crate::trail::TrailRecorder::start(Arc::clone(&store)));
        let mut connectors = HashMap::new();
        for (name, connector) in &config.connectors {
            let context = connector::Context {
                name: name.clone(),
                calls: trail.clone().map(|t| t as Arc<dyn connector::CallObserver>),
            };
            let runtime =
                ConnectorRuntime::new(&context, connector, registry, &config.scim, &guard).await?;
            connectors.insert(name.clone(), Arc::new(runtime));
        }
        crate::guard::count_users(store.as_ref(), connectors.values().map(AsRef::as_ref)).await;
        let admin = if config.admin.enabled() {
            Some(
                Authenticator::new(&config.admin.auth, Arc::clone(&guard))
                    .await
                    .map_err(|e| StartError::Config(format!("admin.auth: {e}")))?,
            )
        } else {
            None
        };
        let metrics = if config.metrics.auth.any() {
            Some(
                Authenticator::new(&config.metrics.auth, Arc::clone(&guard))
                    .await
                    .map_err(|e| StartError::Config(format!("metrics.auth: {e}")))?,
            )
        } else {
            None
        };
        Ok(AppState {
            store,
            cache: crate::cache::ResponseCache::new(&config.cache, config.connectors.keys()),
            connectors,
            unknown_connector: Authenticator::nobody(),
            public_url: config.public_url(),
            body_limits: crate::extract::BodyLimits {
                max_bytes: config.server.max_body_bytes,
                deadline: std::time::Duration::from_secs(config.server.body_read_timeout_secs),
            },
            queue: crate::queue::Queue::new(config.queue.clone(), config.store.retention()),
            admin,
            trail,
            metrics,
            metrics_elsewhere: config.metrics.listen.is_some(),
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
