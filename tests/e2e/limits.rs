//! Inbound rate limits over real sockets: 429 with `Retry-After` and a SCIM error body; a
//! noisy client starves neither another client nor another connector.

use std::time::Duration;

use gateway::config::Config;

use crate::common::send;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_quota_is_429_and_only_for_whom_it_concerns() {
    let noisy = gateway::auth::token::mint();
    let quiet = gateway::auth::token::mint();
    let other = gateway::auth::token::mint();
    let db = std::env::temp_dir().join(format!("scim-bridge-limits-{}.db", uuid::Uuid::new_v4()));
    let config = Config::from_toml(&format!(
        r#"
        [store]
        url = "sqlite://{}"
        [connectors.limited]
        kind = "directory"
        auth.bearer_token_hashes = ["{}", "{}"]
        rate_limit.per_client = {{ per_second = 1, burst = 3 }}
        rate_limit.per_connector = {{ per_second = 1, burst = 5 }}
        [connectors.other]
        kind = "directory"
        auth.bearer_token_hashes = ["{}"]
        "#,
        db.display(),
        noisy.hash,
        quiet.hash,
        other.hash
    ))
    .expect("config");
    let registry = scim_bridge::registry();
    assert!(
        config.problems(&registry).is_empty(),
        "{:?}",
        config.problems(&registry)
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let state = gateway::state::AppState::new(&config, &registry)
        .await
        .expect("state");
    let server =
        gateway::server::start(state, listener, Some(2), Duration::from_secs(5)).expect("server");
    let client = reqwest::Client::new();
    let get = |connector: &str, token: &str| {
        send(
            client
                .get(format!("{}/scim/v2/{connector}/Users", server.url()))
                .bearer_auth(token),
        )
    };

    for _ in 0..3 {
        assert_eq!(get("limited", &noisy.token).await.status, 200);
    }
    let refused = get("limited", &noisy.token).await;
    refused.assert_error(429, None);
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    // Another client of the same connector still gets in (the noisy one's refusals took
    // nothing from the connector's quota) ...
    assert_eq!(get("limited", &quiet.token).await.status, 200);
    assert_eq!(get("limited", &quiet.token).await.status, 200);
    // ... until the connector's own quota is spent: 3 + 2 = its burst of 5.
    let refused = get("limited", &quiet.token).await;
    refused.assert_error(429, None);
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("connector")),
        "{:?}",
        refused.body
    );
    // Another connector is not affected at all.
    for _ in 0..10 {
        assert_eq!(get("other", &other.token).await.status, 200);
    }
    // After the wait the noisy client is let in again.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(get("limited", &noisy.token).await.status, 200);
    let metrics = send(client.get(format!("{}/metrics", server.url()))).await;
    let text = metrics.body.as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("scim_rate_limited_total{connector=\"limited\",scope=\"client\"}"),
        "{text}"
    );
    server.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}
