//! The one place the backend is chosen: from the scheme of the database URL.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{PgStore, SqliteStore, Store, StoreError};

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    SqliteTemporary,
    SqliteFile(PathBuf),
    Postgres,
}

/// Reads the scheme (and for SQLite the path). The URL may hold a password, so errors name
/// only the scheme.
fn target(url: &str) -> Result<Target, StoreError> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let path = rest.strip_prefix("//").unwrap_or(rest);
        return match path {
            "" => Err(StoreError::Backend(
                "the sqlite: database URL names no file (sqlite:///var/lib/scim-bridge/store.db)"
                    .into(),
            )),
            ":memory:" => Ok(Target::SqliteTemporary),
            path => Ok(Target::SqliteFile(PathBuf::from(path))),
        };
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    let scheme = url
        .split_once(':')
        .map_or("(none)", |(scheme, _)| scheme)
        .chars()
        .take(20)
        .collect::<String>();
    Err(StoreError::Backend(format!(
        "unsupported database URL scheme \"{scheme}\": expected sqlite:PATH, sqlite://PATH, \
         postgres://… or postgresql://…"
    )))
}

/// Opens the store a database URL names: `sqlite:PATH` or `sqlite://PATH` (a file, created if
/// missing; `sqlite::memory:` for a private temporary one, gone with the store), or `postgres://…` /
/// `postgresql://…`. Migrations are applied before it returns.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match target(url)? {
        Target::SqliteTemporary => Arc::new(SqliteStore::temporary().await?),
        Target::SqliteFile(path) => Arc::new(SqliteStore::open(&path).await?),
        Target::Postgres => Arc::new(PgStore::connect(url).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_backend() {
        let file = |p: &str| Some(Target::SqliteFile(PathBuf::from(p)));
        assert_eq!(target("sqlite:store.db").ok(), file("store.db"));
        assert_eq!(target("sqlite:///var/lib/x.db").ok(), file("/var/lib/x.db"));
        assert_eq!(target("sqlite://data/x.db").ok(), file("data/x.db"));
        assert_eq!(
            target("sqlite::memory:").ok(),
            Some(Target::SqliteTemporary)
        );
        assert_eq!(target("postgres://u:p@h/db").ok(), Some(Target::Postgres));
        assert_eq!(target("postgresql://h/db").ok(), Some(Target::Postgres));
    }

    #[test]
    fn other_schemes_are_refused_without_echoing_the_url() {
        let error = target("mysql://root:secret@h/db")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("\"mysql\""), "{error}");
        assert!(!error.contains("secret"), "{error}");
        assert!(target("").is_err());
        assert!(target("sqlite:").is_err());
        assert!(target("sqlite://").is_err());
    }
}
