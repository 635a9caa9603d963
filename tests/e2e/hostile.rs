//! What an attacker or a careless client sends: text no store can keep, names probed, bodies
//! too large or too slow. Each refused with a SCIM error, alike on both backends, before any
//! vendor is called.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestApp, send};
use crate::on_both_backends;

on_both_backends!(
    nul_characters_are_refused_everywhere,
    unknown_connectors_are_not_told_apart,
    bodies_too_large_or_too_slow_are_refused,
    a_costly_patch_is_refused_and_a_heavy_one_stalls_no_one,
    resources_are_bounded,
    urls_that_are_not_utf8_are_refused,
);
on_both_backends!(mytimetable: nul_characters_never_reach_the_vendor);

/// Asserts a 400 `invalidValue` whose detail names `place`.
fn assert_nul_refused(reply: &crate::common::Reply, place: &str) {
    reply.assert_error(400, Some("invalidValue"));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("NUL") && detail.contains(place),
        "the detail names {place}: {detail}"
    );
}

async fn nul_characters_are_refused_everywhere(app: TestApp) {
    assert_nul_refused(
        &app.post("/Users", json!({"userName": "nul\u{0}name"}))
            .await,
        "'userName'",
    );
    assert_nul_refused(
        &app.post(
            "/Groups",
            json!({"displayName": "G", "members": [{"value": "a\u{0}"}]}),
        )
        .await,
        "'members[0].value'",
    );
    let id = app.create_user("clean").await;
    let before = app.get(&format!("/Users/{id}")).await;
    assert_nul_refused(
        &app.patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "displayName", "value": "x\u{0}"}]),
        )
        .await,
        "'Operations[0].value'",
    );
    assert_nul_refused(
        &app.patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": "emails[value eq \"\u{0}\"]"}]),
        )
        .await,
        "'Operations[0].path'",
    );
    assert_nul_refused(
        &app.put(
            &format!("/Users/{id}"),
            json!({"userName": "clean", "externalId": "\u{0}"}),
        )
        .await,
        "'externalId'",
    );
    // Filters and ids reach the store's indexes: refused before.
    for filter in [
        "userName eq \"a\u{0}\"",
        "externalId eq \"\u{0}\"",
        "id eq \"\u{0}\"",
    ] {
        assert_nul_refused(
            &send(
                app.client
                    .get(app.url_with("/Users", &[("filter", filter)]))
                    .bearer_auth(&app.token),
            )
            .await,
            "'filter'",
        );
    }
    assert_nul_refused(
        &app.call(
            Method::POST,
            "/Users/.search",
            Some(json!({"filter": "displayName eq \"\u{0}\""})),
        )
        .await,
        "'filter'",
    );
    for method in [Method::GET, Method::DELETE] {
        assert_nul_refused(
            &app.call(method, &format!("/Users/{id}%00"), None).await,
            "the id in the path",
        );
    }
    // In a Bulk request, the operation holding one fails alone.
    let bulk = app
        .call(
            Method::POST,
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "bulk\u{0}"}},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "bulk-ok"}},
                    {"method": "DELETE", "path": "/Users/x\u{0}"}
                ]
            })),
        )
        .await;
    assert_eq!(bulk.status, 200, "{:?}", bulk.body);
    let statuses: Vec<&str> = bulk.body["Operations"]
        .as_array()
        .map(|ops| ops.iter().filter_map(|op| op["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, ["400", "201", "400"], "{:?}", bulk.body);
    // Nothing of it was kept, and the store never failed.
    assert_eq!(app.get(&format!("/Users/{id}")).await.body, before.body);
    let all = app.get("/Users").await;
    assert_eq!(all.body["totalResults"], 2, "clean and bulk-ok only");
    let failed = app.admin(Method::GET, "/admin/journal?state=failed").await;
    assert_eq!(failed.body["entries"], json!([]), "{:?}", failed.body);
    app.finish().await;
}

async fn nul_characters_never_reach_the_vendor(app: TestApp) {
    let reply = app
        .post(
            "/Users",
            json!({
                "userName": "nul@example.edu\u{0}",
                "name": {"givenName": "N", "familyName": "Ul"},
                "emails": [{"value": "nul@example.edu", "primary": true}]
            }),
        )
        .await;
    assert_nul_refused(&reply, "'userName'");
    assert!(
        app.vendor().sim.users().is_empty(),
        "the vendor was not called"
    );
    app.finish().await;
}

/// A connector name that does not exist gets exactly the refusal a real one gives a request
/// without a valid credential: status, challenge and detail.
async fn unknown_connectors_are_not_told_apart(app: TestApp) {
    let at = |connector: &str| format!("{}/scim/v2/{connector}/Users", app.root);
    for credential in [
        None,
        Some(format!("Bearer {}", app.token)),
        Some("Bearer x".to_owned()),
        Some("Basic dXNlcjpwYXNzd29yZA==".to_owned()),
    ] {
        let ask = |url: String| {
            let request = app.client.get(url);
            match &credential {
                Some(value) => request.header("authorization", value.as_str()),
                None => request,
            }
        };
        let unknown = send(ask(at("nope"))).await;
        unknown.assert_error(401, None);
        // The real connector, refusing the same credential (its own token is refused by the
        // other connector, as a token of no connector would be).
        let known = send(ask(at("other"))).await;
        assert_eq!(
            (unknown.header("www-authenticate"), &unknown.body),
            (known.header("www-authenticate"), &known.body),
            "{credential:?}"
        );
    }
    app.finish().await;
}

/// Sends `head` (a request line and headers, without the blank line) and the first bytes of a
/// body over a plain socket, then reads the answer: its status, its JSON body, and how long
/// it took to come.
async fn raw_exchange(app: &TestApp, head: &str, body_start: &[u8]) -> (u16, Value, Duration) {
    let address = app.root.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.expect("connect");
    let request = format!(
        "{head}\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
        app.token
    );
    socket
        .write_all(request.as_bytes())
        .await
        .expect("send head");
    socket.write_all(body_start).await.expect("send body");
    let sent = Instant::now();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    // Until the headers and the body they announce are in (the server may keep the
    // connection open, or close it).
    loop {
        let read = tokio::time::timeout(Duration::from_secs(20), socket.read(&mut buffer))
            .await
            .expect("an answer within 20 s")
            .expect("read");
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((headers, body)) = text.split_once("\r\n\r\n") {
            let length = headers
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length || read == 0 {
                let status = headers
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let body = serde_json::from_str(body).unwrap_or(Value::Null);
                return (status, body, sent.elapsed());
            }
        }
        assert!(read > 0, "connection closed before an answer: {answer:?}");
    }
}

async fn bodies_too_large_or_too_slow_are_refused(app: TestApp) {
    let path = app.base.trim_start_matches(&app.root).to_owned();
    // Declared far above the limit: refused before a byte of it is sent.
    let (status, body, _) = raw_exchange(
        &app,
        &format!(
            "POST {path}/Users HTTP/1.1\r\nContent-Type: application/scim+json\r\nContent-Length: 10000000000"
        ),
        b"",
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["status"], "413", "a SCIM error body: {body}");
    // A body that stops after its first bytes: 408 once the read deadline (2 s here) passes,
    // not when the client gives up.
    let (status, body, waited) = raw_exchange(
        &app,
        &format!(
            "POST {path}/Users HTTP/1.1\r\nContent-Type: application/scim+json\r\nContent-Length: 100"
        ),
        b"{\"userName\": \"slo",
    )
    .await;
    assert_eq!(status, 408, "{body}");
    assert_eq!(body["status"], "408", "a SCIM error body: {body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("2 s")),
        "{body}"
    );
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    // Nothing was created, and the gateway still answers.
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
    app.finish().await;
}

/// The peak resident memory of process `pid` (`VmHWM`), in KiB.
fn peak_resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// 32 bad Basic logins at once against the real binary (in its own process, so that its
/// memory is its own): most are throttled with 429, those hashed run a few at a time, the
/// process's peak memory grows by far less than 32 Argon2id verifications would take
/// (19 MiB each), and a valid client, verified once before, is answered throughout.
#[test]
fn a_flood_of_bad_basic_logins_is_bounded() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("scim-bridge-flood-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let hash = gateway::auth::token::hash_password("s3cret-okta").expect("hash");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            [server]
            listen = "127.0.0.1:0"
            workers = 2
            [store]
            url = "sqlite://{}"
            [[connectors.basic.auth.basic]]
            username = "okta"
            password_hash = "{hash}"
            [connectors.basic]
            kind = "directory"
            "#,
            dir.join("flood.db").display()
        ),
    )
    .expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-bridge"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("SCIM_BRIDGE_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("SCIM endpoint ")
                .nth(1)
                .map(|url| url.trim().to_owned())
        })
        .expect("the endpoint is printed");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let http = reqwest::Client::new();
            let users = format!("{base}/Users");
            let login = |password: &str| http.get(&users).basic_auth("okta", Some(password)).send();
            assert_eq!(login("s3cret-okta").await.expect("gateway").status(), 200);
            let before = peak_resident_kib(pid);

            let flood = futures_util::future::join_all(
                (0..32).map(|i| login(if i % 2 == 0 { "guess" } else { "guess-2" })),
            );
            let valid = async {
                let mut statuses = Vec::new();
                for _ in 0..20 {
                    statuses.push(
                        login("s3cret-okta")
                            .await
                            .expect("gateway")
                            .status()
                            .as_u16(),
                    );
                }
                statuses
            };
            let (flood, valid) = tokio::join!(flood, valid);
            let mut refused = 0;
            let mut throttled = 0;
            let mut busy = 0;
            for reply in flood {
                let reply = reply.expect("gateway");
                match reply.status().as_u16() {
                    401 => refused += 1,
                    // 429: throttled; 503: no hashing slot came free in time (each
                    // verification is slow in a debug build).
                    status @ (429 | 503) => {
                        if status == 429 {
                            throttled += 1;
                        } else {
                            busy += 1;
                        }
                        assert!(
                            reply
                                .headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.parse::<u64>().ok())
                                .is_some_and(|secs| secs >= 1),
                            "{status} says when to come back"
                        );
                        let body: serde_json::Value = reply.json().await.expect("json");
                        assert_eq!(body["status"], status.to_string(), "{body}");
                    }
                    other => panic!("a bad login got {other}"),
                }
            }
            assert!(
                refused + busy <= 10,
                "at most a burst of attempts is let through: {refused} refused, {busy} busy"
            );
            assert_eq!(refused + busy + throttled, 32);
            assert!(
                valid.iter().all(|s| *s == 200),
                "the valid client is answered throughout: {valid:?}"
            );
            let grown_mib = peak_resident_kib(pid).saturating_sub(before) / 1024;
            assert!(
                grown_mib < 128,
                "peak memory grew by {grown_mib} MiB under the flood"
            );
        });
    }));
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A user with `n` e-mails.
async fn user_with_emails(app: &TestApp, name: &str, n: usize) -> String {
    let emails: Vec<Value> = (0..n)
        .map(|i| json!({"value": format!("{name}{i}@example.edu")}))
        .collect();
    let reply = app
        .post("/Users", json!({"userName": name, "emails": emails}))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body["id"].as_str().expect("id").to_owned()
}

/// `n` operations removing e-mails by a filter of `terms` terms, none of which matches.
fn filtered_removes(n: usize, terms: usize) -> Value {
    let filter = (0..terms)
        .map(|i| format!("value eq \"nobody{i}@x\""))
        .collect::<Vec<_>>()
        .join(" or ");
    let op = json!({"op": "remove", "path": format!("emails[{filter}]")});
    Value::Array(vec![op; n])
}

async fn a_costly_patch_is_refused_and_a_heavy_one_stalls_no_one(app: TestApp) {
    // 900 e-mails × 150 terms: 135,000 comparisons an operation.
    let ann = user_with_emails(&app, "ann", 900).await;
    let bob = user_with_emails(&app, "bob", 900).await;
    let before = app.get(&format!("/Users/{ann}")).await.body;
    let refused = app
        .patch(&format!("/Users/{ann}"), filtered_removes(8, 150))
        .await;
    refused.assert_error(400, Some("tooMany"));
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("smaller PATCHes"), "{detail}");
    assert_eq!(app.get(&format!("/Users/{ann}")).await.body, before);

    // Two heavy ones that are allowed (945,000 comparisons each), one per actix worker, while
    // GETs go on: the GETs are answered while the PATCHes run, not after.
    let heavy = |id: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let reply = app
                .patch(&format!("/Users/{id}"), filtered_removes(7, 150))
                .await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            started.elapsed()
        }
    };
    let gets = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let started = Instant::now();
            assert_eq!(app.get("/ServiceProviderConfig").await.status, 200);
            slowest = slowest.max(started.elapsed());
        }
        slowest
    };
    let (first, second, slowest_get) = tokio::join!(heavy(ann), heavy(bob), gets);
    let patch_time = first.min(second);
    assert!(
        slowest_get < patch_time / 2,
        "a GET waited {slowest_get:?} beside PATCHes of {patch_time:?}"
    );
    app.finish().await;
}

async fn resources_are_bounded(app: TestApp) {
    let id = app.create_user("bounded").await;
    let emails: Vec<Value> = (0..1_001)
        .map(|i| json!({"value": format!("e{i}@x")}))
        .collect();
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": "emails", "value": emails}]),
        )
        .await;
    reply.assert_error(400, Some("invalidValue"));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("'emails'") && detail.contains("1000"),
        "{detail}"
    );
    // Grown a PATCH at a time, each well under the body limit, to past the stored size.
    let addresses = |batch: usize| -> Value {
        (0..150)
            .map(|i| json!({"formatted": format!("{batch}-{i} {}", "x".repeat(380))}))
            .collect()
    };
    let mut refused = None;
    for batch in 0..6 {
        let reply = app
            .patch(
                &format!("/Users/{id}"),
                json!([{"op": "add", "path": "addresses", "value": addresses(batch)}]),
            )
            .await;
        if reply.status != 200 {
            refused = Some((batch, reply));
            break;
        }
    }
    let (batch, reply) = refused.expect("refused before six batches of 60 KB");
    assert_eq!(batch, 4, "four batches fit in 256 KiB, the fifth does not");
    reply.assert_error(400, Some("invalidValue"));
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("scim.max_resource_bytes"), "{detail}");
    app.finish().await;
}

async fn urls_that_are_not_utf8_are_refused(app: TestApp) {
    for (url, place) in [
        (format!("{}/Users/%FF", app.base), "path"),
        (
            format!("{}/Users?filter=userName%20eq%20%22%C3%28%22", app.base),
            "query string",
        ),
    ] {
        let reply = send(app.client.get(&url).bearer_auth(&app.token)).await;
        reply.assert_error(400, Some("invalidSyntax"));
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(place) && detail.contains("UTF-8"),
            "{detail}"
        );
    }
    // Percent-encoded UTF-8 is fine.
    let fine = send(
        app.client
            .get(format!(
                "{}/Users?filter=userName%20eq%20%22%C3%A9%22",
                app.base
            ))
            .bearer_auth(&app.token),
    )
    .await;
    assert_eq!(fine.status, 200, "{:?}", fine.body);
    app.finish().await;
}
