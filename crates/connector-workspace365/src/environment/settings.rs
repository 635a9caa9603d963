//! The `environment_api` table: where the environment API is and the key that opens it.

use std::path::PathBuf;

use connector::Problem;
use connector::http::HttpSettings;
use connector::metadata::MetadataCacheSettings;
use connector::secret::{Secret, SecretError};
use serde::Deserialize;

/// The `environment_api` table: where the environment API is and the key that opens it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentApiSettings {
    /// The Workspace 365 instance root, e.g. `https://portal.workspace365.net` (the paths are
    /// `/{Environment}/api/…` under it).
    pub base_url: String,
    /// The `{EnvironmentName}`; when absent, the one the connector is configured with.
    #[serde(default)]
    pub environment: Option<String>,
    /// An API key from Settings → Integrations → API settings (or `token_file`).
    #[serde(default)]
    pub token: Option<Secret>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub http: HttpSettings,
    /// How long app icon reads are trusted, and how many are kept.
    #[serde(default)]
    pub metadata_cache: MetadataCacheSettings,
}

impl EnvironmentApiSettings {
    /// Settings for this instance root and key, everything else default.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        EnvironmentApiSettings {
            base_url: base_url.into(),
            environment: None,
            token: Some(Secret::new(token)),
            token_file: None,
            http: HttpSettings::default(),
            metadata_cache: MetadataCacheSettings::default(),
        }
    }

    /// The key, from the setting or its file.
    pub fn token(&self) -> Result<Secret, SecretError> {
        Secret::resolve("token", self.token.as_ref(), self.token_file.as_deref())
    }

    /// Everything wrong with these settings, as (key, problem, fix); keys are relative to
    /// the table.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(connector::http::url_problem(
            "base_url",
            &self.base_url,
            "https://portal.workspace365.net",
        ));
        if self
            .environment
            .as_deref()
            .is_some_and(|e| e.trim().is_empty())
        {
            problems.push(Problem::new(
                "environment",
                "is empty",
                "name the environment, or remove the key to use the connector's",
            ));
        }
        problems.extend(self.token().err().map(|e| e.problem()));
        problems.extend(self.http.problems());
        problems.extend(self.metadata_cache.problems());
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_problems_name_each_key() {
        let mut s = EnvironmentApiSettings::new("portal.workspace365.net", "t");
        s.environment = Some(" ".into());
        s.token = None;
        s.metadata_cache.max_bytes = 0;
        let keys: Vec<String> = s.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "environment",
                "token",
                "metadata_cache.max_bytes"
            ]
        );
        assert!(
            EnvironmentApiSettings::new("https://portal.workspace365.net", "t")
                .problems()
                .is_empty()
        );
    }
}
