//! The groups scenario: one big group built and worked on sequentially, one request at a time,
//! to give the latency of each kind of group operation at group size (not throughput).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::footprint::{self, FootprintError, ProcMemory};
use crate::report::{BeforeAfter, GroupsReport, Latencies, OperationLatency, SizeBand};
use crate::run::{Bench, BenchError};
use crate::scenario::{self, RequestSpec};

/// Members per PATCH while the group grows: what Entra ID sends at most.
pub const BATCH: usize = 100;

/// Full `GET /Groups/{id}` repeats: each carries every member, so a few suffice.
pub const FULL_GETS: u64 = 5;

/// Why the groups scenario stopped.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    #[error("{what} answered {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{what} got no answer: {source}")]
    Transport {
        what: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{what}: {problem}")]
    Answer { what: String, problem: String },
    #[error(
        "the groups scenario needs {need} users (--group-size + --group-ops) but the server \
         lists {have}: seed with --users {need} or more"
    )]
    NotEnoughUsers { have: usize, need: u64 },
    #[error("--group-size must be at least 1")]
    EmptyGroup,
    #[error(transparent)]
    Bench(#[from] BenchError),
    #[error(transparent)]
    Footprint(#[from] FootprintError),
}

impl From<hdrhistogram::CreationError> for GroupsError {
    fn from(e: hdrhistogram::CreationError) -> Self {
        GroupsError::Bench(BenchError::Histogram(e))
    }
}

/// The group's size band a batch falls in: the power of ten at or below the members it
/// found (0 for an empty group), so the bands read "at ~1k", "at ~10k", ….
pub fn decade(members: u64) -> u64 {
    let mut band = 1;
    if members == 0 {
        return 0;
    }
    while band <= members / 10 {
        band *= 10;
    }
    band
}

/// Where the `k`-th of `ops` operations starts looking for a member among `len` users: spread
/// evenly, so removes and probes hit the whole group, not its newest end.
pub fn spread(k: u64, ops: u64, len: usize) -> usize {
    let len = len as u64;
    usize::try_from(k.saturating_mul(len) / ops.max(1) % len.max(1)).unwrap_or(0)
}

/// The first member at or after `start` (wrapping), other than `except`.
fn next_member(member: &[bool], start: usize, except: Option<usize>) -> Option<usize> {
    (start..member.len())
        .chain(0..start)
        .find(|&i| member[i] && Some(i) != except)
}

/// What happened to the server's footprint while the group existed.
struct Footprint {
    store: Option<u64>,
    memory: Option<ProcMemory>,
}

impl Bench {
    /// Runs the groups scenario with this bench's settings: learns `group_size + group_ops`
    /// user ids, creates a group, grows it by [`BATCH`], times each operation at full size,
    /// reads the footprint, and deletes the group (also when a step failed; not after a
    /// success with `keep_group`).
    pub async fn groups(&self) -> Result<GroupsReport, GroupsError> {
        let config = self.config();
        let size = config.group_size;
        let ops = config.group_ops;
        if size == 0 {
            return Err(GroupsError::EmptyGroup);
        }
        let need = size + ops;
        let ids = self.learn_ids(need).await?;
        if (ids.len() as u64) < need {
            return Err(GroupsError::NotEnoughUsers {
                have: ids.len(),
                need,
            });
        }
        let before = self.footprint()?;
        let gid = self.create_group().await?;
        let result = self.work(&gid, &ids, before).await;
        if config.keep_group && result.is_ok() {
            return result;
        }
        let delete = self
            .checked(&scenario::delete_group(&gid), "delete the group")
            .await;
        // The work's failure is the one to tell; the delete was only tidying up after it.
        let report = result?;
        delete?;
        Ok(report)
    }

    async fn create_group(&self) -> Result<String, GroupsError> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let name = format!("bench-group-{}", self.run_tag());
        let what = "create the group";
        let answer = self.checked(&scenario::create_group(&name), what).await?;
        serde_json::from_slice::<Created>(&answer.body)
            .map(|c| c.id)
            .map_err(|e| GroupsError::Answer {
                what: describe(&scenario::create_group(&name), what),
                problem: format!("no id in the answer: {e}"),
            })
    }

    async fn work(
        &self,
        gid: &str,
        ids: &[String],
        before: Footprint,
    ) -> Result<GroupsReport, GroupsError> {
        let config = self.config();
        let size = usize::try_from(config.group_size).unwrap_or(usize::MAX);
        let ops = config.group_ops;
        // member[i]: whether ids[i] is in the group now.
        let mut member = vec![false; ids.len()];

        // Growing the group, 100 members per PATCH, each timed in its size band.
        let batches = size.div_ceil(BATCH) as u64;
        let last_tenth = batches - (batches / 10).max(1);
        let mut bands: Vec<(u64, u64, u64, Latencies)> = Vec::new();
        let mut last = (0, 0, Latencies::new()?);
        let started = Instant::now();
        for (b, chunk) in ids[..size].chunks(BATCH).enumerate() {
            let found = (b * BATCH) as u64;
            let what = format!("add members {}..{}", found + 1, found + chunk.len() as u64);
            let latency = self
                .timed(&scenario::add_members(gid, chunk), &what)
                .await?;
            member[b * BATCH..b * BATCH + chunk.len()].fill(true);
            let band = decade(found);
            match bands.last_mut() {
                Some((d, _, to, l)) if *d == band => {
                    *to = found;
                    l.record(latency);
                }
                _ => {
                    let mut l = Latencies::new()?;
                    l.record(latency);
                    bands.push((band, found, found, l));
                }
            }
            if b as u64 >= last_tenth {
                if last.2.count() == 0 {
                    last.0 = found;
                }
                last.1 = found;
                last.2.record(latency);
            }
        }
        let build = started.elapsed();
        let mut size_bands: Vec<SizeBand> = bands
            .into_iter()
            .map(|(_, from, to, l)| SizeBand {
                name: format!("{from}..{to}"),
                from,
                to,
                latency: l.summary(),
            })
            .collect();
        size_bands.push(SizeBand {
            name: format!("last {}: {}..{}", last.2.count(), last.0, last.1),
            from: last.0,
            to: last.1,
            latency: last.2.summary(),
        });

        // At full size: add a user not yet in the group, then remove a member elsewhere in
        // it, so the size stays and every add and remove is of a different user.
        let mut add = Latencies::new()?;
        let mut remove = Latencies::new()?;
        for k in 0..ops {
            let extra = size + usize::try_from(k).unwrap_or(usize::MAX);
            let what = format!("add member #{extra} at full size");
            let spec = scenario::add_members(gid, &ids[extra..=extra]);
            add.record(self.timed(&spec, &what).await?);
            member[extra] = true;
            let Some(gone) = next_member(&member, spread(k, ops, size), Some(extra)) else {
                break;
            };
            let what = format!("remove member #{gone}");
            let spec = scenario::remove_member(gid, &ids[gone]);
            remove.record(self.timed(&spec, &what).await?);
            member[gone] = false;
        }

        let mut rename = Latencies::new()?;
        for k in 0..ops {
            let name = format!("bench-group-{}-renamed-{k}", self.run_tag());
            rename.record(
                self.timed(&scenario::rename_group(gid, &name), "rename the group")
                    .await?,
            );
        }

        let mut probe = Latencies::new()?;
        for k in 0..ops {
            let Some(uid) = next_member(&member, spread(k, ops, member.len()), None) else {
                break;
            };
            let spec = scenario::probe_member(gid, &ids[uid]);
            probe.record(self.probe(&spec, uid).await?);
        }

        let mut slim = Latencies::new()?;
        for _ in 0..ops {
            let spec = scenario::get_group(gid, false);
            slim.record(self.timed(&spec, "get the group without members").await?);
        }

        let mut full = Latencies::new()?;
        let mut listed = None;
        for _ in 0..FULL_GETS.min(ops) {
            let spec = scenario::get_group(gid, true);
            let answer = self.checked(&spec, "get the group").await?;
            full.record(answer.latency);
            listed = Some((members_listed(&answer.body), answer.body.len() as u64));
        }

        let after = self.footprint()?;
        let both = |b: Option<u64>, a: Option<u64>| {
            Some(BeforeAfter {
                before: b?,
                after: a?,
            })
        };
        let op = |name, latency: Latencies| OperationLatency {
            name,
            latency: latency.summary(),
        };
        Ok(GroupsReport {
            group_size: size as u64,
            batch_size: BATCH as u64,
            batches,
            build,
            bands: size_bands,
            operations: vec![
                op("add_member", add),
                op("remove_member", remove),
                op("rename", rename),
                op("probe_member", probe),
                op("get_without_members", slim),
                op("get_full", full),
            ],
            full_get_members: listed.and_then(|(m, _)| m),
            full_get_bytes: listed.map(|(_, b)| b),
            store_bytes: both(before.store, after.store),
            pid: self.config().pid,
            memory: before
                .memory
                .zip(after.memory)
                .map(|(before, after)| BeforeAfter { before, after }),
        })
    }

    fn footprint(&self) -> Result<Footprint, FootprintError> {
        let config = self.config();
        Ok(Footprint {
            store: config
                .store_path
                .as_deref()
                .map(footprint::store_bytes)
                .transpose()?,
            memory: config.pid.map(footprint::process_memory).transpose()?,
        })
    }

    /// The membership probe of member `uid`: one group must match.
    async fn probe(&self, spec: &RequestSpec, uid: usize) -> Result<Duration, GroupsError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct ListHead {
            total_results: u64,
        }
        let what = format!("probe member #{uid}");
        let answer = self.checked(spec, &what).await?;
        match serde_json::from_slice::<ListHead>(&answer.body) {
            Ok(h) if h.total_results == 1 => Ok(answer.latency),
            Ok(h) => Err(GroupsError::Answer {
                what: describe(spec, &what),
                problem: format!("totalResults {} for a member, expected 1", h.total_results),
            }),
            Err(e) => Err(GroupsError::Answer {
                what: describe(spec, &what),
                problem: format!("not a ListResponse: {e}"),
            }),
        }
    }

    async fn timed(&self, spec: &RequestSpec, what: &str) -> Result<Duration, GroupsError> {
        Ok(self.checked(spec, what).await?.latency)
    }

    /// Sends `spec`; anything but a 2xx is an error naming the request (`what`, method, path).
    async fn checked(
        &self,
        spec: &RequestSpec,
        what: &str,
    ) -> Result<crate::run::Answer, GroupsError> {
        let answer = self.send(spec).await.map_err(|e| GroupsError::Transport {
            what: describe(spec, what),
            source: e.error,
        })?;
        if !answer.status.is_success() {
            const SHOWN: usize = 300;
            let body = String::from_utf8_lossy(&answer.body);
            let body: String = body.chars().take(SHOWN).collect();
            return Err(GroupsError::Status {
                what: describe(spec, what),
                status: answer.status.as_u16(),
                body,
            });
        }
        Ok(answer)
    }
}

/// `what (METHOD path)`, with the path cut short: a probe's is long.
fn describe(spec: &RequestSpec, what: &str) -> String {
    const SHOWN: usize = 160;
    let mut path: String = spec.path.chars().take(SHOWN).collect();
    if path.len() < spec.path.len() {
        path.push('…');
    }
    format!("{what} ({} {path})", spec.method)
}

/// How many members a full group lists, if the body is a group.
fn members_listed(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Members {
        #[serde(default)]
        members: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Members>(body)
        .ok()
        .map(|g| g.members.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_of_the_group_size() {
        let bands: Vec<u64> = [
            0, 1, 9, 10, 99, 100, 900, 1000, 9900, 10_000, 99_900, 100_000,
        ]
        .into_iter()
        .map(decade)
        .collect();
        assert_eq!(
            bands,
            [
                0, 1, 1, 10, 10, 100, 100, 1000, 1000, 10_000, 10_000, 100_000
            ]
        );
        assert_eq!(decade(u64::MAX), 10_000_000_000_000_000_000);
    }

    #[test]
    fn spread_covers_the_range_evenly() {
        let starts: Vec<usize> = (0..4).map(|k| spread(k, 4, 100)).collect();
        assert_eq!(starts, [0, 25, 50, 75]);
        assert_eq!(spread(3, 0, 100), 0, "no operations: no division by zero");
        assert_eq!(spread(1, 1, 0), 0);
    }

    #[test]
    fn next_member_wraps_and_skips() {
        let member = [false, true, false, true];
        assert_eq!(next_member(&member, 0, None), Some(1));
        assert_eq!(next_member(&member, 2, None), Some(3));
        assert_eq!(next_member(&member, 2, Some(3)), Some(1));
        assert_eq!(next_member(&[false, true], 0, Some(1)), None);
    }

    #[test]
    fn members_are_counted_in_a_full_group() {
        let body = br#"{"id":"g","members":[{"value":"a"},{"value":"b"}]}"#;
        assert_eq!(members_listed(body), Some(2));
        assert_eq!(members_listed(br#"{"id":"g"}"#), Some(0));
        assert_eq!(members_listed(b"<html>"), None);
    }

    /// An in-memory SCIM server of `users` users and groups, just enough for the scenario,
    /// that answers 500 to the `fail_patch`-th PATCH if set.
    mod fake {
        use std::collections::{BTreeSet, HashMap};
        use std::sync::Mutex;

        use actix_web::{App, HttpResponse, HttpServer, web};
        use serde_json::{Value, json};

        pub struct State {
            pub users: usize,
            pub fail_patch: Option<usize>,
            pub patches: Mutex<usize>,
            pub members: Mutex<BTreeSet<String>>,
            pub name: Mutex<String>,
            pub deleted: Mutex<bool>,
        }

        type Data = web::Data<State>;
        type Query = web::Query<HashMap<String, String>>;

        async fn users(state: Data, q: Query) -> HttpResponse {
            let start: usize = q
                .get("startIndex")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let count: usize = q.get("count").and_then(|v| v.parse().ok()).unwrap_or(100);
            let ids: Vec<Value> = (start - 1..(start - 1 + count).min(state.users))
                .map(|i| json!({"id": format!("u{i}")}))
                .collect();
            HttpResponse::Ok().json(json!({"totalResults": state.users, "Resources": ids}))
        }

        async fn create(state: Data, body: web::Json<Value>) -> HttpResponse {
            *state.name.lock().unwrap() = body["displayName"].as_str().unwrap().to_owned();
            HttpResponse::Created()
                .json(json!({"id": "g1", "displayName": *state.name.lock().unwrap()}))
        }

        async fn patch(state: Data, body: web::Json<Value>) -> HttpResponse {
            let n = {
                let mut p = state.patches.lock().unwrap();
                *p += 1;
                *p
            };
            if state.fail_patch == Some(n) {
                return HttpResponse::InternalServerError().body("database is locked");
            }
            let mut members = state.members.lock().unwrap();
            for op in body["Operations"].as_array().unwrap() {
                let path = op["path"].as_str().unwrap();
                match op["op"].as_str().unwrap() {
                    "Add" if path == "members" => {
                        for m in op["value"].as_array().unwrap() {
                            members.insert(m["value"].as_str().unwrap().to_owned());
                        }
                    }
                    "Remove" => {
                        let id = path.strip_prefix("members[value eq \"").unwrap();
                        let id = id.strip_suffix("\"]").unwrap();
                        assert!(members.remove(id), "removing a non-member {id}");
                    }
                    "Replace" if path == "displayName" => {
                        *state.name.lock().unwrap() = op["value"].as_str().unwrap().to_owned();
                    }
                    _ => return HttpResponse::BadRequest().finish(),
                }
            }
            HttpResponse::NoContent().finish()
        }

        async fn probe(state: Data, q: Query) -> HttpResponse {
            assert_eq!(
                q.get("excludedAttributes").map(String::as_str),
                Some("members")
            );
            let filter = &q["filter"];
            let uid = filter.split("members[value eq \"").nth(1).unwrap();
            let uid = uid.trim_end_matches("\"]");
            let hit = state.members.lock().unwrap().contains(uid);
            HttpResponse::Ok().json(json!({"totalResults": u64::from(hit), "Resources": []}))
        }

        async fn get(state: Data, q: Query) -> HttpResponse {
            let mut group = json!({"id": "g1", "displayName": *state.name.lock().unwrap()});
            if !q.contains_key("excludedAttributes") {
                let members: Vec<Value> = state
                    .members
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|m| json!({"value": m}))
                    .collect();
                group["members"] = members.into();
            }
            HttpResponse::Ok().json(group)
        }

        async fn delete(state: Data) -> HttpResponse {
            *state.deleted.lock().unwrap() = true;
            HttpResponse::NoContent().finish()
        }

        /// Serves `state` on a free port; the base URL and the server's handle.
        pub fn serve(state: State) -> (String, web::Data<State>, actix_web::dev::ServerHandle) {
            let data = web::Data::new(state);
            let app_data = data.clone();
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}/scim/v2/fake", listener.local_addr().unwrap());
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(app_data.clone())
                    .route("/scim/v2/fake/Users", web::get().to(users))
                    .route("/scim/v2/fake/Groups", web::post().to(create))
                    .route("/scim/v2/fake/Groups", web::get().to(probe))
                    .route("/scim/v2/fake/Groups/g1", web::patch().to(patch))
                    .route("/scim/v2/fake/Groups/g1", web::get().to(get))
                    .route("/scim/v2/fake/Groups/g1", web::delete().to(delete))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let handle = server.handle();
            tokio::spawn(server);
            (base, data, handle)
        }

        pub fn state(users: usize, fail_patch: Option<usize>) -> State {
            State {
                users,
                fail_patch,
                patches: Mutex::new(0),
                members: Mutex::new(BTreeSet::new()),
                name: Mutex::new(String::new()),
                deleted: Mutex::new(false),
            }
        }
    }

    fn config(base: &str, size: u64, ops: u64) -> crate::BenchConfig {
        let mut config = crate::BenchConfig::new(base, "t", crate::Scenario::Groups);
        config.group_size = size;
        config.group_ops = ops;
        config
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn groups_runs_every_phase_against_a_fake_server() {
        let (base, state, handle) = fake::serve(fake::state(1300, None));
        let store =
            std::env::temp_dir().join(format!("scim-bench-groups-{}.db", std::process::id()));
        std::fs::write(&store, [0u8; 1000]).unwrap();
        let mut config = config(&base, 1250, 20);
        config.store_path = Some(store.clone());
        config.pid = Some(std::process::id());
        let bench = Bench::new(config).unwrap();
        let report = bench.groups().await.unwrap();
        std::fs::remove_file(&store).unwrap();

        assert_eq!((report.group_size, report.batches), (1250, 13));
        let bands: Vec<(&str, u64)> = report
            .bands
            .iter()
            .map(|b| (b.name.as_str(), b.latency.count))
            .collect();
        assert_eq!(
            bands,
            [
                ("0..0", 1),
                ("100..900", 9),
                ("1000..1200", 3),
                ("last 1: 1200..1200", 1)
            ]
        );
        let counts: Vec<(&str, u64)> = report
            .operations
            .iter()
            .map(|o| (o.name, o.latency.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("add_member", 20),
                ("remove_member", 20),
                ("rename", 20),
                ("probe_member", 20),
                ("get_without_members", 20),
                ("get_full", FULL_GETS)
            ]
        );
        // Twenty extra users in, twenty original members out: the size stayed.
        let members = state.members.lock().unwrap().clone();
        assert_eq!(members.len(), 1250);
        assert!(members.contains("u1269") && !members.contains("u0"));
        assert_eq!(report.full_get_members, Some(1250));
        assert!(report.full_get_bytes.unwrap() > 1250 * 10);
        assert!(state.name.lock().unwrap().ends_with("-renamed-19"));
        assert!(*state.deleted.lock().unwrap());
        assert_eq!(
            report.store_bytes.map(|s| (s.before, s.after)),
            Some((1000, 1000))
        );
        assert!(report.memory.unwrap().after.rss_anon_kb > 0);
        let text = report.text();
        assert!(
            text.starts_with("groups: 1250 members in 13 PATCHes of 100"),
            "{text}"
        );
        assert!(
            text.contains("probe_member") && text.contains("store: "),
            "{text}"
        );
        let json = report.to_json();
        assert_eq!(json["operations"]["get_full"]["count"], FULL_GETS);
        assert_eq!(json["build_bands"][2]["from"], 1000);
        assert_eq!(json["store_bytes"]["before"], 1000);
        handle.stop(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_request_is_named_and_the_group_deleted() {
        let (base, state, handle) = fake::serve(fake::state(300, Some(3)));
        let bench = Bench::new(config(&base, 250, 5)).unwrap();
        let e = bench.groups().await.unwrap_err().to_string();
        assert_eq!(
            e,
            "add members 201..250 (PATCH /Groups/g1) answered 500: database is locked"
        );
        assert!(*state.deleted.lock().unwrap());

        let bench = Bench::new(config(&base, 296, 5)).unwrap();
        let e = bench.groups().await.unwrap_err();
        assert!(
            matches!(
                e,
                GroupsError::NotEnoughUsers {
                    have: 300,
                    need: 301
                }
            ),
            "{e}"
        );
        handle.stop(false).await;
    }

    #[test]
    fn errors_name_the_request() {
        let spec = scenario::remove_member("g1", "u1");
        let e = GroupsError::Status {
            what: describe(&spec, "remove member #7"),
            status: 500,
            body: "boom".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "remove member #7 (PATCH /Groups/g1) answered 500: boom"
        );
    }
}
