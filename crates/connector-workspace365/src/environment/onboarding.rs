//! What both Workspace 365 connectors do through the environment API besides their own API
//! (docs/connectors/workspace365.md "The environment API"): a welcome activity for each user
//! they create, and the integration credentials the connector's extension carries.

use scim::json::get_ci;
use scim::schema::{AttrType, Attribute, Mutability, Returned};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    ActivityData, CredentialsUpdate, EnvApi, EnvApiError, EnvironmentApiSettings,
    IntegrationCredentials, NewActivity, UserLookup,
};
use connector::secret::Secret;
use connector::{ConnectorError, Problem};

/// The activity a new user finds in their feed. `{firstName}`, `{lastName}` and `{email}` in
/// `title` are replaced with the user's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WelcomeActivity {
    pub title: String,
    #[serde(default)]
    pub url: Option<String>,
    /// An icon name, e.g. `Phone`.
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
}

/// The person a welcome activity names.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// The user principal name the environment API finds the user by.
    pub upn: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// The welcome activity's title: `{firstName}`, `{lastName}`, `{email}` replaced.
pub fn welcome_title(template: &str, person: &Person<'_>) -> String {
    template
        .replace("{firstName}", person.first_name)
        .replace("{lastName}", person.last_name)
        .replace("{email}", person.email)
}

/// The `integrationCredentials` attribute of a connector's User extension: write-only.
pub fn credentials_attribute() -> Attribute {
    Attribute::complex(
        "integrationCredentials",
        vec![
            Attribute::new("username", AttrType::String)
                .describe("An e-mail address; default: the user's address")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
            Attribute::new("password", AttrType::String)
                .case_exact()
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never),
        ],
    )
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never)
    .describe("Credentials Workspace 365 keeps for the user's integrations (needs the connector's environment_api)")
}

/// The credentials in a User's `extension`, the username defaulting to `address`.
pub fn credentials_of(
    extension: Option<&Map<String, Value>>,
    address: &str,
) -> Option<IntegrationCredentials> {
    let credentials = extension
        .and_then(|e| get_ci(e, "integrationCredentials"))
        .and_then(Value::as_object)?;
    let password = get_ci(credentials, "password")?.as_str()?;
    let username = get_ci(credentials, "username")
        .and_then(Value::as_str)
        .filter(|u| !u.trim().is_empty())
        .unwrap_or(address);
    Some(IntegrationCredentials {
        username: username.to_owned(),
        password: Secret::new(password),
    })
}

/// The checks of `environment_api` and `welcome_activity`, as both connectors take them.
pub fn problems(
    environment_api: Option<&EnvironmentApiSettings>,
    welcome: Option<&WelcomeActivity>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(env) = environment_api {
        problems.extend(
            env.problems()
                .into_iter()
                .map(|p| p.under("environment_api")),
        );
    }
    if let Some(welcome) = welcome {
        if environment_api.is_none() {
            problems.push(Problem::new(
                "welcome_activity",
                "needs the environment API",
                "add an [environment_api] table with base_url and token",
            ));
        }
        if welcome.title.trim().is_empty() {
            problems.push(Problem::new(
                "welcome_activity.title",
                "is empty",
                "give the text the new user sees",
            ));
        }
    }
    problems
}

/// The environment API calls a connector makes for the users it provisions.
#[derive(Debug)]
pub struct Onboarding {
    env: Option<EnvApi>,
    welcome: Option<WelcomeActivity>,
}

impl Onboarding {
    /// For these settings (no call is made until the first user).
    pub fn new(
        context: &connector::Context,
        environment_api: Option<&EnvironmentApiSettings>,
        environment: &str,
        welcome: Option<WelcomeActivity>,
    ) -> Result<Onboarding, ConnectorError> {
        Ok(Onboarding {
            env: environment_api
                .map(|env| EnvApi::new(context, env, environment))
                .transpose()?,
            welcome,
        })
    }

    /// The environment API client, when configured.
    pub fn api(&self) -> Option<&EnvApi> {
        self.env.as_ref()
    }

    /// Refuses credentials the connector cannot store.
    pub fn check(
        &self,
        credentials: Option<&IntegrationCredentials>,
    ) -> Result<(), ConnectorError> {
        if credentials.is_some() && self.env.is_none() {
            return Err(ConnectorError::Rejected {
                reason: "integrationCredentials need the Workspace 365 environment API, which this connector is not configured for".into(),
            });
        }
        Ok(())
    }

    /// Posts the configured welcome activity; a failure is logged, not returned (the user
    /// exists, and a retry would not welcome it twice).
    pub async fn welcome(&self, person: &Person<'_>, request_id: Option<&str>) -> Option<u64> {
        let (Some(welcome), Some(env)) = (&self.welcome, &self.env) else {
            return None;
        };
        let activity = NewActivity {
            user: UserLookup::Upn(person.upn.to_owned()),
            data: ActivityData {
                icon: welcome.icon.clone(),
                title: welcome_title(&welcome.title, person),
                url: welcome.url.clone(),
                tag: welcome.tag.clone(),
                color: None,
                actions: Vec::new(),
            },
        };
        match env.post_activity(&activity, request_id).await {
            Ok(created) => Some(created.id),
            Err(e) => {
                tracing::warn!(
                    upn = person.upn,
                    request_id,
                    error = %e,
                    "the user was created, but the welcome activity could not be posted"
                );
                None
            }
        }
    }

    /// Sends the user's integration credentials: an update of the record `existing` names,
    /// else a new record. Returns the record's id (`existing` when there are none to send).
    pub async fn push_credentials(
        &self,
        upn: &str,
        credentials: Option<&IntegrationCredentials>,
        existing: Option<u64>,
        request_id: Option<&str>,
    ) -> Result<Option<u64>, ConnectorError> {
        let Some(credentials) = credentials else {
            return Ok(existing);
        };
        let Some(env) = &self.env else {
            return Err(ConnectorError::Rejected {
                reason: "integrationCredentials need the Workspace 365 environment API".into(),
            });
        };
        if let Some(id) = existing {
            match env
                .update_integration_credentials(id, credentials, request_id)
                .await?
            {
                CredentialsUpdate::Updated => return Ok(Some(id)),
                CredentialsUpdate::NotFound => {
                    tracing::info!(
                        id,
                        upn,
                        request_id,
                        "the integration credentials are gone at the vendor; creating them again"
                    );
                }
            }
        }
        match env
            .create_integration_credentials(upn, credentials, request_id)
            .await
        {
            Ok(id) => Ok(Some(id)),
            // Users reach the environment API some time after their own API made them.
            Err(EnvApiError::NotFound(e)) => Err(ConnectorError::Unavailable {
                reason: format!(
                    "the Workspace 365 environment API does not know {upn} yet ({e}); the integration credentials were not stored"
                ),
                retry_after: None,
            }),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn welcome_titles_name_the_user() {
        let person = Person {
            upn: "a@x.nl",
            first_name: "Ann",
            last_name: "B",
            email: "a@x.nl",
        };
        assert_eq!(
            welcome_title("Welcome {firstName} ({email})", &person),
            "Welcome Ann (a@x.nl)"
        );
    }

    #[test]
    fn credentials_default_their_username_to_the_address() {
        let ext = json!({"integrationCredentials": {"password": "s3cret"}});
        assert_eq!(
            credentials_of(ext.as_object(), "a@x.nl"),
            Some(IntegrationCredentials {
                username: "a@x.nl".into(),
                password: Secret::new("s3cret")
            })
        );
        assert_eq!(credentials_of(None, "a@x.nl"), None);
    }
}
