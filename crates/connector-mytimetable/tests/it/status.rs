//! Every vendor connector's live status and probe, against the simulators over real sockets:
//! what a success, a failure and a recovery leave in the status, that a probe really calls
//! the vendor (the simulator's request log) and fails when the vendor does, the limiter's
//! queue and pause while throttled, and that no configured secret reaches the serialized
//! status.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connector::outbound::OutboundRate;
use connector::{Connector, ConnectorError, ConnectorStatus, EndpointStatus};
use connector_mytimetable::{MyTimetable, MyTimetableSettings};
use scim::ResourceKind;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vendor_sim::mytimetable::{DEMO_ADMIN_TOKEN, MyTimetableConfig, MyTimetableSim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

fn options() -> SimOptions {
    SimOptions {
        workers: 2,
        ..SimOptions::default()
    }
}

/// The one endpoint of a single-endpoint connector.
fn endpoint(connector: &dyn Connector) -> EndpointStatus {
    let ConnectorStatus { endpoints } = connector.status();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    endpoints.into_iter().next().expect("one endpoint")
}

/// The status as the admin API will serialize it.
fn json(connector: &dyn Connector) -> String {
    serde_json::to_string(&connector.status()).expect("serializes")
}

fn assert_rfc3339(value: &serde_json::Value) {
    let text = value.as_str().expect("a timestamp string");
    OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339");
}

/// `METHOD path` of every request so far, then clears the log.
fn calls(server: &SimServer) -> Vec<String> {
    let calls = server
        .log()
        .all()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    server.log().clear();
    calls
}

fn fast(http: &mut connector::http::HttpSettings) {
    http.initial_backoff_ms = 10;
    http.max_backoff_ms = 40;
    http.timeout_secs = 2;
}

// ---- MyTimetable ------------------------------------------------------------------------

fn mytimetable() -> (MyTimetableSim, SimServer) {
    let sim = MyTimetableSim::new(MyTimetableConfig::default());
    let server = sim.start(options()).expect("simulator");
    (sim, server)
}

fn mtt_settings(server: &SimServer, token: &str) -> MyTimetableSettings {
    let mut settings = MyTimetableSettings::new(format!("{}/api/v0", server.base_url()), token);
    fast(&mut settings.http);
    settings
}

#[tokio::test]
async fn calls_set_success_failure_and_recovery() {
    let (_sim, server) = mytimetable();
    let mtt = MyTimetable::new(
        &connector::Context::named("mytimetable"),
        mtt_settings(&server, DEMO_ADMIN_TOKEN),
    )
    .expect("connector");
    let fresh = endpoint(&mtt);
    assert_eq!(fresh.name, "mytimetable");
    assert_eq!(fresh.base_url, format!("{}/api/v0", server.base_url()));
    assert_eq!(fresh.reachable, None, "never called");
    assert_eq!((fresh.calls, fresh.failures), (0, 0));
    assert!(fresh.last_success.is_none() && fresh.last_failure.is_none());
    assert!(fresh.limiter.is_none(), "no rate limit configured");

    let before = OffsetDateTime::now_utc();
    mtt.list_accounts(ResourceKind::User, None)
        .await
        .expect("listed");
    let up = endpoint(&mtt);
    assert_eq!(up.reachable, Some(true));
    assert_eq!((up.calls, up.failures, up.retries), (2, 0, 0), "{up:?}");
    assert!(up.last_success.is_some_and(|at| at >= before));
    assert_eq!(up.consecutive_failures, 0);

    server.faults().push(FaultRule::always(
        RouteMatch::path("/api/v0/users"),
        Fault::Status(503),
    ));
    for streak in 1..=2 {
        let e = mtt
            .list_accounts(ResourceKind::User, None)
            .await
            .expect_err("the vendor is down");
        assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
        let down = endpoint(&mtt);
        assert_eq!(down.reachable, Some(false));
        assert_eq!(down.consecutive_failures, streak);
        assert_eq!(down.failures, u64::from(streak));
        assert_eq!(down.retries, 3 * u64::from(streak), "three retries a call");
        assert!(
            down.last_failure
                .is_some_and(|f| Some(f) >= down.last_success)
        );
        let error = down.last_error.expect("an error");
        assert!(
            error.contains("list users") && error.contains("503"),
            "{error}"
        );
    }
    let value: serde_json::Value = serde_json::from_str(&json(&mtt)).expect("json");
    let shown = &value["endpoints"][0];
    assert_rfc3339(&shown["lastSuccess"]);
    assert_rfc3339(&shown["lastFailure"]);
    assert_eq!(shown["consecutiveFailures"], 2);

    server.faults().clear();
    mtt.list_accounts(ResourceKind::User, None)
        .await
        .expect("back");
    let back = endpoint(&mtt);
    assert_eq!(back.reachable, Some(true));
    assert_eq!(back.consecutive_failures, 0, "a success ends the streak");
    assert!(back.last_success > back.last_failure);
    assert_eq!(back.failures, 2, "the failures stay counted");
    server.stop().await;
}

#[tokio::test]
async fn a_vendor_that_does_not_answer_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let mut settings =
        MyTimetableSettings::new(format!("http://127.0.0.1:{port}/api/v0"), DEMO_ADMIN_TOKEN);
    fast(&mut settings.http);
    let mtt =
        MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("connector");
    let e = mtt.probe().await.expect_err("nobody listens");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    let down = endpoint(&mtt);
    assert_eq!(down.reachable, Some(false));
    assert_eq!(down.retries, 0, "a probe tries once");
    assert!(
        down.last_error
            .as_deref()
            .is_some_and(|e| e.contains("could not connect")),
        "{down:?}"
    );
}

#[tokio::test]
async fn mytimetable_probe_lists_users_once_and_fails_with_the_vendor() {
    let (_sim, server) = mytimetable();
    let mtt = MyTimetable::new(
        &connector::Context::named("mytimetable"),
        mtt_settings(&server, DEMO_ADMIN_TOKEN),
    )
    .expect("connector");
    mtt.probe().await.expect("the vendor answers");
    mtt.probe().await.expect("again");
    assert_eq!(calls(&server), ["GET /api/v0/users", "GET /api/v0/users"]);
    assert_eq!(endpoint(&mtt).reachable, Some(true));

    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(503)));
    let e = mtt.probe().await.expect_err("503");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    assert_eq!(
        calls(&server),
        ["GET /api/v0/users"],
        "one attempt, no retries"
    );
    let down = endpoint(&mtt);
    assert_eq!(down.reachable, Some(false));
    assert_eq!(down.consecutive_failures, 1);

    server.stop().await;
}

#[tokio::test]
async fn a_probe_answer_that_is_not_as_documented_is_a_failure_of_a_reachable_vendor() {
    // A vendor (or a proxy in front of it) answering 200 with something else than M1's JSON.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<html></html>",
                )
                .await;
        }
    });
    let mut settings =
        MyTimetableSettings::new(format!("http://127.0.0.1:{port}/api/v0"), DEMO_ADMIN_TOKEN);
    fast(&mut settings.http);
    let mtt =
        MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("connector");
    let e = mtt.probe().await.expect_err("not the documented JSON");
    assert!(matches!(e, ConnectorError::Unavailable { .. }), "{e}");
    let status = endpoint(&mtt);
    assert_eq!(status.reachable, Some(true));
    assert_eq!((status.calls, status.failures), (1, 1));
    assert_eq!(status.consecutive_failures, 1);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("not the documented JSON")),
        "{status:?}"
    );
    server.abort();
}

#[tokio::test]
async fn refused_credentials_are_a_failure_of_a_reachable_vendor_and_stay_secret() {
    let (_sim, server) = mytimetable();
    let secret = "s3cret-wrong-token";
    let mut settings = mtt_settings(&server, secret);
    // Credentials in the URL must not show either.
    settings.base_url = settings
        .base_url
        .replace("http://", "http://operator:hunter2@");
    let mtt =
        MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("connector");
    let e = mtt.probe().await.expect_err("refused");
    assert!(matches!(e, ConnectorError::Unauthorized { .. }), "{e}");
    let refused = endpoint(&mtt);
    assert_eq!(refused.reachable, Some(true), "the vendor answered");
    assert_eq!(refused.consecutive_failures, 1);
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("credentials refused")),
        "{refused:?}"
    );
    let shown = json(&mtt);
    for secret in [secret, "hunter2", "operator"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains(&server.base_url()["http://".len()..]));

    let good = MyTimetable::new(
        &connector::Context::named("mytimetable"),
        mtt_settings(&server, DEMO_ADMIN_TOKEN),
    )
    .expect("connector");
    good.probe().await.expect("accepted");
    assert!(!json(&good).contains(DEMO_ADMIN_TOKEN));
    server.stop().await;
}

#[tokio::test]
async fn the_limiter_shows_waiting_calls_and_the_vendors_pause() {
    let (_sim, server) = mytimetable();
    let mut settings = mtt_settings(&server, DEMO_ADMIN_TOKEN);
    settings.http.rate_limit = Some(OutboundRate {
        per_second: 2,
        burst: 1,
        max_wait_ms: 10_000,
    });
    let mtt = Arc::new(
        MyTimetable::new(&connector::Context::named("mytimetable"), settings).expect("connector"),
    );
    let idle = endpoint(mtt.as_ref()).limiter.expect("a limiter");
    assert_eq!(
        (
            idle.rate_per_second,
            idle.burst,
            idle.max_wait_ms,
            idle.waiting
        ),
        (2, 1, 10_000, 0)
    );
    assert!(idle.paused_until.is_none());

    // At 2/s with a burst of 1, four probes at once leave three waiting.
    let probes: Vec<_> = (0..4)
        .map(|_| {
            let mtt = mtt.clone();
            tokio::spawn(async move { mtt.probe().await })
        })
        .collect();
    let mut most = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        let now = endpoint(mtt.as_ref());
        let waiting = now.limiter.as_ref().expect("a limiter").waiting;
        assert!(now.in_flight >= waiting, "{now:?}");
        most = most.max(waiting);
        if most >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(most >= 2, "at most {most} waited");
    for probe in probes {
        probe.await.expect("joined").expect("each gets its turn");
    }
    let after = endpoint(mtt.as_ref());
    assert_eq!(after.limiter.expect("a limiter").waiting, 0);
    assert_eq!((after.in_flight, after.calls), (0, 4));

    // The vendor's 429 pauses the endpoint; the status says until when.
    server.faults().push(
        FaultRule::always(
            RouteMatch::path("/api/v0/users"),
            Fault::TooManyRequests {
                retry_after_secs: 2,
            },
        )
        .times(1),
    );
    let listing = {
        let mtt = mtt.clone();
        tokio::spawn(async move { mtt.list_accounts(ResourceKind::User, None).await })
    };
    let started = Instant::now();
    let paused = loop {
        let limiter = endpoint(mtt.as_ref()).limiter.expect("a limiter");
        if let Some(until) = limiter.paused_until {
            break until;
        }
        assert!(started.elapsed() < Duration::from_secs(2), "no pause shown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let left = paused - OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::ZERO && left <= time::Duration::seconds(2),
        "{left}"
    );
    listing
        .await
        .expect("joined")
        .expect("served after the pause");
    let done = endpoint(mtt.as_ref());
    assert!(done.limiter.expect("a limiter").paused_until.is_none());
    assert_eq!(done.consecutive_failures, 0, "the retry succeeded");
    server.stop().await;
}
