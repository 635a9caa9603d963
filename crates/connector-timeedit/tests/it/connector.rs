//! The `timeedit` connector against the TimeEdit simulator over real sockets: create (and
//! adoption), merge on update (nothing untouched is lost), deactivate, delete with
//! `inactivate`, auth servers (and their cache), Groups as organizations, batching,
//! reconciliation listing.

use std::sync::Arc;
use std::time::Duration;

use connector::{Connector, ConnectorError, KeyLookup, NoLookup, ResourceChange};
use connector_timeedit::{EXTENSION_URN, TimeEdit, TimeEditSettings};
use scim::ResourceKind;
use scim::members::delta_of_whole;
use serde_json::{Map, Value, json};
use vendor_sim::timeedit::{self as sim, TimeEditConfig, TimeEditSim, User};
use vendor_sim::{SimOptions, SimServer};

pub(crate) fn start() -> (TimeEditSim, SimServer) {
    let sim = TimeEditSim::new(TimeEditConfig::default());
    let server = sim
        .start(SimOptions {
            workers: 2,
            ..SimOptions::default()
        })
        .expect("simulator");
    (sim, server)
}

pub(crate) fn settings(sim: &TimeEditSim, server: &SimServer) -> TimeEditSettings {
    TimeEditSettings::new(
        format!("{}{}", server.base_url(), sim.endpoint_path()),
        sim::DEFAULT_USERNAME,
        sim::DEFAULT_PASSWORD,
        sim::DEFAULT_CERTIFICATE,
    )
}

pub(crate) fn user(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

pub(crate) async fn apply(
    te: &TimeEdit,
    kind: ResourceKind,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    keys: &Value,
    lookup: &dyn KeyLookup,
) -> Result<Value, ConnectorError> {
    // As the gateway sends a Group change: the members apart, as a delta.
    let (mut before, mut after) = (before.cloned(), after.cloned());
    let members = delta_of_whole(before.as_mut(), after.as_mut());
    let (before, after) = (before.as_ref(), after.as_ref());
    let change = ResourceChange {
        kind,
        members: &members,
        id: "x",
        before,
        after,
        vendor_keys: keys,
        request_id: None,
        lookup,
    };
    te.check(&change)?;
    te.apply(change).await
}

pub(crate) async fn apply_user(
    te: &TimeEdit,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    keys: &Value,
) -> Result<Value, ConnectorError> {
    apply(te, ResourceKind::User, before, after, keys, &NoLookup).await
}

/// SOAP operations the simulator received, in order.
fn operations(server: &SimServer) -> Vec<String> {
    let ops = server
        .log()
        .all()
        .iter()
        .filter_map(|r| {
            [
                "register",
                "validateUsers",
                "importUsers",
                "exportUsers",
                "deleteUsers",
                "getAuthServers",
                "getUserSortOrders",
                "findUsers",
            ]
            .into_iter()
            .find(|op| r.body.contains(&format!(":{op}>")) || r.body.contains(&format!("<{op}>")))
            .map(str::to_owned)
        })
        .collect();
    server.log().clear();
    ops
}

#[tokio::test]
async fn create_validates_then_imports_every_mapped_field() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let anders = user(json!({
        "userName": "anders",
        "name": {"givenName": "Anders", "familyName": "Ek & <Sons>"},
        "emails": [{"value": "anders@uni.se", "primary": true}],
        "phoneNumbers": [{"value": "031-123456"}],
        "preferredLanguage": "sv", "timezone": "Europe/Stockholm",
        "active": true,
        EXTENSION_URN: {"orgRoles": ["timeedit=Admin"], "permissions": ["client"], "description": "Åsa's \"dept\""}
    }));
    let keys = apply_user(&te, None, Some(&anders), &json!({}))
        .await
        .expect("created");
    assert_eq!(
        keys,
        json!({"loginname": "anders", "authserver": "timeedit"})
    );
    let stored = sim.user("anders", "timeedit").expect("imported");
    assert_eq!(stored.firstname, "Anders");
    assert_eq!(stored.lastname, "Ek & <Sons>");
    assert_eq!(stored.email, "anders@uni.se");
    assert_eq!(stored.phone, "031-123456");
    assert_eq!(stored.language, "sv");
    assert_eq!(stored.timezone, "Europe/Stockholm");
    assert_eq!(stored.orgroles, ["timeedit=Admin"]);
    assert_eq!(stored.permissions, ["client"]);
    assert_eq!(stored.description, "Åsa's \"dept\"");
    assert!(stored.allowlogin);
    assert_eq!(
        operations(&server),
        ["register", "getAuthServers", "validateUsers", "importUsers"]
    );
    // A replay (a crash before commit) finds the user and converges on the same record.
    let again = apply_user(&te, None, Some(&anders), &json!({}))
        .await
        .expect("replayed");
    assert_eq!(again, keys);
    assert_eq!(sim.user("anders", "timeedit"), Some(stored));
    server.stop().await;
}

#[tokio::test]
async fn existing_users_are_adopted_and_untouched_fields_survive_updates() {
    let (sim, server) = start();
    let mut existing = User::new("birgit", "timeedit");
    existing.phone = "08-555".into();
    existing.defaultobjects = "obj-1".into();
    existing.organizations = vec!["all_teachers".into()];
    existing.permissions = vec!["periods".into()];
    sim.seed_user(existing);
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let v1 =
        user(json!({"userName": "birgit", "name": {"givenName": "Birgit", "familyName": "Berg"}}));
    let keys = apply_user(&te, None, Some(&v1), &json!({}))
        .await
        .expect("adopted");
    assert_eq!(sim.users().len(), 1, "no second account");
    let adopted = sim.user("birgit", "timeedit").expect("still there");
    assert_eq!(adopted.firstname, "Birgit");
    assert_eq!(adopted.phone, "08-555", "SCIM never had a phone: kept");
    assert_eq!(adopted.defaultobjects, "obj-1");
    assert_eq!(adopted.organizations, ["all_teachers"]);
    assert_eq!(adopted.permissions, ["periods"]);

    // Update: export, merge, import. Deactivation is allowlogin=false.
    let v2 = user(json!({
        "userName": "birgit", "name": {"givenName": "Birgit", "familyName": "Bergström"},
        "active": false, EXTENSION_URN: {"permissions": ["client"]}
    }));
    server.log().clear();
    apply_user(&te, Some(&v1), Some(&v2), &keys)
        .await
        .expect("updated");
    assert_eq!(operations(&server), ["exportUsers", "importUsers"]);
    let updated = sim.user("birgit", "timeedit").expect("there");
    assert_eq!(updated.lastname, "Bergström");
    assert!(!updated.allowlogin);
    assert_eq!(updated.permissions, ["client"]);
    assert_eq!(updated.phone, "08-555");
    assert_eq!(
        updated.organizations,
        ["all_teachers"],
        "groups own organizations"
    );

    // What SCIM had and removed is cleared.
    let v3 = user(json!({"userName": "birgit", "active": true}));
    apply_user(&te, Some(&v2), Some(&v3), &keys)
        .await
        .expect("updated");
    let cleared = sim.user("birgit", "timeedit").expect("there");
    assert_eq!(
        (cleared.firstname.as_str(), cleared.lastname.as_str()),
        ("", "")
    );
    assert!(cleared.permissions.is_empty());
    assert!(cleared.allowlogin);
    assert_eq!(cleared.phone, "08-555");
    server.stop().await;
}

#[tokio::test]
async fn delete_inactivates_what_timeedit_cannot_delete() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let carl = user(json!({"userName": "carl"}));
    let keys = apply_user(&te, None, Some(&carl), &json!({}))
        .await
        .expect("created");
    sim.set_deletable("carl", "timeedit", false);
    assert_eq!(
        apply_user(&te, Some(&carl), None, &keys).await,
        Ok(json!({}))
    );
    let kept = sim
        .user("carl", "timeedit")
        .expect("inactivated, not deleted");
    assert!(!kept.allowlogin);
    sim.set_deletable("carl", "timeedit", true);
    assert_eq!(
        apply_user(&te, Some(&carl), None, &keys).await,
        Ok(json!({}))
    );
    assert!(sim.user("carl", "timeedit").is_none());
    // Deleting again (a replay) is not an error.
    assert_eq!(
        apply_user(&te, Some(&carl), None, &keys).await,
        Ok(json!({}))
    );

    let mut strict = settings(&sim, &server);
    strict.inactivate_on_delete = false;
    let te = TimeEdit::new(&connector::Context::named("timeedit"), strict).expect("connector");
    let dora = user(json!({"userName": "dora"}));
    let keys = apply_user(&te, None, Some(&dora), &json!({}))
        .await
        .expect("created");
    sim.set_deletable("dora", "timeedit", false);
    let e = apply_user(&te, Some(&dora), None, &keys)
        .await
        .expect_err("refused");
    assert!(matches!(e, ConnectorError::Rejected { .. }), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn auth_servers_are_checked_and_keys_cannot_change() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let ldap = user(json!({"userName": "eve", EXTENSION_URN: {"authServer": "ldap"}}));
    let e = apply_user(&te, None, Some(&ldap), &json!({}))
        .await
        .expect_err("unknown");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("ldap") && reason.contains("timeedit")),
        "{e}"
    );
    sim.seed_auth_server(sim::AuthServer::new("ldap", "LDAP", true));
    let keys = apply_user(&te, None, Some(&ldap), &json!({}))
        .await
        .expect("known now");
    assert_eq!(keys["authserver"], "ldap");
    assert!(sim.user("eve", "ldap").is_some());
    let renamed = user(json!({"userName": "eva", EXTENSION_URN: {"authServer": "ldap"}}));
    let e = apply_user(&te, Some(&ldap), Some(&renamed), &keys)
        .await
        .expect_err("key");
    assert!(matches!(e, ConnectorError::Immutable { .. }), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn refusals_carry_timeedits_message() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let bad = user(json!({"userName": "fia", EXTENSION_URN: {"orgRoles": ["nowhere=Nobody"]}}));
    let e = apply_user(&te, None, Some(&bad), &json!({}))
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("fia") && reason.contains("nowhere")),
        "{e}"
    );
    assert!(sim.user("fia", "timeedit").is_none());
    server.stop().await;
}

/// Vendor keys of users created in a test, by SCIM id.
#[derive(Debug, Default)]
pub(crate) struct Keys(pub(crate) std::sync::Mutex<std::collections::HashMap<String, Value>>);

#[async_trait::async_trait]
impl KeyLookup for Keys {
    async fn vendor_keys(
        &self,
        _: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, ConnectorError> {
        Ok(self.0.lock().ok().and_then(|m| m.get(id).cloned()))
    }
}

#[tokio::test]
async fn groups_are_organizations_on_each_member() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let lookup = Keys::default();
    for name in ["gus", "hal", "ida"] {
        let u = user(json!({ "userName": name }));
        let keys = apply_user(&te, None, Some(&u), &json!({}))
            .await
            .expect("created");
        lookup
            .0
            .lock()
            .expect("lock")
            .insert(format!("id-{name}"), keys);
    }
    let members = |names: &[&str]| -> Value {
        names
            .iter()
            .map(|n| json!({"value": format!("id-{n}")}))
            .collect()
    };
    let g1 = user(
        json!({"displayName": "Teachers", "externalId": "all_teachers", "members": members(&["gus", "hal"])}),
    );
    let keys = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&g1),
        &json!({}),
        &lookup,
    )
    .await
    .expect("created");
    assert_eq!(keys, json!({"organization": "all_teachers"}));
    let orgs = |name: &str| sim.user(name, "timeedit").expect("user").organizations;
    assert_eq!(orgs("gus"), ["all_teachers"]);
    assert_eq!(orgs("hal"), ["all_teachers"]);
    assert!(orgs("ida").is_empty());

    // A member change touches only the users it concerns.
    let g2 = user(
        json!({"displayName": "Teachers", "externalId": "all_teachers", "members": members(&["hal", "ida"])}),
    );
    server.log().clear();
    apply(
        &te,
        ResourceKind::Group,
        Some(&g1),
        Some(&g2),
        &keys,
        &lookup,
    )
    .await
    .expect("changed");
    assert_eq!(
        operations(&server),
        ["exportUsers", "importUsers", "exportUsers", "importUsers"],
        "gus out, ida in; hal untouched"
    );
    assert!(orgs("gus").is_empty());
    assert_eq!(orgs("ida"), ["all_teachers"]);

    // An unknown organization is refused at create, before any member is touched.
    let nowhere = user(json!({"displayName": "Nowhere", "members": members(&["gus"])}));
    server.log().clear();
    let e = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&nowhere),
        &json!({}),
        &lookup,
    )
    .await
    .expect_err("unknown organization");
    assert!(
        e.to_string().contains("no organization \"Nowhere\"")
            && e.to_string().contains("mapping.group.organization"),
        "{e}"
    );
    assert_eq!(
        operations(&server),
        ["validateUsers"],
        "asked, nothing imported"
    );
    assert!(orgs("gus").is_empty());

    // An unknown member is reported member by member; the others are made.
    let admins = user(
        json!({"displayName": "Admins", "externalId": "timeedit;admin",
        "members": members(&["gus", "zed"])}),
    );
    let e = apply(
        &te,
        ResourceKind::Group,
        None,
        Some(&admins),
        &json!({}),
        &lookup,
    )
    .await
    .expect_err("partial");
    let ConnectorError::Rejected { reason } = e else {
        panic!("rejected: {e}")
    };
    assert!(
        reason.contains("member id-zed") && !reason.contains("member id-gus"),
        "{reason}"
    );
    assert_eq!(orgs("gus"), ["timeedit;admin"]);

    // Deleting the group takes the organization off its members.
    apply(&te, ResourceKind::Group, Some(&g2), None, &keys, &lookup)
        .await
        .expect("deleted");
    assert!(orgs("hal").is_empty() && orgs("ida").is_empty());
    server.stop().await;
}

#[tokio::test]
async fn writes_that_arrive_together_go_in_one_import() {
    let (sim, server) = start();
    let mut s = settings(&sim, &server);
    s.batch_size = 50;
    s.batch_linger_ms = 50;
    let te = Arc::new(TimeEdit::new(&connector::Context::named("timeedit"), s).expect("connector"));
    // Warm up (register, auth servers) so that the burst is only validate + import.
    let first = user(json!({"userName": "u-first"}));
    apply_user(&te, None, Some(&first), &json!({}))
        .await
        .expect("created");
    server.log().clear();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let te = te.clone();
            tokio::spawn(async move {
                let u = user(json!({ "userName": format!("u{i:02}") }));
                apply_user(&te, None, Some(&u), &json!({})).await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("created");
    }
    assert_eq!(sim.users().len(), 41);
    let ops = operations(&server);
    let imports = ops.iter().filter(|o| *o == "importUsers").count();
    let validates = ops.iter().filter(|o| *o == "validateUsers").count();
    assert!(
        imports <= 4 && validates <= 4,
        "40 users in few calls: {ops:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn accounts_are_listed_a_thousand_at_a_time() {
    let (sim, server) = start();
    sim.seed_users((0..2500).map(|i| User::new(format!("user{i:04}"), "timeedit")));
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let page = te
            .list_accounts(ResourceKind::User, cursor.as_deref())
            .await
            .expect("page");
        assert_eq!(page.total, Some(2500));
        assert!(page.accounts.len() <= 1000);
        seen += page.accounts.len();
        pages += 1;
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((seen, pages), (2500, 3));
    // One getUserSortOrders for the whole listing, and every page in login-name order.
    let finds: Vec<String> = server
        .log()
        .all()
        .into_iter()
        .filter(|r| r.body.contains("findUsers>"))
        .map(|r| r.body)
        .collect();
    assert_eq!(finds.len(), 3);
    assert!(
        finds
            .iter()
            .all(|b| b.contains("<tns:sortorder>loginname</tns:sortorder>")),
        "{finds:?}"
    );
    let ops = operations(&server);
    assert_eq!(count(&ops, "getUserSortOrders"), 1, "{ops:?}");
    server.stop().await;
}

#[tokio::test]
async fn one_account_is_read_by_its_key() {
    let (sim, server) = start();
    sim.seed_user(User::new("birgit", "timeedit"));
    sim.seed_auth_server(sim::AuthServer::new("ldap", "LDAP", true));
    sim.seed_user(User::new("carl", "ldap"));
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    // Without kept keys: the name under the connector's auth server.
    let birgit = te
        .read_account(ResourceKind::User, "birgit", &json!({}))
        .await
        .expect("read")
        .expect("birgit is there");
    assert_eq!(birgit.name, "birgit");
    assert_eq!(
        birgit.keys,
        json!({"loginname": "birgit", "authserver": "timeedit"})
    );
    assert!(te.compare(&birgit.keys, &birgit).is_empty());
    // The kept keys name the auth server the name alone would miss.
    let kept = json!({"loginname": "carl", "authserver": "ldap"});
    let carl = te
        .read_account(ResourceKind::User, "carl", &kept)
        .await
        .expect("read");
    assert_eq!(carl.map(|a| a.keys), Some(kept));
    assert_eq!(
        te.read_account(ResourceKind::User, "carl", &json!({}))
            .await,
        Ok(None)
    );
    let gets = server
        .log()
        .all()
        .into_iter()
        .filter(|r| r.body.contains("getUsers>"))
        .count();
    assert_eq!(gets, 3, "one getUsers a read");
    let group = te
        .read_account(ResourceKind::Group, "Staff", &json!({}))
        .await;
    assert!(
        matches!(group, Err(ConnectorError::Unsupported(ref reason)) if reason.contains("organizations")),
        "{group:?}"
    );
    server.stop().await;
}

fn count(ops: &[String], op: &str) -> usize {
    ops.iter().filter(|o| *o == op).count()
}

/// Creates `name` under `auth_server` through the extension.
async fn create_under(
    te: &TimeEdit,
    name: &str,
    auth_server: &str,
) -> Result<Value, ConnectorError> {
    let u = user(json!({"userName": name, EXTENSION_URN: {"authServer": auth_server}}));
    apply_user(te, None, Some(&u), &json!({})).await
}

#[tokio::test]
async fn concurrent_creates_read_the_auth_servers_once() {
    let (sim, server) = start();
    let te = Arc::new(
        TimeEdit::new(
            &connector::Context::named("timeedit"),
            settings(&sim, &server),
        )
        .expect("connector"),
    );
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let te = te.clone();
            tokio::spawn(async move { create_under(&te, &format!("c{i:02}"), "timeedit").await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("created");
    }
    assert_eq!(sim.users().len(), 20);
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    create_under(&te, "c20", "timeedit").await.expect("created");
    let ops = operations(&server);
    assert_eq!(count(&ops, "getAuthServers"), 0, "{ops:?}");
    server.stop().await;
}

#[tokio::test]
async fn auth_servers_are_read_again_after_their_ttl() {
    let (sim, server) = start();
    let mut s = settings(&sim, &server);
    s.metadata_cache.ttl_secs = 1;
    let te = TimeEdit::new(&connector::Context::named("timeedit"), s).expect("connector");
    create_under(&te, "t1", "timeedit").await.expect("created");
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    create_under(&te, "t2", "timeedit").await.expect("created");
    assert_eq!(
        count(&operations(&server), "getAuthServers"),
        0,
        "within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    create_under(&te, "t3", "timeedit").await.expect("created");
    assert_eq!(
        count(&operations(&server), "getAuthServers"),
        1,
        "after the TTL"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_auth_server_is_read_again_once_before_a_refusal() {
    let (sim, server) = start();
    let te = Arc::new(
        TimeEdit::new(
            &connector::Context::named("timeedit"),
            settings(&sim, &server),
        )
        .expect("connector"),
    );
    // A list read for this very request is not read again.
    let e = create_under(&te, "u1", "ldap").await.expect_err("unknown");
    assert!(matches!(e, ConnectorError::Rejected { .. }), "{e}");
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    // A remembered list is read again once, and the refusal names what TimeEdit has.
    let e = create_under(&te, "u2", "ldap").await.expect_err("unknown");
    assert!(
        matches!(&e, ConnectorError::Rejected { reason } if reason.contains("\"ldap\"") && reason.contains("it has: timeedit")),
        "{e}"
    );
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    // Many refusals at once share that one read.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let te = te.clone();
            tokio::spawn(async move { create_under(&te, &format!("v{i}"), "ldap").await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("joined").is_err());
    }
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    // The list just read is what the next known server is checked against.
    create_under(&te, "u3", "timeedit").await.expect("created");
    assert_eq!(count(&operations(&server), "getAuthServers"), 0);
    // A server TimeEdit gained since is found by the re-read.
    sim.seed_auth_server(sim::AuthServer::new("ldap", "LDAP", true));
    create_under(&te, "u4", "ldap").await.expect("known now");
    assert_eq!(count(&operations(&server), "getAuthServers"), 1);
    assert!(sim.user("u4", "ldap").is_some());
    server.stop().await;
}

#[tokio::test]
async fn a_probe_refreshes_the_auth_servers() {
    let (sim, server) = start();
    let te = TimeEdit::new(
        &connector::Context::named("timeedit"),
        settings(&sim, &server),
    )
    .expect("connector");
    create_under(&te, "p1", "timeedit").await.expect("created");
    sim.seed_auth_server(sim::AuthServer::new("ldap", "LDAP", true));
    operations(&server);
    te.probe().await.expect("probe");
    create_under(&te, "p2", "ldap")
        .await
        .expect("known from the probe");
    assert_eq!(
        operations(&server),
        ["getAuthServers", "validateUsers", "importUsers"],
        "the probe's read, then no other"
    );
    server.stop().await;
}
