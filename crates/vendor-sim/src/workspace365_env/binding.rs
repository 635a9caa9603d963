//! JSON model binding the way the vendor's .NET stack does it (docs/connectors/workspace365-adsync.md "The vendor API" [O]): property
//! names match case-insensitively, errors accumulate per field like ModelState, and field errors
//! are keyed by the name the client sent.

use serde_json::{Map, Value};

use super::errors::{ApiError, ApiErrorResponse};

/// Parses a request body as a JSON object. An empty body binds as `{}` (so validation reports
/// the missing fields); anything that is not a JSON object is "an incorrect data object": 500.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::IncorrectDataObject(format!(
            "expected a JSON object, got {other}"
        ))),
        Err(e) => Err(ApiError::IncorrectDataObject(e.to_string())),
    }
}

/// A JSON object being bound, with the path prefix used in its field-error names
/// (e.g. `Color.` or `Actions[0].`).
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Obj<'a> {
    pub(crate) fn root(map: &'a Map<String, Value>) -> Self {
        Self { map, prefix: "" }
    }

    /// The property `name`, case-insensitively; JSON `null` counts as absent.
    fn get(&self, name: &str) -> Option<(&'a str, &'a Value)> {
        self.map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The error key for `name`: as the client spelled it when present, else the documented name.
    fn key(&self, name: &str) -> String {
        let sent = self
            .map
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .map_or(name, String::as_str);
        format!("{}{sent}", self.prefix)
    }
}

/// Collects field errors while values are read; [`Binder::finish`] turns them into a 400.
#[derive(Default)]
pub(crate) struct Binder {
    errors: ApiErrorResponse,
}

impl Binder {
    pub(crate) fn error(&mut self, obj: Obj<'_>, name: &str, message: impl Into<String>) {
        self.errors.add_field(obj.key(name), message);
    }

    /// Records a field error under an already-built key (e.g. for path parameters).
    pub(crate) fn error_at(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.errors.add_field(key, message);
    }

    pub(crate) fn required(&mut self, obj: Obj<'_>, name: &str) {
        self.error(obj, name, format!("The {name} field is required."));
    }

    fn invalid(&mut self, obj: Obj<'_>, name: &str, value: &Value) {
        self.error(
            obj,
            name,
            format!("The value '{}' is not valid for {name}.", plain(value)),
        );
    }

    /// An optional string; a non-string value is a field error.
    pub(crate) fn string(&mut self, obj: Obj<'_>, name: &str) -> Option<String> {
        match obj.get(name)? {
            (_, Value::String(s)) => Some(s.clone()),
            (_, other) => {
                self.invalid(obj, name, other);
                None
            }
        }
    }

    /// A string that must be present and not blank.
    pub(crate) fn required_string(&mut self, obj: Obj<'_>, name: &str) -> Option<String> {
        if obj.get(name).is_none() {
            self.required(obj, name);
            return None;
        }
        let value = self.string(obj, name)?;
        if value.trim().is_empty() {
            self.required(obj, name);
            return None;
        }
        Some(value)
    }

    /// A boolean; the seed's examples send `"true"`/`"false"` strings, so those bind too
    /// (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
    pub(crate) fn bool(&mut self, obj: Obj<'_>, name: &str) -> Option<bool> {
        match obj.get(name)? {
            (_, Value::Bool(b)) => Some(*b),
            (_, Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            (_, Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            (_, other) => {
                self.invalid(obj, name, other);
                None
            }
        }
    }

    /// An integer; numeric strings bind too (the seed sends `"Kind": "1"`, docs/connectors/workspace365.md "The environment API").
    pub(crate) fn int(&mut self, obj: Obj<'_>, name: &str) -> Option<i64> {
        let (_, value) = obj.get(name)?;
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            self.invalid(obj, name, value);
        }
        parsed
    }

    /// A nested object; its field errors are named `{prefix}{Name}.{Field}`.
    pub(crate) fn object<'a>(
        &mut self,
        obj: Obj<'a>,
        name: &str,
        prefix: &'a mut String,
    ) -> Option<Obj<'a>> {
        match obj.get(name)? {
            (sent, Value::Object(map)) => {
                *prefix = format!("{}{sent}.", obj.prefix);
                Some(Obj { map, prefix })
            }
            (_, other) => {
                self.invalid(obj, name, other);
                None
            }
        }
    }

    /// A nested array; non-array values are a field error.
    pub(crate) fn array<'a>(
        &mut self,
        obj: Obj<'a>,
        name: &str,
    ) -> Option<(String, &'a Vec<Value>)> {
        match obj.get(name)? {
            (sent, Value::Array(items)) => Some((format!("{}{sent}", obj.prefix), items)),
            (_, other) => {
                self.invalid(obj, name, other);
                None
            }
        }
    }

    /// An element of an array read with [`Binder::array`], as an object named `{key}[i].`.
    pub(crate) fn element<'a>(
        &mut self,
        key: &str,
        index: usize,
        value: &'a Value,
        prefix: &'a mut String,
    ) -> Option<Obj<'a>> {
        *prefix = format!("{key}[{index}].");
        match value {
            Value::Object(map) => Some(Obj { map, prefix }),
            other => {
                self.error_at(
                    format!("{key}[{index}]"),
                    format!("The value '{}' is not valid.", plain(other)),
                );
                None
            }
        }
    }

    /// Ok when nothing failed, else the 400 with every field error collected.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A JSON value as .NET would quote it in a message: strings without their quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
