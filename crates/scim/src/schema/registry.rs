//! The schemas and resource types one connector publishes, and attribute lookup over them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::core::{
    RESOURCE_TYPE_URN, SCHEMA_URN, common_attributes, enterprise_user_schema, group_schema,
    user_schema,
};
use super::{Attribute, Schema};
use crate::path::AttrPath;

/// A resource type (RFC 7643 §6): an endpoint, its core schema and its extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    pub id: String,
    pub name: String,
    pub endpoint: String,
    pub description: String,
    pub schema: String,
    #[serde(default)]
    pub schema_extensions: Vec<SchemaExtension>,
}

/// An extension schema of a resource type, and whether resources must carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaExtension {
    pub schema: String,
    pub required: bool,
}

/// What can go wrong when building a registry (a programming or configuration mistake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("schema id '{0}' is not a URN (it must start with 'urn:')")]
    NotAUrn(String),
    #[error("schema '{0}' is registered twice")]
    DuplicateSchema(String),
    #[error("no resource type named '{0}'")]
    UnknownResourceType(String),
    #[error("schema '{0}' is not registered")]
    UnknownSchema(String),
}

/// All schemas and resource types one connector publishes under `/Schemas` and `/ResourceTypes`.
#[derive(Debug, Clone)]
pub struct SchemaRegistry {
    schemas: Vec<Arc<Schema>>,
    resource_types: Vec<ResourceType>,
    common: Arc<Schema>,
}

impl Default for SchemaRegistry {
    fn default() -> Self {
        Self::standard()
    }
}

impl SchemaRegistry {
    /// No schemas and no resource types.
    pub fn empty() -> Self {
        SchemaRegistry {
            schemas: Vec::new(),
            resource_types: Vec::new(),
            common: Arc::new(common_attributes()),
        }
    }

    /// User (with the optional enterprise extension) and Group, as RFC 7643 defines them.
    pub fn standard() -> Self {
        let mut registry = Self::empty();
        for schema in [user_schema(), enterprise_user_schema(), group_schema()] {
            // The built-in schemas have distinct URN ids, so registering cannot fail.
            let _ = registry.register_schema(schema);
        }
        registry.resource_types.push(ResourceType {
            id: "User".into(),
            name: "User".into(),
            endpoint: "/Users".into(),
            description: "User Account".into(),
            schema: super::USER_URN.into(),
            schema_extensions: vec![SchemaExtension {
                schema: super::ENTERPRISE_USER_URN.into(),
                required: false,
            }],
        });
        registry.resource_types.push(ResourceType {
            id: "Group".into(),
            name: "Group".into(),
            endpoint: "/Groups".into(),
            description: "Group".into(),
            schema: super::GROUP_URN.into(),
            schema_extensions: Vec::new(),
        });
        registry
    }

    /// Adds a schema (core or extension) so that it is published and can be referenced.
    pub fn register_schema(&mut self, schema: Schema) -> Result<(), RegistryError> {
        if !schema.id.to_ascii_lowercase().starts_with("urn:") {
            return Err(RegistryError::NotAUrn(schema.id));
        }
        if self.schema(&schema.id).is_some() {
            return Err(RegistryError::DuplicateSchema(schema.id));
        }
        self.schemas.push(Arc::new(schema));
        Ok(())
    }

    /// Registers `schema` and attaches it to a resource type as an extension (connectors add
    /// their own this way).
    pub fn register_extension(
        &mut self,
        resource_type: &str,
        schema: Schema,
        required: bool,
    ) -> Result<(), RegistryError> {
        let index = self
            .resource_types
            .iter()
            .position(|rt| rt.name.eq_ignore_ascii_case(resource_type))
            .ok_or_else(|| RegistryError::UnknownResourceType(resource_type.to_owned()))?;
        let id = schema.id.clone();
        self.register_schema(schema)?;
        self.resource_types[index]
            .schema_extensions
            .push(SchemaExtension {
                schema: id,
                required,
            });
        Ok(())
    }

    /// Adds a resource type whose schemas are already registered.
    pub fn add_resource_type(&mut self, resource_type: ResourceType) -> Result<(), RegistryError> {
        for urn in std::iter::once(&resource_type.schema)
            .chain(resource_type.schema_extensions.iter().map(|e| &e.schema))
        {
            if self.schema(urn).is_none() {
                return Err(RegistryError::UnknownSchema(urn.clone()));
            }
        }
        self.resource_types.push(resource_type);
        Ok(())
    }

    /// Keeps only the named resource types (e.g. a connector that offers no Groups), and only
    /// the schemas they still use.
    pub fn retain_resource_types(&mut self, names: &[&str]) {
        self.resource_types
            .retain(|rt| names.iter().any(|n| rt.name.eq_ignore_ascii_case(n)));
        let used: Vec<String> = self
            .resource_types
            .iter()
            .flat_map(|rt| {
                std::iter::once(rt.schema.clone())
                    .chain(rt.schema_extensions.iter().map(|e| e.schema.clone()))
            })
            .collect();
        self.schemas
            .retain(|s| used.iter().any(|u| u.eq_ignore_ascii_case(&s.id)));
    }

    /// The schema with this id (case-insensitive).
    pub fn schema(&self, id: &str) -> Option<&Schema> {
        self.schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
            .map(|s| s.as_ref())
    }

    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter().map(|s| s.as_ref())
    }

    pub fn resource_types(&self) -> &[ResourceType] {
        &self.resource_types
    }

    /// The resource type with this name or id (case-insensitive), e.g. `"User"`.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types
            .iter()
            .find(|rt| rt.name.eq_ignore_ascii_case(name) || rt.id.eq_ignore_ascii_case(name))
    }

    /// Everything needed to validate, patch, filter and project resources of one type.
    pub fn resource_schema(&self, resource_type: &str) -> Option<ResourceSchema> {
        let rt = self.resource_type(resource_type)?;
        let core = self
            .schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(&rt.schema))?
            .clone();
        let extensions = rt
            .schema_extensions
            .iter()
            .filter_map(|e| {
                let schema = self
                    .schemas
                    .iter()
                    .find(|s| s.id.eq_ignore_ascii_case(&e.schema))?;
                Some((schema.clone(), e.required))
            })
            .collect();
        Some(ResourceSchema {
            resource_type: rt.clone(),
            core,
            extensions,
            common: self.common.clone(),
        })
    }

    /// A schema as `/Schemas/{id}` returns it (RFC 7643 §7, §8.7).
    pub fn schema_json(&self, schema: &Schema, base_url: &str) -> Value {
        let mut v = serde_json::to_value(schema).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.shift_insert(0, "schemas".into(), json!([SCHEMA_URN]));
            map.insert("meta".into(), json!({"resourceType": "Schema", "location": format!("{base_url}/Schemas/{}", schema.id)}));
        }
        v
    }

    /// A resource type as `/ResourceTypes/{id}` returns it (RFC 7643 §6).
    pub fn resource_type_json(&self, rt: &ResourceType, base_url: &str) -> Value {
        let mut v = serde_json::to_value(rt).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.shift_insert(0, "schemas".into(), json!([RESOURCE_TYPE_URN]));
            map.insert(
                "meta".into(),
                json!({"resourceType": "ResourceType", "location": format!("{base_url}/ResourceTypes/{}", rt.id)}),
            );
        }
        v
    }
}

/// Where an attribute path leads, resolved against one resource type's schemas.
#[derive(Debug, Clone, Copy)]
pub enum Target<'s> {
    /// A defined attribute. `extension` is the URN key under which it is stored (None for
    /// core and common attributes); `sub` is set when the path names a sub-attribute.
    Attribute {
        extension: Option<&'s str>,
        attr: &'s Attribute,
        sub: Option<&'s Attribute>,
    },
    /// The path is a registered extension's URN itself.
    Extension(&'s Schema),
    /// An attribute under a URN this resource type does not know: kept verbatim.
    Unregistered,
    /// Not defined by any schema of this resource type.
    Unknown,
}

/// One resource type with its schemas resolved: the context of validation, PATCH, filter
/// evaluation, sorting and projection.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    pub resource_type: ResourceType,
    pub core: Arc<Schema>,
    /// Extension schemas and whether each is required.
    pub extensions: Vec<(Arc<Schema>, bool)>,
    common: Arc<Schema>,
}

impl ResourceSchema {
    /// The extension schema with this URN (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|(s, _)| s.id.eq_ignore_ascii_case(urn))
            .map(|(s, _)| s.as_ref())
    }

    /// A core or common attribute by name (case-insensitive).
    pub fn core_attribute(&self, name: &str) -> Option<&Attribute> {
        self.core
            .attribute(name)
            .or_else(|| self.common.attribute(name))
    }

    /// Core, common and extension attribute definitions, with the extension URN of each.
    pub fn all_attributes(&self) -> impl Iterator<Item = (Option<&str>, &Attribute)> {
        self.common
            .attributes
            .iter()
            .chain(self.core.attributes.iter())
            .map(|a| (None, a))
            .chain(
                self.extensions
                    .iter()
                    .flat_map(|(s, _)| s.attributes.iter().map(move |a| (Some(s.id.as_str()), a))),
            )
    }

    fn unique_extension_attribute(&self, name: &str) -> Option<(&str, &Attribute)> {
        let mut found = self
            .extensions
            .iter()
            .filter_map(|(s, _)| s.attribute(name).map(|a| (s.id.as_str(), a)));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// Resolves an attribute path (plain, dotted or URN-qualified).
    pub fn resolve(&self, path: &AttrPath) -> Target<'_> {
        let (extension, attr) = match &path.urn {
            None => match self.core_attribute(&path.name) {
                Some(attr) => (None, Some(attr)),
                // Unqualified names belong to the core schema (RFC 7644 §3.10), but clients send
                // extension attributes bare too (Entra's older `manager` path): accept a name
                // that exactly one extension defines.
                None => self
                    .unique_extension_attribute(&path.name)
                    .map_or((None, None), |(e, a)| (Some(e), Some(a))),
            },
            Some(urn) if urn.eq_ignore_ascii_case(&self.core.id) => {
                (None, self.core_attribute(&path.name))
            }
            Some(urn) => match self.extension(urn) {
                Some(ext) => (Some(ext.id.as_str()), ext.attribute(&path.name)),
                None => {
                    // `urn:…:enterprise:2.0:User` parses as URN `urn:…:2.0` + name `User`.
                    if path.sub.is_none()
                        && let Some(ext) = self.extension(&format!("{urn}:{}", path.name))
                    {
                        return Target::Extension(ext);
                    }
                    return Target::Unregistered;
                }
            },
        };
        let Some(attr) = attr else {
            return Target::Unknown;
        };
        match &path.sub {
            None => Target::Attribute {
                extension,
                attr,
                sub: None,
            },
            Some(sub) => match attr.sub_attribute(sub) {
                Some(sub) => Target::Attribute {
                    extension,
                    attr,
                    sub: Some(sub),
                },
                None => Target::Unknown,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_URN, USER_URN};

    fn path(s: &str) -> AttrPath {
        AttrPath::parse(s).expect("valid path")
    }

    #[test]
    fn resolves_plain_dotted_and_urn_paths() {
        let rs = SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User");
        assert!(
            matches!(rs.resolve(&path("USERNAME")), Target::Attribute { extension: None, attr, .. } if attr.name == "userName")
        );
        assert!(
            matches!(rs.resolve(&path("name.givenName")), Target::Attribute { sub: Some(s), .. } if s.name == "givenName")
        );
        assert!(
            matches!(rs.resolve(&path("meta.lastModified")), Target::Attribute { sub: Some(s), .. } if s.name == "lastModified")
        );
        let manager = path(&format!("{ENTERPRISE_USER_URN}:manager.value"));
        assert!(
            matches!(rs.resolve(&manager), Target::Attribute { extension: Some(ENTERPRISE_USER_URN), sub: Some(s), .. } if s.name == "value")
        );
        assert!(
            matches!(rs.resolve(&path(ENTERPRISE_USER_URN)), Target::Extension(s) if s.id == ENTERPRISE_USER_URN)
        );
        assert!(matches!(
            rs.resolve(&path(&format!("{USER_URN}:userName"))),
            Target::Attribute {
                extension: None,
                ..
            }
        ));
        assert!(matches!(
            rs.resolve(&path("urn:example:custom:1.0:User:badge")),
            Target::Unregistered
        ));
        assert!(matches!(rs.resolve(&path("shoeSize")), Target::Unknown));
        assert!(
            matches!(
                rs.resolve(&path("manager")),
                Target::Attribute {
                    extension: Some(ENTERPRISE_USER_URN),
                    ..
                }
            ),
            "bare extension names resolve when unique"
        );
        assert!(matches!(rs.resolve(&path("name.nope")), Target::Unknown));
    }

    #[test]
    fn extensions_register_at_run_time_and_are_published() {
        let mut registry = SchemaRegistry::standard();
        let ext = Schema::new(
            "urn:scim-bridge:schemas:extension:demo:1.0:User",
            "Demo",
            "Demo",
            vec![Attribute::new("badge", crate::schema::AttrType::String)],
        );
        registry
            .register_extension("User", ext.clone(), false)
            .expect("registers");
        assert_eq!(
            registry.register_extension("User", ext, false),
            Err(RegistryError::DuplicateSchema(
                "urn:scim-bridge:schemas:extension:demo:1.0:User".into()
            ))
        );
        let rs = registry.resource_schema("user").expect("User");
        assert!(matches!(
            rs.resolve(&path(
                "urn:scim-bridge:schemas:extension:demo:1.0:User:badge"
            )),
            Target::Attribute { .. }
        ));
        let rt = registry.resource_type_json(
            registry.resource_type("User").expect("User"),
            "https://h/scim/v2/demo",
        );
        assert_eq!(
            rt["schemaExtensions"][1]["schema"],
            "urn:scim-bridge:schemas:extension:demo:1.0:User"
        );
        assert_eq!(
            rt["meta"]["location"],
            "https://h/scim/v2/demo/ResourceTypes/User"
        );
    }

    #[test]
    fn schema_json_has_camel_case_and_no_nulls() {
        let registry = SchemaRegistry::standard();
        let user = registry.schema_json(registry.schema(USER_URN).expect("User"), "https://h");
        let text = user.to_string();
        assert!(!text.contains("null"), "Entra rejects nulls in /Schemas");
        assert_eq!(user["schemas"][0], SCHEMA_URN);
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["multiValued"], false);
        assert_eq!(user_name["caseExact"], false);
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user["attributes"].as_array().map(Vec::len), Some(21));
    }

    #[test]
    fn retain_drops_unused_schemas() {
        let mut registry = SchemaRegistry::standard();
        registry.retain_resource_types(&["User"]);
        assert!(registry.resource_type("Group").is_none());
        assert!(registry.schema(crate::schema::GROUP_URN).is_none());
        assert!(registry.schema(ENTERPRISE_USER_URN).is_some());
    }
}
