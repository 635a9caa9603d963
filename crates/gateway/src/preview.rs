//! `scim-bridge mapping preview`: what each vendor call would carry for one resource, through
//! a connector's mapping, without calling the vendor. The resource comes from a JSON file
//! (brought to canonical form as a POST would bring it) or from the store.

use connector::PlannedCall;
use connector::mapping::MappedField;
use scim::{ResourceKind, validate_resource};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// Which resource to preview.
#[derive(Debug, Clone)]
pub enum Subject {
    /// A SCIM resource, as a client would POST it.
    Resource(Value),
    /// A stored resource, by SCIM id.
    Id(String),
    /// A stored resource, by its unique attribute (`userName`, a Group's `displayName`).
    Name(String),
}

/// What a write of the resource would send.
#[derive(Debug)]
pub struct Preview {
    /// The SCIM id (a fresh one for a resource from a file, as a create would give it).
    pub id: String,
    /// The canonical attributes the connector maps.
    pub resource: Map<String, Value>,
    /// Each vendor field: its rule and its values.
    pub fields: Vec<MappedField>,
    /// The calls, or the refusal a write would meet.
    pub calls: Result<Vec<PlannedCall>, ApiError>,
}

/// Previews `subject` as a `kind` of the connector `name`. Errors are the ones a SCIM
/// request would meet (unknown connector, invalid resource, not found).
pub async fn preview(
    state: &AppState,
    name: &str,
    kind: ResourceKind,
    subject: Subject,
) -> Result<Preview, ApiError> {
    let runtime = state.connectors.get(name).ok_or_else(|| {
        ApiError::not_found(format!("no connector \"{name}\" in the configuration"))
    })?;
    let schema = runtime.offered_schema(kind)?;
    let stored = |found: Option<store::StoredResource>, what: &str| {
        found.map(|r| (r.id, r.attributes)).ok_or_else(|| {
            ApiError::not_found(format!("the store has no {kind} {what} in \"{name}\""))
        })
    };
    let (id, mut resource) = match subject {
        Subject::Resource(body) => {
            let attributes = validate_resource(schema, &body, runtime.unknown_attributes)?;
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
            (id, attributes)
        }
        Subject::Id(id) => stored(state.store.get(name, kind, &id).await?, &id)?,
        Subject::Name(unique) => {
            let id = state.store.find_by_unique_key(name, kind, &unique).await?;
            let found = match id {
                Some(id) => state.store.get(name, kind, &id).await?,
                None => None,
            };
            stored(found, &format!("named \"{unique}\""))?
        }
    };
    // Members travel apart from the attributes (each is a call of its own).
    if kind == ResourceKind::Group {
        crate::writer::take_members(&mut resource)?;
    }
    let connector = &runtime.connector;
    Ok(Preview {
        fields: connector.mapped(kind, &resource),
        calls: connector
            .preview(kind, &id, &resource)
            .map_err(ApiError::from),
        id,
        resource,
    })
}
