//! Authentication of SCIM clients, per connector: opaque bearer tokens (stored as SHA-256
//! hashes), JWT bearer tokens (HS256 / RS256 / ES256) and HTTP Basic (Argon2id).
//!
//! Each connector builds its own [`Authenticator`] at start, so a credential of one connector
//! never opens another. Handlers call [`Authenticator::authenticate`] with the raw
//! `Authorization` header and answer a failure with 401 and [`AuthError::www_authenticate`].

mod basic;
mod check;
mod config;
mod error;
mod guard;
mod jwks;
mod jwt;
pub mod token;

#[cfg(test)]
mod test_support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use check::check;
pub use config::{AuthConfig, BasicCredential, JwtConfig};
pub use error::{AuthError, AuthSetupError, Challenge, JwtRejection, REALM, SafeText};

pub use guard::BasicGuard;

use basic::BasicUsers;
use guard::Verified;
use jwks::{Clock, FETCH_TIMEOUT, KeyStore, SystemClock};
use jwt::{JwtVerifier, looks_like_jwt};
use token::TokenHashes;

/// Who made a request. `subject` identifies the credential for logs and per-client limits
/// without revealing it: `sha256:` plus a hash prefix, a JWT `sub`, or a Basic username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub method: AuthMethod,
}

/// How a [`Principal`] authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    BearerToken,
    Jwt,
    Basic,
}

/// The authentication of one connector, built once at start.
pub struct Authenticator {
    tokens: TokenHashes,
    jwt: Option<JwtVerifier>,
    basic: Arc<BasicUsers>,
    /// Basic credentials verified lately.
    verified: Verified,
    /// Bounds what Basic verification costs, shared by the process's connectors.
    guard: Arc<BasicGuard>,
    challenge: Challenge,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.tokens)
            .field("jwt", &self.jwt)
            .field("basic", &self.basic)
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Validates the settings (as [`check`] does), loads secret and JWKS files and fetches the
    /// JWKS URL.
    /// Basic verification is bounded by `guard`, which the process's connectors share.
    pub async fn new(
        config: &AuthConfig,
        guard: Arc<BasicGuard>,
    ) -> Result<Authenticator, AuthSetupError> {
        Authenticator::with_clock(config, Arc::new(SystemClock), guard).await
    }

    pub(crate) async fn with_clock(
        config: &AuthConfig,
        clock: Arc<dyn Clock>,
        guard: Arc<BasicGuard>,
    ) -> Result<Authenticator, AuthSetupError> {
        let resolved = check::resolve(config).map_err(AuthSetupError::Invalid)?;
        let jwt = match resolved.jwt {
            None => None,
            Some(jwt) => {
                let keys = if jwt.file_keys.is_empty() && jwt.url.is_none() {
                    None
                } else {
                    let store = KeyStore::new(jwt.file_keys, jwt.url, clock, FETCH_TIMEOUT)
                        .await
                        .map_err(AuthSetupError::JwksFetch)?;
                    Some(store)
                };
                Some(JwtVerifier {
                    issuer: jwt.issuer,
                    audience: jwt.audience,
                    leeway_seconds: jwt.leeway_seconds,
                    hs256: jwt.hs256,
                    keys,
                })
            }
        };
        let tokens = TokenHashes::new(resolved.token_digests);
        let basic = Arc::new(BasicUsers::new(resolved.basic));
        let bearer = !tokens.is_empty() || jwt.is_some();
        let challenge = match (bearer, basic.is_empty()) {
            (true, true) => Challenge::Bearer,
            (true, false) => Challenge::BearerAndBasic,
            (false, _) => Challenge::Basic,
        };
        Ok(Authenticator {
            tokens,
            jwt,
            basic,
            verified: Verified::new(),
            guard,
            challenge,
        })
    }

    /// Accepts nothing, and refuses as a connector authenticated by bearer tokens does: what a
    /// request to a connector that does not exist meets, so that its answer (401, the same
    /// challenge and detail) does not tell which names exist.
    pub fn nobody() -> Authenticator {
        Authenticator {
            tokens: TokenHashes::new(Vec::new()),
            jwt: None,
            basic: Arc::new(BasicUsers::new(Vec::new())),
            verified: Verified::new(),
            guard: Arc::new(BasicGuard::new(1, Duration::ZERO)),
            challenge: Challenge::Bearer,
        }
    }

    /// Checks the `Authorization` header value of a request (`None` when absent).
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        self.authenticate_from(authorization, None).await
    }

    /// [`Authenticator::authenticate`] for a request from `source`, whose Basic attempts are
    /// throttled by address as well as by username.
    pub async fn authenticate_from(
        &self,
        authorization: Option<&str>,
        source: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let challenge = self.challenge;
        let value = authorization
            .ok_or(AuthError::Missing { challenge })?
            .trim();
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let credentials = credentials.trim();
        // RFC 9110 §11.1: the scheme name is case-insensitive.
        if scheme.eq_ignore_ascii_case("bearer") && challenge != Challenge::Basic {
            self.bearer(credentials).await
        } else if scheme.eq_ignore_ascii_case("basic") && challenge != Challenge::Bearer {
            self.basic(credentials, source).await
        } else {
            Err(AuthError::UnsupportedScheme { challenge })
        }
    }

    async fn bearer(&self, token: &str) -> Result<Principal, AuthError> {
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(AuthError::MalformedBearer);
        }
        if let Some(jwt) = self.jwt.as_ref().filter(|_| looks_like_jwt(token)) {
            let subject = jwt.verify(token).await.map_err(AuthError::Jwt)?;
            return Ok(Principal {
                subject,
                method: AuthMethod::Jwt,
            });
        }
        let subject = self.tokens.verify(token).ok_or(AuthError::UnknownToken)?;
        Ok(Principal {
            subject,
            method: AuthMethod::BearerToken,
        })
    }

    async fn basic(&self, encoded: &str, source: Option<IpAddr>) -> Result<Principal, AuthError> {
        let principal = |subject| Principal {
            subject,
            method: AuthMethod::Basic,
        };
        let key = self.verified.key(encoded.trim());
        if let Some(username) = self.verified.get(&key) {
            return Ok(principal(username));
        }
        let (username, password) = basic::decode(encoded)?;
        self.guard.admit(source, &username)?;
        let _permit = self.guard.hashing().await?;
        let users = Arc::clone(&self.basic);
        // Argon2id costs tens of milliseconds of CPU by design: keep it off the async workers.
        let subject = tokio::task::spawn_blocking(move || users.verify(&username, &password))
            .await
            .map_err(|_| AuthError::BadCredentials)??;
        self.verified.remember(key, subject.clone());
        Ok(principal(subject))
    }
}

#[cfg(test)]
mod tests;
