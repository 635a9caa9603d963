//! Workspace 365 environment API simulator (docs/connectors/workspace365-adsync.md "Workspace 365 AD sync") over real sockets.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use uuid::Uuid;
use vendor_sim::workspace365_env::{
    ApiKey, AppIcon, Category, Color, EnvironmentConfig, IconSource, Media, Workspace365EnvConfig,
    Workspace365EnvSim,
};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

const ENV: &str = "example";
/// The seed's AD-sync token and its Basic header, verbatim from seed 004.
const SYNC_TOKEN: &str = "4613e4c6-aa59-45d0-88c9-c99feddf3959";
const SEED_BASIC: &str = "Basic NDYxM2U0YzYtYWE1OS00NWQwLTg4YzktYzk5ZmVkZGYzOTU5Og==";
/// The seed's `Workspace365` example token.
const API_TOKEN: &str = "00000000-0000-0000-0000-000000000000";
const DISABLED_TOKEN: &str = "11111111-1111-1111-1111-111111111111";

const USER_A: &str = "4dc0cd74-9103-45ac-b0fe-a0aa0b1d00a1";
const USER_B: &str = "4dc0cd74-9103-45ac-b0fe-a0aa0b1d00b2";
const GROUP_A: &str = "9aca0d74-0599-45ac-b0fe-a0aa0b9a00a1";
const GROUP_B: &str = "9aca0d74-0599-45ac-b0fe-a0aa0b9a00b2";
const GROUP_C: &str = "9aca0d74-0599-45ac-b0fe-a0aa0b9a00c3";

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("test GUID")
}

fn config() -> Workspace365EnvConfig {
    let mut main = EnvironmentConfig::new(ENV, SYNC_TOKEN, API_TOKEN);
    main.api_keys.push(ApiKey {
        name: "revoked".into(),
        token: DISABLED_TOKEN.into(),
        enabled: false,
    });
    let mut inactive = EnvironmentConfig::new("inactive", SYNC_TOKEN, API_TOKEN);
    inactive.active = false;
    let unconfigured = EnvironmentConfig {
        name: "unconfigured".into(),
        active: true,
        adsync_token: None,
        api_keys: Vec::new(),
        admin_role_from_workspace: false,
    };
    Workspace365EnvConfig {
        environments: vec![main, inactive, unconfigured],
        ..Workspace365EnvConfig::single(ENV, SYNC_TOKEN, API_TOKEN)
    }
}

struct Harness {
    sim: Workspace365EnvSim,
    server: SimServer,
    http: reqwest::Client,
}

/// A response, read whole.
struct Reply {
    status: u16,
    content_type: Option<String>,
    content_length: Option<String>,
    www_authenticate: Option<String>,
    bytes: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

impl Harness {
    fn start() -> Self {
        Self::with(config(), SimOptions::default())
    }

    fn with(config: Workspace365EnvConfig, options: SimOptions) -> Self {
        let sim = Workspace365EnvSim::new(config);
        let server = sim.start(options).expect("start simulator");
        Self {
            sim,
            server,
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// An AD-sync request with the seed's Basic header.
    fn sync(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(
                method,
                self.url(&format!("/{ENV}/ActiveDirectorySyncAPI{path}")),
            )
            .header(AUTHORIZATION, SEED_BASIC)
    }

    /// A `Workspace365`-scheme request to `/{ENV}{path}`.
    fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(&format!("/{ENV}{path}")))
            .header(AUTHORIZATION, format!("Workspace365 {API_TOKEN}"))
    }

    async fn put_user(&self, object_id: &str, body: Value) -> Reply {
        send(
            self.sync(Method::PUT, &format!("/Users/{object_id}/"))
                .json(&body),
        )
        .await
    }

    async fn put_group(&self, object_id: &str, name: &str) -> Reply {
        let body = json!({"Name": name, "Description": format!("{name} people")});
        send(
            self.sync(Method::PUT, &format!("/Groups/{object_id}/"))
                .json(&body),
        )
        .await
    }
}

async fn send(request: RequestBuilder) -> Reply {
    let res = request.send().await.expect("request sent");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, content_length, www_authenticate) = (
        header("content-type"),
        header("content-length"),
        header("www-authenticate"),
    );
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body").to_vec();
    Reply {
        status,
        content_type,
        content_length,
        www_authenticate,
        bytes,
    }
}

/// A JSON body sent as raw text (for the seed's literal examples and malformed JSON).
fn raw_json(request: RequestBuilder, body: &str) -> RequestBuilder {
    request
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned())
}

fn user_body(first: &str, last: &str, upn: &str) -> Value {
    json!({
        "FirstName": first, "LastName": last, "UserPrincipalName": upn, "Email": upn,
        "IsAdmin": false, "IsActive": true,
    })
}

fn field_error(field: &str, message: &str) -> Value {
    json!({"globalError": null, "fieldErrors": {field: {"message": message}}})
}

fn global_error(message: &str) -> Value {
    json!({"globalError": {"message": message}, "fieldErrors": {}})
}

/// Asserts a 200 with the seed's JSON content type and no body (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
fn assert_sync_ok(reply: &Reply) {
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert!(reply.bytes.is_empty(), "unexpected body {}", reply.text());
}

fn assert_error(reply: &Reply, status: u16, expected: Value) {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(reply.json(), expected);
}

// ===== ActiveDirectorySync: users (A1, A2) =====

#[actix_web::test]
async fn user_put_seed_example_creates_then_replaces() {
    let h = Harness::start();
    // The seed's example, verbatim except for its invalid GUID (docs/connectors/workspace365-adsync.md "Gaps in the vendor's documentation").
    let seed_body = r#"{
"FirstName": "Sarah",
"LastName": "de Vries",
"UserPrincipalName": "sarah@w365support.onmicrosoft.com",
"Email": "sarah@365support.onmicrosoft.com",
"SecondaryEmail": "anthony@w365support.onmicrosoft.com",
"IsAdmin": "false",
"IsActive": "true",
"JobTitle": "",
"MobilePhone": ""
}"#;
    let reply = send(raw_json(
        h.sync(Method::PUT, &format!("/Users/{USER_A}/")),
        seed_body,
    ))
    .await;
    assert_sync_ok(&reply);
    let user = h.sim.user(ENV, id(USER_A)).expect("stored");
    assert_eq!(
        (
            user.first_name.as_str(),
            user.last_name.as_str(),
            user.user_principal_name.as_str(),
            user.email.as_deref(),
            user.secondary_email.as_deref(),
            user.is_admin,
            user.is_active,
            user.job_title.as_deref(),
            user.mobile_phone.as_deref(),
            user.deleted,
        ),
        (
            "Sarah",
            "de Vries",
            "sarah@w365support.onmicrosoft.com",
            Some("sarah@365support.onmicrosoft.com"),
            Some("anthony@w365support.onmicrosoft.com"),
            false,
            true,
            Some(""),
            Some(""),
            false,
        )
    );

    // PUT is an upsert that replaces every field; absent fields become null/false. Property
    // names bind case-insensitively.
    let reply = h
        .put_user(
            USER_A,
            json!({"firstname": "Sara", "LASTNAME": "Vries", "userPrincipalName": "sara@w365support.onmicrosoft.com", "isAdmin": true}),
        )
        .await;
    assert_sync_ok(&reply);
    let updated = h.sim.user(ENV, id(USER_A)).expect("stored");
    assert_eq!(updated.id, user.id, "the integer id survives an upsert");
    assert_eq!(updated.first_name, "Sara");
    assert_eq!(
        updated.user_principal_name,
        "sara@w365support.onmicrosoft.com"
    );
    assert_eq!((updated.is_admin, updated.is_active), (true, false));
    assert_eq!((updated.email, updated.job_title), (None, None));
    assert_eq!(h.sim.users(ENV).len(), 1);

    // Trailing slash optional; braced/upper-case GUIDs name the same object.
    let upper = format!("{{{}}}", USER_A.to_uppercase());
    let reply = send(
        h.sync(Method::PUT, &format!("/Users/{upper}"))
            .json(&user_body(
                "Sara",
                "Vries",
                "sara@w365support.onmicrosoft.com",
            )),
    )
    .await;
    assert_sync_ok(&reply);
    assert_eq!(h.sim.users(ENV).len(), 1);
    assert!(h.sim.user(ENV, id(USER_A)).expect("stored").is_active);
}

#[actix_web::test]
async fn user_put_validation_errors() {
    let h = Harness::start();
    // The seed's own example GUID is invalid (non-hex `v`, 11-char last group).
    let reply = h
        .put_user(
            "4dcvcd74-9103-45ac-b0fe-a0aa0b1d00a",
            user_body("Sarah", "de Vries", "sarah@example.com"),
        )
        .await;
    assert_error(
        &reply,
        400,
        field_error(
            "ObjectId",
            "The value '4dcvcd74-9103-45ac-b0fe-a0aa0b1d00a' is not valid for ObjectId.",
        ),
    );

    let reply = h
        .put_user(
            USER_A,
            json!({"LastName": "de Vries", "UserPrincipalName": "s@example.com"}),
        )
        .await;
    assert_error(
        &reply,
        400,
        field_error("FirstName", "The FirstName field is required."),
    );

    // Field errors echo the client's spelling; blank counts as missing.
    let reply = h
        .put_user(
            USER_A,
            json!({"firstName": "Sarah", "lastname": "  ", "UserPrincipalName": "s@example.com"}),
        )
        .await;
    assert_error(
        &reply,
        400,
        field_error("lastname", "The LastName field is required."),
    );

    // An empty body binds as {}: every required field is reported at once.
    let reply = send(h.sync(Method::PUT, &format!("/Users/{USER_A}/"))).await;
    assert_eq!(reply.status, 400);
    let fields = reply.json()["fieldErrors"].clone();
    let mut names: Vec<&String> = fields.as_object().expect("object").keys().collect();
    names.sort();
    assert_eq!(names, ["FirstName", "LastName", "UserPrincipalName"]);

    for bad_upn in [
        "sarah",
        "sarah@",
        "@example.com",
        "sa rah@example.com",
        "a@b@c",
    ] {
        let reply = h
            .put_user(USER_A, user_body("Sarah", "de Vries", bad_upn))
            .await;
        assert_error(
            &reply,
            400,
            field_error(
                "UserPrincipalName",
                "The UserPrincipalName field is not a valid user principal name.",
            ),
        );
    }

    let mut body = user_body("Sarah", "de Vries", "sarah@example.com");
    body["IsAdmin"] = json!("maybe");
    let reply = h.put_user(USER_A, body).await;
    assert_error(
        &reply,
        400,
        field_error("IsAdmin", "The value 'maybe' is not valid for IsAdmin."),
    );

    let mut body = user_body("Sarah", "de Vries", "sarah@example.com");
    body["JobTitle"] = json!(["not", "a", "string"]);
    assert_eq!(h.put_user(USER_A, body).await.status, 400);

    // A UPN held by another live user is a 400 (Workspace keys users on the UPN).
    assert_sync_ok(
        &h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
            .await,
    );
    let reply = h
        .put_user(USER_B, user_body("Other", "Sarah", "SARAH@example.com"))
        .await;
    assert_error(
        &reply,
        400,
        field_error(
            "UserPrincipalName",
            "A user with UserPrincipalName 'SARAH@example.com' already exists.",
        ),
    );

    // Malformed JSON and non-object JSON are "an incorrect data object": 500.
    for bad in ["{\"FirstName\": ", "[1, 2]", "\"text\"", "null"] {
        let reply = send(raw_json(
            h.sync(Method::PUT, &format!("/Users/{USER_B}/")),
            bad,
        ))
        .await;
        assert_eq!(reply.status, 500, "{bad}");
    }
    assert_eq!(
        h.sim.users(ENV).len(),
        1,
        "no failed request stored anything"
    );
}

#[actix_web::test]
async fn user_delete_is_soft_idempotent_and_restorable() {
    let h = Harness::start();
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    h.put_group(GROUP_A, "Finance").await;
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("/Groups/{GROUP_A}/Users/{USER_A}/"))).await);
    let int_id = h.sim.user(ENV, id(USER_A)).expect("user").id;

    let reply = send(h.sync(Method::DELETE, &format!("/Users/{USER_A}/"))).await;
    assert_eq!(reply.status, 200);
    assert!(reply.bytes.is_empty());
    let user = h.sim.user(ENV, id(USER_A)).expect("kept as deleted");
    assert!(user.deleted);
    assert!(
        h.sim.user_memberships(ENV).is_empty(),
        "memberships go with the user"
    );

    // A deleted user cannot join groups, and its UPN is free again.
    let reply = send(h.sync(Method::PUT, &format!("/Groups/{GROUP_A}/Users/{USER_A}/"))).await;
    assert_error(
        &reply,
        400,
        global_error(&format!("The user '{USER_A}' was not found.")),
    );

    // Idempotent: again, and for an id never seen.
    assert_eq!(
        send(h.sync(Method::DELETE, &format!("/Users/{USER_A}")))
            .await
            .status,
        200
    );
    assert_eq!(
        send(h.sync(Method::DELETE, &format!("/Users/{USER_B}/")))
            .await
            .status,
        200
    );
    assert!(h.sim.user(ENV, id(USER_B)).is_none());

    let reply = send(h.sync(Method::DELETE, "/Users/not-a-guid/")).await;
    assert_error(
        &reply,
        400,
        field_error(
            "ObjectId",
            "The value 'not-a-guid' is not valid for ObjectId.",
        ),
    );

    // A later A1 restores the user with its integer id.
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    let restored = h.sim.user(ENV, id(USER_A)).expect("restored");
    assert!(!restored.deleted);
    assert_eq!(restored.id, int_id);
}

#[actix_web::test]
async fn synced_is_admin_is_ignored_when_workspace_manages_the_admin_role() {
    let mut config = config();
    config.environments[0].admin_role_from_workspace = true;
    let h = Harness::with(config, SimOptions::default());
    let mut body = user_body("Sarah", "de Vries", "sarah@example.com");
    body["IsAdmin"] = json!(true);
    assert_sync_ok(&h.put_user(USER_A, body.clone()).await);
    assert!(!h.sim.user(ENV, id(USER_A)).expect("user").is_admin);

    assert!(h.sim.set_admin(ENV, id(USER_A), true));
    body["IsAdmin"] = json!(false);
    assert_sync_ok(&h.put_user(USER_A, body).await);
    assert!(h.sim.user(ENV, id(USER_A)).expect("user").is_admin);
    assert!(!h.sim.set_admin(ENV, id(USER_B), true));
}

// ===== ActiveDirectorySync: groups (A3, A4) =====

#[actix_web::test]
async fn group_put_seed_example_and_delete() {
    let h = Harness::start();
    let reply = send(raw_json(
        h.sync(Method::PUT, &format!("/Groups/{GROUP_A}/")),
        "{\n\"Name\": \"Finance\",\n\"Description\": \"Everyone from Finance\"\n}",
    ))
    .await;
    assert_sync_ok(&reply);
    let group = h.sim.group(ENV, id(GROUP_A)).expect("stored");
    assert_eq!(
        (group.name.as_str(), group.description.as_deref()),
        ("Finance", Some("Everyone from Finance"))
    );

    // Upsert replaces the fields and keeps the integer id.
    let reply = send(
        h.sync(Method::PUT, &format!("/Groups/{GROUP_A}"))
            .json(&json!({"name": "Fin"})),
    )
    .await;
    assert_sync_ok(&reply);
    let renamed = h.sim.group(ENV, id(GROUP_A)).expect("stored");
    assert_eq!(
        (renamed.name.as_str(), renamed.description, renamed.id),
        ("Fin", None, group.id)
    );

    let reply = send(
        h.sync(Method::PUT, &format!("/Groups/{GROUP_B}/"))
            .json(&json!({"Description": "x"})),
    )
    .await;
    assert_error(
        &reply,
        400,
        field_error("Name", "The Name field is required."),
    );
    let reply = send(
        h.sync(Method::PUT, "/Groups/9acasd74-0599-45ac-b0fe-a0aa0b9a00a/")
            .json(&json!({"Name": "x"})),
    )
    .await;
    assert_error(
        &reply,
        400,
        field_error(
            "ObjectId",
            "The value '9acasd74-0599-45ac-b0fe-a0aa0b9a00a' is not valid for ObjectId.",
        ),
    );
    let reply = send(raw_json(
        h.sync(Method::PUT, &format!("/Groups/{GROUP_B}/")),
        "{oops",
    ))
    .await;
    assert_eq!(reply.status, 500);

    // Deleting a group removes it and every membership it takes part in.
    h.put_group(GROUP_B, "Parent").await;
    h.put_group(GROUP_C, "Child").await;
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    for path in [
        format!("/Groups/{GROUP_A}/Users/{USER_A}/"),
        format!("/{GROUP_B}/Groups/{GROUP_A}/"),
        format!("/{GROUP_A}/Groups/{GROUP_C}/"),
    ] {
        assert_sync_ok(&send(h.sync(Method::PUT, &path)).await);
    }
    let reply = send(h.sync(Method::DELETE, &format!("/Groups/{GROUP_A}/"))).await;
    assert_eq!(reply.status, 200);
    assert!(h.sim.group(ENV, id(GROUP_A)).is_none());
    assert!(h.sim.user_memberships(ENV).is_empty());
    assert!(h.sim.group_memberships(ENV).is_empty());
    assert_eq!(h.sim.groups(ENV).len(), 2);

    assert_eq!(
        send(h.sync(Method::DELETE, &format!("/Groups/{GROUP_A}")))
            .await
            .status,
        200
    );
    assert_eq!(
        send(h.sync(Method::DELETE, "/Groups/zzz/")).await.status,
        400
    );
}

// ===== ActiveDirectorySync: memberships (A5–A8) =====

#[actix_web::test]
async fn user_memberships_add_remove_and_errors() {
    let h = Harness::start();
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    h.put_group(GROUP_A, "Finance").await;

    let path = format!("/Groups/{GROUP_A}/Users/{USER_A}/");
    assert_sync_ok(&send(h.sync(Method::PUT, &path)).await);
    assert_sync_ok(&send(h.sync(Method::PUT, &path)).await);
    assert_eq!(h.sim.user_memberships(ENV), vec![(id(GROUP_A), id(USER_A))]);

    let reply = send(h.sync(Method::PUT, &format!("/Groups/{GROUP_B}/Users/{USER_A}/"))).await;
    assert_error(
        &reply,
        400,
        global_error(&format!("The group '{GROUP_B}' was not found.")),
    );
    let reply = send(h.sync(Method::PUT, &format!("/Groups/{GROUP_A}/Users/{USER_B}/"))).await;
    assert_error(
        &reply,
        400,
        global_error(&format!("The user '{USER_B}' was not found.")),
    );
    let reply = send(h.sync(Method::PUT, "/Groups/g/Users/u/")).await;
    assert_error(
        &reply,
        400,
        json!({"globalError": null, "fieldErrors": {
            "GroupObjectId": {"message": "The value 'g' is not valid for GroupObjectId."},
            "UserObjectId": {"message": "The value 'u' is not valid for UserObjectId."},
        }}),
    );

    let reply = send(h.sync(Method::DELETE, &format!("/Groups/{GROUP_A}/Users/{USER_A}"))).await;
    assert_eq!(reply.status, 200);
    assert!(h.sim.user_memberships(ENV).is_empty());
    // Idempotent, even for unknown objects.
    assert_eq!(send(h.sync(Method::DELETE, &path)).await.status, 200);
    assert_eq!(
        send(h.sync(
            Method::DELETE,
            &format!("/Groups/{GROUP_B}/Users/{USER_B}/")
        ))
        .await
        .status,
        200
    );
    assert_eq!(
        send(h.sync(Method::DELETE, "/Groups/x/Users/y/"))
            .await
            .status,
        400
    );
}

#[actix_web::test]
async fn nested_memberships_accept_both_path_forms() {
    let h = Harness::start();
    for (group, name) in [(GROUP_A, "All"), (GROUP_B, "Finance"), (GROUP_C, "Payroll")] {
        h.put_group(group, name).await;
    }
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("/Groups/{GROUP_C}/Users/{USER_A}/"))).await);

    // The seed literal form `{target}/Groups/{group}/` and the `Groups/`-prefixed form.
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("/{GROUP_A}/Groups/{GROUP_B}/"))).await);
    assert_sync_ok(
        &send(h.sync(Method::PUT, &format!("/Groups/{GROUP_B}/Groups/{GROUP_C}"))).await,
    );
    assert_eq!(
        h.sim.group_memberships(ENV),
        vec![(id(GROUP_A), id(GROUP_B)), (id(GROUP_B), id(GROUP_C))]
    );
    assert_eq!(h.sim.effective_members(ENV, id(GROUP_A)), vec![id(USER_A)]);

    // Self-membership and cycles are refused.
    let reply = send(h.sync(Method::PUT, &format!("/{GROUP_A}/Groups/{GROUP_A}/"))).await;
    assert_error(
        &reply,
        400,
        global_error("A group cannot be a member of itself."),
    );
    let reply = send(h.sync(Method::PUT, &format!("/Groups/{GROUP_C}/Groups/{GROUP_A}/"))).await;
    assert_error(
        &reply,
        400,
        global_error(&format!(
            "Adding group '{GROUP_A}' to group '{GROUP_C}' would create a cycle."
        )),
    );
    let unknown = Uuid::new_v4();
    let reply = send(h.sync(Method::PUT, &format!("/{GROUP_A}/Groups/{unknown}/"))).await;
    assert_error(
        &reply,
        400,
        global_error(&format!("The group '{unknown}' was not found.")),
    );
    let reply = send(h.sync(Method::PUT, &format!("/nope/Groups/{GROUP_B}/"))).await;
    assert_error(
        &reply,
        400,
        field_error(
            "TargetGroupObjectId",
            "The value 'nope' is not valid for TargetGroupObjectId.",
        ),
    );

    // A8 exactly as the seed writes it (no trailing slash), then the prefixed form.
    let reply = send(h.sync(Method::DELETE, &format!("/{GROUP_A}/Groups/{GROUP_B}"))).await;
    assert_sync_ok(&reply);
    assert_eq!(
        h.sim.group_memberships(ENV),
        vec![(id(GROUP_B), id(GROUP_C))]
    );
    assert!(h.sim.effective_members(ENV, id(GROUP_A)).is_empty());
    let reply = send(h.sync(
        Method::DELETE,
        &format!("/Groups/{GROUP_B}/Groups/{GROUP_C}/"),
    ))
    .await;
    assert_sync_ok(&reply);
    assert!(h.sim.group_memberships(ENV).is_empty());
    assert_eq!(
        send(h.sync(Method::DELETE, &format!("/{GROUP_B}/Groups/{GROUP_C}/")))
            .await
            .status,
        200,
        "idempotent"
    );
    assert_eq!(
        send(h.sync(Method::DELETE, &format!("/Groups/{GROUP_B}/Groups/bad")))
            .await
            .status,
        400
    );
}

// ===== ActiveDirectorySync: profile pictures (A9, A10) =====

fn picture_form(field: &str, file_name: &str, mime: &str, bytes: Vec<u8>) -> Form {
    Form::new().part(
        field.to_owned(),
        Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .expect("mime"),
    )
}

#[actix_web::test]
async fn profile_picture_upload_replace_delete_round_trip() {
    let h = Harness::start();
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    let path = format!("/Users/{USER_A}/ProfilePicture");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n-not-really-an-image-\x00\xff".to_vec();

    let reply = send(h.sync(Method::PUT, &path).multipart(picture_form(
        "file",
        "sarah.png",
        "image/png",
        png.clone(),
    )))
    .await;
    assert_sync_ok(&reply);
    let picture = h.sim.picture(ENV, id(USER_A)).expect("stored");
    assert_eq!(picture.bytes, png);
    assert_eq!(picture.content_type, "image/png");
    assert_eq!(
        (picture.file_name.as_deref(), picture.field_name.as_str()),
        (Some("sarah.png"), "file")
    );

    // Replace; any field name is accepted, plain text fields are ignored.
    let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3];
    let form = picture_form("photo", "sarah.jpg", "image/jpeg", jpeg.clone()).text("note", "hi");
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("{path}/")).multipart(form)).await);
    let picture = h.sim.picture(ENV, id(USER_A)).expect("replaced");
    assert_eq!(
        (picture.bytes, picture.content_type.as_str()),
        (jpeg, "image/jpeg")
    );

    // A picture of exactly the 4 MiB limit is fine; one byte more is not.
    let limit = vendor_sim::workspace365_env::DEFAULT_MAX_PICTURE_BYTES;
    let gif = vec![b'G'; limit];
    let reply = send(h.sync(Method::PUT, &path).multipart(picture_form(
        "file",
        "big.gif",
        "image/gif",
        gif,
    )))
    .await;
    assert_sync_ok(&reply);
    let reply = send(h.sync(Method::PUT, &path).multipart(picture_form(
        "file",
        "huge.gif",
        "image/gif",
        vec![b'G'; limit + 1],
    )))
    .await;
    assert_error(
        &reply,
        400,
        field_error("file", &format!("The file is larger than {limit} bytes.")),
    );
    assert_eq!(
        h.sim.picture(ENV, id(USER_A)).expect("kept").bytes.len(),
        limit
    );

    let reply = send(h.sync(Method::DELETE, &path)).await;
    assert_sync_ok(&reply);
    assert!(h.sim.picture(ENV, id(USER_A)).is_none());
    assert_sync_ok(&send(h.sync(Method::DELETE, &format!("{path}/"))).await);
    assert_sync_ok(&send(h.sync(Method::DELETE, &format!("/Users/{USER_B}/ProfilePicture"))).await);
}

#[actix_web::test]
async fn profile_picture_errors() {
    let h = Harness::start();
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    let path = format!("/Users/{USER_A}/ProfilePicture");
    let one_file = "Exactly one file must be uploaded as multipart/form-data.";

    let reply = send(h.sync(Method::PUT, &path).multipart(picture_form(
        "file",
        "a.bmp",
        "image/bmp",
        vec![1, 2],
    )))
    .await;
    assert_error(
        &reply,
        400,
        field_error(
            "file",
            "The file type 'image/bmp' is not supported; use JPEG, PNG or GIF.",
        ),
    );
    let reply = send(h.sync(Method::PUT, &path).multipart(picture_form(
        "file",
        "a.png",
        "image/png",
        Vec::new(),
    )))
    .await;
    assert_error(&reply, 400, field_error("file", "The file is empty."));

    let reply = send(
        h.sync(Method::PUT, &path)
            .multipart(Form::new().text("file", "abc")),
    )
    .await;
    assert_error(&reply, 400, global_error(one_file));
    let two = picture_form("a", "a.png", "image/png", vec![1]).part(
        "b",
        Part::bytes(vec![2])
            .file_name("b.png")
            .mime_str("image/png")
            .expect("mime"),
    );
    let reply = send(h.sync(Method::PUT, &path).multipart(two)).await;
    assert_error(&reply, 400, global_error(one_file));

    let reply = send(raw_json(h.sync(Method::PUT, &path), "{}")).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["globalError"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The request is not a valid multipart form"))
    );

    let reply = send(
        h.sync(Method::PUT, &format!("/Users/{USER_B}/ProfilePicture"))
            .multipart(picture_form("file", "a.png", "image/png", vec![1])),
    )
    .await;
    assert_error(
        &reply,
        400,
        global_error(&format!("The user '{USER_B}' was not found.")),
    );
    let reply = send(
        h.sync(Method::PUT, "/Users/xyz/ProfilePicture")
            .multipart(picture_form("file", "a.png", "image/png", vec![1])),
    )
    .await;
    assert_error(
        &reply,
        400,
        field_error("ObjectId", "The value 'xyz' is not valid for ObjectId."),
    );
    assert_eq!(
        send(h.sync(Method::DELETE, "/Users/xyz/ProfilePicture"))
            .await
            .status,
        400
    );
    assert!(h.sim.picture(ENV, id(USER_A)).is_none());
}

// ===== Authentication (docs/connectors/workspace365-adsync.md "The vendor API") =====

#[actix_web::test]
async fn adsync_auth_failures() {
    let h = Harness::start();
    let body = user_body("Sarah", "de Vries", "sarah@example.com");
    let put = |env: &str, auth: Option<String>| {
        let rb = h
            .http
            .put(h.url(&format!("/{env}/ActiveDirectorySyncAPI/Users/{USER_A}/")))
            .json(&body);
        match auth {
            Some(value) => rb.header(AUTHORIZATION, value),
            None => rb,
        }
    };
    let basic = |creds: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(creds)
        )
    };
    let cases: Vec<(&str, &str, Option<String>, u16)> = vec![
        ("missing header", ENV, None, 401),
        ("wrong token", ENV, Some(basic("wrong-token:")), 401),
        (
            "password given",
            ENV,
            Some(basic(&format!("{SYNC_TOKEN}:x"))),
            401,
        ),
        ("not base64", ENV, Some("Basic %%%".into()), 401),
        ("no colon", ENV, Some(basic(SYNC_TOKEN)), 401),
        ("empty credentials", ENV, Some("Basic".into()), 401),
        (
            "swapped: Workspace365 scheme with sync token",
            ENV,
            Some(format!("Workspace365 {SYNC_TOKEN}")),
            401,
        ),
        (
            "swapped: Workspace365 scheme with API key",
            ENV,
            Some(format!("Workspace365 {API_TOKEN}")),
            401,
        ),
        (
            "swapped: API key as Basic",
            ENV,
            Some(basic(&format!("{API_TOKEN}:"))),
            401,
        ),
        ("bearer", ENV, Some(format!("Bearer {SYNC_TOKEN}")), 401),
        (
            "unknown environment",
            "nosuchenv",
            Some(SEED_BASIC.into()),
            401,
        ),
        (
            "inactive environment",
            "inactive",
            Some(SEED_BASIC.into()),
            403,
        ),
        (
            "AD sync not configured",
            "unconfigured",
            Some(SEED_BASIC.into()),
            403,
        ),
    ];
    for (case, env, auth, status) in cases {
        let reply = send(put(env, auth)).await;
        assert_eq!(reply.status, status, "{case}");
        assert!(reply.bytes.is_empty(), "{case}: {}", reply.text());
        let challenge = (status == 401).then_some("Basic realm=\"ActiveDirectorySyncAPI\"");
        assert_eq!(reply.www_authenticate.as_deref(), challenge, "{case}");
    }
    assert!(
        h.sim.users(ENV).is_empty(),
        "no refused request stored anything"
    );

    // Auth is checked before anything else, on every AD-sync route.
    for (method, path) in [
        (Method::DELETE, format!("/Users/{USER_A}/")),
        (Method::PUT, format!("/Groups/{GROUP_A}/")),
        (Method::DELETE, format!("/Groups/{GROUP_A}/")),
        (Method::PUT, format!("/Groups/{GROUP_A}/Users/{USER_A}/")),
        (Method::DELETE, format!("/Groups/{GROUP_A}/Users/{USER_A}/")),
        (Method::PUT, format!("/{GROUP_A}/Groups/{GROUP_B}/")),
        (
            Method::DELETE,
            format!("/Groups/{GROUP_A}/Groups/{GROUP_B}"),
        ),
        (Method::PUT, format!("/Users/{USER_A}/ProfilePicture")),
        (
            Method::DELETE,
            "/Users/not-a-guid/ProfilePicture".to_owned(),
        ),
    ] {
        let url = h.url(&format!("/{ENV}/ActiveDirectorySyncAPI{path}"));
        let reply = send(h.http.request(method.clone(), &url)).await;
        assert_eq!(reply.status, 401, "{method} {path}");
        let reply = send(
            h.http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, format!("Workspace365 {API_TOKEN}")),
        )
        .await;
        assert_eq!(reply.status, 401, "swapped scheme on {method} {path}");
    }

    // The scheme word and the environment name are case-insensitive.
    let reply = send(put(
        "EXAMPLE",
        Some(SEED_BASIC.replacen("Basic", "basic", 1)),
    ))
    .await;
    assert_sync_ok(&reply);
    assert_eq!(h.sim.users(ENV).len(), 1);
    // The request log masks the credentials.
    let logged = h.server.log().last().expect("logged");
    assert_eq!(logged.header("authorization"), Some("basic ***"));
}

#[actix_web::test]
async fn api_auth_failures() {
    let h = Harness::start();
    h.sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    let routes = [
        (Method::POST, "/api/activities"),
        (Method::POST, "/api/activities-batch"),
        (Method::GET, "/api/users/userone@example.com/apps"),
        (Method::POST, "/api/announcements"),
        (Method::GET, "/api/appicons/global"),
        (Method::GET, "/api/appicons/global/36"),
        (Method::GET, "/api/appicons/global/36/content"),
        (
            Method::POST,
            "/IntegrationCredentialsApi/User/userone@example.com/",
        ),
        (Method::PUT, "/IntegrationCredentialsApi/8/"),
    ];
    let cases: Vec<(&str, &str, Option<String>, u16)> = vec![
        ("missing header", ENV, None, 401),
        ("wrong token", ENV, Some("Workspace365 nope".into()), 401),
        ("empty token", ENV, Some("Workspace365 ".into()), 401),
        (
            "swapped: seed Basic header",
            ENV,
            Some(SEED_BASIC.into()),
            401,
        ),
        (
            "swapped: AD-sync token with Workspace365 scheme",
            ENV,
            Some(format!("Workspace365 {SYNC_TOKEN}")),
            401,
        ),
        ("bearer", ENV, Some(format!("Bearer {API_TOKEN}")), 401),
        (
            "disabled key",
            ENV,
            Some(format!("Workspace365 {DISABLED_TOKEN}")),
            403,
        ),
        (
            "unknown environment",
            "nosuchenv",
            Some(format!("Workspace365 {API_TOKEN}")),
            401,
        ),
        (
            "inactive environment",
            "inactive",
            Some(format!("Workspace365 {API_TOKEN}")),
            403,
        ),
        (
            "API not configured",
            "unconfigured",
            Some(format!("Workspace365 {API_TOKEN}")),
            403,
        ),
    ];
    for (method, path) in &routes {
        for (case, env, auth, status) in &cases {
            let mut rb = h
                .http
                .request(method.clone(), h.url(&format!("/{env}{path}")))
                .json(&json!({"Title": "x", "username": "userone@example.com", "password": "p"}));
            if let Some(value) = auth {
                rb = rb.header(AUTHORIZATION, value);
            }
            let reply = send(rb).await;
            assert_eq!(reply.status, *status, "{case} on {method} {path}");
            let challenge = (*status == 401).then_some("Workspace365");
            assert_eq!(reply.www_authenticate.as_deref(), challenge, "{case}");
        }
    }
    assert!(h.sim.activities(ENV).is_empty());
    assert!(h.sim.announcements(ENV).is_empty());
    assert!(h.sim.credentials(ENV).is_empty());

    let reply = send(
        h.http
            .post(h.url(&format!("/{ENV}/api/announcements")))
            .header(AUTHORIZATION, format!("workspace365 {API_TOKEN}"))
            .json(&json!({"Title": "ok"})),
    )
    .await;
    assert_eq!(reply.status, 200, "scheme word is case-insensitive");
    let logged = h.server.log().last().expect("logged");
    assert_eq!(logged.header("authorization"), Some("workspace365 ***"));
}

// ===== Activities (docs/connectors/workspace365.md "The environment API") =====

const SEED_ACTIVITY: &str = r##"{ "User": { "Upn": "userone@example.com" }, "Icon": { "Name": "Phone" }, "Title": "Test activity", "Url": "https://workspace365instance.url",
"Tag": "Proposals", "Color": { "Kind": "1", "Value": "#00ff00"
},
"Actions": [
{
"Kind": "1",
"Title": "Accept proposal",
"Url": "https://workspace365instance.url/proposal/accept" }
]
}"##;

#[actix_web::test]
async fn activity_seed_example_and_lookups() {
    let h = Harness::start();
    let one = h
        .sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    let two = h
        .sim
        .seed_user(ENV, id(USER_B), "User", "Two", "usertwo@example.com");

    let reply = send(raw_json(
        h.api(Method::POST, "/api/activities"),
        SEED_ACTIVITY,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        reply.json(),
        json!({"id": 1, "user": {"id": one, "upn": "userone@example.com"}})
    );
    let stored = &h.sim.activities(ENV)[0];
    assert_eq!(stored.icon.as_deref(), Some("Phone"));
    assert_eq!(stored.tag.as_deref(), Some("Proposals"));
    assert_eq!(
        stored.color,
        Some(Color {
            kind: 1,
            value: Some("#00ff00".into())
        })
    );
    assert_eq!(stored.actions.len(), 1);
    assert_eq!(stored.actions[0].title, "Accept proposal");

    // By id; when both are given, the Id wins.
    let body = json!({"User": {"id": two, "upn": "userone@example.com"}, "Title": "t"});
    let reply = send(h.api(Method::POST, "/api/activities").json(&body)).await;
    assert_eq!(
        reply.json(),
        json!({"id": 2, "user": {"id": two, "upn": "usertwo@example.com"}})
    );
}

#[actix_web::test]
async fn activity_validation_errors() {
    let h = Harness::start();
    h.sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    let post = |body: Value| send(h.api(Method::POST, "/api/activities").json(&body));
    let user = json!({"Upn": "userone@example.com"});

    assert_error(
        &post(json!({"Title": "t"})).await,
        400,
        field_error("User", "The User field is required."),
    );
    assert_error(
        &post(json!({"User": user, "Title": ""})).await,
        400,
        field_error("Title", "The Title field is required."),
    );
    assert_error(
        &post(json!({"User": {}, "Title": "t"})).await,
        400,
        field_error("User.Upn", "The Id or the Upn should be specified."),
    );
    assert_error(
        &post(json!({"User": {"Upn": "ghost@example.com"}, "Title": "t"})).await,
        400,
        global_error("The user 'ghost@example.com' was not found."),
    );
    assert_error(
        &post(json!({"User": {"Id": 999}, "Title": "t"})).await,
        400,
        global_error("The user with id 999 was not found."),
    );
    assert_error(
        &post(json!({"User": user, "Title": "t", "Color": {"Kind": 1}})).await,
        400,
        field_error("Color.Value", "The Value field is required when Kind is 1."),
    );
    assert_error(
        &post(json!({"User": user, "Title": "t", "Color": {"Kind": 4}})).await,
        400,
        field_error(
            "Color.Kind",
            "Options are 1 (custom), 2 (primary), 3 (header).",
        ),
    );
    let action = json!({"Kind": 1, "Title": "ok", "Url": "https://x"});
    assert_error(
        &post(json!({"User": user, "Title": "t", "Actions": [action, action, action]})).await,
        400,
        field_error("Actions", "The maximum number of actions is 2."),
    );
    let long = "x".repeat(33);
    assert_error(
        &post(
            json!({"User": user, "Title": "t", "Actions": [action, {"Kind": 10, "Title": long}]}),
        )
        .await,
        400,
        json!({"globalError": null, "fieldErrors": {
            "Actions[1].Kind": {"message": "Options are 1 to 9."},
            "Actions[1].Title": {"message": "Maximum length is 32 characters."},
            "Actions[1].Url": {"message": "The Url field is required."},
        }}),
    );
    let reply = send(raw_json(
        h.api(Method::POST, "/api/activities"),
        "{\"User\": ",
    ))
    .await;
    assert_eq!(reply.status, 500);
    assert!(h.sim.activities(ENV).is_empty());

    // Color kind 2 needs no value; exactly 32 characters is allowed.
    let ok = json!({"User": user, "Title": "t", "Color": {"Kind": 2},
        "Actions": [{"Kind": 9, "Title": "x".repeat(32), "Url": "https://x"}]});
    assert_eq!(post(ok).await.status, 200);
}

#[actix_web::test]
async fn activity_batch_scopes() {
    let h = Harness::start();
    let one = h
        .sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    let two = h
        .sim
        .seed_user(ENV, id(USER_B), "User", "Two", "usertwo@example.com");

    // The seed's batch example is invalid JSON (no comma after `"Kind": 1`, docs/connectors/workspace365.md "The environment API"): 500.
    let seed = r##"{ "Scope": {
"Kind": 0 }, "Data": { "Title": "test", "Url": "https://workspace365instance.url",
"Tag": "Proposals", "Icon": { "Name": "Phone" }, "Color": { "Kind": 1, "Value": "#00ff00" },
"Actions": [
{
"Kind": 1
"Title": "Accept Proposal",
"Url": "https://workspace365instance.url/proposal/accept" }
] }
}"##;
    let reply = send(raw_json(h.api(Method::POST, "/api/activities-batch"), seed)).await;
    assert_eq!(reply.status, 500);
    // With the comma restored it creates one activity per user.
    let fixed = seed.replace("\"Kind\": 1\n", "\"Kind\": 1,\n");
    let reply = send(raw_json(
        h.api(Method::POST, "/api/activities-batch"),
        &fixed,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!([
            {"id": 1, "user": {"id": one, "upn": "userone@example.com"}},
            {"id": 2, "user": {"id": two, "upn": "usertwo@example.com"}},
        ])
    );

    let data = json!({"Title": "hello"});
    let batch = |scope: Value| {
        send(
            h.api(Method::POST, "/api/activities-batch")
                .json(&json!({"Scope": scope, "Data": data})),
        )
    };
    let reply =
        batch(json!({"Kind": 1, "Users": [{"Upn": "usertwo@example.com"}, {"Id": two}]})).await;
    assert_eq!(
        reply.json(),
        json!([{"id": 3, "user": {"id": two, "upn": "usertwo@example.com"}}])
    );

    // Groups by name and by id; members of nested groups count.
    let parent = h.sim.seed_group(ENV, id(GROUP_A), "Parent");
    h.sim.seed_group(ENV, id(GROUP_B), "Child");
    h.put_user(USER_A, user_body("User", "One", "userone@example.com"))
        .await;
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("/Groups/{GROUP_B}/Users/{USER_A}/"))).await);
    assert_sync_ok(&send(h.sync(Method::PUT, &format!("/{GROUP_A}/Groups/{GROUP_B}/"))).await);
    let reply = batch(json!({"Kind": 2, "Groups": [{"Id": parent}]})).await;
    assert_eq!(
        reply.json(),
        json!([{"id": 4, "user": {"id": one, "upn": "userone@example.com"}}])
    );
    let reply = batch(json!({"Kind": 2, "Groups": [{"Name": "child"}]})).await;
    assert_eq!(reply.json()[0]["user"]["id"], json!(one));

    assert_error(
        &batch(json!({"Kind": 1, "Users": []})).await,
        400,
        field_error(
            "Scope.Users",
            "This property is required when the scope kind is set to 1. The array should contain at least one item.",
        ),
    );
    assert_eq!(batch(json!({"Kind": 2})).await.status, 400);
    assert_error(
        &batch(json!({"Kind": 7})).await,
        400,
        field_error(
            "Scope.Kind",
            "Possible values: 0 (all users), 1 (users), 2 (groups).",
        ),
    );
    assert_error(
        &batch(json!({"Kind": 2, "Groups": [{"Name": "nobody"}]})).await,
        400,
        global_error("The group 'nobody' was not found."),
    );
    let reply = send(
        h.api(Method::POST, "/api/activities-batch")
            .json(&json!({"Data": {}})),
    )
    .await;
    assert_error(
        &reply,
        400,
        json!({"globalError": null, "fieldErrors": {
            "Scope": {"message": "The Scope field is required."},
            "Data.Title": {"message": "The Title field is required."},
        }}),
    );
    assert_eq!(h.sim.activities(ENV).len(), 5);
}

// ===== User apps, announcements, app icons, integration credentials (docs/connectors/workspace365.md "The environment API") =====

#[actix_web::test]
async fn user_apps_seed_example_and_not_found() {
    let h = Harness::start();
    h.sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    h.sim.seed_app(
        ENV,
        "userone@example.com",
        vendor_sim::workspace365_env::App {
            app_id: 34,
            app_type: 21,
            icon_name: "Computer Desktop".into(),
            app_name: "TestClientlessRDP".into(),
            url: Some("https://workspace365instance.url/example/AppLink/Go/00000000-0000-0000-0000-000000000000".into()),
            color: Color { kind: 1, value: Some("#ff0000".into()) },
        },
    );
    h.sim.seed_app(
        ENV,
        "USERONE@example.com",
        vendor_sim::workspace365_env::App {
            app_id: 35,
            app_type: 0,
            icon_name: "Box".into(),
            app_name: "Shortcut".into(),
            url: None,
            color: Color {
                kind: 2,
                value: Some("ignored".into()),
            },
        },
    );
    // The seed's example request, verbatim.
    let reply = send(h.api(Method::GET, "/api/users/userone@example.com/apps")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        reply.json(),
        json!([
            {"appId": 34, "type": 21, "icon": {"name": "Computer Desktop"}, "appName": "TestClientlessRDP",
             "url": "https://workspace365instance.url/example/AppLink/Go/00000000-0000-0000-0000-000000000000",
             "color": {"kind": 1, "value": "#ff0000"}},
            {"appId": 35, "type": 0, "icon": {"name": "Box"}, "appName": "Shortcut", "url": null,
             "color": {"kind": 2}},
        ])
    );

    h.sim
        .seed_user(ENV, id(USER_B), "User", "Two", "usertwo@example.com");
    let reply = send(h.api(Method::GET, "/api/users/usertwo@example.com/apps/")).await;
    assert_eq!((reply.status, reply.json()), (200, json!([])));
    let reply = send(h.api(Method::GET, "/api/users/ghost@example.com/apps")).await;
    assert_error(
        &reply,
        404,
        global_error("The user 'ghost@example.com' was not found."),
    );
}

#[actix_web::test]
async fn announcement_seed_example_defaults_and_errors() {
    let h = Harness::start();
    let seed = r#"{
"Title": "My announcement",
"Description": "This is my <b>announcement</b>",
"Media":
{
"MediaKind": 1,
"Image":
{
"Filename": "Minions.jpg",
"Uri": "--base 64 image data here --"
}
},
"Category":
{
"Id": 2
},
"ShowPopupDirectlyToUser": true,
"AllowComments": true,
"StartTime": "2021-04-15T00:00Z",
"EndTime": "2021-04-18T00:00Z"
}"#;
    let reply = send(raw_json(h.api(Method::POST, "/api/announcements"), seed)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(reply.json(), json!({"id": 1}));
    let stored = &h.sim.announcements(ENV)[0];
    assert_eq!(
        stored.media,
        Media::Image {
            filename: "Minions.jpg".into(),
            uri: "--base 64 image data here --".into()
        }
    );
    assert_eq!(stored.category, Category::Id(2));
    assert!(stored.show_popup_directly_to_user && stored.allow_comments);
    assert_eq!(stored.start_time.as_deref(), Some("2021-04-15T00:00Z"));

    // Documented defaults: Uncategorized, no popup, comments allowed.
    let reply = send(
        h.api(Method::POST, "/api/announcements")
            .json(&json!({"Title": "Plain"})),
    )
    .await;
    assert_eq!(reply.json(), json!({"id": 2}));
    let plain = &h.sim.announcements(ENV)[1];
    assert_eq!(
        (
            &plain.category,
            plain.show_popup_directly_to_user,
            plain.allow_comments,
            &plain.media
        ),
        (&Category::Uncategorized, false, true, &Media::None)
    );
    let video = json!({"Title": "v", "Media": {"MediaKind": 2, "VideoEmbedCode": "<iframe></iframe>"},
        "Category": {"Name": "Company"}, "StartTime": "2021-04-15T10:00:00+02:00"});
    assert_eq!(
        send(h.api(Method::POST, "/api/announcements").json(&video))
            .await
            .status,
        200
    );
    assert_eq!(
        h.sim.announcements(ENV)[2].category,
        Category::Name("Company".into())
    );

    let post = |body: Value| send(h.api(Method::POST, "/api/announcements").json(&body));
    assert_error(
        &post(json!({"Description": "no title"})).await,
        400,
        field_error("Title", "The Title field is required."),
    );
    assert_error(
        &post(json!({"Title": "t", "Media": {"MediaKind": 1}})).await,
        400,
        field_error(
            "Media.Image",
            "The Image field is required when MediaKind is 1.",
        ),
    );
    assert_error(
        &post(json!({"Title": "t", "Media": {"MediaKind": 1, "Image": {"Filename": "a.jpg"}}}))
            .await,
        400,
        field_error("Media.Image.Uri", "The Uri field is required."),
    );
    assert_error(
        &post(json!({"Title": "t", "Media": {"MediaKind": 2}})).await,
        400,
        field_error(
            "Media.VideoEmbedCode",
            "The VideoEmbedCode field is required when MediaKind is 2.",
        ),
    );
    assert_error(
        &post(json!({"Title": "t", "Media": {"MediaKind": 3}})).await,
        400,
        field_error(
            "Media.MediaKind",
            "Can be 0 (none), 1 (image) or 2 (video).",
        ),
    );
    assert_error(
        &post(json!({"Title": "t", "Category": {"Id": 1, "Name": "Company"}})).await,
        400,
        field_error("Category", "Only one of Id or Name should be passed."),
    );
    assert_error(
        &post(json!({"Title": "t", "StartTime": "yesterday"})).await,
        400,
        field_error(
            "StartTime",
            "The value 'yesterday' is not valid for StartTime.",
        ),
    );
    assert_error(
        &post(
            json!({"Title": "t", "StartTime": "2021-04-18T00:00Z", "EndTime": "2021-04-15T00:00Z"}),
        )
        .await,
        400,
        field_error("EndTime", "The EndTime must not be before the StartTime."),
    );
    assert_error(
        &post(json!({"Title": "t", "AllowComments": "sometimes"})).await,
        400,
        field_error(
            "AllowComments",
            "The value 'sometimes' is not valid for AllowComments.",
        ),
    );
    let reply = send(raw_json(
        h.api(Method::POST, "/api/announcements"),
        "{“Title”: 1}",
    ))
    .await;
    assert_eq!(reply.status, 500, "curly quotes are not JSON");
    assert_eq!(h.sim.announcements(ENV).len(), 3);

    let seeded = h
        .sim
        .seed_announcement(ENV, h.sim.announcements(ENV)[1].clone());
    assert_eq!(seeded, 4);
}

const SEED_SVG: &str = r##"<svg fill="#fff"
xmlns="http://www.w3.org/2000/svg" viewBox="0 0 76 76">
<path d="M6 57.126h64v6.742H6zm18.628-7.03h26.744v4.306H24.628zM10.444 15.99v30.588h55.112V15.99zm-4.026-3.858H69.58v37.666H6.418z"/>
</svg>"##;

#[actix_web::test]
async fn app_icons_seed_examples_and_errors() {
    let h = Harness::start();
    h.sim.seed_icon(
        ENV,
        IconSource::Global,
        AppIcon {
            id: 1,
            kind: 0,
            name: "Box".into(),
            content_type: "image/png".into(),
            content: vec![0x89, b'P', b'N', b'G'],
        },
    );
    h.sim.seed_icon(
        ENV,
        IconSource::Global,
        AppIcon {
            id: 36,
            kind: 2,
            name: "Computer Desktop".into(),
            content_type: "image/svg+xml".into(),
            content: SEED_SVG.as_bytes().to_vec(),
        },
    );
    h.sim.seed_icon(
        ENV,
        IconSource::Environment,
        AppIcon {
            id: 7,
            kind: 1,
            name: "Own".into(),
            content_type: "image/svg+xml".into(),
            content: b"<svg/>".to_vec(),
        },
    );

    let reply = send(h.api(Method::GET, "/api/appicons/global")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        reply.json(),
        json!([{"id": 1, "kind": 0, "name": "Box"}, {"id": 36, "kind": 2, "name": "Computer Desktop"}])
    );
    let reply = send(h.api(Method::GET, "/api/appicons/global/36")).await;
    assert_eq!(
        (reply.status, reply.json()),
        (
            200,
            json!({"id": 36, "kind": 2, "name": "Computer Desktop"})
        )
    );
    let reply = send(h.api(Method::GET, "/api/appicons/global/36/content")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type.as_deref(), Some("image/svg+xml"));
    assert_eq!(reply.text(), SEED_SVG);
    assert_eq!(reply.content_length, Some(SEED_SVG.len().to_string()));

    let reply = send(h.api(Method::GET, "/api/appicons/environment")).await;
    assert_eq!(reply.json(), json!([{"id": 7, "kind": 1, "name": "Own"}]));
    let reply = send(h.api(Method::GET, "/api/appicons/Environment/7/content/")).await;
    assert_eq!((reply.status, reply.bytes), (200, b"<svg/>".to_vec()));

    let not_found = global_error("The requested app icon is not found.");
    for path in [
        "/api/appicons/global/7",
        "/api/appicons/environment/36",
        "/api/appicons/global/999/content",
    ] {
        assert_error(
            &send(h.api(Method::GET, path)).await,
            400,
            not_found.clone(),
        );
    }
    assert_error(
        &send(h.api(Method::GET, "/api/appicons/local")).await,
        400,
        field_error(
            "Source",
            "The source 'local' is not valid. Possible values are global or environment.",
        ),
    );
    assert_error(
        &send(h.api(Method::GET, "/api/appicons/global/abc")).await,
        400,
        field_error("Id", "The value 'abc' is not valid for Id."),
    );
}

#[actix_web::test]
async fn integration_credentials_seed_examples_and_errors() {
    let h = Harness::start();
    h.sim
        .seed_user(ENV, id(USER_A), "User", "One", "userone@example.com");
    let seed_post = r#"{ "username": "userone@example.com", "password": "qwerty" }"#;
    let reply = send(raw_json(
        h.api(
            Method::POST,
            "/IntegrationCredentialsApi/User/userone@example.com/",
        ),
        seed_post,
    ))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(reply.text(), r#"{"id":1}"#);
    // The request log does not keep the password.
    let logged = h.server.log().last().expect("logged");
    assert!(!logged.body.contains("qwerty"), "{}", logged.body);
    assert!(logged.body.contains("***"));

    let seed_put = r#"{ "username": "userone@example.com", "password": "qwerty_updated" }"#;
    let reply = send(raw_json(
        h.api(Method::PUT, "/IntegrationCredentialsApi/1/"),
        seed_put,
    ))
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_length.as_deref(), Some("0"));
    assert!(reply.bytes.is_empty());
    let stored = &h.sim.credentials(ENV)[0];
    assert_eq!(
        (
            stored.id,
            stored.user_upn.as_str(),
            stored.password.as_str()
        ),
        (1, "userone@example.com", "qwerty_updated")
    );

    let body = json!({"username": "userone@example.com", "password": "p"});
    let reply = send(
        h.api(
            Method::POST,
            "/IntegrationCredentialsApi/User/ghost@example.com/",
        )
        .json(&body),
    )
    .await;
    assert_eq!((reply.status, reply.bytes.len()), (404, 0));
    let reply = send(
        h.api(Method::PUT, "/IntegrationCredentialsApi/99/")
            .json(&body),
    )
    .await;
    assert_eq!((reply.status, reply.bytes.len()), (404, 0));
    assert_error(
        &send(
            h.api(Method::PUT, "/IntegrationCredentialsApi/eight/")
                .json(&body),
        )
        .await,
        400,
        field_error("Id", "The value 'eight' is not valid for Id."),
    );
    assert_error(
        &send(
            h.api(
                Method::POST,
                "/IntegrationCredentialsApi/User/userone@example.com",
            )
            .json(&json!({"Username": "not-an-email", "password": "p"})),
        )
        .await,
        400,
        field_error(
            "Username",
            "The username field is not a valid e-mail address.",
        ),
    );
    assert_error(
        &send(
            h.api(Method::PUT, "/IntegrationCredentialsApi/1")
                .json(&json!({"username": "userone@example.com"})),
        )
        .await,
        400,
        field_error("password", "The password field is required."),
    );
    let reply = send(raw_json(
        h.api(Method::PUT, "/IntegrationCredentialsApi/1/"),
        "{",
    ))
    .await;
    assert_eq!(reply.status, 500);
    assert_eq!(h.sim.credentials(ENV).len(), 1);
    assert_eq!(h.sim.credentials(ENV)[0].password, "qwerty_updated");
}

// ===== Routing, faults, concurrency =====

#[actix_web::test]
async fn adsync_has_no_read_routes() {
    let h = Harness::start();
    h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    // One-way API (docs/connectors/workspace365-adsync.md "Vendor calls"): reading a user back is not a route.
    let reply = send(h.sync(Method::GET, &format!("/Users/{USER_A}/"))).await;
    assert_eq!(reply.status, 405);
    let reply = send(h.sync(Method::GET, "/Users/")).await;
    assert_eq!(reply.status, 404);
}

#[actix_web::test]
async fn faults_apply_to_workspace365_env_routes() {
    let h = Harness::start();
    h.server.faults().push(
        FaultRule::always(
            RouteMatch::new("PUT", &format!("/{ENV}/ActiveDirectorySyncAPI/Users")),
            Fault::Status(503),
        )
        .times(1),
    );
    let reply = h
        .put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
        .await;
    assert_eq!(reply.status, 503);
    assert!(
        h.sim.users(ENV).is_empty(),
        "a faulted request changes nothing"
    );
    assert_sync_ok(
        &h.put_user(USER_A, user_body("Sarah", "de Vries", "sarah@example.com"))
            .await,
    );

    h.server.faults().push(
        FaultRule::always(
            RouteMatch::path(&format!("/{ENV}/api/")),
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        )
        .times(1),
    );
    let res = h
        .api(Method::POST, "/api/announcements")
        .json(&json!({"Title": "t"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");
    assert!(h.sim.announcements(ENV).is_empty());
    assert_eq!(
        h.server
            .log()
            .matching("POST", &format!("/{ENV}/api/"))
            .len(),
        1
    );

    // The GET routes document a 500 that no input can cause; the fault plan produces it.
    h.sim
        .seed_user(ENV, id(USER_B), "User", "Two", "usertwo@example.com");
    h.server.faults().push(FaultRule::always(
        RouteMatch::new("GET", &format!("/{ENV}/api/")),
        Fault::Status(500),
    ));
    for path in [
        "/api/users/usertwo@example.com/apps",
        "/api/appicons/global",
    ] {
        assert_eq!(send(h.api(Method::GET, path)).await.status, 500, "{path}");
    }
    h.server.faults().clear();
    let reply = send(h.api(Method::GET, "/api/users/usertwo@example.com/apps")).await;
    assert_eq!(reply.status, 200);
}

#[actix_web::test]
async fn concurrent_membership_changes_stay_consistent() {
    const CLIENTS: usize = 32;
    let h = Harness::with(
        config(),
        SimOptions {
            workers: 2,
            ..SimOptions::default()
        },
    );
    h.put_group(GROUP_A, "Everyone").await;
    let users: Vec<Uuid> = (0..CLIENTS)
        .map(|i| {
            let user = Uuid::new_v4();
            h.sim.seed_user(
                ENV,
                user,
                "User",
                &format!("{i}"),
                &format!("user{i}@example.com"),
            );
            user
        })
        .collect();

    // 32 clients, each with its own connection, add one membership each, twice.
    let adds = users.iter().map(|user| {
        let client = reqwest::Client::new();
        let url = h.url(&format!(
            "/{ENV}/ActiveDirectorySyncAPI/Groups/{GROUP_A}/Users/{user}/"
        ));
        async move {
            let mut statuses = Vec::new();
            for _ in 0..2 {
                let res = client
                    .put(&url)
                    .header(AUTHORIZATION, SEED_BASIC)
                    .send()
                    .await
                    .expect("send");
                statuses.push(res.status().as_u16());
            }
            statuses
        }
    });
    let statuses = futures_util::future::join_all(adds).await;
    assert!(statuses.iter().flatten().all(|s| *s == 200), "{statuses:?}");
    let mut expected: Vec<(Uuid, Uuid)> = users.iter().map(|u| (id(GROUP_A), *u)).collect();
    expected.sort();
    assert_eq!(h.sim.user_memberships(ENV), expected);

    // Concurrently: even clients leave the group, odd clients delete their user.
    let changes = users.iter().enumerate().map(|(i, user)| {
        let client = reqwest::Client::new();
        let path = if i % 2 == 0 {
            format!("/Groups/{GROUP_A}/Users/{user}/")
        } else {
            format!("/Users/{user}/")
        };
        let url = h.url(&format!("/{ENV}/ActiveDirectorySyncAPI{path}"));
        async move {
            client
                .delete(&url)
                .header(AUTHORIZATION, SEED_BASIC)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(changes).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(h.sim.user_memberships(ENV).is_empty());
    let deleted = h.sim.users(ENV).iter().filter(|u| u.deleted).count();
    assert_eq!(deleted, CLIENTS / 2);
    assert_eq!(
        h.server
            .log()
            .matching("DELETE", &format!("/{ENV}/ActiveDirectorySyncAPI"))
            .len(),
        CLIENTS
    );
}
