//! The Workspace 365 Provisioning API, User part (docs/connectors/workspace365.md "Vendor calls", seed 002), as typed calls
//! over the shared [`VendorClient`]. Every path ends with `/` and carries the e-mail address
//! as one encoded segment; every request carries `ProvisioningKey` and
//! `X-Requested-With: XMLHttpRequest`.
//!
//! Only the create (W1) is unsafe to repeat: a second POST after a lost answer would meet the
//! first's account (a duplicate). Validation, update, activate, deactivate and delete are
//! retried like any safe call.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::mapping::VendorUser;
use crate::path::segment;
use connector::ConnectorError;
use connector::http::{Repeat, VendorClient, VendorResponse};
use connector::secret::Secret;

/// The header the key travels in (docs/connectors/workspace365.md "The vendor API").
const KEY_HEADER: &str = "ProvisioningKey";

/// The address a probe validates: no mailbox can have it (`.invalid`, RFC 2606), so the
/// answer never concerns a real user.
pub const PROBE_ADDRESS: &str = "scim-bridge-probe@probe.invalid";

/// The User object of W1–W4. `Debug` never shows the password.
#[derive(Clone, Copy)]
pub struct UserBody<'a> {
    pub user: &'a VendorUser,
    /// W1 needs one; on W3 an absent password means "unchanged" (docs/connectors/workspace365.md "Quirks").
    pub password: Option<&'a Secret>,
    /// Create only (W1, W2); W3/W4 do not take it.
    pub create_in_office365: Option<bool>,
}

impl UserBody<'_> {
    /// The JSON the vendor binds; `Password` and `CreateInOffice365` only when set.
    pub(crate) fn to_json(self) -> String {
        let mut body = Map::new();
        body.insert("EmailAddress".into(), json!(self.user.email_address));
        body.insert("FirstName".into(), json!(self.user.first_name));
        body.insert("LastName".into(), json!(self.user.last_name));
        body.insert("IsAdministrator".into(), json!(self.user.is_administrator));
        if let Some(password) = self.password {
            body.insert("Password".into(), json!(password.expose()));
        }
        if let Some(o365) = self.create_in_office365 {
            body.insert("CreateInOffice365".into(), json!(o365));
        }
        Value::Object(body).to_string()
    }
}

impl std::fmt::Debug for UserBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserBody")
            .field("user", self.user)
            .field("password", &self.password.map(|_| "***"))
            .field("create_in_office365", &self.create_in_office365)
            .finish()
    }
}

/// One entry of a 400 `[ValidationResult]` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationMessage {
    /// The body fields it is about (`EmailAddress`, …); may be empty.
    pub members: Vec<String>,
    pub message: String,
}

/// What a 500 from the Provisioning API may mean, in its reason.
const CANNOT_BIND: &str = "the vendor also answers 500 to a body it cannot bind";

/// Why a Provisioning call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProvisioningError {
    /// 400: the vendor's validation results.
    Invalid(Vec<ValidationMessage>),
    /// 404: no such user (or no such environment, which is every route's 404).
    NotFound,
    /// Anything else, already classified.
    Failed(ConnectorError),
}

impl From<ConnectorError> for ProvisioningError {
    fn from(e: ConnectorError) -> Self {
        ProvisioningError::Failed(e)
    }
}

/// Reads a 400 body leniently (docs/connectors/workspace365.md "Quirks" [O]): a list (or one) of objects with
/// `ErrorMessage`/`errorMessage`/`Message` and `MemberNames`/`memberNames`/`PropertyName`;
/// anything else becomes one message holding the text.
pub fn parse_validation(body: &[u8]) -> Vec<ValidationMessage> {
    fn field<'a>(o: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
        names.iter().find_map(|n| scim::json::get_ci(o, n))
    }
    fn one(o: &Map<String, Value>) -> Option<ValidationMessage> {
        let message = field(o, &["ErrorMessage", "Message"])?.as_str()?.to_owned();
        let members = match field(o, &["MemberNames", "PropertyName"]) {
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(name)) => vec![name.clone()],
            _ => Vec::new(),
        };
        Some(ValidationMessage { members, message })
    }
    let parsed = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(one)
            .collect(),
        Ok(Value::Object(o)) => one(&o).into_iter().collect(),
        _ => Vec::new(),
    };
    if !parsed.is_empty() {
        return parsed;
    }
    let text = String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(1024)
        .collect::<String>();
    vec![ValidationMessage {
        members: Vec::new(),
        message: if text.is_empty() {
            "the vendor gave no reason".into()
        } else {
            text
        },
    }]
}

/// An authenticated client of one environment's Provisioning API.
#[derive(Debug, Clone)]
pub struct ProvisioningApi {
    client: VendorClient,
    environment: String,
    key: Secret,
}

impl ProvisioningApi {
    pub fn new(client: VendorClient, environment: impl Into<String>, key: Secret) -> Self {
        ProvisioningApi {
            client,
            environment: environment.into(),
            key,
        }
    }

    /// `{base}/{env}/User/{rest}` with a trailing slash; `rest` is already encoded.
    pub(crate) fn url(&self, rest: &str) -> String {
        self.client
            .url(&format!("/{}/User/{rest}", segment(&self.environment)))
    }

    fn user_url(&self, address: &str, action: &str) -> String {
        self.url(&format!("{}/{action}", segment(address)))
    }

    async fn send(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, ProvisioningError> {
        let key = self.key.expose();
        let answer = self
            .client
            .send(call, repeat, request_id, |c| {
                build(c)
                    .header(KEY_HEADER, key)
                    .header("X-Requested-With", "XMLHttpRequest")
                    .header("Accept", "application/json")
            })
            .await?;
        match answer.status {
            s if s.is_success() => Ok(answer),
            StatusCode::BAD_REQUEST => {
                Err(ProvisioningError::Invalid(parse_validation(&answer.body)))
            }
            StatusCode::NOT_FOUND => Err(ProvisioningError::NotFound),
            StatusCode::INTERNAL_SERVER_ERROR => {
                Err(ProvisioningError::Failed(ConnectorError::Unavailable {
                    // Seed 002: 500 "could be caused by passing an incorrect data object".
                    reason: format!("Workspace 365 {call}: {} ({CANNOT_BIND})", answer.reason()),
                    retry_after: None,
                }))
            }
            // Every other status is an error there; the fallback keeps this total.
            _ => Err(ProvisioningError::Failed(
                answer
                    .error_for_status()
                    .err()
                    .unwrap_or(ConnectorError::Unavailable {
                        reason: format!("Workspace 365 {call}: an unexpected answer"),
                        retry_after: None,
                    }),
            )),
        }
    }

    async fn send_user(
        &self,
        call: &str,
        repeat: Repeat,
        put: bool,
        url: &str,
        body: UserBody<'_>,
        request_id: Option<&str>,
    ) -> Result<VendorResponse, ProvisioningError> {
        let json = body.to_json();
        let answer = self
            .send(call, repeat, request_id, |c| {
                let request = if put { c.put(url) } else { c.post(url) };
                request
                    .header(CONTENT_TYPE, "application/json")
                    .body(json.clone())
            })
            .await;
        match answer {
            // The vendor answers 500 to a user body it cannot bind (seed 002). A call that may
            // be repeated was, and answered 500 each time: the body is the likely cause, and
            // a 503 would have the identity provider send it again forever. A create (sent
            // once, after its validation passed) keeps the 503: its body was just accepted.
            Err(ProvisioningError::Failed(ConnectorError::Unavailable { reason, .. }))
                if repeat == Repeat::Safe && reason.contains(CANNOT_BIND) =>
            {
                Err(ProvisioningError::Failed(ConnectorError::Rejected {
                    reason: format!(
                        "{reason}; it was tried again and answered the same, so the user's attributes are the likely cause"
                    ),
                }))
            }
            other => other,
        }
    }

    /// W2 for a made-up user, once: the API has no read, and W2 is its one call that
    /// changes nothing. Any verdict on the user (200, or a 400 with validation results) shows
    /// that the vendor answers, knows the environment and takes the key.
    pub async fn probe(&self) -> Result<(), ConnectorError> {
        let user = VendorUser {
            email_address: PROBE_ADDRESS.into(),
            first_name: "scim-bridge".into(),
            last_name: "probe".into(),
            is_administrator: false,
        };
        let json = UserBody {
            user: &user,
            password: None,
            create_in_office365: Some(false),
        }
        .to_json();
        let url = self.url("Validate/");
        let key = self.key.expose();
        let environment = &self.environment;
        self.client
            .probe(
                "validate create (probe)",
                |c| {
                    c.post(&url)
                        .header(KEY_HEADER, key)
                        .header("X-Requested-With", "XMLHttpRequest")
                        .header("Accept", "application/json")
                        .header(CONTENT_TYPE, "application/json")
                        .body(json.clone())
                },
                |answer| match answer.status {
                    s if s.is_success() || s == StatusCode::BAD_REQUEST => Ok(()),
                    StatusCode::NOT_FOUND => Err(ConnectorError::Unavailable {
                        reason: format!(
                            "Workspace 365 validate (probe): HTTP 404: the vendor does not know the environment \"{environment}\" (check `environment` and `base_url`)"
                        ),
                        retry_after: None,
                    }),
                    _ => answer.error_for_status().map(drop),
                },
            )
            .await
    }

    /// How calls to the Provisioning API have gone.
    pub fn status(&self) -> connector::EndpointStatus {
        self.client.status()
    }

    /// W2: whether W1 would take `body`; creates nothing.
    pub async fn validate_create(
        &self,
        body: UserBody<'_>,
        request_id: Option<&str>,
    ) -> Result<(), ProvisioningError> {
        let url = self.url("Validate/");
        self.send_user(
            "validate create",
            Repeat::Safe,
            false,
            &url,
            body,
            request_id,
        )
        .await
        .map(drop)
    }

    /// W1: creates the user; returns its integer id. Sent once: a repeat could create twice.
    pub async fn create(
        &self,
        body: UserBody<'_>,
        request_id: Option<&str>,
    ) -> Result<u64, ProvisioningError> {
        let url = self.url("");
        let answer = self
            .send_user("create user", Repeat::Unsafe, false, &url, body, request_id)
            .await?;
        // A bare JSON integer (`17`); a quoted one is read too.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Id {
            Number(u64),
            Text(String),
        }
        match answer.json::<Id>()? {
            Id::Number(id) => Ok(id),
            Id::Text(text) => text.trim().parse().map_err(|_| {
                ProvisioningError::Failed(ConnectorError::Unavailable {
                    reason: format!("Workspace 365 answered create with \"{text}\", not an id"),
                    retry_after: None,
                })
            }),
        }
    }

    /// W4: whether W3 would take `body` for the user at `address`.
    pub async fn validate_update(
        &self,
        address: &str,
        body: UserBody<'_>,
        request_id: Option<&str>,
    ) -> Result<(), ProvisioningError> {
        let url = self.user_url(address, "Validate/");
        self.send_user(
            "validate update",
            Repeat::Safe,
            true,
            &url,
            body,
            request_id,
        )
        .await
        .map(drop)
    }

    /// W3: replaces the user at `address`; a different `EmailAddress` in the body renames it.
    pub async fn update(
        &self,
        address: &str,
        body: UserBody<'_>,
        request_id: Option<&str>,
    ) -> Result<(), ProvisioningError> {
        let url = self.user_url(address, "");
        self.send_user("update user", Repeat::Safe, true, &url, body, request_id)
            .await
            .map(drop)
    }

    /// W5 (`active`) or W6: bodiless PUTs that must say `Content-Length: 0` (411 otherwise);
    /// set explicitly, as the HTTP library sends no length for a PUT without a body.
    pub async fn set_active(
        &self,
        address: &str,
        active: bool,
        request_id: Option<&str>,
    ) -> Result<(), ProvisioningError> {
        let (call, action) = if active {
            ("activate user", "Activate/")
        } else {
            ("deactivate user", "Deactivate/")
        };
        let url = self.user_url(address, action);
        self.send(call, Repeat::Safe, request_id, |c| {
            c.put(&url).header(CONTENT_LENGTH, "0").body(Vec::new())
        })
        .await
        .map(drop)
    }

    /// W7: deletes the user at `address`; [`ProvisioningError::NotFound`] when it is not there.
    pub async fn delete(
        &self,
        address: &str,
        request_id: Option<&str>,
    ) -> Result<(), ProvisioningError> {
        let url = self.user_url(address, "");
        self.send("delete user", Repeat::Safe, request_id, |c| c.delete(&url))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> VendorUser {
        VendorUser {
            email_address: "userone@example.com".into(),
            first_name: "User".into(),
            last_name: "One".into(),
            is_administrator: false,
        }
    }

    #[test]
    fn bodies_match_the_seed_and_hide_the_password() {
        let user = user();
        let password = Secret::new("qwerty");
        let body = UserBody {
            user: &user,
            password: Some(&password),
            create_in_office365: Some(false),
        };
        let json: Value = serde_json::from_str(&body.to_json()).expect("json");
        assert_eq!(
            json,
            json!({
                "EmailAddress": "userone@example.com",
                "FirstName": "User",
                "LastName": "One",
                "IsAdministrator": false,
                "Password": "qwerty",
                "CreateInOffice365": false,
            })
        );
        assert!(!format!("{body:?}").contains("qwerty"));
        let update = UserBody {
            user: &user,
            password: None,
            create_in_office365: None,
        };
        let json: Value = serde_json::from_str(&update.to_json()).expect("json");
        assert_eq!(json.as_object().map(Map::len), Some(4), "{json}");
    }

    #[test]
    fn validation_results_are_read_leniently() {
        let dotnet = br#"[{"MemberNames":["EmailAddress"],"ErrorMessage":"A user with this email address already exists."},{"MemberNames":[],"ErrorMessage":"Licence"}]"#;
        assert_eq!(
            parse_validation(dotnet),
            [
                ValidationMessage {
                    members: vec!["EmailAddress".into()],
                    message: "A user with this email address already exists.".into()
                },
                ValidationMessage {
                    members: vec![],
                    message: "Licence".into()
                }
            ]
        );
        let camel = br#"{"propertyName":"FirstName","message":"required"}"#;
        assert_eq!(
            parse_validation(camel),
            [ValidationMessage {
                members: vec!["FirstName".into()],
                message: "required".into()
            }]
        );
        assert_eq!(parse_validation(b"no json")[0].message, "no json");
        assert_eq!(
            parse_validation(b"")[0].message,
            "the vendor gave no reason"
        );
    }
}
