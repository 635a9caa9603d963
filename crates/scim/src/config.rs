//! The ServiceProviderConfig document (RFC 7643 §5), built from what a connector supports.

use serde_json::{Value, json};

use crate::bulk::BulkLimits;
use crate::query::QueryLimits;
use crate::schema::SERVICE_PROVIDER_CONFIG_URN;

/// An authentication scheme a client can use (RFC 7643 §5 `authenticationSchemes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationScheme {
    /// `oauthbearertoken`, `httpbasic`, …
    pub kind: String,
    pub name: String,
    pub description: String,
    pub primary: bool,
}

/// What one connector's SCIM endpoint supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderConfig {
    pub documentation_uri: Option<String>,
    pub patch: bool,
    /// `None` when Bulk is not offered.
    pub bulk: Option<BulkLimits>,
    pub filter: Option<QueryLimits>,
    pub change_password: bool,
    pub sort: bool,
    pub etag: bool,
    pub authentication_schemes: Vec<AuthenticationScheme>,
}

impl ServiceProviderConfig {
    /// The JSON served at `/ServiceProviderConfig`.
    pub fn to_json(&self, location: &str) -> Value {
        let bulk = self.bulk.unwrap_or(BulkLimits {
            max_operations: 0,
            max_payload_size: 0,
        });
        let mut body = json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_URN],
            "patch": {"supported": self.patch},
            "bulk": {"supported": self.bulk.is_some(), "maxOperations": bulk.max_operations, "maxPayloadSize": bulk.max_payload_size},
            "filter": {"supported": self.filter.is_some(), "maxResults": self.filter.map_or(0, |f| f.max_count)},
            "changePassword": {"supported": self.change_password},
            "sort": {"supported": self.sort},
            "etag": {"supported": self.etag},
            "authenticationSchemes": self.authentication_schemes.iter().map(|s| json!({
                "type": s.kind, "name": s.name, "description": s.description, "primary": s.primary
            })).collect::<Vec<_>>(),
            "meta": {"resourceType": "ServiceProviderConfig", "location": location},
        });
        if let Some(uri) = &self.documentation_uri {
            body["documentationUri"] = Value::String(uri.clone());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflects_capabilities() {
        let config = ServiceProviderConfig {
            documentation_uri: None,
            patch: true,
            bulk: None,
            filter: Some(QueryLimits::default()),
            change_password: false,
            sort: true,
            etag: true,
            authentication_schemes: vec![AuthenticationScheme {
                kind: "oauthbearertoken".into(),
                name: "OAuth Bearer Token".into(),
                description: "A bearer token in the Authorization header".into(),
                primary: true,
            }],
        };
        let body = config.to_json("https://h/scim/v2/d/ServiceProviderConfig");
        assert_eq!(body["patch"]["supported"], true);
        assert_eq!(body["bulk"]["supported"], false);
        assert_eq!(body["filter"]["maxResults"], 1000);
        assert_eq!(body["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert!(!body.to_string().contains("null"));
    }
}
