//! Secrets in connector settings (vendor API tokens, passwords, certificates): given inline or
//! read from a file (a mounted secret), and never shown by `Debug`, so a logged configuration
//! cannot leak them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Problem;

/// A secret value. `Debug` prints `***`; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// Why a secret could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("set `{0}` or `{0}_file`")]
    Missing(&'static str),
    #[error("set only one of `{0}` and `{0}_file`")]
    Both(&'static str),
    #[error("`{0}` is empty")]
    Empty(&'static str),
    #[error("cannot read `{field}_file` {}: {reason}", path.display())]
    File {
        field: &'static str,
        path: PathBuf,
        reason: String,
    },
}

impl SecretError {
    /// The setting it concerns (`api_token`, …).
    pub fn field(&self) -> &'static str {
        match self {
            SecretError::Missing(f) | SecretError::Both(f) | SecretError::Empty(f) => f,
            SecretError::File { field, .. } => field,
        }
    }

    /// As a `check-config` problem.
    pub fn problem(&self) -> Problem {
        let field = self.field();
        Problem::new(
            field,
            self.to_string(),
            format!("set {field}, or {field}_file to a file holding it (not both)"),
        )
    }
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one header or element that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret `field` from `inline`, else from the file at `file`: exactly one of the two.
    /// One trailing line break of the file is dropped (editors and `echo` add it); any other
    /// character, spaces included, is part of the secret.
    pub fn resolve(
        field: &'static str,
        inline: Option<&Secret>,
        file: Option<&Path>,
    ) -> Result<Secret, SecretError> {
        let secret = match (inline, file) {
            (Some(_), Some(_)) => return Err(SecretError::Both(field)),
            (None, None) => return Err(SecretError::Missing(field)),
            (Some(secret), None) => secret.clone(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    field,
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
                let value = text
                    .strip_suffix('\n')
                    .map(|t| t.strip_suffix('\r').unwrap_or(t))
                    .unwrap_or(&text);
                Secret::new(value)
            }
        };
        if secret.0.is_empty() {
            return Err(SecretError::Empty(field));
        }
        Ok(secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn inline_or_file_but_not_both() {
        let path = std::env::temp_dir().join(format!("scim-bridge-secret-{}", std::process::id()));
        std::fs::write(&path, "from file \r\n").expect("write");
        let inline = Secret::new("inline");
        let resolve = |i, f| Secret::resolve("api_token", i, f).map(|s| s.0);
        assert_eq!(resolve(None, Some(&path)), Ok("from file ".into()));
        assert_eq!(resolve(Some(&inline), None), Ok("inline".into()));
        assert_eq!(
            resolve(Some(&inline), Some(&path)),
            Err(SecretError::Both("api_token"))
        );
        assert_eq!(resolve(None, None), Err(SecretError::Missing("api_token")));
        let empty = Secret::new("");
        assert_eq!(
            resolve(Some(&empty), None),
            Err(SecretError::Empty("api_token"))
        );
        std::fs::remove_file(&path).expect("remove");
        assert!(matches!(
            resolve(None, Some(&path)),
            Err(SecretError::File { .. })
        ));
    }
}
