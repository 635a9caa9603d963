//! TimeEdit's user web service (SOAP; VENDORS.md §2, seed 003): settings, the typed records,
//! and [`TimeEditClient`], which speaks the wire format of VENDORS.md §2.3. No connector yet:
//! this is the vendor side only.

mod client;
mod settings;
mod soap;
mod user;

pub use client::TimeEditClient;
pub use settings::{SettingsError, TimeEditSettings};
pub use user::{
    AuthServer, FindUsers, MAX_USERS_PER_FIND, StatusCode, TeUser, UserKey, UserStatus,
};
