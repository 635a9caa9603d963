//! HTTP handlers, registered by [`crate::configure`].

pub mod admin;
pub mod bulk;
pub mod console;
pub mod discovery;
pub mod guard;
pub mod health;
pub mod history;
pub mod queue;
pub mod reconcile;
pub mod resources;
