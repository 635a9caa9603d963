//! PATCH (RFC 7644 §3.5.2): the request model and its parsing; [`apply`] runs the operations.
//!
//! Beyond the RFC, the engine accepts what Entra ID and Okta actually send (docs/identity-providers.md
//! "Entra ID: updates", "Okta"): capitalised ops, string booleans, a filtered `Add` that creates the missing
//! element, path-less values whose keys are paths, a manager as a bare string, `Remove members`
//! with a value list, and `id` inside a path-less value.

mod apply;
pub mod cost;

use serde_json::Value;

pub use apply::{PatchOutcome, apply};

use crate::filter::FilterError;
use crate::json::get_ci;
use crate::path::{PatchPath, PathError};
use crate::validate::ValidationError;

/// URN of the PATCH request message.
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// A parsed PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// `add`, `replace` or `remove`, matched case-insensitively (Entra sends `"Replace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

impl PatchOpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchOpKind::Add => "add",
            PatchOpKind::Replace => "replace",
            PatchOpKind::Remove => "remove",
        }
    }
}

/// Which `scimType` a PATCH failure carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchErrorKind {
    Syntax,
    Path,
    NoTarget,
    Mutability,
    Value,
    /// More work than one request may take ([`cost::MAX_COST`]).
    TooMany,
}

/// A refused PATCH: the kind decides the `scimType`, the detail names the operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct PatchError {
    pub kind: PatchErrorKind,
    pub detail: String,
}

impl PatchError {
    pub(crate) fn new(kind: PatchErrorKind, detail: impl Into<String>) -> Self {
        PatchError {
            kind,
            detail: detail.into(),
        }
    }

    /// Prefixes the detail with the operation it came from.
    pub(crate) fn in_operation(self, index: usize, op: &PatchOperation) -> Self {
        let path = op
            .path
            .as_ref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        PatchError {
            kind: self.kind,
            detail: format!(
                "Operations[{index}] ({}{path}): {}",
                op.op.as_str(),
                self.detail
            ),
        }
    }
}

impl From<PathError> for PatchError {
    fn from(e: PathError) -> Self {
        PatchError::new(PatchErrorKind::Path, e.to_string())
    }
}

impl From<FilterError> for PatchError {
    fn from(e: FilterError) -> Self {
        PatchError::new(PatchErrorKind::Path, e.to_string())
    }
}

impl From<ValidationError> for PatchError {
    fn from(e: ValidationError) -> Self {
        let kind = match e {
            ValidationError::NotAnObject { .. } => PatchErrorKind::Syntax,
            ValidationError::UnknownAttribute { .. } => PatchErrorKind::Path,
            ValidationError::Immutable { .. } | ValidationError::ReadOnly { .. } => {
                PatchErrorKind::Mutability
            }
            _ => PatchErrorKind::Value,
        };
        PatchError::new(kind, e.to_string())
    }
}

impl PatchRequest {
    /// Parses a PATCH body. `schemas` may be omitted (some HR systems do), but when present it
    /// must name the PatchOp message.
    pub fn from_json(body: &Value) -> Result<PatchRequest, PatchError> {
        let syntax = |detail: &str| PatchError::new(PatchErrorKind::Syntax, detail);
        let object = body.as_object().ok_or_else(|| {
            syntax("the PATCH body must be a JSON object with \"schemas\" and \"Operations\"")
        })?;
        if let Some(schemas) = get_ci(object, "schemas") {
            let names_patch_op = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_URN))
                })
            });
            if !names_patch_op {
                return Err(syntax(&format!("\"schemas\" must be [\"{PATCH_OP_URN}\"]")));
            }
        }
        let operations = get_ci(object, "Operations")
            .and_then(Value::as_array)
            .filter(|ops| !ops.is_empty())
            .ok_or_else(|| syntax("\"Operations\" must be a non-empty array of operations"))?;
        if operations.len() > MAX_OPERATIONS {
            return Err(syntax(&format!(
                "at most {MAX_OPERATIONS} operations are accepted in one PATCH, found {}",
                operations.len()
            )));
        }
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| {
                parse_operation(op).map_err(|e| PatchError {
                    detail: format!("Operations[{i}]: {}", e.detail),
                    ..e
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(PatchRequest { operations })
    }
}

fn parse_operation(value: &Value) -> Result<PatchOperation, PatchError> {
    let syntax = |detail: String| PatchError::new(PatchErrorKind::Syntax, detail);
    let object = value
        .as_object()
        .ok_or_else(|| syntax("each operation must be an object with \"op\"".into()))?;
    let op = get_ci(object, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| syntax("\"op\" is missing or not a string".into()))?;
    let op = match op.to_ascii_lowercase().as_str() {
        "add" => PatchOpKind::Add,
        "replace" => PatchOpKind::Replace,
        "remove" => PatchOpKind::Remove,
        _ => {
            return Err(syntax(format!(
                "unknown op \"{op}\"; expected add, replace or remove"
            )));
        }
    };
    let path = match get_ci(object, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(PatchPath::parse(p)?),
        Some(_) => return Err(syntax("\"path\" must be a string".into())),
    };
    let value = get_ci(object, "value").cloned();
    if op != PatchOpKind::Remove && value.is_none() {
        return Err(syntax(format!(
            "an {} operation needs a \"value\"",
            op.as_str()
        )));
    }
    Ok(PatchOperation { op, path, value })
}

#[cfg(test)]
mod tests;
