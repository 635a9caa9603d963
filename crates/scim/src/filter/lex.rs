//! Filter tokens. Positions are byte offsets into the input; errors convert them to
//! 1-based character positions for humans.

use super::FilterError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// An attribute path, an operator or a keyword (`and`, `or`, `not`, `true`, `false`, `null`).
    Word(String),
    /// `.name` right after `]`.
    SubAttr(String),
    Str(String),
    Number(serde_json::Number),
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Word(w) => format!("'{w}'"),
            Tok::SubAttr(s) => format!("'.{s}'"),
            Tok::Str(s) => format!("the string {}", serde_json::Value::String(s.clone())),
            Tok::Number(n) => format!("the number {n}"),
            Tok::Eof => "the end of the filter".into(),
        }
    }
}

/// 1-based character position of byte offset `at`.
pub(super) fn char_position(input: &str, at: usize) -> usize {
    input.get(..at).map_or(at, |s| s.chars().count()) + 1
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$')
}

pub(super) fn tokenize(input: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let error = |at: usize, expected: &str, found: String| FilterError::Syntax {
        position: char_position(input, at),
        expected: expected.into(),
        found,
    };
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'(' => out.push((Tok::LParen, start)),
            b')' => out.push((Tok::RParen, start)),
            b'[' => out.push((Tok::LBracket, start)),
            b']' => out.push((Tok::RBracket, start)),
            b'"' => {
                let end = string_end(bytes, i + 1).ok_or_else(|| {
                    error(start, "a closing '\"'", "the end of the filter".into())
                })?;
                let s: String = serde_json::from_str(&input[start..=end]).map_err(|_| {
                    error(
                        start,
                        "a string with valid JSON escapes",
                        input[start..=end].to_string(),
                    )
                })?;
                out.push((Tok::Str(s), start));
                i = end + 1;
                continue;
            }
            b'.' => {
                let end = scan(bytes, i + 1, |b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$')
                });
                if end == i + 1 {
                    return Err(error(
                        start,
                        "a sub-attribute name after '.'",
                        found_at(input, i + 1),
                    ));
                }
                out.push((Tok::SubAttr(input[i + 1..end].to_owned()), start));
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let end = scan(bytes, i, |b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                });
                let text = &input[start..end];
                let number: serde_json::Number = serde_json::from_str(text)
                    .map_err(|_| error(start, "a number", format!("'{text}'")))?;
                out.push((Tok::Number(number), start));
                i = end;
                continue;
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('\u{fffd}');
                if !is_word_char(ch) {
                    return Err(error(
                        start,
                        "an attribute name, an operator, a value, '(' or ')'",
                        format!("'{ch}'"),
                    ));
                }
                let end = scan(bytes, i, |b| b.is_ascii() && is_word_char(b as char));
                out.push((Tok::Word(input[start..end].to_owned()), start));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push((Tok::Eof, input.len()));
    Ok(out)
}

/// Index of the closing quote of a JSON string whose content starts at `i`.
fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn scan(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

fn found_at(input: &str, at: usize) -> String {
    input
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or_else(|| "the end of the filter".into(), |c| format!("'{c}'"))
}
