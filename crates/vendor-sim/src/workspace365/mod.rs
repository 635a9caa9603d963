//! Workspace 365 Provisioning API, User part (seed 002, docs/connectors/workspace365.md "Workspace 365 Provisioning API"): create, validate,
//! update (with rename), activate, deactivate and delete, keyed by e-mail address in the path,
//! behind the `ProvisioningKey` header.

mod body;
mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web;

pub use body::{ValidationResult, mask_password};
pub use state::ProvisionedUser;

use crate::server::{SimOptions, SimServer};
use body::UserBody;
use state::State;

/// The key of the seed's examples, accepted by a default-configured simulator.
pub const DEMO_PROVISIONING_KEY: &str = "C7656554-85A2-4AFD-BAB7-18C71593C4D2";

/// How the simulator behaves. Every [O] choice of docs/connectors/workspace365.md "Quirks" that may vary is a field.
#[derive(Debug, Clone)]
pub struct Workspace365Config {
    /// The instance's configured key; `None` or empty makes every request 403 ("not defined
    /// or empty").
    pub provisioning_key: Option<String>,
    /// `ProvisioningApiEnabled`; false makes every request 403.
    pub api_enabled: bool,
    /// Existing environments (case-insensitive); any other gives 404 on every route.
    pub environments: Vec<String>,
    /// Where the API is mounted, `/Provisioning` as on the real host (docs/connectors/workspace365.md "The vendor API").
    pub path_prefix: String,
    /// When true, a path without its trailing slash is 404 (docs/connectors/workspace365.md "Quirks").
    pub strict_trailing_slash: bool,
    /// When true, a request without `X-Requested-With: XMLHttpRequest` is 403 (docs/connectors/workspace365.md "Quirks").
    pub require_x_requested_with: bool,
    /// At most this many active users per environment: creating or activating beyond it is a
    /// 400 (the licence limit docs/connectors/workspace365.md "Quirks" gives as the reason W5 documents 400).
    pub licence_limit: Option<usize>,
}

impl Default for Workspace365Config {
    /// The seed's key and environment (`example`), lenient about slashes and X-Requested-With.
    fn default() -> Self {
        Self {
            provisioning_key: Some(DEMO_PROVISIONING_KEY.to_owned()),
            api_enabled: true,
            environments: vec!["example".to_owned()],
            path_prefix: "/Provisioning".to_owned(),
            strict_trailing_slash: false,
            require_x_requested_with: false,
            licence_limit: None,
        }
    }
}

/// A stateful Workspace 365 Provisioning API. Clones share state.
#[derive(Clone)]
pub struct Workspace365Sim {
    state: Arc<Mutex<State>>,
    config: Arc<Workspace365Config>,
}

impl Workspace365Sim {
    pub fn new(config: Workspace365Config) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(
                &config.environments,
                config.licence_limit,
            ))),
            config: Arc::new(config),
        }
    }

    /// Registers the vendor routes; pass to [`SimServer::start`] (with
    /// [`mask_password`] as the body masker, as [`Self::start`] does).
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
        let sim = self.clone();
        move |cfg: &mut web::ServiceConfig| routes::configure(cfg, sim.clone())
    }

    /// Starts the simulator; passwords in recorded bodies are masked unless the options name
    /// another masker.
    pub fn start(&self, mut options: SimOptions) -> std::io::Result<SimServer> {
        options.body_masker.get_or_insert(mask_password);
        SimServer::start(self.configure(), options)
    }

    /// The API root a client is configured with: `http://HOST:PORT/Provisioning`.
    pub fn api_base(&self, server: &SimServer) -> String {
        format!("{}{}", server.base_url(), self.config.path_prefix)
    }

    pub fn config(&self) -> &Workspace365Config {
        &self.config
    }

    /// Adds an environment (no-op if it exists).
    pub fn add_environment(&self, env: &str) {
        self.lock().add_environment(env);
    }

    /// Creates an active user as W1 would (password `seed-password`); `None` if W1 would have
    /// refused it (unknown environment, invalid or duplicate address, licence limit).
    pub fn seed_user(
        &self,
        env: &str,
        email: &str,
        first_name: &str,
        last_name: &str,
    ) -> Option<u64> {
        let body = UserBody {
            email_address: Some(email.to_owned()),
            first_name: Some(first_name.to_owned()),
            last_name: Some(last_name.to_owned()),
            password: Some("seed-password".to_owned()),
            ..UserBody::default()
        };
        self.lock().create(env, &body).ok()
    }

    /// The users of an environment, by id (empty for an unknown environment).
    pub fn users(&self, env: &str) -> Vec<ProvisionedUser> {
        self.lock().users(env)
    }

    /// One user, looked up case-insensitively by e-mail address.
    pub fn user(&self, env: &str, email: &str) -> Option<ProvisionedUser> {
        self.lock().user(env, email)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation completes under the lock, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
