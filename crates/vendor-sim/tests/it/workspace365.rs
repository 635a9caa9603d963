//! Workspace 365 Provisioning API (User) simulator over real sockets (docs/connectors/workspace365.md "Workspace 365 Provisioning API", seed 002).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use vendor_sim::workspace365::{DEMO_PROVISIONING_KEY, Workspace365Config, Workspace365Sim};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

const KEY: &str = DEMO_PROVISIONING_KEY;
const ENV: &str = "example";
const KEY_LOWERCASE: &str = "c7656554-85a2-4afd-bab7-18c71593c4d2";

/// The seed's W1 example body, with the CRLF line ends that make it the documented 176 bytes.
const SEED_CREATE_BODY: &str = "{\r\n  \"EmailAddress\": \"userone@example.com\",\r\n  \"Password\": \"qwerty\",\r\n  \"FirstName\": \"User\",\r\n  \"LastName\": \"One\",\r\n  \"IsAdministrator\": false,\r\n  \"CreateInOffice365\": false\r\n}";
/// The seed's W3 example body (145 bytes).
const SEED_UPDATE_BODY: &str = "{\r\n  \"EmailAddress\": \"userone@example.com\",\r\n  \"Password\": \"qwert\",\r\n  \"FirstName\": \"User\",\r\n  \"LastName\": \"Once\",\r\n  \"IsAdministrator\": false\r\n}";

struct W365 {
    sim: Workspace365Sim,
    server: SimServer,
    client: reqwest::Client,
}

impl W365 {
    fn start() -> Self {
        Self::with_config(Workspace365Config::default())
    }

    fn with_config(config: Workspace365Config) -> Self {
        let sim = Workspace365Sim::new(config);
        let server = sim
            .start(SimOptions {
                workers: 2,
                ..SimOptions::default()
            })
            .expect("start simulator");
        Self {
            sim,
            server,
            client: reqwest::Client::new(),
        }
    }

    /// `{base}/Provisioning{path}`.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.api_base(&self.server))
    }

    /// A request with the seed's headers (key, X-Requested-With, Accept).
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("ProvisioningKey", KEY)
            .header("X-Requested-With", "XMLHttpRequest")
            .header("Accept", "application/json")
    }

    async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.send_text(method, path, &body.to_string()).await
    }

    async fn send_text(&self, method: Method, path: &str, body: &str) -> Response {
        self.request(method, path)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("send")
    }

    /// A bodiless PUT with an explicit `Content-Length: 0`, as the seed requires for W5/W6.
    async fn put_empty(&self, path: &str) -> Response {
        self.request(Method::PUT, path)
            .header("Content-Length", "0")
            .send()
            .await
            .expect("send")
    }

    async fn create(&self, email: &str) -> Response {
        self.send_json(Method::POST, &format!("/{ENV}/User/"), &user(email))
            .await
    }
}

fn user(email: &str) -> Value {
    json!({
        "EmailAddress": email,
        "Password": "qwerty",
        "FirstName": "User",
        "LastName": "One",
        "IsAdministrator": false,
        "CreateInOffice365": false
    })
}

async fn assert_status(res: Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    res.text().await.expect("body")
}

/// Asserts a 400 whose body is exactly this `ValidationResult` list.
async fn assert_invalid(res: Response, expected: Value) {
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.json::<Value>().await.expect("json"), expected);
}

fn results(entries: &[(&str, &str)]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|(member, message)| {
                let members: Vec<&str> = if member.is_empty() {
                    vec![]
                } else {
                    vec![member]
                };
                json!({ "MemberNames": members, "ErrorMessage": message })
            })
            .collect(),
    )
}

const DUPLICATE: &str = "A user with this email address already exists.";

#[actix_web::test]
async fn create_seed_example_returns_the_integer_id() {
    let w = W365::start();
    assert_eq!(SEED_CREATE_BODY.len(), 176, "the seed's Content-Length");
    let res = w
        .request(Method::POST, "/example/User/")
        .header("Content-Type", "application/json")
        .body(SEED_CREATE_BODY)
        .send()
        .await
        .expect("send");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(assert_status(res, 200).await, "1");
    let stored = w.sim.user(ENV, "userone@example.com").expect("created");
    assert_eq!(
        (
            stored.id,
            stored.first_name.as_str(),
            stored.last_name.as_str()
        ),
        (1, "User", "One")
    );
    assert_eq!(stored.password, "qwerty");
    assert!(stored.active && !stored.is_administrator && !stored.create_in_office365);

    assert_eq!(
        assert_status(w.create("usertwo@example.com").await, 200).await,
        "2"
    );
    // The log keeps the wire shape but never the password.
    let recorded = &w
        .server
        .log()
        .matching("POST", "/Provisioning/example/User/")[0];
    assert_eq!(
        recorded.body,
        SEED_CREATE_BODY.replace("\"qwerty\"", "\"***\"")
    );
    assert_eq!(recorded.header("provisioningkey"), Some("***"));
    assert_eq!(recorded.header("content-length"), Some("176"));
}

#[actix_web::test]
async fn create_stores_flags_and_field_names_are_case_insensitive() {
    let w = W365::start();
    let body = json!({
        "emailAddress": "admin@example.com", "password": "pw", "firstName": "Ad",
        "lastName": "Min", "isAdministrator": true, "createInOffice365": true
    });
    let res = w.send_json(Method::POST, "/example/User/", &body).await;
    assert_eq!(assert_status(res, 200).await, "1");
    let stored = w.sim.user(ENV, "ADMIN@example.com").expect("created");
    assert!(stored.is_administrator && stored.create_in_office365);
}

#[actix_web::test]
async fn create_and_validate_report_validation_results() {
    let w = W365::start();
    w.sim.seed_user(ENV, "taken@example.com", "Ta", "Ken");
    let cases = [
        (
            json!({ "Password": "p", "FirstName": "A", "LastName": "B" }),
            results(&[("EmailAddress", "The EmailAddress field is required.")]),
        ),
        (
            json!({ "EmailAddress": "not-an-address", "Password": "p", "FirstName": "A", "LastName": "B" }),
            results(&[(
                "EmailAddress",
                "The EmailAddress field is not a valid e-mail address.",
            )]),
        ),
        (
            json!({ "EmailAddress": "TAKEN@example.com", "Password": "p", "FirstName": "A", "LastName": "B" }),
            results(&[("EmailAddress", DUPLICATE)]),
        ),
        (
            json!({ "EmailAddress": "new@example.com", "Password": "", "FirstName": " ", "LastName": null }),
            results(&[
                ("FirstName", "The FirstName field is required."),
                ("LastName", "The LastName field is required."),
                ("Password", "The Password field is required."),
            ]),
        ),
        (
            json!({}),
            results(&[
                ("EmailAddress", "The EmailAddress field is required."),
                ("FirstName", "The FirstName field is required."),
                ("LastName", "The LastName field is required."),
                ("Password", "The Password field is required."),
            ]),
        ),
    ];
    for path in ["/example/User/", "/example/User/Validate/"] {
        for (body, expected) in &cases {
            let res = w.send_json(Method::POST, path, body).await;
            assert_invalid(res, expected.clone()).await;
        }
    }
    assert_eq!(w.sim.users(ENV).len(), 1, "nothing was created");
}

#[actix_web::test]
async fn validate_create_answers_200_with_an_empty_body_and_creates_nothing() {
    let w = W365::start();
    // The seed's W2 example shows the W1 URL (docs/connectors/workspace365.md "Gaps in the vendor's documentation"); this is the documented path.
    let res = w
        .request(Method::POST, "/example/User/Validate/")
        .header("Content-Type", "application/json")
        .body(SEED_CREATE_BODY)
        .send()
        .await
        .expect("send");
    assert_eq!(assert_status(res, 200).await, "");
    assert!(w.sim.users(ENV).is_empty());
    // The next create still gets id 1: validation consumes no id.
    assert_eq!(
        assert_status(w.create("userone@example.com").await, 200).await,
        "1"
    );
    let again = w
        .send_json(
            Method::POST,
            "/example/User/Validate/",
            &user("USERONE@example.com"),
        )
        .await;
    assert_invalid(again, results(&[("EmailAddress", DUPLICATE)])).await;
}

#[actix_web::test]
async fn an_incorrect_data_object_is_500() {
    let w = W365::start();
    w.sim.seed_user(ENV, "userone@example.com", "User", "One");
    let bodies = [
        "{ \"EmailAddress\": ",
        "",
        "[]",
        "17",
        "{\"EmailAddress\": \"a@b.c\", \"IsAdministrator\": \"yes\"}",
        "{\"EmailAddress\": 5}",
    ];
    for (method, path) in [
        (Method::POST, "/example/User/"),
        (Method::POST, "/example/User/Validate/"),
        (Method::PUT, "/example/User/userone@example.com/"),
        (Method::PUT, "/example/User/userone@example.com/Validate/"),
    ] {
        for body in bodies {
            let res = w.send_text(method.clone(), path, body).await;
            assert_eq!(res.status(), 500, "{method} {path} {body:?}");
            assert_eq!(
                res.json::<Value>().await.expect("json"),
                json!({ "Message": "An error has occurred." })
            );
        }
    }
    assert_eq!(w.sim.users(ENV).len(), 1);
}

#[actix_web::test]
async fn update_seed_example_changes_fields_and_password() {
    let w = W365::start();
    w.create("userone@example.com").await;
    assert_eq!(SEED_UPDATE_BODY.len(), 145, "the seed's Content-Length");
    let res = w
        .send_text(
            Method::PUT,
            "/example/User/userone@example.com/",
            SEED_UPDATE_BODY,
        )
        .await;
    assert_eq!(assert_status(res, 200).await, "");
    let stored = w.sim.user(ENV, "userone@example.com").expect("user");
    assert_eq!(
        (stored.last_name.as_str(), stored.password.as_str()),
        ("Once", "qwert")
    );
}

#[actix_web::test]
async fn update_renames_by_body_address_and_keeps_an_absent_password() {
    let w = W365::start();
    w.create("userone@example.com").await;
    w.create("other@example.com").await;
    let rename = json!({ "EmailAddress": "renamed@example.com", "FirstName": "Re", "LastName": "Named",
        "IsAdministrator": true, "CreateInOffice365": true });
    let res = w
        .send_json(Method::PUT, "/example/User/USERONE@example.com/", &rename)
        .await;
    assert_eq!(assert_status(res, 200).await, "");
    let renamed = w.sim.user(ENV, "renamed@example.com").expect("renamed");
    assert_eq!(renamed.id, 1);
    assert_eq!(
        renamed.password, "qwerty",
        "an absent Password means unchanged"
    );
    assert!(renamed.is_administrator);
    assert!(
        !renamed.create_in_office365,
        "CreateInOffice365 is create-only"
    );
    assert!(w.sim.user(ENV, "userone@example.com").is_none());

    // The old address is gone; renaming onto another user's address is a duplicate.
    let old = w
        .send_json(
            Method::PUT,
            "/example/User/userone@example.com/",
            &user("x@example.com"),
        )
        .await;
    assert_status(old, 404).await;
    let clash = w
        .send_json(
            Method::PUT,
            "/example/User/renamed@example.com/",
            &user("Other@Example.com"),
        )
        .await;
    assert_invalid(clash, results(&[("EmailAddress", DUPLICATE)])).await;
    // A change of case only is a rename onto itself, not a duplicate.
    let recase = w
        .send_json(
            Method::PUT,
            "/example/User/renamed@example.com/",
            &user("Renamed@Example.com"),
        )
        .await;
    assert_status(recase, 200).await;
    assert_eq!(
        w.sim
            .user(ENV, "renamed@example.com")
            .map(|u| u.email_address),
        Some("Renamed@Example.com".to_owned())
    );
    let empty_password = json!({ "EmailAddress": "renamed@example.com", "FirstName": "A", "LastName": "B", "Password": "" });
    let res = w
        .send_json(
            Method::PUT,
            "/example/User/renamed@example.com/",
            &empty_password,
        )
        .await;
    assert_invalid(
        res,
        results(&[("Password", "The Password field is required.")]),
    )
    .await;
}

#[actix_web::test]
async fn validate_update_checks_without_changing() {
    let w = W365::start();
    w.create("userone@example.com").await;
    w.create("usertwo@example.com").await;
    let res = w
        .send_text(
            Method::PUT,
            "/example/User/userone@example.com/Validate/",
            SEED_UPDATE_BODY,
        )
        .await;
    assert_eq!(assert_status(res, 200).await, "");
    assert_eq!(
        w.sim.user(ENV, "userone@example.com").map(|u| u.last_name),
        Some("One".to_owned())
    );
    let clash = w
        .send_json(
            Method::PUT,
            "/example/User/userone@example.com/Validate/",
            &user("usertwo@example.com"),
        )
        .await;
    assert_invalid(clash, results(&[("EmailAddress", DUPLICATE)])).await;
    let unknown = w
        .send_text(
            Method::PUT,
            "/example/User/nobody@example.com/Validate/",
            SEED_UPDATE_BODY,
        )
        .await;
    assert_status(unknown, 404).await;
    let invalid = w
        .send_json(
            Method::PUT,
            "/example/User/userone@example.com/Validate/",
            &json!({ "EmailAddress": "x" }),
        )
        .await;
    assert_eq!(invalid.status(), 400);
}

#[actix_web::test]
async fn activate_and_deactivate_with_content_length_zero_are_idempotent() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let deactivate = "/example/User/userone@example.com/Deactivate/";
    let activate = "/example/User/userone@example.com/Activate/";
    for _ in 0..2 {
        assert_eq!(assert_status(w.put_empty(deactivate).await, 200).await, "");
        assert!(!w.sim.user(ENV, "userone@example.com").expect("user").active);
    }
    for _ in 0..2 {
        assert_eq!(assert_status(w.put_empty(activate).await, 200).await, "");
        assert!(w.sim.user(ENV, "userone@example.com").expect("user").active);
    }
    let sent = w
        .server
        .log()
        .matching("PUT", "/Provisioning/example/User/");
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|r| r.header("content-length") == Some("0")));
    for path in [
        "/example/User/nobody@example.com/Activate/",
        "/example/User/nobody@example.com/Deactivate/",
    ] {
        assert_status(w.put_empty(path).await, 404).await;
    }
}

/// Sends one raw HTTP/1.1 PUT (so that no client library adds a Content-Length) with these
/// extra header lines, and returns the status code and the whole response text.
async fn raw_put(w: &W365, path: &str, extra_headers: &str, body: &str) -> (u16, String) {
    let addr: SocketAddr = w.server.addr();
    let request = format!(
        "PUT /Provisioning{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         {extra_headers}\r\n{body}"
    );
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        response
    })
    .await
    .expect("join");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    (status, response)
}

const AUTH_LINES: &str =
    "ProvisioningKey: C7656554-85A2-4AFD-BAB7-18C71593C4D2\r\nX-Requested-With: XMLHttpRequest\r\n";

#[actix_web::test]
async fn activate_and_deactivate_without_content_length_zero_are_411() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let res = w
        .put_empty("/example/User/userone@example.com/Deactivate/")
        .await;
    assert_eq!(res.status(), 200);
    for action in ["Activate", "Deactivate"] {
        let path = format!("/example/User/userone@example.com/{action}/");
        // Absent: the request carries neither Content-Length nor Transfer-Encoding.
        let (status, text) = raw_put(&w, &path, AUTH_LINES, "").await;
        assert_eq!(status, 411, "{text}");
        assert!(text.contains("Content-Length: 0"));
        let logged = w.server.log().last().expect("logged");
        assert_eq!(logged.header("content-length"), None);
        // Chunked, and a non-zero length, are 411 too.
        let (status, _) = raw_put(
            &w,
            &path,
            &format!("{AUTH_LINES}Transfer-Encoding: chunked\r\n"),
            "0\r\n\r\n",
        )
        .await;
        assert_eq!(status, 411);
        let (status, _) = raw_put(
            &w,
            &path,
            &format!("{AUTH_LINES}Content-Length: 2\r\n"),
            "{}",
        )
        .await;
        assert_eq!(status, 411);
        // The same raw request with the header is accepted.
        let (status, _) =
            raw_put(&w, &path, &format!("{AUTH_LINES}Content-Length: 0\r\n"), "").await;
        assert_eq!(status, 200);
    }
    assert!(!w.sim.user(ENV, "userone@example.com").expect("user").active);
}

#[actix_web::test]
async fn length_required_comes_before_the_key_check() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let (status, _) = raw_put(&w, "/example/User/userone@example.com/Deactivate/", "", "").await;
    assert_eq!(status, 411);
    let (status, _) = raw_put(
        &w,
        "/example/User/userone@example.com/Deactivate/",
        "Content-Length: 0\r\n",
        "",
    )
    .await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn activation_beyond_the_licence_limit_is_400() {
    let w = W365::with_config(Workspace365Config {
        licence_limit: Some(1),
        ..Workspace365Config::default()
    });
    assert_status(w.create("userone@example.com").await, 200).await;
    let limit = results(&[(
        "",
        "The maximum number of active users for this environment has been reached.",
    )]);
    assert_invalid(w.create("usertwo@example.com").await, limit.clone()).await;
    assert_status(
        w.put_empty("/example/User/userone@example.com/Deactivate/")
            .await,
        200,
    )
    .await;
    assert_status(w.create("usertwo@example.com").await, 200).await;
    let res = w
        .put_empty("/example/User/userone@example.com/Activate/")
        .await;
    assert_invalid(res, limit).await;
    assert!(!w.sim.user(ENV, "userone@example.com").expect("user").active);
    // Activating an already active user is no new activation.
    assert_status(
        w.put_empty("/example/User/usertwo@example.com/Activate/")
            .await,
        200,
    )
    .await;
}

#[actix_web::test]
async fn delete_is_200_then_404() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let res = w
        .request(Method::DELETE, "/example/User/userone@example.com/")
        .send()
        .await
        .expect("send");
    assert_eq!(assert_status(res, 200).await, "");
    assert!(w.sim.users(ENV).is_empty());
    let again = w
        .request(Method::DELETE, "/example/User/userone@example.com/")
        .send()
        .await
        .expect("send");
    assert_eq!(assert_status(again, 404).await, "");
    // The address is free again and the new user gets a new id.
    assert_eq!(
        assert_status(w.create("userone@example.com").await, 200).await,
        "2"
    );
}

#[actix_web::test]
async fn path_addresses_are_percent_decoded_and_case_insensitive() {
    let w = W365::start();
    w.create("user+one@example.com").await;
    for path in [
        "/example/User/user%2Bone%40example.com/Deactivate/",
        "/example/User/USER%2BONE@EXAMPLE.COM/Activate/",
    ] {
        assert_status(w.put_empty(path).await, 200).await;
    }
    let res = w
        .request(Method::DELETE, "/EXAMPLE/User/User%2bOne%40Example.com/")
        .send()
        .await
        .expect("send");
    assert_status(res, 200).await;
}

/// One request per documented route (W2, W1, W3–W7), each valid apart from what a test varies;
/// in this order they all succeed against a fresh `userone@example.com`.
fn every_route() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (
            Method::POST,
            "/User/Validate/",
            Some(user("new@example.com")),
        ),
        (Method::POST, "/User/", Some(user("new@example.com"))),
        (
            Method::PUT,
            "/User/userone@example.com/",
            Some(user("userone@example.com")),
        ),
        (
            Method::PUT,
            "/User/userone@example.com/Validate/",
            Some(user("userone@example.com")),
        ),
        (Method::PUT, "/User/userone@example.com/Activate/", None),
        (Method::PUT, "/User/userone@example.com/Deactivate/", None),
        (Method::DELETE, "/User/userone@example.com/", None),
    ]
}

impl W365 {
    /// Sends a route of [`every_route`] under `env` with these auth headers.
    async fn send_route(
        &self,
        env: &str,
        (method, path, body): &(Method, &str, Option<Value>),
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self
            .client
            .request(method.clone(), self.url(&format!("/{env}{path}")));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        match body {
            Some(body) => req.json(body),
            None => req.header("Content-Length", "0"),
        }
        .send()
        .await
        .expect("send")
    }
}

#[actix_web::test]
async fn a_missing_or_wrong_key_is_403_on_every_route() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let mismatch = json!({ "Message": "The Provisioning Key in the header does not match the configured value" });
    for route in every_route() {
        for headers in [
            &[][..],
            &[("ProvisioningKey", "00000000-0000-0000-0000-000000000000")][..],
            &[("ProvisioningKey", KEY_LOWERCASE)][..],
            &[("ProvisioningKey", "")][..],
            &[("Authorization", KEY)][..],
        ] {
            let res = w.send_route(ENV, &route, headers).await;
            assert_eq!(res.status(), 403, "{route:?} {headers:?}");
            assert_eq!(res.json::<Value>().await.expect("json"), mismatch);
        }
    }
    let stored = w.sim.users(ENV);
    assert_eq!(stored.len(), 1);
    assert!(stored[0].active);
}

#[actix_web::test]
async fn an_unconfigured_key_or_disabled_api_is_403() {
    let cases = [
        (
            Workspace365Config {
                provisioning_key: None,
                ..Workspace365Config::default()
            },
            "The Provisioning Key in the configuration is not defined or empty.",
        ),
        (
            Workspace365Config {
                provisioning_key: Some(String::new()),
                ..Workspace365Config::default()
            },
            "The Provisioning Key in the configuration is not defined or empty.",
        ),
        (
            Workspace365Config {
                api_enabled: false,
                ..Workspace365Config::default()
            },
            "The Provisioning API is not enabled in the configuration.",
        ),
    ];
    for (config, message) in cases {
        let w = W365::with_config(config);
        w.sim.seed_user(ENV, "userone@example.com", "User", "One");
        for route in every_route() {
            // An empty header must not match an empty configured key.
            for headers in [
                &[("ProvisioningKey", KEY)][..],
                &[("ProvisioningKey", "")][..],
            ] {
                let res = w.send_route(ENV, &route, headers).await;
                assert_eq!(res.status(), 403, "{route:?}");
                assert_eq!(
                    res.json::<Value>().await.expect("json"),
                    json!({ "Message": message })
                );
            }
        }
    }
}

#[actix_web::test]
async fn x_requested_with_is_optional_unless_strict() {
    let lenient = W365::start();
    lenient
        .sim
        .seed_user(ENV, "userone@example.com", "User", "One");
    let strict = W365::with_config(Workspace365Config {
        require_x_requested_with: true,
        ..Workspace365Config::default()
    });
    strict
        .sim
        .seed_user(ENV, "userone@example.com", "User", "One");
    for route in every_route() {
        let key_only = [("ProvisioningKey", KEY)];
        assert_eq!(
            lenient.send_route(ENV, &route, &key_only).await.status(),
            200,
            "{route:?}"
        );
        assert_eq!(
            strict.send_route(ENV, &route, &key_only).await.status(),
            403,
            "{route:?}"
        );
        let both = [
            ("ProvisioningKey", KEY),
            ("X-Requested-With", "XMLHttpRequest"),
        ];
        let res = strict.send_route(ENV, &route, &both).await;
        assert_eq!(res.status(), 200, "{route:?}");
    }
}

#[actix_web::test]
async fn an_unknown_environment_is_404_on_every_route() {
    let w = W365::start();
    w.create("userone@example.com").await;
    let headers = [
        ("ProvisioningKey", KEY),
        ("X-Requested-With", "XMLHttpRequest"),
    ];
    for route in every_route() {
        let res = w.send_route("elsewhere", &route, &headers).await;
        assert_eq!(res.status(), 404, "{route:?}");
    }
    w.sim.add_environment("elsewhere");
    let created = w.send_route("Elsewhere", &every_route()[1], &headers).await;
    assert_eq!(assert_status(created, 200).await, "2");
    assert_eq!(w.sim.users("elsewhere").len(), 1);
    assert_eq!(w.sim.users(ENV).len(), 1);
}

#[actix_web::test]
async fn trailing_slash_is_optional_unless_strict() {
    let lenient = W365::start();
    let strict = W365::with_config(Workspace365Config {
        strict_trailing_slash: true,
        ..Workspace365Config::default()
    });
    for w in [&lenient, &strict] {
        w.sim.seed_user(ENV, "userone@example.com", "User", "One");
    }
    let headers = [("ProvisioningKey", KEY)];
    for (method, path, body) in every_route() {
        let unslashed = (method, path.trim_end_matches('/'), body);
        assert_eq!(
            lenient.send_route(ENV, &unslashed, &headers).await.status(),
            200,
            "{unslashed:?}"
        );
        assert_eq!(
            strict.send_route(ENV, &unslashed, &headers).await.status(),
            404,
            "{unslashed:?}"
        );
    }
    for route in every_route() {
        assert_eq!(
            strict.send_route(ENV, &route, &headers).await.status(),
            200,
            "{route:?}"
        );
    }
}

#[actix_web::test]
async fn faults_apply_to_the_routes() {
    let w = W365::start();
    w.server.faults().push(
        FaultRule::always(
            RouteMatch::new("POST", "/Provisioning/example/User"),
            Fault::Status(500),
        )
        .times(1),
    );
    assert_status(w.create("userone@example.com").await, 500).await;
    assert!(
        w.sim.users(ENV).is_empty(),
        "a faulted request must not reach the state"
    );
    assert_eq!(
        assert_status(w.create("userone@example.com").await, 200).await,
        "1"
    );
    w.server.faults().push(
        FaultRule::always(
            RouteMatch::any(),
            Fault::TooManyRequests {
                retry_after_secs: 2,
            },
        )
        .times(1),
    );
    let res = w
        .put_empty("/example/User/userone@example.com/Deactivate/")
        .await;
    assert_eq!(res.status(), 429);
    assert!(w.sim.user(ENV, "userone@example.com").expect("user").active);
}

#[actix_web::test]
async fn concurrent_clients_leave_a_consistent_state() {
    let w = W365::start();
    let clients = (0..32).map(|i| {
        let w = &w;
        async move {
            // Everyone races for one address; exactly one may win.
            let shared = w.create("shared@example.com").await.status().as_u16();
            let own = format!("user{i}@example.com");
            assert_eq!(w.create(&own).await.status(), 200);
            let renamed = format!("renamed{i}@example.com");
            let res = w
                .send_json(
                    Method::PUT,
                    &format!("/example/User/{own}/"),
                    &user(&renamed),
                )
                .await;
            assert_eq!(res.status(), 200);
            let res = w
                .put_empty(&format!("/example/User/{renamed}/Deactivate/"))
                .await;
            assert_eq!(res.status(), 200);
            if i % 2 == 1 {
                let res = w
                    .request(Method::DELETE, &format!("/example/User/{renamed}/"))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(res.status(), 200);
            }
            shared
        }
    });
    let shared = futures_util::future::join_all(clients).await;
    assert_eq!(shared.iter().filter(|s| **s == 200).count(), 1);
    assert_eq!(shared.iter().filter(|s| **s == 400).count(), 31);

    let users = w.sim.users(ENV);
    assert_eq!(users.len(), 17);
    let mut ids: Vec<u64> = users.iter().map(|u| u.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 17, "ids are unique");
    assert!(ids.iter().all(|id| (1..=33).contains(id)));
    for i in (0..32).step_by(2) {
        let user = w
            .sim
            .user(ENV, &format!("renamed{i}@example.com"))
            .expect("kept");
        assert!(!user.active);
        assert!(w.sim.user(ENV, &format!("user{i}@example.com")).is_none());
    }
}

#[actix_web::test]
async fn internal_errors_of_the_bodiless_routes_come_from_the_fault_plan() {
    // W5–W7 document 500 but carry no data object that could be incorrect: the fault plan is
    // how a test makes them fail with 500.
    let w = W365::start();
    w.create("userone@example.com").await;
    let headers = [("ProvisioningKey", KEY)];
    for route in &every_route()[4..] {
        w.server.faults().push(
            FaultRule::always(
                RouteMatch::new(route.0.as_str(), "/Provisioning/example/User/"),
                Fault::Status(500),
            )
            .times(1),
        );
        assert_eq!(
            w.send_route(ENV, route, &headers).await.status(),
            500,
            "{route:?}"
        );
        assert_eq!(
            w.send_route(ENV, route, &headers).await.status(),
            200,
            "{route:?}"
        );
    }
}
