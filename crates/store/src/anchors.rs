//! Keyset anchors for deep pages of an unfiltered list in insertion order.
//!
//! Identity providers walk every resource with `startIndex += count`. Read with
//! `ORDER BY seq LIMIT n OFFSET k`, each page costs time proportional to `k` (the database steps
//! over `k` entries), so a whole walk is quadratic in the size of the store. After serving the
//! page at `(offset, limit)` the store remembers an anchor for `offset + limit`: the `seq` of the
//! last row served. The next page of the walk is then `seq > anchor ORDER BY seq LIMIT n`, an
//! index seek.
//!
//! Why an anchor is never stale, on any replica: positions in insertion order only shift when
//! a resource of that connector and kind is inserted or deleted (a replace rewrites a row in
//! place, and `seq` never changes). Every commit that inserts or deletes one also adds one to
//! the `generation` of its connector and kind, in the same transaction. The generation is read
//! in the same snapshot as the page; an anchor is used only when it was computed at that same
//! generation, that is over exactly the same rows, so the `offset` rows before the anchor are
//! exactly the rows of `seq <= anchor` and the keyset page equals the OFFSET page. Equal
//! generations mean the same rows because snapshots are nested (a later one sees every commit
//! an earlier one saw, and more) and each such commit adds at least one: two snapshots that
//! read the same generation saw the same inserts and deletes. On SQLite the generation is one
//! row; on PostgreSQL it is the sum of up to sixteen rows (a commit advances one at random, so
//! concurrent writes do not queue for one row's lock), which the same argument covers. The
//! generation lives in the database, not in the process, so an insert or delete committed by
//! another replica invalidates this replica's anchors too.
//!
//! (A database restored from a backup under a running store could reach an old generation
//! with other rows; restart the gateway after a restore.)

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use scim::ResourceKind;

/// Anchors kept per store. A walk needs one at a time (the page it will ask next), so a few
/// thousand serve as many concurrent walks; the oldest go first.
pub(crate) const CAPACITY: usize = 4096;

/// Where a page in insertion order (ascending) starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    connector: String,
    kind: ResourceKind,
    offset: usize,
}

/// The `seq` of the row just before a position, at a generation of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor {
    pub generation: i64,
    pub seq: i64,
}

/// How unfiltered pages in insertion order were read since the store was opened: from a
/// keyset anchor, or with OFFSET (a first page, a jump, or after an insert or delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PagingStats {
    pub keyset: u64,
    pub offset: u64,
}

/// A bounded map of anchors, oldest evicted first.
#[derive(Debug)]
pub(crate) struct Anchors {
    capacity: usize,
    inner: Mutex<Inner>,
    keyset: AtomicU64,
    offset: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<Key, Anchor>,
    /// Keys in insertion order, each once.
    order: VecDeque<Key>,
}

impl Default for Anchors {
    fn default() -> Self {
        Anchors::with_capacity(CAPACITY)
    }
}

impl Anchors {
    pub fn with_capacity(capacity: usize) -> Anchors {
        Anchors {
            capacity: capacity.max(1),
            inner: Mutex::default(),
            keyset: AtomicU64::new(0),
            offset: AtomicU64::new(0),
        }
    }

    /// A poisoned lock still holds a consistent map: every update below completes without
    /// panicking or leaves the map as it was.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The anchor of the page at `offset`, if one was remembered.
    pub fn get(&self, connector: &str, kind: ResourceKind, offset: usize) -> Option<Anchor> {
        let key = Key {
            connector: connector.to_owned(),
            kind,
            offset,
        };
        self.inner().map.get(&key).copied()
    }

    /// Remembers the anchor of the page at `offset`, replacing an older one.
    pub fn put(&self, connector: &str, kind: ResourceKind, offset: usize, anchor: Anchor) {
        let key = Key {
            connector: connector.to_owned(),
            kind,
            offset,
        };
        let mut inner = self.inner();
        if let Some(existing) = inner.map.get_mut(&key) {
            *existing = anchor;
            return;
        }
        if inner.map.len() >= self.capacity
            && let Some(oldest) = inner.order.pop_front()
        {
            inner.map.remove(&oldest);
        }
        inner.order.push_back(key.clone());
        inner.map.insert(key, anchor);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner().map.len()
    }

    pub fn count_keyset(&self) {
        self.keyset.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_offset(&self) {
        self.offset.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> PagingStats {
        PagingStats {
            keyset: self.keyset.load(Ordering::Relaxed),
            offset: self.offset.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(generation: i64, seq: i64) -> Anchor {
        Anchor { generation, seq }
    }

    #[test]
    fn anchors_are_found_by_connector_kind_direction_and_offset() {
        let anchors = Anchors::default();
        anchors.put("a", ResourceKind::User, 100, anchor(3, 250));
        assert_eq!(
            anchors.get("a", ResourceKind::User, 100),
            Some(anchor(3, 250))
        );
        assert_eq!(anchors.get("a", ResourceKind::User, 200), None);
        assert_eq!(anchors.get("a", ResourceKind::Group, 100), None);
        assert_eq!(anchors.get("b", ResourceKind::User, 100), None);
        anchors.put("a", ResourceKind::User, 100, anchor(4, 251));
        assert_eq!(
            anchors.get("a", ResourceKind::User, 100),
            Some(anchor(4, 251)),
            "a newer anchor replaces the old one"
        );
        assert_eq!(anchors.len(), 1);
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_oldest() {
        let anchors = Anchors::with_capacity(3);
        for offset in 1..=3 {
            anchors.put("a", ResourceKind::User, offset, anchor(1, offset as i64));
        }
        // Replacing an anchor neither grows the cache nor makes it younger.
        anchors.put("a", ResourceKind::User, 1, anchor(2, 10));
        assert_eq!(anchors.len(), 3);
        anchors.put("a", ResourceKind::User, 4, anchor(1, 4));
        assert_eq!(anchors.len(), 3);
        assert_eq!(anchors.get("a", ResourceKind::User, 1), None);
        for offset in 2..=4 {
            assert!(anchors.get("a", ResourceKind::User, offset).is_some());
        }
        for offset in 5..1000 {
            anchors.put("a", ResourceKind::User, offset, anchor(1, 0));
        }
        assert_eq!(anchors.len(), 3);
        let inner = anchors.inner();
        assert_eq!(inner.order.len(), 3, "the eviction queue is bounded too");
    }

    #[test]
    fn the_default_capacity_holds() {
        let anchors = Anchors::default();
        for offset in 0..CAPACITY + 10 {
            anchors.put("a", ResourceKind::User, offset, anchor(1, 0));
        }
        assert_eq!(anchors.len(), CAPACITY);
    }
}
