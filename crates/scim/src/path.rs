//! Attribute paths (RFC 7644 §3.10, and the PATCH `path` grammar of §3.5.2):
//! `userName`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value`,
//! `emails[type eq "work"].value`.

use std::fmt;

use crate::filter::{Filter, FilterError};

/// A plain, dotted or URN-qualified attribute path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN the path is qualified with, as written.
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the attribute path is empty")]
    Empty,
    #[error("'{path}' is not a valid attribute path: {reason}")]
    Invalid { path: String, reason: String },
    #[error("the filter in path '{path}' is invalid: {source}")]
    Filter { path: String, source: FilterError },
}

fn invalid(path: &str, reason: &str) -> PathError {
    PathError::Invalid {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// ATTRNAME = ALPHA *(nameChar), plus `$ref` (RFC 7643 §2.1, §2.3.7).
fn is_attr_name(name: &str) -> bool {
    if name == "$ref" || name.eq_ignore_ascii_case("$ref") {
        return true;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl AttrPath {
    /// An unqualified, top-level attribute.
    pub fn simple(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_owned(),
            sub: None,
        }
    }

    /// `name.sub`.
    pub fn with_sub(name: &str, sub: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_owned(),
            sub: Some(sub.to_owned()),
        }
    }

    /// Parses `[URN ":"] name ["." sub]`.
    ///
    /// A URN contains dots (`…:2.0:User`), so the URN is everything up to the last `:`; the
    /// bare URN of an extension therefore parses as `urn:…:2.0` + `User`, which schema
    /// resolution recognises (see `ResourceSchema::resolve`).
    pub fn parse(input: &str) -> Result<AttrPath, PathError> {
        if input.is_empty() {
            return Err(PathError::Empty);
        }
        let (urn, rest) = if input.len() > 4 && crate::json::is_urn(input) {
            match input.rfind(':') {
                Some(i) if i + 1 < input.len() => (Some(input[..i].to_owned()), &input[i + 1..]),
                _ => {
                    return Err(invalid(
                        input,
                        "a URN must be followed by ':' and an attribute name",
                    ));
                }
            }
        } else {
            (None, input)
        };
        let mut parts = rest.split('.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if parts.next().is_some() {
            return Err(invalid(
                input,
                "at most one sub-attribute may follow the attribute name",
            ));
        }
        if !is_attr_name(name) {
            return Err(invalid(
                input,
                "attribute names start with a letter and contain letters, digits, '-' or '_'",
            ));
        }
        if let Some(sub) = sub
            && !is_attr_name(sub)
        {
            return Err(invalid(
                input,
                "sub-attribute names start with a letter and contain letters, digits, '-' or '_'",
            ));
        }
        Ok(AttrPath {
            urn,
            name: name.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }

    /// The same path without its sub-attribute.
    pub fn parent(&self) -> AttrPath {
        AttrPath {
            sub: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH target: `attrPath`, or `attrPath[valFilter]` optionally followed by `.subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The value filter between the brackets; its paths name sub-attributes of `attr`.
    pub filter: Option<Filter>,
    /// The sub-attribute after the brackets (`].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    pub fn parse(input: &str) -> Result<PatchPath, PathError> {
        let input = input.trim();
        let Some(open) = input.find('[') else {
            return Ok(PatchPath {
                attr: AttrPath::parse(input)?,
                filter: None,
                sub: None,
            });
        };
        let attr = AttrPath::parse(&input[..open])?;
        if attr.sub.is_some() {
            return Err(invalid(
                input,
                "'[' must follow an attribute, not a sub-attribute",
            ));
        }
        let close = closing_bracket(input, open + 1)
            .ok_or_else(|| invalid(input, "'[' is never closed by ']'"))?;
        let filter_text = &input[open + 1..close];
        let offset = input[..open + 1].chars().count();
        let filter = Filter::parse(filter_text).map_err(|e| PathError::Filter {
            path: input.to_owned(),
            source: e.shifted(offset),
        })?;
        let rest = &input[close + 1..];
        let sub = match rest.strip_prefix('.') {
            None if rest.is_empty() => None,
            None => return Err(invalid(input, "only '.subAttribute' may follow ']'")),
            Some(sub) if is_attr_name(sub) => Some(sub.to_owned()),
            Some(_) => {
                return Err(invalid(
                    input,
                    "'.' after ']' must be followed by a sub-attribute name",
                ));
            }
        };
        Ok(PatchPath {
            attr,
            filter: Some(filter),
            sub,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Byte index of the `]` closing the bracket opened before `from`, skipping string literals.
fn closing_bracket(input: &str, from: usize) -> Option<usize> {
    let bytes = input.as_bytes();
    let mut i = from;
    let mut in_string = false;
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (true, b'\\') => i += 1,
            (_, b'"') => in_string = !in_string,
            (false, b']') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_paths() {
        assert_eq!(
            AttrPath::parse("userName"),
            Ok(AttrPath::simple("userName"))
        );
        assert_eq!(
            AttrPath::parse("name.givenName"),
            Ok(AttrPath::with_sub("name", "givenName"))
        );
        let manager = AttrPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
        .expect("valid");
        assert_eq!(
            manager.urn.as_deref(),
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
        );
        assert_eq!(
            (manager.name.as_str(), manager.sub.as_deref()),
            ("manager", Some("value"))
        );
        assert_eq!(
            manager.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
        assert_eq!(
            AttrPath::parse("members.$ref")
                .expect("valid")
                .sub
                .as_deref(),
            Some("$ref")
        );
        for bad in ["", "a.b.c", "1abc", "na me", "urn:", "a.", ".a", "urn:x:"] {
            assert!(AttrPath::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn patch_paths() {
        let p = PatchPath::parse(r#"emails[type eq "work"].value"#).expect("valid");
        assert_eq!(p.attr, AttrPath::simple("emails"));
        assert_eq!(
            p.filter.as_ref().map(ToString::to_string).as_deref(),
            Some(r#"type eq "work""#)
        );
        assert_eq!(p.sub.as_deref(), Some("value"));
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);

        let p = PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
            .expect("valid");
        assert!(p.sub.is_none());

        let p = PatchPath::parse(r#"addresses[type eq "a]b"].streetAddress"#)
            .expect("a ']' inside a string does not close");
        assert_eq!(p.sub.as_deref(), Some("streetAddress"));

        let p = PatchPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        )
        .expect("valid");
        assert_eq!(p.attr.name, "employeeNumber");

        for bad in [
            r#"emails[type eq "work""#,
            r#"emails[type eq "work"]x"#,
            r#"name.givenName[x eq 1]"#,
            "emails[type eq]",
        ] {
            assert!(PatchPath::parse(bad).is_err(), "{bad:?} must be refused");
        }
        let e = PatchPath::parse(r#"emails[type eqq "work"]"#)
            .expect_err("bad op")
            .to_string();
        assert!(e.contains("at character 13"), "{e}");
    }
}
