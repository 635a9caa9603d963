//! TimeEdit's user web service (SOAP; docs/connectors/timeedit.md "TimeEdit", seed 003): settings, the typed records,
//! and [`TimeEditClient`], which speaks the wire format of docs/connectors/timeedit.md "Wire format". [`TimeEdit`] is the connector
//! over it.

mod api;
mod batch;
mod connector;
pub mod mapping;
mod settings;
mod soap;
mod user;

pub use api::TimeEditClient;
pub use connector::TimeEdit;
pub use mapping::EXTENSION_URN;
pub use settings::{RenamePolicy, SettingsError, TimeEditSettings, UnmappedGroups};
pub use user::{
    AuthServer, FindUsers, MAX_USERS_PER_FIND, StatusCode, TeUser, UserKey, UserStatus,
};

use std::sync::Arc;

use ::connector::{ConnectorError, SettingsFactory};

/// The `timeedit` kind, read from `[connectors.<name>.timeedit]`, for the binary's registry.
pub fn factory() -> SettingsFactory<TimeEditSettings> {
    SettingsFactory::new(
        "timeedit",
        "timeedit",
        TimeEditSettings::problems,
        |context, settings| match TimeEdit::new(context, settings) {
            Ok(connector) => Ok(Arc::new(connector)),
            Err(SettingsError::Client(e)) => Err(e),
            Err(e @ SettingsError::Secret(_)) => Err(ConnectorError::Unsupported(e.to_string())),
        },
    )
}
