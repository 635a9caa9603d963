//! MyTimetable provisioning API ("v8", seeds 000/001, docs/connectors/mytimetable.md "MyTimetable"): users and push
//! synchronizations under `/api/v0`, `apiToken` authentication, form-encoded input, JSON output.

mod params;
mod routes;
mod state;
mod v2019;

use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web;

pub use state::{
    Attribute, CreateSyncError, ProfileUpdate, SyncDeletion, Synchronization, UnlinkMode,
    UserProfile,
};

use crate::server::{SimOptions, SimServer};
use state::State;

/// The admin token a default-configured simulator accepts (for demos and tests).
pub const DEMO_ADMIN_TOKEN: &str = "mtt-demo-admin-token";

/// One accepted `apiToken` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub token: String,
    /// Admin (provisioning) privilege; without it every request gets 403 (docs/connectors/mytimetable.md "Quirks").
    pub admin: bool,
}

impl ApiToken {
    pub fn admin(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            admin: true,
        }
    }

    pub fn non_admin(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            admin: false,
        }
    }
}

/// Which version of the provisioning API page to serve (docs/connectors/mytimetable.md "Later versions of the API",
/// `mytimetable.api_profile`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiProfile {
    /// The seed's page, "Version 8": what connectors are written against.
    #[default]
    V8,
    /// The later page (MyTimetable 2019.16+): user profiles (`GET`/`POST /users`, `PUT` with a
    /// body), 404 on deleting an unknown user, per-user synchronizations.
    V2019_16,
}

impl std::str::FromStr for ApiProfile {
    type Err = String;

    /// The config values of docs/connectors/mytimetable.md "Later versions of the API": `v8` or `2019.16+`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v8" => Ok(Self::V8),
            "2019.16+" => Ok(Self::V2019_16),
            other => Err(format!(
                "unknown profile {other:?}; expected v8 or 2019.16+"
            )),
        }
    }
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct MyTimetableConfig {
    /// The tokens the `apiToken` header may carry.
    pub tokens: Vec<ApiToken>,
    /// Accepted synchronization `type`s (compared case-insensitively); `None` accepts any
    /// non-empty type, since the seed has no enumeration (docs/connectors/mytimetable.md "Synchronization types").
    pub sync_types: Option<Vec<String>>,
    /// The API version served; v8 unless opted in.
    pub profile: ApiProfile,
}

impl Default for MyTimetableConfig {
    /// One admin token, [`DEMO_ADMIN_TOKEN`]; any sync type; the v8 profile.
    fn default() -> Self {
        Self {
            tokens: vec![ApiToken::admin(DEMO_ADMIN_TOKEN)],
            sync_types: None,
            profile: ApiProfile::V8,
        }
    }
}

/// A stateful MyTimetable provisioning API. Clones share state.
#[derive(Clone)]
pub struct MyTimetableSim {
    state: Arc<Mutex<State>>,
    config: Arc<MyTimetableConfig>,
}

impl MyTimetableSim {
    pub fn new(config: MyTimetableConfig) -> Self {
        Self {
            state: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// Registers the vendor routes; pass to [`SimServer::start`].
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
        let sim = self.clone();
        move |cfg: &mut web::ServiceConfig| routes::configure(cfg, sim.clone())
    }

    /// Starts the simulator with these options.
    pub fn start(&self, options: SimOptions) -> std::io::Result<SimServer> {
        SimServer::start(self.configure(), options)
    }

    pub fn config(&self) -> &MyTimetableConfig {
        &self.config
    }

    /// Ensures a user exists (any case); true when it was created.
    pub fn seed_user(&self, username: &str) -> bool {
        self.lock().ensure_user(username)
    }

    /// Creates a synchronization for an existing user, returning its id (or the id of the one
    /// the user already has of this type).
    pub fn seed_synchronization(
        &self,
        username: &str,
        sync_type: &str,
    ) -> Result<u64, CreateSyncError> {
        self.lock().create_sync(username, sync_type, None)
    }

    /// The dataset of the seed's GET examples: users alice, bob, carol; sync 1 (alice, o365)
    /// and sync 2 (bob, googlecalendar). Call on a fresh simulator so that the ids match.
    pub fn seed_example_dataset(&self) {
        let mut state = self.lock();
        for user in ["alice", "bob", "carol"] {
            state.ensure_user(user);
        }
        // Both users were just created, so these cannot fail.
        let _ = state.create_sync("alice", "o365", None);
        let _ = state.create_sync("bob", "googlecalendar", None);
    }

    /// Removes a synchronization as an administrator at the vendor would, unseen by
    /// scim-bridge (drift); false when the id is unknown.
    pub fn remove_synchronization(&self, id: u64, mode: UnlinkMode) -> bool {
        self.lock().delete_sync(id, mode)
    }

    /// Removes a user and its synchronizations at the vendor, unseen by scim-bridge (drift);
    /// false when the user is unknown.
    pub fn remove_user(&self, username: &str) -> bool {
        self.lock().delete_user(username)
    }

    /// Usernames in creation order, each in its first-seen case.
    pub fn users(&self) -> Vec<String> {
        self.lock().users()
    }

    /// Whether a user exists, compared case-insensitively.
    pub fn has_user(&self, username: &str) -> bool {
        self.lock().find_user(username).is_some()
    }

    /// A user's profile (the "2019.16+" fields are empty for users made through v8 routes).
    pub fn user_profile(&self, username: &str) -> Option<UserProfile> {
        self.lock().profile(username).cloned()
    }

    /// Current synchronizations, by id.
    pub fn synchronizations(&self) -> Vec<Synchronization> {
        self.lock().synchronizations()
    }

    /// Every synchronization removed so far, with the unlink mode used, oldest first.
    pub fn sync_deletions(&self) -> Vec<SyncDeletion> {
        self.lock().deletions()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every mutation completes under the lock, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
