//! The `directory` connector: resources live in the store only, no vendor is called. It makes
//! scim-bridge a plain SCIM server, and it is the baseline of every benchmark.

use async_trait::async_trait;
use serde_json::Value;

use crate::{Capabilities, Connector, ConnectorError, ResourceChange};

/// A connector without a vendor.
#[derive(Debug, Clone, Copy, Default)]
pub struct Directory;

#[async_trait]
impl Connector for Directory {
    fn kind(&self) -> &'static str {
        "directory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            groups: true,
            change_password: true,
        }
    }

    fn has_vendor(&self) -> bool {
        false
    }

    async fn apply(&self, change: ResourceChange<'_>) -> Result<Value, ConnectorError> {
        Ok(change.vendor_keys.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn keeps_the_vendor_keys() {
        let keys = json!({"x": 1});
        let change = ResourceChange {
            members: &scim::members::UNCHANGED,
            kind: scim::ResourceKind::User,
            id: "1",
            before: None,
            after: None,
            vendor_keys: &keys,
            request_id: None,
            lookup: &crate::NoLookup,
        };
        assert_eq!(Directory.apply(change).await, Ok(keys.clone()));
        assert!(Directory.capabilities().groups);
    }

    #[tokio::test]
    async fn the_directory_has_no_endpoints_and_nothing_to_probe() {
        assert_eq!(Directory.status(), crate::ConnectorStatus::default());
        assert_eq!(
            serde_json::to_string(&Directory.status()).expect("serializes"),
            r#"{"endpoints":[]}"#
        );
        Directory.probe().await.expect("nothing to reach");
    }
}
