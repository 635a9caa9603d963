//! Recursive-descent parser: `or` binds loosest, then `and`, then `not` and atoms
//! (RFC 7644 §3.4.2.2, figure 1 and the precedence rules under it).

use super::lex::{Tok, char_position, tokenize};
use super::{CompValue, CompareOp, Filter, FilterError, FilterLimits};
use crate::path::AttrPath;

const OPERATORS: &str = "an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)";

pub(super) fn parse(input: &str, limits: FilterLimits) -> Result<Filter, FilterError> {
    if input.len() > limits.max_len {
        return Err(FilterError::TooLong {
            len: input.len(),
            max: limits.max_len,
        });
    }
    let tokens = tokenize(input)?;
    let mut parser = Parser {
        input,
        max_depth: limits.max_depth,
        tokens,
        pos: 0,
        depth: 0,
        in_brackets: false,
    };
    let filter = parser.or()?;
    match parser.peek() {
        Tok::Eof => Ok(filter),
        Tok::RParen => Err(parser.error("'and', 'or' or the end of the filter (unbalanced ')')")),
        _ => Err(parser.error("'and', 'or' or the end of the filter")),
    }
}

struct Parser<'a> {
    input: &'a str,
    max_depth: usize,
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    depth: usize,
    in_brackets: bool,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.input.len(), |(_, at)| *at)
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn error(&self, expected: &str) -> FilterError {
        FilterError::Syntax {
            position: char_position(self.input, self.offset()),
            expected: expected.into(),
            found: self.peek().describe(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(FilterError::TooDeep {
                position: char_position(self.input, self.offset()),
                max: self.max_depth,
            });
        }
        Ok(())
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<(), FilterError> {
        if *self.peek() == tok {
            self.next();
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.and()?, Filter::is_or);
        while self.is_keyword("or") {
            self.next();
            push_flat(&mut items, self.and()?, Filter::is_or);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::Or(items)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.unary()?, Filter::is_and);
        while self.is_keyword("and") {
            self.next();
            push_flat(&mut items, self.unary()?, Filter::is_and);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Filter::And(items)
        })
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        if self.is_keyword("not") && matches!(self.tokens.get(self.pos + 1), Some((Tok::LParen, _)))
        {
            self.next();
            self.next();
            self.enter()?;
            let inner = self.or()?;
            self.expect(Tok::RParen, "')' closing 'not ('")?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Filter, FilterError> {
        match self.peek().clone() {
            Tok::LParen => {
                self.next();
                self.enter()?;
                let inner = self.or()?;
                self.expect(Tok::RParen, "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::Word(word) => {
                let at = self.offset();
                self.next();
                let path = AttrPath::parse(&word).map_err(|e| FilterError::Syntax {
                    position: char_position(self.input, at),
                    expected: "an attribute path".into(),
                    found: format!("'{word}' ({e})"),
                })?;
                if *self.peek() == Tok::LBracket {
                    return self.value_path(path);
                }
                self.comparison(path)
            }
            _ => Err(self.error("an attribute path, 'not (' or '('")),
        }
    }

    fn value_path(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        if self.in_brackets {
            return Err(self.error("a comparison (value filters inside '[ ]' cannot nest)"));
        }
        if path.sub.is_some() {
            return Err(
                self.error("a comparison ('[' must follow an attribute, not a sub-attribute)")
            );
        }
        self.next();
        self.enter()?;
        self.in_brackets = true;
        let inner = self.or()?;
        self.in_brackets = false;
        self.expect(Tok::RBracket, "']'")?;
        self.depth -= 1;
        // `emails[type eq "work"].value eq "x"`: Entra's matching filter, the sub-attribute
        // comparison joins the bracket's condition on the same element.
        if let Tok::SubAttr(sub) = self.peek().clone() {
            self.next();
            let sub_path = AttrPath::parse(&sub).map_err(|_| self.error("a sub-attribute name"))?;
            let rest = self.comparison(sub_path)?;
            let inner = match inner {
                Filter::And(mut items) => {
                    items.push(rest);
                    Filter::And(items)
                }
                other => Filter::And(vec![other, rest]),
            };
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        Ok(Filter::ValuePath(path, Box::new(inner)))
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        let op = match self.peek() {
            Tok::Word(w) if w.eq_ignore_ascii_case("pr") => {
                self.next();
                return Ok(Filter::Present(path));
            }
            Tok::Word(w) => CompareOp::from_word(w).ok_or_else(|| self.error(OPERATORS))?,
            _ => return Err(self.error(OPERATORS)),
        };
        self.next();
        let value = match self.peek().clone() {
            Tok::Str(s) => CompValue::Str(s),
            Tok::Number(n) => CompValue::Number(n),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => CompValue::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => CompValue::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => CompValue::Null,
            Tok::Word(_) => {
                return Err(
                    self.error("a value: a string in double quotes, a number, true, false or null")
                );
            }
            _ => {
                return Err(
                    self.error("a value: a string in double quotes, a number, true, false or null")
                );
            }
        };
        self.next();
        Ok(Filter::Compare(path, op, value))
    }
}

/// Adds `item` to an n-ary operand list, splicing in the operands of a parenthesised group of
/// the same operator: `(a and b) and c` is one `And` of three, so equal filters have one tree.
fn push_flat(items: &mut Vec<Filter>, item: Filter, same: fn(&Filter) -> bool) {
    if same(&item)
        && let Filter::And(inner) | Filter::Or(inner) = item
    {
        items.extend(inner);
    } else {
        items.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{MAX_FILTER_DEPTH, MAX_FILTER_LEN};

    fn parse(input: &str) -> Result<Filter, FilterError> {
        super::parse(input, FilterLimits::default())
    }

    fn p(s: &str) -> Filter {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        parse(s).expect_err(s).to_string()
    }

    /// Every example filter of RFC 7644 §3.4.2.2 parses and prints back canonically.
    #[test]
    fn rfc_examples_parse() {
        let examples = [
            r#"userName Eq "john""#,
            r#"Username eq "john""#,
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ];
        for example in examples {
            let f = p(example);
            let printed = f.to_string();
            assert_eq!(p(&printed), f, "{example} -> {printed}");
        }
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = p(r#"a eq 1 or b eq 2 and c eq 3"#);
        let Filter::Or(items) = &f else {
            panic!("top must be or: {f:?}")
        };
        assert!(matches!(items[1], Filter::And(_)));
        assert_eq!(f.to_string(), "a eq 1 or b eq 2 and c eq 3");
        assert_eq!(
            p("(a eq 1 or b eq 2) and c eq 3").to_string(),
            "(a eq 1 or b eq 2) and c eq 3"
        );
        assert_eq!(
            p("(a pr and b pr) and (c pr and d pr)"),
            p("a pr and b pr and c pr and d pr"),
            "same-operator groups flatten"
        );
    }

    #[test]
    fn operators_keywords_and_literals_are_case_insensitive() {
        assert_eq!(
            p(r#"userName EQ "x" AND active Eq TRUE OR title PR"#).to_string(),
            r#"userName eq "x" and active eq true or title pr"#
        );
        assert_eq!(p("x eq NULL").to_string(), "x eq null");
        assert_eq!(p("NOT (x pr)").to_string(), "not (x pr)");
    }

    #[test]
    fn strings_numbers_and_escapes() {
        assert_eq!(
            p(r#"displayName eq "a \"q\" \\ \u00e9 \n""#),
            Filter::Compare(
                AttrPath::simple("displayName"),
                CompareOp::Eq,
                CompValue::Str("a \"q\" \\ é \n".into())
            )
        );
        assert_eq!(p("x ge -1.5e+3").to_string(), "x ge -1500.0");
        assert_eq!(p("x lt 10").to_string(), "x lt 10");
        assert_eq!(p(r#"name eq "ünï""#).to_string(), r#"name eq "ünï""#);
    }

    #[test]
    fn entra_filtered_value_path_with_sub_attribute() {
        let f = p(r#"emails[type eq "work"].value eq "x@y.org""#);
        assert_eq!(
            f.to_string(),
            r#"emails[type eq "work" and value eq "x@y.org"]"#
        );
        let f = p(r#"emails[type eq "work" or primary eq true].value pr"#);
        assert_eq!(
            f.to_string(),
            r#"emails[(type eq "work" or primary eq true) and value pr]"#
        );
    }

    #[test]
    fn errors_name_position_and_expectation() {
        assert_eq!(
            err(r#"userName equals "x""#),
            "invalid filter at character 10: expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), found 'equals'"
        );
        assert_eq!(
            err("userName eq bjensen"),
            "invalid filter at character 13: expected a value: a string in double quotes, a number, true, false or null, found 'bjensen'"
        );
        assert_eq!(
            err(r#"userName eq "x"#),
            "invalid filter at character 13: expected a closing '\"', found the end of the filter"
        );
        assert_eq!(
            err(r#"(a eq 1"#),
            "invalid filter at character 8: expected ')', found the end of the filter"
        );
        assert_eq!(
            err(r#"a eq 1)"#),
            "invalid filter at character 7: expected 'and', 'or' or the end of the filter (unbalanced ')'), found ')'"
        );
        assert!(err(r#"emails[value[x eq 1]]"#).contains("cannot nest"));
        assert!(err("").contains("expected an attribute path"));
        assert!(err("a eq 1 and").contains("found the end of the filter"));
        assert!(err(r#"a eq "\x""#).contains("valid JSON escapes"));
        assert!(err("a € 1").contains("found '€'"));
        assert!(err("1abc eq 1").contains("expected an attribute path"));
    }

    #[test]
    fn hostile_filters_are_bounded() {
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(matches!(
            parse(&deep),
            Err(FilterError::TooDeep {
                max: MAX_FILTER_DEPTH,
                ..
            })
        ));
        let nots = format!("{}a pr{}", "not (".repeat(40), ")".repeat(40));
        assert!(matches!(parse(&nots), Err(FilterError::TooDeep { .. })));
        let long = format!("a eq \"{}\"", "x".repeat(MAX_FILTER_LEN));
        assert!(matches!(parse(&long), Err(FilterError::TooLong { .. })));
        let wide = vec!["a eq 1"; 300].join(" and ");
        assert!(
            parse(&wide).is_ok(),
            "long flat chains are fine within the length bound"
        );
    }

    /// Found by fuzzing: canonical printing may be longer than the input, so re-reading a
    /// printed filter takes limits of its own.
    #[test]
    fn printed_form_may_exceed_the_input_limit() {
        let unit = r#"emails[type eq "w"].value eq "x""#;
        let mut input = unit.to_owned();
        while input.len() + unit.len() + 4 <= MAX_FILTER_LEN {
            input = format!("{input} or {unit}");
        }
        let parsed = parse(&input).expect("within the limit");
        let printed = parsed.to_string();
        assert!(printed.len() > input.len());
        let generous = FilterLimits {
            max_len: 2 * MAX_FILTER_LEN,
            ..FilterLimits::default()
        };
        assert_eq!(super::parse(&printed, generous).expect("re-reads"), parsed);
    }
}
