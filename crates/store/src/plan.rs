//! How a list query is answered: which index narrows the candidates, and whether SQL can order
//! and page the result. Pure, so it is tested without a database; the backends only supply SQL
//! for each [`Lookup`] and [`SortColumn`].
//!
//! Lookups return a superset of the matches (lower-cased keys for case-insensitive attributes),
//! and the full filter is always re-evaluated on the candidates, so an index only ever saves
//! work, never changes an answer.

use scim::ResourceKind;
use scim::filter::{CompValue, CompareOp, Filter};
use scim::path::AttrPath;
use scim::query::SortOrder;
use scim::schema::{AttrType, Attribute, ResourceSchema, Target};

use crate::ListQuery;

/// One index probe: the resources of a connector and kind with this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    Id(String),
    /// Lower-cased `userName` of a User or `displayName` of a Group.
    UniqueKey(String),
    /// Lower-cased `displayName`.
    DisplayName(String),
    /// `externalId`, case-exact.
    ExternalId(String),
    /// Lower-cased `emails[*].value`.
    Email(String),
}

/// A column SQL can order by, matching `scim::query::sort_key` exactly (lower-cased where the
/// attribute is case-insensitive, missing values as NULL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortColumn {
    /// Insertion order.
    Seq,
    UniqueKey,
    DisplayName,
    ExternalId,
    Id,
    Created,
    LastModified,
}

/// An ORDER BY; ties are always broken by insertion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SqlOrder {
    pub column: SortColumn,
    pub descending: bool,
}

/// How a list is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// No filter, and an order SQL can produce: one page query, the total from the counters.
    Ordered(SqlOrder),
    /// The union of these lookups holds every match; filter and sort them in memory.
    Lookup(Vec<Lookup>),
    /// Evaluate every resource of the connector and kind, in insertion order, in batches.
    Scan,
}

/// The plan for a query on resources of `kind`.
pub(crate) fn plan(kind: ResourceKind, query: &ListQuery<'_>) -> Plan {
    match query.filter {
        None => match sql_order(kind, query.sort, query.schema) {
            Some(order) => Plan::Ordered(order),
            None => Plan::Scan,
        },
        Some(filter) => match lookups(kind, filter, query.schema) {
            Some(lookups) => Plan::Lookup(lookups),
            None => Plan::Scan,
        },
    }
}

/// The SQL order for `sort`, when a column holds exactly what `sort_key` compares.
pub(crate) fn sql_order(
    kind: ResourceKind,
    sort: Option<(&AttrPath, SortOrder)>,
    schema: &ResourceSchema,
) -> Option<SqlOrder> {
    let Some((path, order)) = sort else {
        return Some(SqlOrder {
            column: SortColumn::Seq,
            descending: false,
        });
    };
    let Target::Attribute {
        extension: None,
        attr,
        sub,
    } = schema.resolve(path)
    else {
        return None;
    };
    let column = match (attr.name.as_str(), sub) {
        ("meta", Some(sub)) if sub.ty == AttrType::DateTime => match sub.name.as_str() {
            "created" => SortColumn::Created,
            "lastModified" => SortColumn::LastModified,
            _ => return None,
        },
        (_, Some(_)) => return None,
        (name, None) if is_single_string(attr) => match (name, kind, attr.compares_case_exact()) {
            ("userName", ResourceKind::User, false) => SortColumn::UniqueKey,
            ("displayName", ResourceKind::Group, false) => SortColumn::UniqueKey,
            ("displayName", ResourceKind::User, false) => SortColumn::DisplayName,
            ("externalId", _, true) => SortColumn::ExternalId,
            ("id", _, true) => SortColumn::Id,
            _ => return None,
        },
        _ => return None,
    };
    Some(SqlOrder {
        column,
        descending: order == SortOrder::Descending,
    })
}

fn is_single_string(attr: &Attribute) -> bool {
    attr.ty == AttrType::String && !attr.multi_valued
}

/// Index lookups whose union holds every resource matching `filter`, if there are such.
fn lookups(kind: ResourceKind, filter: &Filter, schema: &ResourceSchema) -> Option<Vec<Lookup>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(value)) if !value.is_empty() => {
            compare_lookup(kind, path, value, schema).map(|l| vec![l])
        }
        // One narrowing conjunct is enough; the rest are checked on the candidates.
        Filter::And(items) => items
            .iter()
            .filter_map(|f| lookups(kind, f, schema))
            .min_by_key(Vec::len),
        Filter::Or(items) => {
            let mut all: Vec<Lookup> = Vec::new();
            for item in items {
                for lookup in lookups(kind, item, schema)? {
                    if !all.contains(&lookup) {
                        all.push(lookup);
                    }
                }
            }
            Some(all)
        }
        Filter::ValuePath(path, inner) if is_emails(kind, path, schema) => email_lookups(inner),
        _ => None,
    }
}

fn compare_lookup(
    kind: ResourceKind,
    path: &AttrPath,
    value: &str,
    schema: &ResourceSchema,
) -> Option<Lookup> {
    let Target::Attribute {
        extension: None,
        attr,
        sub,
    } = schema.resolve(path)
    else {
        return None;
    };
    let lower = || value.to_lowercase();
    match (attr.name.as_str(), sub) {
        // `emails eq "x"` compares each element's value, like `emails.value eq "x"`.
        ("emails", None) if kind == ResourceKind::User => Some(Lookup::Email(lower())),
        ("emails", Some(sub)) if kind == ResourceKind::User && sub.name == "value" => {
            Some(Lookup::Email(lower()))
        }
        (_, Some(_)) => None,
        (_, None) if !is_single_string(attr) => None,
        ("userName", None) if kind == ResourceKind::User => Some(Lookup::UniqueKey(lower())),
        ("displayName", None) => Some(match kind {
            ResourceKind::Group => Lookup::UniqueKey(lower()),
            ResourceKind::User => Lookup::DisplayName(lower()),
        }),
        // Exact indexes only hold every match when the comparison is exact too.
        ("externalId", None) if attr.compares_case_exact() => {
            Some(Lookup::ExternalId(value.to_owned()))
        }
        ("id", None) if attr.compares_case_exact() => Some(Lookup::Id(value.to_owned())),
        _ => None,
    }
}

fn is_emails(kind: ResourceKind, path: &AttrPath, schema: &ResourceSchema) -> bool {
    kind == ResourceKind::User
        && path.sub.is_none()
        && matches!(
            schema.resolve(path),
            Target::Attribute { extension: None, attr, sub: None } if attr.name == "emails"
        )
}

/// Lookups for the filter inside `emails[...]`, whose paths name sub-attributes of an email.
fn email_lookups(inner: &Filter) -> Option<Vec<Lookup>> {
    match inner {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(value))
            if !value.is_empty()
                && path.urn.is_none()
                && path.sub.is_none()
                && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(vec![Lookup::Email(value.to_lowercase())])
        }
        Filter::And(items) => items.iter().filter_map(email_lookups).min_by_key(Vec::len),
        Filter::Or(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(email_lookups(item)?);
            }
            Some(all)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use scim::SchemaRegistry;

    use super::*;

    fn schema(kind: ResourceKind) -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema(kind.as_str())
            .unwrap_or_else(|| panic!("{kind} schema"))
    }

    fn plan_of(kind: ResourceKind, filter: &str) -> Plan {
        let schema = schema(kind);
        let filter = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        plan(
            kind,
            &ListQuery {
                filter: Some(&filter),
                schema: &schema,
                sort: None,
                offset: 0,
                limit: 10,
            },
        )
    }

    fn user(filter: &str) -> Plan {
        plan_of(ResourceKind::User, filter)
    }

    fn group(filter: &str) -> Plan {
        plan_of(ResourceKind::Group, filter)
    }

    fn one(lookup: Lookup) -> Plan {
        Plan::Lookup(vec![lookup])
    }

    #[test]
    fn equality_on_indexed_attributes_uses_an_index() {
        assert_eq!(user(r#"id eq "A-1""#), one(Lookup::Id("A-1".into())));
        assert_eq!(
            user(r#"UserName eq "Bjensen@X.com""#),
            one(Lookup::UniqueKey("bjensen@x.com".into()))
        );
        assert_eq!(
            user(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "Ä""#),
            one(Lookup::UniqueKey("ä".into())),
            "URN-qualified paths and Unicode lower-casing"
        );
        assert_eq!(
            user(r#"displayName eq "Babs J""#),
            one(Lookup::DisplayName("babs j".into()))
        );
        assert_eq!(
            group(r#"displayName eq "Sales""#),
            one(Lookup::UniqueKey("sales".into()))
        );
        assert_eq!(
            user(r#"externalId eq "Ext-1""#),
            one(Lookup::ExternalId("Ext-1".into())),
            "externalId is case-exact"
        );
        assert_eq!(
            group(r#"externalId eq "Ext-1""#),
            one(Lookup::ExternalId("Ext-1".into()))
        );
    }

    #[test]
    fn email_shapes_use_the_email_index() {
        let expected = one(Lookup::Email("b@x.org".into()));
        assert_eq!(user(r#"emails.value eq "B@x.org""#), expected);
        assert_eq!(user(r#"emails eq "B@x.org""#), expected);
        assert_eq!(user(r#"emails[value eq "B@x.org"]"#), expected);
        assert_eq!(
            user(r#"emails[type eq "work"].value eq "B@x.org""#),
            expected,
            "Entra's shape"
        );
        assert_eq!(
            user(r#"emails[type eq "work" and value eq "B@x.org"]"#),
            expected
        );
        assert_eq!(user(r#"emails[type eq "work"]"#), Plan::Scan);
        assert_eq!(user(r#"emails.type eq "work""#), Plan::Scan);
    }

    #[test]
    fn and_narrows_by_any_indexed_conjunct() {
        assert_eq!(
            user(r#"active eq true and userName eq "a""#),
            one(Lookup::UniqueKey("a".into()))
        );
        assert_eq!(
            user(r#"title co "x" and (externalId eq "e" or userName eq "b")"#),
            Plan::Lookup(vec![
                Lookup::ExternalId("e".into()),
                Lookup::UniqueKey("b".into())
            ])
        );
        assert_eq!(user(r#"active eq true and title co "x""#), Plan::Scan);
    }

    #[test]
    fn or_uses_indexes_only_when_every_branch_can() {
        assert_eq!(
            user(r#"userName eq "a" or userName eq "b" or userName eq "A""#),
            Plan::Lookup(vec![
                Lookup::UniqueKey("a".into()),
                Lookup::UniqueKey("b".into())
            ])
        );
        assert_eq!(user(r#"userName eq "a" or title eq "b""#), Plan::Scan);
    }

    #[test]
    fn everything_else_scans() {
        for filter in [
            r#"title co "x""#,
            r#"userName sw "a""#,
            r#"userName ne "a""#,
            r#"not (userName eq "a")"#,
            r#"userName eq """#,
            "userName pr",
            r#"name.givenName eq "a""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7""#,
            r#"members.value eq "u1""#,
        ] {
            assert_eq!(user(filter), Plan::Scan, "{filter}");
        }
        assert_eq!(
            group(r#"userName eq "a""#),
            Plan::Scan,
            "Groups have no userName"
        );
        assert_eq!(group(r#"emails.value eq "a""#), Plan::Scan);
    }

    #[test]
    fn unfiltered_lists_are_ordered_by_sql_when_a_column_holds_the_sort_key() {
        let users = schema(ResourceKind::User);
        let order = |path: &str, order| {
            let path = AttrPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            sql_order(ResourceKind::User, Some((&path, order)), &users)
        };
        assert_eq!(
            sql_order(ResourceKind::User, None, &users),
            Some(SqlOrder {
                column: SortColumn::Seq,
                descending: false
            })
        );
        assert_eq!(
            order("userName", SortOrder::Descending),
            Some(SqlOrder {
                column: SortColumn::UniqueKey,
                descending: true
            })
        );
        assert_eq!(
            order("displayName", SortOrder::Ascending).map(|o| o.column),
            Some(SortColumn::DisplayName)
        );
        assert_eq!(
            order("meta.lastModified", SortOrder::Ascending).map(|o| o.column),
            Some(SortColumn::LastModified)
        );
        assert_eq!(
            order("meta.created", SortOrder::Ascending).map(|o| o.column),
            Some(SortColumn::Created)
        );
        assert_eq!(
            order("externalId", SortOrder::Ascending).map(|o| o.column),
            Some(SortColumn::ExternalId)
        );
        assert_eq!(
            order("id", SortOrder::Ascending).map(|o| o.column),
            Some(SortColumn::Id)
        );
        assert_eq!(order("name.familyName", SortOrder::Ascending), None);
        assert_eq!(order("emails", SortOrder::Ascending), None);
        assert_eq!(order("meta.resourceType", SortOrder::Ascending), None);

        let groups = schema(ResourceKind::Group);
        let display_name = AttrPath::simple("displayName");
        assert_eq!(
            sql_order(
                ResourceKind::Group,
                Some((&display_name, SortOrder::Ascending)),
                &groups
            )
            .map(|o| o.column),
            Some(SortColumn::UniqueKey)
        );
    }

    #[test]
    fn an_unfiltered_list_with_an_unindexed_sort_scans() {
        let users = schema(ResourceKind::User);
        let path = AttrPath::parse("name.familyName").unwrap_or_else(|e| panic!("{e}"));
        let query = ListQuery {
            filter: None,
            schema: &users,
            sort: Some((&path, SortOrder::Ascending)),
            offset: 0,
            limit: 10,
        };
        assert_eq!(plan(ResourceKind::User, &query), Plan::Scan);
    }
}
