//! The ActiveDirectorySync API (docs/connectors/workspace365-adsync.md "Vendor calls", A1–A10) as typed calls over the shared
//! [`VendorClient`]. Every call is safe to repeat: A1/A3 are upserts keyed by a client-chosen
//! ObjectId, the membership PUTs are set inserts, and every DELETE answers 200 for what is
//! already gone (docs/connectors/workspace365-adsync.md "Vendor calls" [O]). So all are sent with [`Repeat::Safe`].

use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

use super::mapping::{GroupInfo, UserInfo};
use super::picture::Picture;
use super::settings::NestedGroupPath;
use connector::ConnectorError;
use connector::http::{Repeat, VendorClient, VendorResponse};
use connector::secret::Secret;

/// The API's path segment under the environment.
const API: &str = "ActiveDirectorySyncAPI";

/// An authenticated client of one environment's ActiveDirectorySync API.
#[derive(Debug, Clone)]
pub struct Api {
    client: VendorClient,
    token: Secret,
    environment: String,
    nested: NestedGroupPath,
}

impl Api {
    pub fn new(
        client: VendorClient,
        token: Secret,
        environment: impl Into<String>,
        nested: NestedGroupPath,
    ) -> Self {
        Api {
            client,
            token,
            environment: environment.into(),
            nested,
        }
    }

    /// `{base}/{env}/ActiveDirectorySyncAPI/{segments…}`, each segment percent-encoded, with a
    /// trailing slash where the seed writes one.
    pub(crate) fn url(
        &self,
        segments: &[&str],
        trailing_slash: bool,
    ) -> Result<Url, ConnectorError> {
        let base = self.client.url("");
        let mut url = Url::parse(&base).map_err(|_| bad_base_url(&base))?;
        {
            let mut path = url.path_segments_mut().map_err(|()| bad_base_url(&base))?;
            path.pop_if_empty().push(&self.environment).push(API);
            path.extend(segments);
            if trailing_slash {
                path.push("");
            }
        }
        Ok(url)
    }

    /// Sends a call with `Authorization: Basic base64("{token}:")` (docs/connectors/workspace365-adsync.md "The vendor API") and
    /// reads the answer: 200 is done, a 400 is the vendor's refusal with its messages.
    async fn call(
        &self,
        call: &str,
        request_id: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(), ConnectorError> {
        let token = self.token.expose();
        let answer = self
            .client
            .send(call, Repeat::Safe, request_id, |c| {
                build(c).basic_auth(token, None::<&str>)
            })
            .await?;
        if answer.status == StatusCode::BAD_REQUEST {
            return Err(refusal(call, &answer));
        }
        answer.error_for_status()?;
        Ok(())
    }

    /// A1: creates or replaces the user.
    pub async fn put_user(
        &self,
        object_id: Uuid,
        info: &UserInfo,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Users", &object_id.to_string()], true)?;
        self.call("put user", request_id, |c| c.put(url.clone()).json(info))
            .await
    }

    /// A2: soft-deletes the user (and its memberships); an unknown user is success.
    pub async fn delete_user(
        &self,
        object_id: Uuid,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Users", &object_id.to_string()], true)?;
        self.call("delete user", request_id, |c| c.delete(url.clone()))
            .await
    }

    /// A3: creates or replaces the group.
    pub async fn put_group(
        &self,
        object_id: Uuid,
        info: &GroupInfo,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Groups", &object_id.to_string()], true)?;
        self.call("put group", request_id, |c| c.put(url.clone()).json(info))
            .await
    }

    /// A4: removes the group and its memberships; an unknown group is success.
    pub async fn delete_group(
        &self,
        object_id: Uuid,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Groups", &object_id.to_string()], true)?;
        self.call("delete group", request_id, |c| c.delete(url.clone()))
            .await
    }

    /// A6 for the nil ObjectId as both group and user, once. The API has no read (docs/connectors/workspace365-adsync.md "Vendor calls":
    /// no GET endpoints), so the probe asks for a change that cannot change anything: no
    /// object has the nil ObjectId, and a membership delete of what is not there answers 200
    /// (docs/connectors/workspace365-adsync.md "Vendor calls", a recommended choice) or a 400 naming the unknown object; either shows that the vendor answers
    /// and takes the token.
    pub async fn probe(&self) -> Result<(), ConnectorError> {
        let nil = Uuid::nil().to_string();
        let url = self.url(&["Groups", &nil, "Users", &nil], true)?;
        let token = self.token.expose();
        self.client
            .probe(
                "remove user member (probe)",
                |c| c.delete(url.clone()).basic_auth(token, None::<&str>),
                |answer| match answer.status {
                    s if s.is_success() || s == StatusCode::BAD_REQUEST => Ok(()),
                    StatusCode::NOT_FOUND => Err(ConnectorError::Unavailable {
                        reason: format!(
                            "Workspace 365 remove user member (probe): HTTP 404: no ActiveDirectorySync API for the environment \"{}\" there (check `environment` and `base_url`)",
                            self.environment
                        ),
                        retry_after: None,
                    }),
                    _ => answer.error_for_status().map(drop),
                },
            )
            .await
    }

    /// How calls to the ActiveDirectorySync API have gone.
    pub fn status(&self) -> connector::EndpointStatus {
        self.client.status()
    }

    /// A5 (`add`) or A6: the user joins or leaves the group.
    pub async fn user_membership(
        &self,
        group: Uuid,
        user: Uuid,
        add: bool,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(
            &["Groups", &group.to_string(), "Users", &user.to_string()],
            true,
        )?;
        if add {
            self.call("add user member", request_id, |c| c.put(url.clone()))
                .await
        } else {
            self.call("remove user member", request_id, |c| c.delete(url.clone()))
                .await
        }
    }

    /// A7 (`add`) or A8: group `member` joins or leaves group `target`, in the configured
    /// path form. The seed writes A7 with a trailing slash and A8 without (docs/connectors/workspace365-adsync.md "Gaps in the vendor's documentation").
    pub async fn group_membership(
        &self,
        target: Uuid,
        member: Uuid,
        add: bool,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let (target, member) = (target.to_string(), member.to_string());
        let segments: Vec<&str> = match self.nested {
            NestedGroupPath::Seed => vec![&target, "Groups", &member],
            NestedGroupPath::Prefixed => vec!["Groups", &target, "Groups", &member],
        };
        let url = self.url(&segments, add)?;
        if add {
            self.call("add group member", request_id, |c| c.put(url.clone()))
                .await
        } else {
            self.call("remove group member", request_id, |c| c.delete(url.clone()))
                .await
        }
    }

    /// A9: uploads the picture as the one file part of a multipart form.
    pub async fn put_picture(
        &self,
        object_id: Uuid,
        picture: &Picture,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Users", &object_id.to_string(), "ProfilePicture"], false)?;
        let boundary = format!("scim-bridge-{:032x}", rand::random::<u128>());
        let (body, content_type) = picture.multipart(&boundary);
        self.call("put profile picture", request_id, |c| {
            c.put(url.clone())
                .header(CONTENT_TYPE, &content_type)
                .body(body.clone())
        })
        .await
    }

    /// A10: removes the picture; idempotent.
    pub async fn delete_picture(
        &self,
        object_id: Uuid,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.url(&["Users", &object_id.to_string(), "ProfilePicture"], false)?;
        self.call("delete profile picture", request_id, |c| {
            c.delete(url.clone())
        })
        .await
    }
}

/// A 400 as the connector's error: a `UserPrincipalName` that another user already has is a
/// conflict (SCIM 409 `uniqueness`, which Entra ID and Okta act on), any other refusal is
/// `Rejected` with the vendor's messages.
fn refusal(call: &str, answer: &VendorResponse) -> ConnectorError {
    let (line, taken_upn) = describe_400(answer);
    let reason = format!("{call}: {line}");
    if taken_upn {
        ConnectorError::Conflict { reason }
    } else {
        ConnectorError::Rejected { reason }
    }
}

/// The messages of a 400 `ApiErrorResponse` (docs/connectors/workspace365-adsync.md "The vendor API") as one line, e.g.
/// `UserPrincipalName: A user with … already exists.` (the raw body when it is not one), and
/// whether they say the user principal name is taken (matched on "already exist", so that a
/// rephrasing keeps working).
fn describe_400(answer: &VendorResponse) -> (String, bool) {
    #[derive(Deserialize)]
    struct Message {
        message: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ApiErrorResponse {
        global_error: Option<Message>,
        #[serde(default)]
        field_errors: Option<BTreeMap<String, Message>>,
    }
    let Ok(parsed) = serde_json::from_slice::<ApiErrorResponse>(&answer.body) else {
        return (answer.reason(), false);
    };
    let mut parts: Vec<String> = parsed
        .global_error
        .and_then(|g| g.message)
        .into_iter()
        .collect();
    let mut taken_upn = false;
    for (field, m) in parsed.field_errors.unwrap_or_default() {
        let message = m.message.unwrap_or_default();
        taken_upn |= field.eq_ignore_ascii_case("UserPrincipalName")
            && message.to_ascii_lowercase().contains("already exist");
        parts.push(format!("{field}: {message}"));
    }
    if parts.is_empty() {
        (answer.reason(), false)
    } else {
        (parts.join("; "), taken_upn)
    }
}

fn bad_base_url(url: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "the Workspace 365 base_url \"{url}\" cannot carry a path; fix the connector configuration"
    ))
}

#[cfg(test)]
mod tests {
    use reqwest::header::{AUTHORIZATION, HeaderMap};

    use super::*;
    use connector::http::EndpointConfig;

    fn api(nested: NestedGroupPath) -> Api {
        let client = VendorClient::new(
            &connector::Context::named("test"),
            "test",
            EndpointConfig::new("https://w365.example/"),
        )
        .expect("client");
        Api::new(client, Secret::new("t"), "my env", nested)
    }

    #[test]
    fn the_seed_token_becomes_the_seed_header() {
        // docs/connectors/workspace365-adsync.md "The vendor API": the seed's token and the header its example shows.
        let request = reqwest::Client::new()
            .put("https://w365.example/x")
            .basic_auth("4613e4c6-aa59-45d0-88c9-c99feddf3959", None::<&str>)
            .build()
            .expect("request");
        assert_eq!(
            request.headers()[AUTHORIZATION],
            "Basic NDYxM2U0YzYtYWE1OS00NWQwLTg4YzktYzk5ZmVkZGYzOTU5Og=="
        );
    }

    #[test]
    fn urls_follow_the_seed_and_encode_segments() {
        let a = api(NestedGroupPath::Seed);
        let url = a.url(&["Users", "abc"], true).expect("url");
        assert_eq!(
            url.as_str(),
            "https://w365.example/my%20env/ActiveDirectorySyncAPI/Users/abc/"
        );
        let url = a
            .url(&["Users", "abc", "ProfilePicture"], false)
            .expect("url");
        assert!(url.as_str().ends_with("/Users/abc/ProfilePicture"));
    }

    #[test]
    fn a_400_reads_as_its_messages() {
        let answer = |body: &str| VendorResponse {
            status: StatusCode::BAD_REQUEST,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        };
        assert_eq!(
            describe_400(&answer(
                r#"{"globalError":null,"fieldErrors":{"FirstName":{"message":"The FirstName field is required."}}}"#
            )),
            (
                "FirstName: The FirstName field is required.".to_owned(),
                false
            )
        );
        assert_eq!(
            describe_400(&answer(
                r#"{"globalError":{"message":"The group was not found."},"fieldErrors":{}}"#
            )),
            ("The group was not found.".to_owned(), false)
        );
        assert_eq!(
            describe_400(&answer("oops")),
            ("HTTP 400: oops".to_owned(), false)
        );
        let taken = answer(
            r#"{"globalError":null,"fieldErrors":{"UserPrincipalName":{"message":"A user with UserPrincipalName 'a@x' already exists."}}}"#,
        );
        assert!(describe_400(&taken).1);
        assert!(matches!(
            refusal("put user", &taken),
            ConnectorError::Conflict { reason } if reason.starts_with("put user: UserPrincipalName")
        ));
    }
}
