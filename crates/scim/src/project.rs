//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) with the `returned` rules
//! of RFC 7643 §7: `always` survives any list, `never` (the password) never leaves, `request`
//! only when asked for.

use serde_json::{Map, Value};

use crate::path::{AttrPath, PathError};
use crate::schema::{Attribute, ResourceSchema, Returned, Target};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Parses the comma-separated query parameters. When both are given, `attributes` wins
    /// (RFC 7644 §3.9 allows only one).
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, PathError> {
        let list = |s: Option<&str>| -> Result<Vec<AttrPath>, PathError> {
            s.map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(AttrPath::parse)
                    .collect()
            })
            .unwrap_or(Ok(Vec::new()))
        };
        let attributes = list(attributes)?;
        let excluded = if attributes.is_empty() {
            list(excluded)?
        } else {
            Vec::new()
        };
        Ok(Projection {
            attributes,
            excluded,
        })
    }

    /// Whether this projection shows a resource's stored attributes unchanged, given their
    /// JSON text as the store keeps it (canonical: names in the schema's spelling, nothing
    /// returned `never`, nothing unassigned). That holds for the default projection, unless
    /// an attribute returned only on request or never could be in the text (a schema changed
    /// since it was written): such a name anywhere in it, even in a value, sends the answer
    /// through [`Projection::apply`], so a hidden attribute never goes out.
    pub fn shows_unchanged(&self, schema: &ResourceSchema, stored: &str) -> bool {
        let hidden =
            |attr: &Attribute| matches!(attr.returned, Returned::Never | Returned::Request);
        self.attributes.is_empty()
            && self.excluded.is_empty()
            && schema.all_attributes().all(|(_, attr)| {
                std::iter::once(attr)
                    .chain(&attr.sub_attributes)
                    .all(|a| !hidden(a) || !quotes_name(stored, &a.name))
            })
    }

    /// The resource as the response shows it. It is taken, not copied: a response is built
    /// from a resource once, and copying every value was a large part of rendering it.
    pub fn apply(
        &self,
        schema: &ResourceSchema,
        resource: Map<String, Value>,
    ) -> Map<String, Value> {
        let mut out = Map::with_capacity(resource.len());
        for (key, value) in resource {
            if key == "schemas" {
                out.insert(key, value);
                continue;
            }
            let top = AttrPath::parse(&key).ok();
            let target = top.as_ref().map(|p| schema.resolve(p));
            match target {
                Some(Target::Extension(ext)) => {
                    let Value::Object(fields) = value else {
                        continue;
                    };
                    let kept: Map<String, Value> = fields
                        .into_iter()
                        .filter_map(|(name, v)| {
                            let attr = ext.attribute(&name);
                            let path = AttrPath {
                                urn: Some(ext.id.clone()),
                                name,
                                sub: None,
                            };
                            self.keep_attribute(schema, &path, attr, v)
                        })
                        .collect();
                    if !kept.is_empty() {
                        out.insert(key, Value::Object(kept));
                    }
                }
                Some(Target::Attribute {
                    attr,
                    extension: None,
                    ..
                }) => {
                    let path = AttrPath::simple(&attr.name);
                    if let Some((k, v)) = self.keep_attribute(schema, &path, Some(attr), value) {
                        out.insert(k, v);
                    }
                }
                _ => {
                    // Unregistered extensions and unknown attributes: returned by default.
                    let path = AttrPath::simple(&key);
                    if self.wanted(schema, &path) {
                        out.insert(key, value);
                    }
                }
            }
        }
        out
    }

    fn keep_attribute(
        &self,
        schema: &ResourceSchema,
        path: &AttrPath,
        attr: Option<&Attribute>,
        value: Value,
    ) -> Option<(String, Value)> {
        let name = attr.map_or(path.name.clone(), |a| a.name.clone());
        let returned = attr.map_or(Returned::Default, |a| a.returned);
        match returned {
            Returned::Never => return None,
            Returned::Always => return Some((name, strip_never(attr, value))),
            Returned::Request if !self.listed(schema, path) => return None,
            _ => {}
        }
        if !self.wanted(schema, path) {
            return None;
        }
        // `attributes=name.givenName` or `emails.value`: only those sub-attributes.
        let subs: Vec<&str> = self
            .attributes
            .iter()
            .filter(|a| same_attribute(schema, a, path))
            .filter_map(|a| a.sub.as_deref())
            .collect();
        let whole_listed = self
            .attributes
            .iter()
            .any(|a| same_attribute(schema, a, path) && a.sub.is_none());
        let excluded_subs: Vec<&str> = self
            .excluded
            .iter()
            .filter(|a| same_attribute(schema, a, path))
            .filter_map(|a| a.sub.as_deref())
            .collect();
        let value = strip_never(attr, value);
        let value = if !subs.is_empty() && !whole_listed {
            filter_subs(
                value,
                |k| subs.iter().any(|s| s.eq_ignore_ascii_case(k)),
                attr,
            )
        } else if !excluded_subs.is_empty() {
            filter_subs(
                value,
                |k| !excluded_subs.iter().any(|s| s.eq_ignore_ascii_case(k)),
                attr,
            )
        } else {
            value
        };
        Some((name, value))
    }

    /// Whether the attribute at `path` is named by `attributes` (itself, a sub-attribute, or
    /// its whole extension).
    fn listed(&self, schema: &ResourceSchema, path: &AttrPath) -> bool {
        self.attributes
            .iter()
            .any(|a| same_attribute(schema, a, path) || names_extension(schema, a, path))
    }

    /// Whether a default-returned attribute goes out under this projection.
    /// Whether the answer shows the core attribute `name` (returned by default) at all: a
    /// caller that must read it from elsewhere (a Group's members) skips the read otherwise.
    pub fn shows(&self, schema: &ResourceSchema, name: &str) -> bool {
        self.wanted(schema, &AttrPath::simple(name))
    }

    fn wanted(&self, schema: &ResourceSchema, path: &AttrPath) -> bool {
        if !self.attributes.is_empty() {
            return self.listed(schema, path);
        }
        let excluded_whole = self.excluded.iter().any(|a| {
            (same_attribute(schema, a, path) && a.sub.is_none()) || names_extension(schema, a, path)
        });
        !excluded_whole
    }
}

/// Whether `"name"` (ASCII case aside) occurs in the JSON text `text`. serde_json escapes no
/// letter, so where it does not occur, no key of that name does.
fn quotes_name(text: &str, name: &str) -> bool {
    let name = name.as_bytes();
    text.as_bytes().windows(name.len() + 2).any(|w| {
        w[0] == b'"' && w[w.len() - 1] == b'"' && w[1..w.len() - 1].eq_ignore_ascii_case(name)
    })
}

/// Whether `requested` (possibly with a sub-attribute) names the same attribute as `path`.
fn same_attribute(schema: &ResourceSchema, requested: &AttrPath, path: &AttrPath) -> bool {
    let parent = requested.parent();
    match (schema.resolve(&parent), schema.resolve(path)) {
        (
            Target::Attribute {
                extension: e1,
                attr: a1,
                ..
            },
            Target::Attribute {
                extension: e2,
                attr: a2,
                ..
            },
        ) => e1 == e2 && a1.name == a2.name,
        _ => parent.name.eq_ignore_ascii_case(&path.name) && parent.urn == path.urn,
    }
}

fn names_extension(schema: &ResourceSchema, requested: &AttrPath, path: &AttrPath) -> bool {
    matches!(schema.resolve(requested), Target::Extension(ext) if path.urn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&ext.id)))
}

/// Removes sub-attributes whose `returned` is `never`.
fn strip_never(attr: Option<&Attribute>, value: Value) -> Value {
    match attr {
        Some(attr)
            if attr
                .sub_attributes
                .iter()
                .any(|s| s.returned == Returned::Never) =>
        {
            filter_subs(
                value,
                |k| {
                    attr.sub_attribute(k)
                        .is_none_or(|s| s.returned != Returned::Never)
                },
                Some(attr),
            )
        }
        _ => value,
    }
}

fn filter_subs(value: Value, keep: impl Fn(&str) -> bool, attr: Option<&Attribute>) -> Value {
    let filter_object = |mut o: Map<String, Value>| -> Map<String, Value> {
        o.retain(|k, _| keep(k) || attr.is_some_and(|a| always_sub(a, k)));
        o
    };
    match value {
        Value::Object(o) => Value::Object(filter_object(o)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Value::Object(filter_object(o)),
                    other => other,
                })
                .filter(|v| !matches!(v, Value::Object(o) if o.is_empty()))
                .collect(),
        ),
        other => other,
    }
}

fn always_sub(attr: &Attribute, name: &str) -> bool {
    attr.sub_attribute(name)
        .is_some_and(|s| s.returned == Returned::Always)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_URN, SchemaRegistry};

    fn project(
        attributes: Option<&str>,
        excluded: Option<&str>,
        rt: &str,
        resource: Value,
    ) -> Value {
        let schema = SchemaRegistry::standard()
            .resource_schema(rt)
            .expect("resource type");
        let projection = Projection::parse(attributes, excluded).expect("valid");
        let Value::Object(resource) = resource else {
            panic!("not an object: {resource}");
        };
        Value::Object(projection.apply(&schema, resource))
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN],
            "id": "1", "externalId": "e1", "userName": "bjensen", "password": "secret",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}],
            ENTERPRISE_USER_URN: {"employeeNumber": "7", "department": "Tours"},
            "urn:example:custom:1.0:User": {"badge": "B"},
            "meta": {"resourceType": "User", "version": "W/\"1\""}
        })
    }

    /// A User as the store keeps it: canonical, without `id`, `meta` or `password`.
    fn stored_user() -> String {
        let Value::Object(mut user) = user() else {
            unreachable!()
        };
        for key in ["id", "meta", "password"] {
            user.remove(key);
        }
        Value::Object(user).to_string()
    }

    #[test]
    fn the_default_projection_shows_stored_text_unchanged() {
        let schema = SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User");
        let stored = stored_user();
        let default = Projection::default();
        assert!(default.shows_unchanged(&schema, &stored));
        // What the shortcut stands for: applying the projection changes nothing.
        let parsed: Map<String, Value> = serde_json::from_str(&stored).expect("JSON");
        assert_eq!(default.apply(&schema, parsed.clone()), parsed);

        let some = Projection::parse(Some("userName"), None).expect("valid");
        assert!(!some.shows_unchanged(&schema, &stored));
        let fewer = Projection::parse(None, Some("emails")).expect("valid");
        assert!(!fewer.shows_unchanged(&schema, &stored));
    }

    #[test]
    fn stored_text_naming_a_hidden_attribute_goes_the_long_way() {
        let schema = SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User");
        let default = Projection::default();
        // Written before a schema made it write-only, in any spelling.
        for text in [
            r#"{"userName":"a","password":"p"}"#,
            r#"{"userName":"a","PASSWORD":"p"}"#,
            // Only a value spells it: still the long way, which then shows it.
            r#"{"userName":"a","nickName":"password"}"#,
        ] {
            assert!(!default.shows_unchanged(&schema, text), "{text}");
        }
        assert!(default.shows_unchanged(&schema, r#"{"userName":"passwords"}"#));
    }

    #[test]
    fn password_is_never_returned() {
        assert!(
            project(None, None, "User", user())
                .get("password")
                .is_none()
        );
        assert!(
            project(Some("password"), None, "User", user())
                .get("password")
                .is_none()
        );
    }

    #[test]
    fn attributes_keeps_always_and_listed() {
        let out = project(
            Some("userName,name.givenName,emails.value"),
            None,
            "User",
            user(),
        );
        assert_eq!(
            out,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_URN],
                "id": "1", "userName": "bjensen",
                "name": {"givenName": "Barbara"},
                "emails": [{"value": "a@x"}]
            })
        );
        let out = project(Some("id"), None, "User", user());
        assert_eq!(
            out.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["schemas".to_string(), "id".to_string()])
        );
    }

    #[test]
    fn extension_attributes_by_urn() {
        let out = project(
            Some(&format!("{ENTERPRISE_USER_URN}:employeeNumber")),
            None,
            "User",
            user(),
        );
        assert_eq!(out[ENTERPRISE_USER_URN], json!({"employeeNumber": "7"}));
        let out = project(Some(ENTERPRISE_USER_URN), None, "User", user());
        assert_eq!(
            out[ENTERPRISE_USER_URN],
            json!({"employeeNumber": "7", "department": "Tours"})
        );
        let out = project(None, Some(ENTERPRISE_USER_URN), "User", user());
        assert!(out.get(ENTERPRISE_USER_URN).is_none());
    }

    #[test]
    fn excluded_attributes() {
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G", "members": [{"value": "1"}]});
        let out = project(None, Some("members"), "Group", group);
        assert!(
            out.get("members").is_none(),
            "Entra's excludedAttributes=members"
        );
        assert_eq!(out["displayName"], "G");
        let out = project(None, Some("id,emails.type,meta"), "User", user());
        assert_eq!(out["id"], "1", "id is returned always");
        assert_eq!(out["emails"], json!([{"value": "a@x", "primary": true}]));
        assert!(out.get("meta").is_none());
        assert_eq!(
            out["urn:example:custom:1.0:User"],
            json!({"badge": "B"}),
            "unregistered extensions are returned by default"
        );
    }

    #[test]
    fn names_are_case_insensitive() {
        let out = project(Some("USERNAME,Name.GivenName"), None, "User", user());
        assert_eq!(out["userName"], "bjensen");
        assert_eq!(out["name"], json!({"givenName": "Barbara"}));
    }
}
