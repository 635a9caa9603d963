//! scim-bench: drives any SCIM 2.0 server over HTTP with named scenarios (Entra's
//! match-then-create, filter lookups, GET by id, PATCH storms, Bulk) at a given concurrency,
//! and reports requests per second, latency percentiles and errors by status.

pub mod report;
pub mod run;
pub mod scenario;

pub use report::{LatencySummary, Report};
pub use run::{Bench, BenchConfig, BenchError, run_scenario};
pub use scenario::Scenario;
