//! JWT bearer tokens: HS256 with the connector's shared secret, RS256/ES256 with JWKS keys.
//!
//! The algorithm is chosen from the token header but only among {HS256, RS256, ES256}, and each
//! algorithm has its own key source: the HS256 secret is never used for RS/ES tokens, and a
//! public key never serves as an HMAC secret (the classic algorithm-confusion attack, where an
//! attacker signs an HS256 token with the published RSA key as the secret).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::error::{JwtRejection, SafeText};
use super::jwks::KeyStore;

/// Longer values are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Whether a bearer value has the JWS compact shape: three base64url parts (the last may be
/// empty, as in unsigned `alg: none` tokens, which must reach the JWT path to be refused).
pub(crate) fn looks_like_jwt(value: &str) -> bool {
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let parts: Vec<&str> = value.split('.').collect();
    matches!(parts.as_slice(), [header, claims, signature]
        if !header.is_empty() && !claims.is_empty()
            && base64url(header) && base64url(claims) && base64url(signature))
}

/// The JWT rules of one connector.
pub(crate) struct JwtVerifier {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway_seconds: u64,
    pub(crate) hs256: Option<DecodingKey>,
    pub(crate) keys: Option<KeyStore>,
}

/// The header fields we read before choosing a key.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Claims {
    // Optional here so that a missing `sub` is reported by the claim check, not as bad JSON.
    #[serde(default)]
    sub: Option<String>,
}

impl JwtVerifier {
    /// Verifies signature and claims; the token's `sub` on success.
    pub(crate) async fn verify(&self, token: &str) -> Result<String, JwtRejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtRejection::Malformed);
        }
        let header = read_header(token)?;
        if header.crit.is_some() {
            return Err(JwtRejection::CriticalHeader);
        }
        let refused = || JwtRejection::AlgorithmRefused {
            alg: SafeText::new(&header.alg),
        };
        let alg = match header.alg.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            _ => return Err(refused()),
        };
        let validation = self.validation(alg);
        if alg == Algorithm::HS256 {
            let key = self.hs256.as_ref().ok_or_else(refused)?;
            return decode(token, key, &validation);
        }
        let store = self.keys.as_ref().ok_or_else(refused)?;
        let kid = header.kid.as_deref();
        let mut candidates = store.candidates(alg, kid);
        if candidates.is_empty() && kid.is_some() {
            // Perhaps the issuer rotated its keys: look again (rate-limited by the store).
            store.refresh().await;
            candidates = store.candidates(alg, kid);
        }
        if candidates.is_empty() {
            return Err(match kid {
                Some(_) => JwtRejection::UnknownKey,
                None => refused(),
            });
        }
        let mut outcome = Err(JwtRejection::BadSignature);
        for candidate in candidates {
            outcome = decode(token, &candidate.key, &validation);
            // Any other error means the signature was good and a claim was not.
            if outcome != Err(JwtRejection::BadSignature) {
                break;
            }
        }
        outcome
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        // Without these, the library skips `iss`/`aud` checks when the claim is absent.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("hs256", &self.hs256.as_ref().map(|_| "<redacted>"))
            .field("keys", &self.keys)
            .finish()
    }
}

fn read_header(token: &str) -> Result<Header, JwtRejection> {
    let encoded = token.split('.').next().ok_or(JwtRejection::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| JwtRejection::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| JwtRejection::Malformed)
}

fn decode(token: &str, key: &DecodingKey, validation: &Validation) -> Result<String, JwtRejection> {
    let data =
        jsonwebtoken::decode::<Claims>(token, key, validation).map_err(|e| rejection(e.kind()))?;
    data.claims
        .sub
        .filter(|sub| !sub.is_empty())
        .ok_or_else(|| JwtRejection::MissingClaim(SafeText::new("sub")))
}

fn rejection(kind: &ErrorKind) -> JwtRejection {
    match kind {
        ErrorKind::InvalidSignature => JwtRejection::BadSignature,
        ErrorKind::ExpiredSignature => JwtRejection::Expired,
        ErrorKind::ImmatureSignature => JwtRejection::NotYetValid,
        ErrorKind::InvalidIssuer => JwtRejection::WrongIssuer,
        ErrorKind::InvalidAudience => JwtRejection::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            JwtRejection::MissingClaim(SafeText::new(claim))
        }
        ErrorKind::InvalidAlgorithm => JwtRejection::AlgorithmRefused {
            alg: SafeText::new("mismatch"),
        },
        _ => JwtRejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJh.eyJz.c2ln"));
        assert!(
            looks_like_jwt("eyJh.eyJz."),
            "unsigned tokens still take the JWT path"
        );
        assert!(!looks_like_jwt("opaque-token_value"));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c.d"));
        assert!(!looks_like_jwt(".b.c"));
        assert!(
            !looks_like_jwt("a+/.b.c"),
            "standard base64 is not base64url"
        );
    }

    mod rules {
        use jsonwebtoken::Algorithm::{ES256, HS256, RS256};
        use jsonwebtoken::EncodingKey;
        use serde_json::{Value, json};

        use crate::auth::test_support::*;
        use crate::auth::{
            AuthConfig, AuthError, AuthMethod, Authenticator, JwtConfig, JwtRejection, Principal,
            SafeText,
        };

        async fn authenticator(config: AuthConfig) -> Authenticator {
            Authenticator::new(&config, Default::default())
                .await
                .expect("valid settings")
        }

        /// HS256 secret and the JWKS file together.
        fn hs_and_jwks() -> AuthConfig {
            AuthConfig {
                jwt: Some(JwtConfig {
                    hs256_secret: Some(HS_SECRET.to_owned()),
                    jwks_file: Some(testdata("jwks.json")),
                    ..jwt_config()
                }),
                ..AuthConfig::default()
            }
        }

        async fn present(auth: &Authenticator, token: &str) -> Result<Principal, AuthError> {
            auth.authenticate(Some(&format!("Bearer {token}"))).await
        }

        async fn rejection(auth: &Authenticator, token: &str) -> JwtRejection {
            match present(auth, token).await {
                Err(AuthError::Jwt(rejection)) => rejection,
                other => panic!("expected a JWT rejection, got {other:?}"),
            }
        }

        fn with(changes: Value) -> Value {
            let mut claims = good_claims();
            for (key, value) in changes.as_object().expect("object") {
                if value.is_null() {
                    claims.as_object_mut().expect("object").remove(key);
                } else {
                    claims[key] = value.clone();
                }
            }
            claims
        }

        fn refused(alg: &str) -> JwtRejection {
            JwtRejection::AlgorithmRefused {
                alg: SafeText::new(alg),
            }
        }

        #[tokio::test]
        async fn good_tokens_of_each_algorithm() {
            let auth = authenticator(hs_and_jwks()).await;
            let expected = Principal {
                subject: "idp-client".to_owned(),
                method: AuthMethod::Jwt,
            };
            for (alg, kid) in [
                (HS256, None),
                (RS256, Some("rsa1")),
                (ES256, Some("ec1")),
                // Without a kid, every key of the token's type is tried.
                (RS256, None),
                (ES256, None),
            ] {
                let token = sign(alg, kid, &good_claims());
                assert_eq!(
                    present(&auth, &token).await,
                    Ok(expected.clone()),
                    "{alg:?} {kid:?}"
                );
            }
        }

        #[tokio::test]
        async fn issuer_and_audience_must_match() {
            let auth = authenticator(hs_only()).await;
            let token = sign(
                HS256,
                None,
                &with(json!({ "iss": "https://evil.example/" })),
            );
            assert_eq!(rejection(&auth, &token).await, JwtRejection::WrongIssuer);
            let token = sign(HS256, None, &with(json!({ "aud": "another-app" })));
            assert_eq!(rejection(&auth, &token).await, JwtRejection::WrongAudience);
            let token = sign(
                HS256,
                None,
                &with(json!({ "aud": ["another-app", AUDIENCE] })),
            );
            assert!(
                present(&auth, &token).await.is_ok(),
                "one of several audiences"
            );
        }

        #[tokio::test]
        async fn exp_iss_aud_and_sub_are_required() {
            let auth = authenticator(hs_only()).await;
            for claim in ["exp", "iss", "aud", "sub"] {
                let token = sign(HS256, None, &with(json!({ claim: null })));
                assert_eq!(
                    rejection(&auth, &token).await,
                    JwtRejection::MissingClaim(SafeText::new(claim)),
                    "{claim}"
                );
            }
            let token = sign(HS256, None, &with(json!({ "sub": "" })));
            assert_eq!(
                rejection(&auth, &token).await,
                JwtRejection::MissingClaim(SafeText::new("sub"))
            );
        }

        #[tokio::test]
        async fn expiry_and_not_before_with_leeway() {
            let auth = authenticator(hs_only()).await; // leeway 60 s
            let expired = sign(HS256, None, &with(json!({ "exp": now() - 120 })));
            assert_eq!(rejection(&auth, &expired).await, JwtRejection::Expired);
            let just_expired = sign(HS256, None, &with(json!({ "exp": now() - 20 })));
            assert!(present(&auth, &just_expired).await.is_ok(), "within leeway");
            let future = sign(HS256, None, &with(json!({ "nbf": now() + 120 })));
            assert_eq!(rejection(&auth, &future).await, JwtRejection::NotYetValid);
            let soon = sign(HS256, None, &with(json!({ "nbf": now() + 20 })));
            assert!(present(&auth, &soon).await.is_ok(), "within leeway");

            let mut strict = hs_only();
            if let Some(jwt) = strict.jwt.as_mut() {
                jwt.leeway_seconds = 0;
            }
            let strict = authenticator(strict).await;
            assert_eq!(
                rejection(&strict, &just_expired).await,
                JwtRejection::Expired
            );
            assert_eq!(rejection(&strict, &soon).await, JwtRejection::NotYetValid);
        }

        #[tokio::test]
        async fn alg_none_and_unlisted_algorithms_are_refused() {
            let auth = authenticator(hs_and_jwks()).await;
            for alg in [
                "none", "None", "NONE", "HS384", "HS512", "RS512", "PS256", "ES384", "EdDSA",
            ] {
                let token = unsigned(&json!({ "alg": alg, "typ": "JWT" }), &good_claims(), "");
                assert_eq!(rejection(&auth, &token).await, refused(alg), "{alg}");
                let token = unsigned(&json!({ "alg": alg }), &good_claims(), "c2ln");
                assert_eq!(
                    rejection(&auth, &token).await,
                    refused(alg),
                    "{alg} with a signature"
                );
            }
            // A real HS512 signature with the right secret is still refused.
            let key = EncodingKey::from_secret(HS_SECRET.as_bytes());
            let hs512 = sign_with(jsonwebtoken::Algorithm::HS512, None, &good_claims(), &key);
            assert_eq!(rejection(&auth, &hs512).await, refused("HS512"));
        }

        #[tokio::test]
        async fn hs256_signed_with_the_public_key_is_refused() {
            // The algorithm-confusion attack: HMAC with the published RSA key as the secret.
            let key = EncodingKey::from_secret(RSA1_PUBLIC.as_bytes());
            let forged = sign_with(HS256, Some("rsa1"), &good_claims(), &key);
            let jwks_only = authenticator(jwks_file_only()).await;
            assert_eq!(rejection(&jwks_only, &forged).await, refused("HS256"));
            let both = authenticator(hs_and_jwks()).await;
            assert_eq!(rejection(&both, &forged).await, JwtRejection::BadSignature);
        }

        #[tokio::test]
        async fn rs256_and_es256_refused_when_only_hs256_is_configured() {
            let auth = authenticator(hs_only()).await;
            for (alg, kid) in [(RS256, "rsa1"), (ES256, "ec1")] {
                let token = sign(alg, Some(kid), &good_claims());
                assert_eq!(rejection(&auth, &token).await, refused(&format!("{alg:?}")));
            }
        }

        #[tokio::test]
        async fn hs256_refused_when_only_a_jwks_is_configured() {
            let auth = authenticator(jwks_file_only()).await;
            let token = sign(HS256, None, &good_claims());
            assert_eq!(rejection(&auth, &token).await, refused("HS256"));
        }

        #[tokio::test]
        async fn keys_are_matched_by_kid_and_type() {
            let auth = authenticator(jwks_file_only()).await;
            let unknown = sign(RS256, Some("nope"), &good_claims());
            assert_eq!(rejection(&auth, &unknown).await, JwtRejection::UnknownKey);
            // ES256 token naming the RSA key: no key of that type has that kid.
            let crossed = sign(ES256, Some("rsa1"), &good_claims());
            assert_eq!(rejection(&auth, &crossed).await, JwtRejection::UnknownKey);
            // Signed by another RSA key under a known kid.
            let key = EncodingKey::from_rsa_pem(RSA2_PRIVATE.as_bytes()).expect("rsa2");
            let impostor = sign_with(RS256, Some("rsa1"), &good_claims(), &key);
            assert_eq!(
                rejection(&auth, &impostor).await,
                JwtRejection::BadSignature
            );
            let impostor = sign_with(RS256, None, &good_claims(), &key);
            assert_eq!(
                rejection(&auth, &impostor).await,
                JwtRejection::BadSignature
            );
        }

        #[tokio::test]
        async fn tampered_and_malformed_tokens() {
            let auth = authenticator(hs_and_jwks()).await;
            let token = sign(RS256, Some("rsa1"), &good_claims());
            let parts: Vec<&str> = token.split('.').collect();
            let forged_claims = unsigned(&json!({}), &with(json!({ "sub": "admin" })), "");
            let forged_claims = forged_claims.split('.').nth(1).expect("claims part");
            let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
            assert_eq!(
                rejection(&auth, &tampered).await,
                JwtRejection::BadSignature
            );
            assert_eq!(
                rejection(&auth, "bm90LWpzb24.e30.c2ln").await,
                JwtRejection::Malformed
            );
            let critical = unsigned(
                &json!({ "alg": "HS256", "crit": ["exp"] }),
                &good_claims(),
                "c2ln",
            );
            assert_eq!(
                rejection(&auth, &critical).await,
                JwtRejection::CriticalHeader
            );
        }

        #[tokio::test]
        async fn jwt_shaped_tokens_are_opaque_without_jwt_settings() {
            let minted = crate::auth::token::mint();
            let config = AuthConfig {
                bearer_token_hashes: vec![minted.hash],
                ..AuthConfig::default()
            };
            let auth = authenticator(config).await;
            let token = sign(HS256, None, &good_claims());
            assert_eq!(present(&auth, &token).await, Err(AuthError::UnknownToken));
        }
    }
}
