//! Public keys for RS256/ES256 JWTs: read from a JWKS document (file or URL), and refreshed from
//! the URL when a token names a key we do not know, at most once per [`REFRESH_INTERVAL`].

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use reqwest::header::ACCEPT;

/// Minimum time between two fetches of the JWKS URL, so that tokens with made-up `kid`s cannot
/// make us hammer the identity provider.
pub(crate) const REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// Bound on one fetch, connection included.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A JWKS document is a few kilobytes; refuse anything much larger.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// RSA keys below this size are refused (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// Where "now" comes from; injectable so tests can cross the refresh interval without sleeping.
pub(crate) trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// One verification key, usable with exactly one algorithm (RS256 or ES256).
pub(crate) struct PublicKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Reads the RS256/ES256 signing keys of a JWKS document. Entries of other types (HMAC `oct`
/// keys included: a published symmetric key would let anyone sign), other curves or
/// algorithms, `use` other than `sig`, or RSA keys under 2048 bits are skipped. Fails when the
/// document is not a JWKS or holds no usable key.
pub(crate) fn parse_jwks(document: &str) -> Result<Vec<Arc<PublicKey>>, String> {
    let value: serde_json::Value =
        serde_json::from_str(document).map_err(|e| format!("is not JSON ({e})"))?;
    let entries = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("has no \"keys\" array")?;
    let keys: Vec<_> = entries
        .iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter_map(|jwk| public_key(&jwk))
        .map(Arc::new)
        .collect();
    if keys.is_empty() {
        return Err(
            "holds no usable RS256 (RSA, 2048+ bits) or ES256 (EC P-256) signing key".into(),
        );
    }
    Ok(keys)
}

fn public_key(jwk: &Jwk) -> Option<PublicKey> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let declared = jwk.common.key_algorithm;
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa)
            if matches!(declared, None | Some(KeyAlgorithm::RS256))
                && modulus_bits(&rsa.n) >= MIN_RSA_BITS =>
        {
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec)
            if ec.curve == EllipticCurve::P256
                && matches!(declared, None | Some(KeyAlgorithm::ES256)) =>
        {
            Algorithm::ES256
        }
        _ => return None,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PublicKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

fn modulus_bits(n: &str) -> usize {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

/// The keys of one connector: fixed ones from a file, refreshable ones from a URL.
pub(crate) struct KeyStore {
    file_keys: Vec<Arc<PublicKey>>,
    remote: Option<Remote>,
}

struct Remote {
    url: Url,
    client: reqwest::Client,
    keys: RwLock<Arc<Vec<Arc<PublicKey>>>>,
    /// When the last fetch was attempted; held across a fetch so that concurrent requests with
    /// unknown kids wait for that fetch instead of starting their own.
    last_fetch: tokio::sync::Mutex<Instant>,
    clock: Arc<dyn Clock>,
}

impl KeyStore {
    /// Builds the store, fetching the URL's keys now. A failed first fetch is an error: a
    /// connector should not start with a key source it cannot reach. `timeout` bounds each
    /// fetch ([`FETCH_TIMEOUT`] outside tests).
    pub(crate) async fn new(
        file_keys: Vec<Arc<PublicKey>>,
        url: Option<Url>,
        clock: Arc<dyn Clock>,
        timeout: Duration,
    ) -> Result<KeyStore, String> {
        let remote = match url {
            None => None,
            Some(url) => {
                let client = reqwest::Client::builder()
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .https_only(url.scheme() == "https")
                    .redirect(reqwest::redirect::Policy::limited(3))
                    .build()
                    .map_err(|e| format!("HTTP client: {e}"))?;
                let keys = fetch(&client, &url).await?;
                Some(Remote {
                    last_fetch: tokio::sync::Mutex::new(clock.now()),
                    url,
                    client,
                    keys: RwLock::new(Arc::new(keys)),
                    clock,
                })
            }
        };
        Ok(KeyStore { file_keys, remote })
    }

    /// The keys to try for a token: those for `alg`, and with `kid` when the token has one.
    pub(crate) fn candidates(&self, alg: Algorithm, kid: Option<&str>) -> Vec<Arc<PublicKey>> {
        let remote_keys = self
            .remote
            .as_ref()
            .map(Remote::current)
            .unwrap_or_default();
        self.file_keys
            .iter()
            .chain(remote_keys.iter())
            .filter(|key| key.alg == alg && (kid.is_none() || key.kid.as_deref() == kid))
            .cloned()
            .collect()
    }

    /// Refetches the URL unless that was tried less than [`REFRESH_INTERVAL`] ago. A failure
    /// keeps the current keys.
    pub(crate) async fn refresh(&self) {
        let Some(remote) = &self.remote else {
            return;
        };
        let mut last_fetch = remote.last_fetch.lock().await;
        let now = remote.clock.now();
        if now.saturating_duration_since(*last_fetch) < REFRESH_INTERVAL {
            return;
        }
        *last_fetch = now;
        match fetch(&remote.client, &remote.url).await {
            Ok(keys) => {
                tracing::info!(
                    host = remote.url.host_str(),
                    keys = keys.len(),
                    "JWKS refreshed"
                );
                *remote.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
            }
            Err(reason) => tracing::warn!(
                host = remote.url.host_str(),
                %reason,
                "JWKS refresh failed; keeping the previous keys"
            ),
        }
    }
}

impl Remote {
    fn current(&self) -> Arc<Vec<Arc<PublicKey>>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyStore")
            .field("file_keys", &self.file_keys)
            .field("url", &self.remote.as_ref().map(|r| r.url.as_str()))
            .field("url_keys", &self.remote.as_ref().map(Remote::current))
            .finish()
    }
}

async fn fetch(client: &reqwest::Client, url: &Url) -> Result<Vec<Arc<PublicKey>>, String> {
    // `without_url`: the URL is configuration, not news, and keeps error texts short.
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json, application/jwk-set+json")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP status {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!(
                "the document is larger than {MAX_JWKS_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let document = String::from_utf8(body).map_err(|_| "the document is not UTF-8".to_owned())?;
    parse_jwks(&document).map_err(|reason| format!("the document {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{JWKS, JWKS_RSA2};

    #[test]
    fn reads_rsa_and_ec_keys() {
        let keys = parse_jwks(JWKS).expect("valid JWKS");
        let summary: Vec<_> = keys.iter().map(|k| (k.kid.as_deref(), k.alg)).collect();
        assert_eq!(
            summary,
            [
                (Some("rsa1"), Algorithm::RS256),
                (Some("ec1"), Algorithm::ES256)
            ]
        );
        assert_eq!(parse_jwks(JWKS_RSA2).expect("valid").len(), 1);
    }

    #[test]
    fn skips_unusable_keys() {
        let rsa = serde_json::from_str::<serde_json::Value>(JWKS).expect("json")["keys"][0].clone();
        let with = |patch: serde_json::Value| {
            let mut key = rsa.clone();
            for (k, v) in patch.as_object().expect("object") {
                key[k] = v.clone();
            }
            serde_json::json!({ "keys": [key] }).to_string()
        };
        assert!(parse_jwks(&with(serde_json::json!({}))).is_ok());
        for (why, patch) in [
            ("encryption key", serde_json::json!({ "use": "enc" })),
            ("other algorithm", serde_json::json!({ "alg": "RS512" })),
            (
                "small modulus",
                serde_json::json!({ "n": URL_SAFE_NO_PAD.encode([0xffu8; 128]) }),
            ),
        ] {
            assert!(parse_jwks(&with(patch)).is_err(), "{why}");
        }
        let hmac = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"}]}"#;
        assert!(
            parse_jwks(hmac).is_err(),
            "symmetric keys are never taken from a JWKS"
        );
    }

    #[test]
    fn refuses_non_jwks_documents() {
        assert!(parse_jwks("not json").is_err());
        assert!(parse_jwks(r#"{"kty":"RSA"}"#).is_err());
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err());
    }

    #[test]
    fn modulus_size() {
        assert_eq!(modulus_bits(&URL_SAFE_NO_PAD.encode([0x01u8, 0, 0])), 17);
        assert_eq!(modulus_bits(&URL_SAFE_NO_PAD.encode([0u8, 0x80, 0])), 16);
        assert_eq!(modulus_bits("!!"), 0);
    }

    mod over_http {
        use std::net::TcpListener;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        use std::time::Duration;

        use actix_web::dev::ServerHandle;
        use actix_web::{App, HttpResponse, HttpServer, web};
        use futures_util::future::join_all;
        use jsonwebtoken::Algorithm::RS256;
        use jsonwebtoken::EncodingKey;
        use serde_json::Value;

        use super::super::KeyStore;
        use crate::auth::test_support::*;
        use crate::auth::{
            AuthConfig, AuthError, AuthSetupError, Authenticator, JwtConfig, JwtRejection,
        };

        /// A JWKS endpoint whose document can be swapped or broken, counting its requests.
        #[derive(Clone, Default)]
        struct Endpoint {
            document: Arc<Mutex<String>>,
            failing: Arc<AtomicBool>,
            hits: Arc<AtomicUsize>,
        }

        impl Endpoint {
            fn serve(&self, document: &str) {
                *self.document.lock().expect("lock") = document.to_owned();
            }

            fn hits(&self) -> usize {
                self.hits.load(Ordering::SeqCst)
            }
        }

        async fn jwks(endpoint: web::Data<Endpoint>) -> HttpResponse {
            endpoint.hits.fetch_add(1, Ordering::SeqCst);
            if endpoint.failing.load(Ordering::SeqCst) {
                return HttpResponse::InternalServerError().finish();
            }
            let document = endpoint.document.lock().expect("lock").clone();
            HttpResponse::Ok()
                .content_type("application/json")
                .body(document)
        }

        /// Starts the endpoint on 127.0.0.1:0; returns its JWKS URL.
        fn start(endpoint: &Endpoint) -> (String, ServerHandle) {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("address").port();
            let data = web::Data::new(endpoint.clone());
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(data.clone())
                    .route("/jwks", web::get().to(jwks))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen")
            .run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            (format!("http://127.0.0.1:{port}/jwks"), handle)
        }

        fn url_config(url: &str) -> AuthConfig {
            AuthConfig {
                jwt: Some(JwtConfig {
                    jwks_url: Some(url.to_owned()),
                    ..jwt_config()
                }),
                ..AuthConfig::default()
            }
        }

        /// JWKS with rsa1, ec1 and rsa2.
        fn rotated_jwks() -> String {
            let mut all: Value = serde_json::from_str(JWKS).expect("json");
            let extra: Value = serde_json::from_str(JWKS_RSA2).expect("json");
            let keys = all["keys"].as_array_mut().expect("keys");
            keys.extend(extra["keys"].as_array().expect("keys").iter().cloned());
            all.to_string()
        }

        fn rsa2_token(kid: &str) -> String {
            let key = EncodingKey::from_rsa_pem(RSA2_PRIVATE.as_bytes()).expect("rsa2");
            sign_with(RS256, Some(kid), &good_claims(), &key)
        }

        async fn present(
            auth: &Authenticator,
            token: &str,
        ) -> Result<crate::auth::Principal, AuthError> {
            auth.authenticate(Some(&format!("Bearer {token}"))).await
        }

        const UNKNOWN_KEY: Result<crate::auth::Principal, AuthError> =
            Err(AuthError::Jwt(JwtRejection::UnknownKey));
        const PAST_INTERVAL: Duration = Duration::from_secs(61);

        #[actix_web::test]
        async fn keys_are_fetched_at_start_and_refreshed_at_most_once_a_minute() {
            let endpoint = Endpoint::default();
            endpoint.serve(JWKS);
            let (url, server) = start(&endpoint);
            let clock = Arc::new(ManualClock::new());
            let auth =
                Authenticator::with_clock(&url_config(&url), clock.clone(), Default::default())
                    .await
                    .expect("starts");
            assert_eq!(endpoint.hits(), 1, "fetched at start");
            assert!(
                present(&auth, &sign(RS256, Some("rsa1"), &good_claims()))
                    .await
                    .is_ok()
            );
            assert!(
                present(&auth, &sign(RS256, None, &good_claims()))
                    .await
                    .is_ok()
            );
            assert_eq!(endpoint.hits(), 1, "known keys need no fetch");

            // The issuer rotates in rsa2; within a minute of the last fetch we do not refetch.
            endpoint.serve(&rotated_jwks());
            assert_eq!(present(&auth, &rsa2_token("rsa2")).await, UNKNOWN_KEY);
            assert_eq!(endpoint.hits(), 1);

            clock.advance(PAST_INTERVAL);
            assert!(
                present(&auth, &rsa2_token("rsa2")).await.is_ok(),
                "refreshed on the new kid"
            );
            assert_eq!(endpoint.hits(), 2);

            // Made-up kids cannot cause a storm: one fetch per interval, even when concurrent.
            for _ in 0..5 {
                assert_eq!(present(&auth, &rsa2_token("ghost")).await, UNKNOWN_KEY);
            }
            assert_eq!(endpoint.hits(), 2);
            clock.advance(PAST_INTERVAL);
            let ghost = rsa2_token("ghost");
            let outcomes = join_all((0..8).map(|_| present(&auth, &ghost))).await;
            assert!(outcomes.iter().all(|outcome| *outcome == UNKNOWN_KEY));
            assert_eq!(endpoint.hits(), 3);
            server.stop(false).await;
        }

        #[actix_web::test]
        async fn a_failed_refresh_keeps_the_old_keys() {
            let endpoint = Endpoint::default();
            endpoint.serve(&rotated_jwks());
            let (url, server) = start(&endpoint);
            let clock = Arc::new(ManualClock::new());
            let auth =
                Authenticator::with_clock(&url_config(&url), clock.clone(), Default::default())
                    .await
                    .expect("starts");

            endpoint.failing.store(true, Ordering::SeqCst);
            clock.advance(PAST_INTERVAL);
            assert_eq!(present(&auth, &rsa2_token("ghost")).await, UNKNOWN_KEY);
            assert_eq!(endpoint.hits(), 2, "the refresh was tried");
            assert!(
                present(&auth, &rsa2_token("rsa2")).await.is_ok(),
                "old keys kept"
            );

            // A document without usable keys is a failure too.
            endpoint.failing.store(false, Ordering::SeqCst);
            endpoint.serve(r#"{"keys":[]}"#);
            clock.advance(PAST_INTERVAL);
            assert_eq!(present(&auth, &rsa2_token("ghost")).await, UNKNOWN_KEY);
            assert_eq!(endpoint.hits(), 3);
            assert!(
                present(&auth, &rsa2_token("rsa2")).await.is_ok(),
                "old keys kept"
            );
            server.stop(false).await;
        }

        #[actix_web::test]
        async fn start_fails_when_the_first_fetch_fails() {
            let endpoint = Endpoint::default();
            endpoint.failing.store(true, Ordering::SeqCst);
            let (url, server) = start(&endpoint);
            let outcome = Authenticator::new(&url_config(&url), Default::default()).await;
            assert!(
                matches!(&outcome, Err(AuthSetupError::JwksFetch(reason)) if reason.contains("500")),
                "{outcome:?}"
            );
            server.stop(false).await;
        }

        #[actix_web::test]
        async fn a_fetch_that_never_answers_times_out() {
            // The kernel accepts the connection; nobody ever reads or answers.
            let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
            let url = format!("http://{}/jwks", silent.local_addr().expect("address"));
            let url = reqwest::Url::parse(&url).expect("url");
            let clock = Arc::new(ManualClock::new());
            let store = KeyStore::new(Vec::new(), Some(url), clock, Duration::from_millis(200));
            let outcome = tokio::time::timeout(Duration::from_secs(30), store)
                .await
                .expect("the fetch timeout fired first");
            assert!(outcome.is_err());
        }

        #[actix_web::test]
        async fn file_and_url_keys_are_both_used() {
            let endpoint = Endpoint::default();
            endpoint.serve(JWKS_RSA2);
            let (url, server) = start(&endpoint);
            let mut config = url_config(&url);
            if let Some(jwt) = config.jwt.as_mut() {
                jwt.jwks_file = Some(testdata("jwks.json"));
            }
            let auth = Authenticator::new(&config, Default::default())
                .await
                .expect("starts");
            assert!(
                present(&auth, &rsa2_token("rsa2")).await.is_ok(),
                "from the URL"
            );
            assert!(
                present(&auth, &sign(RS256, Some("rsa1"), &good_claims()))
                    .await
                    .is_ok(),
                "from the file"
            );
            server.stop(false).await;
        }
    }
}
