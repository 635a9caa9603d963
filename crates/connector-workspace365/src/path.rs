//! Path segments for the Workspace 365 APIs, which key users by e-mail address or UPN in the
//! path (docs/connectors/workspace365.md "Quirks": one segment, `@` may stay literal, `+` must be encoded).

/// `value` as one path segment: RFC 3986 unreserved characters and `@` stay, every other byte
/// is percent-encoded (`+` too, which the `url` crate would leave and ASP.NET would read as a
/// space in some configurations).
pub(crate) fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_one_segment() {
        assert_eq!(segment("userone@example.com"), "userone@example.com");
        assert_eq!(segment("o'brien+x@a.nl"), "o%27brien%2Bx@a.nl");
        assert_eq!(segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(segment("Åsa"), "%C3%85sa");
    }
}
