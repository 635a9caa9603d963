//! TimeEdit's user web service (SOAP; VENDORS.md §2, seed 003): settings, the typed records,
//! and [`TimeEditClient`], which speaks the wire format of VENDORS.md §2.3. [`TimeEdit`] is the connector
//! over it.

mod batch;
mod client;
mod connector;
mod map;
mod settings;
mod soap;
mod user;

pub use client::TimeEditClient;
pub use connector::TimeEdit;
pub use map::EXTENSION_URN;
pub use settings::{SettingsError, TimeEditSettings};
pub use user::{
    AuthServer, FindUsers, MAX_USERS_PER_FIND, StatusCode, TeUser, UserKey, UserStatus,
};
