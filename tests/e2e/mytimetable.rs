//! The `mytimetable` connector end to end: Entra ID's and Okta's sequences through the gateway
//! into the MyTimetable simulator, whose state must then be what the identity provider asked
//! for; the connector's policies seen over SCIM; vendor faults as SCIM errors; reconciliation.

use gateway::reconcile::{Drift, Quiet, reconcile};
use serde_json::json;
use vendor_sim::mytimetable::{Synchronization, UnlinkMode};
use vendor_sim::{Fault, FaultRule, RouteMatch};

use crate::common::TestApp;
use crate::on_both_backends;

const MTT: &str = "urn:scim-bridge:schemas:extension:mytimetable:1.0:User";

on_both_backends!(mytimetable:
    entra_sequence_reaches_mytimetable,
    okta_sequence_reaches_mytimetable,
    synchronizations_follow_scim,
    vendor_faults_are_scim_errors,
    reconciliation_finds_and_imports_drift,
    recovery_waits_out_a_throttling_vendor,
    types_from_an_identity_providers_mapping_screen,
);

/// Entra ID's and Okta's mapping screens send a string or a list of strings, never the
/// complex `synchronizations`: `synchronizationTypes` takes them.
async fn types_from_an_identity_providers_mapping_screen(app: TestApp) {
    let created = app
        .post(
            "/Users",
            json!({"userName": "entra@uni.edu", "emails": [{"value": "entra@uni.edu", "primary": true}],
                   MTT: {"synchronizationTypes": "ews"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        syncs(&app),
        [("entra@uni.edu".to_owned(), "ews".to_owned())]
    );
    // Entra's PATCH of a single-valued mapping, with both types in one string.
    let patched = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": format!("{MTT}:synchronizationTypes"), "value": "ews,o365"}]),
        )
        .await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(
        syncs(&app),
        [
            ("entra@uni.edu".to_owned(), "ews".to_owned()),
            ("entra@uni.edu".to_owned(), "o365".to_owned())
        ]
    );
    // Okta's list of strings.
    let okta = app
        .post(
            "/Users",
            json!({"userName": "okta@uni.edu", "emails": [{"value": "okta@uni.edu"}],
                   MTT: {"synchronizationTypes": ["googlecalendar"]}}),
        )
        .await;
    assert_eq!(okta.status, 201, "{:?}", okta.body);
    assert!(syncs(&app).contains(&("okta@uni.edu".to_owned(), "googlecalendar".to_owned())));
    app.finish().await;
}

/// `(username, type)` of every synchronization at the vendor, sorted.
fn syncs(app: &TestApp) -> Vec<(String, String)> {
    let mut syncs: Vec<_> = app
        .vendor()
        .sim
        .synchronizations()
        .into_iter()
        .map(
            |Synchronization {
                 username,
                 sync_type,
                 ..
             }| (username, sync_type),
        )
        .collect();
    syncs.sort();
    syncs
}

async fn entra_sequence_reaches_mytimetable(app: TestApp) {
    crate::entra::user_sequence(&app).await;
    let sim = &app.vendor().sim;
    assert!(sim.users().is_empty(), "hard-deleted at the vendor too");
    assert!(sim.synchronizations().is_empty());
    // Soft delete removed the o365 sync, re-activation made a new one, the hard delete
    // removed that one before the user: each with the configured mode, none by cascade.
    let deletions = sim.sync_deletions();
    assert_eq!(deletions.len(), 2, "{deletions:?}");
    assert!(
        deletions
            .iter()
            .all(|d| d.mode == UnlinkMode::DeleteFutureEvents && !d.cascaded)
    );
    app.finish().await;
}

async fn okta_sequence_reaches_mytimetable(app: TestApp) {
    crate::okta::user_sequence(&app).await;
    // The sequence ends with the user deactivated: the account stays, without synchronizations.
    let sim = &app.vendor().sim;
    assert_eq!(sim.users(), ["test.user@okta.local"]);
    assert!(sim.synchronizations().is_empty());
    assert_eq!(sim.sync_deletions().len(), 2, "two deactivations");
    let sent = app.vendor().server.log().all();
    assert!(
        sent.iter()
            .all(|r| !r.body.contains("1mz050nq") && !r.body.contains("n3w-Passw0rd")),
        "MyTimetable holds no passwords, so none is sent"
    );
    app.finish().await;
}

async fn synchronizations_follow_scim(app: TestApp) {
    // Discovery says what this connector is: Users only, with its extension.
    let types = app.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 1, "{:?}", types.body);
    assert_eq!(
        types.body["Resources"][0]["schemaExtensions"][1]["schema"],
        MTT
    );
    let schema = app.get(&format!("/Schemas/{MTT}")).await;
    assert_eq!(schema.status, 200, "{:?}", schema.body);
    assert_eq!(schema.body["attributes"][0]["name"], "synchronizations");
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc.body["changePassword"]["supported"], false);
    app.get("/Groups").await.assert_error(404, None);
    app.post("/Groups", json!({"displayName": "Staff"}))
        .await
        .assert_error(404, None);

    let created = app
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", MTT],
                "userName": "lecturer@uni.edu",
                "emails": [{"value": "lecturer@uni.edu", "primary": true}],
                MTT: {"synchronizations": [{"type": "ews"}]}
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(syncs(&app), [("lecturer@uni.edu".into(), "ews".into())]);
    let ews = &app.vendor().sim.synchronizations()[0];
    assert_eq!(ews.smtp_address.as_deref(), Some("lecturer@uni.edu"));

    // PATCH the extension: the vendor follows.
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "add", "path": format!("{MTT}:synchronizations"), "value": [{"type": "googlecalendar"}]}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        syncs(&app),
        [
            ("lecturer@uni.edu".into(), "ews".into()),
            ("lecturer@uni.edu".into(), "googlecalendar".into())
        ]
    );
    let reply = app
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "remove", "path": format!("{MTT}:synchronizations[type eq \"ews\"]")}]),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        syncs(&app),
        [("lecturer@uni.edu".into(), "googlecalendar".into())]
    );
    // Removing them all falls back to the configured default type.
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "remove", "path": format!("{MTT}:synchronizations")}]),
    )
    .await;
    assert_eq!(syncs(&app), [("lecturer@uni.edu".into(), "o365".into())]);

    // A rename is refused with mutability (the default policy), before anything is sent.
    app.vendor().server.log().clear();
    let before = app.get(&format!("/Users/{id}")).await.body;
    app.patch(
        &format!("/Users/{id}"),
        json!([{"op": "replace", "path": "userName", "value": "professor@uni.edu"}]),
    )
    .await
    .assert_error(400, Some("mutability"));
    assert!(app.vendor().server.log().is_empty());
    assert_eq!(
        app.get(&format!("/Users/{id}")).await.body,
        before,
        "unchanged"
    );
    app.finish().await;
}

async fn vendor_faults_are_scim_errors(app: TestApp) {
    let server = &app.vendor().server;
    // Down for longer than retries last: 503 with Retry-After, and nothing is stored.
    server.faults().push(FaultRule::always(
        RouteMatch::new("PUT", "/api/v0/users"),
        Fault::Status(503),
    ));
    let reply = app
        .post("/Users", json!({"userName": "nobody@uni.edu"}))
        .await;
    reply.assert_error(503, None);
    assert!(reply.header("retry-after").is_some());
    let found = app
        .get("/Users?filter=userName%20eq%20%22nobody%40uni.edu%22")
        .await;
    assert_eq!(
        found.body["totalResults"], 0,
        "a refused write leaves no trace"
    );
    server.faults().clear();

    // The vendor asks us to slow down for two minutes: the SCIM client hears the same.
    server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", "/api/v0/users"),
            Fault::TooManyRequests {
                retry_after_secs: 120,
            },
        )
        .times(1),
    );
    let reply = app
        .post("/Users", json!({"userName": "nobody@uni.edu"}))
        .await;
    reply.assert_error(503, None);
    assert_eq!(reply.header("retry-after"), Some("120"));

    // Once the vendor is back, the same request succeeds.
    let reply = app
        .post("/Users", json!({"userName": "nobody@uni.edu"}))
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    assert!(app.vendor().sim.has_user("nobody@uni.edu"));

    // The vendor refuses our token: 502, and the detail says who must act.
    server
        .faults()
        .push(FaultRule::always(RouteMatch::any(), Fault::Status(401)));
    let reply = app
        .post("/Users", json!({"userName": "other@uni.edu"}))
        .await;
    reply.assert_error(502, None);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("administrator")),
        "{:?}",
        reply.body
    );
    app.finish().await;
}

async fn reconciliation_finds_and_imports_drift(app: TestApp) {
    let kept = app.create_user("kept").await;
    let _broken = app.create_user("broken").await;
    let gone = app.create_user("gone").await;
    let sim = &app.vendor().sim;
    // Out-of-band changes at the vendor: a new account, a lost sync, a lost user.
    sim.seed_user("outsider");
    let client = reqwest::Client::new();
    let vendor = format!("{}/api/v0", app.vendor().server.base_url());
    let token = vendor_sim::mytimetable::DEMO_ADMIN_TOKEN;
    let broken_sync = sim
        .synchronizations()
        .into_iter()
        .find(|s| s.username == "broken")
        .expect("broken has a sync");
    for url in [
        format!(
            "{vendor}/synchronizations/{}?unlinkMode=UNLINK_ONLY",
            broken_sync.id
        ),
        format!("{vendor}/users/gone"),
    ] {
        let status = client
            .delete(url)
            .header("apiToken", token)
            .send()
            .await
            .expect("vendor")
            .status();
        assert_eq!(status.as_u16(), 204);
    }

    let report = reconcile(app.state(), "test", false, &Quiet)
        .await
        .expect("reconciled");
    assert_eq!((report.stored, report.at_vendor, report.in_sync), (3, 3, 1));
    assert_eq!(report.unresolved(), 3, "{:?}", report.drift);
    assert!(report.drift.iter().any(|d| matches!(d,
        Drift::MissingAtVendor { id, name, .. } if *id == gone && name == "gone")));
    assert!(report.drift.iter().any(|d| matches!(d,
        Drift::Differs { name, differences, .. } if name == "broken" && differences[0].contains("o365"))));
    assert!(report.drift.iter().any(|d| matches!(d,
        Drift::OnlyAtVendor { name, imported_as: None, .. } if name == "outsider")));

    let report = reconcile(app.state(), "test", true, &Quiet)
        .await
        .expect("imported");
    let Some(imported) = report.drift.iter().find_map(|d| match d {
        Drift::OnlyAtVendor {
            imported_as: Some(id),
            ..
        } => Some(id.clone()),
        _ => None,
    }) else {
        panic!("outsider imported: {:?}", report.drift)
    };
    let outsider = app.get(&format!("/Users/{imported}")).await;
    assert_eq!(outsider.status, 200);
    assert_eq!(outsider.body["userName"], "outsider");
    let again = reconcile(app.state(), "test", false, &Quiet)
        .await
        .expect("reconciled");
    assert_eq!(again.unresolved(), 2, "{:?}", again.drift);
    assert_eq!(again.in_sync, 2, "kept and the imported outsider");
    assert!(!kept.is_empty());
    app.finish().await;
}

/// A write left pending by a crash meets a vendor that throttles: recovery leaves it pending
/// (never given up), and a later pass, once the vendor takes it, finishes it.
async fn recovery_waits_out_a_throttling_vendor(app: TestApp) {
    let mut attributes = serde_json::Map::new();
    attributes.insert("userName".into(), json!("crashed@uni.edu"));
    attributes.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
    );
    app.store()
        .journal_append(store::NewJournalEntry {
            connector: "test".into(),
            kind: store::ResourceKind::User,
            change: store::Change::Create {
                id: "crashed".into(),
                attributes,
                members: Default::default(),
            },
            before: None,
            request_id: None,
        })
        .await
        .expect("journal");
    let server = &app.vendor().server;
    server.faults().push(FaultRule::always(
        RouteMatch::new("PUT", "/api/v0/users"),
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
    ));
    let recover = || gateway::recovery::recover_older_than(app.state(), std::time::Duration::ZERO);
    let report = recover().await.expect("recovery");
    assert_eq!((report.deferred, report.failed), (1, 0), "{report:?}");
    assert_eq!(
        app.store().journal_pending().await.expect("pending").len(),
        1
    );
    assert!(app.vendor().sim.users().is_empty());

    server.faults().clear();
    let report = recover().await.expect("recovery");
    assert_eq!((report.committed, report.deferred), (1, 0), "{report:?}");
    assert!(
        app.store()
            .journal_pending()
            .await
            .expect("pending")
            .is_empty()
    );
    assert_eq!(
        app.get("/Users/crashed").await.body["userName"],
        "crashed@uni.edu"
    );
    assert_eq!(app.vendor().sim.users().len(), 1);
    app.finish().await;
}
