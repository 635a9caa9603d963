//! TimeEdit user web service (SOAP), docs/connectors/timeedit.md "TimeEdit" and seed 003.
//!
//! `POST /soap/3/{instance}` takes SOAP 1.1 (`text/xml`) or SOAP 1.2 (`application/soap+xml`)
//! envelopes and answers in the same version; the WSDL is at `GET /soap/3/{instance}/wsdl` and
//! `GET /soap/3/{instance}?wsdl`. Every operation except `register` checks the `login` object
//! (username, password, application key); application keys come from `register(certificate)`
//! and expire after a configurable lifetime or on demand.
//!
//! Record bodies with [`mask_body`] as `SimOptions::body_masker` so passwords and certificates
//! do not land in the request log ([`TimeEditSim::start`] does this when no masker is set).

mod model;
mod operations;
mod routes;
pub mod soap;
mod state;
mod wsdl;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::web;

use crate::server::{SimOptions, SimServer};

pub use model::{Account, AuthServer, Certificate, StatusCode, User, UserObject, UserStatus};
pub use operations::INVALID_CREDENTIALS;
pub use soap::mask_body;
pub use state::{MAX_USERS_PER_FIND, SORT_ORDERS};

use state::State;

/// docs/connectors/timeedit.md "Wire format" [O]: the real `tns` namespace URI is unknown; this is a placeholder, and the
/// served WSDL carries whatever [`TimeEditConfig::namespace`] says.
pub const DEFAULT_NAMESPACE: &str = "urn:timeedit:soap:3";
/// The certificate the default configuration accepts.
pub const DEFAULT_CERTIFICATE: &str = "sim-certificate";
/// The API account of the default configuration.
pub const DEFAULT_USERNAME: &str = "api";
pub const DEFAULT_PASSWORD: &str = "api-password";

/// How a [`TimeEditSim`] behaves.
#[derive(Debug, Clone)]
pub struct TimeEditConfig {
    /// The customer instance id in `/soap/3/{instance}` (docs/connectors/timeedit.md "The vendor API" [P 5]).
    pub instance: String,
    /// The target namespace of the WSDL and of the `tns:` elements.
    pub namespace: String,
    /// Refuse operation elements outside [`Self::namespace`], as a service would whose client
    /// hardcoded the wrong namespace. Off by default: docs/connectors/timeedit.md "Wire format" matches local names.
    pub strict_namespace: bool,
    /// How long an application key stays valid; `None` = forever.
    pub key_lifetime: Option<Duration>,
    /// Give every key a character XML must escape (`& < > " '`), as real keys can have
    /// (docs/connectors/timeedit.md "The vendor API" [P 1]).
    pub xml_hostile_keys: bool,
    /// Certificates `register` accepts.
    pub certificates: Vec<Certificate>,
    /// Accounts the Login object may name.
    pub accounts: Vec<Account>,
    pub auth_servers: Vec<AuthServer>,
    /// Organization ids users may reference (`organizations`, `standardorganization`).
    pub organizations: Vec<String>,
    /// `<org>=<role>` strings users may hold.
    pub orgroles: Vec<String>,
    /// Permissions users may hold.
    pub user_permissions: Vec<String>,
}

impl Default for TimeEditConfig {
    /// The reference data of the seed's own examples, so they succeed as written.
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Self {
            instance: "sim".into(),
            namespace: DEFAULT_NAMESPACE.into(),
            strict_namespace: false,
            key_lifetime: Some(Duration::from_secs(3600)),
            xml_hostile_keys: true,
            certificates: vec![Certificate::new(DEFAULT_CERTIFICATE)],
            accounts: vec![Account {
                permissions: strings(&["client", "periods"]),
                ..Account::new(DEFAULT_USERNAME, DEFAULT_PASSWORD)
            }],
            auth_servers: vec![AuthServer::new("timeedit", "TimeEdit", true)],
            organizations: strings(&["timeedit;admin", "all_teachers"]),
            orgroles: strings(&["timeedit=Admin", "oAdmin=scheduler"]),
            user_permissions: strings(&["client", "periods"]),
        }
    }
}

/// The TimeEdit user web service simulator; clones share one state.
#[derive(Clone)]
pub struct TimeEditSim {
    state: Arc<Mutex<State>>,
    config: Arc<TimeEditConfig>,
}

impl TimeEditSim {
    pub fn new(config: TimeEditConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(&config))),
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &TimeEditConfig {
        &self.config
    }

    /// Registers the routes; pass to [`SimServer::start`] (with [`mask_body`] as the masker).
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
        let sim = self.clone();
        move |cfg| routes::configure(&sim, cfg)
    }

    /// Starts on `options`, masking recorded bodies with [`mask_body`] unless another masker
    /// is set.
    pub fn start(&self, mut options: SimOptions) -> std::io::Result<SimServer> {
        options.body_masker.get_or_insert(mask_body);
        SimServer::start(self.configure(), options)
    }

    /// `/soap/3/{instance}`: where envelopes are posted.
    pub fn endpoint_path(&self) -> String {
        format!("/soap/3/{}", self.config.instance)
    }

    /// `/soap/3/{instance}/wsdl`: where the WSDL is served (also at the endpoint with `?wsdl`).
    pub fn wsdl_path(&self) -> String {
        format!("{}/wsdl", self.endpoint_path())
    }

    // ---- seeding and inspection ---------------------------------------------------------

    /// Stores a user as is (no validation), replacing one with the same key.
    pub fn seed_user(&self, user: User) {
        self.lock().seed_user(user);
    }

    pub fn seed_users(&self, users: impl IntoIterator<Item = User>) {
        let mut state = self.lock();
        for user in users {
            state.seed_user(user);
        }
    }

    /// Removes a user outright, as someone at the vendor would, unseen by scim-bridge (drift);
    /// false if there is no such user.
    pub fn remove_user(&self, loginname: &str, authserver: &str) -> bool {
        self.lock()
            .remove_user(&(loginname.to_owned(), authserver.to_owned()))
    }

    /// Marks a user as (not) deletable, e.g. one with history; false if there is no such user.
    pub fn set_deletable(&self, loginname: &str, authserver: &str, deletable: bool) -> bool {
        self.lock()
            .set_deletable(&(loginname.to_owned(), authserver.to_owned()), deletable)
    }

    pub fn user(&self, loginname: &str, authserver: &str) -> Option<User> {
        self.lock()
            .user(&(loginname.to_owned(), authserver.to_owned()))
    }

    /// Every user, ordered by (loginname, authserver).
    pub fn users(&self) -> Vec<User> {
        self.lock().users()
    }

    /// Adds or replaces (by signature) an auth server.
    pub fn seed_auth_server(&self, server: AuthServer) {
        self.lock().seed_auth_server(server);
    }

    pub fn seed_organization(&self, id: &str) {
        self.lock().seed_organization(id);
    }

    pub fn seed_orgrole(&self, orgrole: &str) {
        self.lock().seed_orgrole(orgrole);
    }

    pub fn seed_user_permission(&self, permission: &str) {
        self.lock().seed_user_permission(permission);
    }

    /// Adds or replaces (by username) an API account.
    pub fn seed_account(&self, account: Account) {
        self.lock().seed_account(account);
    }

    /// Adds or replaces (by key) a certificate.
    pub fn seed_certificate(&self, certificate: Certificate) {
        self.lock().seed_certificate(certificate);
    }

    // ---- application keys, clock, failures ----------------------------------------------

    /// Issues a key as `register` would, without a request.
    pub fn issue_key(&self) -> String {
        self.lock().issue_key()
    }

    /// Expires one key now; false if it is unknown.
    pub fn expire_key(&self, key: &str) -> bool {
        self.lock().expire_key(key)
    }

    /// Expires every key now; returns how many there were.
    pub fn expire_all_keys(&self) -> usize {
        self.lock().expire_all_keys()
    }

    pub fn key_is_valid(&self, key: &str) -> bool {
        self.lock().key_is_valid(key)
    }

    /// Moves the simulator's clock forward (key lifetimes, certificate expiry).
    pub fn advance_clock(&self, by: Duration) {
        let by = time::Duration::try_from(by).unwrap_or(time::Duration::MAX);
        self.lock().advance_clock(by);
    }

    /// The next `n` operations answer a `Server` fault (docs/connectors/timeedit.md "Wire format": injected failures),
    /// unlike the generic HTTP faults of [`crate::Faults`], which carry no SOAP body.
    pub fn inject_server_faults(&self, n: u32) {
        self.lock().inject_server_faults(n);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for TimeEditSim {
    fn default() -> Self {
        Self::new(TimeEditConfig::default())
    }
}
