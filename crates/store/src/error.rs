//! What the store can answer besides success. The gateway maps these to SCIM errors in its one
//! error module.

/// A store failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} does not exist")]
    NotFound {
        kind: scim::ResourceKind,
        id: String,
    },
    /// Another resource of the connector already holds the unique value.
    #[error("{attribute} \"{value}\" is already taken by another {kind}")]
    Uniqueness {
        kind: scim::ResourceKind,
        attribute: &'static str,
        value: String,
    },
    /// The resource changed since the journal entry was written (a concurrent write won).
    #[error("{kind} {id} is at version {actual}, not {expected}")]
    VersionConflict {
        kind: scim::ResourceKind,
        id: String,
        expected: i64,
        actual: i64,
    },
    #[error("journal entry {0} does not exist or is already settled")]
    NoSuchEntry(i64),
    /// The database failed or is unreachable; the message is for logs, not for clients.
    #[error("database error: {0}")]
    Backend(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Backend(format!("migration failed: {e}"))
    }
}
