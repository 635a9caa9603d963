//! SCIM 2.0 protocol core (RFC 7643, RFC 7644), with no I/O: resources and schemas, attribute
//! paths, filters, PATCH, projection, sorting and paging, Bulk, ETags and errors.
//!
//! Everything here is a pure function of its inputs, so the whole protocol can be tested
//! without a server, a database or a vendor. No published crate applies PATCH or keeps unknown
//! extensions faithfully, which is why this core is written here (see the README).

pub mod bulk;
pub mod error;
pub mod etag;
pub mod filter;
pub mod json;
pub mod patch;
pub mod path;
pub mod project;
pub mod query;
pub mod schema;
pub mod validate;

pub use error::{ScimError, ScimType};
