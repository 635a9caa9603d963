//! The crate's one integration-test binary: one module per simulator.
mod mytimetable;
mod timeedit;
mod workspace365;
mod workspace365_env;
