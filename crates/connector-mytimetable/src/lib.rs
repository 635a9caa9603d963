//! The `mytimetable` connector: SCIM Users onto the MyTimetable provisioning API
//! (docs/connectors/mytimetable.md "MyTimetable"). MyTimetable keeps only usernames and push synchronizations, so the store
//! answers every read; this connector makes the vendor hold each user and the synchronizations
//! SCIM asks for.
//!
//! * create and update: ensure the user, then bring its synchronizations to the wanted set
//!   ([`crate::mapping::Mappings::wanted_syncs`]): the connector's extension, else the configured default types;
//!   ids are learnt by listing (the vendor returns none) and kept as vendor keys.
//! * `active: false`: the wanted set is empty, so every synchronization goes (with the
//!   configured `unlinkMode`); reactivating brings them back.
//! * delete: synchronizations first, then the user.
//! * every field comes from the connector's mapping ([`crate::mapping`]); with
//!   `api_profile = "2019.16+"` the user's profile (display name, locale, mail, eppn, roles)
//!   is written too.
//! * a username change: refused, or the old account removed and the new one created.
//! * accounts the vendor already has are adopted: ensuring a user is idempotent, and the
//!   synchronizations it already has of wanted types are kept.
//! * Groups are not offered.

mod api;
mod connector;
pub mod mapping;
mod settings;

pub use api::{Api, Removed};
pub use connector::MyTimetable;
pub use mapping::{EXTENSION_URN, VendorKeys};
pub use settings::{ApiProfile, MyTimetableSettings, RenamePolicy, UnlinkMode};

use std::sync::Arc;

use ::connector::SettingsFactory;

/// The `mytimetable` kind, read from `[connectors.<name>.mytimetable]`, for the binary's
/// registry.
pub fn factory() -> SettingsFactory<MyTimetableSettings> {
    SettingsFactory::new(
        "mytimetable",
        "mytimetable",
        MyTimetableSettings::problems,
        |context, settings| Ok(Arc::new(MyTimetable::new(context, settings)?)),
    )
}
