//! Keys, tokens and settings shared by the auth tests.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::config::{AuthConfig, BasicCredential, JwtConfig};
use super::jwks::Clock;

pub const RSA1_PRIVATE: &str = include_str!("testdata/rsa1.key.pem");
pub const RSA1_PUBLIC: &str = include_str!("testdata/rsa1.pub.pem");
pub const RSA2_PRIVATE: &str = include_str!("testdata/rsa2.key.pem");
pub const EC1_PRIVATE: &str = include_str!("testdata/ec1.key.pem");
/// `rsa1` (RS256) and `ec1` (ES256).
pub const JWKS: &str = include_str!("testdata/jwks.json");
/// `rsa2` (RS256) only.
pub const JWKS_RSA2: &str = include_str!("testdata/jwks-rsa2.json");

pub const HS_SECRET: &str = "an-hs256-test-secret-of-more-than-32-bytes";
pub const ISSUER: &str = "https://idp.example/";
pub const AUDIENCE: &str = "scim-bridge-test";

pub fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/auth/testdata")
        .join(name)
}

/// An Argon2id hash with the smallest cost, so tests stay fast (verification uses the cost
/// recorded in the hash).
pub fn cheap_password_hash(password: &str) -> String {
    let params = Params::new(64, 1, 1, None).expect("valid params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    argon
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

pub fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).expect("timestamp fits")
}

/// Claims that pass every check; tests change one at a time.
pub fn good_claims() -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": "idp-client", "exp": now() + 300, "iat": now() })
}

/// A signed token with `claims`, for the algorithm and optional `kid`.
pub fn sign(alg: jsonwebtoken::Algorithm, kid: Option<&str>, claims: &Value) -> String {
    use jsonwebtoken::Algorithm::{ES256, HS256, RS256};
    let key = match alg {
        HS256 => EncodingKey::from_secret(HS_SECRET.as_bytes()),
        RS256 => EncodingKey::from_rsa_pem(RSA1_PRIVATE.as_bytes()).expect("rsa key"),
        ES256 => EncodingKey::from_ec_pem(EC1_PRIVATE.as_bytes()).expect("ec key"),
        other => panic!("no test key for {other:?}"),
    };
    sign_with(alg, kid, claims, &key)
}

pub fn sign_with(
    alg: jsonwebtoken::Algorithm,
    kid: Option<&str>,
    claims: &Value,
    key: &EncodingKey,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

/// A token with a hand-written header and no signature check possible (e.g. `alg: none`).
pub fn unsigned(header: &Value, claims: &Value, signature: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

pub fn jwt_config() -> JwtConfig {
    JwtConfig {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        hs256_secret: None,
        hs256_secret_file: None,
        jwks_file: None,
        jwks_url: None,
        leeway_seconds: 60,
    }
}

pub fn hs_only() -> AuthConfig {
    AuthConfig {
        jwt: Some(JwtConfig {
            hs256_secret: Some(HS_SECRET.to_owned()),
            ..jwt_config()
        }),
        ..AuthConfig::default()
    }
}

pub fn jwks_file_only() -> AuthConfig {
    AuthConfig {
        jwt: Some(JwtConfig {
            jwks_file: Some(testdata("jwks.json")),
            ..jwt_config()
        }),
        ..AuthConfig::default()
    }
}

pub fn basic_only(users: &[(&str, &str)]) -> AuthConfig {
    AuthConfig {
        basic: users
            .iter()
            .map(|(username, password)| BasicCredential {
                username: (*username).to_owned(),
                password_hash: cheap_password_hash(password),
            })
            .collect(),
        ..AuthConfig::default()
    }
}

/// A clock that moves only when told.
pub struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            start: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().expect("clock lock")
    }
}
