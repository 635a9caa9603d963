//! HTTP handlers, registered by [`crate::configure`].

pub mod admin;
pub mod bulk;
pub mod discovery;
pub mod health;
pub mod history;
pub mod resources;
