//! Faithful in-memory simulators of the vendor APIs scim-bridge translates SCIM into.
//!
//! Written from the vendors' own documentation and the contract pages under `docs/connectors/`
//! only, never from connector code, so that the simulators and the connectors catch each
//! other's mistakes.
//!
//! Every simulator runs behind [`server::SimServer`], which records each request
//! ([`log::RequestLog`]) and applies a seeded fault plan ([`faults::Faults`]) before the vendor
//! logic sees it.

pub mod faults;
pub mod golden;
pub mod log;
pub mod mytimetable;
pub mod server;
pub mod timeedit;
pub mod workspace365;
pub mod workspace365_env;

pub use faults::{Fault, FaultRule, Faults, RouteMatch};
pub use log::{RecordedRequest, RequestLog};
pub use server::{SimOptions, SimServer};
