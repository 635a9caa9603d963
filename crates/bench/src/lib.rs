//! scim-bench: drives any SCIM 2.0 server over HTTP with named scenarios (Entra's
//! match-then-create, filter lookups, GET by id, PATCH storms, Bulk, one big group) at a given
//! concurrency, and reports requests per second, latency percentiles and errors by status,
//! optionally as ratios to a bare actix-web reference server measured in the same run.

pub mod footprint;
pub mod groups;
pub mod reference;
pub mod report;
pub mod run;
pub mod scenario;

pub use groups::GroupsError;
pub use report::{GroupsReport, LatencySummary, Report};
pub use run::{Bench, BenchConfig, BenchError, run_scenario};
pub use scenario::Scenario;
