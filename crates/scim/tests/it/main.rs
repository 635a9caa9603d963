//! Property and differential tests of the SCIM core (one test binary: faster to link).

mod differential;
mod properties;
mod strategies;
