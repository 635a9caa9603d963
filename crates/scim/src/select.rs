//! The values a path names in a resource: `userName`, `name.givenName`,
//! `emails[type eq "work"].value`, `urn:…:enterprise:2.0:User:department`. What an attribute
//! mapping reads (the connectors' `mapping` settings); PATCH has its own engine because it
//! writes as well.

use serde_json::{Map, Value};

use crate::filter::eval::matches_element;
use crate::json::get_ci;
use crate::path::PatchPath;
use crate::schema::{ResourceSchema, Target};

/// Why a path cannot name values of a resource type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("{0}")]
    Path(#[from] crate::path::PathError),
    #[error("\"{path}\" is not an attribute of {resource_type}")]
    Unknown { path: String, resource_type: String },
    #[error("\"{path}\" names a schema, not an attribute; add \":attributeName\"")]
    Schema { path: String },
    #[error("\"{path}\" filters \"{attribute}\", which has no sub-attributes to filter on")]
    NotComplex { path: String, attribute: String },
}

/// A path checked against one resource type, ready to read values.
#[derive(Debug, Clone)]
pub struct Selector {
    path: PatchPath,
}

impl Selector {
    /// Parses `text` and checks that it names an attribute of `schema`'s resource type.
    pub fn parse(text: &str, schema: &ResourceSchema) -> Result<Selector, SelectError> {
        let path = PatchPath::parse(text)?;
        let unknown = || SelectError::Unknown {
            path: text.to_owned(),
            resource_type: schema.resource_type.name.clone(),
        };
        let mut attr = path.attr.clone();
        if let Some(sub) = &path.sub {
            attr.sub = Some(sub.clone());
        }
        match schema.resolve(&attr) {
            Target::Attribute { attr, .. } => {
                if path.filter.is_some() && attr.sub_attributes.is_empty() {
                    return Err(SelectError::NotComplex {
                        path: text.to_owned(),
                        attribute: attr.name.clone(),
                    });
                }
            }
            Target::Extension(_) => {
                return Err(SelectError::Schema {
                    path: text.to_owned(),
                });
            }
            Target::Unregistered | Target::Unknown => return Err(unknown()),
        }
        Ok(Selector { path })
    }

    /// The values the path names in `resource`, in order, arrays flattened and nulls left
    /// out. A complex value read without a sub-attribute gives its `value` sub-attribute
    /// (`emails` reads as the addresses), as filters read it (RFC 7644 §3.4.2.2).
    pub fn values<'r>(
        &self,
        resource: &'r Map<String, Value>,
        schema: &ResourceSchema,
    ) -> Vec<&'r Value> {
        let Target::Attribute {
            extension, attr, ..
        } = schema.resolve(&self.path.attr.parent())
        else {
            return Vec::new();
        };
        let container = match extension {
            None => Some(resource),
            Some(urn) => get_ci(resource, urn).and_then(Value::as_object),
        };
        let Some(value) = container.and_then(|c| get_ci(c, &attr.name)) else {
            return Vec::new();
        };
        let elements: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        let sub = self.path.attr.sub.as_deref().or(self.path.sub.as_deref());
        let mut out = Vec::new();
        for element in elements {
            if let Some(filter) = &self.path.filter
                && !element
                    .as_object()
                    .is_some_and(|o| matches_element(filter, o, attr))
            {
                continue;
            }
            let picked = match (sub, element.as_object()) {
                (Some(sub), Some(object)) => get_ci(object, sub),
                (Some(_), None) => None,
                (None, Some(object)) => get_ci(object, "value"),
                (None, None) => Some(element),
            };
            match picked {
                Some(Value::Array(items)) => out.extend(items.iter().filter(|v| !v.is_null())),
                Some(Value::Null) | None => {}
                Some(v) => out.push(v),
            }
        }
        out
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::SchemaRegistry;

    fn user_schema() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    fn read(path: &str, resource: &Value) -> Vec<Value> {
        let schema = user_schema();
        let selector = Selector::parse(path, &schema).expect(path);
        selector
            .values(resource.as_object().expect("object"), &schema)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn reads_plain_dotted_filtered_and_extension_paths() {
        let user = json!({
            "userName": "jdoe@uni.edu",
            "name": {"givenName": "Jane"},
            "active": false,
            "emails": [
                {"value": "j@home.nl", "type": "home"},
                {"value": "jdoe@uni.edu", "type": "work", "primary": true}
            ],
            "roles": [{"value": "staff"}, {"value": "admin"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Physics", "manager": {"value": "m1"}
            }
        });
        assert_eq!(read("USERNAME", &user), [json!("jdoe@uni.edu")]);
        assert_eq!(read("name.givenName", &user), [json!("Jane")]);
        assert_eq!(read("name.familyName", &user), Vec::<Value>::new());
        assert_eq!(read("active", &user), [json!(false)]);
        assert_eq!(
            read("emails.value", &user),
            [json!("j@home.nl"), json!("jdoe@uni.edu")]
        );
        assert_eq!(
            read("emails", &user),
            [json!("j@home.nl"), json!("jdoe@uni.edu")]
        );
        assert_eq!(
            read("emails[primary eq true].value", &user),
            [json!("jdoe@uni.edu")]
        );
        assert_eq!(
            read("emails[type eq \"HOME\"].value", &user),
            [json!("j@home.nl")],
            "type is not case-exact"
        );
        assert_eq!(read("roles.value", &user), [json!("staff"), json!("admin")]);
        assert_eq!(
            read(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                &user
            ),
            [json!("Physics")]
        );
        assert_eq!(
            read(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                &user
            ),
            [json!("m1")]
        );
        assert_eq!(read("department", &user), [json!("Physics")], "bare name");
    }

    #[test]
    fn refuses_paths_the_resource_type_does_not_have() {
        let schema = user_schema();
        let err = |p: &str| Selector::parse(p, &schema).expect_err(p);
        assert!(matches!(err("name.givnName"), SelectError::Unknown { .. }));
        assert!(matches!(err("displayNme"), SelectError::Unknown { .. }));
        assert!(matches!(
            err("urn:example:unknown:1.0:User:x"),
            SelectError::Unknown { .. }
        ));
        assert!(matches!(
            err("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            SelectError::Schema { .. }
        ));
        assert!(matches!(
            err("userName[value eq \"x\"]"),
            SelectError::NotComplex { .. }
        ));
        assert!(matches!(err("emails[type eq]"), SelectError::Path(_)));
        assert!(
            err("name.givnName")
                .to_string()
                .contains("not an attribute of User")
        );
    }
}
