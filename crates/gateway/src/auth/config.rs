//! Per-connector authentication settings as read from the TOML configuration.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// How SCIM clients of one connector authenticate. Every configured method is accepted.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Hashes of the accepted opaque bearer tokens, `sha256:<64 hex>` as minted by
    /// `scim-bridge token`.
    #[serde(default)]
    pub bearer_token_hashes: Vec<String>,
    /// Accept JWT bearer tokens from one issuer.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// Accept HTTP Basic with these users.
    #[serde(default)]
    pub basic: Vec<BasicCredential>,
}

impl AuthConfig {
    /// Whether any credential is configured (without one, what it guards is off or open).
    pub fn any(&self) -> bool {
        !self.bearer_token_hashes.is_empty() || self.jwt.is_some() || !self.basic.is_empty()
    }
}

/// JWT bearer tokens: who issues them, for whom, and where the verification keys come from.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim (one of the token's audiences).
    pub audience: String,
    /// HS256 shared secret, inline; its UTF-8 bytes are the key (no base64 decoding).
    #[serde(default)]
    pub hs256_secret: Option<String>,
    /// HS256 shared secret read from a file (a trailing newline is ignored).
    #[serde(default)]
    pub hs256_secret_file: Option<PathBuf>,
    /// RS256/ES256 public keys from a JWKS file.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// RS256/ES256 public keys from a JWKS URL (https, or http on a loopback host).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

/// One HTTP Basic user.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicCredential {
    pub username: String,
    /// Argon2id PHC string (`$argon2id$v=19$...`) as made by `scim-bridge hash-password`.
    pub password_hash: String,
}

fn default_leeway() -> u64 {
    60
}

const REDACTED: &str = "<redacted>";

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Token hashes are not secrets, but nothing is gained by printing them.
        f.debug_struct("AuthConfig")
            .field("bearer_token_hashes", &self.bearer_token_hashes.len())
            .field("jwt", &self.jwt)
            .field("basic", &self.basic)
            .finish()
    }
}

impl fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| REDACTED),
            )
            .field("hs256_secret_file", &self.hs256_secret_file)
            .field("jwks_file", &self.jwks_file)
            .field("jwks_url", &self.jwks_url)
            .field("leeway_seconds", &self.leeway_seconds)
            .finish()
    }
}

impl fmt::Debug for BasicCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A password hash can be attacked offline: keep it out of logs.
        f.debug_struct("BasicCredential")
            .field("username", &self.username)
            .field("password_hash", &REDACTED)
            .finish()
    }
}
