//! The `User` request body and the `ValidationResult` answer (docs/connectors/workspace365.md "Vendor calls", "Quirks").

use serde::Serialize;
use serde_json::{Map, Value};

/// The User object of W1–W4 as sent. Field names are matched case-insensitively, as the .NET
/// JSON binder does; absent and `null` are the same.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct UserBody {
    pub email_address: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_administrator: Option<bool>,
    pub password: Option<String>,
    pub create_in_office365: Option<bool>,
}

/// The body is not a User object. docs/connectors/workspace365.md "The vendor API": "incorrect data object" is a 500, not 400.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IncorrectDataObject;

impl UserBody {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, IncorrectDataObject> {
        let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
            return Err(IncorrectDataObject);
        };
        Ok(Self {
            email_address: string(&fields, "EmailAddress")?,
            first_name: string(&fields, "FirstName")?,
            last_name: string(&fields, "LastName")?,
            is_administrator: boolean(&fields, "IsAdministrator")?,
            password: string(&fields, "Password")?,
            create_in_office365: boolean(&fields, "CreateInOffice365")?,
        })
    }
}

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn string(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, IncorrectDataObject> {
    match field(fields, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(IncorrectDataObject),
    }
}

fn boolean(fields: &Map<String, Value>, name: &str) -> Result<Option<bool>, IncorrectDataObject> {
    match field(fields, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(IncorrectDataObject),
    }
}

/// One entry of a 400 body: the serialized .NET `ValidationResult` (docs/connectors/workspace365.md "Quirks" [O]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationResult {
    #[serde(rename = "MemberNames")]
    pub member_names: Vec<String>,
    #[serde(rename = "ErrorMessage")]
    pub error_message: String,
}

impl ValidationResult {
    pub(crate) fn member(name: &str, message: impl Into<String>) -> Self {
        Self {
            member_names: vec![name.to_owned()],
            error_message: message.into(),
        }
    }

    /// The DataAnnotations `[Required]` message.
    pub(crate) fn required(name: &str) -> Self {
        Self::member(name, format!("The {name} field is required."))
    }
}

/// The .NET `[EmailAddress]` rule in its lenient form: one `@`, text on both sides, no spaces.
pub(crate) fn is_valid_email(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Masks the value of every `"Password"` member (any case) in a recorded JSON body, leaving
/// the rest byte for byte so that tests can still assert on the wire shape.
pub fn mask_password(body: &str) -> String {
    const KEY: &str = "\"password\"";
    let lower = body.to_ascii_lowercase();
    let mut out = String::with_capacity(body.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(KEY) {
        let after_key = search + found + KEY.len();
        search = after_key;
        let rest = &body[after_key..];
        let colon = rest.len() - rest.trim_start().len();
        if !rest[colon..].starts_with(':') {
            continue;
        }
        let value_start = after_key + colon + 1;
        let rest = &body[value_start..];
        let value_start = value_start + (rest.len() - rest.trim_start().len());
        if !body[value_start..].starts_with('"') {
            continue;
        }
        let Some(value_end) = string_end(&body[value_start + 1..]) else {
            // An unterminated string: hide everything after the key.
            out.push_str(&body[copied..value_start]);
            out.push_str("\"***\"");
            return out;
        };
        let value_end = value_start + 1 + value_end;
        out.push_str(&body[copied..value_start]);
        out.push_str("\"***\"");
        copied = value_end + 1;
        search = copied;
    }
    out.push_str(&body[copied..]);
    out
}

/// The byte index of the closing quote of a JSON string whose content starts at `s[0]`.
fn string_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_rejects_wrong_types() {
        let body =
            UserBody::parse(br#"{"emailaddress":"a@b.c","IsAdministrator":true,"Password":null}"#);
        assert_eq!(
            body,
            Ok(UserBody {
                email_address: Some("a@b.c".into()),
                is_administrator: Some(true),
                ..UserBody::default()
            })
        );
        assert!(UserBody::parse(br#"{"IsAdministrator":"yes"}"#).is_err());
        assert!(UserBody::parse(b"[1]").is_err());
        assert!(UserBody::parse(b"").is_err());
    }

    #[test]
    fn email_rule() {
        assert!(is_valid_email("userone@example.com"));
        for bad in ["", "userone", "@example.com", "a@", "a@b@c", "a b@c"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn masks_passwords_only() {
        let body = "{\r\n  \"Password\": \"qw\\\"erty\",\r\n  \"FirstName\": \"User\", \"password\" :\"x\"}";
        assert_eq!(
            mask_password(body),
            "{\r\n  \"Password\": \"***\",\r\n  \"FirstName\": \"User\", \"password\" :\"***\"}"
        );
        assert_eq!(
            mask_password("{\"Password\": \"open"),
            "{\"Password\": \"***\""
        );
        assert_eq!(mask_password("not json"), "not json");
    }
}
