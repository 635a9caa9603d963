//! SCIM filters (RFC 7644 §3.4.2.2): the syntax tree, its canonical printing, the parser
//! ([`parse`]) and the evaluator ([`eval`]).
//!
//! Hand-written rather than generated: the error messages name the character position and
//! what was expected there, which is what an identity admin needs to fix a mapping.

pub(crate) mod eval;
mod lex;
mod parse;

use std::fmt;

pub use eval::{check, matches};

use crate::path::AttrPath;

/// Longest filter accepted by default, in bytes. Identity providers send filters of a few dozen
/// bytes; the bound keeps hostile input cheap to reject.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, `not` and `[...]` accepted by default.
pub const MAX_FILTER_DEPTH: usize = 32;

/// Bounds on untrusted filter input. They are policy, not grammar: the canonical printing of an
/// accepted filter may be a little longer than its input (`].value eq` prints as ` and value eq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    pub max_len: usize,
    pub max_depth: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        FilterLimits {
            max_len: MAX_FILTER_LEN,
            max_depth: MAX_FILTER_DEPTH,
        }
    }
}

/// A parsed filter. `and`/`or` are n-ary: `a and b and c` is one `And` of three.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op value`.
    Compare(AttrPath, CompareOp, CompValue),
    /// `attrPath pr`.
    Present(AttrPath),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `attrPath[filter]`: some element of the multi-valued (or complex) attribute matches.
    /// `emails[type eq "work"].value eq "x"` parses as
    /// `emails[type eq "work" and value eq "x"]`, its meaning.
    ValuePath(AttrPath, Box<Filter>),
}

/// A comparison operator (RFC 7644 §3.4.2.2, table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator named `word`, case-insensitively.
    pub fn from_word(word: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt`, `le`.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// The literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    Str(String),
}

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the filter is {len} bytes long; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error(
        "the filter nests deeper than {max} levels of parentheses, 'not' and '[ ]' (at character {position})"
    )]
    TooDeep { position: usize, max: usize },
    #[error("invalid filter at character {position}: expected {expected}, found {found}")]
    Syntax {
        position: usize,
        expected: String,
        found: String,
    },
    #[error("invalid filter: {0}")]
    Semantic(String),
}

impl FilterError {
    /// The same error with positions shifted by `offset` characters (for a filter embedded in
    /// a longer string, such as a PATCH path).
    pub(crate) fn shifted(self, offset: usize) -> Self {
        match self {
            FilterError::TooDeep { position, max } => FilterError::TooDeep {
                position: position + offset,
                max,
            },
            FilterError::Syntax {
                position,
                expected,
                found,
            } => FilterError::Syntax {
                position: position + offset,
                expected,
                found,
            },
            other => other,
        }
    }
}

impl Filter {
    /// Parses a filter string within the default [`FilterLimits`].
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        parse::parse(input, FilterLimits::default())
    }

    /// Parses a filter string within the given limits.
    pub fn parse_with_limits(input: &str, limits: FilterLimits) -> Result<Filter, FilterError> {
        parse::parse(input, limits)
    }

    pub(crate) fn is_and(&self) -> bool {
        matches!(self, Filter::And(_))
    }

    pub(crate) fn is_or(&self) -> bool {
        matches!(self, Filter::Or(_))
    }

    /// `Some((path, value))` when the filter is exactly `path eq "value"`: the shape identity
    /// providers use to match accounts, which a store can answer from an index.
    pub fn as_string_eq(&self) -> Option<(&AttrPath, &str)> {
        match self {
            Filter::Compare(path, CompareOp::Eq, CompValue::Str(v)) => Some((path, v)),
            _ => None,
        }
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::parse(s)
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

impl fmt::Display for Filter {
    /// The canonical form: lower-case operators, minimal parentheses, JSON string escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare(path, op, value) => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    match item {
                        Filter::Or(_) | Filter::And(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
            Filter::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    match item {
                        Filter::Or(_) => write!(f, "({item})")?,
                        _ => write!(f, "{item}")?,
                    }
                }
                Ok(())
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}
