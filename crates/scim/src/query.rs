//! Query parameters and `POST .search` bodies (RFC 7644 §3.4.2, §3.4.3), sorting
//! (§3.4.2.3), paging (§3.4.2.4) and the ListResponse message.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::filter::{self, Filter, FilterError, FilterLimits};
use crate::json::{get_ci, is_assigned};
use crate::path::{AttrPath, PathError};
use crate::project::Projection;
use crate::schema::{AttrType, Attribute, ResourceSchema, Target};

pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// What a query may ask for, as the service provider configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Page size when the client sends no `count`.
    pub default_count: usize,
    /// Largest page served (`filter.maxResults` in ServiceProviderConfig).
    pub max_count: usize,
    /// Bounds on the filter.
    pub filter: FilterLimits,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            default_count: 100,
            max_count: 1000,
            filter: FilterLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Value(String),
}

/// A parsed list or search query, with paging already normalised.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub sort_order: SortOrder,
    /// 1-based; values below 1 are read as 1.
    pub start_index: usize,
    /// Page size, already clamped to the limits; 0 asks for `totalResults` only.
    pub count: usize,
    pub projection: Projection,
}

impl ListQuery {
    /// From URL query parameters (names matched case-insensitively; unknown ones ignored, as
    /// Entra may append its own flags).
    pub fn from_params<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
        schema: &ResourceSchema,
        limits: QueryLimits,
    ) -> Result<ListQuery, QueryError> {
        let params: Vec<(&str, &str)> = params.into_iter().collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let integer = |name: &str| -> Result<Option<i64>, QueryError> {
            get(name)
                .map(|v| {
                    v.trim().parse::<i64>().map_err(|_| {
                        QueryError::Value(format!("'{name}' must be an integer, found \"{v}\""))
                    })
                })
                .transpose()
        };
        build(
            get("filter").filter(|f| !f.trim().is_empty()),
            get("sortBy").filter(|s| !s.is_empty()),
            get("sortOrder"),
            integer("startIndex")?,
            integer("count")?,
            get("attributes"),
            get("excludedAttributes"),
            schema,
            limits,
        )
    }

    /// From a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search_request(
        body: &Value,
        schema: &ResourceSchema,
        limits: QueryLimits,
    ) -> Result<ListQuery, QueryError> {
        let object = body
            .as_object()
            .ok_or_else(|| QueryError::Syntax("the search request must be a JSON object".into()))?;
        if let Some(schemas) = get_ci(object, "schemas") {
            let ok = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_URN))
                })
            });
            if !ok {
                return Err(QueryError::Syntax(format!(
                    "\"schemas\" must be [\"{SEARCH_REQUEST_URN}\"]"
                )));
            }
        }
        let string = |name: &str| -> Result<Option<String>, QueryError> {
            match get_ci(object, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(QueryError::Value(format!("\"{name}\" must be a string"))),
            }
        };
        let list = |name: &str| -> Result<Option<String>, QueryError> {
            match get_ci(object, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_owned).ok_or_else(|| {
                            QueryError::Value(format!("\"{name}\" must list strings"))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| Some(v.join(","))),
                Some(_) => Err(QueryError::Value(format!(
                    "\"{name}\" must be an array of attribute names"
                ))),
            }
        };
        let integer = |name: &str| -> Result<Option<i64>, QueryError> {
            match get_ci(object, name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| QueryError::Value(format!("\"{name}\" must be an integer"))),
                Some(_) => Err(QueryError::Value(format!("\"{name}\" must be an integer"))),
            }
        };
        build(
            string("filter")?.as_deref(),
            string("sortBy")?.as_deref(),
            string("sortOrder")?.as_deref(),
            integer("startIndex")?,
            integer("count")?,
            list("attributes")?.as_deref(),
            list("excludedAttributes")?.as_deref(),
            schema,
            limits,
        )
    }

    /// The slice of `total` results this page covers, as (offset, length).
    pub fn window(&self, total: usize) -> (usize, usize) {
        let offset = (self.start_index - 1).min(total);
        (offset, self.count.min(total - offset))
    }

    /// Sorts (when asked) and pages a fully materialised result set.
    pub fn page(
        &self,
        schema: &ResourceSchema,
        mut resources: Vec<Map<String, Value>>,
    ) -> (usize, Vec<Map<String, Value>>) {
        if let Some(sort_by) = &self.sort_by {
            sort(&mut resources, sort_by, self.sort_order, schema);
        }
        let total = resources.len();
        let (offset, len) = self.window(total);
        (
            total,
            resources.into_iter().skip(offset).take(len).collect(),
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    filter: Option<&str>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<&str>,
    excluded: Option<&str>,
    schema: &ResourceSchema,
    limits: QueryLimits,
) -> Result<ListQuery, QueryError> {
    let filter = filter
        .map(|f| Filter::parse_with_limits(f, limits.filter))
        .transpose()?;
    if let Some(f) = &filter {
        filter::check(f, schema)?;
    }
    let sort_order = match sort_order.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("ascending") => SortOrder::Ascending,
        Some("descending") => SortOrder::Descending,
        Some(other) => {
            return Err(QueryError::Value(format!(
                "'sortOrder' must be \"ascending\" or \"descending\", found \"{other}\""
            )));
        }
    };
    Ok(ListQuery {
        filter,
        sort_by: sort_by.map(AttrPath::parse).transpose()?,
        sort_order,
        // RFC 7644 §3.4.2.4: below 1 is read as 1, a negative count as 0.
        start_index: usize::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(usize::MAX),
        count: count
            .map_or(limits.default_count, |c| {
                usize::try_from(c.max(0)).unwrap_or(usize::MAX)
            })
            .min(limits.max_count),
        projection: Projection::parse(attributes, excluded)?,
    })
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    pub total_results: usize,
    pub start_index: usize,
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// The message body: counters are JSON integers and `Resources` is present even when empty
    /// (Okta and Entra both read it).
    pub fn to_json(&self) -> Value {
        self.clone().into_json()
    }

    /// [`ListResponse::to_json`], moving the resources into the body instead of copying them.
    pub fn into_json(self) -> Value {
        let mut body = Map::with_capacity(5);
        body.insert("schemas".into(), json!([LIST_RESPONSE_URN]));
        body.insert("totalResults".into(), self.total_results.into());
        body.insert("startIndex".into(), self.start_index.into());
        body.insert("itemsPerPage".into(), self.resources.len().into());
        body.insert("Resources".into(), Value::Array(self.resources));
        Value::Object(body)
    }
}

/// A value to sort by; `Missing` sorts after everything (so first when descending,
/// RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Bool(bool),
    Number(f64),
    Time(i128),
    Text(String),
    Missing,
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::Time(_) => 2,
            SortKey::Text(_) => 3,
            SortKey::Missing => 4,
        }
    }
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            (SortKey::Time(a), SortKey::Time(b)) => a.cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// The key of one resource for `sortBy` (for multi-valued attributes: the primary value, else
/// the first).
pub fn sort_key(
    resource: &Map<String, Value>,
    sort_by: &AttrPath,
    schema: &ResourceSchema,
) -> SortKey {
    let (container, attr, sub): (
        Option<&Map<String, Value>>,
        Option<&Attribute>,
        Option<&Attribute>,
    ) = match schema.resolve(sort_by) {
        Target::Attribute {
            extension,
            attr,
            sub,
        } => (
            match extension {
                Some(urn) => get_ci(resource, urn).and_then(Value::as_object),
                None => Some(resource),
            },
            Some(attr),
            sub,
        ),
        _ => (None, None, None),
    };
    let Some(attr) = attr else {
        return SortKey::Missing;
    };
    let Some(mut value) = container.and_then(|c| c.get(&attr.name)) else {
        return SortKey::Missing;
    };
    if let Value::Array(items) = value {
        let primary = items
            .iter()
            .find(|v| v.get("primary") == Some(&Value::Bool(true)));
        match primary.or(items.first()) {
            Some(v) => value = v,
            None => return SortKey::Missing,
        }
    }
    let def = match sub {
        Some(sub) => {
            match value.get(&sub.name) {
                Some(v) => value = v,
                None => return SortKey::Missing,
            }
            sub
        }
        None if attr.ty == AttrType::Complex => {
            match (attr.sub_attribute("value"), value.get("value")) {
                (Some(def), Some(v)) => {
                    value = v;
                    def
                }
                _ => return SortKey::Missing,
            }
        }
        None => attr,
    };
    if !is_assigned(value) {
        return SortKey::Missing;
    }
    match value {
        Value::Bool(b) => SortKey::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(SortKey::Missing, SortKey::Number),
        Value::String(s) if def.ty == AttrType::DateTime => OffsetDateTime::parse(s, &Rfc3339)
            .map_or_else(
                |_| SortKey::Text(s.clone()),
                |t| SortKey::Time(t.unix_timestamp_nanos()),
            ),
        Value::String(s) if def.compares_case_exact() => SortKey::Text(s.clone()),
        Value::String(s) => SortKey::Text(s.to_lowercase()),
        _ => SortKey::Missing,
    }
}

/// Stable sort by `sortBy`: equal keys keep their order, so paging stays consistent.
pub fn sort(
    resources: &mut [Map<String, Value>],
    sort_by: &AttrPath,
    order: SortOrder,
    schema: &ResourceSchema,
) {
    match order {
        SortOrder::Ascending => resources.sort_by_cached_key(|r| sort_key(r, sort_by, schema)),
        SortOrder::Descending => {
            resources.sort_by_cached_key(|r| std::cmp::Reverse(sort_key(r, sort_by, schema)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaRegistry;

    fn users() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    fn query(params: &[(&str, &str)]) -> Result<ListQuery, QueryError> {
        ListQuery::from_params(params.iter().copied(), &users(), QueryLimits::default())
    }

    #[test]
    fn paging_values_are_normalised() {
        let q = query(&[("startIndex", "0"), ("count", "-5")]).expect("valid");
        assert_eq!((q.start_index, q.count), (1, 0));
        let q = query(&[("count", "100000")]).expect("valid");
        assert_eq!(q.count, 1000, "clamped to maxResults");
        let q = query(&[]).expect("valid");
        assert_eq!((q.start_index, q.count), (1, 100));
        assert_eq!(
            query(&[("count", "ten")])
                .expect_err("bad count")
                .to_string(),
            "'count' must be an integer, found \"ten\""
        );
        assert!(query(&[("sortOrder", "up")]).is_err());
        assert!(query(&[("filter", "userName eq")]).is_err());
        assert!(
            query(&[("aadOptscim062020", ""), ("FILTER", "userName eq \"x\"")])
                .expect("unknown params ignored")
                .filter
                .is_some()
        );
    }

    #[test]
    fn the_configured_filter_limit_applies() {
        let limits = QueryLimits {
            filter: FilterLimits {
                max_len: 20,
                ..FilterLimits::default()
            },
            ..QueryLimits::default()
        };
        let long = r#"userName eq "a-rather-long-name""#;
        let e = ListQuery::from_params([("filter", long)], &users(), limits).expect_err("too long");
        assert!(
            matches!(e, QueryError::Filter(FilterError::TooLong { max: 20, .. })),
            "{e}"
        );
        assert!(
            query(&[("filter", long)]).is_ok(),
            "fine within the default limit"
        );
    }

    #[test]
    fn window_walks_pages_like_okta_and_entra() {
        let q = query(&[("startIndex", "11"), ("count", "5")]).expect("valid");
        assert_eq!(q.window(12), (10, 2));
        assert_eq!(q.window(3), (3, 0));
        let q = query(&[("startIndex", "1"), ("count", "0")]).expect("valid");
        assert_eq!(q.window(12), (0, 0));
    }

    #[test]
    fn search_request_body() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_URN],
            "attributes": ["displayName", "userName"],
            "filter": "displayName sw \"smith\"",
            "startIndex": 1, "count": 10, "sortBy": "userName", "sortOrder": "descending"
        });
        let q =
            ListQuery::from_search_request(&body, &users(), QueryLimits::default()).expect("valid");
        assert_eq!(q.projection.attributes.len(), 2);
        assert_eq!((q.count, q.sort_order), (10, SortOrder::Descending));
        assert!(
            ListQuery::from_search_request(
                &json!({"count": "x"}),
                &users(),
                QueryLimits::default()
            )
            .is_err()
        );
        assert!(
            ListQuery::from_search_request(
                &json!({"schemas": ["urn:x"]}),
                &users(),
                QueryLimits::default()
            )
            .is_err()
        );
    }

    #[test]
    fn sorting_follows_schema_rules_and_is_stable() {
        let make = |id: &str, user_name: Option<&str>, modified: &str| {
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            if let Some(u) = user_name {
                m.insert("userName".into(), json!(u));
            }
            m.insert("meta".into(), json!({"lastModified": modified}));
            m
        };
        let rows = vec![
            make("1", Some("bob"), "2024-01-01T00:00:00Z"),
            make("2", None, "2024-01-01T00:00:00+01:00"),
            make("3", Some("Alice"), "2023-12-31T23:30:00Z"),
            make("4", Some("BOB"), "2024-01-02T00:00:00Z"),
        ];
        let ids = |rows: &[Map<String, Value>]| {
            rows.iter()
                .map(|r| r["id"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        };
        let mut asc = rows.clone();
        sort(
            &mut asc,
            &AttrPath::simple("userName"),
            SortOrder::Ascending,
            &users(),
        );
        assert_eq!(
            ids(&asc),
            ["3", "1", "4", "2"],
            "case-insensitive, ties stable, missing last"
        );
        let mut desc = rows.clone();
        sort(
            &mut desc,
            &AttrPath::simple("userName"),
            SortOrder::Descending,
            &users(),
        );
        assert_eq!(ids(&desc)[0], "2", "missing first when descending");
        let mut by_time = rows;
        sort(
            &mut by_time,
            &AttrPath::with_sub("meta", "lastModified"),
            SortOrder::Ascending,
            &users(),
        );
        assert_eq!(
            ids(&by_time),
            ["2", "3", "1", "4"],
            "dateTimes sort as instants"
        );
    }

    #[test]
    fn list_response_counters_are_integers() {
        let body = ListResponse {
            total_results: 0,
            start_index: 1,
            resources: vec![],
        }
        .to_json();
        assert_eq!(
            body,
            json!({"schemas": [LIST_RESPONSE_URN], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
        );
    }
}
