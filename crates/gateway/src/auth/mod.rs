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
mod jwks;
mod jwt;
pub mod token;

#[cfg(test)]
mod test_support;

use std::sync::Arc;

pub use check::check;
pub use config::{AuthConfig, BasicCredential, JwtConfig};
pub use error::{AuthError, AuthSetupError, Challenge, JwtRejection, REALM, SafeText};

use basic::BasicUsers;
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
#[derive(Debug)]
pub struct Authenticator {
    tokens: TokenHashes,
    jwt: Option<JwtVerifier>,
    basic: Arc<BasicUsers>,
    challenge: Challenge,
}

impl Authenticator {
    /// Validates the settings (as [`check`] does), loads secret and JWKS files and fetches the
    /// JWKS URL.
    pub async fn new(config: &AuthConfig) -> Result<Authenticator, AuthSetupError> {
        Authenticator::with_clock(config, Arc::new(SystemClock)).await
    }

    pub(crate) async fn with_clock(
        config: &AuthConfig,
        clock: Arc<dyn Clock>,
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
            challenge: Challenge::Bearer,
        }
    }

    /// Checks the `Authorization` header value of a request (`None` when absent).
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
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
            self.basic(credentials).await
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

    async fn basic(&self, encoded: &str) -> Result<Principal, AuthError> {
        let users = Arc::clone(&self.basic);
        let encoded = encoded.to_owned();
        // Argon2id costs tens of milliseconds of CPU by design: keep it off the async workers.
        let subject = tokio::task::spawn_blocking(move || users.verify(&encoded))
            .await
            .map_err(|_| AuthError::BadCredentials)??;
        Ok(Principal {
            subject,
            method: AuthMethod::Basic,
        })
    }
}

#[cfg(test)]
mod tests;
