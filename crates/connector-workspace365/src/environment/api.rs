//! The environment API client: typed calls under `{base}/{Environment}/…`.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use super::model::{
    ActivityData, ApiErrors, App, AppIcon, CreatedActivity, IconContent, IconSource,
    IntegrationCredentials, NewActivity, NewAnnouncement, Scope,
};

use super::model::CreatedId;
use super::settings::EnvironmentApiSettings;
use crate::path::segment;
use connector::ConnectorError;
use connector::http::{Repeat, VendorClient, VendorResponse};
use connector::metadata::MetadataCache;
use connector::secret::Secret;

/// The vendor label of the metadata caches.
const VENDOR: &str = "workspace365";

/// Why an environment-API call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvApiError {
    /// 400 `ApiErrorResponse`: the vendor refused the input.
    #[error("Workspace 365 refused the request: {0}")]
    Invalid(ApiErrors),
    /// 404: the user (apps, credentials) or the credentials record is not there.
    #[error("Workspace 365 did not find it: {0}")]
    NotFound(ApiErrors),
    /// Anything else: credentials refused, vendor down or slow, a body not as documented.
    #[error(transparent)]
    Failed(#[from] ConnectorError),
}

impl From<EnvApiError> for ConnectorError {
    fn from(e: EnvApiError) -> Self {
        match e {
            EnvApiError::Invalid(errors) => ConnectorError::Rejected {
                reason: format!("Workspace 365: {errors}"),
            },
            EnvApiError::NotFound(errors) => ConnectorError::Rejected {
                reason: format!("Workspace 365 did not find it: {errors}"),
            },
            EnvApiError::Failed(e) => e,
        }
    }
}

/// What a credentials update found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsUpdate {
    Updated,
    /// 404: no credentials record with that id (removed in Workspace itself).
    NotFound,
}

/// An authenticated client of one environment's API.
#[derive(Debug, Clone)]
pub struct EnvApi {
    client: VendorClient,
    environment: String,
    token: Secret,
    /// `GET api/appicons/{source}`.
    icon_lists: MetadataCache<IconSource, Vec<AppIcon>>,
    /// `GET api/appicons/{source}/{id}`.
    icons: MetadataCache<(IconSource, i64), AppIcon>,
    /// `GET api/appicons/{source}/{id}/content`.
    icon_contents: MetadataCache<(IconSource, i64), IconContent>,
}

impl EnvApi {
    /// A client for these settings; `default_environment` applies when they name none.
    pub fn new(
        context: &connector::Context,
        settings: &EnvironmentApiSettings,
        default_environment: &str,
    ) -> Result<EnvApi, ConnectorError> {
        let token = settings
            .token()
            .map_err(|e| ConnectorError::Unsupported(e.to_string()))?;
        let client = VendorClient::new(
            context,
            "workspace365-environment",
            settings.http.endpoint(&settings.base_url),
        )?;
        let environment = settings
            .environment
            .clone()
            .unwrap_or_else(|| default_environment.to_owned());
        let cache = &settings.metadata_cache;
        Ok(EnvApi {
            client,
            environment,
            token,
            icon_lists: MetadataCache::new(cache, VENDOR, "app icons"),
            icons: MetadataCache::new(cache, VENDOR, "app icon"),
            icon_contents: MetadataCache::new(cache, VENDOR, "app icon content"),
        })
    }

    /// `{base}/{env}{rest}` where `rest` is already encoded.
    fn url(&self, rest: &str) -> String {
        self.client
            .url(&format!("/{}{rest}", segment(&self.environment)))
    }

    async fn send(
        &self,
        call: &str,
        repeat: Repeat,
        request_id: Option<&str>,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<VendorResponse, EnvApiError> {
        let auth = format!("Workspace365 {}", self.token.expose());
        let answer = self
            .client
            .send(call, repeat, request_id, |c| {
                build(c)
                    .header(AUTHORIZATION, &auth)
                    .header("Accept", "application/json")
            })
            .await?;
        match answer.status {
            s if s.is_success() => Ok(answer),
            StatusCode::BAD_REQUEST => {
                Err(EnvApiError::Invalid(ApiErrors::parse(&answer.body, 400)))
            }
            StatusCode::NOT_FOUND => {
                Err(EnvApiError::NotFound(ApiErrors::parse(&answer.body, 404)))
            }
            _ => Err(answer.error_for_status().err().map_or_else(
                || EnvApiError::Failed(unexpected(call)),
                EnvApiError::Failed,
            )),
        }
    }

    async fn post_json(
        &self,
        call: &str,
        rest: &str,
        body: &serde_json::Value,
        request_id: Option<&str>,
    ) -> Result<VendorResponse, EnvApiError> {
        let url = self.url(rest);
        let body = body.to_string();
        self.send(call, Repeat::Unsafe, request_id, |c| {
            c.post(&url)
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone())
        })
        .await
    }

    /// `POST api/activities`: one activity for one user.
    pub async fn post_activity(
        &self,
        activity: &NewActivity,
        request_id: Option<&str>,
    ) -> Result<CreatedActivity, EnvApiError> {
        let answer = self
            .post_json(
                "post activity",
                "/api/activities",
                &activity.to_json(),
                request_id,
            )
            .await?;
        Ok(answer.json()?)
    }

    /// `POST api/activities-batch`: the same activity for every user in `scope`.
    pub async fn post_activities_batch(
        &self,
        scope: &Scope,
        data: &ActivityData,
        request_id: Option<&str>,
    ) -> Result<Vec<CreatedActivity>, EnvApiError> {
        let body = serde_json::json!({
            "Scope": scope.to_json(),
            "Data": serde_json::Value::Object(data.to_json()),
        });
        let answer = self
            .post_json(
                "post activities batch",
                "/api/activities-batch",
                &body,
                request_id,
            )
            .await?;
        Ok(answer.json()?)
    }

    /// `POST api/announcements`; returns the new announcement's id.
    pub async fn post_announcement(
        &self,
        announcement: &NewAnnouncement,
        request_id: Option<&str>,
    ) -> Result<u64, EnvApiError> {
        let answer = self
            .post_json(
                "post announcement",
                "/api/announcements",
                &announcement.to_json(),
                request_id,
            )
            .await?;
        Ok(answer.json::<CreatedId>()?.id)
    }

    async fn get(
        &self,
        call: &str,
        rest: &str,
        request_id: Option<&str>,
    ) -> Result<VendorResponse, EnvApiError> {
        let url = self.url(rest);
        self.send(call, Repeat::Safe, request_id, |c| c.get(&url))
            .await
    }

    /// `GET api/appicons/environment`, once: a read that needs no argument, names the
    /// environment, and is small (the environment's own icons, not the shared ones). The
    /// answer refreshes the cached list.
    pub async fn probe(&self) -> Result<(), ConnectorError> {
        let url = self.url(&format!(
            "/api/appicons/{}",
            IconSource::Environment.as_str()
        ));
        let auth = format!("Workspace365 {}", self.token.expose());
        let mut listed = None;
        self.client
            .probe(
                "app icons (probe)",
                |c| {
                    c.get(&url)
                        .header(AUTHORIZATION, &auth)
                        .header("Accept", "application/json")
                },
                |answer| match answer.status {
                    s if s.is_success() => {
                        listed = Some(answer.json::<Vec<AppIcon>>()?);
                        Ok(())
                    }
                    // No argument of ours can be wrong: the environment is.
                    StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                        let status = answer.status.as_u16();
                        Err(ConnectorError::Unavailable {
                            reason: format!(
                                "Workspace 365 app icons (probe): HTTP {status}: {} (check `environment` and `base_url`)",
                                ApiErrors::parse(&answer.body, status)
                            ),
                            retry_after: None,
                        })
                    }
                    _ => answer.error_for_status().map(drop),
                },
            )
            .await?;
        if let Some(icons) = listed {
            self.icon_lists.insert(IconSource::Environment, icons).await;
        }
        Ok(())
    }

    /// How calls to the environment API have gone.
    pub fn status(&self) -> connector::EndpointStatus {
        self.client.status()
    }

    /// `GET api/users/{upn}/apps`; an unknown user is [`EnvApiError::NotFound`].
    pub async fn user_apps(
        &self,
        upn: &str,
        request_id: Option<&str>,
    ) -> Result<Vec<App>, EnvApiError> {
        let rest = format!("/api/users/{}/apps", segment(upn));
        Ok(self.get("user apps", &rest, request_id).await?.json()?)
    }

    /// `GET api/appicons/{source}` (cached).
    pub async fn app_icons(
        &self,
        source: IconSource,
        request_id: Option<&str>,
    ) -> Result<Arc<Vec<AppIcon>>, EnvApiError> {
        let rest = format!("/api/appicons/{}", source.as_str());
        self.icon_lists
            .get_or_load(source, async {
                Ok(self.get("app icons", &rest, request_id).await?.json()?)
            })
            .await
    }

    /// `GET api/appicons/{source}/{id}` (cached); an unknown icon is the vendor's 400 ("icon
    /// not found"), i.e. [`EnvApiError::Invalid`].
    pub async fn app_icon(
        &self,
        source: IconSource,
        id: i64,
        request_id: Option<&str>,
    ) -> Result<Arc<AppIcon>, EnvApiError> {
        let rest = format!("/api/appicons/{}/{id}", source.as_str());
        self.icons
            .get_or_load((source, id), async {
                Ok(self.get("app icon", &rest, request_id).await?.json()?)
            })
            .await
    }

    /// `GET api/appicons/{source}/{id}/content` (cached): the image and its content type.
    pub async fn app_icon_content(
        &self,
        source: IconSource,
        id: i64,
        request_id: Option<&str>,
    ) -> Result<Arc<IconContent>, EnvApiError> {
        let rest = format!("/api/appicons/{}/{id}/content", source.as_str());
        self.icon_contents
            .get_or_load((source, id), async {
                let answer = self.get("app icon content", &rest, request_id).await?;
                Ok(IconContent {
                    content_type: answer
                        .headers
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    bytes: answer.body,
                })
            })
            .await
    }

    /// `POST IntegrationCredentialsApi/User/{upn}/`: stores credentials for the user and
    /// returns their id; an unknown user is [`EnvApiError::NotFound`].
    pub async fn create_integration_credentials(
        &self,
        upn: &str,
        credentials: &IntegrationCredentials,
        request_id: Option<&str>,
    ) -> Result<u64, EnvApiError> {
        let rest = format!("/IntegrationCredentialsApi/User/{}/", segment(upn));
        let answer = self
            .post_json(
                "create integration credentials",
                &rest,
                &credentials.to_json(),
                request_id,
            )
            .await?;
        Ok(answer.json::<CreatedId>()?.id)
    }

    /// `PUT IntegrationCredentialsApi/{id}/`: replaces the credentials with that id.
    pub async fn update_integration_credentials(
        &self,
        id: u64,
        credentials: &IntegrationCredentials,
        request_id: Option<&str>,
    ) -> Result<CredentialsUpdate, EnvApiError> {
        let url = self.url(&format!("/IntegrationCredentialsApi/{id}/"));
        let body = credentials.to_json().to_string();
        let outcome = self
            .send(
                "update integration credentials",
                Repeat::Safe,
                request_id,
                |c| {
                    c.put(&url)
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone())
                },
            )
            .await;
        match outcome {
            Ok(_) => Ok(CredentialsUpdate::Updated),
            Err(EnvApiError::NotFound(_)) => Ok(CredentialsUpdate::NotFound),
            Err(e) => Err(e),
        }
    }
}

/// A non-success status `error_for_status` did not classify (cannot happen; kept total).
fn unexpected(call: &str) -> ConnectorError {
    ConnectorError::Unavailable {
        reason: format!("Workspace 365 {call}: an unexpected answer"),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_environment_is_the_default() {
        let s = EnvironmentApiSettings::new("http://127.0.0.1:9", "t");
        let api =
            EnvApi::new(&connector::Context::named("workspace365"), &s, "example").expect("builds");
        assert_eq!(
            api.url("/api/activities"),
            "http://127.0.0.1:9/example/api/activities"
        );
        let mut s = s;
        s.environment = Some("other".into());
        let api =
            EnvApi::new(&connector::Context::named("workspace365"), &s, "example").expect("builds");
        assert_eq!(api.url(""), "http://127.0.0.1:9/other");
    }
}
