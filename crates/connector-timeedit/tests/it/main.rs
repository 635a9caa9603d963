//! The timeedit connector and its SOAP client against the TimeEdit simulator over real sockets.

mod api;
mod connector;
mod mapping;
mod status;
