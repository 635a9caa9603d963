//! The `[connectors.<name>.mytimetable]` table.

use std::path::PathBuf;

use serde::Deserialize;

use connector::Problem;
use connector::http::HttpSettings;
use connector::mapping::MappingSettings;
use connector::secret::{Secret, SecretError};

/// How a `mytimetable` connector reaches the vendor and what its policies are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyTimetableSettings {
    /// The provisioning API root, `$base_url/api/v0` (docs/connectors/mytimetable.md "The vendor API"), e.g.
    /// `https://mytimetable.example.edu/api/v0`.
    pub base_url: String,
    /// The admin `apiToken` (or `api_token_file`, a file holding it).
    #[serde(default)]
    pub api_token: Option<Secret>,
    #[serde(default)]
    pub api_token_file: Option<PathBuf>,
    /// Synchronization types every active user gets when the SCIM extension names none
    /// (e.g. `["o365"]`); empty for none.
    #[serde(default)]
    pub default_sync_types: Vec<String>,
    /// The types whose synchronizations carry `provisioning_smtpAddress` (the user's primary
    /// e-mail): the pre-delegated EWS and pre-authorized Office 365 adapters (docs/connectors/mytimetable.md "Vendor calls").
    #[serde(default = "smtp_address_types")]
    pub smtp_address_types: Vec<String>,
    /// How removed synchronizations treat the events they pushed.
    #[serde(default)]
    pub unlink_mode: UnlinkMode,
    /// What a `userName` change does.
    #[serde(default)]
    pub rename: RenamePolicy,
    #[serde(default)]
    pub http: HttpSettings,
    /// Which version of the API the instance speaks.
    #[serde(default)]
    pub api_profile: ApiProfile,
    /// Where each MyTimetable field takes its value from (docs/connectors/mytimetable.md
    /// "Mapping").
    #[serde(default)]
    pub mapping: MappingSettings,
}

/// The API version of the instance (docs/connectors/mytimetable.md "Later versions of the API").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ApiProfile {
    /// Version 8: usernames and synchronizations only.
    #[default]
    #[serde(rename = "v8")]
    V8,
    /// 2019.16 and later: a user also has a profile (display name, locale, attributes,
    /// roles), written with `PUT /users/{username}`.
    #[serde(rename = "2019.16+")]
    V2019,
}

fn smtp_address_types() -> Vec<String> {
    vec!["ews".into(), "o365".into()]
}

/// `unlinkMode` of `DELETE /synchronizations/{id}` (seed 000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnlinkMode {
    /// Leave the pushed events in the calendar.
    #[default]
    UnlinkOnly,
    /// Remove the future events this synchronization pushed.
    DeleteFutureEvents,
    /// Remove every event this synchronization pushed.
    DeleteAllEvents,
    /// Remove every event this MyTimetable instance pushed, whatever the synchronization.
    Cleanup,
}

impl UnlinkMode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            UnlinkMode::UnlinkOnly => "UNLINK_ONLY",
            UnlinkMode::DeleteFutureEvents => "DELETE_FUTURE_EVENTS",
            UnlinkMode::DeleteAllEvents => "DELETE_ALL_EVENTS",
            UnlinkMode::Cleanup => "CLEANUP",
        }
    }
}

/// What a `userName` change does. MyTimetable keys everything by username and cannot rename.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenamePolicy {
    /// Refuse with 400 `mutability` (docs/connectors/mytimetable.md "SCIM mapping"): the calendar links stay intact.
    #[default]
    Refuse,
    /// Remove the old account (its synchronizations with `unlink_mode`) and create the new one.
    Recreate,
}

impl MyTimetableSettings {
    /// Settings for a simulator or a test: this base URL and token, everything else default.
    pub fn new(base_url: impl Into<String>, api_token: impl Into<String>) -> Self {
        MyTimetableSettings {
            base_url: base_url.into(),
            api_token: Some(Secret::new(api_token)),
            api_token_file: None,
            default_sync_types: Vec::new(),
            smtp_address_types: smtp_address_types(),
            unlink_mode: UnlinkMode::default(),
            rename: RenamePolicy::default(),
            http: HttpSettings::default(),
            api_profile: ApiProfile::default(),
            mapping: MappingSettings::default(),
        }
    }

    /// The token, from the setting or its file.
    pub fn token(&self) -> Result<Secret, SecretError> {
        Secret::resolve(
            "api_token",
            self.api_token.as_ref(),
            self.api_token_file.as_deref(),
        )
    }

    /// Everything wrong with these settings, keys relative to the table.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        problems.extend(connector::http::url_problem(
            "base_url",
            &self.base_url,
            "https://mytimetable.example.edu/api/v0",
        ));
        problems.extend(self.token().err().map(|e| e.problem()));
        if self.default_sync_types.iter().any(|t| t.trim().is_empty()) {
            problems.push(Problem::new(
                "default_sync_types",
                "a synchronization type is empty",
                "name calendar providers, e.g. [\"o365\"]",
            ));
        }
        problems.extend(self.http.problems());
        problems.extend(
            crate::mapping::Mappings::build(self)
                .err()
                .into_iter()
                .flatten(),
        );
        problems
    }
}
