//! The operator console (`/admin/`, docs/architecture.md "The console") in a real browser:
//! headless Chromium logs in, finds a user by userName and reads its trail, retries a failed
//! delivery, releases what the deletion guard holds, runs a reconciliation, and shows an
//! identity provider's `<img onerror>` as those characters. A screenshot of each page goes to
//! `target/console/` (CI keeps them).
//!
//! The `test` connector is MyTimetable delivering from the queue, with a deletion guard of 2.

mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use vendor_sim::faults::{Fault, FaultRule, RouteMatch};

use crate::common::{Backend, TestApp, Vendor};
use webdriver::Browser;

/// A displayName an attacker would give: it must show as these characters, never run.
const HOSTILE: &str = "<img src=x onerror=document.body.dataset.pwned=1>";

fn screenshot_path(page: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/console")
        .join(format!("{page}.png"))
}

async fn failed_count(app: &TestApp) -> u64 {
    let status = app.admin(Method::GET, "/admin/connectors/test").await;
    status.body["queue"]["failed"].as_u64().unwrap_or_default()
}

/// Creates `user_name` while the vendor refuses the account once: its delivery fails at once
/// (a refusal is not retried). `version` is the simulator's fault-set version.
async fn refused_delivery(app: &TestApp, version: u64, user_name: &str) {
    app.vendor().server.faults().set(
        version,
        vec![
            FaultRule::always(RouteMatch::new("PUT", "/api/v0/users"), Fault::Status(400)).times(1),
        ],
    );
    app.create_user(user_name).await;
    crate::queue::failed_entry(app).await;
    app.vendor().server.faults().clear();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_works_through_the_console() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, Vendor::Console)
        .await
        .expect("sqlite always runs");

    // A user whose displayName is an attack, delivered.
    let mallory = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "mallory@example.edu",
                "displayName": HOSTILE,
                "externalId": "ext-mallory",
            }),
        )
        .await;
    assert_eq!(mallory.status, 201, "{:?}", mallory.body);
    crate::queue::drained(&app, Duration::from_secs(20)).await;
    // A user the vendor refuses: a failed delivery.
    refused_delivery(&app, 1, "bob@example.edu").await;
    // Three removals against a guard of two: the third is held.
    let mut leavers = Vec::new();
    for name in ["leaver1", "leaver2", "leaver3"] {
        leavers.push(app.create_user(&format!("{name}@example.edu")).await);
    }
    crate::queue::drained(&app, Duration::from_secs(20)).await;
    let mut answers = Vec::new();
    for id in &leavers {
        answers.push(app.delete(&format!("/Users/{id}")).await.status);
    }
    assert_eq!(answers, [204, 204, 503]);
    let held = leavers[2].clone();

    // The console's files carry the policy that keeps the page to its own script.
    let page = app
        .client
        .get(format!("{}/admin/", app.root))
        .send()
        .await
        .expect("the console");
    assert_eq!(page.status(), 200);
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "require-trusted-types-for 'script'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }

    // Log in: a wrong token is refused, the admin token is taken.
    browser.goto(&format!("{}/admin/", app.root)).await;
    browser.find("#login-form").await;
    browser.screenshot(&screenshot_path("login")).await;
    browser.fill("#login-secret", "not-the-token").await;
    browser.click("#login-submit").await;
    browser.text_with("#message", "Not logged in").await;
    browser.fill("#login-secret", &app.admin_token).await;
    browser.click("#login-submit").await;

    // Connectors: the vendor's health and the queue.
    let row = browser
        .text_with("tr[data-connector=test]", "1 failed")
        .await;
    assert!(
        row.contains("mytimetable") && row.contains("reachable"),
        "{row}"
    );
    browser.screenshot(&screenshot_path("connectors")).await;
    browser.click("tr[data-connector=test] button.probe").await;
    browser
        .text_with("#message", "the vendor answers and takes our credentials")
        .await;

    // Find mallory by userName: the store's state, the trail, the attack as text.
    browser.click("nav a[href='#person']").await;
    browser.click("#field-connector option[value=test]").await;
    browser.fill("#field-value", "mallory@example.edu").await;
    browser.click("#field-vendor").await;
    browser.click("#person-search").await;
    let found = browser
        .text_with("#person-results", "POST /scim/v2/test/Users")
        .await;
    assert!(
        found.contains(HOSTILE),
        "the displayName shows as text: {found}"
    );
    assert!(
        found.contains("create User") && found.contains("committed"),
        "{found}"
    );
    assert!(
        found.contains("mytimetable"),
        "the vendor calls are in the trail: {found}"
    );
    let vendor = browser.text_with(".card.vendor", "At the vendor").await;
    assert!(vendor.contains("in sync"), "the vendor agrees: {vendor}");
    let injected = browser
        .run("return [document.querySelectorAll('#view img').length, document.body.dataset.pwned ?? null];")
        .await;
    assert_eq!(injected, json!([0, null]), "nothing of the displayName ran");
    // Trusted Types refuse markup from a string, should anything ever try.
    let refused = browser
        .run("try { document.createElement('div').innerHTML = '<b>x</b>'; return 'assigned'; } catch (e) { return e.name; }")
        .await;
    assert_eq!(refused, "TypeError");
    browser.screenshot(&screenshot_path("person")).await;

    // Deliveries: bob's failed one, retried from the page, reaches the vendor.
    browser.click("nav a[href='#deliveries']").await;
    browser.text_with("#view", "bob@example.edu").await;
    browser.screenshot(&screenshot_path("deliveries")).await;
    browser.click("button.retry").await;
    browser.text_with("#message", "attempted again").await;
    crate::queue::drained(&app, Duration::from_secs(20)).await;
    assert!(app.vendor().sim.has_user("bob@example.edu"));
    assert_eq!(failed_count(&app).await, 0);
    // Another the vendor refuses, dropped from the page after its confirmation.
    refused_delivery(&app, 2, "carol@example.edu").await;
    browser
        .goto(&format!("{}/admin/#deliveries?state=failed", app.root))
        .await;
    browser.text_with("#view", "carol@example.edu").await;
    browser.click("button.drop").await;
    browser.accept_dialog().await;
    browser.text_with("#message", "was dropped").await;
    assert_eq!(failed_count(&app).await, 0);
    assert!(!app.vendor().sim.has_user("carol@example.edu"));

    // The deletion guard: the held removal is listed; the operator allows it, and the
    // identity provider's retry goes through.
    browser.click("nav a[href='#guard']").await;
    let card = browser
        .text_with(".guard[data-connector=test]", "holding removals")
        .await;
    assert!(card.contains(&held), "the held removal is listed: {card}");
    browser.screenshot(&screenshot_path("guard")).await;
    browser
        .click(".guard[data-connector=test] button.allow")
        .await;
    browser.text_with("#message", "may pass").await;
    let retried = app.delete(&format!("/Users/{held}")).await;
    assert_eq!(retried.status, 204, "{:?}", retried.body);

    // Reconciliation, run from the page.
    browser.click("nav a[href='#reconcile']").await;
    browser
        .text_with("[data-connector=test]", "Run a reconciliation now")
        .await;
    browser
        .click("[data-connector=test] button.run-reconcile")
        .await;
    let report = browser
        .text_with("[data-connector=test] .report", "unresolved")
        .await;
    // The dropped delivery left carol in the store only: the report shows it.
    assert!(
        report.contains("1 unresolved")
            && report.contains("missingAtVendor")
            && report.contains("carol@example.edu"),
        "{report}"
    );
    browser.screenshot(&screenshot_path("reconcile")).await;

    // Logging out forgets the credential.
    browser.click("#logout").await;
    browser.find("#login-form").await;
    let kept = browser.run("return sessionStorage.length;").await;
    assert_eq!(kept, json!(0));

    browser.quit().await;
    app.finish().await;
}

/// Without admin credentials the console is off, like the admin API.
#[tokio::test]
async fn the_console_is_off_without_admin_credentials() {
    let path =
        std::env::temp_dir().join(format!("scim-bridge-console-{}.db", uuid::Uuid::new_v4()));
    let token = gateway::auth::token::mint();
    let config = gateway::config::Config::from_toml(&format!(
        r#"
        [store]
        url = "sqlite://{}"
        [connectors.test]
        kind = "directory"
        auth.bearer_token_hashes = ["{}"]
        "#,
        path.display(),
        token.hash
    ))
    .expect("config");
    let state = gateway::state::AppState::new(&config, &scim_bridge::registry())
        .await
        .expect("state");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let server =
        gateway::server::start(state, listener, Some(1), Duration::from_secs(5)).expect("server");
    let client = reqwest::Client::new();
    for file in ["", "/", "/console.js", "/console.css"] {
        let reply = crate::common::send(client.get(format!("{}/admin{file}", server.url()))).await;
        reply.assert_error(404, None);
        let detail: &Value = &reply.body["detail"];
        assert!(
            detail.as_str().is_some_and(|d| d.contains("[admin.auth]")),
            "{detail}"
        );
    }
    server.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
