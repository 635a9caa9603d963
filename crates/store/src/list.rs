//! Answering a list query, the same way on both backends: see [`crate::plan`] for which
//! index answers which filter.

use std::collections::{BTreeMap, HashMap};

use scim::ResourceKind;
use scim::query::{SortKey, SortOrder, sort_key};
use serde_json::{Map, Value};

use crate::plan::{self, Plan};
use crate::tx::Tx;
use crate::{ListQuery, Page, StoreError, StoredResource};

/// Rows read per statement when every resource must be evaluated.
const SCAN_BATCH: usize = 1000;

pub(crate) async fn list<T: Tx>(
    tx: &mut T,
    connector: &str,
    kind: ResourceKind,
    query: &ListQuery<'_>,
) -> Result<Page, StoreError> {
    match plan::plan(kind, query) {
        Plan::Ordered(order) => {
            let total = tx.count(connector, kind).await?;
            let resources = if query.limit == 0 || query.offset >= total {
                Vec::new()
            } else {
                tx.page(connector, kind, order, query.offset, query.limit)
                    .await?
                    .into_iter()
                    .map(|f| f.resource)
                    .collect()
            };
            Ok(Page { total, resources })
        }
        Plan::Lookup(lookups) => {
            // By sequence number: deduplicated and in insertion order, as a scan would see them.
            let mut candidates = BTreeMap::new();
            for lookup in &lookups {
                for fetched in tx.lookup(connector, kind, lookup).await? {
                    candidates.insert(fetched.seq, fetched.resource);
                }
            }
            let matches: Vec<(Map<String, Value>, StoredResource)> = candidates
                .into_values()
                .map(|r| (r.view(), r))
                .filter(|(view, _)| matches(query, view))
                .collect();
            let total = matches.len();
            let resources = match query.sort {
                Some((path, order)) => {
                    let keyed = matches
                        .into_iter()
                        .map(|(view, r)| (sort_key(&view, path, query.schema), r))
                        .collect();
                    sorted_window(keyed, order, query)
                }
                None => window(matches.into_iter().map(|(_, r)| r), query),
            };
            Ok(Page { total, resources })
        }
        Plan::Scan => scan(tx, connector, kind, query).await,
    }
}

fn matches(query: &ListQuery<'_>, view: &Map<String, Value>) -> bool {
    query
        .filter
        .is_none_or(|f| scim::filter::matches(f, view, query.schema))
}

fn window<T>(items: impl IntoIterator<Item = T>, query: &ListQuery<'_>) -> Vec<T> {
    items
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .collect()
}

/// Stable sort (ties keep insertion order, also descending, like `scim::query::sort`), then the
/// page.
fn sorted_window<T>(
    mut keyed: Vec<(SortKey, T)>,
    order: SortOrder,
    query: &ListQuery<'_>,
) -> Vec<T> {
    match order {
        SortOrder::Ascending => keyed.sort_by(|a, b| a.0.cmp(&b.0)),
        SortOrder::Descending => keyed.sort_by(|a, b| b.0.cmp(&a.0)),
    }
    window(keyed.into_iter().map(|(_, item)| item), query)
}

/// Evaluates every resource of the connector and kind, a batch at a time. Only what the page
/// needs is kept: the page itself when unsorted, else the sort keys, and the page is read again
/// by sequence number once sorted.
async fn scan<T: Tx>(
    tx: &mut T,
    connector: &str,
    kind: ResourceKind,
    query: &ListQuery<'_>,
) -> Result<Page, StoreError> {
    let mut total = 0;
    let mut page = Vec::new();
    let mut keyed: Vec<(SortKey, i64)> = Vec::new();
    let mut after = 0;
    loop {
        let batch = tx.batch(connector, kind, after, SCAN_BATCH).await?;
        let complete = batch.len() < SCAN_BATCH;
        for fetched in batch {
            after = fetched.seq;
            let view = fetched.resource.view();
            if !matches(query, &view) {
                continue;
            }
            match query.sort {
                Some((path, _)) => keyed.push((sort_key(&view, path, query.schema), fetched.seq)),
                None if total >= query.offset && page.len() < query.limit => {
                    page.push(fetched.resource);
                }
                None => {}
            }
            total += 1;
        }
        if complete {
            break;
        }
    }
    if let Some((_, order)) = query.sort {
        let seqs = sorted_window(keyed, order, query);
        let mut by_seq: HashMap<i64, StoredResource> = tx
            .by_seqs(kind, &seqs)
            .await?
            .into_iter()
            .map(|f| (f.seq, f.resource))
            .collect();
        page = seqs.iter().filter_map(|s| by_seq.remove(s)).collect();
    }
    Ok(Page {
        total,
        resources: page,
    })
}
