//! How to reach one TimeEdit instance: endpoint, namespace, and the API credentials.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use connector::ConnectorError;
use connector::Problem;
use connector::http::{EndpointConfig, HttpSettings};
use connector::mapping::MappingSettings;
use connector::metadata::MetadataCacheSettings;
use connector::secret::{Secret, SecretError};

/// The `timeedit` settings of a tenant (docs/connectors/timeedit.md "The vendor API"). Each secret is given inline or as a
/// file holding it (`certificate_file`, `password_file`), exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeEditSettings {
    /// The SOAP endpoint envelopes are posted to, e.g.
    /// `https://cloud.timeedit.net/soap/3/{instance}`.
    pub endpoint: String,
    /// Where the WSDL is; default `{endpoint}/wsdl`. Read only when `namespace` is not set.
    pub wsdl_url: Option<String>,
    /// The `tns` namespace URI. Unknown publicly (docs/connectors/timeedit.md "Wire format" [O]), so by default it is
    /// read from the WSDL's `targetNamespace`, once, at the first call.
    pub namespace: Option<String>,
    /// The certificate `register` trades for an application key.
    pub certificate: Option<Secret>,
    /// A file holding the certificate (trailing line break ignored).
    pub certificate_file: Option<PathBuf>,
    /// The API account of the Login object.
    pub username: String,
    pub password: Option<Secret>,
    /// A file holding the password (trailing line break ignored).
    pub password_file: Option<PathBuf>,
    /// The whole-call timeout in seconds (default: `http.timeout_secs`).
    pub timeout_secs: Option<u64>,
    /// Timeouts, retries and the outbound rate limit, as every vendor connector takes them.
    #[serde(default)]
    pub http: HttpSettings,
    /// The auth server users are keyed under, unless the connector's extension names another
    /// (docs/connectors/timeedit.md "SCIM mapping").
    #[serde(default = "default_auth_server")]
    pub auth_server: String,
    /// Check every auth server against `getAuthServers` (cached) before a user is written.
    #[serde(default = "yes")]
    pub check_auth_servers: bool,
    /// `deleteUsers`' `inactivate`: a user TimeEdit cannot delete is inactivated instead,
    /// so that its history stays.
    #[serde(default = "yes")]
    pub inactivate_on_delete: bool,
    /// At most this many users per `validateUsers` / `importUsers` call: writes that arrive
    /// together are sent together.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long the first write of a batch waits for others to join it.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
    /// How long `getAuthServers` and `getUserSortOrders` answers are trusted.
    #[serde(default)]
    pub metadata_cache: MetadataCacheSettings,
    /// Where each TimeEdit field takes its value from (docs/connectors/timeedit.md "Mapping").
    #[serde(default)]
    pub mapping: MappingSettings,
    /// The organizations Groups may stand for. Empty: TimeEdit is asked (a `validateUsers`
    /// of a user holding the organization) when a Group is created.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// What happens to a Group the mapping gives no organization.
    #[serde(default)]
    pub unmapped_groups: UnmappedGroups,
    /// What a change of a user's key (login name or auth server) does.
    #[serde(default)]
    pub rename: RenamePolicy,
}

/// What `POST /Groups` does with a Group the mapping gives no organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedGroups {
    /// 400, naming the mapping key to change.
    #[default]
    Refuse,
    /// Kept in scim-bridge only: its memberships reach no vendor.
    StoreOnly,
}

/// What a change of a user's TimeEdit key does. TimeEdit keys users by (login name, auth
/// server) and has no rename.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenamePolicy {
    /// 400 `mutability`, saying what to do.
    #[default]
    Refuse,
    /// Import the user under the new key with everything the old account had, then delete
    /// (or, with `inactivate_on_delete`, inactivate) the old account.
    Recreate,
}

fn default_auth_server() -> String {
    "timeedit".into()
}

fn yes() -> bool {
    true
}

fn default_batch_size() -> usize {
    100
}

fn default_batch_linger_ms() -> u64 {
    10
}

/// Why settings cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("timeedit: {0}")]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Client(#[from] ConnectorError),
}

impl TimeEditSettings {
    /// Everything wrong with these settings, keys relative to the table.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(connector::http::url_problem(
            "endpoint",
            &self.endpoint,
            "https://cloud.timeedit.net/soap/3/{instance}",
        ));
        for secret in [self.password().err(), self.certificate().err()] {
            if let Some(SettingsError::Secret(e)) = secret {
                problems.push(e.problem());
            }
        }
        if self.username.is_empty() {
            problems.push(Problem::new(
                "username",
                "is empty",
                "name the API account of the Login object",
            ));
        }
        if self.auth_server.is_empty() {
            problems.push(Problem::new(
                "auth_server",
                "is empty",
                "name an auth server signature, e.g. \"timeedit\"",
            ));
        }
        problems.extend(self.http.problems());
        if self.batch_size == 0 || self.batch_size > crate::MAX_USERS_PER_FIND as usize {
            problems.push(Problem::new(
                "batch_size",
                format!("{} is outside 1..=1000", self.batch_size),
                "use a value from 1 (no batching) to 1000",
            ));
        }
        problems.extend(self.metadata_cache.problems());
        if let Some(i) = self.organizations.iter().position(|o| o.trim().is_empty()) {
            problems.push(Problem::new(
                format!("organizations[{i}]"),
                "is empty",
                "name an organization TimeEdit has, e.g. \"all_teachers\"",
            ));
        }
        problems.extend(
            crate::mapping::Mappings::build(self)
                .err()
                .into_iter()
                .flatten(),
        );
        problems
    }

    /// Settings with inline secrets and the other fields at their defaults.
    pub fn new(
        endpoint: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
        certificate: impl Into<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            wsdl_url: None,
            namespace: None,
            certificate: Some(Secret::new(certificate)),
            certificate_file: None,
            username: username.into(),
            password: Some(Secret::new(password)),
            password_file: None,
            timeout_secs: None,
            http: HttpSettings::default(),
            auth_server: default_auth_server(),
            check_auth_servers: true,
            inactivate_on_delete: true,
            batch_size: default_batch_size(),
            batch_linger_ms: default_batch_linger_ms(),
            metadata_cache: MetadataCacheSettings::default(),
            mapping: MappingSettings::default(),
            organizations: Vec::new(),
            unmapped_groups: UnmappedGroups::default(),
            rename: RenamePolicy::default(),
        }
    }

    /// The WSDL location: `wsdl_url`, else `{endpoint}/wsdl` (docs/connectors/timeedit.md "The vendor API" [P 5]).
    pub fn wsdl_url(&self) -> String {
        match &self.wsdl_url {
            Some(url) => url.clone(),
            None => format!("{}/wsdl", self.endpoint.trim_end_matches('/')),
        }
    }

    /// The shared HTTP defaults for the endpoint, with `timeout_secs` applied.
    pub fn endpoint_config(&self) -> EndpointConfig {
        let mut config = self.http.endpoint(&self.endpoint);
        if let Some(secs) = self.timeout_secs {
            config.timeout = Duration::from_secs(secs);
        }
        config
    }

    /// The certificate, read from its file if it is given that way.
    pub fn certificate(&self) -> Result<Secret, SettingsError> {
        Ok(Secret::resolve(
            "certificate",
            self.certificate.as_ref(),
            self.certificate_file.as_deref(),
        )?)
    }

    /// The password, read from its file if it is given that way.
    pub fn password(&self) -> Result<Secret, SettingsError> {
        Ok(Secret::resolve(
            "password",
            self.password.as_ref(),
            self.password_file.as_deref(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings = TimeEditSettings::new("http://h/soap/3/x", "api", "hunter2", "cert-123");
        let debug = format!("{settings:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("cert-123"),
            "{debug}"
        );
        assert!(debug.contains("***"), "{debug}");
    }

    #[test]
    fn settings_deserialize_strictly_with_defaults() {
        let settings: TimeEditSettings = serde_json::from_value(serde_json::json!({
            "endpoint": "http://h/soap/3/x/",
            "username": "api",
            "password": "p",
            "certificate": "c",
            "timeout_secs": 7
        }))
        .expect("settings");
        assert_eq!(settings.wsdl_url(), "http://h/soap/3/x/wsdl");
        assert_eq!(settings.namespace, None);
        assert_eq!(settings.endpoint_config().timeout, Duration::from_secs(7));
        assert_eq!(settings.password().expect("password").expose(), "p");
        assert_eq!(settings.metadata_cache, MetadataCacheSettings::default());
        assert!(settings.problems().is_empty());
        let unknown = serde_json::from_value::<TimeEditSettings>(serde_json::json!({
            "endpoint": "e", "username": "u", "pasword": "typo"
        }));
        assert!(unknown.is_err(), "unknown fields are refused");
    }

    #[test]
    fn metadata_cache_problems_name_their_key() {
        let settings: TimeEditSettings = serde_json::from_value(serde_json::json!({
            "endpoint": "http://h/soap/3/x", "username": "api", "password": "p",
            "certificate": "c", "metadata_cache": {"ttl_secs": 0, "max_entries": 50}
        }))
        .expect("settings");
        assert_eq!(settings.metadata_cache.max_entries, 50);
        let keys: Vec<String> = settings.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["metadata_cache.ttl_secs"]);
    }

    #[test]
    fn secrets_come_from_exactly_one_place() {
        let dir = std::env::temp_dir().join(format!("te-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("password");
        std::fs::write(&file, "from file\r\n").expect("write");
        let mut settings = TimeEditSettings::new("http://h", "api", "p", "c");
        settings.password = None;
        settings.password_file = Some(file.clone());
        assert_eq!(settings.password().expect("file").expose(), "from file");
        settings.password = Some(Secret::new("p"));
        assert!(matches!(
            settings.password(),
            Err(SettingsError::Secret(SecretError::Both("password")))
        ));
        settings.password = None;
        settings.password_file = Some(dir.join("missing"));
        assert!(matches!(
            settings.password(),
            Err(SettingsError::Secret(SecretError::File { .. }))
        ));
        settings.certificate = None;
        assert!(matches!(
            settings.certificate(),
            Err(SettingsError::Secret(SecretError::Missing("certificate")))
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
