//! The scim-bridge HTTP service: SCIM 2.0 per connector under `/scim/v2/{connector}`, over the
//! store and the connectors.

pub mod auth;
