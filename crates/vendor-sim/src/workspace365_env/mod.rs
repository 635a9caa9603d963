//! Workspace 365 environment API simulator (docs/connectors/workspace365-adsync.md "Workspace 365 AD sync", seed 004).
//!
//! * ActiveDirectorySync (`/{Env}/ActiveDirectorySyncAPI/...`, `Authorization: Basic
//!   base64(token:)`): users, groups, user and nested-group memberships, profile pictures.
//! * The other resources (`Authorization: Workspace365 {token}`): activities,
//!   activities-batch, announcements, user apps, app icons, integration credentials.
//!
//! Tests drive it over HTTP and read the outcome back through the inspection methods here.

mod activities;
mod adsync;
mod auth;
mod binding;
mod errors;
mod resources;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::web;
use uuid::Uuid;

use crate::server::{SimOptions, SimServer};

pub use auth::{AuthFailure, Scheme};
pub use errors::{ApiErrorResponse, ErrorMessage};
pub use state::{
    Action, Activity, AdGroup, AdUser, Announcement, App, AppIcon, Category, Color, IconSource,
    IntegrationCredential, Media, ProfilePicture,
};

/// Largest profile picture A9 accepts (docs/connectors/workspace365-adsync.md "Vendor calls" [O]: 4 MiB).
pub const DEFAULT_MAX_PICTURE_BYTES: usize = 4 * 1024 * 1024;

/// Largest JSON body accepted (announcements carry base64 images inline).
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// One named key from the API settings page (several per environment, each can be disabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub name: String,
    pub token: String,
    pub enabled: bool,
}

impl ApiKey {
    /// An enabled key.
    pub fn new(name: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            token: token.into(),
            enabled: true,
        }
    }
}

/// One environment and its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The `{EnvironmentName}` path segment (matched case-insensitively).
    pub name: String,
    /// An inactive environment refuses every request with 403.
    pub active: bool,
    /// The AD-sync token (one per environment); `None` = AD sync not configured (403).
    pub adsync_token: Option<String>,
    /// `Workspace365`-scheme keys; empty = the API is not configured (403).
    pub api_keys: Vec<ApiKey>,
    /// "Manage Workspace 365 Admin role from = Workspace 365" ([P 19]): A1 ignores `IsAdmin`
    /// and the user keeps the admin flag Workspace has (see [`Workspace365EnvSim::set_admin`]).
    pub admin_role_from_workspace: bool,
}

impl EnvironmentConfig {
    /// An active environment with one AD-sync token and one enabled API key.
    pub fn new(
        name: impl Into<String>,
        adsync_token: impl Into<String>,
        api_token: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            active: true,
            adsync_token: Some(adsync_token.into()),
            api_keys: vec![ApiKey::new("default", api_token)],
            admin_role_from_workspace: false,
        }
    }
}

/// Simulator configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace365EnvConfig {
    pub environments: Vec<EnvironmentConfig>,
    /// A9's size limit in bytes.
    pub max_picture_bytes: usize,
}

impl Workspace365EnvConfig {
    /// One environment with the given AD-sync token and API key.
    pub fn single(
        name: impl Into<String>,
        adsync_token: impl Into<String>,
        api_token: impl Into<String>,
    ) -> Self {
        Self {
            environments: vec![EnvironmentConfig::new(name, adsync_token, api_token)],
            max_picture_bytes: DEFAULT_MAX_PICTURE_BYTES,
        }
    }
}

/// The Workspace 365 environment API simulator; cheap to clone (shared state).
#[derive(Clone)]
pub struct Workspace365EnvSim {
    state: Arc<Mutex<state::State>>,
    config: Arc<Workspace365EnvConfig>,
}

impl Workspace365EnvSim {
    pub fn new(config: Workspace365EnvConfig) -> Self {
        Self {
            state: Arc::default(),
            config: Arc::new(config),
        }
    }

    /// Registers the vendor routes; pass to [`SimServer::start`].
    pub fn configure(&self) -> impl Fn(&mut web::ServiceConfig) + Send + Clone + 'static {
        let sim = self.clone();
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(sim.clone()))
                .app_data(web::PayloadConfig::new(MAX_JSON_BODY))
                .service(
                    web::scope("/{env}")
                        .configure(adsync::routes)
                        .configure(resources::routes),
                );
        }
    }

    /// Starts the simulator; unless `options` has one, recorded bodies get [`mask_body`].
    pub fn start(&self, mut options: SimOptions) -> std::io::Result<SimServer> {
        options.body_masker.get_or_insert(mask_body);
        SimServer::start(self.configure(), options)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read<T>(&self, env: &str, f: impl FnOnce(&state::EnvState) -> T) -> T {
        let mut state = self.lock();
        f(state.env(&self.env_name(env)))
    }

    /// The environment's configuration (name matched case-insensitively).
    pub(crate) fn environment(&self, name: &str) -> Option<&EnvironmentConfig> {
        self.config
            .environments
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
    }

    /// The configured spelling of an environment name, so inspection is case-insensitive too.
    fn env_name(&self, env: &str) -> String {
        self.environment(env)
            .map_or_else(|| env.to_owned(), |e| e.name.clone())
    }

    // ----- inspection: ActiveDirectorySync -----

    /// Every user of the environment, soft-deleted ones included, ordered by ObjectId.
    pub fn users(&self, env: &str) -> Vec<AdUser> {
        self.read(env, |e| e.users.values().cloned().collect())
    }

    pub fn user(&self, env: &str, object_id: Uuid) -> Option<AdUser> {
        self.read(env, |e| e.users.get(&object_id).cloned())
    }

    pub fn groups(&self, env: &str) -> Vec<AdGroup> {
        self.read(env, |e| e.groups.values().cloned().collect())
    }

    pub fn group(&self, env: &str, object_id: Uuid) -> Option<AdGroup> {
        self.read(env, |e| e.groups.get(&object_id).cloned())
    }

    /// Direct user memberships as `(group, user)` pairs (A5/A6).
    pub fn user_memberships(&self, env: &str) -> Vec<(Uuid, Uuid)> {
        self.read(env, |e| e.user_members.iter().copied().collect())
    }

    /// Nested group memberships as `(target group, member group)` pairs (A7/A8).
    pub fn group_memberships(&self, env: &str) -> Vec<(Uuid, Uuid)> {
        self.read(env, |e| e.group_members.iter().copied().collect())
    }

    /// Live users in a group directly or through nested groups.
    pub fn effective_members(&self, env: &str, group: Uuid) -> Vec<Uuid> {
        self.read(env, |e| e.users_in_group(group).into_iter().collect())
    }

    /// The user's profile picture as uploaded (A9), if any.
    pub fn picture(&self, env: &str, user: Uuid) -> Option<ProfilePicture> {
        self.read(env, |e| e.pictures.get(&user).cloned())
    }

    // ----- inspection: other resources -----

    pub fn activities(&self, env: &str) -> Vec<Activity> {
        self.read(env, |e| e.activities.clone())
    }

    pub fn announcements(&self, env: &str) -> Vec<Announcement> {
        self.read(env, |e| e.announcements.clone())
    }

    pub fn credentials(&self, env: &str) -> Vec<IntegrationCredential> {
        self.read(env, |e| e.credentials.values().cloned().collect())
    }

    // ----- seeding -----

    /// Adds (or replaces) a live user as if A1 had pushed it; returns its integer id.
    pub fn seed_user(
        &self,
        env: &str,
        object_id: Uuid,
        first_name: &str,
        last_name: &str,
        upn: &str,
    ) -> u64 {
        let mut state = self.lock();
        let env = state.env(&self.env_name(env));
        env.users.remove(&object_id);
        env.users
            .retain(|_, u| !u.user_principal_name.eq_ignore_ascii_case(upn));
        let info = state::UserInfo {
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            user_principal_name: upn.to_owned(),
            email: Some(upn.to_owned()),
            secondary_email: None,
            is_admin: false,
            is_active: true,
            job_title: None,
            mobile_phone: None,
        };
        // Cannot conflict: any user holding the UPN was removed above.
        let _ = env.upsert_user(object_id, info, "UserPrincipalName");
        env.users.get(&object_id).map_or(0, |u| u.id)
    }

    /// Sets a user's admin flag as an administrator would in Workspace itself; false when the
    /// user does not exist.
    pub fn set_admin(&self, env: &str, object_id: Uuid, is_admin: bool) -> bool {
        let mut state = self.lock();
        match state.env(&self.env_name(env)).users.get_mut(&object_id) {
            Some(user) => {
                user.is_admin = is_admin;
                true
            }
            None => false,
        }
    }

    /// Adds (or replaces) a group as if A3 had pushed it; returns its integer id.
    pub fn seed_group(&self, env: &str, object_id: Uuid, name: &str) -> u64 {
        let mut state = self.lock();
        let env = state.env(&self.env_name(env));
        env.upsert_group(object_id, name.to_owned(), None);
        env.groups.get(&object_id).map_or(0, |g| g.id)
    }

    /// Makes `app` available to the user with this UPN.
    pub fn seed_app(&self, env: &str, upn: &str, app: App) {
        self.lock()
            .env(&self.env_name(env))
            .apps
            .entry(upn.to_lowercase())
            .or_default()
            .push(app);
    }

    /// Adds an app icon to the global collection or to the environment's own.
    pub fn seed_icon(&self, env: &str, source: IconSource, icon: AppIcon) {
        let mut state = self.lock();
        match source {
            IconSource::Global => state.global_icons.insert(icon.id, icon),
            IconSource::Environment => state.env(&self.env_name(env)).icons.insert(icon.id, icon),
        };
    }

    /// Adds an announcement as if it had been posted; returns its id.
    pub fn seed_announcement(&self, env: &str, announcement: Announcement) -> u64 {
        self.lock()
            .env(&self.env_name(env))
            .add_announcement(announcement)
    }
}

/// Masks `password` values (any case, any depth) in JSON request bodies for the request log;
/// other bodies pass unchanged.
pub fn mask_body(body: &str) -> String {
    fn mask(value: &mut serde_json::Value) -> bool {
        let mut changed = false;
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key.eq_ignore_ascii_case("password") && !v.is_null() {
                        *v = serde_json::Value::String("***".into());
                        changed = true;
                    } else {
                        changed |= mask(v);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    changed |= mask(v);
                }
            }
            _ => {}
        }
        changed
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            if mask(&mut value) {
                value.to_string()
            } else {
                body.to_owned()
            }
        }
        Err(_) => body.to_owned(),
    }
}
