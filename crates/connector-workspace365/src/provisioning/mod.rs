//! The `workspace365` connector: SCIM Users onto the Workspace 365 Provisioning API
//! (docs/connectors/workspace365.md "Workspace 365 Provisioning API"), with optional extras through the environment API (docs/connectors/workspace365.md "The environment API").
//!
//! * create: validate (W2) when `validate_first`, then create (W1); the integer id and the
//!   address the vendor now has are the vendor keys. `active: false` is followed by W6. The
//!   password is SCIM's, else a generated one (`password_policy`), never stored or logged.
//! * the vendor's duplicate answer on create (400 "already exists" on `EmailAddress`) adopts
//!   the account: it is updated to match SCIM (SCIM's password only; a generated one would
//!   lock its owner out) and marked `adopted`. This is also how a create replayed after a
//!   crash finds its own first attempt, so a create is idempotent although W1 is not.
//! * update: W4 (when `validate_first`) and W3 at the address the vendor has now (a new
//!   primary e-mail is a rename: the old address in the path, the new one in the body), only
//!   when something the vendor holds changed; then W5/W6 when `active` changed. A 404 at the
//!   old address retries at the new one (a replayed rename); a user the vendor no longer has
//!   at all is created again.
//! * delete: W7; 404 means already gone. Integration credentials stay at the vendor (the
//!   environment API has no call to remove them).
//! * extras (environment API): a welcome activity after a create (at most once: a failure is
//!   logged and the SCIM call still succeeds, since the user exists and a retry would adopt
//!   without welcoming); integration credentials from the extension, posted once and then
//!   updated by id. A credentials failure fails the SCIM call so that the client's retry
//!   (which adopts the user) sends them again.
//! * no read API: reads come from the store, and reconciliation cannot list the vendor.

mod api;
mod connector;
pub mod mapping;
mod password;
mod settings;

pub use api::{
    PROBE_ADDRESS, ProvisioningApi, ProvisioningError, UserBody, ValidationMessage,
    parse_validation,
};
pub use connector::Workspace365;
pub use mapping::{Desired, EXTENSION_URN, VendorKeys, VendorUser};
pub use password::generate as generate_password;
pub use settings::{PasswordPolicy, WelcomeActivity, Workspace365Settings};
