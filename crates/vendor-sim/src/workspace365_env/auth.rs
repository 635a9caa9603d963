//! The two authentication schemes of the environment API (docs/connectors/workspace365-adsync.md "The vendor API"). They are separate
//! key spaces: a Basic AD-sync token is refused on the `Workspace365` routes and vice versa.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::errors::ApiError;
use super::{EnvironmentConfig, Workspace365EnvSim};

/// Which `Authorization` scheme a route expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Basic base64("{token}:")`: the ActiveDirectorySync API.
    Basic,
    /// `Workspace365 {token}`: activities, announcements, apps, icons, integration credentials.
    Workspace365,
}

impl Scheme {
    fn word(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Workspace365 => "Workspace365",
        }
    }

    /// The `WWW-Authenticate` value sent with a 401.
    pub(crate) fn challenge(self) -> &'static str {
        match self {
            Self::Basic => "Basic realm=\"ActiveDirectorySyncAPI\"",
            Self::Workspace365 => "Workspace365",
        }
    }
}

/// Why a request was refused. The seed names "401, 403" together and lists the reasons
/// (docs/connectors/workspace365-adsync.md "The vendor API", [P 14]); which reason gets which code is [O], decided in [`Self::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    MissingHeader,
    /// A scheme other than the route's (including the other API's scheme).
    WrongScheme,
    /// The credentials after the scheme word cannot be decoded.
    MalformedCredentials,
    /// No environment of that name exists, so no token can be valid for it.
    UnknownEnvironment,
    /// The token is not valid for the environment.
    InvalidToken,
    /// The API (or AD sync) is not configured or not enabled for the environment.
    ApiNotConfigured,
    /// The environment is inactive.
    EnvironmentInactive,
    /// The key exists but was disabled on the API settings page.
    KeyDisabled,
}

impl AuthFailure {
    /// [O] Not authenticated (nothing usable presented) is 401; authenticated, or nothing to
    /// authenticate against, but not allowed is 403. The single place to change the mapping.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingHeader
            | Self::WrongScheme
            | Self::MalformedCredentials
            | Self::UnknownEnvironment
            | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::ApiNotConfigured | Self::EnvironmentInactive | Self::KeyDisabled => {
                StatusCode::FORBIDDEN
            }
        }
    }
}

/// An authenticated request to the ActiveDirectorySync API; holds the environment's configured
/// name (environment names match case-insensitively, as IIS routing does).
pub(crate) struct AdSyncEnv(pub String);

/// An authenticated request to one of the `Workspace365`-scheme resources.
pub(crate) struct ApiEnv(pub String);

impl FromRequest for AdSyncEnv {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req, Scheme::Basic).map(AdSyncEnv))
    }
}

impl FromRequest for ApiEnv {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req, Scheme::Workspace365).map(ApiEnv))
    }
}

fn authenticate(req: &HttpRequest, scheme: Scheme) -> Result<String, ApiError> {
    let fail = |failure| ApiError::Auth(failure, scheme);
    let token = presented_token(req, scheme).map_err(fail)?;
    let env_name = req.match_info().get("env").unwrap_or_default();
    let sim = req
        .app_data::<web::Data<Workspace365EnvSim>>()
        .ok_or(fail(AuthFailure::ApiNotConfigured))?;
    let env = sim
        .environment(env_name)
        .ok_or(fail(AuthFailure::UnknownEnvironment))?;
    check_token(env, scheme, &token).map_err(fail)?;
    Ok(env.name.clone())
}

/// Reads the token out of the `Authorization` header for the given scheme.
fn presented_token(req: &HttpRequest, scheme: Scheme) -> Result<String, AuthFailure> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(AuthFailure::MissingHeader)?
        .to_str()
        .map_err(|_| AuthFailure::MalformedCredentials)?
        .trim();
    let (word, credentials) = header.split_once(' ').unwrap_or((header, ""));
    // RFC 7235: the scheme word is case-insensitive.
    if !word.eq_ignore_ascii_case(scheme.word()) {
        return Err(AuthFailure::WrongScheme);
    }
    let credentials = credentials.trim();
    if credentials.is_empty() {
        return Err(AuthFailure::MalformedCredentials);
    }
    match scheme {
        Scheme::Workspace365 => Ok(credentials.to_owned()),
        Scheme::Basic => {
            let decoded = STANDARD
                .decode(credentials)
                .map_err(|_| AuthFailure::MalformedCredentials)?;
            let decoded =
                String::from_utf8(decoded).map_err(|_| AuthFailure::MalformedCredentials)?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or(AuthFailure::MalformedCredentials)?;
            // docs/connectors/workspace365-adsync.md "The vendor API": the token is the user name and the password is empty.
            if !password.is_empty() {
                return Err(AuthFailure::InvalidToken);
            }
            Ok(user.to_owned())
        }
    }
}

fn check_token(env: &EnvironmentConfig, scheme: Scheme, token: &str) -> Result<(), AuthFailure> {
    match scheme {
        Scheme::Basic => {
            let expected = env
                .adsync_token
                .as_deref()
                .ok_or(AuthFailure::ApiNotConfigured)?;
            if !env.active {
                return Err(AuthFailure::EnvironmentInactive);
            }
            if token != expected {
                return Err(AuthFailure::InvalidToken);
            }
        }
        Scheme::Workspace365 => {
            if env.api_keys.is_empty() {
                return Err(AuthFailure::ApiNotConfigured);
            }
            if !env.active {
                return Err(AuthFailure::EnvironmentInactive);
            }
            let key = env
                .api_keys
                .iter()
                .find(|k| k.token == token)
                .ok_or(AuthFailure::InvalidToken)?;
            if !key.enabled {
                return Err(AuthFailure::KeyDisabled);
            }
        }
    }
    Ok(())
}
