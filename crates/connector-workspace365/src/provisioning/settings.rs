//! The `[connectors.<name>.workspace365]` table.

use std::path::PathBuf;

use serde::Deserialize;

use crate::environment::EnvironmentApiSettings;
pub use crate::environment::WelcomeActivity;
use connector::Problem;
use connector::http::HttpSettings;
use connector::mapping::MappingSettings;
use connector::secret::{Secret, SecretError};

/// Shortest and longest generated password we accept in the configuration.
pub const MIN_GENERATED_PASSWORD: usize = 12;
pub const MAX_GENERATED_PASSWORD: usize = 128;

/// How a `workspace365` connector reaches the Provisioning API and what its policies are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace365Settings {
    /// The Provisioning API root, e.g. `https://portal.workspace365.net/Provisioning`
    /// (docs/connectors/workspace365.md "The vendor API").
    pub base_url: String,
    /// The `{EnvironmentName}` path segment, e.g. `example`.
    pub environment: String,
    /// The instance's `ProvisioningKey` (or `provisioning_key_file`, a file holding it).
    #[serde(default)]
    pub provisioning_key: Option<Secret>,
    #[serde(default)]
    pub provisioning_key_file: Option<PathBuf>,
    /// Ask the vendor's Validate endpoints (W2, W4) before creating or updating, so that a
    /// refusal is learnt before anything changes.
    #[serde(default = "yes")]
    pub validate_first: bool,
    /// What a create without a SCIM `password` does.
    #[serde(default)]
    pub password_policy: PasswordPolicy,
    /// Length of a generated password.
    #[serde(default = "default_password_length")]
    pub generated_password_length: usize,
    /// `CreateInOffice365` when the SCIM extension does not say.
    #[serde(default)]
    pub create_in_office365: bool,
    /// `IsAdministrator` when the SCIM extension does not say.
    #[serde(default)]
    pub is_administrator: bool,
    /// When the vendor already has the address a create asks for, take that account over and
    /// update it (true), or answer 409 (false). Replays after a crash rely on adoption.
    #[serde(default = "yes")]
    pub adopt_existing: bool,
    /// The environment API, for the welcome activity and integration credentials.
    #[serde(default)]
    pub environment_api: Option<EnvironmentApiSettings>,
    /// An activity posted to each user the connector creates (needs `environment_api`).
    #[serde(default)]
    pub welcome_activity: Option<WelcomeActivity>,
    #[serde(default)]
    pub http: HttpSettings,
    /// Where each Workspace 365 field takes its value from (docs/connectors/workspace365.md
    /// "Mapping").
    #[serde(default)]
    pub mapping: MappingSettings,
}

fn yes() -> bool {
    true
}

fn default_password_length() -> usize {
    24
}

/// What a create without a SCIM `password` does (the vendor requires one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordPolicy {
    /// Send a strong random password, never stored or logged: the user signs in another way
    /// (Office 365 / SSO) or has it reset.
    #[default]
    Generate,
    /// Refuse the create (400): the SCIM client must send a password.
    Refuse,
}

impl Workspace365Settings {
    /// Settings for a simulator or a test: this API root, environment and key, everything
    /// else default.
    pub fn new(
        base_url: impl Into<String>,
        environment: impl Into<String>,
        provisioning_key: impl Into<String>,
    ) -> Self {
        Workspace365Settings {
            base_url: base_url.into(),
            environment: environment.into(),
            provisioning_key: Some(Secret::new(provisioning_key)),
            provisioning_key_file: None,
            validate_first: true,
            password_policy: PasswordPolicy::default(),
            generated_password_length: default_password_length(),
            create_in_office365: false,
            is_administrator: false,
            adopt_existing: true,
            environment_api: None,
            welcome_activity: None,
            http: HttpSettings::default(),
            mapping: MappingSettings::default(),
        }
    }

    /// The key, from the setting or its file.
    pub fn key(&self) -> Result<Secret, SecretError> {
        Secret::resolve(
            "provisioning_key",
            self.provisioning_key.as_ref(),
            self.provisioning_key_file.as_deref(),
        )
    }

    /// Everything wrong with these settings, keys relative to the table.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(connector::http::url_problem(
            "base_url",
            &self.base_url,
            "https://portal.workspace365.net/Provisioning",
        ));
        if self.environment.trim().is_empty() {
            problems.push(Problem::new(
                "environment",
                "is empty",
                "name the Workspace 365 environment, e.g. \"example\"",
            ));
        }
        problems.extend(self.key().err().map(|e| e.problem()));
        if !(MIN_GENERATED_PASSWORD..=MAX_GENERATED_PASSWORD)
            .contains(&self.generated_password_length)
        {
            problems.push(Problem::new(
                "generated_password_length",
                format!(
                    "{} is outside {MIN_GENERATED_PASSWORD}..={MAX_GENERATED_PASSWORD}",
                    self.generated_password_length
                ),
                "remove the key to use the default, 24",
            ));
        }
        problems.extend(crate::environment::onboarding::problems(
            self.environment_api.as_ref(),
            self.welcome_activity.as_ref(),
        ));
        problems.extend(self.http.problems());
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
        let s = Workspace365Settings::new("https://portal.workspace365.net/Provisioning", "x", "k");
        assert!(s.problems().is_empty());
        assert!(s.validate_first && s.adopt_existing);
        assert_eq!(s.password_policy, PasswordPolicy::Generate);
        assert_eq!(s.generated_password_length, 24);

        let mut bad = Workspace365Settings::new("ftp://x", " ", "");
        bad.generated_password_length = 8;
        bad.welcome_activity = Some(WelcomeActivity {
            title: String::new(),
            url: None,
            icon: None,
            tag: None,
        });
        let keys: Vec<String> = bad.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "base_url",
                "environment",
                "provisioning_key",
                "generated_password_length",
                "welcome_activity",
                "welcome_activity.title"
            ]
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let s = Workspace365Settings::new("https://x/Provisioning", "x", "C7656554-secret");
        assert!(!format!("{s:?}").contains("C7656554"));
    }
}
