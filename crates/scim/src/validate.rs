//! Incoming resources checked and brought to canonical form against their schemas
//! (RFC 7643 §2, §7; RFC 7644 §3.3, §3.5.1): attribute names in the schema's spelling, string
//! booleans as booleans, nulls and empties dropped (unassigned), readOnly input ignored,
//! required attributes present, `schemas` recomputed from the content.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::json::{as_bool, is_assigned};
use crate::schema::{AttrType, Attribute, Mutability, ResourceSchema};

/// What to do with an attribute no schema of the resource type defines. Attributes under an
/// extension URN the resource type does not know are kept verbatim either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownAttributes {
    /// 400 naming the attribute (the default: a typo should not vanish silently).
    #[default]
    Reject,
    /// Drop it.
    Ignore,
}

/// Why a resource or value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("the request body must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error(
        "unknown attribute '{path}': the {resource_type} schemas define no such attribute (check the spelling, or send it inside an extension schema)"
    )]
    UnknownAttribute { path: String, resource_type: String },
    #[error("attribute '{path}' must be {expected}, found {found}")]
    WrongType {
        path: String,
        expected: &'static str,
        found: String,
    },
    #[error("attribute '{path}' is required")]
    Missing { path: String },
    #[error(
        "attribute '{path}' must be a dateTime such as 2024-05-13T04:42:34Z (RFC 3339), found \"{value}\""
    )]
    InvalidDateTime { path: String, value: String },
    #[error(
        "attribute '{path}' has more than one value with \"primary\": true; at most one may be primary"
    )]
    MultiplePrimary { path: String },
    #[error("attribute '{path}' is immutable: it cannot change once set")]
    Immutable { path: String },
    #[error("attribute '{path}' is readOnly")]
    ReadOnly { path: String },
    #[error(
        "attribute '{path}' would hold {count} values; at most {max} are kept per attribute (scim.max_values_per_attribute)"
    )]
    TooManyValues {
        path: String,
        count: usize,
        max: usize,
    },
    #[error(
        "the resource would take {bytes} bytes stored; at most {max} are kept (scim.max_resource_bytes): remove values it does not need"
    )]
    TooLarge { bytes: usize, max: usize },
}

/// Bounds on what one resource may hold, so that no resource grows without bound (every
/// later write and read of it costs its size). Group members are kept apart and not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimits {
    /// Values of one multi-valued attribute.
    pub max_values: usize,
    /// Bytes of the stored attributes (their JSON text).
    pub max_bytes: usize,
}

impl Default for SizeLimits {
    /// Far above any real directory's: a User has a handful of e-mails, and a few kilobytes.
    fn default() -> Self {
        SizeLimits {
            max_values: 1_000,
            max_bytes: 256 << 10,
        }
    }
}

/// Refuses canonical `attributes` above `limits`.
pub fn check_size(
    attributes: &Map<String, Value>,
    limits: SizeLimits,
) -> Result<(), ValidationError> {
    fn values(
        prefix: &str,
        object: &Map<String, Value>,
        max: usize,
    ) -> Result<(), ValidationError> {
        for (key, value) in object {
            match value {
                Value::Array(items) if items.len() > max => {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}:{key}")
                    };
                    return Err(ValidationError::TooManyValues {
                        path,
                        count: items.len(),
                        max,
                    });
                }
                // An extension's attributes.
                Value::Object(inner) if prefix.is_empty() && crate::json::is_urn(key) => {
                    values(key, inner, max)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
    values("", attributes, limits.max_values)?;
    let mut bytes = ByteCount(0);
    // Counting bytes cannot fail.
    let _ = serde_json::to_writer(&mut bytes, attributes);
    if bytes.0 > limits.max_bytes {
        return Err(ValidationError::TooLarge {
            bytes: bytes.0,
            max: limits.max_bytes,
        });
    }
    Ok(())
}

/// Counts what is written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A short description of a JSON value's kind, for error messages.
pub(crate) fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".into(),
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates a resource sent by POST or PUT and returns its canonical form (without `id` and
/// `meta`, which the server assigns).
pub fn validate_resource(
    schema: &ResourceSchema,
    input: &Value,
    unknown: UnknownAttributes,
) -> Result<Map<String, Value>, ValidationError> {
    let object = input.as_object().ok_or(ValidationError::NotAnObject {
        found: kind_of(input),
    })?;
    let mut out = Map::new();
    for (key, value) in object {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            if value.is_null() {
                continue;
            }
            let fields = value
                .as_object()
                .ok_or_else(|| ValidationError::WrongType {
                    path: ext.id.clone(),
                    expected: "an object of extension attributes",
                    found: kind(value),
                })?;
            let mut ext_out = Map::new();
            for (name, v) in fields {
                let path = format!("{}:{name}", ext.id);
                let Some(attr) = ext.attribute(name) else {
                    reject_unknown(unknown, path, schema)?;
                    continue;
                };
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = coerce(attr, v, &path, unknown)? {
                    ext_out.insert(attr.name.clone(), v);
                }
            }
            if !ext_out.is_empty() {
                out.insert(ext.id.clone(), Value::Object(ext_out));
            }
            continue;
        }
        // `urn:…:core:2.0:User:userName` written out in full.
        let name = strip_core_urn(key, schema);
        match schema.core_attribute(name) {
            Some(attr) => {
                if attr.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = coerce(attr, value, &attr.name, unknown)? {
                    out.insert(attr.name.clone(), v);
                }
            }
            None if crate::json::is_urn(key) => {
                // An extension this resource type does not know: kept as sent, so that it
                // round-trips (RFC 7643 §3.3).
                if is_assigned(value) {
                    out.insert(key.clone(), value.clone());
                }
            }
            None => reject_unknown(unknown, key.clone(), schema)?,
        }
    }
    check_required(schema, &out)?;
    set_schemas(schema, &mut out);
    Ok(out)
}

fn strip_core_urn<'k>(key: &'k str, schema: &ResourceSchema) -> &'k str {
    let core = &schema.core.id;
    // The matched head is ASCII, so `core.len()` and the byte after the ':' are char boundaries.
    match crate::json::starts_with_ci(key, core) && key.as_bytes().get(core.len()) == Some(&b':') {
        true => key
            .get(core.len() + 1..)
            .filter(|rest| !rest.is_empty())
            .unwrap_or(key),
        false => key,
    }
}

fn reject_unknown(
    unknown: UnknownAttributes,
    path: String,
    schema: &ResourceSchema,
) -> Result<(), ValidationError> {
    match unknown {
        UnknownAttributes::Reject => Err(ValidationError::UnknownAttribute {
            path,
            resource_type: schema.resource_type.name.clone(),
        }),
        UnknownAttributes::Ignore => Ok(()),
    }
}

/// Required attributes (core and extension) and required extensions are present.
pub fn check_required(
    schema: &ResourceSchema,
    resource: &Map<String, Value>,
) -> Result<(), ValidationError> {
    for attr in &schema.core.attributes {
        if attr.required
            && attr.mutability != Mutability::ReadOnly
            && !resource.get(&attr.name).is_some_and(is_assigned)
        {
            return Err(ValidationError::Missing {
                path: attr.name.clone(),
            });
        }
    }
    for (ext, required) in &schema.extensions {
        let data = resource.get(&ext.id).and_then(Value::as_object);
        if *required && data.is_none() {
            return Err(ValidationError::Missing {
                path: ext.id.clone(),
            });
        }
        if let Some(data) = data {
            for attr in ext
                .attributes
                .iter()
                .filter(|a| a.required && a.mutability != Mutability::ReadOnly)
            {
                if !data.get(&attr.name).is_some_and(is_assigned) {
                    return Err(ValidationError::Missing {
                        path: format!("{}:{}", ext.id, attr.name),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Sets `schemas` (first key) to the core schema, the registered extensions the resource
/// carries, and any unregistered extension URNs it carries.
pub fn set_schemas(schema: &ResourceSchema, resource: &mut Map<String, Value>) {
    let mut urns = vec![Value::String(schema.core.id.clone())];
    for (ext, _) in &schema.extensions {
        if resource.contains_key(&ext.id) {
            urns.push(Value::String(ext.id.clone()));
        }
    }
    for key in resource.keys() {
        if crate::json::is_urn(key) && schema.extension(key).is_none() {
            urns.push(Value::String(key.clone()));
        }
    }
    resource.shift_insert(0, "schemas".into(), Value::Array(urns));
}

/// PUT (RFC 7644 §3.5.1): immutable attributes that already have a value must not change.
pub fn check_immutable(
    schema: &ResourceSchema,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ValidationError> {
    for (extension, attr) in schema.all_attributes() {
        if attr.mutability != Mutability::Immutable || attr.multi_valued {
            continue;
        }
        let get = |m: &Map<String, Value>| -> Option<Value> {
            match extension {
                Some(urn) => m.get(urn).and_then(|e| e.get(&attr.name)).cloned(),
                None => m.get(&attr.name).cloned(),
            }
        };
        if let Some(before) = get(old)
            && get(new).as_ref() != Some(&before)
        {
            return Err(ValidationError::Immutable {
                path: attr.name.clone(),
            });
        }
    }
    Ok(())
}

/// Coerces one attribute value to its canonical form; `None` means unassigned.
///
/// Lenient where identity providers are known to deviate (RFC 7644 §3.5.2 robustness):
/// `"True"`/`"False"` strings for booleans (Entra ID), a bare string for a complex attribute
/// with a `value` sub-attribute (Entra's manager), a one-element array for a single-valued
/// complex attribute (the older manager form), a single object for a multi-valued attribute.
pub fn coerce(
    attr: &Attribute,
    value: &Value,
    path: &str,
    unknown: UnknownAttributes,
) -> Result<Option<Value>, ValidationError> {
    if value.is_null() {
        return Ok(None);
    }
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            if let Some(v) = coerce_single(attr, item, &format!("{path}[{i}]"), unknown)? {
                out.push(v);
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        if attr.sub_attribute("primary").is_some()
            && out
                .iter()
                .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
                .count()
                > 1
        {
            return Err(ValidationError::MultiplePrimary {
                path: path.to_owned(),
            });
        }
        return Ok(Some(Value::Array(out)));
    }
    match value {
        Value::Array(items) if attr.ty == AttrType::Complex && items.len() == 1 => {
            coerce_single(attr, &items[0], path, unknown)
        }
        Value::Array(_) => Err(ValidationError::WrongType {
            path: path.to_owned(),
            expected: "a single value",
            found: kind(value),
        }),
        _ => coerce_single(attr, value, path, unknown),
    }
}

/// Coerces one value (one element, for a multi-valued attribute).
pub fn coerce_single(
    attr: &Attribute,
    value: &Value,
    path: &str,
    unknown: UnknownAttributes,
) -> Result<Option<Value>, ValidationError> {
    let wrong = |expected: &'static str| ValidationError::WrongType {
        path: path.to_owned(),
        expected,
        found: kind(value),
    };
    let coerced = match (attr.ty, value) {
        (_, Value::Null) => return Ok(None),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            if s.is_empty() {
                return Ok(None);
            }
            let canonical = attr
                .canonical_values
                .iter()
                .find(|c| c.eq_ignore_ascii_case(s) && *c != s);
            Value::String(canonical.cloned().unwrap_or_else(|| s.clone()))
        }
        (AttrType::String | AttrType::Reference | AttrType::Binary, _) => {
            return Err(wrong("a string"));
        }
        (AttrType::Boolean, v) => Value::Bool(as_bool(v).ok_or_else(|| wrong("true or false"))?),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => value.clone(),
        (AttrType::Integer, _) => return Err(wrong("an integer")),
        (AttrType::Decimal, Value::Number(_)) => value.clone(),
        (AttrType::Decimal, _) => return Err(wrong("a number")),
        (AttrType::DateTime, Value::String(s)) => {
            if s.is_empty() {
                return Ok(None);
            }
            OffsetDateTime::parse(s, &Rfc3339).map_err(|_| ValidationError::InvalidDateTime {
                path: path.to_owned(),
                value: s.clone(),
            })?;
            value.clone()
        }
        (AttrType::DateTime, _) => return Err(wrong("a dateTime string")),
        (AttrType::Complex, Value::Object(fields)) => {
            let mut out = Map::new();
            for (name, v) in fields {
                let Some(sub) = attr.sub_attribute(name) else {
                    if unknown == UnknownAttributes::Reject {
                        return Err(ValidationError::UnknownAttribute {
                            path: format!("{path}.{name}"),
                            resource_type: format!("'{}' attribute's", attr.name),
                        });
                    }
                    continue;
                };
                if sub.mutability == Mutability::ReadOnly {
                    continue;
                }
                if let Some(v) = coerce_single(sub, v, &format!("{path}.{}", sub.name), unknown)? {
                    out.insert(sub.name.clone(), v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            Value::Object(out)
        }
        (AttrType::Complex, Value::String(_)) => match attr.sub_attribute("value") {
            Some(sub) => match coerce_single(sub, value, &format!("{path}.value"), unknown)? {
                Some(v) => Value::Object(Map::from_iter([(sub.name.clone(), v)])),
                None => return Ok(None),
            },
            None => return Err(wrong("an object")),
        },
        (AttrType::Complex, _) => return Err(wrong("an object")),
    };
    Ok(Some(coerced))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_URN, GROUP_URN, SchemaRegistry, USER_URN};

    fn users() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    fn valid(input: Value) -> Value {
        Value::Object(
            validate_resource(&users(), &input, UnknownAttributes::Reject)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn invalid(input: Value) -> String {
        validate_resource(&users(), &input, UnknownAttributes::Reject)
            .expect_err("must be refused")
            .to_string()
    }

    /// The body Entra ID documents for a create (docs/identity-providers.md "Entra ID: create"), nulls and all.
    #[test]
    fn entra_create_body_is_canonicalised() {
        let out = valid(json!({
            "schemas": [USER_URN, ENTERPRISE_USER_URN],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
            "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            "addresses": null,
            "title": null,
            "phoneNumbers": [{"type": "mobile", "value": "+1 (555) 010-0101"}],
            ENTERPRISE_USER_URN: {"employeeNumber": "701984", "manager": null}
        }));
        assert_eq!(out["schemas"], json!([USER_URN, ENTERPRISE_USER_URN]));
        assert!(out.get("meta").is_none(), "readOnly input is ignored");
        assert!(
            out.get("roles").is_none()
                && out.get("addresses").is_none()
                && out.get("title").is_none(),
            "empty and null are unassigned"
        );
        assert_eq!(
            out["phoneNumbers"][0]["value"], "+1 (555) 010-0101",
            "stored exactly as sent"
        );
        assert_eq!(
            out[ENTERPRISE_USER_URN],
            json!({"employeeNumber": "701984"})
        );
    }

    /// Okta's create body (docs/identity-providers.md "Okta"): `groups` is readOnly and ignored, `password` kept
    /// (write-only; projection never returns it).
    #[test]
    fn okta_create_body_is_accepted() {
        let out = valid(json!({
            "schemas": [USER_URN],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": true
        }));
        assert!(out.get("groups").is_none());
        assert_eq!(out["password"], "1mz050nq");
    }

    #[test]
    fn names_are_case_insensitive_and_booleans_lenient() {
        let out = valid(
            json!({"USERNAME": "a", "Active": "True", "NAME": {"GivenName": "A"}, "emails": {"value": "a@x", "type": "Work"}}),
        );
        assert_eq!(out["userName"], "a");
        assert_eq!(out["active"], true);
        assert_eq!(out["name"], json!({"givenName": "A"}));
        assert_eq!(
            out["emails"],
            json!([{"value": "a@x", "type": "work"}]),
            "a single object becomes an array; canonical type spelling"
        );
        assert_eq!(
            valid(json!({"userName": "a", "active": "FALSE"}))["active"],
            false
        );
        assert_eq!(
            valid(json!({format!("{USER_URN}:userName"): "full"}))["userName"],
            "full"
        );
    }

    #[test]
    fn manager_forms_are_normalised() {
        let bare = valid(json!({"userName": "a", ENTERPRISE_USER_URN: {"manager": "26118915"}}));
        assert_eq!(
            bare[ENTERPRISE_USER_URN]["manager"],
            json!({"value": "26118915"})
        );
        let old = valid(
            json!({"userName": "a", ENTERPRISE_USER_URN: {"manager": [{"$ref": null, "value": "26118915"}]}}),
        );
        assert_eq!(
            old[ENTERPRISE_USER_URN]["manager"],
            json!({"value": "26118915"})
        );
    }

    #[test]
    fn unknown_extensions_round_trip_and_unknown_attributes_are_named() {
        let out = valid(
            json!({"userName": "a", "urn:example:custom:1.0:User": {"badge": "B-7", "deep": {"x": [1, 2]}}}),
        );
        assert_eq!(
            out["urn:example:custom:1.0:User"],
            json!({"badge": "B-7", "deep": {"x": [1, 2]}})
        );
        assert_eq!(
            out["schemas"],
            json!([USER_URN, "urn:example:custom:1.0:User"])
        );
        assert!(
            invalid(json!({"userName": "a", "shoeSize": 43}))
                .contains("unknown attribute 'shoeSize'")
        );
        assert!(invalid(json!({"userName": "a", "name": {"nick": "x"}})).contains("'name.nick'"));
        let ignored = validate_resource(
            &users(),
            &json!({"userName": "a", "shoeSize": 43}),
            UnknownAttributes::Ignore,
        )
        .expect("ignored");
        assert!(ignored.get("shoeSize").is_none());
    }

    #[test]
    fn type_errors_say_what_was_expected() {
        assert_eq!(
            invalid(json!({"userName": 7})),
            "attribute 'userName' must be a string, found the number 7"
        );
        assert_eq!(
            invalid(json!({"userName": "a", "active": "yes"})),
            "attribute 'active' must be true or false, found the string \"yes\""
        );
        assert_eq!(
            invalid(json!({"displayName": "a"})),
            "attribute 'userName' is required"
        );
        assert_eq!(
            invalid(json!({"userName": ""})),
            "attribute 'userName' is required"
        );
        assert_eq!(
            invalid(json!([1])),
            "the request body must be a JSON object, found an array"
        );
        assert!(invalid(json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}]})).contains("more than one"));
        assert!(
            invalid(json!({"userName": "a", "title": ["x", "y"]}))
                .contains("must be a single value")
        );
        assert!(
            invalid(json!({"userName": "a", ENTERPRISE_USER_URN: "x"}))
                .contains("object of extension attributes")
        );
    }

    #[test]
    fn groups_tolerate_the_adscim_urn_and_null_refs() {
        let groups = SchemaRegistry::standard()
            .resource_schema("Group")
            .expect("Group");
        let out = validate_resource(
            &groups,
            &json!({
                "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1",
                "members": [{"$ref": null, "value": "u1", "display": "User One"}], "meta": {"resourceType": "Group"}
            }),
            UnknownAttributes::Reject,
        )
        .expect("valid");
        assert_eq!(Value::Object(out.clone())["schemas"], json!([GROUP_URN]));
        assert_eq!(
            Value::Object(out)["members"],
            json!([{"value": "u1", "display": "User One"}])
        );
    }

    #[test]
    fn immutable_attributes_cannot_change_on_put() {
        let mut registry = SchemaRegistry::standard();
        registry
            .register_extension(
                "User",
                crate::schema::Schema::new(
                    "urn:x:1.0:User",
                    "X",
                    "X",
                    vec![
                        Attribute::new("badge", AttrType::String).mutability(Mutability::Immutable),
                    ],
                ),
                false,
            )
            .expect("registers");
        let rs = registry.resource_schema("User").expect("User");
        let old = validate_resource(
            &rs,
            &json!({"userName": "a", "urn:x:1.0:User": {"badge": "1"}}),
            UnknownAttributes::Reject,
        )
        .expect("valid");
        let same = validate_resource(
            &rs,
            &json!({"userName": "b", "urn:x:1.0:User": {"badge": "1"}}),
            UnknownAttributes::Reject,
        )
        .expect("valid");
        let changed = validate_resource(
            &rs,
            &json!({"userName": "a", "urn:x:1.0:User": {"badge": "2"}}),
            UnknownAttributes::Reject,
        )
        .expect("valid");
        assert!(check_immutable(&rs, &old, &same).is_ok());
        assert!(check_immutable(&rs, &old, &changed).is_err());
    }

    #[test]
    fn resources_are_bounded_in_values_and_bytes() {
        let limits = SizeLimits {
            max_values: 3,
            max_bytes: 200,
        };
        let object = |v: Value| v.as_object().cloned().expect("object");
        let fine = object(json!({"userName": "u", "emails": [{"value": "a"}, {"value": "b"}]}));
        assert_eq!(check_size(&fine, limits), Ok(()));
        let many = object(json!({"userName": "u", "emails": [1, 2, 3, 4]}));
        assert_eq!(
            check_size(&many, limits),
            Err(ValidationError::TooManyValues {
                path: "emails".into(),
                count: 4,
                max: 3
            })
        );
        let nested = object(json!({crate::schema::ENTERPRISE_USER_URN: {"roles": [1, 2, 3, 4]}}));
        assert!(matches!(
            check_size(&nested, limits),
            Err(ValidationError::TooManyValues { path, .. }) if path.ends_with(":roles")
        ));
        let big = object(json!({"userName": "x".repeat(300)}));
        let Err(ValidationError::TooLarge { bytes, max: 200 }) = check_size(&big, limits) else {
            panic!("300 bytes of userName are over 200");
        };
        assert_eq!(bytes, serde_json::to_vec(&big).expect("json").len());
    }
}
