//! The crate's one integration-test binary: one module per simulator.

mod mytimetable;
mod workspace365;
mod timeedit;
mod workspace365_env;
