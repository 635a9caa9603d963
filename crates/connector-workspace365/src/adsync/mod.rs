//! The `workspace365-adsync` connector: SCIM Users and Groups onto the Workspace 365
//! ActiveDirectorySync API (docs/connectors/workspace365-adsync.md "Vendor calls", "SCIM mapping"). The API is push-only (no reads), so the
//! store answers every GET; this connector makes the vendor hold what SCIM says.
//!
//! * Users: A1 (upsert by ObjectId) with the fields of [`mapping::Mappings::user_info`]; deactivate is
//!   A1 with `IsActive: false`; delete is A2 (a soft delete at the vendor).
//! * Profile pictures: the preferred `photos` value ([`picture::preferred_photo`]), decoded
//!   from a `data:` URI or fetched from an allowed host, uploaded with A9 when its SHA-256
//!   differs from the one in the vendor keys; A10 when the photo goes.
//! * Groups: A3/A4; members by the change's delta ([`members::diff`]): A5/A6 for
//!   users, A7/A8 for nested groups (the SCIM group is the target), each member's ObjectId
//!   read from its own vendor keys.
//! * The ObjectId is the SCIM `id` or a GUID `externalId` ([`ObjectIdSource`]) and is kept
//!   in the vendor keys; it never changes for a resource.

mod api;
mod connector;
pub mod mapping;
pub mod members;
pub mod picture;
mod settings;

pub use api::Api;
pub use connector::Workspace365AdSync;
pub use mapping::{GROUP_EXTENSION_URN, USER_EXTENSION_URN, VendorKeys};
pub use settings::{AdSyncSettings, DEFAULT_MAX_PICTURE_BYTES, NestedGroupPath, ObjectIdSource};
