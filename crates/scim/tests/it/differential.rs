//! Differential test of the filter parser against `scim_v2` (a parser generated from the
//! RFC 7644 grammar with lalrpop): on every generated filter both must build the same tree.

use proptest::prelude::*;
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;
use scim_v2::filter as oracle;

use crate::strategies;

fn path(p: &oracle::AttrPath) -> AttrPath {
    AttrPath {
        urn: p.uri.clone(),
        name: p.name.clone(),
        sub: p.sub_attr.clone(),
    }
}

fn op(o: &oracle::CompareOp) -> CompareOp {
    match o {
        oracle::CompareOp::Eq => CompareOp::Eq,
        oracle::CompareOp::Ne => CompareOp::Ne,
        oracle::CompareOp::Co => CompareOp::Co,
        oracle::CompareOp::Sw => CompareOp::Sw,
        oracle::CompareOp::Ew => CompareOp::Ew,
        oracle::CompareOp::Gt => CompareOp::Gt,
        oracle::CompareOp::Lt => CompareOp::Lt,
        oracle::CompareOp::Ge => CompareOp::Ge,
        oracle::CompareOp::Le => CompareOp::Le,
    }
}

fn value(v: &oracle::CompValue) -> CompValue {
    match v {
        oracle::CompValue::False => CompValue::Bool(false),
        oracle::CompValue::True => CompValue::Bool(true),
        oracle::CompValue::Null => CompValue::Null,
        oracle::CompValue::Number(n) => CompValue::Number(n.clone()),
        oracle::CompValue::Str(s) => CompValue::Str(s.clone()),
    }
}

fn attr(e: &oracle::AttrExp) -> Filter {
    match e {
        oracle::AttrExp::Present(p) => Filter::Present(path(p)),
        oracle::AttrExp::Comparison(p, o, v) => Filter::Compare(path(p), op(o), value(v)),
    }
}

fn val_filter(f: &oracle::ValFilter) -> Filter {
    match f {
        oracle::ValFilter::Attr(e) => attr(e),
        oracle::ValFilter::Not(inner) => Filter::Not(Box::new(val_filter(inner))),
        oracle::ValFilter::And(items) => {
            Filter::And(items.as_slice().iter().map(val_filter).collect())
        }
        oracle::ValFilter::Or(items) => {
            Filter::Or(items.as_slice().iter().map(val_filter).collect())
        }
    }
}

fn convert(f: &oracle::Filter) -> Filter {
    match f {
        oracle::Filter::Attr(e) => attr(e),
        oracle::Filter::ValuePath(vp) => {
            Filter::ValuePath(path(&vp.attr), Box::new(val_filter(&vp.filter)))
        }
        oracle::Filter::Not(inner) => Filter::Not(Box::new(convert(inner))),
        oracle::Filter::And(items) => Filter::And(items.as_slice().iter().map(convert).collect()),
        oracle::Filter::Or(items) => Filter::Or(items.as_slice().iter().map(convert).collect()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn same_tree_as_the_oracle(f in strategies::filter()) {
        let text = f.to_string();
        let theirs: oracle::Filter = text.parse().map_err(|e| TestCaseError::fail(format!("oracle refused {text}: {e:?}")))?;
        let ours = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("we refused {text}: {e}")))?;
        prop_assert_eq!(ours, convert(&theirs), "filter: {}", text);
    }
}

/// The RFC's own examples, which both parsers must read identically.
#[test]
fn rfc_examples_agree() {
    for text in [
        r#"userName Eq "john""#,
        r#"name.familyName co "O'Malley""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        let theirs: oracle::Filter = text.parse().expect("oracle parses the RFC examples");
        assert_eq!(
            Filter::parse(text).expect("we parse the RFC examples"),
            convert(&theirs),
            "{text}"
        );
    }
}
