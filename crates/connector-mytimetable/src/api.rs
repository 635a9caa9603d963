//! The MyTimetable provisioning API, v8 (docs/connectors/mytimetable.md "Vendor calls"), as typed calls over the shared
//! [`VendorClient`]. Every call here is safe to repeat: the user calls are idempotent by the
//! seed, `PUT /synchronizations` is idempotent per (username, type) (docs/connectors/mytimetable.md "Quirks"), and a
//! repeated synchronization delete answers 422, which is read as "already gone".

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::mapping::{ListedSync, Profile};
use crate::settings::UnlinkMode;
use connector::ConnectorError;
use connector::http::{Repeat, VendorClient};
use connector::secret::Secret;

/// The header the token travels in (docs/connectors/mytimetable.md "The vendor API").
const TOKEN_HEADER: &str = "apiToken";

/// M1's answer.
#[derive(Deserialize)]
struct Users {
    users: Vec<String>,
}

/// The username [`Api::check_sync_type`] asks about: reserved, so that no instance has it.
pub const TYPE_CHECK_USER: &str = "scim-bridge.sync-type-check";

/// What [`Api::check_sync_type`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeCheck {
    /// The instance took the type (and then found no such user).
    Known,
    /// The instance refused the type, with its answer.
    Refused(String),
    /// The reserved user exists, so the check created a synchronization for it.
    CheckUserExists,
}

/// An authenticated client of one MyTimetable instance.
#[derive(Debug, Clone)]
pub struct Api {
    client: VendorClient,
    token: Secret,
}

/// What removing a synchronization found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Removed,
    /// 422: the vendor no longer has it (removed by someone else, or by an earlier attempt).
    AlreadyGone,
}

impl Api {
    pub fn new(client: VendorClient, token: Secret) -> Self {
        Api { client, token }
    }

    /// `{base}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    /// `{base}/users/{username}` with the username as one percent-encoded path segment.
    pub(crate) fn user_url(&self, username: &str) -> Result<Url, ConnectorError> {
        let mut url = self.parse(&self.client.url("/users"))?;
        url.path_segments_mut()
            .map_err(|()| bad_base_url(&self.client.url("")))?
            .push(username);
        Ok(url)
    }

    fn parse(&self, url: &str) -> Result<Url, ConnectorError> {
        Url::parse(url).map_err(|_| bad_base_url(url))
    }

    async fn call(
        &self,
        call: &str,
        request_id: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<connector::http::VendorResponse, ConnectorError> {
        let token = self.token.expose();
        self.client
            .send(call, Repeat::Safe, request_id, |c| {
                build(c).header(TOKEN_HEADER, token)
            })
            .await
    }

    /// M1: every username.
    pub async fn list_users(
        &self,
        request_id: Option<&str>,
    ) -> Result<Vec<String>, ConnectorError> {
        let url = self.client.url("/users");
        let answer = self
            .call("list users", request_id, |c| c.get(&url))
            .await?
            .error_for_status()?;
        Ok(answer.json::<Users>()?.users)
    }

    /// The vendor's one read that takes no argument, M1, tried once: v8 has no paging nor a
    /// smaller read, so the probe costs one list of usernames.
    pub async fn probe(&self) -> Result<(), ConnectorError> {
        let url = self.client.url("/users");
        let token = self.token.expose();
        self.client
            .probe(
                "list users (probe)",
                |c| c.get(&url).header(TOKEN_HEADER, token),
                |answer| answer.error_for_status()?.json::<Users>().map(drop),
            )
            .await
    }

    /// Whether the instance knows a synchronization type, without creating anything: M5 for
    /// [`TYPE_CHECK_USER`], a username no instance has. MyTimetable lists no types, but
    /// refuses an unknown one with 400 before it looks the user up (422 "user not found"),
    /// so 422 means the type passed. An instance that looked the user up first would pass
    /// every type: the check can miss an unknown type, never refuse a good one.
    pub async fn check_sync_type(&self, sync_type: &str) -> Result<TypeCheck, ConnectorError> {
        let url = self.client.url("/synchronizations");
        let form = sync_form(TYPE_CHECK_USER, sync_type, None);
        let answer = self
            .call("check synchronization type", None, |c| {
                c.put(&url).form(&form)
            })
            .await?;
        Ok(match answer.status.as_u16() {
            422 => TypeCheck::Known,
            400 => TypeCheck::Refused(answer.reason()),
            204 => TypeCheck::CheckUserExists,
            _ => {
                answer.error_for_status()?;
                TypeCheck::Known
            }
        })
    }

    /// How calls to the instance have gone.
    pub fn status(&self) -> connector::EndpointStatus {
        self.client.status()
    }

    /// M2: creates the user, or finds it already there (the vendor cannot tell us which).
    pub async fn ensure_user(
        &self,
        username: &str,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.user_url(username)?;
        self.call("ensure user", request_id, |c| c.put(url.clone()))
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// `PUT /users/{username}` with the 2019.16+ profile: creates or updates (201 or 200).
    pub async fn upsert_user(
        &self,
        username: &str,
        profile: &Profile,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.user_url(username)?;
        let form = profile.form(username);
        self.call("upsert user", request_id, |c| {
            c.put(url.clone()).form(&form)
        })
        .await?
        .error_for_status()?;
        Ok(())
    }

    /// M3: removes the user; a missing user is success (204 in v8, 404 from 2019.16 on).
    pub async fn delete_user(
        &self,
        username: &str,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.user_url(username)?;
        let answer = self
            .call("delete user", request_id, |c| c.delete(url.clone()))
            .await?;
        if answer.status != StatusCode::NOT_FOUND {
            answer.error_for_status()?;
        }
        Ok(())
    }

    /// M4: every synchronization of every user.
    pub async fn list_syncs(
        &self,
        request_id: Option<&str>,
    ) -> Result<Vec<ListedSync>, ConnectorError> {
        #[derive(Deserialize)]
        struct Syncs {
            synchronizations: Vec<ListedSync>,
        }
        let url = self.client.url("/synchronizations");
        let answer = self
            .call("list synchronizations", request_id, |c| c.get(&url))
            .await?
            .error_for_status()?;
        Ok(answer.json::<Syncs>()?.synchronizations)
    }

    /// M5: a push synchronization for an existing user. The vendor returns no id; list to
    /// learn it.
    pub async fn create_sync(
        &self,
        username: &str,
        sync_type: &str,
        smtp_address: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let url = self.client.url("/synchronizations");
        let form = sync_form(username, sync_type, smtp_address);
        self.call("create synchronization", request_id, |c| {
            c.put(&url).form(&form)
        })
        .await?
        .error_for_status()?;
        Ok(())
    }

    /// M6: removes a synchronization; `unlinkMode` travels as a query parameter
    /// (docs/connectors/mytimetable.md "Quirks").
    pub async fn delete_sync(
        &self,
        id: u64,
        mode: UnlinkMode,
        request_id: Option<&str>,
    ) -> Result<Removed, ConnectorError> {
        let url = self.client.url(&format!("/synchronizations/{id}"));
        let answer = self
            .call("delete synchronization", request_id, |c| {
                c.delete(&url).query(&[("unlinkMode", mode.as_str())])
            })
            .await?;
        if answer.status == StatusCode::UNPROCESSABLE_ENTITY {
            tracing::info!(
                synchronization = id,
                request_id,
                "the vendor no longer has this synchronization"
            );
            return Ok(Removed::AlreadyGone);
        }
        answer.error_for_status()?;
        Ok(Removed::Removed)
    }
}

/// M5's form.
pub(crate) fn sync_form<'a>(
    username: &'a str,
    sync_type: &'a str,
    smtp_address: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![("username", username), ("type", sync_type)];
    if let Some(address) = smtp_address {
        form.push(("provisioning_smtpAddress", address));
    }
    form
}

fn bad_base_url(url: &str) -> ConnectorError {
    ConnectorError::Unsupported(format!(
        "the MyTimetable base_url \"{url}\" cannot carry a path; fix the connector configuration"
    ))
}
