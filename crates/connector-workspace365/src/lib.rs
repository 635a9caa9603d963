//! Workspace 365, two connector kinds over three vendor APIs (docs/connectors/workspace365.md,
//! docs/connectors/workspace365-adsync.md):
//!
//! * [`provisioning`]: the `workspace365` kind, SCIM Users onto the Provisioning API, with
//!   optional extras through the environment API.
//! * [`adsync`]: the `workspace365-adsync` kind, SCIM Users and Groups onto the Active
//!   Directory sync API.
//! * [`environment`]: the environment API client both use (activities, integration
//!   credentials, app icons).

pub mod adsync;
pub mod environment;
mod path;
pub mod provisioning;

use std::sync::Arc;

use connector::SettingsFactory;

/// The `workspace365` kind, read from `[connectors.<name>.workspace365]`, for the binary's
/// registry.
pub fn provisioning_factory() -> SettingsFactory<provisioning::Workspace365Settings> {
    SettingsFactory::new(
        "workspace365",
        "workspace365",
        provisioning::Workspace365Settings::problems,
        |context, settings| {
            Ok(Arc::new(provisioning::Workspace365::new(
                context, settings,
            )?))
        },
    )
}

/// The `workspace365-adsync` kind, read from `[connectors.<name>.workspace365_adsync]`, for
/// the binary's registry.
pub fn adsync_factory() -> SettingsFactory<adsync::AdSyncSettings> {
    SettingsFactory::new(
        "workspace365-adsync",
        "workspace365_adsync",
        adsync::AdSyncSettings::problems,
        |context, settings| {
            Ok(Arc::new(adsync::Workspace365AdSync::new(
                context, settings,
            )?))
        },
    )
}
