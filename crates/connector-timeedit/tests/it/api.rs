//! The TimeEdit SOAP client against the TimeEdit simulator over real sockets: the register
//! session flow, namespace discovery, faults and retries (proven by the request log), Status
//! codes, paging, and exact round trips of XML-hostile text.

use std::sync::Arc;
use std::time::Duration;

use connector::ConnectorError;
use connector::Secret;
use connector_timeedit::{
    FindUsers, StatusCode, TeUser, TimeEditClient, TimeEditSettings, UserKey,
};
use vendor_sim::timeedit::{self as sim, Account, AuthServer, TimeEditConfig, TimeEditSim, User};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

fn start(config: TimeEditConfig) -> (TimeEditSim, SimServer) {
    let sim = TimeEditSim::new(config);
    let server = sim
        .start(SimOptions {
            workers: 2,
            ..SimOptions::default()
        })
        .expect("simulator");
    (sim, server)
}

fn settings(sim: &TimeEditSim, server: &SimServer) -> TimeEditSettings {
    let mut settings = TimeEditSettings::new(
        format!("{}{}", server.base_url(), sim.endpoint_path()),
        sim::DEFAULT_USERNAME,
        sim::DEFAULT_PASSWORD,
        sim::DEFAULT_CERTIFICATE,
    );
    settings.namespace = Some(sim.config().namespace.clone());
    settings
}

/// Short backoff so retry tests stay fast.
fn client(settings: &TimeEditSettings) -> TimeEditClient {
    let mut config = settings.endpoint_config();
    config.initial_backoff = Duration::from_millis(10);
    config.max_backoff = Duration::from_millis(40);
    config.timeout = Duration::from_secs(5);
    TimeEditClient::with_endpoint_config(&connector::Context::named("timeedit"), settings, config)
        .expect("client")
}

fn default_client() -> (TimeEditSim, SimServer, TimeEditClient) {
    let (sim, server) = start(TimeEditConfig::default());
    let client = client(&settings(&sim, &server));
    (sim, server, client)
}

/// The operation of every envelope the simulator received, in order (`register`,
/// `findUsers`, …), read from the element after `<soapenv:Body>`.
fn operations(server: &SimServer, sim: &TimeEditSim) -> Vec<String> {
    server
        .log()
        .matching("POST", &sim.endpoint_path())
        .iter()
        .map(|r| {
            let after = r.body.split("<soapenv:Body>").nth(1).unwrap_or("");
            let name = after
                .trim_start_matches('<')
                .split(['>', ' ', '/'])
                .next()
                .unwrap_or("");
            name.rsplit(':').next().unwrap_or(name).to_owned()
        })
        .collect()
}

#[tokio::test]
async fn registers_once_then_calls_with_the_login_object_on_the_documented_wire() {
    let (sim, server, client) = default_client();
    sim.seed_user(User {
        firstname: "Anders".into(),
        ..User::new("anders", "timeedit")
    });
    let permissions = client.get_permissions().await.expect("permissions");
    assert_eq!(permissions, ["client", "periods"]);
    let users = client
        .get_users(&[UserKey::new("anders", "timeedit")])
        .await
        .expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].firstname.as_deref(), Some("Anders"));
    assert_eq!(
        operations(&server, &sim),
        ["register", "getPermissions", "getUsers"],
        "one register, then the key is reused"
    );

    let log = server.log().matching("POST", &sim.endpoint_path());
    let call = &log[2];
    assert_eq!(call.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(call.header("soapaction"), Some("\"\""));
    // doc/literal wrapped: tns-qualified operation and parameters, bare nested children.
    assert!(
        call.body.contains(&format!(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:tns=\"{}\"><soapenv:Body><tns:getUsers><tns:login><username>api</username><password>***</password><applicationkey>",
            sim::DEFAULT_NAMESPACE
        )),
        "{}",
        call.body
    );
    assert!(
        call.body.contains(
            "</tns:login><tns:users><user><loginname>anders</loginname><authserver>timeedit</authserver></user></tns:users></tns:getUsers>"
        ),
        "{}",
        call.body
    );
    assert!(
        log[0]
            .body
            .contains("<tns:register><tns:certificate>***</tns:certificate></tns:register>")
    );
    let debug = format!("{client:?}");
    assert!(
        !debug.contains(sim::DEFAULT_PASSWORD) && !debug.contains(sim::DEFAULT_CERTIFICATE),
        "{debug}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_namespace_is_read_from_the_wsdl_once_when_not_configured() {
    let config = TimeEditConfig {
        namespace: "urn:example:timeedit&test/\"3\"".into(),
        strict_namespace: true,
        ..TimeEditConfig::default()
    };
    let (sim, server) = start(config);

    // The control: a client that assumes the default namespace is refused, so the strict
    // simulator really checks it.
    let mut assumed = settings(&sim, &server);
    assumed.namespace = Some(sim::DEFAULT_NAMESPACE.into());
    let err = client(&assumed)
        .get_permissions()
        .await
        .expect_err("wrong namespace");
    assert!(
        matches!(&err, ConnectorError::Rejected { reason } if reason.contains("Unknown operation")),
        "{err:?}"
    );

    server.log().clear();
    let mut discovering = settings(&sim, &server);
    discovering.namespace = None;
    let client = client(&discovering);
    client.get_permissions().await.expect("permissions");
    client.get_user_sort_orders().await.expect("sort orders");
    assert_eq!(
        server.log().matching("GET", &sim.wsdl_path()).len(),
        1,
        "the WSDL is read once"
    );
    assert_eq!(
        operations(&server, &sim),
        ["register", "getPermissions", "getUserSortOrders"]
    );
    server.stop().await;
}

#[tokio::test]
async fn an_expired_key_is_replaced_by_exactly_one_register() {
    let (sim, server, client) = default_client();
    client.get_permissions().await.expect("first call");
    assert_eq!(sim.expire_all_keys(), 1);
    let (users, total) = client
        .find_users(&FindUsers {
            number_of_users: 10,
            ..FindUsers::default()
        })
        .await
        .expect("after re-register");
    assert_eq!((users.len(), total), (0, 0));
    assert_eq!(
        operations(&server, &sim),
        [
            "register",
            "getPermissions",
            "findUsers",
            "register",
            "findUsers"
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_refused_with_the_same_key_register_once() {
    let (sim, server, client) = default_client();
    client.get_permissions().await.expect("first call");
    sim.expire_all_keys();
    server.log().clear();
    let client = Arc::new(client);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.get_permissions().await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("every call succeeds");
    }
    let ops = operations(&server, &sim);
    assert_eq!(
        ops.iter().filter(|o| *o == "register").count(),
        1,
        "{ops:?}"
    );
    // Calls that queue behind the register get the new key without being refused first.
    let calls = ops.iter().filter(|o| *o == "getPermissions").count();
    assert!((8..=16).contains(&calls), "{ops:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_password_is_unauthorized_after_at_most_one_re_register() {
    let (sim, server) = start(TimeEditConfig::default());
    let mut wrong = settings(&sim, &server);
    wrong.password = Some(Secret::new("wrong"));
    let err = client(&wrong).get_permissions().await.expect_err("refused");
    assert!(
        matches!(&err, ConnectorError::Unauthorized { reason } if reason.contains("Invalid credentials")),
        "{err:?}"
    );
    assert_eq!(
        operations(&server, &sim),
        ["register", "getPermissions", "register", "getPermissions"]
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_certificate_is_unauthorized_without_a_call() {
    let (sim, server) = start(TimeEditConfig::default());
    let mut wrong = settings(&sim, &server);
    wrong.certificate = Some(Secret::new("not-a-certificate"));
    let err = client(&wrong).get_permissions().await.expect_err("refused");
    assert!(
        matches!(err, ConnectorError::Unauthorized { .. }),
        "{err:?}"
    );
    assert_eq!(operations(&server, &sim), ["register"], "not retried");
    server.stop().await;
}

#[tokio::test]
async fn xml_special_characters_round_trip_exactly_through_import_and_export() {
    let hostile = |field: &str| format!("{field} <b>&amp; \"q\" 'a' ]]> Åsa Ñúñez 日本 \r\n\tend");
    let (sim, server) = start(TimeEditConfig::default());
    // The login itself carries hostile values too (the simulator's keys already do).
    let password = hostile("password");
    sim.seed_account(Account::new("api <&>", password.as_str()));
    let authserver = hostile("authserver");
    sim.seed_auth_server(AuthServer::new(authserver.as_str(), "hostile", true));
    for value in ["organization", "standardorganization"] {
        sim.seed_organization(&hostile(value));
    }
    sim.seed_orgrole(&hostile("orgrole"));
    sim.seed_user_permission(&hostile("permission"));
    let mut settings = settings(&sim, &server);
    settings.username = "api <&>".into();
    settings.password = Some(Secret::new(password));
    let client = client(&settings);

    let user = TeUser {
        firstname: Some(hostile("firstname")),
        lastname: Some(hostile("lastname")),
        email: Some(hostile("email")),
        phone: Some(hostile("phone")),
        changepassword: Some(true),
        language: Some(hostile("language")),
        dateformat: Some(hostile("dateformat")),
        timezone: Some(hostile("timezone")),
        dst: Some(hostile("dst")),
        allowlogin: Some(false),
        defaultobjects: Some(hostile("defaultobjects")),
        standardorganization: Some(hostile("standardorganization")),
        orgroles: Some(vec![hostile("orgrole")]),
        permissions: Some(vec![hostile("permission")]),
        organizations: Some(vec![hostile("organization")]),
        description: Some(hostile("description")),
        ..TeUser::new(hostile("loginname"), authserver.as_str())
    };
    let statuses = client
        .import_users(std::slice::from_ref(&user))
        .await
        .expect("import");
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].code, StatusCode::Ok, "{statuses:?}");
    assert_eq!(statuses[0].key, user.key());

    let exported = client.export_users(&[user.key()]).await.expect("export");
    assert_eq!(exported, std::slice::from_ref(&user));
    let stored = sim
        .user(&user.loginname, &user.authserver)
        .expect("stored under the exact key");
    assert_eq!(stored.description, hostile("description"));
    server.stop().await;
}

#[tokio::test]
async fn absent_elements_keep_values_and_empty_ones_clear_them() {
    let (sim, server, client) = default_client();
    sim.seed_user(User {
        phone: "031-123456".into(),
        email: "anders@example.org".into(),
        organizations: vec!["all_teachers".into()],
        ..User::new("anders", "timeedit")
    });
    let update = TeUser {
        phone: Some(String::new()),
        organizations: Some(vec![]),
        ..TeUser::new("anders", "timeedit")
    };
    let statuses = client.import_users(&[update]).await.expect("import");
    assert_eq!(statuses[0].code, StatusCode::Ok);
    let stored = sim.user("anders", "timeedit").expect("user");
    assert_eq!(stored.email, "anders@example.org", "absent: unchanged");
    assert_eq!(stored.phone, "", "empty: cleared");
    assert!(stored.organizations.is_empty(), "empty list: cleared");
    server.stop().await;
}

#[tokio::test]
async fn status_codes_are_typed_per_user() {
    let (sim, server, client) = default_client();
    sim.seed_users([
        User::new("anders", "timeedit"),
        User::new("kept", "timeedit"),
        User::new("history", "timeedit"),
    ]);
    sim.set_deletable("kept", "timeedit", false);
    sim.set_deletable("history", "timeedit", false);

    let validated = client
        .validate_users(&[
            TeUser::new("anders", "timeedit"),
            TeUser::new("kalle", "timeedit"),
            TeUser {
                organizations: Some(vec!["no-such-org".into()]),
                ..TeUser::new("olle", "timeedit")
            },
            TeUser::new("", "timeedit"),
        ])
        .await
        .expect("validate");
    let codes: Vec<_> = validated.iter().map(|s| s.code).collect();
    assert_eq!(
        codes,
        [
            StatusCode::Exists,
            StatusCode::Ok,
            StatusCode::UnknownReference,
            StatusCode::Invalid
        ]
    );
    assert_eq!(validated[0].message, "user already exists");
    assert_eq!(validated[1].key, UserKey::new("kalle", "timeedit"));

    let deleted = client
        .delete_users(
            &[
                UserKey::new("ghost", "timeedit"),
                UserKey::new("history", "timeedit"),
                UserKey::new("anders", "timeedit"),
            ],
            true,
        )
        .await
        .expect("delete");
    let codes: Vec<_> = deleted.iter().map(|s| s.code).collect();
    assert_eq!(
        codes,
        [
            StatusCode::NotFound,
            StatusCode::Inactivated,
            StatusCode::Ok
        ]
    );
    assert_eq!(
        sim.user("history", "timeedit").map(|u| u.allowlogin),
        Some(false),
        "inactivated instead of deleted"
    );
    assert!(sim.user("anders", "timeedit").is_none());

    let kept = client
        .delete_users(&[UserKey::new("kept", "timeedit")], false)
        .await
        .expect("delete");
    assert_eq!(kept[0].code, StatusCode::NotDeletable);
    assert_eq!(
        sim.user("kept", "timeedit").map(|u| u.allowlogin),
        Some(true),
        "left as it was"
    );
    server.stop().await;
}

#[tokio::test]
async fn find_users_pages_by_1000_with_the_right_totals() {
    let (sim, server, client) = default_client();
    sim.seed_users((0..2500).map(|i| User {
        allowlogin: i % 5 != 0,
        ..User::new(format!("user{i:04}"), "timeedit")
    }));
    let mut seen = Vec::new();
    for (begin, expected) in [(0, 1000), (1000, 1000), (2000, 500), (2500, 0)] {
        let (users, total) = client
            .find_users(&FindUsers {
                begin_index: begin,
                number_of_users: 1000,
                ..FindUsers::default()
            })
            .await
            .expect("page");
        assert_eq!(total, 2500);
        assert_eq!(users.len(), expected, "page at {begin}");
        seen.extend(users.into_iter().map(|u| u.loginname));
    }
    let expected: Vec<_> = (0..2500).map(|i| format!("user{i:04}")).collect();
    assert_eq!(seen, expected, "every user once, in order");

    server.log().clear();
    let (users, total) = client
        .find_users(&FindUsers {
            number_of_users: 5000,
            allowed_to_login_only: true,
            loginname: "USER1".into(),
            ..FindUsers::default()
        })
        .await
        .expect("capped");
    assert_eq!(total, 800, "user1000..user1999 that may log in");
    assert_eq!(users.len(), 800);
    let log = server.log().matching("POST", &sim.endpoint_path());
    assert!(
        log[0]
            .body
            .contains("<tns:numberofusers>1000</tns:numberofusers>"),
        "capped at 1000 on the wire: {}",
        log[0].body
    );
    let (users, total) = client
        .find_users(&FindUsers {
            number_of_users: 5000,
            ..FindUsers::default()
        })
        .await
        .expect("capped");
    assert_eq!((users.len(), total), (1000, 2500));
    server.stop().await;
}

#[tokio::test]
async fn server_faults_are_retried_for_safe_calls_and_client_faults_never() {
    let (sim, server, client) = default_client();
    client.get_permissions().await.expect("registered");
    server.log().clear();

    sim.inject_server_faults(2);
    let orders = client.get_user_sort_orders().await.expect("third attempt");
    assert!(orders.iter().any(|o| o == "loginname"), "{orders:?}");
    assert_eq!(
        operations(&server, &sim).len(),
        3,
        "two Server faults, then success"
    );

    server.log().clear();
    sim.inject_server_faults(4);
    let err = client
        .get_auth_servers(true)
        .await
        .expect_err("out of retries");
    assert!(
        matches!(&err, ConnectorError::Unavailable { reason, .. } if reason.contains("Internal server error")),
        "{err:?}"
    );
    assert_eq!(
        operations(&server, &sim).len(),
        4,
        "1 + max_retries attempts"
    );

    // A Client fault comes with HTTP 500 too, and is the request's fault: not retried.
    server.log().clear();
    let err = client
        .find_users(&FindUsers {
            sort_order: "shoe size".into(),
            ..FindUsers::default()
        })
        .await
        .expect_err("unknown sort order");
    assert!(
        matches!(&err, ConnectorError::Rejected { reason } if reason.contains("Unknown sort order")),
        "{err:?}"
    );
    assert_eq!(operations(&server, &sim), ["findUsers"]);

    let servers = client.get_auth_servers(false).await.expect("servers");
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].signature, "timeedit");
    assert_eq!(servers[0].active, Some(true));
    server.stop().await;
}

#[tokio::test]
async fn http_503_without_a_soap_body_is_retried_then_reported() {
    let (sim, server, client) = default_client();
    client.get_permissions().await.expect("registered");
    let route = RouteMatch::new("POST", &sim.endpoint_path());
    server
        .faults()
        .push(FaultRule::always(route.clone(), Fault::Status(503)).times(2));
    server.log().clear();
    client
        .get_users(&[UserKey::new("anders", "timeedit")])
        .await
        .expect("third attempt");
    assert_eq!(server.log().len(), 3);

    server.faults().clear();
    server
        .faults()
        .push(FaultRule::always(route, Fault::Status(503)));
    let err = client.get_permissions().await.expect_err("always 503");
    assert!(
        matches!(&err, ConnectorError::Unavailable { reason, .. } if reason.contains("503")),
        "{err:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_wsdl_is_unavailable_not_the_clients_fault() {
    let (sim, server) = start(TimeEditConfig::default());
    let mut settings = settings(&sim, &server);
    settings.namespace = None;
    settings.wsdl_url = Some(format!("{}/no/such/wsdl", server.base_url()));
    let err = client(&settings)
        .get_permissions()
        .await
        .expect_err("no WSDL");
    assert!(
        matches!(&err, ConnectorError::Unavailable { reason, .. } if reason.contains("WSDL")),
        "{err:?}"
    );
    assert!(
        operations(&server, &sim).is_empty(),
        "nothing posted without a namespace"
    );
    server.stop().await;
}

#[tokio::test]
async fn values_xml_cannot_carry_are_rejected_before_sending() {
    let (sim, server, client) = default_client();
    let err = client
        .import_users(&[TeUser {
            firstname: Some("bell \u{7}".into()),
            ..TeUser::new("anders", "timeedit")
        }])
        .await
        .expect_err("unencodable");
    assert!(matches!(err, ConnectorError::Rejected { .. }), "{err:?}");
    assert_eq!(operations(&server, &sim), ["register"]);
    server.stop().await;
}

#[tokio::test]
async fn empty_batches_make_no_call() {
    let (sim, server, client) = default_client();
    assert!(client.import_users(&[]).await.expect("import").is_empty());
    assert!(
        client
            .delete_users(&[], true)
            .await
            .expect("delete")
            .is_empty()
    );
    assert!(client.export_users(&[]).await.expect("export").is_empty());
    assert!(operations(&server, &sim).is_empty());
    server.stop().await;
}
