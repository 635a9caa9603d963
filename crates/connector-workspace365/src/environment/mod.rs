//! The Workspace 365 environment API (docs/connectors/workspace365.md "The environment API"; seed 004) as typed calls:
//! activities, activities-batch, announcements, a user's apps, app icons and integration
//! credentials, under `{base}/{Environment}/…` with `Authorization: Workspace365 {token}`.
//!
//! Calls that create something (every POST) are sent once and never retried: the vendor has
//! no way to tell a repeat from a second request. Reads and the credentials PUT are retried
//! like any safe call. App icon reads are metadata, kept for `metadata_cache.ttl_secs`
//! ([`connector::metadata`]).

mod api;
mod model;
pub mod onboarding;
mod settings;

pub use api::{CredentialsUpdate, EnvApi, EnvApiError};
pub use model::{
    Action, ActivityData, ActivityUser, ApiErrors, App, AppColor, AppIcon, AppIconName,
    CategoryLookup, Color, CreatedActivity, ErrorMessage, GroupLookup, IconContent, IconSource,
    IntegrationCredentials, Media, NewActivity, NewAnnouncement, Scope, UserLookup,
};
pub use onboarding::{Onboarding, WelcomeActivity};
pub use settings::EnvironmentApiSettings;
