//! Text no store can keep. PostgreSQL refuses the NUL character (U+0000) in any text value
//! (SQLite keeps it), so an identity provider's string holding one would be accepted on one
//! backend and fail as a store outage on the other, after the vendor had been called. The
//! gateway refuses it wherever it arrives, alike on both: in a body, a query parameter, a path.
//! (Invalid UTF-8 never reaches a store: a Rust string cannot hold it, and the JSON parser
//! refuses lone surrogates.)

use serde_json::Value;

use crate::error::{ScimError, ScimType};

/// Where the first NUL character in `value` is, as a path into it (`userName`,
/// `Operations[0].value.members[2].value`; a key holding one is named with it shown as
/// `\u0000`); `None` when there is none. An empty path is `value` itself.
pub fn find_nul(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item).map(|rest| format!("[{i}]{}", joined(&rest)))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(escaped(key));
            }
            find_nul(item).map(|rest| format!("{key}{}", joined(&rest)))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// `text` with each NUL shown as `\u0000`, for a detail that names it.
pub fn escaped(text: &str) -> String {
    text.replace('\0', "\\u0000")
}

/// `rest` as it continues a path: `.name` after a key, `[i]` as it is.
fn joined(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_owned()
    } else {
        format!(".{rest}")
    }
}

/// 400 `invalidValue` for a NUL character found in `place` (say, "attribute 'userName'").
pub fn nul_refused(place: &str) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidValue,
        format!(
            "{place} holds a NUL character (U+0000), which cannot be stored; remove it and retry"
        ),
    )
}

/// [`nul_refused`] for a JSON body, naming the path to the first NUL in it.
pub fn check_body(body: &Value) -> Result<(), ScimError> {
    match find_nul(body) {
        None => Ok(()),
        Some(path) if path.is_empty() => Err(nul_refused("the request body")),
        Some(path) => Err(nul_refused(&format!("'{path}' in the request body"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_name_where_the_nul_is() {
        assert_eq!(
            find_nul(&json!({"userName": "a\u{0}b"})),
            Some("userName".into())
        );
        assert_eq!(
            find_nul(&json!({"Operations": [
                {"op": "add", "value": "fine"},
                {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "\u{0}"}]}
            ]})),
            Some("Operations[1].value[1].value".into())
        );
        assert_eq!(
            find_nul(&json!({"name": {"given\u{0}Name": "x"}})),
            Some("name.given\\u0000Name".into())
        );
        assert_eq!(find_nul(&json!(["\u{0}"])), Some("[0]".into()));
        assert_eq!(find_nul(&json!("\u{0}")), Some(String::new()));
    }

    #[test]
    fn text_without_nul_passes() {
        let body = json!({"userName": "bjensen", "n": 1, "ok": true, "none": null,
            "emails": [{"value": "a@x", "display": "\\u0000 spelled out"}]});
        assert_eq!(find_nul(&body), None);
        assert_eq!(check_body(&body), Ok(()));
    }

    #[test]
    fn the_refusal_is_invalid_value_naming_the_path() {
        let error = check_body(&json!({"externalId": "x\u{0}"})).expect_err("refused");
        assert_eq!(error.status, 400);
        assert_eq!(error.scim_type, Some(ScimType::InvalidValue));
        assert!(error.detail.contains("'externalId'"), "{}", error.detail);
    }
}
