//! Validation of [`AuthConfig`]: every mistake with its key path, what is wrong and how to fix
//! it. The same pass turns the settings into what the [`Authenticator`](super::Authenticator)
//! needs, so `check-config` and start-up can never disagree.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use argon2::password_hash::PasswordHashString;
use jsonwebtoken::DecodingKey;
use reqwest::Url;

use connector::Problem;

use super::config::{AuthConfig, JwtConfig};
use super::jwks::{PublicKey, parse_jwks};
use super::token::{parse_hash, parse_password_hash};

// One mistake in a connector's auth settings is a `Problem` whose key is relative to the
// connector's auth table (e.g. `jwt.audience`, `basic[0].password_hash`); an empty key means
// the table itself.

/// Longest accepted clock-skew allowance; more would make expiry meaningless.
const MAX_LEEWAY_SECONDS: u64 = 600;
/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
const MIN_HS256_SECRET_BYTES: usize = 32;

/// Lists the mistakes in `config`. Reads the files it names; no other I/O (the JWKS URL is
/// checked for form only).
pub fn check(config: &AuthConfig) -> Vec<Problem> {
    resolve(config).err().unwrap_or_default()
}

/// The settings in usable form.
pub(crate) struct Resolved {
    pub(crate) token_digests: Vec<[u8; 32]>,
    pub(crate) jwt: Option<ResolvedJwt>,
    pub(crate) basic: Vec<(String, PasswordHashString)>,
}

pub(crate) struct ResolvedJwt {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway_seconds: u64,
    pub(crate) hs256: Option<DecodingKey>,
    pub(crate) file_keys: Vec<Arc<PublicKey>>,
    pub(crate) url: Option<Url>,
}

pub(crate) fn resolve(config: &AuthConfig) -> Result<Resolved, Vec<Problem>> {
    let mut problems = Problems::default();
    if config.bearer_token_hashes.is_empty() && config.jwt.is_none() && config.basic.is_empty() {
        problems.add(
            "",
            "no authentication method is configured",
            "add bearer_token_hashes (mint a token with `scim-bridge token`), a [jwt] table, \
             or basic users",
        );
    }
    let token_digests = config
        .bearer_token_hashes
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let digest = parse_hash(text);
            if digest.is_none() {
                problems.add(
                    format!("bearer_token_hashes[{i}]"),
                    "is not of the form sha256:<64 hex digits>",
                    "paste the hash line printed by `scim-bridge token` (never the token itself)",
                );
            }
            digest
        })
        .collect();
    let jwt = config
        .jwt
        .as_ref()
        .and_then(|jwt| resolve_jwt(jwt, &mut problems));
    let basic = resolve_basic(config, &mut problems);
    if problems.0.is_empty() {
        Ok(Resolved {
            token_digests,
            jwt,
            basic,
        })
    } else {
        Err(problems.0)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Problem::new(key, message, fix));
    }
}

fn resolve_jwt(jwt: &JwtConfig, problems: &mut Problems) -> Option<ResolvedJwt> {
    let before = problems.0.len();
    if jwt.issuer.trim().is_empty() {
        problems.add(
            "jwt.issuer",
            "is empty",
            "set the issuer (`iss`) your identity provider puts in its tokens",
        );
    }
    if jwt.audience.trim().is_empty() {
        problems.add(
            "jwt.audience",
            "is empty",
            "set the audience (`aud`) the identity provider issues tokens for",
        );
    }
    if jwt.leeway_seconds > MAX_LEEWAY_SECONDS {
        problems.add(
            "jwt.leeway_seconds",
            format!("is larger than {MAX_LEEWAY_SECONDS}"),
            "keep the clock-skew allowance small (the default is 60) and fix the clocks instead",
        );
    }
    let hs256 = resolve_hs256(jwt, problems);
    if jwt.hs256_secret.is_none()
        && jwt.hs256_secret_file.is_none()
        && jwt.jwks_file.is_none()
        && jwt.jwks_url.is_none()
    {
        problems.add(
            "jwt",
            "has no key source",
            "set hs256_secret or hs256_secret_file (HS256), or jwks_file or jwks_url (RS256/ES256)",
        );
    }
    let file_keys = match &jwt.jwks_file {
        None => Vec::new(),
        Some(path) => match read(path).and_then(|text| parse_jwks(&text)) {
            Ok(keys) => keys,
            Err(reason) => {
                problems.add(
                    "jwt.jwks_file",
                    format!("{}: {reason}", path.display()),
                    "point it at a JSON Web Key Set ({\"keys\": [...]}) with the issuer's public RS256 or ES256 keys",
                );
                Vec::new()
            }
        },
    };
    let url = jwt.jwks_url.as_deref().and_then(|text| match jwks_url(text) {
        Ok(url) => Some(url),
        Err(message) => {
            problems.add(
                "jwt.jwks_url",
                message,
                "use the issuer's https JWKS address (http only for localhost), without credentials",
            );
            None
        }
    });
    (problems.0.len() == before).then(|| ResolvedJwt {
        issuer: jwt.issuer.clone(),
        audience: jwt.audience.clone(),
        leeway_seconds: jwt.leeway_seconds,
        hs256,
        file_keys,
        url,
    })
}

fn resolve_hs256(jwt: &JwtConfig, problems: &mut Problems) -> Option<DecodingKey> {
    let (key, secret) = match (&jwt.hs256_secret, &jwt.hs256_secret_file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            problems.add(
                "jwt.hs256_secret_file",
                "is set together with jwt.hs256_secret",
                "keep one of the two",
            );
            return None;
        }
        (Some(secret), None) => ("jwt.hs256_secret", secret.clone()),
        (None, Some(path)) => match read(path) {
            // Editors and `echo` add a final newline that is not part of the secret.
            Ok(text) => (
                "jwt.hs256_secret_file",
                text.trim_end_matches(['\r', '\n']).to_owned(),
            ),
            Err(reason) => {
                problems.add(
                    "jwt.hs256_secret_file",
                    format!("{}: {reason}", path.display()),
                    "make the file readable by the gateway, or correct the path",
                );
                return None;
            }
        },
    };
    if secret.trim_start().starts_with("-----BEGIN") {
        // A public key as HMAC secret is the algorithm-confusion attack, set up by hand.
        problems.add(
            key,
            "looks like a PEM key; a public key must never be used as an HMAC secret",
            "put the issuer's public keys in a JWKS (jwks_file or jwks_url) for RS256/ES256",
        );
        return None;
    }
    if secret.len() < MIN_HS256_SECRET_BYTES {
        problems.add(
            key,
            format!("is shorter than {MIN_HS256_SECRET_BYTES} bytes"),
            "use a random secret of 32 bytes or more, e.g. `openssl rand -base64 48`",
        );
        return None;
    }
    Some(DecodingKey::from_secret(secret.as_bytes()))
}

fn resolve_basic(
    config: &AuthConfig,
    problems: &mut Problems,
) -> Vec<(String, PasswordHashString)> {
    let mut seen = HashSet::new();
    let mut users = Vec::new();
    for (i, credential) in config.basic.iter().enumerate() {
        let name = &credential.username;
        if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
            problems.add(
                format!("basic[{i}].username"),
                "is empty or contains ':' or a control character",
                "choose a plain username (RFC 7617 forbids ':' in it)",
            );
        } else if !seen.insert(name.as_str()) {
            problems.add(
                format!("basic[{i}].username"),
                format!("repeats the username {name:?}"),
                "give each Basic user one entry",
            );
        }
        match parse_password_hash(&credential.password_hash) {
            Ok(hash) => users.push((name.clone(), hash)),
            Err(message) => problems.add(
                format!("basic[{i}].password_hash"),
                message,
                "store the $argon2id$... line printed by `scim-bridge hash-password`, never the password",
            ),
        }
    }
    users
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot be read ({e})"))
}

fn jwks_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Credentials in a URL end up in logs and error messages.
        return Err("contains credentials".into());
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("is not an https URL".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use figment::Figment;
    use figment::providers::{Format, Toml};

    use super::*;
    use crate::auth::config::BasicCredential;
    use crate::auth::test_support::*;
    use crate::auth::token::mint;

    fn keys(config: &AuthConfig) -> Vec<String> {
        check(config).into_iter().map(|p| p.key).collect()
    }

    fn with_jwt(change: impl FnOnce(&mut JwtConfig)) -> AuthConfig {
        let mut jwt = JwtConfig {
            hs256_secret: Some(HS_SECRET.to_owned()),
            ..jwt_config()
        };
        change(&mut jwt);
        AuthConfig {
            jwt: Some(jwt),
            ..AuthConfig::default()
        }
    }

    /// A file in the temporary directory, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, content: &str) -> TempFile {
            let path = std::env::temp_dir()
                .join(format!("scim-bridge-auth-{}-{name}", std::process::id()));
            std::fs::write(&path, content).expect("write temp file");
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_complete_config_has_no_problem() {
        let mut config = basic_only(&[("okta", "pw")]);
        config.bearer_token_hashes = vec![mint().hash];
        config.jwt = Some(JwtConfig {
            hs256_secret: Some(HS_SECRET.to_owned()),
            jwks_file: Some(testdata("jwks.json")),
            jwks_url: Some("https://idp.example/.well-known/jwks.json".to_owned()),
            ..jwt_config()
        });
        assert_eq!(check(&config), []);
    }

    #[test]
    fn no_method_at_all() {
        let problems = check(&AuthConfig::default());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "");
        assert!(problems[0].problem.starts_with("no authentication method"));
        // A connector refused at start names the auth table itself for an empty key.
        let refused = super::super::error::AuthSetupError::Invalid(problems).to_string();
        assert!(
            refused.contains("(auth): no authentication method"),
            "{refused}"
        );
    }

    #[test]
    fn malformed_token_hashes() {
        let minted = mint();
        let config = AuthConfig {
            bearer_token_hashes: vec![
                minted.hash.clone(),
                minted.token.clone(),
                "sha256:abc".to_owned(),
            ],
            ..AuthConfig::default()
        };
        let problems = check(&config);
        assert_eq!(
            problems.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
            ["bearer_token_hashes[1]", "bearer_token_hashes[2]"]
        );
        assert!(problems[0].fix.contains("scim-bridge token"));
        assert!(
            !problems[0].to_string().contains(&minted.token),
            "a pasted token is not echoed"
        );
    }

    #[test]
    fn jwt_without_key_source() {
        let config = with_jwt(|jwt| jwt.hs256_secret = None);
        let problems = check(&config);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].key, "jwt");
        assert!(problems[0].fix.contains("jwks_url"));
    }

    #[test]
    fn issuer_audience_and_leeway() {
        let config = with_jwt(|jwt| {
            jwt.issuer = " ".to_owned();
            jwt.audience = String::new();
            jwt.leeway_seconds = 3600;
        });
        assert_eq!(
            keys(&config),
            ["jwt.issuer", "jwt.audience", "jwt.leeway_seconds"]
        );
    }

    #[test]
    fn hs256_secret_rules() {
        let short = with_jwt(|jwt| jwt.hs256_secret = Some("too-short".to_owned()));
        assert_eq!(keys(&short), ["jwt.hs256_secret"]);
        assert!(!check(&short)[0].to_string().contains("too-short"));

        let pem = with_jwt(|jwt| jwt.hs256_secret = Some(RSA1_PUBLIC.to_owned()));
        assert_eq!(keys(&pem), ["jwt.hs256_secret"]);
        assert!(check(&pem)[0].problem.contains("PEM"));

        let file = TempFile::new("secret", &format!("{HS_SECRET}\n"));
        let both = with_jwt(|jwt| jwt.hs256_secret_file = Some(file.0.clone()));
        assert_eq!(keys(&both), ["jwt.hs256_secret_file"]);

        let from_file = with_jwt(|jwt| {
            jwt.hs256_secret = None;
            jwt.hs256_secret_file = Some(file.0.clone());
        });
        assert_eq!(check(&from_file), []);
        let resolved = resolve(&from_file)
            .ok()
            .and_then(|r| r.jwt)
            .expect("resolved");
        let token = sign(jsonwebtoken::Algorithm::HS256, None, &good_claims());
        let validation = {
            let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            v.set_audience(&[AUDIENCE]);
            v
        };
        let key = resolved.hs256.expect("secret loaded");
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok(),
            "the trailing newline is not part of the secret"
        );

        let unreadable = with_jwt(|jwt| {
            jwt.hs256_secret = None;
            jwt.hs256_secret_file = Some(testdata("no-such-secret"));
        });
        let problems = check(&unreadable);
        assert_eq!(keys(&unreadable), ["jwt.hs256_secret_file"]);
        assert!(
            problems[0].problem.contains("no-such-secret"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn bad_jwks_files() {
        for (name, expected) in [
            ("rsa1.pub.pem", "is not JSON"),
            ("missing.json", "cannot be read"),
        ] {
            let config = with_jwt(|jwt| jwt.jwks_file = Some(testdata(name)));
            let problems = check(&config);
            assert_eq!(problems.len(), 1, "{name}");
            assert_eq!(problems[0].key, "jwt.jwks_file");
            assert!(problems[0].problem.contains(expected), "{}", problems[0]);
        }
        let empty = TempFile::new("jwks", r#"{"keys":[{"kty":"oct","k":"AAAA"}]}"#);
        let config = with_jwt(|jwt| jwt.jwks_file = Some(empty.0.clone()));
        assert!(check(&config)[0].problem.contains("no usable"));
    }

    #[test]
    fn jwks_url_rules() {
        for (url, ok) in [
            ("https://login.example/keys", true),
            ("http://127.0.0.1:8080/jwks", true),
            ("http://localhost/jwks", true),
            ("http://[::1]/jwks", true),
            ("http://login.example/keys", false),
            ("https://user:pw@login.example/keys", false),
            ("ftp://login.example/keys", false),
            ("not a url", false),
        ] {
            let config = with_jwt(|jwt| jwt.jwks_url = Some(url.to_owned()));
            let expected: &[&str] = if ok { &[] } else { &["jwt.jwks_url"] };
            assert_eq!(keys(&config), expected, "{url}");
        }
        let config =
            with_jwt(|jwt| jwt.jwks_url = Some("https://user:hunter2@login.example/".to_owned()));
        assert!(!check(&config)[0].to_string().contains("hunter2"));
    }

    #[test]
    fn basic_problems() {
        let mut config = basic_only(&[("okta", "pw"), ("okta", "pw2"), ("a:b", "pw3")]);
        config.basic.push(BasicCredential {
            username: "entra".to_owned(),
            password_hash: "plain-password".to_owned(),
        });
        let problems = check(&config);
        assert_eq!(
            problems.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
            [
                "basic[1].username",
                "basic[2].username",
                "basic[3].password_hash"
            ]
        );
        assert!(!problems[2].to_string().contains("plain-password"));
    }

    #[test]
    fn settings_from_toml() {
        let toml = r#"
            bearer_token_hashes = ["sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]
            [jwt]
            issuer = "https://idp.example/"
            audience = "scim"
            jwks_url = "https://idp.example/keys"
            [[basic]]
            username = "okta"
            password_hash = "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$xx"
        "#;
        let config: AuthConfig = Figment::from(Toml::string(toml)).extract().expect("parses");
        assert_eq!(
            config.jwt.as_ref().map(|j| j.leeway_seconds),
            Some(60),
            "default leeway"
        );
        assert_eq!(config.basic.len(), 1);

        let typo = "bearer_token_hash = []";
        let outcome = Figment::from(Toml::string(typo)).extract::<AuthConfig>();
        assert!(outcome.is_err(), "unknown keys are refused");
        let typo = "[jwt]\nissuer = \"i\"\naudience = \"a\"\nhs256 = \"x\"";
        assert!(
            Figment::from(Toml::string(typo))
                .extract::<AuthConfig>()
                .is_err()
        );
    }
}
