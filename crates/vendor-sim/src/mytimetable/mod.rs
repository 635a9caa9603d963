//! MyTimetable provisioning API ("v8", seeds 000/001, VENDORS.md §1): users and push
//! synchronizations under `/api/v0`, `apiToken` authentication, form-encoded input, JSON output.

mod routes;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web;

pub use state::{CreateSyncError, SyncDeletion, Synchronization, UnlinkMode};

use crate::server::{SimOptions, SimServer};
use state::State;

/// The admin token a default-configured simulator accepts (for demos and tests).
pub const DEMO_ADMIN_TOKEN: &str = "mtt-demo-admin-token";

/// One accepted `apiToken` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub token: String,
    /// Admin (provisioning) privilege; without it every request gets 403 (VENDORS.md §1.4).
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

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct MyTimetableConfig {
    /// The tokens the `apiToken` header may carry.
    pub tokens: Vec<ApiToken>,
    /// Accepted synchronization `type`s (compared case-insensitively); `None` accepts any
    /// non-empty type, since the seed has no enumeration (VENDORS.md §1.5 item 5).
    pub sync_types: Option<Vec<String>>,
}

impl Default for MyTimetableConfig {
    /// One admin token, [`DEMO_ADMIN_TOKEN`]; any sync type.
    fn default() -> Self {
        Self {
            tokens: vec![ApiToken::admin(DEMO_ADMIN_TOKEN)],
            sync_types: None,
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

    /// Usernames in creation order, each in its first-seen case.
    pub fn users(&self) -> Vec<String> {
        self.lock().users()
    }

    /// Whether a user exists, compared case-insensitively.
    pub fn has_user(&self, username: &str) -> bool {
        self.lock().find_user(username).is_some()
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
