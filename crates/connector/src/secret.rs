//! Secrets in connector settings (vendor API tokens, passwords, certificates): given inline or
//! read from a file (a mounted secret), and never shown by `Debug`, so a logged configuration
//! cannot leak them.

use std::path::Path;

use serde::Deserialize;

/// A secret value. `Debug` prints `***`; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one header or element that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret from `inline`, else from the file at `file` (trimmed), else an error naming
    /// both keys (`what` is the inline key, e.g. `api_token`).
    pub fn resolve(
        inline: Option<&Secret>,
        file: Option<&Path>,
        what: &str,
    ) -> Result<Secret, String> {
        match (inline, file) {
            (Some(_), Some(_)) => Err(format!("both {what} and {what}_file are set")),
            (Some(secret), None) if secret.0.is_empty() => Err(format!("{what} is empty")),
            (Some(secret), None) => Ok(secret.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {what}_file {}: {e}", path.display()))?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(format!("{what}_file {} is empty", path.display()));
                }
                Ok(Secret(text.to_owned()))
            }
            (None, None) => Err(format!("neither {what} nor {what}_file is set")),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn inline_or_file_but_not_both() {
        let path = std::env::temp_dir().join(format!("scim-bridge-secret-{}", std::process::id()));
        std::fs::write(&path, "from-file\n").expect("write");
        let inline = Secret::new("inline");
        assert_eq!(
            Secret::resolve(None, Some(&path), "api_token").map(|s| s.0),
            Ok("from-file".into())
        );
        assert_eq!(
            Secret::resolve(Some(&inline), None, "api_token").map(|s| s.0),
            Ok("inline".into())
        );
        assert!(Secret::resolve(Some(&inline), Some(&path), "api_token").is_err());
        assert!(
            Secret::resolve(None, None, "api_token").is_err_and(|e| e.contains("api_token_file"))
        );
        std::fs::remove_file(&path).expect("remove");
        assert!(Secret::resolve(None, Some(&path), "api_token").is_err());
    }
}
