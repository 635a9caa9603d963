//! Case-insensitive access to JSON objects: SCIM attribute names are case-insensitive
//! (RFC 7643 §2.1), while stored resources keep the schema's spelling.

use serde_json::{Map, Value};

/// The key of `map` equal to `name` ignoring ASCII case (exact match first, it is the common
/// case once resources are canonical).
pub fn key_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m String> {
    if let Some((k, _)) = map.get_key_value(name) {
        return Some(k);
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

/// The value under `name`, ignoring case.
pub fn get_ci<'m>(map: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    key_ci(map, name).and_then(|k| map.get(k))
}

/// Mutable access to the value under `name`, ignoring case.
pub fn get_ci_mut<'m>(map: &'m mut Map<String, Value>, name: &str) -> Option<&'m mut Value> {
    let key = key_ci(map, name)?.clone();
    map.get_mut(&key)
}

/// Removes the value under `name`, ignoring case, keeping the order of the other keys.
pub fn remove_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let key = key_ci(map, name)?.clone();
    map.shift_remove(&key)
}

/// Whether a value counts as assigned: not null, not an empty string, array or object
/// (RFC 7643 §2.5: unassigned, null and empty are equivalent).
pub fn is_assigned(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(is_assigned),
        Value::Object(o) => o.values().any(is_assigned),
        _ => true,
    }
}

/// `true`/`false`, or the strings `"True"`/`"False"` in any case (Entra ID sends strings).
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether `s` starts with `prefix`, ignoring ASCII case. Compares bytes, so it never slices
/// inside a multi-byte character (found by fuzzing).
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Whether `s` is a URN-qualified name (`urn:` in any case).
pub fn is_urn(s: &str) -> bool {
    starts_with_ci(s, "urn:")
}

/// Case-insensitive string equality without allocating in the ASCII case.
pub fn eq_fold(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}
