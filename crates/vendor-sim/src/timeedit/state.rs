//! The in-memory service: users, reference data, API accounts, application keys, and the
//! operations on them, free of any XML.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::Rng;
use rand::distr::{Alphanumeric, SampleString};
use time::{Duration, OffsetDateTime};

use super::TimeEditConfig;
use super::model::{
    Account, AuthServer, Certificate, StatusCode, User, UserInput, UserKey, UserObject, UserStatus,
};

/// What getUserSortOrders answers; the empty sort order means `loginname` (docs/connectors/timeedit.md "Vendor calls":
/// the real values are undocumented).
pub const SORT_ORDERS: &[&str] = &["loginname", "firstname", "lastname", "email"];

/// docs/connectors/timeedit.md "The vendor API": at most 1000 users per findUsers call.
pub const MAX_USERS_PER_FIND: usize = 1000;

/// Characters XML must escape; with `xml_hostile_keys` every key carries one (docs/connectors/timeedit.md "The vendor API"
/// [P 1]: "some keys need XML-escaping").
const XML_SPECIALS: &[char] = &['&', '<', '>', '"', '\''];

/// Why a Login object was refused. Every variant answers the same `Invalid credentials` fault;
/// the variant only fills the fault detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the login object is missing")]
    MissingLogin,
    #[error("unknown application key")]
    UnknownKey,
    #[error("the application key has expired")]
    ExpiredKey,
    #[error("wrong username or password")]
    BadPassword,
}

/// Why `register` refused a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("unknown certificate")]
    Unknown,
    #[error("the certificate has expired")]
    Expired,
}

/// The Login object as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: String,
    pub applicationkey: String,
}

/// findUsers criteria after decoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindQuery {
    pub loginname: String,
    pub authserver: String,
    pub name: String,
    pub email: String,
    pub allowed_to_login_only: bool,
    pub sortorder: String,
    pub begin_index: usize,
    pub number_of_users: usize,
}

#[derive(Debug, Clone)]
struct StoredUser {
    user: User,
    /// When false, deleteUsers answers 5 or 6 (docs/connectors/timeedit.md "Wire format"), e.g. a user with history.
    deletable: bool,
}

#[derive(Debug, Clone)]
struct AppKey {
    expires: Option<OffsetDateTime>,
}

/// Everything the simulator holds.
#[derive(Debug)]
pub(crate) struct State {
    users: BTreeMap<UserKey, StoredUser>,
    auth_servers: Vec<AuthServer>,
    organizations: BTreeSet<String>,
    orgroles: BTreeSet<String>,
    user_permissions: BTreeSet<String>,
    accounts: BTreeMap<String, Account>,
    certificates: Vec<Certificate>,
    keys: HashMap<String, AppKey>,
    key_lifetime: Option<Duration>,
    xml_hostile_keys: bool,
    clock_offset: Duration,
    pending_server_faults: u32,
}

impl State {
    pub fn new(config: &TimeEditConfig) -> Self {
        Self {
            users: BTreeMap::new(),
            auth_servers: config.auth_servers.clone(),
            organizations: config.organizations.iter().cloned().collect(),
            orgroles: config.orgroles.iter().cloned().collect(),
            user_permissions: config.user_permissions.iter().cloned().collect(),
            accounts: config
                .accounts
                .iter()
                .map(|a| (a.username.clone(), a.clone()))
                .collect(),
            certificates: config.certificates.clone(),
            keys: HashMap::new(),
            key_lifetime: config
                .key_lifetime
                .map(|d| Duration::try_from(d).unwrap_or(Duration::MAX)),
            xml_hostile_keys: config.xml_hostile_keys,
            clock_offset: Duration::ZERO,
            pending_server_faults: 0,
        }
    }

    /// The simulated clock: wall time plus whatever tests advanced it by.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc().saturating_add(self.clock_offset)
    }

    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset = self.clock_offset.saturating_add(by);
    }

    // ---- keys and authentication -------------------------------------------------------

    /// `register(certificate)`: a new application key and the certificate's expiry.
    pub fn register(
        &mut self,
        certificate: &str,
    ) -> Result<(String, Option<OffsetDateTime>), RegisterError> {
        let now = self.now();
        let cert = self
            .certificates
            .iter()
            .find(|c| c.key == certificate)
            .ok_or(RegisterError::Unknown)?;
        if cert.expires.is_some_and(|e| e <= now) {
            return Err(RegisterError::Expired);
        }
        let cert_expires = cert.expires;
        Ok((self.issue_key(), cert_expires))
    }

    /// A fresh application key, valid for the configured lifetime.
    pub fn issue_key(&mut self) -> String {
        let mut rng = rand::rng();
        let mut key = Alphanumeric.sample_string(&mut rng, 32);
        if self.xml_hostile_keys {
            let special = XML_SPECIALS[rng.random_range(0..XML_SPECIALS.len())];
            key.insert(rng.random_range(1..key.len()), special);
        }
        let expires = self.key_lifetime.map(|l| self.now().saturating_add(l));
        self.keys.insert(key.clone(), AppKey { expires });
        key
    }

    /// Makes a key invalid now; false if it was unknown.
    pub fn expire_key(&mut self, key: &str) -> bool {
        let now = self.now();
        match self.keys.get_mut(key) {
            Some(k) => {
                k.expires = Some(now);
                true
            }
            None => false,
        }
    }

    /// Makes every key invalid now; returns how many there were.
    pub fn expire_all_keys(&mut self) -> usize {
        let now = self.now();
        for key in self.keys.values_mut() {
            key.expires = Some(now);
        }
        self.keys.len()
    }

    /// Whether a key is known and not expired.
    pub fn key_is_valid(&self, key: &str) -> bool {
        let now = self.now();
        self.keys
            .get(key)
            .is_some_and(|k| k.expires.is_none_or(|e| e > now))
    }

    /// Checks a Login object (key first, then username and password) and returns the account.
    pub fn authenticate(&self, login: Option<&Login>) -> Result<&Account, AuthError> {
        let login = login.ok_or(AuthError::MissingLogin)?;
        if !self.keys.contains_key(&login.applicationkey) {
            return Err(AuthError::UnknownKey);
        }
        if !self.key_is_valid(&login.applicationkey) {
            return Err(AuthError::ExpiredKey);
        }
        self.accounts
            .get(&login.username)
            .filter(|a| a.password == login.password)
            .ok_or(AuthError::BadPassword)
    }

    /// Consumes one pending injected server fault, if any.
    pub fn take_server_fault(&mut self) -> bool {
        let pending = self.pending_server_faults > 0;
        self.pending_server_faults = self.pending_server_faults.saturating_sub(1);
        pending
    }

    pub fn inject_server_faults(&mut self, n: u32) {
        self.pending_server_faults = self.pending_server_faults.saturating_add(n);
    }

    // ---- seeding and inspection ---------------------------------------------------------

    pub fn seed_user(&mut self, user: User) {
        self.users.insert(
            user.key(),
            StoredUser {
                user,
                deletable: true,
            },
        );
    }

    pub fn remove_user(&mut self, key: &UserKey) -> bool {
        self.users.remove(key).is_some()
    }

    pub fn set_deletable(&mut self, key: &UserKey, deletable: bool) -> bool {
        match self.users.get_mut(key) {
            Some(stored) => {
                stored.deletable = deletable;
                true
            }
            None => false,
        }
    }

    pub fn user(&self, key: &UserKey) -> Option<User> {
        self.users.get(key).map(|s| s.user.clone())
    }

    pub fn users(&self) -> Vec<User> {
        self.users.values().map(|s| s.user.clone()).collect()
    }

    pub fn seed_auth_server(&mut self, server: AuthServer) {
        self.auth_servers
            .retain(|s| s.signature != server.signature);
        self.auth_servers.push(server);
    }

    pub fn seed_organization(&mut self, id: &str) {
        self.organizations.insert(id.to_owned());
    }

    pub fn seed_orgrole(&mut self, orgrole: &str) {
        self.orgroles.insert(orgrole.to_owned());
    }

    pub fn seed_user_permission(&mut self, permission: &str) {
        self.user_permissions.insert(permission.to_owned());
    }

    pub fn seed_account(&mut self, account: Account) {
        self.accounts.insert(account.username.clone(), account);
    }

    pub fn seed_certificate(&mut self, certificate: Certificate) {
        self.certificates.retain(|c| c.key != certificate.key);
        self.certificates.push(certificate);
    }

    // ---- operations ---------------------------------------------------------------------

    pub fn auth_servers(&self, active_only: bool) -> Vec<AuthServer> {
        self.auth_servers
            .iter()
            .filter(|s| s.active || !active_only)
            .cloned()
            .collect()
    }

    /// findUsers (docs/connectors/timeedit.md "Wire format"): case-insensitive *contains* on the search strings,
    /// AND-combined, empty = no filter; the auth server is a signature, matched exactly
    /// (ignoring case). Returns the requested page and the full match count.
    pub fn find_users(&self, query: &FindQuery) -> (Vec<User>, usize) {
        let contains = |haystack: &str, needle: &str| {
            needle.is_empty() || haystack.to_lowercase().contains(&needle.to_lowercase())
        };
        let mut matches: Vec<&User> = self
            .users
            .values()
            .map(|s| &s.user)
            .filter(|u| contains(&u.loginname, &query.loginname))
            .filter(|u| {
                query.authserver.is_empty() || u.authserver.eq_ignore_ascii_case(&query.authserver)
            })
            // The name search sees "first last" and "last first", so either order is found.
            .filter(|u| {
                contains(&format!("{} {}", u.firstname, u.lastname), &query.name)
                    || contains(&format!("{} {}", u.lastname, u.firstname), &query.name)
            })
            .filter(|u| contains(&u.email, &query.email))
            .filter(|u| u.allowlogin || !query.allowed_to_login_only)
            .collect();
        let sort_key = |u: &User| -> String {
            match query.sortorder.to_ascii_lowercase().as_str() {
                "firstname" => u.firstname.to_lowercase(),
                "lastname" => u.lastname.to_lowercase(),
                "email" => u.email.to_lowercase(),
                _ => u.loginname.to_lowercase(),
            }
        };
        // Stable over the store's (loginname, authserver) order, so pages never overlap.
        matches.sort_by_cached_key(|u| sort_key(u));
        let total = matches.len();
        let count = query.number_of_users.min(MAX_USERS_PER_FIND);
        let page = matches
            .into_iter()
            .skip(query.begin_index)
            .take(count)
            .cloned()
            .collect();
        (page, total)
    }

    /// getUsers / exportUsers: the users that exist, in request order; unknown keys are left
    /// out (these operations return users, not statuses).
    pub fn get_users(&self, keys: &[UserKey]) -> Vec<User> {
        keys.iter()
            .filter_map(|k| self.users.get(k))
            .map(|s| s.user.clone())
            .collect()
    }

    /// validateUsers: checks *new* users without storing them.
    pub fn validate_users(&self, inputs: &[UserInput]) -> Vec<UserStatus> {
        inputs
            .iter()
            .map(|input| {
                let key = input.key();
                let status = |code, message: String| UserStatus::new(key.clone(), code, message);
                if let Err((code, message)) = self.check_key(&key) {
                    return status(code, message);
                }
                if self.users.contains_key(&key) {
                    return status(StatusCode::AlreadyExists, "user already exists".into());
                }
                match self.check_user(input, &User::default()) {
                    Ok(_) => status(StatusCode::Ok, String::new()),
                    Err((code, message)) => status(code, message),
                }
            })
            .collect()
    }

    /// importUsers: upsert keyed by (loginname, authserver) (docs/connectors/timeedit.md "Wire format"); absent
    /// elements keep the stored value.
    pub fn import_users(&mut self, inputs: &[UserInput]) -> Vec<UserStatus> {
        inputs
            .iter()
            .map(|input| {
                let key = input.key();
                let status = |code, message: String| UserStatus::new(key.clone(), code, message);
                if let Err((code, message)) = self.check_key(&key) {
                    return status(code, message);
                }
                let base = self
                    .users
                    .get(&key)
                    .map_or_else(User::default, |s| s.user.clone());
                match self.check_user(input, &base) {
                    Ok(user) => {
                        let deletable = self.users.get(&key).is_none_or(|s| s.deletable);
                        self.users
                            .insert(key.clone(), StoredUser { user, deletable });
                        status(StatusCode::Ok, String::new())
                    }
                    Err((code, message)) => status(code, message),
                }
            })
            .collect()
    }

    /// deleteUsers: deletes, or, for a user that cannot be deleted, inactivates it when
    /// `inactivate` is set (docs/connectors/timeedit.md "Wire format" codes 5 and 6).
    pub fn delete_users(&mut self, keys: &[UserKey], inactivate: bool) -> Vec<UserStatus> {
        keys.iter()
            .map(|key| {
                let status = |code, message: &str| UserStatus::new(key.clone(), code, message);
                if key.0.trim().is_empty() || key.1.trim().is_empty() {
                    return status(
                        StatusCode::InvalidField,
                        "loginname and authserver are required",
                    );
                }
                match self.users.get_mut(key) {
                    None => status(StatusCode::NotFound, "user not found"),
                    Some(stored) if stored.deletable => {
                        self.users.remove(key);
                        status(StatusCode::Ok, "")
                    }
                    Some(stored) if inactivate => {
                        stored.user.allowlogin = false;
                        status(
                            StatusCode::Inactivated,
                            "user could not be deleted and was inactivated",
                        )
                    }
                    Some(_) => status(StatusCode::NotDeletable, "user could not be deleted"),
                }
            })
            .collect()
    }

    /// getPermissions: the calling account's permissions.
    pub fn account_permissions(&self, username: &str) -> Option<Vec<String>> {
        self.accounts.get(username).map(|a| a.permissions.clone())
    }

    /// getCurrentUserObjects: the account's objects grouped by the requested types (every
    /// type it has when none is requested).
    pub fn account_objects(
        &self,
        username: &str,
        types: &[String],
    ) -> Vec<(String, Vec<UserObject>)> {
        let objects = self
            .accounts
            .get(username)
            .map(|a| a.objects.as_slice())
            .unwrap_or_default();
        let mut wanted: Vec<String> = types.to_vec();
        if wanted.is_empty() {
            // No type filter: every type the account has objects of.
            let all: BTreeSet<&str> = objects.iter().map(|o| o.object_type.as_str()).collect();
            wanted = all.into_iter().map(str::to_owned).collect();
        }
        wanted
            .into_iter()
            .map(|t| {
                let of_type = objects
                    .iter()
                    .filter(|o| o.object_type.eq_ignore_ascii_case(&t))
                    .cloned()
                    .collect();
                (t, of_type)
            })
            .collect()
    }

    /// Status 1 for an empty key part or an unknown auth server.
    fn check_key(&self, key: &UserKey) -> Result<(), (StatusCode, String)> {
        if key.0.trim().is_empty() || key.1.trim().is_empty() {
            return Err((
                StatusCode::InvalidField,
                "loginname and authserver are required".into(),
            ));
        }
        if !self.auth_servers.iter().any(|s| s.signature == key.1) {
            return Err((
                StatusCode::InvalidField,
                format!("unknown authserver {:?}", key.1),
            ));
        }
        Ok(())
    }

    /// The user `input` makes of `base`: status 1 for a malformed boolean, 4 for an unknown
    /// organization, orgrole or permission.
    fn check_user(&self, input: &UserInput, base: &User) -> Result<User, (StatusCode, String)> {
        let user = input
            .apply_to(base)
            .map_err(|m| (StatusCode::InvalidField, m))?;
        let unknown = |kind: &str, value: &str| {
            (
                StatusCode::UnknownReference,
                format!("unknown {kind} {value:?}"),
            )
        };
        let orgs = user
            .organizations
            .iter()
            .chain((!user.standardorganization.is_empty()).then_some(&user.standardorganization));
        if let Some(org) = orgs.into_iter().find(|o| !self.organizations.contains(*o)) {
            return Err(unknown("organization", org));
        }
        if let Some(role) = user.orgroles.iter().find(|r| !self.orgroles.contains(*r)) {
            return Err(unknown("orgrole", role));
        }
        if let Some(p) = user
            .permissions
            .iter()
            .find(|p| !self.user_permissions.contains(*p))
        {
            return Err(unknown("permission", p));
        }
        Ok(user)
    }
}
