//! The authenticator as handlers see it: header parsing, method selection, challenges,
//! isolation between connectors, and redaction.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::Algorithm::HS256;

use super::test_support::*;
use super::token::{MintedToken, mint};
use super::*;

async fn authenticator(config: &AuthConfig) -> Authenticator {
    Authenticator::new(config, Default::default())
        .await
        .expect("valid settings")
}

fn tokens_config(tokens: &[&MintedToken]) -> AuthConfig {
    AuthConfig {
        bearer_token_hashes: tokens.iter().map(|t| t.hash.clone()).collect(),
        ..AuthConfig::default()
    }
}

fn basic_header(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

#[tokio::test]
async fn opaque_tokens_valid_invalid_missing() {
    let (first, second) = (mint(), mint());
    let auth = authenticator(&tokens_config(&[&first, &second])).await;
    for token in [&first, &second] {
        let principal = auth
            .authenticate(Some(&format!("Bearer {}", token.token)))
            .await
            .expect("configured token");
        assert_eq!(principal.method, AuthMethod::BearerToken);
        assert!(token.hash.starts_with(&principal.subject));
        assert!(!principal.subject.contains(&token.token));
    }
    // The scheme is case-insensitive; extra spaces are tolerated.
    let lower = format!("bearer   {}", first.token);
    assert!(auth.authenticate(Some(&lower)).await.is_ok());

    let unknown = format!("Bearer {}", mint().token);
    assert_eq!(
        auth.authenticate(Some(&unknown)).await,
        Err(AuthError::UnknownToken)
    );
    let truncated = format!("Bearer {}", &first.token[..42]);
    assert_eq!(
        auth.authenticate(Some(&truncated)).await,
        Err(AuthError::UnknownToken)
    );
    // The hash itself is not a credential.
    let hash = format!("Bearer {}", first.hash);
    assert_eq!(
        auth.authenticate(Some(&hash)).await,
        Err(AuthError::UnknownToken)
    );

    let bearer = Challenge::Bearer;
    assert_eq!(
        auth.authenticate(None).await,
        Err(AuthError::Missing { challenge: bearer })
    );
    assert_eq!(
        auth.authenticate(Some("Bearer")).await,
        Err(AuthError::MalformedBearer)
    );
    assert_eq!(
        auth.authenticate(Some("Bearer a b")).await,
        Err(AuthError::MalformedBearer)
    );
    assert_eq!(
        auth.authenticate(Some(&format!("Token {}", first.token)))
            .await,
        Err(AuthError::UnsupportedScheme { challenge: bearer })
    );
    assert_eq!(
        auth.authenticate(Some(&first.token)).await,
        Err(AuthError::UnsupportedScheme { challenge: bearer }),
        "a bare token without scheme"
    );
}

#[tokio::test]
async fn basic_good_bad_absent() {
    let auth = authenticator(&basic_only(&[("okta", "pw-okta"), ("entra", "pw-entra")])).await;
    assert_eq!(
        auth.authenticate(Some(&basic_header("entra", "pw-entra")))
            .await,
        Ok(Principal {
            subject: "entra".to_owned(),
            method: AuthMethod::Basic
        })
    );
    assert_eq!(
        auth.authenticate(Some(&basic_header("entra", "pw-okta")))
            .await,
        Err(AuthError::BadCredentials)
    );
    assert_eq!(
        auth.authenticate(Some(&basic_header("nobody", "pw-okta")))
            .await,
        Err(AuthError::BadCredentials)
    );
    assert_eq!(
        auth.authenticate(Some("Basic !!!")).await,
        Err(AuthError::MalformedBasic)
    );
    let basic = Challenge::Basic;
    assert_eq!(
        auth.authenticate(None).await,
        Err(AuthError::Missing { challenge: basic })
    );
    let bearer = format!("Bearer {}", mint().token);
    assert_eq!(
        auth.authenticate(Some(&bearer)).await,
        Err(AuthError::UnsupportedScheme { challenge: basic }),
        "no bearer method configured"
    );
}

#[tokio::test]
async fn basic_is_refused_when_not_configured() {
    let token = mint();
    let auth = authenticator(&tokens_config(&[&token])).await;
    assert_eq!(
        auth.authenticate(Some(&basic_header("okta", "pw"))).await,
        Err(AuthError::UnsupportedScheme {
            challenge: Challenge::Bearer
        })
    );
}

#[tokio::test]
async fn bearer_and_basic_together() {
    let token = mint();
    let mut config = basic_only(&[("okta", "pw-okta")]);
    config.bearer_token_hashes = vec![token.hash.clone()];
    let auth = authenticator(&config).await;
    assert!(
        auth.authenticate(Some(&format!("Bearer {}", token.token)))
            .await
            .is_ok()
    );
    assert!(
        auth.authenticate(Some(&basic_header("okta", "pw-okta")))
            .await
            .is_ok()
    );
    let missing = auth.authenticate(None).await.expect_err("no header");
    assert_eq!(
        missing.www_authenticate(),
        r#"Bearer realm="scim-bridge", Basic realm="scim-bridge""#
    );
}

#[test]
fn www_authenticate_values() {
    let cases = [
        (
            AuthError::Missing {
                challenge: Challenge::Bearer,
            },
            r#"Bearer realm="scim-bridge""#,
        ),
        (
            AuthError::Missing {
                challenge: Challenge::Basic,
            },
            r#"Basic realm="scim-bridge""#,
        ),
        (
            AuthError::UnsupportedScheme {
                challenge: Challenge::Bearer,
            },
            r#"Bearer realm="scim-bridge""#,
        ),
        (
            AuthError::MalformedBearer,
            r#"Bearer realm="scim-bridge", error="invalid_request", error_description="malformed bearer token""#,
        ),
        (
            AuthError::UnknownToken,
            r#"Bearer realm="scim-bridge", error="invalid_token", error_description="unknown token""#,
        ),
        (
            AuthError::Jwt(JwtRejection::Expired),
            r#"Bearer realm="scim-bridge", error="invalid_token", error_description="token expired""#,
        ),
        (
            AuthError::Jwt(JwtRejection::AlgorithmRefused {
                alg: SafeText::new("none"),
            }),
            r#"Bearer realm="scim-bridge", error="invalid_token", error_description="algorithm not accepted""#,
        ),
        (AuthError::BadCredentials, r#"Basic realm="scim-bridge""#),
        (AuthError::MalformedBasic, r#"Basic realm="scim-bridge""#),
    ];
    for (error, expected) in cases {
        assert_eq!(error.www_authenticate(), expected, "{error:?}");
    }
}

#[test]
fn client_text_in_errors_is_defanged() {
    let alg = SafeText::new("none\"\r\nX-Injected: 1, and a very long tail");
    assert_eq!(alg.as_str(), "noneX-Injected1a");
    let error = AuthError::Jwt(JwtRejection::AlgorithmRefused { alg });
    assert!(!error.www_authenticate().contains("Injected"));
}

#[tokio::test]
async fn one_connectors_credentials_never_open_another() {
    let (token_a, token_b) = (mint(), mint());
    let mut config_a = tokens_config(&[&token_a]);
    config_a.basic = basic_only(&[("shared-name", "password-a")]).basic;
    config_a.jwt = hs_only().jwt;
    let mut config_b = tokens_config(&[&token_b]);
    config_b.basic = basic_only(&[("shared-name", "password-b")]).basic;
    config_b.jwt = Some(JwtConfig {
        hs256_secret: Some("another-hs256-secret-for-connector-b!!".to_owned()),
        ..jwt_config()
    });
    let a = authenticator(&config_a).await;
    let b = authenticator(&config_b).await;

    let jwt_a = format!("Bearer {}", sign(HS256, None, &good_claims()));
    let credentials = [
        (
            format!("Bearer {}", token_a.token),
            format!("Bearer {}", token_b.token),
        ),
        (
            basic_header("shared-name", "password-a"),
            basic_header("shared-name", "password-b"),
        ),
    ];
    for (for_a, for_b) in &credentials {
        assert!(a.authenticate(Some(for_a)).await.is_ok());
        assert!(b.authenticate(Some(for_b)).await.is_ok());
        assert!(a.authenticate(Some(for_b)).await.is_err());
        assert!(b.authenticate(Some(for_a)).await.is_err());
    }
    assert!(a.authenticate(Some(&jwt_a)).await.is_ok());
    assert_eq!(
        b.authenticate(Some(&jwt_a)).await,
        Err(AuthError::Jwt(JwtRejection::BadSignature))
    );
}

#[tokio::test]
async fn authenticator_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let auth = authenticator(&hs_only()).await;
    send_sync(&auth);
    let pending = auth.authenticate(None);
    send(&pending);
    assert!(pending.await.is_err());
}

#[tokio::test]
async fn setup_refuses_invalid_settings() {
    let outcome = Authenticator::new(&AuthConfig::default(), Default::default()).await;
    assert!(
        matches!(&outcome, Err(AuthSetupError::Invalid(problems)) if problems.len() == 1),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn no_secret_in_debug_or_errors() {
    let token = mint();
    let mut config = hs_only();
    config.bearer_token_hashes = vec![token.hash.clone()];
    config.basic = basic_only(&[("okta", "pw-okta")]).basic;
    let password_hash = config.basic[0].password_hash.clone();

    let shown = format!("{config:?}");
    assert!(!shown.contains(HS_SECRET), "{shown}");
    assert!(!shown.contains(&password_hash), "{shown}");
    assert!(!shown.contains(&token.hash), "{shown}");
    assert!(
        shown.contains("okta") && shown.contains("<redacted>"),
        "{shown}"
    );

    let auth = authenticator(&config).await;
    let shown = format!("{auth:?}");
    assert!(!shown.contains(HS_SECRET), "{shown}");
    assert!(!shown.contains(&password_hash[20..]), "{shown}");
    assert!(!shown.contains(&token.hash[7..]), "{shown}");

    let presented = mint().token;
    let error = auth
        .authenticate(Some(&format!("Bearer {presented}")))
        .await
        .expect_err("unknown");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        error.www_authenticate(),
    ] {
        assert!(!text.contains(&presented), "{text}");
    }

    let short_secret = "short-secret";
    let mut bad = hs_only();
    if let Some(jwt) = bad.jwt.as_mut() {
        jwt.hs256_secret = Some(short_secret.to_owned());
    }
    let error = Authenticator::new(&bad, Default::default())
        .await
        .expect_err("too short");
    for text in [error.to_string(), format!("{error:?}")] {
        assert!(!text.contains(short_secret), "{text}");
    }
}
