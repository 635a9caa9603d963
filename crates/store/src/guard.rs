//! The deletion guards' state (docs/architecture.md "The deletion guard"), kept in the store so
//! that every replica on one database counts the same removals, holds the same ones, and obeys
//! the same operator; and so that a tripped guard stays tripped across a restart.
//!
//! Each connector has one row: whether and since when its guard is tripped, the operator's
//! allowance, how many removals it holds, and the removals let through lately, counted in
//! [`BUCKETS`] buckets per window. The buckets keep the row's size fixed whatever the limit
//! (a share of 100,000 users allows thousands): a removal writes one small row, never a list
//! as long as the window's removals. The price is that a removal counts for its window and at
//! most a bucket's width (a sixtieth of the window) more.
//!
//! The removals a tripped guard refused are rows of their own, keyed by connector, kind and id,
//! so that a retry is listed once and one let through leaves the list with one indexed delete.
//!
//! [`admit`] and [`allow`] are the algorithm, written once: each backend runs them in one
//! transaction that holds the connector's row ([`GuardTx::take`]), so replicas deciding at the
//! same moment decide one after the other. The caller brings the time and the rule (the limit
//! depends on the gateway's configuration and its count of the users).

use std::time::Duration;

use async_trait::async_trait;
use scim::ResourceKind;
use time::OffsetDateTime;

use crate::StoreError;
use crate::codec::{self, corrupt};
use crate::queue::millis as millis_of;
use crate::sql::{Statement, statement};

/// Buckets per window.
pub const BUCKETS: u64 = 60;

/// A removal the guard is asked about.
#[derive(Debug, Clone, Copy)]
pub struct Removal<'a> {
    pub kind: ResourceKind,
    pub id: &'a str,
    /// The `userName` or `displayName`, for the operator.
    pub name: Option<&'a str>,
    /// `delete` or `deactivate`.
    pub what: &'a str,
    pub request_id: Option<&'a str>,
}

/// What the guard is configured to allow now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardRule {
    /// Removals allowed within the window; the next one trips the guard.
    pub limit: u64,
    pub window: Duration,
}

/// The guard's answer to one removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let through (and counted).
    Pass,
    /// Refused, and this removal tripped the guard.
    Tripped,
    /// Refused: the guard was tripped already.
    Held,
}

/// A removal refused while the guard was tripped.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldRemoval {
    /// When it was first refused.
    pub at: OffsetDateTime,
    pub kind: ResourceKind,
    pub id: String,
    pub name: Option<String>,
    pub what: String,
    pub request_id: Option<String>,
}

/// A guard's state, for an operator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardState {
    /// Removals let through within the window.
    pub in_window: u64,
    /// Since when the guard holds removals; `None` while it lets them through.
    pub tripped_since: Option<OffsetDateTime>,
    /// Removals an operator allowed that are still to come.
    pub allowed_count: u64,
    /// Removals pass until this time (an operator's allowance), if it is still ahead.
    pub allowed_until: Option<OffsetDateTime>,
    /// Removals held now.
    pub held_total: u64,
    /// The oldest of them, as many as asked for.
    pub held: Vec<HeldRemoval>,
}

/// A connector's row. Times are Unix milliseconds, the same column type on both backends.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GuardRow {
    pub tripped_since: Option<i64>,
    pub allowed_count: i64,
    pub allowed_until: Option<i64>,
    /// `(start, removals)` of each bucket that may still be within the window, oldest first.
    pub recent: Vec<(i64, i64)>,
    pub held: i64,
}

/// The columns of a row as both backends read them (`recent` is JSON text).
pub(crate) type RowColumns = (Option<i64>, i64, Option<i64>, String, i64);

/// The columns of a held removal: kind, id, at, name, what, request id.
pub(crate) type HeldColumns = (String, String, i64, Option<String>, String, Option<String>);

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(format!("guard time {ms}: {e}")))
}

/// The window in milliseconds, and the width of its buckets: a sixtieth of it, at least a
/// millisecond.
fn spans(window: Duration) -> (i64, i64) {
    let window = millis_of(window).max(1);
    (window, (window / BUCKETS as i64).max(1))
}

/// Whether the bucket starting at `start` still overlaps the window ending at `now`.
fn in_window_at(start: i64, now: i64, window: Duration) -> bool {
    let (window, width) = spans(window);
    start + width > now.saturating_sub(window)
}

impl GuardRow {
    pub(crate) fn from_columns(
        (tripped_since, allowed_count, allowed_until, recent, held): RowColumns,
    ) -> Result<GuardRow, StoreError> {
        let recent = serde_json::from_str(&recent)
            .map_err(|e| corrupt(format!("guard buckets \"{recent}\": {e}")))?;
        Ok(GuardRow {
            tripped_since,
            allowed_count,
            allowed_until,
            recent,
            held,
        })
    }

    pub(crate) fn recent_text(&self) -> Result<String, StoreError> {
        codec::json_text(&self.recent)
    }

    /// Forgets the buckets wholly before the window.
    fn expire(&mut self, now: i64, window: Duration) {
        self.recent
            .retain(|&(start, _)| in_window_at(start, now, window));
    }

    fn in_window(&self, now: i64, window: Duration) -> u64 {
        self.recent
            .iter()
            .filter(|&&(start, _)| in_window_at(start, now, window))
            .map(|&(_, n)| u64::try_from(n).unwrap_or(0))
            .sum()
    }

    fn count(&mut self, now: i64, window: Duration) {
        let (_, width) = spans(window);
        let start = now - now.rem_euclid(width);
        match self.recent.last_mut() {
            Some((last, n)) if *last == start => *n += 1,
            _ => self.recent.push((start, 1)),
        }
    }

    /// Decides on one removal at `now` and records it: counted when it passes, the guard
    /// tripped when it is the first past the limit. A tripped guard lets removals through only
    /// on an operator's allowance.
    pub(crate) fn decide(&mut self, rule: GuardRule, now: i64) -> Admission {
        self.expire(now, rule.window);
        let admission = if self.tripped_since.is_none() {
            if self.in_window(now, rule.window) < rule.limit {
                Admission::Pass
            } else {
                self.tripped_since = Some(now);
                Admission::Tripped
            }
        } else if self.allowed_until.is_some_and(|until| now < until) {
            Admission::Pass
        } else if self.allowed_count > 0 {
            self.allowed_count -= 1;
            Admission::Pass
        } else {
            Admission::Held
        };
        if admission == Admission::Pass {
            self.count(now, rule.window);
        }
        admission
    }

    pub(crate) fn state(
        &self,
        window: Duration,
        now: OffsetDateTime,
        held: Vec<HeldRemoval>,
    ) -> Result<GuardState, StoreError> {
        let now = millis(now);
        Ok(GuardState {
            in_window: self.in_window(now, window),
            tripped_since: self.tripped_since.map(from_millis).transpose()?,
            allowed_count: u64::try_from(self.allowed_count).unwrap_or(0),
            allowed_until: self
                .allowed_until
                .filter(|&until| now < until)
                .map(from_millis)
                .transpose()?,
            held_total: u64::try_from(self.held).unwrap_or(0),
            held,
        })
    }
}

fn held_removal(
    (kind, id, at, name, what, request_id): HeldColumns,
) -> Result<HeldRemoval, StoreError> {
    Ok(HeldRemoval {
        at: from_millis(at)?,
        kind: codec::parse_kind(&kind)?,
        id,
        name,
        what,
        request_id,
    })
}

/// Takes connector $1's row, created empty if it has none, and holds it until the transaction
/// ends (an upsert locks the row on PostgreSQL; SQLite's writer lock is held already).
pub(crate) const TAKE: Statement = statement!(
    "INSERT INTO guard (connector) VALUES ($1) \
     ON CONFLICT (connector) DO UPDATE SET connector = excluded.connector \
     RETURNING tripped_since, allowed_count, allowed_until, recent, held"
);

/// Connector $1's row, without taking it.
pub(crate) const ROW: Statement = statement!(
    "SELECT tripped_since, allowed_count, allowed_until, recent, held FROM guard \
     WHERE connector = $1"
);

/// Writes connector $1's row back.
pub(crate) const SAVE: Statement = statement!(
    "UPDATE guard SET tripped_since = $2, allowed_count = $3, allowed_until = $4, recent = $5, \
     held = $6 WHERE connector = $1"
);

/// Holds a removal (connector, kind, id, at, name, what, request id); a retry of one held
/// already keeps the first.
pub(crate) const HOLD: Statement = statement!(
    "INSERT INTO guard_held (connector, kind, id, at, name, what, request_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (connector, kind, id) DO NOTHING"
);

/// A held removal of connector $1 (kind $2, id $3) let through.
pub(crate) const RELEASE: Statement =
    statement!("DELETE FROM guard_held WHERE connector = $1 AND kind = $2 AND id = $3");

/// The oldest $2 removals connector $1 holds.
pub(crate) const HELD: Statement = statement!(
    "SELECT kind, id, at, name, what, request_id FROM guard_held WHERE connector = $1 \
     ORDER BY at, kind, id LIMIT $2"
);

/// Forget connector $1's guard (its row, then what it holds).
pub(crate) const CLEAR: [Statement; 2] = [
    statement!("DELETE FROM guard WHERE connector = $1"),
    statement!("DELETE FROM guard_held WHERE connector = $1"),
];

/// The statements [`admit`] and [`allow`] are made of, on a transaction the backend holds.
#[async_trait]
pub(crate) trait GuardTx: Send {
    /// The connector's row, created if needed, held until the transaction ends.
    async fn take(&mut self, connector: &str) -> Result<GuardRow, StoreError>;

    async fn save(&mut self, connector: &str, row: &GuardRow) -> Result<(), StoreError>;

    /// Holds a removal; whether it was not held already.
    async fn hold(
        &mut self,
        connector: &str,
        removal: &Removal<'_>,
        at: i64,
    ) -> Result<bool, StoreError>;

    /// Lets a held removal go; whether it was held.
    async fn release(
        &mut self,
        connector: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<bool, StoreError>;

    /// Forgets the connector's guard: its row and what it holds.
    async fn clear(&mut self, connector: &str) -> Result<(), StoreError>;
}

/// Decides on one removal and records the decision ([`crate::Guards::guard_admit`]).
pub(crate) async fn admit(
    tx: &mut impl GuardTx,
    connector: &str,
    removal: &Removal<'_>,
    rule: GuardRule,
    now: OffsetDateTime,
) -> Result<Admission, StoreError> {
    let now = millis(now);
    let mut row = tx.take(connector).await?;
    let admission = row.decide(rule, now);
    if admission == Admission::Pass {
        // A held removal retried and let through is no longer held.
        if row.held > 0 && tx.release(connector, removal.kind, removal.id).await? {
            row.held -= 1;
        }
    } else if tx.hold(connector, removal, now).await? {
        row.held += 1;
    }
    tx.save(connector, &row).await?;
    Ok(admission)
}

/// An operator's allowance ([`crate::Guards::guard_allow`]).
pub(crate) async fn allow(
    tx: &mut impl GuardTx,
    connector: &str,
    count: u32,
    until: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    let mut row = tx.take(connector).await?;
    row.allowed_count = row.allowed_count.saturating_add(i64::from(count));
    if let Some(until) = until {
        row.allowed_until = Some(millis(until));
    }
    tx.save(connector, &row).await
}

/// A guard's state from its row (none: a guard never asked) and the held removals read with it.
pub(crate) fn state_of(
    row: Option<RowColumns>,
    held: Vec<HeldColumns>,
    window: Duration,
    now: OffsetDateTime,
) -> Result<GuardState, StoreError> {
    let row = row
        .map(GuardRow::from_columns)
        .transpose()?
        .unwrap_or_default();
    let held = held
        .into_iter()
        .map(held_removal)
        .collect::<Result<_, _>>()?;
    row.state(window, now, held)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn rule(limit: u64) -> GuardRule {
        GuardRule {
            limit,
            window: Duration::from_secs(600),
        }
    }

    fn decide_all(row: &mut GuardRow, rule: GuardRule, at: i64, n: usize) -> Vec<Admission> {
        (0..n).map(|_| row.decide(rule, at)).collect()
    }

    #[test]
    fn trips_on_the_first_past_the_limit_and_holds_until_allowed() {
        let mut row = GuardRow::default();
        let t = 1_000 * MINUTE;
        let answers = decide_all(&mut row, rule(3), t, 5);
        use Admission::*;
        assert_eq!(answers, [Pass, Pass, Pass, Tripped, Held]);
        assert_eq!(row.tripped_since, Some(t));
        // Tripped stays tripped after the window, until an operator acts.
        assert_eq!(row.decide(rule(3), t + 20 * MINUTE), Held);
        row.allowed_count = 2;
        assert_eq!(
            decide_all(&mut row, rule(3), t + 21 * MINUTE, 3),
            [Pass, Pass, Held]
        );
        row.allowed_until = Some(t + 30 * MINUTE);
        assert_eq!(decide_all(&mut row, rule(3), t + 29 * MINUTE, 5), [Pass; 5]);
        assert_eq!(row.decide(rule(3), t + 30 * MINUTE), Held);
        assert_eq!(row.in_window(t + 30 * MINUTE, rule(3).window), 7);
    }

    #[test]
    fn removals_leave_the_window_and_the_row_stays_small() {
        let mut row = GuardRow::default();
        let window = rule(1_000).window;
        // One removal every second for an hour: the window holds ten minutes of them.
        let start = 5_000 * MINUTE;
        for s in 0..3_600 {
            assert_eq!(row.decide(rule(1_000), start + s * 1_000), Admission::Pass);
        }
        let now = start + 3_599 * 1_000;
        let counted = row.in_window(now, window);
        // 600 seconds, plus at most one bucket (10 s) of the edge.
        assert!((600..=610).contains(&counted), "{counted}");
        assert!(
            row.recent.len() <= BUCKETS as usize + 1,
            "{}",
            row.recent.len()
        );
        // An hour later nothing is in the window.
        row.expire(now + 60 * MINUTE, window);
        assert!(row.recent.is_empty());
    }

    #[test]
    fn a_row_reads_back_what_was_saved() {
        let mut row = GuardRow::default();
        row.decide(rule(5), 7 * MINUTE);
        row.held = 2;
        let text = row.recent_text().expect("text");
        let back = GuardRow::from_columns((
            row.tripped_since,
            row.allowed_count,
            row.allowed_until,
            text,
            row.held,
        ))
        .expect("read");
        assert_eq!(back, row);
        assert!(GuardRow::from_columns((None, 0, None, "{".into(), 0)).is_err());
    }

    #[test]
    fn state_shows_an_allowance_only_while_it_lasts() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
        let row = GuardRow {
            allowed_until: Some(millis(now) - 1),
            allowed_count: 4,
            ..GuardRow::default()
        };
        let state = row.state(rule(1).window, now, Vec::new()).expect("state");
        assert_eq!((state.allowed_until, state.allowed_count), (None, 4));
        let later = GuardRow {
            allowed_until: Some(millis(now) + 60_000),
            ..row
        };
        let state = later.state(rule(1).window, now, Vec::new()).expect("state");
        assert_eq!(state.allowed_until, Some(now + time::Duration::minutes(1)));
    }
}
