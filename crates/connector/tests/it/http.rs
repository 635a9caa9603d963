//! Retries, backoff, `Retry-After`, timeouts and classification, proven by the simulator's
//! request log (how many attempts reached the vendor, with which headers).

use std::time::{Duration, Instant};

use connector::ConnectorError;
use connector::http::{EndpointConfig, Repeat, VendorClient};
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

fn simulator() -> (MyTimetableSim, SimServer) {
    let sim = MyTimetableSim::new(MyTimetableConfig::default());
    let server = sim
        .start(SimOptions {
            workers: 2,
            ..SimOptions::default()
        })
        .expect("simulator");
    (sim, server)
}

fn client(server: &SimServer) -> VendorClient {
    let mut config = EndpointConfig::new(format!("{}/api/v0", server.base_url()));
    config.initial_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(40);
    config.timeout = Duration::from_secs(2);
    VendorClient::new(&connector::Context::named("test"), "mytimetable", config).expect("client")
}

async fn list_users(
    client: &VendorClient,
    repeat: Repeat,
) -> Result<connector::http::VendorResponse, ConnectorError> {
    let url = client.url("/users");
    client
        .send("list users", repeat, Some("req-42"), |c| {
            c.get(&url).header("apiToken", DEMO_ADMIN_TOKEN)
        })
        .await
}

#[tokio::test]
async fn safe_calls_are_retried_through_5xx_and_carry_our_request_id() {
    let (_sim, server) = simulator();
    server
        .faults()
        .push(FaultRule::always(RouteMatch::path("/api/v0/users"), Fault::Status(503)).times(2));
    let answer = list_users(&client(&server), Repeat::Safe)
        .await
        .expect("answers")
        .error_for_status()
        .expect("success");
    assert_eq!(answer.status.as_u16(), 200);
    let log = server.log().matching("GET", "/api/v0/users");
    assert_eq!(log.len(), 3, "two failures, then success");
    assert!(
        log.iter()
            .all(|r| r.header("x-request-id") == Some("req-42"))
    );
    server.stop().await;
}

#[tokio::test]
async fn unsafe_calls_are_sent_once() {
    let (_sim, server) = simulator();
    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = list_users(&client(&server), Repeat::Unsafe)
        .await
        .expect("answers")
        .error_for_status()
        .expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }));
    assert_eq!(server.log().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn retry_after_is_honoured_and_long_ones_are_passed_on() {
    let (_sim, server) = simulator();
    server.faults().push(
        FaultRule::always(
            RouteMatch::any(),
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let started = Instant::now();
    let answer = list_users(&client(&server), Repeat::Safe)
        .await
        .expect("answers");
    assert_eq!(answer.status.as_u16(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as the vendor asked"
    );
    assert_eq!(server.log().len(), 2);

    server.log().clear();
    server.faults().push(
        FaultRule::always(
            RouteMatch::any(),
            Fault::TooManyRequests {
                retry_after_secs: 60,
            },
        )
        .times(1),
    );
    let e = list_users(&client(&server), Repeat::Safe)
        .await
        .expect("answers")
        .error_for_status()
        .expect_err("429");
    assert_eq!(
        e,
        ConnectorError::Unavailable {
            reason: "HTTP 429".into(),
            retry_after: Some(Duration::from_secs(60))
        }
    );
    assert_eq!(
        server.log().len(),
        1,
        "a minute is not waited for: the SCIM client retries later"
    );
    server.stop().await;
}

#[tokio::test]
async fn dropped_connections_and_hangs_become_unavailable() {
    let (_sim, server) = simulator();
    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Drop).times(1));
    assert_eq!(
        list_users(&client(&server), Repeat::Safe)
            .await
            .expect("retried")
            .status
            .as_u16(),
        200
    );

    server.faults().push(FaultRule::always(
        RouteMatch::any(),
        Fault::Hang(Duration::from_secs(3600)),
    ));
    let mut config = EndpointConfig::new(format!("{}/api/v0", server.base_url()));
    config.timeout = Duration::from_millis(300);
    config.max_retries = 1;
    config.initial_backoff = Duration::from_millis(10);
    let slow = VendorClient::new(&connector::Context::named("test"), "mytimetable", config)
        .expect("client");
    let e = list_users(&slow, Repeat::Safe)
        .await
        .expect_err("times out");
    assert!(
        matches!(&e, ConnectorError::Unavailable { reason, .. } if reason.contains("timed out")),
        "{e}"
    );
    server.stop().await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut config = EndpointConfig::new(format!("http://127.0.0.1:{port}"));
    config.max_retries = 0;
    let nowhere = VendorClient::new(&connector::Context::named("test"), "mytimetable", config)
        .expect("client");
    let e = list_users(&nowhere, Repeat::Safe)
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, ConnectorError::Unavailable { reason, .. } if reason.contains("could not connect")),
        "{e}"
    );
}

#[tokio::test]
async fn refused_credentials_and_rejections_are_not_retried() {
    let (_sim, server) = simulator();
    let client = client(&server);
    let url = client.url("/users");
    let e = client
        .send("list users", Repeat::Safe, None, |c| {
            c.get(&url).header("apiToken", "wrong")
        })
        .await
        .expect("answers")
        .error_for_status()
        .expect_err("401");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }));
    assert_eq!(server.log().len(), 1, "credentials are never retried");

    let url = client.url("/synchronizations/999?unlinkMode=UNLINK_ONLY");
    let e = client
        .send("delete synchronization", Repeat::Safe, None, |c| {
            c.delete(&url).header("apiToken", DEMO_ADMIN_TOKEN)
        })
        .await
        .expect("answers")
        .error_for_status()
        .expect_err("422");
    assert!(matches!(e, ConnectorError::Rejected { .. }), "{e}");
    assert_eq!(server.log().len(), 2);
    server.stop().await;
}

fn limited_client(
    server: &SimServer,
    per_second: u32,
    burst: u32,
    max_wait_ms: u64,
) -> VendorClient {
    let mut config = EndpointConfig::new(format!("{}/api/v0", server.base_url()));
    config.initial_backoff = Duration::from_millis(10);
    config.rate_limit = Some(connector::outbound::OutboundRate {
        per_second,
        burst,
        max_wait_ms,
    });
    VendorClient::new(&connector::Context::named("test"), "mytimetable", config).expect("client")
}

#[tokio::test]
async fn outbound_calls_wait_for_their_turn_and_a_long_queue_is_refused() {
    let (_sim, server) = simulator();
    let client = std::sync::Arc::new(limited_client(&server, 4, 1, 600));
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { list_users(&client, Repeat::Safe).await })
        })
        .collect();
    let (mut sent, mut refused) = (0, 0);
    for call in calls {
        match call.await.expect("joined") {
            Ok(answer) => {
                assert_eq!(answer.status.as_u16(), 200);
                sent += 1;
            }
            Err(ConnectorError::Unavailable { retry_after, .. }) => {
                assert!(
                    retry_after.is_some(),
                    "the SCIM client is told when to come back"
                );
                refused += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(sent + refused, 8);
    assert!(
        refused >= 4,
        "at 4/s a 600 ms wait lets at most 4 through: {sent} sent"
    );
    assert_eq!(
        server.log().len(),
        sent,
        "refused calls never reached the vendor"
    );
    assert!(started.elapsed() >= Duration::from_millis(250 * (sent as u64 - 1)));
    server.stop().await;
}

#[tokio::test]
async fn a_vendor_429_holds_off_every_call_to_it() {
    let (_sim, server) = simulator();
    server.faults().push(
        FaultRule::always(
            RouteMatch::any(),
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let client = std::sync::Arc::new(limited_client(&server, 100, 10, 5_000));
    // The pause runs from the 429's arrival, which is after this instant: whatever the
    // machine's load does to the timing below, no call can succeed before a second from here.
    let spawned = Instant::now();
    let first = {
        let client = client.clone();
        tokio::spawn(async move { list_users(&client, Repeat::Safe).await })
    };
    // Let the first call meet the 429, then start a second one: it waits out the pause.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = list_users(&client, Repeat::Safe).await.expect("answers");
    assert_eq!(second.status.as_u16(), 200);
    assert!(
        spawned.elapsed() >= Duration::from_secs(1),
        "held off for the vendor's second: {:?}",
        spawned.elapsed()
    );
    assert_eq!(
        first
            .await
            .expect("joined")
            .expect("answers")
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        server.log().len(),
        3,
        "the 429, then both calls after the pause"
    );
    server.stop().await;
}
