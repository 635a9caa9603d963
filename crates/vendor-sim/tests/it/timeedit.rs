//! TimeEdit user web service simulator over real sockets: every operation with the seed's own
//! example requests (seed 003), keys, Status codes, faults, SOAP 1.1 and 1.2, the WSDL.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::future::join_all;
use quick_xml::escape::escape;
use vendor_sim::timeedit::soap::{Element, SOAP11_NS, SOAP12_NS, parse_document};
use vendor_sim::timeedit::{
    Account, AuthServer, Certificate, DEFAULT_CERTIFICATE, DEFAULT_NAMESPACE, DEFAULT_PASSWORD,
    DEFAULT_USERNAME, INVALID_CREDENTIALS, TimeEditConfig, TimeEditSim, User, UserObject,
};
use vendor_sim::{Fault, FaultRule, RouteMatch, SimOptions, SimServer};

// ---- the seed's example requests, verbatim (seed 003) ------------------------------------

const FIND_USERS_EXAMPLE: &str = "<tns:loginname>admin</tns:loginname>
<tns:authserver></tns:authserver>
<tns:name></tns:name>
<tns:email></tns:email>
<tns:usersallowedtologinonly>true</tns:usersallowedtologinonly>
<tns:sortorder></tns:sortorder>
<tns:beginindex>0</tns:beginindex>
<tns:numberofusers>100</tns:numberofusers>";

const GET_USERS_EXAMPLE: &str = "<tns:users>
<user>
<loginname>admin</loginname>
<authserver>timeedit</authserver>
</user>
</tns:users>";

const VALIDATE_USERS_EXAMPLE: &str = "<tns:users>
<user>
<loginname>kalle</loginname>
<authserver>timeedit</authserver>
<firstname>Kalle</firstname>
<lastname>Testsson</lastname>
<email>[email protected]</email>
<phone>031-123456</phone>
<changepassword>true</changepassword>
<language/>
<dateformat/>
<timezone/>
<dst/>
<allowlogin>true</allowlogin>
<standardorganization>timeedit;admin</standardorganization>
<orgroles>
<orgrole>timeedit=Admin</orgrole>
</orgroles>
<permissions>
<permission>client</permission>
<permission>periods</permission>
</permissions>
<organizations>
<organization>timeedit;admin</organization>
</organizations>
</user>
</tns:users>";

const IMPORT_USERS_EXAMPLE: &str = "<tns:users>
<user>
<loginname>anders</loginname>
<authserver>timeedit</authserver>
<firstname>Anders</firstname>
<lastname>Svensson</lastname>
<email>[email protected]</email>
<phone/>
<changepassword>false</changepassword>
<language/>
<dateformat/>
<timezone/>
<dst/>
<allowlogin>true</allowlogin>
<defaultobjects>a467949c-1ced-46f6-b4ba-289a5ee709c6</defaultobjects>
<standardorganization>all_teachers</standardorganization>
<orgroles>
<orgrole>oAdmin=scheduler</orgrole>
</orgroles>
<permissions>
<permission>client</permission>
</permissions>
<organizations>
<organization>all_teachers</organization>
</organizations>
<description/>
</user>
</tns:users>";

const EXPORT_USERS_EXAMPLE: &str = "<tns:users>
<user>
<loginname>anders</loginname>
<authserver>timeedit</authserver>
</user>
</tns:users>";

const DELETE_USERS_EXAMPLE: &str = "<tns:users>
<user>
<loginname>anders</loginname>
<authserver>timeedit</authserver>
</user>
</tns:users>
<tns:inactivate>false</tns:inactivate>";

const GET_CURRENT_USER_OBJECTS_EXAMPLE: &str = "<tns:types>
<type>room</type>
</tns:types>";

// ---- harness -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Soap {
    V11,
    V12,
}

impl Soap {
    fn ns(self) -> &'static str {
        match self {
            Soap::V11 => SOAP11_NS,
            Soap::V12 => SOAP12_NS,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Soap::V11 => "text/xml; charset=utf-8",
            Soap::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// A request envelope in the recommended shape of docs/connectors/timeedit.md "Wire format".
fn envelope(version: Soap, op: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <soapenv:Envelope xmlns:soapenv=\"{}\" xmlns:tns=\"{DEFAULT_NAMESPACE}\">\
         <soapenv:Header/><soapenv:Body><tns:{op}>{inner}</tns:{op}></soapenv:Body>\
         </soapenv:Envelope>",
        version.ns()
    )
}

fn login_as(username: &str, password: &str, key: &str) -> String {
    format!(
        "<tns:login><username>{}</username><password>{}</password>\
         <applicationkey>{}</applicationkey></tns:login>",
        escape(username),
        escape(password),
        escape(key)
    )
}

fn login(key: &str) -> String {
    login_as(DEFAULT_USERNAME, DEFAULT_PASSWORD, key)
}

struct Reply {
    status: u16,
    content_type: String,
    text: String,
    root: Element,
}

impl Reply {
    fn envelope_ns(&self) -> Option<&str> {
        self.root.namespace.as_deref()
    }

    /// The element inside `Body`.
    fn payload(&self) -> &Element {
        let body = self.root.child("Body").expect("a Body");
        body.children.first().expect("an element in Body")
    }

    /// (code, reason, detail) of a fault in either version's shape.
    fn fault(&self) -> (String, String, String) {
        let fault = self.payload();
        assert!(fault.is("Fault"), "not a fault: {}", self.text);
        let detail = |d: Option<&Element>| {
            d.and_then(|d| d.child("message"))
                .map(|m| m.text.clone())
                .unwrap_or_default()
        };
        if self.envelope_ns() == Some(SOAP12_NS) {
            let code = fault.child("Code").and_then(|c| c.child_text("Value"));
            let reason = fault.child("Reason").and_then(|r| r.child_text("Text"));
            (
                code.unwrap_or_default().to_owned(),
                reason.unwrap_or_default().to_owned(),
                detail(fault.child("Detail")),
            )
        } else {
            (
                fault.child_text("faultcode").unwrap_or_default().to_owned(),
                fault
                    .child_text("faultstring")
                    .unwrap_or_default()
                    .to_owned(),
                detail(fault.child("detail")),
            )
        }
    }

    /// The `<user>` items of `tns:users`.
    fn users(&self) -> Vec<&Element> {
        self.payload()
            .child("users")
            .map(|u| u.children_named("user").collect())
            .unwrap_or_default()
    }

    /// (loginname, code) of each `<status>` item, in order.
    fn statuses(&self) -> Vec<(String, i32)> {
        let list = self.payload().child("status").expect("tns:status");
        list.children_named("status")
            .map(|s| {
                let code = s.child_text("code").expect("code").parse().expect("int");
                (
                    s.child_text("loginname").unwrap_or_default().to_owned(),
                    code,
                )
            })
            .collect()
    }

    fn codes(&self) -> Vec<i32> {
        self.statuses().into_iter().map(|(_, c)| c).collect()
    }

    /// The texts of the item elements of a list element of the payload.
    fn list(&self, wrapper: &str) -> Vec<String> {
        self.payload()
            .child(wrapper)
            .map(|w| w.children.iter().map(|c| c.text.clone()).collect())
            .unwrap_or_default()
    }
}

struct Harness {
    sim: TimeEditSim,
    server: SimServer,
    client: reqwest::Client,
    url: String,
}

impl Harness {
    fn start(config: TimeEditConfig) -> Self {
        Self::start_with(config, SimOptions::default())
    }

    fn start_with(config: TimeEditConfig, options: SimOptions) -> Self {
        let sim = TimeEditSim::new(config);
        let server = sim.start(options).expect("start");
        let url = format!("{}{}", server.base_url(), sim.endpoint_path());
        Self {
            sim,
            server,
            client: reqwest::Client::new(),
            url,
        }
    }

    async fn post_raw(&self, content_type: Option<&str>, body: String) -> Reply {
        let mut request = self.client.post(&self.url).body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        if content_type.is_some_and(|c| c.starts_with("text/xml")) {
            request = request.header("SOAPAction", "\"\"");
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("body");
        let root = parse_document(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        Reply {
            status,
            content_type,
            text,
            root,
        }
    }

    async fn post(&self, version: Soap, op: &str, inner: &str) -> Reply {
        self.post_raw(Some(version.content_type()), envelope(version, op, inner))
            .await
    }

    /// A successful call: 200, the version's content type and `tns:<op>Response`.
    async fn ok(&self, version: Soap, op: &str, inner: &str) -> Reply {
        let reply = self.post(version, op, inner).await;
        assert_eq!(reply.status, 200, "{op}: {}", reply.text);
        assert!(
            reply.content_type.starts_with(version.content_type()),
            "{}",
            reply.content_type
        );
        assert_eq!(reply.envelope_ns(), Some(version.ns()));
        let payload = reply.payload();
        assert_eq!(payload.name, format!("{op}Response"));
        assert_eq!(payload.namespace.as_deref(), Some(DEFAULT_NAMESPACE));
        reply
    }

    /// `register` over SOAP 1.1 with the default certificate; returns the (unescaped) key.
    async fn register(&self) -> String {
        let inner = format!("<tns:certificate>{DEFAULT_CERTIFICATE}</tns:certificate>");
        let reply = self.ok(Soap::V11, "register", &inner).await;
        let key = reply.payload().child("key").expect("tns:key");
        key.child_text("applicationkey").expect("key").to_owned()
    }

    /// An authenticated call over SOAP 1.1.
    async fn call(&self, key: &str, op: &str, params: &str) -> Reply {
        self.ok(Soap::V11, op, &format!("{}{params}", login(key)))
            .await
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

fn text_of<'a>(user: &'a Element, field: &str) -> &'a str {
    user.child_text(field)
        .unwrap_or_else(|| panic!("no {field}"))
}

fn items(user: &Element, list: &str) -> Vec<String> {
    user.child(list)
        .map(|l| l.children.iter().map(|c| c.text.clone()).collect())
        .unwrap_or_default()
}

fn user_xml(loginname: &str, authserver: &str, extra: &str) -> String {
    format!(
        "<user><loginname>{}</loginname><authserver>{}</authserver>{extra}</user>",
        escape(loginname),
        escape(authserver)
    )
}

fn users_xml(users: &[String]) -> String {
    format!("<tns:users>{}</tns:users>", users.concat())
}

fn person(loginname: &str, first: &str, last: &str, email: &str, allowlogin: bool) -> User {
    User {
        firstname: first.into(),
        lastname: last.into(),
        email: email.into(),
        allowlogin,
        ..User::new(loginname, "timeedit")
    }
}

// ---- WSDL ------------------------------------------------------------------------------------

#[actix_web::test]
async fn wsdl_is_served_at_both_addresses_with_the_envelope_namespace() {
    let config = TimeEditConfig {
        namespace: "urn:example:te&co".into(),
        instance: "inst-42".into(),
        strict_namespace: true,
        ..TimeEditConfig::default()
    };
    let h = Harness::start(config);
    assert!(h.url.ends_with("/soap/3/inst-42"));
    assert_eq!(h.sim.wsdl_path(), "/soap/3/inst-42/wsdl");
    let wsdl_url = format!("{}{}", h.server.base_url(), h.sim.wsdl_path());
    for url in [
        wsdl_url,
        format!("{}?wsdl", h.url),
        format!("{}?WSDL=", h.url),
    ] {
        let res = h.client.get(&url).send().await.expect("send");
        assert_eq!(res.status(), 200, "{url}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with("text/xml")
        );
        let text = res.text().await.expect("text");
        let root = parse_document(&text).expect("well-formed WSDL");
        assert!(root.is("definitions"));
        assert!(
            text.contains("targetNamespace=\"urn:example:te&amp;co\""),
            "{text}"
        );
        assert!(
            text.contains(&format!("<soap:address location=\"{}\"/>", h.url)),
            "{text}"
        );
        for op in [
            "register",
            "findUsers",
            "getUsers",
            "getUserSortOrders",
            "getAuthServers",
            "getPermissions",
            "validateUsers",
            "importUsers",
            "exportUsers",
            "deleteUsers",
            "getCurrentUserObjects",
        ] {
            assert!(
                text.contains(&format!("<wsdl:operation name=\"{op}\">")),
                "{op}"
            );
        }
    }
    // The namespace the WSDL announces is the one the responses use.
    let inner = format!("<tns:certificate>{DEFAULT_CERTIFICATE}</tns:certificate>");
    let body =
        envelope(Soap::V11, "register", &inner).replace(DEFAULT_NAMESPACE, "urn:example:te&amp;co");
    let reply = h.post_raw(Some(Soap::V11.content_type()), body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.payload().namespace.as_deref(),
        Some("urn:example:te&co")
    );

    // With strict_namespace, the placeholder namespace no longer works: read it from the WSDL.
    let reply = h.post(Soap::V11, "register", &inner).await;
    assert_eq!(reply.status, 500);
    assert_eq!(
        reply.fault().1,
        format!("Unknown operation: {{{DEFAULT_NAMESPACE}}}register")
    );

    let res = h.client.get(&h.url).send().await.expect("send");
    assert_eq!(res.status(), 404, "a plain GET is not the WSDL");
    h.stop().await;
}

// ---- register and keys -------------------------------------------------------------------------

#[actix_web::test]
async fn register_returns_a_key_needing_xml_escaping_that_authenticates() {
    let h = Harness::start(TimeEditConfig::default());
    let inner = format!("<tns:certificate>{DEFAULT_CERTIFICATE}</tns:certificate>");
    let reply = h.ok(Soap::V11, "register", &inner).await;
    let key = reply.payload().child("key").expect("key");
    let app_key = key.child_text("applicationkey").expect("applicationkey");
    assert!(
        app_key.contains(['&', '<', '>', '"', '\'']),
        "docs/connectors/timeedit.md \"The vendor API\": some keys need XML-escaping: {app_key}"
    );
    assert!(
        key.child("expirationdate").is_none(),
        "no certificate expiry set"
    );
    assert!(h.sim.key_is_valid(app_key));
    let perms = h.call(app_key, "getPermissions", "").await;
    assert_eq!(perms.list("permissions"), ["client", "periods"]);

    // The table's parameter name `certificateKey` works as well.
    let inner = format!("<tns:certificateKey>{DEFAULT_CERTIFICATE}</tns:certificateKey>");
    let other = h.ok(Soap::V11, "register", &inner).await;
    let other_key = other
        .payload()
        .child("key")
        .and_then(|k| k.child_text("applicationkey"));
    assert!(
        other_key.is_some_and(|k| k != app_key),
        "a fresh key per register"
    );
    h.stop().await;
}

#[actix_web::test]
async fn register_reports_certificate_expiry_and_refuses_bad_certificates() {
    let h = Harness::start(TimeEditConfig::default());
    let expires = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    h.sim.seed_certificate(Certificate {
        key: "c&<ert>".into(),
        expires: Some(expires),
    });
    let reply = h
        .ok(
            Soap::V11,
            "register",
            "<tns:certificate>c&amp;&lt;ert&gt;</tns:certificate>",
        )
        .await;
    let date = reply
        .payload()
        .child("key")
        .and_then(|k| k.child_text("expirationdate"))
        .expect("expirationdate");
    let parsed = time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    assert_eq!(parsed.unix_timestamp(), expires.unix_timestamp());

    for (certificate, detail) in [("nope", "unknown certificate"), ("", "unknown certificate")] {
        let inner = format!("<tns:certificate>{certificate}</tns:certificate>");
        let reply = h.post(Soap::V11, "register", &inner).await;
        assert_eq!(reply.status, 500);
        assert_eq!(
            reply.fault(),
            (
                "soapenv:Client".into(),
                "Invalid certificate".into(),
                detail.into()
            )
        );
    }
    h.sim.advance_clock(Duration::from_secs(31 * 24 * 3600));
    let reply = h
        .post(
            Soap::V11,
            "register",
            "<tns:certificate>c&amp;&lt;ert&gt;</tns:certificate>",
        )
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.fault().2, "the certificate has expired");
    h.stop().await;
}

#[actix_web::test]
async fn every_auth_failure_is_an_invalid_credentials_fault() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let expired = h.register().await;
    assert!(h.sim.expire_key(&expired));
    assert!(!h.sim.expire_key("never-issued"));
    let cases = [
        (
            "missing login",
            String::new(),
            "the login object is missing",
        ),
        (
            "empty login",
            "<tns:login/>".into(),
            "unknown application key",
        ),
        ("unknown key", login("not-a-key"), "unknown application key"),
        (
            "expired key",
            login(&expired),
            "the application key has expired",
        ),
        (
            "wrong password",
            login_as(DEFAULT_USERNAME, "wrong", &key),
            "wrong username or password",
        ),
        (
            "missing password",
            format!(
                "<tns:login><username>api</username><applicationkey>{}</applicationkey></tns:login>",
                escape(&key)
            ),
            "wrong username or password",
        ),
        (
            "unknown user",
            login_as("nobody", DEFAULT_PASSWORD, &key),
            "wrong username or password",
        ),
    ];
    for (case, login_xml, detail) in cases {
        for version in [Soap::V11, Soap::V12] {
            let reply = h.post(version, "getPermissions", &login_xml).await;
            let (code, status) = match version {
                Soap::V11 => ("soapenv:Client", 500),
                Soap::V12 => ("soapenv:Sender", 400),
            };
            assert_eq!(reply.status, status, "{case}");
            assert_eq!(
                reply.fault(),
                (code.into(), INVALID_CREDENTIALS.into(), detail.into()),
                "{case}"
            );
        }
    }
    // The client's path: re-register once, retry.
    let fresh = h.register().await;
    h.call(&fresh, "getPermissions", "").await;
    h.stop().await;
}

#[actix_web::test]
async fn keys_expire_after_their_lifetime_or_on_demand() {
    let config = TimeEditConfig {
        key_lifetime: Some(Duration::from_secs(600)),
        ..TimeEditConfig::default()
    };
    let h = Harness::start(config);
    let key = h.register().await;
    h.sim.advance_clock(Duration::from_secs(599));
    h.call(&key, "getUserSortOrders", "").await;
    h.sim.advance_clock(Duration::from_secs(1));
    let reply = h.post(Soap::V11, "getUserSortOrders", &login(&key)).await;
    assert_eq!(reply.fault().1, INVALID_CREDENTIALS);
    assert_eq!(reply.fault().2, "the application key has expired");

    let a = h.register().await;
    let b = h.sim.issue_key();
    h.call(&a, "getUserSortOrders", "").await;
    h.call(&b, "getUserSortOrders", "").await;
    assert_eq!(h.sim.expire_all_keys(), 3);
    for k in [&a, &b] {
        let reply = h.post(Soap::V11, "getUserSortOrders", &login(k)).await;
        assert_eq!(reply.fault().1, INVALID_CREDENTIALS);
    }

    // A zero lifetime: every key is already expired when used.
    let h0 = Harness::start(TimeEditConfig {
        key_lifetime: Some(Duration::ZERO),
        ..TimeEditConfig::default()
    });
    let key = h0.register().await;
    let reply = h0.post(Soap::V11, "getUserSortOrders", &login(&key)).await;
    assert_eq!(reply.fault().2, "the application key has expired");
    // No lifetime: keys live until expired on demand.
    let forever = Harness::start(TimeEditConfig {
        key_lifetime: None,
        xml_hostile_keys: false,
        ..TimeEditConfig::default()
    });
    let key = forever.register().await;
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    forever
        .sim
        .advance_clock(Duration::from_secs(10 * 365 * 24 * 3600));
    forever.call(&key, "getUserSortOrders", "").await;
    h.stop().await;
    h0.stop().await;
    forever.stop().await;
}

// ---- read operations ---------------------------------------------------------------------------

#[actix_web::test]
async fn find_users_seed_example() {
    let h = Harness::start(TimeEditConfig::default());
    h.sim.seed_users([
        person("admin", "Ada", "Admin", "ada@example.org", true),
        person("sysadmin", "Sys", "Admin", "sys@example.org", false),
        person("ADMIN2", "Ad", "Two", "two@example.org", true),
        person("bob", "Bob", "Builder", "bob@example.org", true),
    ]);
    let key = h.register().await;
    let reply = h.call(&key, "findUsers", FIND_USERS_EXAMPLE).await;
    let names: Vec<_> = reply
        .users()
        .iter()
        .map(|u| text_of(u, "loginname"))
        .collect();
    // Case-insensitive contains, allowed-to-login only, sorted by login name.
    assert_eq!(names, ["admin", "ADMIN2"]);
    assert_eq!(reply.payload().child_text("totalnumberofusers"), Some("2"));
    let first = reply.users()[0];
    assert_eq!(text_of(first, "authserver"), "timeedit");
    assert_eq!(text_of(first, "firstname"), "Ada");
    assert_eq!(text_of(first, "allowlogin"), "true");
    h.stop().await;
}

fn find(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("<tns:{k}>{}</tns:{k}>", escape(*v)))
        .collect()
}

#[actix_web::test]
async fn find_users_search_criteria_sorting_and_bounds() {
    let h = Harness::start(TimeEditConfig::default());
    h.sim
        .seed_auth_server(AuthServer::new("ldap", "Campus LDAP", true));
    h.sim.seed_users([
        person("anna", "Anna", "Zeta", "anna@uni.se", true),
        person("bert", "Bert", "Young", "bert@UNI.se", false),
        person("carl", "Carl", "Xavier", "carl@other.org", true),
        User {
            firstname: "Anna".into(),
            lastname: "Andersson".into(),
            email: "anna@ldap.se".into(),
            ..User::new("anna", "ldap")
        },
    ]);
    let key = h.register().await;
    let found = |params: Vec<(&'static str, &'static str)>| {
        let h = &h;
        let key = key.clone();
        async move {
            let reply = h.call(&key, "findUsers", &find(&params)).await;
            let total: usize = reply
                .payload()
                .child_text("totalnumberofusers")
                .expect("total")
                .parse()
                .expect("int");
            let users = reply
                .users()
                .iter()
                .map(|u| format!("{}@{}", text_of(u, "loginname"), text_of(u, "authserver")))
                .collect::<Vec<_>>();
            (users, total)
        }
    };
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let all = [
        "anna@ldap",
        "anna@timeedit",
        "bert@timeedit",
        "carl@timeedit",
    ];
    assert_eq!(found(vec![]).await, (s(&all), 4));
    assert_eq!(
        found(vec![("authserver", "LDAP")]).await,
        (s(&["anna@ldap"]), 1)
    );
    assert_eq!(
        found(vec![("email", "uni.SE")]).await,
        (s(&["anna@timeedit", "bert@timeedit"]), 2)
    );
    assert_eq!(
        found(vec![("name", "anna z")]).await,
        (s(&["anna@timeedit"]), 1)
    );
    assert_eq!(
        found(vec![("name", "zeta ANNA")]).await,
        (s(&["anna@timeedit"]), 1),
        "last name first"
    );
    assert_eq!(
        found(vec![("name", "xavier")]).await,
        (s(&["carl@timeedit"]), 1)
    );
    assert_eq!(
        found(vec![("name", "anna"), ("authserver", "timeedit")]).await,
        (s(&["anna@timeedit"]), 1),
        "criteria are AND-combined"
    );
    assert_eq!(
        found(vec![
            ("usersallowedtologinonly", "false"),
            ("loginname", "bert")
        ])
        .await,
        (s(&["bert@timeedit"]), 1)
    );
    assert_eq!(
        found(vec![
            ("usersallowedtologinonly", "1"),
            ("loginname", "bert")
        ])
        .await,
        (s(&[]), 0)
    );
    assert_eq!(
        found(vec![("sortorder", "lastname"), ("authserver", "timeedit")]).await,
        (s(&["carl@timeedit", "bert@timeedit", "anna@timeedit"]), 3)
    );
    assert_eq!(
        found(vec![("sortorder", "email"), ("loginname", "a")]).await,
        (s(&["anna@ldap", "anna@timeedit", "carl@timeedit"]), 3)
    );
    assert_eq!(found(vec![("numberofusers", "0")]).await, (s(&[]), 4));
    assert_eq!(found(vec![("numberofusers", "-5")]).await, (s(&[]), 4));
    assert_eq!(
        found(vec![("beginindex", "3"), ("numberofusers", "10")]).await,
        (s(&["carl@timeedit"]), 4)
    );
    assert_eq!(found(vec![("beginindex", "99")]).await, (s(&[]), 4));
    assert_eq!(
        found(vec![("includeobjectnames", "true"), ("loginname", "carl")])
            .await
            .1,
        1
    );

    let sort_orders = h.call(&key, "getUserSortOrders", "").await;
    for order in sort_orders.list("sortorders") {
        h.call(&key, "findUsers", &find(&[("sortorder", order.as_str())]))
            .await;
    }
    for (params, reason) in [
        (
            vec![("sortorder", "shoe size")],
            "Unknown sort order: shoe size",
        ),
        (
            vec![("beginindex", "-1")],
            "beginindex must not be negative: -1",
        ),
        (
            vec![("beginindex", "one")],
            "Invalid integer for beginindex: \"one\"",
        ),
        (
            vec![("numberofusers", "1.5")],
            "Invalid integer for numberofusers: \"1.5\"",
        ),
        (
            vec![("usersallowedtologinonly", "yes")],
            "Invalid boolean for usersallowedtologinonly: \"yes\"",
        ),
    ] {
        let reply = h
            .post(
                Soap::V11,
                "findUsers",
                &format!("{}{}", login(&key), find(&params)),
            )
            .await;
        assert_eq!(reply.status, 500);
        assert_eq!(reply.fault().0, "soapenv:Client");
        assert_eq!(reply.fault().1, reason);
    }
    h.stop().await;
}

#[actix_web::test]
async fn find_users_pages_beyond_1000_users() {
    let h = Harness::start(TimeEditConfig::default());
    h.sim
        .seed_users((0..2500).map(|i| person(&format!("u{i:05}"), "F", "L", "e@x", true)));
    let key = h.register().await;
    // Probe the total with n=1, then page by 1000 (the real client pattern, docs/connectors/timeedit.md "The vendor API").
    let probe = h
        .call(
            &key,
            "findUsers",
            &find(&[("beginindex", "0"), ("numberofusers", "1")]),
        )
        .await;
    assert_eq!(probe.users().len(), 1);
    assert_eq!(
        probe.payload().child_text("totalnumberofusers"),
        Some("2500")
    );
    let capped = h
        .call(&key, "findUsers", &find(&[("numberofusers", "5000")]))
        .await;
    assert_eq!(capped.users().len(), 1000, "silently capped at 1000");
    let mut seen = Vec::new();
    for begin in ["0", "1000", "2000", "3000"] {
        let page = h
            .call(
                &key,
                "findUsers",
                &find(&[("beginindex", begin), ("numberofusers", "1000")]),
            )
            .await;
        assert_eq!(
            page.payload().child_text("totalnumberofusers"),
            Some("2500")
        );
        seen.extend(
            page.users()
                .iter()
                .map(|u| text_of(u, "loginname").to_owned()),
        );
    }
    let expected: Vec<String> = (0..2500).map(|i| format!("u{i:05}")).collect();
    assert_eq!(seen, expected, "pages are disjoint, ordered and complete");
    h.stop().await;
}

#[actix_web::test]
async fn get_users_seed_example_returns_known_users_without_lists() {
    let h = Harness::start(TimeEditConfig::default());
    h.sim.seed_user(User {
        orgroles: vec!["timeedit=Admin".into()],
        ..person("admin", "Ada", "Admin", "ada@example.org", true)
    });
    let key = h.register().await;
    let reply = h.call(&key, "getUsers", GET_USERS_EXAMPLE).await;
    let users = reply.users();
    assert_eq!(users.len(), 1);
    assert_eq!(text_of(users[0], "loginname"), "admin");
    assert_eq!(text_of(users[0], "email"), "ada@example.org");
    assert!(
        users[0].child("orgroles").is_none(),
        "lists come with exportUsers"
    );

    // Unknown keys are left out; the key is (loginname, authserver).
    let users = users_xml(&[
        user_xml("ghost", "timeedit", ""),
        user_xml("admin", "ldap", ""),
        user_xml("admin", "timeedit", ""),
    ]);
    let reply = h.call(&key, "getUsers", &users).await;
    assert_eq!(reply.users().len(), 1);
    let reply = h.call(&key, "getUsers", "").await;
    assert!(reply.users().is_empty());
    h.stop().await;
}

#[actix_web::test]
async fn reference_data_operations() {
    let h = Harness::start(TimeEditConfig::default());
    h.sim
        .seed_auth_server(AuthServer::new("ldap", "Campus LDAP", false));
    h.sim.seed_account(Account {
        permissions: vec!["client".into(), "users".into()],
        objects: vec![
            UserObject::new("room", "room_101", "Room 101 & <annex>"),
            UserObject::new("room", "room_102", "Salle é"),
            UserObject::new("staff", "t1", "Teacher One"),
        ],
        ..Account::new("scheduler", "s3cr&t")
    });
    let key = h.register().await;

    let sort_orders = h.call(&key, "getUserSortOrders", "").await;
    assert_eq!(
        sort_orders.list("sortorders"),
        ["loginname", "firstname", "lastname", "email"]
    );

    let servers = |reply: &Reply| -> Vec<(String, String, String)> {
        let list = reply.payload().child("authservers").expect("authservers");
        list.children_named("authserver")
            .map(|s| {
                (
                    text_of(s, "signature").to_owned(),
                    text_of(s, "name").to_owned(),
                    text_of(s, "active").to_owned(),
                )
            })
            .collect()
    };
    let all = h
        .call(
            &key,
            "getAuthServers",
            "<tns:activeonly>false</tns:activeonly>",
        )
        .await;
    assert_eq!(
        servers(&all),
        [
            ("timeedit".into(), "TimeEdit".into(), "true".into()),
            ("ldap".into(), "Campus LDAP".into(), "false".into())
        ]
    );
    let active = h
        .call(
            &key,
            "getAuthServers",
            "<tns:activeonly>true</tns:activeonly>",
        )
        .await;
    assert_eq!(servers(&active).len(), 1);
    let default = h.call(&key, "getAuthServers", "").await;
    assert_eq!(servers(&default).len(), 2);

    // getPermissions and getCurrentUserObjects answer for the *calling* account.
    let perms = h.call(&key, "getPermissions", "").await;
    assert_eq!(perms.list("permissions"), ["client", "periods"]);
    let as_scheduler = login_as("scheduler", "s3cr&t", &key);
    let perms = h.ok(Soap::V11, "getPermissions", &as_scheduler).await;
    assert_eq!(perms.list("permissions"), ["client", "users"]);

    let objects = h
        .ok(
            Soap::V11,
            "getCurrentUserObjects",
            &format!("{as_scheduler}{GET_CURRENT_USER_OBJECTS_EXAMPLE}"),
        )
        .await;
    let groups = objects.payload().child("userobjects").expect("userobjects");
    let groups: Vec<_> = groups.children_named("userobjects").collect();
    assert_eq!(groups.len(), 1);
    assert_eq!(text_of(groups[0], "type"), "room");
    let names: Vec<_> = groups[0]
        .child("objects")
        .expect("objects")
        .children_named("object")
        .map(|o| {
            (
                text_of(o, "extid").to_owned(),
                text_of(o, "name").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("room_101".to_owned(), "Room 101 & <annex>".to_owned()),
            ("room_102".to_owned(), "Salle é".to_owned())
        ]
    );
    let every = h
        .ok(Soap::V11, "getCurrentUserObjects", &as_scheduler)
        .await;
    let groups = every.payload().child("userobjects").expect("userobjects");
    assert_eq!(
        groups.children_named("userobjects").count(),
        2,
        "room and staff"
    );
    let mine = h
        .call(
            &key,
            "getCurrentUserObjects",
            GET_CURRENT_USER_OBJECTS_EXAMPLE,
        )
        .await;
    let group = mine
        .payload()
        .child("userobjects")
        .and_then(|g| g.child("userobjects"));
    let objects = group.and_then(|g| g.child("objects")).expect("objects");
    assert!(objects.children.is_empty(), "the api account has no rooms");

    let reply = h
        .post(
            Soap::V11,
            "getAuthServers",
            &format!("{}<tns:activeonly>sure</tns:activeonly>", login(&key)),
        )
        .await;
    assert_eq!(reply.fault().1, "Invalid boolean for activeonly: \"sure\"");
    h.stop().await;
}

// ---- write operations --------------------------------------------------------------------------

#[actix_web::test]
async fn validate_users_seed_example_and_every_status() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let reply = h.call(&key, "validateUsers", VALIDATE_USERS_EXAMPLE).await;
    assert_eq!(reply.statuses(), [("kalle".to_owned(), 0)]);
    let status = reply
        .payload()
        .child("status")
        .and_then(|s| s.child("status"));
    let status = status.expect("status item");
    assert_eq!(text_of(status, "authserver"), "timeedit");
    assert_eq!(text_of(status, "message"), "");
    assert!(
        h.sim.user("kalle", "timeedit").is_none(),
        "validate never stores"
    );

    h.sim.seed_user(User::new("kalle", "timeedit"));
    let reply = h.call(&key, "validateUsers", VALIDATE_USERS_EXAMPLE).await;
    assert_eq!(reply.codes(), [3], "validateUsers validates *new* users");

    let batch = users_xml(&[
        user_xml("ok", "timeedit", "<allowlogin>false</allowlogin>"),
        user_xml("", "timeedit", ""),
        user_xml("nosrv", "", ""),
        "<user><loginname>noauth</loginname></user>".into(),
        user_xml("ghostsrv", "nosuch", ""),
        user_xml(
            "badbool",
            "timeedit",
            "<changepassword>maybe</changepassword>",
        ),
        user_xml("badbool2", "timeedit", "<allowlogin>yes</allowlogin>"),
        user_xml(
            "org",
            "timeedit",
            "<organizations><organization>nope</organization></organizations>",
        ),
        user_xml(
            "stdorg",
            "timeedit",
            "<standardorganization>nope</standardorganization>",
        ),
        user_xml(
            "role",
            "timeedit",
            "<orgroles><orgrole>timeedit=God</orgrole></orgroles>",
        ),
        user_xml(
            "perm",
            "timeedit",
            "<permissions><permission>root</permission></permissions>",
        ),
        user_xml("kalle", "timeedit", ""),
    ]);
    let reply = h.call(&key, "validateUsers", &batch).await;
    assert_eq!(reply.codes(), [0, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4, 3]);
    let logins: Vec<_> = reply.statuses().into_iter().map(|(l, _)| l).collect();
    assert_eq!(logins[0], "ok");
    assert_eq!(
        logins[7], "org",
        "statuses correlate by position and loginname"
    );
    let messages: Vec<String> = reply
        .payload()
        .child("status")
        .expect("status")
        .children_named("status")
        .map(|s| text_of(s, "message").to_owned())
        .collect();
    assert_eq!(messages[4], "unknown authserver \"nosuch\"");
    assert_eq!(messages[7], "unknown organization \"nope\"");
    assert_eq!(h.sim.users().len(), 1);

    // Reference data seeded later is accepted.
    h.sim.seed_organization("nope");
    h.sim.seed_orgrole("timeedit=God");
    h.sim.seed_user_permission("root");
    let batch = users_xml(&[
        user_xml(
            "org",
            "timeedit",
            "<organizations><organization>nope</organization></organizations>",
        ),
        user_xml(
            "role",
            "timeedit",
            "<orgroles><orgrole>timeedit=God</orgrole></orgroles>",
        ),
        user_xml(
            "perm",
            "timeedit",
            "<permissions><permission>root</permission></permissions>",
        ),
    ]);
    assert_eq!(
        h.call(&key, "validateUsers", &batch).await.codes(),
        [0, 0, 0]
    );
    h.stop().await;
}

#[actix_web::test]
async fn import_users_seed_example_then_upserts() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let reply = h.call(&key, "importUsers", IMPORT_USERS_EXAMPLE).await;
    assert_eq!(reply.statuses(), [("anders".to_owned(), 0)]);
    let anders = h.sim.user("anders", "timeedit").expect("imported");
    assert_eq!(
        anders,
        User {
            firstname: "Anders".into(),
            lastname: "Svensson".into(),
            email: "[email protected]".into(),
            allowlogin: true,
            defaultobjects: "a467949c-1ced-46f6-b4ba-289a5ee709c6".into(),
            standardorganization: "all_teachers".into(),
            orgroles: vec!["oAdmin=scheduler".into()],
            permissions: vec!["client".into()],
            organizations: vec!["all_teachers".into()],
            ..User::new("anders", "timeedit")
        }
    );

    // Absent elements keep their value, empty ones clear it, a present list replaces.
    let update = users_xml(&[user_xml(
        "anders",
        "timeedit",
        "<phone>031-123456</phone><email/><allowlogin>false</allowlogin>\
         <permissions><permission>client</permission><permission>periods</permission></permissions>",
    )]);
    assert_eq!(h.call(&key, "importUsers", &update).await.codes(), [0]);
    let anders = h.sim.user("anders", "timeedit").expect("kept");
    assert_eq!(anders.firstname, "Anders");
    assert_eq!(anders.phone, "031-123456");
    assert_eq!(anders.email, "");
    assert!(!anders.allowlogin);
    assert_eq!(anders.permissions, ["client", "periods"]);
    assert_eq!(anders.orgroles, ["oAdmin=scheduler"]);
    assert_eq!(h.sim.users().len(), 1, "upsert, not a second user");

    // Per-user failures leave the store alone and never fault the batch.
    let batch = users_xml(&[
        user_xml("anders", "timeedit", "<allowlogin>nah</allowlogin>"),
        user_xml("", "timeedit", ""),
        user_xml(
            "eva",
            "timeedit",
            "<orgroles><orgrole>x=y</orgrole></orgroles>",
        ),
        user_xml("eva", "ldap", ""),
        user_xml("eva", "timeedit", "<firstname>Eva</firstname>"),
    ]);
    let reply = h.call(&key, "importUsers", &batch).await;
    assert_eq!(reply.codes(), [1, 1, 4, 1, 0]);
    assert!(!h.sim.user("anders", "timeedit").expect("anders").allowlogin);
    assert_eq!(
        h.sim.user("eva", "timeedit").map(|u| u.firstname),
        Some("Eva".into())
    );
    assert!(
        h.sim
            .user("eva", "timeedit")
            .is_some_and(|u| u.orgroles.is_empty())
    );
    h.stop().await;
}

#[actix_web::test]
async fn export_users_seed_example_is_complete_and_reimportable() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    h.call(&key, "importUsers", IMPORT_USERS_EXAMPLE).await;
    let before = h.sim.user("anders", "timeedit").expect("imported");
    let reply = h.call(&key, "exportUsers", EXPORT_USERS_EXAMPLE).await;
    let users = reply.users();
    assert_eq!(users.len(), 1);
    let anders = users[0];
    assert_eq!(
        text_of(anders, "defaultobjects"),
        "a467949c-1ced-46f6-b4ba-289a5ee709c6"
    );
    assert_eq!(items(anders, "orgroles"), ["oAdmin=scheduler"]);
    assert_eq!(items(anders, "permissions"), ["client"]);
    assert_eq!(items(anders, "organizations"), ["all_teachers"]);

    // Feed the exported <tns:users> back to importUsers: nothing changes.
    let start = reply.text.find("<tns:users>").expect("users start");
    let end = reply.text.find("</tns:users>").expect("users end") + "</tns:users>".len();
    let exported = &reply.text[start..end];
    assert_eq!(h.call(&key, "importUsers", exported).await.codes(), [0]);
    assert_eq!(h.sim.user("anders", "timeedit"), Some(before));

    let missing = users_xml(&[user_xml("ghost", "timeedit", "")]);
    assert!(
        h.call(&key, "exportUsers", &missing)
            .await
            .users()
            .is_empty()
    );
    h.stop().await;
}

#[actix_web::test]
async fn delete_users_seed_example_and_every_status() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    h.call(&key, "importUsers", IMPORT_USERS_EXAMPLE).await;
    let reply = h.call(&key, "deleteUsers", DELETE_USERS_EXAMPLE).await;
    assert_eq!(reply.statuses(), [("anders".to_owned(), 0)]);
    assert!(h.sim.user("anders", "timeedit").is_none());

    h.sim.seed_users([
        User::new("kept", "timeedit"),
        User::new("history", "timeedit"),
        User::new("history2", "timeedit"),
    ]);
    assert!(h.sim.set_deletable("history", "timeedit", false));
    assert!(h.sim.set_deletable("history2", "timeedit", false));
    assert!(!h.sim.set_deletable("ghost", "timeedit", false));
    let batch = |inactivate: &str| {
        format!(
            "{}<tns:inactivate>{inactivate}</tns:inactivate>",
            users_xml(&[
                user_xml("anders", "timeedit", ""),
                user_xml("", "timeedit", ""),
                user_xml("kept", "ldap", ""),
                user_xml("history", "timeedit", ""),
            ])
        )
    };
    let reply = h.call(&key, "deleteUsers", &batch("false")).await;
    assert_eq!(reply.codes(), [2, 1, 2, 6]);
    assert!(
        h.sim
            .user("history", "timeedit")
            .is_some_and(|u| u.allowlogin)
    );
    let reply = h.call(&key, "deleteUsers", &batch("true")).await;
    assert_eq!(reply.codes(), [2, 1, 2, 5]);
    assert!(
        h.sim
            .user("history", "timeedit")
            .is_some_and(|u| !u.allowlogin)
    );

    // `inactivate` absent means false.
    let reply = h
        .call(
            &key,
            "deleteUsers",
            &users_xml(&[user_xml("history2", "timeedit", "")]),
        )
        .await;
    assert_eq!(reply.codes(), [6]);
    // An importUsers upsert keeps the user undeletable.
    h.call(
        &key,
        "importUsers",
        &users_xml(&[user_xml("history2", "timeedit", "")]),
    )
    .await;
    let reply = h
        .call(
            &key,
            "deleteUsers",
            &users_xml(&[user_xml("history2", "timeedit", "")]),
        )
        .await;
    assert_eq!(reply.codes(), [6]);
    assert!(h.sim.user("kept", "timeedit").is_some());

    let reply = h
        .post(
            Soap::V11,
            "deleteUsers",
            &format!("{}<tns:inactivate>2</tns:inactivate>", login(&key)),
        )
        .await;
    assert_eq!(reply.fault().1, "Invalid boolean for inactivate: \"2\"");
    h.stop().await;
}

// ---- SOAP versions, faults, encoding -----------------------------------------------------------

#[actix_web::test]
async fn soap12_requests_get_soap12_answers() {
    let h = Harness::start(TimeEditConfig::default());
    let inner = format!("<tns:certificate>{DEFAULT_CERTIFICATE}</tns:certificate>");
    let reply = h.ok(Soap::V12, "register", &inner).await;
    let key = reply
        .payload()
        .child("key")
        .and_then(|k| k.child_text("applicationkey"))
        .expect("key")
        .to_owned();
    let login = login(&key);
    let reply = h
        .ok(
            Soap::V12,
            "importUsers",
            &format!("{login}{IMPORT_USERS_EXAMPLE}"),
        )
        .await;
    assert_eq!(reply.codes(), [0]);
    let reply = h
        .ok(
            Soap::V12,
            "getUsers",
            &format!("{login}{EXPORT_USERS_EXAMPLE}"),
        )
        .await;
    assert_eq!(reply.users().len(), 1);
    // The SOAP 1.2 action parameter is ignored like SOAPAction.
    let body = envelope(Soap::V12, "getUserSortOrders", &login);
    let reply = h
        .post_raw(
            Some("application/soap+xml; charset=utf-8; action=\"urn:whatever\""),
            body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    h.stop().await;
}

#[actix_web::test]
async fn malformed_requests_fault_in_the_request_version() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let v11 = Some(Soap::V11.content_type());
    let v12 = Some(Soap::V12.content_type());
    let cases: Vec<(Option<&str>, String, u16, &str, &str)> = vec![
        (
            v11,
            "<soapenv:Envelope".into(),
            500,
            "soapenv:Client",
            "malformed XML",
        ),
        (
            v12,
            "<a><b></a>".into(),
            400,
            "soapenv:Sender",
            "malformed XML",
        ),
        (
            v11,
            String::new(),
            500,
            "soapenv:Client",
            "malformed XML: no root element",
        ),
        (
            v11,
            "<tns:getUsers xmlns:tns=\"urn:x\"/>".into(),
            500,
            "soapenv:Client",
            "not a SOAP Envelope",
        ),
        (
            v11,
            format!("<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body/></s:Envelope>"),
            500,
            "soapenv:Client",
            "the SOAP Body holds no operation element",
        ),
        (
            v11,
            format!("<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Header/></s:Envelope>"),
            500,
            "soapenv:Client",
            "the SOAP Envelope has no Body",
        ),
        (
            v11,
            envelope(Soap::V11, "getUsers", &login(&key))
                .replace("</tns:getUsers>", "</tns:getUsers><tns:x/>"),
            500,
            "soapenv:Client",
            "the SOAP Body holds more than one operation element",
        ),
        (
            v11,
            envelope(Soap::V11, "createUniverse", &login(&key)),
            500,
            "soapenv:Client",
            "Unknown operation: createUniverse",
        ),
        (
            v12,
            envelope(Soap::V12, "createUniverse", &login(&key)),
            400,
            "soapenv:Sender",
            "Unknown operation: createUniverse",
        ),
        (
            v11,
            "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>".into(),
            500,
            "soapenv:Client",
            "document type declarations are not allowed in SOAP messages",
        ),
        (
            v11,
            "<s:Envelope xmlns:s=\"urn:not-soap\"><s:Body/></s:Envelope>".into(),
            500,
            "soapenv:VersionMismatch",
            "Unsupported SOAP envelope namespace \"urn:not-soap\"",
        ),
        (
            v11,
            envelope(Soap::V12, "getUserSortOrders", &login(&key)),
            500,
            "soapenv:VersionMismatch",
            "does not match the envelope namespace",
        ),
        (
            v12,
            envelope(Soap::V11, "getUserSortOrders", &login(&key)),
            500,
            "soapenv:VersionMismatch",
            "does not match the envelope namespace",
        ),
    ];
    for (content_type, body, status, code, reason) in cases {
        let reply = h.post_raw(content_type, body.clone()).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
        let expected_ns = if content_type == v12 {
            SOAP12_NS
        } else {
            SOAP11_NS
        };
        assert_eq!(reply.envelope_ns(), Some(expected_ns), "{body}");
        let (got_code, got_reason, _) = reply.fault();
        assert_eq!(got_code, code, "{body}");
        assert!(got_reason.contains(reason), "{body}: {got_reason}");
    }
    let bad_utf8 = h
        .client
        .post(&h.url)
        .header("Content-Type", "text/xml")
        .body(vec![0xff, 0xfe, b'<'])
        .send()
        .await
        .expect("send");
    assert_eq!(bad_utf8.status(), 500);
    assert!(bad_utf8.text().await.expect("text").contains("not UTF-8"));

    for content_type in [Some("application/json"), None] {
        let reply = h
            .post_raw(
                content_type,
                envelope(Soap::V11, "getUserSortOrders", &login(&key)),
            )
            .await;
        assert_eq!(reply.status, 415);
        assert_eq!(reply.envelope_ns(), Some(SOAP11_NS));
        assert!(reply.fault().1.starts_with("Unsupported Content-Type"));
    }

    // Local names match case-insensitively, and SOAPAction plays no part.
    let res = h
        .client
        .post(&h.url)
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "\"urn:deleteEverything\"")
        .body(envelope(Soap::V11, "GetUserSortOrders", &login(&key)))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .expect("text")
            .contains("getUserSortOrdersResponse")
    );
    h.stop().await;
}

#[actix_web::test]
async fn injected_server_failures_are_server_faults() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    h.sim.inject_server_faults(2);
    let reply = h.post(Soap::V11, "getUserSortOrders", &login(&key)).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.fault().0, "soapenv:Server");
    let reply = h
        .post(
            Soap::V12,
            "importUsers",
            &format!("{}{IMPORT_USERS_EXAMPLE}", login(&key)),
        )
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.fault().0, "soapenv:Receiver");
    assert!(h.sim.users().is_empty(), "a failed call changes nothing");
    h.call(&key, "getUserSortOrders", "").await;
    h.stop().await;
}

#[actix_web::test]
async fn special_characters_and_non_ascii_survive_every_field() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let nasty = "<Zoë & \"Ådne\" 'O'Brien'> ]]> 😀 é";
    h.sim.seed_auth_server(AuthServer::new(nasty, nasty, true));
    h.sim.seed_organization(nasty);
    h.sim.seed_orgrole(nasty);
    h.sim.seed_user_permission(nasty);
    let e = escape(nasty);
    let fields = [
        "firstname",
        "lastname",
        "email",
        "phone",
        "language",
        "dateformat",
        "timezone",
        "dst",
        "defaultobjects",
        "standardorganization",
        "description",
    ];
    let mut extra: String = fields.iter().map(|f| format!("<{f}>{e}</{f}>")).collect();
    extra.push_str(&format!(
        "<orgroles><orgrole>{e}</orgrole></orgroles>\
         <permissions><permission>{e}</permission></permissions>\
         <organizations><organization><![CDATA[{}]]></organization></organizations>",
        nasty.replace("]]>", "]]]]><![CDATA[>")
    ));
    let users = users_xml(&[user_xml(nasty, nasty, &extra)]);
    for version in [Soap::V11, Soap::V12] {
        let reply = h
            .ok(version, "importUsers", &format!("{}{users}", login(&key)))
            .await;
        assert_eq!(reply.statuses(), [(nasty.to_owned(), 0)]);
    }
    let stored = h
        .sim
        .user(nasty, nasty)
        .expect("stored under the exact key");
    assert_eq!(stored.firstname, nasty);
    assert_eq!(stored.organizations, [nasty]);

    for version in [Soap::V11, Soap::V12] {
        let keys = users_xml(&[user_xml(nasty, nasty, "")]);
        let reply = h
            .ok(version, "exportUsers", &format!("{}{keys}", login(&key)))
            .await;
        let user = reply.users()[0];
        assert_eq!(text_of(user, "loginname"), nasty);
        assert_eq!(text_of(user, "authserver"), nasty);
        for f in fields {
            assert_eq!(text_of(user, f), nasty, "{f}");
        }
        for list in ["orgroles", "permissions", "organizations"] {
            assert_eq!(items(user, list), [nasty], "{list}");
        }
    }
    let reply = h
        .call(&key, "findUsers", &find(&[("name", "zoë & \"Å")]))
        .await;
    assert_eq!(reply.users().len(), 1);
    assert_eq!(text_of(reply.users()[0], "loginname"), nasty);
    let reply = h
        .call(
            &key,
            "deleteUsers",
            &users_xml(&[user_xml(nasty, nasty, "")]),
        )
        .await;
    assert_eq!(reply.statuses(), [(nasty.to_owned(), 0)]);

    // Passwords with special characters authenticate too.
    h.sim.seed_account(Account::new("zoë", nasty));
    h.ok(Soap::V11, "getPermissions", &login_as("zoë", nasty, &key))
        .await;
    h.stop().await;
}

#[actix_web::test]
async fn recorded_bodies_mask_passwords_and_certificates() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    let register = h.server.log().last().expect("recorded");
    assert!(
        register
            .body
            .contains("<tns:certificate>***</tns:certificate>"),
        "{}",
        register.body
    );
    assert!(!register.body.contains(DEFAULT_CERTIFICATE));
    h.call(&key, "getUsers", GET_USERS_EXAMPLE).await;
    let recorded = h.server.log().last().expect("recorded");
    assert_eq!(recorded.method, "POST");
    assert_eq!(recorded.path, "/soap/3/sim");
    assert_eq!(recorded.header("soapaction"), Some("\"\""));
    assert!(
        recorded.body.contains("<password>***</password>"),
        "{}",
        recorded.body
    );
    assert!(!recorded.body.contains(DEFAULT_PASSWORD));
    assert!(recorded.body.contains("<loginname>admin</loginname>"));
    h.stop().await;
}

#[actix_web::test]
async fn concurrent_clients_leave_a_consistent_store() {
    let h = Harness::start_with(
        TimeEditConfig::default(),
        SimOptions {
            workers: 4,
            ..SimOptions::default()
        },
    );
    let key = h.register().await;
    // 32 clients: each imports its own user, all upsert one shared user, the odd ones delete
    // their user again.
    let tasks = (0..32).map(|i| {
        let (h, key) = (&h, key.clone());
        async move {
            let own = user_xml(
                &format!("user{i:02}"),
                "timeedit",
                "<firstname>Own</firstname>",
            );
            let shared = user_xml("shared", "timeedit", &format!("<firstname>{i}</firstname>"));
            let reply = h
                .call(&key, "importUsers", &users_xml(&[own, shared]))
                .await;
            assert_eq!(reply.codes(), [0, 0]);
            if i % 2 == 1 {
                let gone = users_xml(&[user_xml(&format!("user{i:02}"), "timeedit", "")]);
                assert_eq!(h.call(&key, "deleteUsers", &gone).await.codes(), [0]);
            }
            let find = h
                .call(&key, "findUsers", &find(&[("loginname", "user")]))
                .await;
            assert!(!find.users().is_empty());
        }
    });
    join_all(tasks).await;
    let names: BTreeSet<String> = h.sim.users().into_iter().map(|u| u.loginname).collect();
    let mut expected: BTreeSet<String> =
        (0..32).step_by(2).map(|i| format!("user{i:02}")).collect();
    expected.insert("shared".into());
    assert_eq!(names, expected);
    let shared = h.sim.user("shared", "timeedit").expect("shared");
    assert!(shared.firstname.parse::<u32>().is_ok_and(|n| n < 32));
    let reply = h
        .call(&key, "findUsers", &find(&[("loginname", "user")]))
        .await;
    assert_eq!(reply.payload().child_text("totalnumberofusers"), Some("16"));
    h.stop().await;
}

#[actix_web::test]
async fn http_faults_apply_to_the_soap_route() {
    let h = Harness::start(TimeEditConfig::default());
    let key = h.register().await;
    h.server.faults().push(
        FaultRule::always(RouteMatch::new("POST", "/soap/3/sim"), Fault::Status(503)).times(1),
    );
    let body = envelope(
        Soap::V11,
        "importUsers",
        &format!("{}{IMPORT_USERS_EXAMPLE}", login(&key)),
    );
    let res = h
        .client
        .post(&h.url)
        .header("Content-Type", "text/xml")
        .body(body.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 503);
    assert!(
        h.sim.users().is_empty(),
        "the fault short-circuits the operation"
    );

    h.server.faults().push(
        FaultRule::always(
            RouteMatch::path("/soap/3/sim"),
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        )
        .times(1),
    );
    let res = h
        .client
        .get(format!("{}/wsdl", h.url))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "7");

    let reply = h.post_raw(Some(Soap::V11.content_type()), body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(h.sim.users().len(), 1);
    h.stop().await;
}
