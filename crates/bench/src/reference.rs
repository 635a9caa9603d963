//! The reference server of `--reference`: bare actix-web answering the reads of the filter and
//! get scenarios with fixed bodies, in this process. What a server costs is then given as a
//! ratio to what the framework alone manages on the same machine in the same run.

use std::io;
use std::net::{SocketAddr, TcpListener};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::report::Report;
use crate::run::{Bench, BenchConfig, BenchError};
use crate::scenario::Scenario;

/// Workers of the reference server unless told otherwise (`--reference-workers`).
pub const DEFAULT_WORKERS: usize = 2;

/// The user every answer carries: the shape and size of a seeded user as a SCIM server
/// returns it (meta included).
macro_rules! user_json {
    () => {
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"6c9f1e52-3b7a-4d1e-9a2f-8e5b0c7d4a13","externalId":"ext-bench-0000042","userName":"bench-0000042@example.edu","name":{"givenName":"Bench","familyName":"bench-0000042","formatted":"Bench bench-0000042"},"displayName":"Bench bench-0000042","active":true,"emails":[{"value":"bench-0000042@example.edu","type":"work","primary":true}],"meta":{"resourceType":"User","created":"2025-01-15T09:30:12Z","lastModified":"2025-01-15T09:30:12Z","location":"http://127.0.0.1:8080/scim/v2/reference/Users/6c9f1e52-3b7a-4d1e-9a2f-8e5b0c7d4a13","version":"W/\"1\""}}"#
    };
}

/// The body of `GET /Users/{id}`, whatever the id.
pub const USER: &str = user_json!();

/// The body of `GET /Users?…`, whatever the query: a ListResponse of [`USER`].
pub const LIST: &str = concat!(
    r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":["#,
    user_json!(),
    "]}"
);

const SCIM_JSON: &str = "application/scim+json";

/// A running reference server.
pub struct ReferenceServer {
    addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// Starts the reference server on 127.0.0.1, port 0, with `workers` actix workers.
pub fn start(workers: usize) -> io::Result<ReferenceServer> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    // The same route shapes as a gateway with connectors: a dynamic segment before /Users.
    let server = HttpServer::new(|| {
        App::new()
            .route("/scim/v2/{connector}/Users", web::get().to(list))
            .route("/scim/v2/{connector}/Users/{id}", web::get().to(user))
    })
    .workers(workers.max(1))
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    Ok(ReferenceServer { addr, handle, task })
}

async fn list() -> HttpResponse {
    HttpResponse::Ok().content_type(SCIM_JSON).body(LIST)
}

async fn user() -> HttpResponse {
    HttpResponse::Ok().content_type(SCIM_JSON).body(USER)
}

impl ReferenceServer {
    /// The SCIM base URL to give the bench: `http://127.0.0.1:PORT/scim/v2/reference`.
    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2/reference", self.addr)
    }

    /// Stops accepting and waits for the workers to end.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        // The server's own result says nothing about the measurements already taken.
        let _ = self.task.await;
    }
}

/// Runs each of `scenarios` that the reference answers (filter, get) against a reference
/// server of `workers` workers, with `config`'s load (concurrency, duration, warm-up, seed);
/// calls `done` with each report, marked `reference`, as it completes.
pub async fn measure(
    config: &BenchConfig,
    scenarios: &[Scenario],
    workers: usize,
    mut done: impl FnMut(&Report),
) -> Result<Vec<Report>, BenchError> {
    let mut wanted: Vec<Scenario> = Vec::new();
    for &s in scenarios {
        if s.has_reference() && !wanted.contains(&s) {
            wanted.push(s);
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let server = start(workers).map_err(BenchError::Reference)?;
    let mut config = config.clone();
    config.base_url = server.base_url();
    let result = run_all(config, &wanted, &mut done).await;
    server.stop().await;
    result
}

async fn run_all(
    config: BenchConfig,
    scenarios: &[Scenario],
    done: &mut impl FnMut(&Report),
) -> Result<Vec<Report>, BenchError> {
    let bench = Bench::new(config)?;
    let mut reports = Vec::with_capacity(scenarios.len());
    for &scenario in scenarios {
        let mut report = bench.run(scenario).await?;
        report.reference = true;
        done(&report);
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bodies_are_a_realistic_user_and_list() {
        let user: serde_json::Value = serde_json::from_str(USER).unwrap();
        let list: serde_json::Value = serde_json::from_str(LIST).unwrap();
        assert_eq!(list["totalResults"], 1);
        assert_eq!(list["Resources"][0], user);
        assert_eq!(user["meta"]["resourceType"], "User");
        assert!((500..=800).contains(&USER.len()), "{}", USER.len());
        assert!((550..=800).contains(&LIST.len()), "{}", LIST.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filter_and_get_run_clean_against_the_reference() {
        let server = start(2).unwrap();
        let answer = reqwest::get(format!("{}/Users/anything", server.base_url()))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], SCIM_JSON);
        assert_eq!(answer.text().await.unwrap(), USER);
        server.stop().await;

        let mut config = BenchConfig::new("http://127.0.0.1:1/unused", "ignored", Scenario::Filter);
        config.concurrency = 4;
        config.warmup = Duration::ZERO;
        config.requests = Some(200);
        let mut seen = Vec::new();
        let scenarios = [
            Scenario::Seed,
            Scenario::Filter,
            Scenario::Get,
            Scenario::Filter,
        ];
        let reports = measure(&config, &scenarios, 2, |r| seen.push(r.scenario))
            .await
            .unwrap();
        assert_eq!(
            seen,
            [Scenario::Filter, Scenario::Get],
            "once each, in order"
        );
        for r in &reports {
            assert!(r.reference);
            assert!(r.errors.is_empty(), "{}: {:?}", r.scenario, r.errors);
            assert_eq!((r.ok, r.requests), (200, 200));
            assert_eq!(r.concurrency, 4, "the load of the real run");
            assert!(r.rate() > 0.0);
        }
    }
}
