//! Why a request or a connector's authentication setup was refused. No variant holds a secret
//! or any part of a presented credential.

use std::fmt;

use thiserror::Error;

use connector::Problem;

/// The realm announced in every `WWW-Authenticate` challenge.
pub const REALM: &str = "scim-bridge";

/// Which schemes a connector accepts, i.e. which challenges a bare 401 offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    Bearer,
    Basic,
    BearerAndBasic,
}

impl Challenge {
    fn header(self) -> String {
        match self {
            Challenge::Bearer => format!("Bearer realm=\"{REALM}\""),
            Challenge::Basic => format!("Basic realm=\"{REALM}\""),
            // RFC 9110 §11.6.1: one header value may carry several comma-separated challenges.
            Challenge::BearerAndBasic => {
                format!("Bearer realm=\"{REALM}\", Basic realm=\"{REALM}\"")
            }
        }
    }
}

/// A request that did not authenticate. Answer with 401 and [`AuthError::www_authenticate`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing { challenge: Challenge },
    #[error("the Authorization scheme is not accepted by this connector")]
    UnsupportedScheme { challenge: Challenge },
    #[error("the Bearer credential is empty or not a token")]
    MalformedBearer,
    #[error("the Basic credential is not base64 of user:password")]
    MalformedBasic,
    #[error("the bearer token matches no configured token")]
    UnknownToken,
    #[error("JWT refused: {0}")]
    Jwt(JwtRejection),
    #[error("wrong Basic username or password")]
    BadCredentials,
    /// Too many attempts from the source address or for the username: 429.
    #[error(
        "too many Basic logins from this address or for this username; retry after {} s",
        retry_after.as_secs().max(1)
    )]
    Throttled { retry_after: std::time::Duration },
    /// Every credential-checking slot is taken: 503.
    #[error("the service is checking too many Basic logins at once; retry shortly")]
    Busy,
}

impl AuthError {
    /// The `WWW-Authenticate` value for the 401 (RFC 6750 §3 for Bearer, RFC 7617 for Basic).
    /// A request without credentials gets the bare challenge with no `error` (RFC 6750 §3.1).
    pub fn www_authenticate(&self) -> String {
        match self {
            AuthError::Missing { challenge } | AuthError::UnsupportedScheme { challenge } => {
                challenge.header()
            }
            AuthError::MalformedBasic
            | AuthError::BadCredentials
            | AuthError::Throttled { .. }
            | AuthError::Busy => Challenge::Basic.header(),
            AuthError::MalformedBearer => bearer_error("invalid_request", "malformed bearer token"),
            AuthError::UnknownToken => bearer_error("invalid_token", "unknown token"),
            AuthError::Jwt(rejection) => bearer_error("invalid_token", rejection.description()),
        }
    }
}

// `description` is always one of our fixed strings: never client input, so no quoting is needed.
fn bearer_error(error: &str, description: &str) -> String {
    format!("Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{description}\"")
}

/// Why a JWT was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum JwtRejection {
    /// `none`, an algorithm outside {HS256, RS256, ES256}, or one this connector has no key for.
    #[error("algorithm {alg} is not accepted")]
    AlgorithmRefused { alg: SafeText },
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the header lists critical extensions, none of which are supported")]
    CriticalHeader,
    #[error("no key with the token's kid")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the issuer is not accepted")]
    WrongIssuer,
    #[error("the audience is not accepted")]
    WrongAudience,
    #[error("the required claim {0} is missing or malformed")]
    MissingClaim(SafeText),
}

impl JwtRejection {
    /// A fixed text for `error_description` (RFC 6750 §3 limits its characters; no `"` or `\`).
    fn description(&self) -> &'static str {
        match self {
            JwtRejection::AlgorithmRefused { .. } => "algorithm not accepted",
            JwtRejection::Malformed => "malformed token",
            JwtRejection::CriticalHeader => "unsupported critical header",
            JwtRejection::UnknownKey => "unknown signing key",
            JwtRejection::BadSignature => "invalid signature",
            JwtRejection::Expired => "token expired",
            JwtRejection::NotYetValid => "token not valid yet",
            JwtRejection::WrongIssuer => "issuer not accepted",
            JwtRejection::WrongAudience => "audience not accepted",
            JwtRejection::MissingClaim(_) => "required claim missing",
        }
    }
}

/// A short piece of client-supplied text (a header `alg`, a claim name) made safe for logs:
/// ASCII letters, digits and `-_.` only, at most 16 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct SafeText(String);

impl SafeText {
    pub fn new(text: &str) -> SafeText {
        SafeText(
            text.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(16)
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SafeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A connector's authentication could not be set up; the connector must not serve.
#[derive(Debug, Error)]
pub enum AuthSetupError {
    #[error("invalid authentication settings: {}", join(.0))]
    Invalid(Vec<Problem>),
    #[error("could not fetch the JWKS from jwt.jwks_url: {0}")]
    JwksFetch(String),
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            let key = if p.key.is_empty() { "(auth)" } else { &p.key };
            format!("{key}: {} (fix: {})", p.problem, p.fix)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
