//! The `[connectors.<name>.workspace365-adsync]` table.

use std::path::PathBuf;

use serde::Deserialize;

use connector::Problem;
use connector::http::HttpSettings;
use connector::mapping::MappingSettings;
use connector::secret::{Secret, SecretError};

use crate::environment::{EnvironmentApiSettings, WelcomeActivity};

/// What A9 accepts (docs/connectors/workspace365-adsync.md "Vendor calls" [O]: 4 MiB), and so the default cap on a picture.
pub const DEFAULT_MAX_PICTURE_BYTES: usize = 4 * 1024 * 1024;

/// How a `workspace365-adsync` connector reaches the ActiveDirectorySync API and what its
/// policies are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdSyncSettings {
    /// The Workspace 365 instance root, before `/{EnvironmentName}`, e.g.
    /// `https://portal.workspace365.net`.
    pub base_url: String,
    /// The `{EnvironmentName}` path segment.
    pub environment: String,
    /// The AD-sync token (or `token_file`, a file holding it); sent as `Basic base64(token:)`.
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Which SCIM attribute is the vendor's ObjectId, for Users and Groups alike.
    #[serde(default)]
    pub object_id: ObjectIdSource,
    /// The path form of the nested-group membership calls A7/A8.
    #[serde(default)]
    pub nested_group_path: NestedGroupPath,
    /// Hosts (`host` or `host:port`) whose https `photos` URLs are fetched; empty: only
    /// `data:` URIs are taken. No other address is ever requested.
    #[serde(default)]
    pub allowed_picture_hosts: Vec<String>,
    /// The largest picture fetched, decoded or uploaded, in bytes.
    #[serde(default = "default_max_picture_bytes")]
    pub max_picture_bytes: usize,
    /// Tests only: also fetch `http://` picture URLs from the allowed hosts (a local test
    /// server has no certificate). Never set this in production.
    #[serde(default)]
    pub allow_http_for_tests: bool,
    #[serde(default)]
    pub http: HttpSettings,
    /// The environment API, for the welcome activity and integration credentials (as the
    /// `workspace365` connector takes it).
    #[serde(default)]
    pub environment_api: Option<EnvironmentApiSettings>,
    /// An activity posted to each user the connector creates (needs `environment_api`).
    #[serde(default)]
    pub welcome_activity: Option<WelcomeActivity>,
    /// Where each Workspace 365 field takes its value from
    /// (docs/connectors/workspace365-adsync.md "Mapping").
    #[serde(default)]
    pub mapping: MappingSettings,
}

fn default_max_picture_bytes() -> usize {
    DEFAULT_MAX_PICTURE_BYTES
}

/// Where a resource's ObjectId GUID comes from (docs/connectors/workspace365-adsync.md "SCIM mapping").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ObjectIdSource {
    /// The SCIM `id` (a UUID the gateway generated).
    #[default]
    #[serde(rename = "id")]
    Id,
    /// The SCIM `externalId`, which must be a GUID (Entra ID sends its objectId there).
    #[serde(rename = "externalId")]
    ExternalId,
}

/// How A7/A8 (group in group) are addressed (docs/connectors/workspace365-adsync.md "Nested groups").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NestedGroupPath {
    /// The seed's literal `/{target}/Groups/{group}`.
    #[default]
    Seed,
    /// `/Groups/{target}/Groups/{group}`, in line with every other route.
    Prefixed,
}

impl AdSyncSettings {
    /// Settings for a simulator or a test: this base URL, environment and token, everything
    /// else default.
    pub fn new(
        base_url: impl Into<String>,
        environment: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        AdSyncSettings {
            base_url: base_url.into(),
            environment: environment.into(),
            token: Some(Secret::new(token)),
            token_file: None,
            object_id: ObjectIdSource::default(),
            nested_group_path: NestedGroupPath::default(),
            allowed_picture_hosts: Vec::new(),
            max_picture_bytes: DEFAULT_MAX_PICTURE_BYTES,
            allow_http_for_tests: false,
            http: HttpSettings::default(),
            environment_api: None,
            welcome_activity: None,
            mapping: MappingSettings::default(),
        }
    }

    /// The token, from the setting or its file.
    pub fn token(&self) -> Result<Secret, SecretError> {
        Secret::resolve("token", self.token.as_ref(), self.token_file.as_deref())
    }

    /// Everything wrong with these settings, keys relative to the table.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(connector::http::url_problem(
            "base_url",
            &self.base_url,
            "https://portal.workspace365.net",
        ));
        if self.environment.trim().is_empty() || self.environment.contains('/') {
            problems.push(Problem::new(
                "environment",
                format!("\"{}\" is not an environment name", self.environment),
                "give the {EnvironmentName} of the environment's URL, e.g. \"contoso\"",
            ));
        }
        problems.extend(self.token().err().map(|e| e.problem()));
        for host in &self.allowed_picture_hosts {
            if host.trim().is_empty() || host.contains(['/', '@', '*']) {
                problems.push(Problem::new(
                    "allowed_picture_hosts",
                    format!("\"{host}\" is not a host name"),
                    "list host names (or host:port), e.g. [\"pictures.example.com\"]",
                ));
            }
        }
        if self.max_picture_bytes == 0 {
            problems.push(Problem::new(
                "max_picture_bytes",
                "must be greater than 0",
                format!("remove the key to use the default ({DEFAULT_MAX_PICTURE_BYTES})"),
            ));
        }
        problems.extend(self.http.problems());
        problems.extend(crate::environment::onboarding::problems(
            self.environment_api.as_ref(),
            self.welcome_activity.as_ref(),
        ));
        problems.extend(
            super::mapping::Mappings::build(self)
                .err()
                .into_iter()
                .flatten(),
        );
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_problems() {
        let mut s = AdSyncSettings::new("https://w365.example", "contoso", "t");
        assert!(s.problems().is_empty());
        assert_eq!(s.object_id, ObjectIdSource::Id);
        assert_eq!(s.nested_group_path, NestedGroupPath::Seed);
        s.environment = "a/b".into();
        s.allowed_picture_hosts = vec!["*.example.com".into()];
        s.token = None;
        let keys: Vec<String> = s.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["environment", "token", "allowed_picture_hosts"]);
        assert_eq!(
            format!("{:?}", AdSyncSettings::new("x", "y", "hunter2"))
                .matches("hunter2")
                .count(),
            0
        );
    }

    #[test]
    fn reads_the_config_names() {
        let s: AdSyncSettings = serde_json::from_value(serde_json::json!({
            "base_url": "https://w365.example", "environment": "contoso", "token_file": "/run/t",
            "object_id": "externalId", "nested_group_path": "prefixed",
            "allowed_picture_hosts": ["pictures.example.com"], "max_picture_bytes": 1000,
            "http": {"timeout_secs": 5}
        }))
        .expect("settings");
        assert_eq!(s.object_id, ObjectIdSource::ExternalId);
        assert_eq!(s.nested_group_path, NestedGroupPath::Prefixed);
        assert_eq!(s.max_picture_bytes, 1000);
        assert!(!s.allow_http_for_tests);
        assert!(
            serde_json::from_value::<AdSyncSettings>(serde_json::json!({
                "base_url": "x", "environment": "y", "object_id": "upn"
            }))
            .is_err()
        );
    }
}
