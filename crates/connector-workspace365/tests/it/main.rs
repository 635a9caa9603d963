//! The workspace365 and workspace365-adsync connectors against the Workspace 365 simulators
//! over real sockets.

mod adsync;
mod provisioning;
mod status;
