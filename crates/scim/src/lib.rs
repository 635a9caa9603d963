//! SCIM 2.0 protocol core (RFC 7643, RFC 7644), with no I/O.
//!
//! | module | holds |
//! | --- | --- |
//! | [`schema`] | attribute definitions, the RFC schemas, the per-connector registry |
//! | [`validate`] | incoming resources brought to canonical form against their schemas |
//! | [`resource`] | typed read access to User, Group and the enterprise extension; `id`/`meta` |
//! | [`path`] | attribute paths and PATCH paths |
//! | [`filter`] | the filter grammar: parse, print, check, evaluate |
//! | [`select`] | the values a path names in a resource (what attribute mappings read) |
//! | [`patch`] | PATCH requests and the engine that applies them |
//! | [`project`] | `attributes` / `excludedAttributes` with the `returned` rules |
//! | [`query`] | list and search queries, sorting, paging, ListResponse |
//! | [`etag`] | versions as weak ETags, `If-Match` / `If-None-Match` |
//! | [`bulk`] | Bulk messages and the driver that resolves `bulkId` references |
//! | [`config`] | the ServiceProviderConfig document |
//! | [`error`] | the SCIM error, and the one place every error above becomes one |
//!
//! Everything is a pure function of its inputs, so the protocol is tested without a server, a
//! database or a vendor. No published crate applies PATCH or keeps unknown extensions
//! faithfully (see the README), which is why this core is written here.

pub mod bulk;
pub mod config;
pub mod error;
pub mod etag;
pub mod filter;
pub mod json;
pub mod members;
pub mod patch;
pub mod path;
pub mod project;
pub mod query;
pub mod resource;
pub mod schema;
pub mod select;
pub mod storable;
pub mod validate;

pub use error::{ScimError, ScimType};
pub use filter::Filter;
pub use patch::{PatchOutcome, PatchRequest};
pub use path::{AttrPath, PatchPath};
pub use project::Projection;
pub use query::{ListQuery, ListResponse, QueryLimits};
pub use resource::ResourceKind;
pub use schema::{ResourceSchema, SchemaRegistry};
pub use validate::{UnknownAttributes, validate_resource};

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";
