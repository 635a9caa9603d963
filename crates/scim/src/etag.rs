//! Versions as weak ETags (RFC 7644 §3.14, RFC 7232) and the `If-Match` / `If-None-Match`
//! preconditions.

/// The weak ETag of a resource version: `W/"<version>"`.
pub fn etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

/// The opaque part of an entity tag, without `W/` and quotes (the version of [`etag`]);
/// `None` when malformed.
pub fn opaque(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let tag = tag
        .strip_prefix("W/")
        .or_else(|| tag.strip_prefix("w/"))
        .unwrap_or(tag);
    tag.strip_prefix('"')?
        .strip_suffix('"')
        .filter(|t| !t.contains('"'))
}

/// Why a precondition header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a list of entity tags such as W/\"3\" (or *)")]
pub struct InvalidTag(pub String);

/// A parsed `If-Match` or `If-None-Match` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList {
    Any,
    Tags(Vec<String>),
}

impl TagList {
    /// Parses `*` or a comma-separated list of (weak or strong) entity tags.
    pub fn parse(header: &str) -> Result<TagList, InvalidTag> {
        if header.trim() == "*" {
            return Ok(TagList::Any);
        }
        let tags = split_tags(header)
            .into_iter()
            .map(|t| {
                opaque(t)
                    .map(str::to_owned)
                    .ok_or_else(|| InvalidTag(header.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if tags.is_empty() {
            return Err(InvalidTag(header.to_owned()));
        }
        Ok(TagList::Tags(tags))
    }

    /// Whether the list names the current version (weak comparison: SCIM versions are weak).
    /// `current` is `None` when the resource does not exist.
    pub fn matches(&self, current: Option<&str>) -> bool {
        match (self, current) {
            (_, None) => false,
            (TagList::Any, Some(_)) => true,
            (TagList::Tags(tags), Some(version)) => tags.iter().any(|t| t == version),
        }
    }
}

/// Splits on commas outside quotes (an opaque tag may contain a comma).
fn split_tags(header: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in header.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&header[start..]);
    out.into_iter().filter(|t| !t.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_tags_round_trip() {
        assert_eq!(etag("3"), "W/\"3\"");
        let list = TagList::parse(&etag("3")).expect("valid");
        assert!(list.matches(Some("3")));
        assert!(!list.matches(Some("4")));
        assert!(!list.matches(None));
    }

    #[test]
    fn lists_star_and_strong_tags() {
        let list = TagList::parse(r#"W/"1", "2" ,W/"a,b""#).expect("valid");
        assert_eq!(
            list,
            TagList::Tags(vec!["1".into(), "2".into(), "a,b".into()])
        );
        assert!(TagList::parse("*").expect("star").matches(Some("9")));
        assert!(!TagList::parse("*").expect("star").matches(None));
        for bad in ["3", "W/3", "\"unterminated", "", " , "] {
            assert!(TagList::parse(bad).is_err(), "{bad:?}");
        }
    }
}
