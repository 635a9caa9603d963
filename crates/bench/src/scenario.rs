//! The scenarios and the requests they send: pure builders of (method, path, body), so the
//! shape of every request can be tested without a server.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A named load pattern (`--scenario NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Creates the users `0..users` (POST /Users, or /Bulk); existing ones count as done.
    Seed,
    /// `GET /Users?filter=userName eq "…"` for random seeded users (Entra's match).
    Filter,
    /// `GET /Users/{id}` for random known ids.
    Get,
    /// `POST /Users` with fresh userNames, each after a match filter when `match_first`.
    Create,
    /// `PATCH /Users/{id}` replacing displayName and title, as Entra sends it.
    Patch,
    /// `POST /Bulk` with `bulk_size` creates per request.
    Bulk,
    /// One big group built and worked on sequentially (`crate::groups`): latency at size.
    Groups,
}

impl Scenario {
    /// Every scenario, in the order `--help` lists them.
    pub const ALL: [Scenario; 7] = [
        Scenario::Seed,
        Scenario::Filter,
        Scenario::Get,
        Scenario::Create,
        Scenario::Patch,
        Scenario::Bulk,
        Scenario::Groups,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Seed => "seed",
            Scenario::Filter => "filter",
            Scenario::Get => "get",
            Scenario::Create => "create",
            Scenario::Patch => "patch",
            Scenario::Bulk => "bulk",
            Scenario::Groups => "groups",
        }
    }

    /// Whether the scenario needs the ids of existing users learnt before it starts.
    pub fn needs_ids(self) -> bool {
        matches!(self, Scenario::Get | Scenario::Patch)
    }

    /// Whether the scenario is a load run at `concurrency` (`Bench::run`) rather than the
    /// sequential groups run, which has its own report.
    pub fn is_load(self) -> bool {
        self != Scenario::Groups
    }

    /// Whether the reference server (`--reference`) answers the scenario's requests.
    pub fn has_reference(self) -> bool {
        matches!(self, Scenario::Filter | Scenario::Get)
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {0:?} (known: seed, filter, get, create, patch, bulk, groups)")]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

/// One HTTP request, relative to the SCIM base URL.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    pub method: Method,
    /// Path and query, starting with `/`, already percent-encoded.
    pub path: String,
    pub body: Option<Value>,
}

/// The userName of seeded user `i`: `bench-0000042@example.edu`.
pub fn user_name(i: u64) -> String {
    format!("bench-{i:07}@example.edu")
}

/// The userNames the create and bulk scenarios create: one numbered sequence per [`Bench`],
/// shared by every scenario, worker and request it runs.
///
/// One sequence rather than a name built from (worker, request number) is the point: the
/// scenarios number their requests differently (a bulk request creates `bulk_size` users), so
/// names composed from per-scenario counters overlap between scenarios run by one bench, and
/// the second one to ask for a name gets 409. Drawing every name from one counter makes a
/// collision impossible by construction. `run` keeps benches (processes, runs) apart.
///
/// [`Bench`]: crate::Bench
#[derive(Debug)]
pub struct FreshNames {
    run: String,
    next: AtomicU64,
}

impl FreshNames {
    /// A sequence for run `run` (any text that is unique per bench, e.g. its start time).
    pub fn new(run: impl Into<String>) -> FreshNames {
        FreshNames {
            run: run.into(),
            next: AtomicU64::new(0),
        }
    }

    /// The run this sequence belongs to, for naming other things the bench creates.
    pub fn run(&self) -> &str {
        &self.run
    }

    /// The next fresh userName: `bench-new-{run}-{n}@example.edu`.
    pub fn take(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("bench-new-{}-{n}@example.edu", self.run)
    }

    /// `count` fresh userNames, for one bulk request.
    pub fn take_many(&self, count: u64) -> Vec<String> {
        (0..count).map(|_| self.take()).collect()
    }
}

/// A full User resource as an HR-fed IdP sends it: name, a primary work email, externalId.
pub fn user_resource(user_name: &str) -> Value {
    let local = user_name.split('@').next().unwrap_or(user_name);
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": format!("ext-{local}"),
        "active": true,
        "displayName": format!("Bench {local}"),
        "name": {"givenName": "Bench", "familyName": local, "formatted": format!("Bench {local}")},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    })
}

/// `POST /Users` creating `user_name`.
pub fn create_user(user_name: &str) -> RequestSpec {
    RequestSpec {
        method: Method::POST,
        path: "/Users".to_owned(),
        body: Some(user_resource(user_name)),
    }
}

/// `GET /Users?filter=userName eq "…"`: Entra's match query.
pub fn filter_user_name(user_name: &str) -> RequestSpec {
    let filter = format!("userName eq \"{user_name}\"");
    RequestSpec {
        method: Method::GET,
        path: format!("/Users?filter={}", encode_query_value(&filter)),
        body: None,
    }
}

/// `GET /Users/{id}`.
pub fn get_user(id: &str) -> RequestSpec {
    RequestSpec {
        method: Method::GET,
        path: format!("/Users/{}", encode_query_value(id)),
        body: None,
    }
}

/// `PATCH /Users/{id}` replacing displayName and title the way Entra writes it (`Replace`).
pub fn patch_user(id: &str, display_name: &str, title: &str) -> RequestSpec {
    RequestSpec {
        method: Method::PATCH,
        path: format!("/Users/{}", encode_query_value(id)),
        body: Some(json!({
            "schemas": [PATCH_SCHEMA],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": display_name},
                {"op": "Replace", "path": "title", "value": title},
            ],
        })),
    }
}

/// `POST /Bulk` creating each of `user_names`, with bulkIds `u0`, `u1`, ….
pub fn bulk_create<S: AsRef<str>>(user_names: &[S]) -> RequestSpec {
    let operations: Vec<Value> = user_names
        .iter()
        .enumerate()
        .map(|(n, name)| {
            json!({
                "method": "POST",
                "path": "/Users",
                "bulkId": format!("u{n}"),
                "data": user_resource(name.as_ref()),
            })
        })
        .collect();
    RequestSpec {
        method: Method::POST,
        path: "/Bulk".to_owned(),
        body: Some(json!({"schemas": [BULK_SCHEMA], "Operations": operations})),
    }
}

/// `GET /Users?attributes=id&count=…&startIndex=…`: one page of ids.
pub fn list_ids(start_index: u64, count: u64) -> RequestSpec {
    RequestSpec {
        method: Method::GET,
        path: format!("/Users?attributes=id&count={count}&startIndex={start_index}"),
        body: None,
    }
}

/// `POST /Groups` creating an empty group named `display_name`.
pub fn create_group(display_name: &str) -> RequestSpec {
    RequestSpec {
        method: Method::POST,
        path: "/Groups".to_owned(),
        body: Some(json!({"schemas": [GROUP_SCHEMA], "displayName": display_name})),
    }
}

/// `PATCH /Groups/{id}` adding `member_ids`, as Entra ID sends it: one `Add` on `members`
/// whose value lists the members (up to 100 per request from Entra).
pub fn add_members<S: AsRef<str>>(group_id: &str, member_ids: &[S]) -> RequestSpec {
    let members: Vec<Value> = member_ids
        .iter()
        .map(|id| json!({"value": id.as_ref()}))
        .collect();
    group_patch(
        group_id,
        json!({"op": "Add", "path": "members", "value": members}),
    )
}

/// `PATCH /Groups/{id}` removing one member in Entra's form: a value filter in the path.
pub fn remove_member(group_id: &str, member_id: &str) -> RequestSpec {
    group_patch(
        group_id,
        json!({"op": "Remove", "path": format!("members[value eq \"{member_id}\"]")}),
    )
}

/// `PATCH /Groups/{id}` replacing displayName (`"op": "Replace"`, as Entra writes it).
pub fn rename_group(group_id: &str, display_name: &str) -> RequestSpec {
    group_patch(
        group_id,
        json!({"op": "Replace", "path": "displayName", "value": display_name}),
    )
}

fn group_patch(group_id: &str, operation: Value) -> RequestSpec {
    RequestSpec {
        method: Method::PATCH,
        path: format!("/Groups/{}", encode_query_value(group_id)),
        body: Some(json!({"schemas": [PATCH_SCHEMA], "Operations": [operation]})),
    }
}

/// Entra's membership probe: `GET /Groups?filter=id eq "…" and members[value eq "…"]`
/// with `excludedAttributes=members`; one result if the user is a member, none otherwise.
pub fn probe_member(group_id: &str, member_id: &str) -> RequestSpec {
    let filter = format!("id eq \"{group_id}\" and members[value eq \"{member_id}\"]");
    RequestSpec {
        method: Method::GET,
        path: format!(
            "/Groups?filter={}&excludedAttributes=members",
            encode_query_value(&filter)
        ),
        body: None,
    }
}

/// `GET /Groups/{id}`, with `excludedAttributes=members` unless `with_members`.
pub fn get_group(group_id: &str, with_members: bool) -> RequestSpec {
    let mut path = format!("/Groups/{}", encode_query_value(group_id));
    if !with_members {
        path.push_str("?excludedAttributes=members");
    }
    RequestSpec {
        method: Method::GET,
        path,
        body: None,
    }
}

/// `DELETE /Groups/{id}`.
pub fn delete_group(group_id: &str) -> RequestSpec {
    RequestSpec {
        method: Method::DELETE,
        path: format!("/Groups/{}", encode_query_value(group_id)),
        body: None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a filter's spaces,
/// quotes and `@` reach any server the same way.
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert_eq!("FILTER".parse::<Scenario>(), Ok(Scenario::Filter));
        assert!("delete".parse::<Scenario>().is_err());
    }

    #[test]
    fn user_names_are_zero_padded_and_sort_in_order() {
        assert_eq!(user_name(42), "bench-0000042@example.edu");
        assert_eq!(user_name(99_999), "bench-0099999@example.edu");
        assert!(user_name(9) < user_name(10));
    }

    /// The create and bulk scenarios of one bench, interleaved as a run does (several workers,
    /// creates then bulks of 10), never ask for the same userName twice. With names built
    /// from (worker, request number × bulk size + n) the bulk's first request asked for the
    /// names of creates 10..19 of the same worker: 409 in the bulk scenario one run in three.
    #[test]
    fn fresh_names_never_repeat_across_scenarios_and_workers() {
        let names = FreshNames::new("r1");
        let mut seen = std::collections::HashSet::new();
        let mut drawn = 0;
        for _worker in 0..4 {
            for _create in 0..25 {
                assert!(seen.insert(names.take()));
                drawn += 1;
            }
        }
        for _bulk in 0..8 {
            for name in names.take_many(10) {
                assert!(seen.insert(name));
                drawn += 1;
            }
        }
        assert_eq!(seen.len(), drawn);
        assert_eq!(names.take(), format!("bench-new-r1-{drawn}@example.edu"));
        assert_ne!(FreshNames::new("r1").take(), FreshNames::new("r2").take());
    }

    #[test]
    fn filter_is_percent_encoded() {
        let r = filter_user_name(&user_name(7));
        assert_eq!(r.method, Method::GET);
        assert_eq!(
            r.path,
            "/Users?filter=userName%20eq%20%22bench-0000007%40example.edu%22"
        );
        assert!(r.body.is_none());
    }

    #[test]
    fn user_resource_carries_name_emails_and_external_id() {
        let r = create_user("bench-0000001@example.edu");
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, "/Users");
        let body = r.body.unwrap_or_default();
        assert_eq!(body["userName"], "bench-0000001@example.edu");
        assert_eq!(body["externalId"], "ext-bench-0000001");
        assert_eq!(body["name"]["familyName"], "bench-0000001");
        assert_eq!(body["emails"][0]["type"], "work");
        assert_eq!(body["emails"][0]["primary"], true);
    }

    #[test]
    fn patch_replaces_display_name_and_title() {
        let r = patch_user("a b", "New Name", "Dean");
        assert_eq!(r.method, Method::PATCH);
        assert_eq!(r.path, "/Users/a%20b");
        let body = r.body.unwrap_or_default();
        assert_eq!(body["schemas"][0], PATCH_SCHEMA);
        assert_eq!(body["Operations"][0]["path"], "displayName");
        assert_eq!(body["Operations"][0]["value"], "New Name");
        assert_eq!(body["Operations"][1]["path"], "title");
        assert_eq!(body["Operations"][1]["value"], "Dean");
    }

    #[test]
    fn bulk_has_one_post_per_user_with_distinct_bulk_ids() {
        let r = bulk_create(&[user_name(0), user_name(1), user_name(2)]);
        assert_eq!(r.path, "/Bulk");
        let body = r.body.unwrap_or_default();
        let ops = body["Operations"].as_array().cloned().unwrap_or_default();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[2]["method"], "POST");
        assert_eq!(ops[2]["path"], "/Users");
        assert_eq!(ops[2]["bulkId"], "u2");
        assert_eq!(ops[2]["data"]["userName"], user_name(2));
    }

    #[test]
    fn create_group_posts_schema_and_display_name_only() {
        let r = create_group("bench-group-r1");
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.path, "/Groups");
        assert_eq!(
            r.body,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "bench-group-r1",
            }))
        );
    }

    #[test]
    fn add_members_is_one_add_listing_every_member() {
        let r = add_members("g 1", &["u1", "u2", "u3"]);
        assert_eq!(r.method, Method::PATCH);
        assert_eq!(r.path, "/Groups/g%201");
        assert_eq!(
            r.body,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "Add",
                    "path": "members",
                    "value": [{"value": "u1"}, {"value": "u2"}, {"value": "u3"}],
                }],
            }))
        );
        // A single add is the same request with one member, as Entra sends it.
        let one = add_members("g", &[String::from("u9")])
            .body
            .unwrap_or_default();
        assert_eq!(one["Operations"][0]["value"], json!([{"value": "u9"}]));
    }

    #[test]
    fn remove_member_filters_the_path_without_a_value() {
        let r = remove_member("g", "u-7");
        assert_eq!(r.method, Method::PATCH);
        assert_eq!(r.path, "/Groups/g");
        assert_eq!(
            r.body,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Remove", "path": "members[value eq \"u-7\"]"}],
            }))
        );
    }

    #[test]
    fn rename_replaces_display_name() {
        let r = rename_group("g", "bench-group-r1-renamed-3");
        assert_eq!(r.method, Method::PATCH);
        assert_eq!(r.path, "/Groups/g");
        assert_eq!(
            r.body,
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "Replace",
                    "path": "displayName",
                    "value": "bench-group-r1-renamed-3",
                }],
            }))
        );
    }

    #[test]
    fn probe_is_entras_filter_without_members() {
        let r = probe_member("g1", "u2");
        assert_eq!(r.method, Method::GET);
        assert_eq!(
            r.path,
            "/Groups?filter=id%20eq%20%22g1%22%20and%20members%5Bvalue%20eq%20%22u2%22%5D\
             &excludedAttributes=members"
        );
        assert!(r.body.is_none());
    }

    #[test]
    fn group_reads_and_delete() {
        assert_eq!(
            get_group("g1", false).path,
            "/Groups/g1?excludedAttributes=members"
        );
        let full = get_group("g1", true);
        assert_eq!(
            (full.method, full.path.as_str()),
            (Method::GET, "/Groups/g1")
        );
        let delete = delete_group("g1");
        assert_eq!(delete.method, Method::DELETE);
        assert_eq!(delete.path, "/Groups/g1");
        assert!(delete.body.is_none());
    }

    #[test]
    fn list_ids_pages() {
        assert_eq!(
            list_ids(1001, 1000).path,
            "/Users?attributes=id&count=1000&startIndex=1001"
        );
    }
}
