//! Answering a list query, the same way on both backends: see [`crate::plan`] for which
//! index answers which filter.

use std::collections::{BTreeMap, HashMap};

use scim::ResourceKind;
use scim::query::{SortKey, SortOrder, sort_key};
use serde_json::{Map, Value};

use crate::anchors::{Anchor, Anchors};
use crate::plan::{self, Plan, SortColumn, SqlOrder};
use crate::tx::{Counters, Fetched, ReadTx};
use crate::{ListQuery, Page, StoreError, StoredResource};

/// Rows read per statement when every resource must be evaluated.
const SCAN_BATCH: usize = 1000;

pub(crate) async fn list<T: ReadTx>(
    tx: &mut T,
    anchors: &Anchors,
    connector: &str,
    kind: ResourceKind,
    query: &ListQuery<'_>,
) -> Result<Page, StoreError> {
    list_in_batches(tx, anchors, connector, kind, query, SCAN_BATCH).await
}

async fn list_in_batches<T: ReadTx>(
    tx: &mut T,
    anchors: &Anchors,
    connector: &str,
    kind: ResourceKind,
    query: &ListQuery<'_>,
    batch_size: usize,
) -> Result<Page, StoreError> {
    match plan::plan(kind, query) {
        Plan::Ordered(order) => {
            let counters = tx.counters(connector, kind).await?;
            let resources = if query.limit == 0 || query.offset >= counters.total {
                Vec::new()
            } else if order.column == SortColumn::Seq {
                seq_page(tx, anchors, connector, kind, order, counters, query).await?
            } else {
                tx.page(connector, kind, order, query.offset, query.limit)
                    .await?
            };
            Ok(Page {
                total: counters.total,
                resources: resources.into_iter().map(|f| f.resource).collect(),
            })
        }
        Plan::Lookup(lookups) => {
            let mut found = Vec::new();
            for lookup in &lookups {
                found.extend(tx.lookup(connector, kind, lookup).await?);
            }
            let needed = needed_members(kind, query);
            with_members(tx, connector, &needed, &mut found).await?;
            let mut page = lookup_page(query, found);
            without_members(&needed, &mut page.resources);
            Ok(page)
        }
        Plan::Scan => scan(tx, connector, kind, query, batch_size).await,
    }
}

/// Which members of each Group a filter must see: a Group's members are not among its stored
/// attributes, so a filter that mentions them is evaluated with them put in, and no more of
/// them than it asks about (Entra's probe `members[value eq "U"]` reads one row per Group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NeededMembers {
    Nothing,
    Only(Vec<String>),
    Every,
}

/// What [`NeededMembers`] the query's filter has on resources of `kind`.
pub(crate) fn needed_members(kind: ResourceKind, query: &ListQuery<'_>) -> NeededMembers {
    match (kind, query.filter) {
        (ResourceKind::Group, Some(filter)) => match scim::members::member_ids_in_filter(filter) {
            Some(ids) if ids.is_empty() => NeededMembers::Nothing,
            Some(ids) => NeededMembers::Only(ids),
            None => NeededMembers::Every,
        },
        _ => NeededMembers::Nothing,
    }
}

/// Puts into each Group the members the filter must see.
async fn with_members<T: ReadTx>(
    tx: &mut T,
    connector: &str,
    needed: &NeededMembers,
    found: &mut [Fetched],
) -> Result<(), StoreError> {
    let only = match needed {
        NeededMembers::Nothing => return Ok(()),
        NeededMembers::Only(ids) => Some(ids.as_slice()),
        NeededMembers::Every => None,
    };
    for fetched in found {
        let members = tx.members(connector, &fetched.resource.id, only).await?;
        scim::members::put_members(&mut fetched.resource.attributes, &members);
    }
    Ok(())
}

/// Takes out again what [`with_members`] put in: lists answer Groups without their members.
fn without_members(needed: &NeededMembers, resources: &mut [StoredResource]) {
    if *needed != NeededMembers::Nothing {
        for resource in resources {
            resource.attributes.shift_remove(scim::members::MEMBERS);
        }
    }
}

/// The answer of a [`Plan::Lookup`] from what its lookups found (in one snapshot): each
/// resource once, in insertion order as a scan would see them, checked against the whole
/// filter, then sorted and paged.
pub(crate) fn lookup_page(query: &ListQuery<'_>, found: Vec<Fetched>) -> Page {
    let candidates: BTreeMap<i64, StoredResource> =
        found.into_iter().map(|f| (f.seq, f.resource)).collect();
    // Each match with its sort key (none when unsorted).
    let mut matched: Vec<(SortKey, StoredResource)> = Vec::new();
    for mut resource in candidates.into_values() {
        let key = resource.inspect_view(|view| {
            matches(query, view).then(|| match query.sort {
                Some((path, _)) => sort_key(view, path, query.schema),
                None => SortKey::Missing,
            })
        });
        if let Some(key) = key {
            matched.push((key, resource));
        }
    }
    let total = matched.len();
    let resources = match query.sort {
        Some((_, order)) => sorted_window(matched, order, query),
        None => window(matched.into_iter().map(|(_, r)| r), query),
    };
    Page { total, resources }
}

/// A page in insertion order: from the anchor of its offset when one was computed at the
/// generation this snapshot reads (see [`crate::anchors`] for why it is then exact), else with
/// OFFSET. Either way the anchor of the next page is remembered.
///
/// Only ascending: the planner yields insertion order only without `sortBy`, and SCIM's
/// `sortOrder` means nothing without it. A descending one would still be right, with OFFSET.
async fn seq_page<T: ReadTx>(
    tx: &mut T,
    anchors: &Anchors,
    connector: &str,
    kind: ResourceKind,
    order: SqlOrder,
    counters: Counters,
    query: &ListQuery<'_>,
) -> Result<Vec<Fetched>, StoreError> {
    if order.descending {
        return tx
            .page(connector, kind, order, query.offset, query.limit)
            .await;
    }
    let anchor = match query.offset {
        // OFFSET 0 costs nothing to skip.
        0 => None,
        offset => anchors
            .get(connector, kind, offset)
            .filter(|a| a.generation == counters.generation),
    };
    let rows = match anchor {
        Some(anchor) => {
            anchors.count_keyset();
            tx.batch(connector, kind, anchor.seq, query.limit).await?
        }
        None => {
            anchors.count_offset();
            tx.page(connector, kind, order, query.offset, query.limit)
                .await?
        }
    };
    if let Some(last) = rows.last() {
        let next = Anchor {
            generation: counters.generation,
            seq: last.seq,
        };
        anchors.put(connector, kind, query.offset + rows.len(), next);
    }
    Ok(rows)
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
async fn scan<T: ReadTx>(
    tx: &mut T,
    connector: &str,
    kind: ResourceKind,
    query: &ListQuery<'_>,
    batch_size: usize,
) -> Result<Page, StoreError> {
    let mut total = 0;
    let mut page = Vec::new();
    let mut keyed: Vec<(SortKey, i64)> = Vec::new();
    let mut after = 0;
    let needed = needed_members(kind, query);
    loop {
        let mut batch = tx.batch(connector, kind, after, batch_size).await?;
        with_members(tx, connector, &needed, &mut batch).await?;
        let complete = batch.len() < batch_size;
        for mut fetched in batch {
            after = fetched.seq;
            let Some(key) = fetched.resource.inspect_view(|view| {
                matches(query, view).then(|| {
                    query
                        .sort
                        .map(|(path, _)| sort_key(view, path, query.schema))
                })
            }) else {
                continue;
            };
            match key {
                Some(key) => keyed.push((key, fetched.seq)),
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
    without_members(&needed, &mut page);
    Ok(Page {
        total,
        resources: page,
    })
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use scim::query::SortOrder;
    use scim::{AttrPath, Filter, SchemaRegistry};
    use serde_json::json;
    use time::OffsetDateTime;

    use super::*;
    use crate::plan::{Lookup, SortColumn, SqlOrder};
    use crate::tx::Fetched;

    /// Users in memory, recording the statements a list runs.
    #[derive(Default)]
    struct FakeTx {
        rows: Vec<Fetched>,
        generation: i64,
        statements: Vec<String>,
    }

    impl FakeTx {
        /// Users `u1`… with seq 10, 20, …; `title` on every other one.
        fn with_users(names: &[&str]) -> FakeTx {
            let rows = names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let mut attributes = json!({"userName": name});
                    if i % 2 == 0 {
                        attributes["title"] = json!("t");
                    }
                    Fetched {
                        seq: (i as i64 + 1) * 10,
                        resource: StoredResource {
                            kind: ResourceKind::User,
                            id: format!("u{}", i + 1),
                            version: 1,
                            created: OffsetDateTime::UNIX_EPOCH,
                            last_modified: OffsetDateTime::UNIX_EPOCH,
                            attributes: attributes.as_object().cloned().unwrap_or_default(),
                            vendor_keys: json!({}),
                        },
                    }
                })
                .collect();
            FakeTx {
                rows,
                generation: 1,
                statements: Vec::new(),
            }
        }
    }

    #[async_trait]
    impl ReadTx for FakeTx {
        async fn counters(&mut self, _: &str, _: ResourceKind) -> Result<Counters, StoreError> {
            self.statements.push("count".into());
            Ok(Counters {
                total: self.rows.len(),
                generation: self.generation,
            })
        }

        async fn page(
            &mut self,
            _: &str,
            _: ResourceKind,
            order: SqlOrder,
            offset: usize,
            limit: usize,
        ) -> Result<Vec<Fetched>, StoreError> {
            assert_eq!(order.column, SortColumn::Seq, "the fake pages by seq only");
            self.statements.push(format!("page {offset} {limit}"));
            Ok(self.rows.iter().skip(offset).take(limit).cloned().collect())
        }

        async fn lookup(
            &mut self,
            _: &str,
            _: ResourceKind,
            lookup: &Lookup,
        ) -> Result<Vec<Fetched>, StoreError> {
            self.statements.push(format!("lookup {lookup:?}"));
            let Lookup::UniqueKey(key) = lookup else {
                panic!("the fake looks up userName only");
            };
            Ok(self
                .rows
                .iter()
                .filter(|f| {
                    f.resource.attributes["userName"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase() == *key)
                })
                .cloned()
                .collect())
        }

        async fn batch(
            &mut self,
            _: &str,
            _: ResourceKind,
            after_seq: i64,
            limit: usize,
        ) -> Result<Vec<Fetched>, StoreError> {
            self.statements.push(format!("batch {after_seq}"));
            Ok(self
                .rows
                .iter()
                .filter(|f| f.seq > after_seq)
                .take(limit)
                .cloned()
                .collect())
        }

        async fn by_seqs(
            &mut self,
            _: ResourceKind,
            seqs: &[i64],
        ) -> Result<Vec<Fetched>, StoreError> {
            self.statements.push(format!("by_seqs {seqs:?}"));
            Ok(self
                .rows
                .iter()
                .filter(|f| seqs.contains(&f.seq))
                .cloned()
                .collect())
        }

        async fn members(
            &mut self,
            _: &str,
            group_id: &str,
            only: Option<&[String]>,
        ) -> Result<Vec<scim::members::Member>, StoreError> {
            self.statements.push(format!("members {group_id} {only:?}"));
            Ok(Vec::new())
        }
    }

    async fn run(
        tx: &mut FakeTx,
        filter: Option<&str>,
        sort: Option<(&str, SortOrder)>,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<String>) {
        run_with(tx, &Anchors::default(), filter, sort, offset, limit).await
    }

    async fn run_with(
        tx: &mut FakeTx,
        anchors: &Anchors,
        filter: Option<&str>,
        sort: Option<(&str, SortOrder)>,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<String>) {
        let schema = SchemaRegistry::standard()
            .resource_schema("User")
            .unwrap_or_else(|| panic!("User schema"));
        let filter = filter.map(|f| Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}")));
        let path = sort.map(|(p, _)| AttrPath::parse(p).unwrap_or_else(|e| panic!("{e}")));
        let query = ListQuery {
            filter: filter.as_ref(),
            schema: &schema,
            sort: path.as_ref().zip(sort.map(|(_, o)| o)),
            offset,
            limit,
        };
        let page = list_in_batches(tx, anchors, "c", ResourceKind::User, &query, 2)
            .await
            .unwrap_or_else(|e| panic!("list: {e}"));
        (
            page.total,
            page.resources.into_iter().map(|r| r.id).collect(),
        )
    }

    #[tokio::test]
    async fn a_scan_reads_every_batch_and_keeps_only_the_page() {
        let mut tx = FakeTx::with_users(&["e", "d", "c", "b", "a"]);
        let (total, ids) = run(&mut tx, Some("title pr"), None, 1, 1).await;
        assert_eq!((total, ids), (3, vec!["u3".to_owned()]));
        assert_eq!(tx.statements, ["batch 0", "batch 20", "batch 40"]);

        let mut even = FakeTx::with_users(&["a", "b", "c", "d"]);
        let (total, _) = run(&mut even, Some("title pr"), None, 0, 10).await;
        assert_eq!(total, 2);
        assert_eq!(
            even.statements,
            ["batch 0", "batch 20", "batch 40"],
            "a full last batch needs one more, empty, read"
        );
    }

    #[tokio::test]
    async fn a_sorted_scan_reads_back_only_the_page() {
        let mut tx = FakeTx::with_users(&["e", "D", "c", "b", "A"]);
        let (total, ids) = run(
            &mut tx,
            Some(r#"userName ne "c""#),
            Some(("userName", SortOrder::Descending)),
            1,
            2,
        )
        .await;
        assert_eq!((total, ids), (4, vec!["u2".to_owned(), "u4".to_owned()]));
        assert_eq!(
            tx.statements.last().map(String::as_str),
            Some("by_seqs [20, 40]")
        );
    }

    #[tokio::test]
    async fn an_unfiltered_list_pages_in_sql_and_counts_from_the_counters() {
        let mut tx = FakeTx::with_users(&["a", "b", "c"]);
        let (total, ids) = run(&mut tx, None, None, 1, 5).await;
        assert_eq!((total, ids), (3, vec!["u2".to_owned(), "u3".to_owned()]));
        assert_eq!(tx.statements, ["count", "page 1 5"]);
        let mut past = FakeTx::with_users(&["a"]);
        assert_eq!(run(&mut past, None, None, 1, 5).await, (1, vec![]));
        assert_eq!(past.statements, ["count"], "no page read past the end");
    }

    #[tokio::test]
    async fn a_walk_in_insertion_order_continues_from_anchors() {
        let mut tx = FakeTx::with_users(&["a", "b", "c", "d", "e"]);
        let anchors = Anchors::default();
        let mut walked = Vec::new();
        for offset in [0, 2, 4] {
            walked.extend(run_with(&mut tx, &anchors, None, None, offset, 2).await.1);
        }
        assert_eq!(walked, ["u1", "u2", "u3", "u4", "u5"]);
        assert_eq!(
            tx.statements,
            [
                "count", "page 0 2", "count", "batch 20", "count", "batch 40"
            ]
        );
        assert_eq!(anchors.stats().keyset, 2);
    }

    #[tokio::test]
    async fn an_anchor_of_another_generation_is_not_used() {
        let mut tx = FakeTx::with_users(&["a", "b", "c", "d", "e"]);
        let anchors = Anchors::default();
        run_with(&mut tx, &anchors, None, None, 0, 2).await;
        // The second user is deleted: what was at position 2 is now at 1.
        tx.rows.remove(1);
        tx.generation += 1;
        tx.statements.clear();
        let (total, ids) = run_with(&mut tx, &anchors, None, None, 2, 2).await;
        assert_eq!((total, ids), (4, vec!["u4".to_owned(), "u5".to_owned()]));
        assert_eq!(tx.statements, ["count", "page 2 2"]);
        assert_eq!(
            anchors.stats(),
            crate::PagingStats {
                keyset: 0,
                offset: 2
            }
        );
        // The page read with OFFSET left a fresh anchor for the next one.
        assert_eq!(
            anchors.get("c", ResourceKind::User, 4),
            Some(Anchor {
                generation: 2,
                seq: 50
            })
        );
    }

    #[tokio::test]
    async fn lookups_are_deduplicated_and_the_whole_filter_is_checked() {
        let mut tx = FakeTx::with_users(&["a", "b", "c"]);
        let (total, ids) = run(
            &mut tx,
            Some(r#"(userName eq "C" or userName eq "a" or userName eq "A") and title pr"#),
            None,
            0,
            10,
        )
        .await;
        assert_eq!(
            (total, ids),
            (2, vec!["u1".to_owned(), "u3".to_owned()]),
            "insertion order, each once"
        );
        assert_eq!(tx.statements.len(), 2, "{:?}", tx.statements);
        let (total, _) = run(
            &mut tx,
            Some(r#"userName eq "b" and title pr"#),
            None,
            0,
            10,
        )
        .await;
        assert_eq!(total, 0, "u2 has no title: the candidate is dropped");
    }
}
