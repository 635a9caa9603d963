//! The read SQL both backends share, written once. A [`Statement`] is written with
//! PostgreSQL's numbered placeholders (`$1`); its SQLite form (`?1`, the same numbers) is
//! derived at compile time, so the two can never drift apart. The few reads that take a list of
//! ids are written out in both forms (a JSON array on SQLite, an array on PostgreSQL). What
//! really differs per backend (locking, writes, the queue's claims) stays in `sqlite/` and
//! `postgres/`; [`Dialect`] names the few pieces of syntax a shared statement needs.

use crate::plan::{Lookup, SqlOrder};
use crate::tx::order_by;

/// The columns a resource row is read with, in the order both backends decode them.
macro_rules! resource_columns {
    () => {
        "seq, id, version, created, last_modified, attributes, vendor_keys"
    };
}
pub(crate) use resource_columns;

/// The columns a journal entry is read with, in the order both backends decode them.
macro_rules! journal_columns {
    () => {
        "seq, connector, kind, change, before_resource, state, attempts, last_error, request_id, created"
    };
}
pub(crate) use journal_columns;

/// One statement in both dialects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Statement {
    pub(crate) postgres: &'static str,
    pub(crate) sqlite: &'static str,
}

impl Statement {
    /// The text for `dialect`.
    pub(crate) const fn text(&self, dialect: Dialect) -> &'static str {
        match dialect {
            Dialect::Postgres => self.postgres,
            Dialect::Sqlite => self.sqlite,
        }
    }
}

/// The backend a statement is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

/// `text` with every `$` that starts a numbered placeholder turned into `?`. `N` is the
/// length of `text` (the caller's array size). Only placeholders are touched: a `$` not
/// followed by a digit (inside a string literal, say) stays.
pub(crate) const fn sqlite_placeholders<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        let b = bytes[i];
        out[i] = if b == b'$' && i + 1 < N && bytes[i + 1].is_ascii_digit() {
            b'?'
        } else {
            b
        };
        i += 1;
    }
    out
}

/// A [`Statement`] from PostgreSQL text, its SQLite form computed at compile time.
macro_rules! statement {
    ($text:expr) => {
        $crate::sql::Statement {
            postgres: $text,
            sqlite: {
                const TEXT: &str = $text;
                const BYTES: [u8; TEXT.len()] =
                    $crate::sql::sqlite_placeholders::<{ TEXT.len() }>(TEXT);
                match ::core::str::from_utf8(&BYTES) {
                    Ok(text) => text,
                    Err(_) => panic!("SQL text is ASCII"),
                }
            },
        }
    };
}
pub(crate) use statement;

/// A resource by connector ($1), kind ($2) and id ($3).
pub(crate) const BY_ID: Statement = statement!(concat!(
    "SELECT ",
    resource_columns!(),
    " FROM resources WHERE connector = $1 AND kind = $2 AND id = $3"
));

/// The id of the resource holding a unique key ($3).
pub(crate) const ID_BY_UNIQUE_KEY: Statement =
    statement!("SELECT id FROM resources WHERE connector = $1 AND kind = $2 AND unique_key = $3");

/// The resources of kind $2 whose vendor keys are exactly the JSON text $3, as
/// `(id, displayName)`, oldest first, at most $4: what a connector keeps in the store only.
pub(crate) const WITH_VENDOR_KEYS: Statement = statement!(
    "SELECT id, display_name FROM resources \
     WHERE connector = $1 AND kind = $2 AND vendor_keys = $3 ORDER BY seq LIMIT $4"
);

/// The Groups listing member $2, as `(id, displayName)` in insertion order.
pub(crate) const GROUPS_OF: Statement = statement!(
    "SELECT r.id, r.display_name FROM memberships m JOIN resources r \
     ON r.connector = m.connector AND r.kind = 'Group' AND r.id = m.group_id \
     WHERE m.connector = $1 AND m.member_id = $2 ORDER BY r.seq"
);

/// The members of Group $2, in id order (the primary key's).
pub(crate) const MEMBERS: Statement = statement!(
    "SELECT member_id, member_type, display FROM memberships \
     WHERE connector = $1 AND group_id = $2 ORDER BY member_id"
);

/// [`MEMBERS`] among a list of ids ($3): a JSON array on SQLite, an array on PostgreSQL.
pub(crate) const MEMBERS_AMONG: Statement = Statement {
    postgres: "SELECT member_id, member_type, display FROM memberships \
               WHERE connector = $1 AND group_id = $2 AND member_id = ANY($3) ORDER BY member_id",
    sqlite: "SELECT member_id, member_type, display FROM memberships \
             WHERE connector = ?1 AND group_id = ?2 \
             AND member_id IN (SELECT value FROM json_each(?3)) ORDER BY member_id",
};

/// The id and kind of each resource of connector $1 among a list of ids ($2), as
/// [`MEMBERS_AMONG`] takes one.
pub(crate) const KINDS_AMONG: Statement = Statement {
    postgres: "SELECT id, kind FROM resources \
               WHERE connector = $1 AND kind IN ('User', 'Group') AND id = ANY($2)",
    sqlite: "SELECT id, kind FROM resources \
             WHERE connector = ?1 AND kind IN ('User', 'Group') \
             AND id IN (SELECT value FROM json_each(?2))",
};

/// A page of a walk in creation order: the resources after seq $3, at most $4.
pub(crate) const SCAN_AFTER: Statement = statement!(concat!(
    "SELECT ",
    resource_columns!(),
    " FROM resources WHERE connector = $1 AND kind = $2 AND seq > $3 ORDER BY seq LIMIT $4"
));

/// Every journal entry neither committed nor failed, oldest first.
pub(crate) const JOURNAL_PENDING: Statement = statement!(concat!(
    "SELECT ",
    journal_columns!(),
    " FROM journal WHERE state = 'pending' ORDER BY seq"
));

/// A page of one resource's (or one request's) history, newest first: the WHERE clause that
/// picks by key (its parameters $1 and $2), then the filters of [`crate::HistoryFilter`] as
/// $3 state, $4 since, $5 until, $6 before seq, $7 limit. PostgreSQL needs the types of
/// parameters that may be NULL spelled out; SQLite refuses the casts.
macro_rules! history_sql {
    ($key:literal, postgres) => {
        concat!(
            "SELECT ",
            crate::sql::journal_columns!(),
            " FROM journal WHERE ",
            $key,
            " AND ($3::text IS NULL OR state = $3) AND ($4::timestamptz IS NULL OR created >= $4) \
             AND ($5::timestamptz IS NULL OR created < $5) AND ($6::bigint IS NULL OR seq < $6) \
             ORDER BY seq DESC LIMIT $7"
        )
    };
    ($key:literal, sqlite) => {
        concat!(
            "SELECT ",
            crate::sql::journal_columns!(),
            " FROM journal WHERE ",
            $key,
            " AND (?3 IS NULL OR state = ?3) AND (?4 IS NULL OR created >= ?4) \
             AND (?5 IS NULL OR created < ?5) AND (?6 IS NULL OR seq < ?6) \
             ORDER BY seq DESC LIMIT ?7"
        )
    };
}

/// A resource's history ($1 connector, $2 id), answered by the `journal_history` index.
pub(crate) const HISTORY_OF_RESOURCE: Statement = Statement {
    postgres: history_sql!("connector = $1 AND resource_id = $2", postgres),
    sqlite: history_sql!("connector = ?1 AND resource_id = ?2", sqlite),
};

/// A request's writes ($1 request id; $2 unused, NULL), answered by `journal_request`.
pub(crate) const HISTORY_OF_REQUEST: Statement = Statement {
    postgres: history_sql!("request_id = $1 AND $2::text IS NULL", postgres),
    sqlite: history_sql!("request_id = ?1 AND ?2 IS NULL", sqlite),
};

/// A page in `order`, skipping $4 and taking at most $3 (binding connector and kind as $1,
/// $2).
pub(crate) fn page_by_offset(order: SqlOrder, dialect: Dialect) -> String {
    const PAGE: Statement = statement!(concat!(
        "SELECT ",
        resource_columns!(),
        " FROM resources WHERE connector = $1 AND kind = $2 ORDER_BY LIMIT $3 OFFSET $4"
    ));
    PAGE.text(dialect).replacen("ORDER_BY", &order_by(order), 1)
}

/// The statement of an index lookup (binding connector, kind and the key as $1..$3), and the
/// key.
pub(crate) fn lookup(lookup: &Lookup, dialect: Dialect) -> (&'static str, &str) {
    macro_rules! by {
        ($condition:literal) => {
            statement!(concat!(
                "SELECT ",
                resource_columns!(),
                " FROM resources WHERE connector = $1 AND kind = $2 AND ",
                $condition
            ))
        };
    }
    const ID: Statement = by!("id = $3");
    const UNIQUE_KEY: Statement = by!("unique_key = $3");
    const DISPLAY_NAME: Statement = by!("display_name_ci = $3");
    const EXTERNAL_ID: Statement = by!("external_id = $3");
    const EMAIL: Statement =
        by!("seq IN (SELECT resource_seq FROM emails WHERE connector = $1 AND email = $3)");
    let (statement, key) = match lookup {
        Lookup::Id(key) => (ID, key),
        Lookup::UniqueKey(key) => (UNIQUE_KEY, key),
        Lookup::DisplayName(key) => (DISPLAY_NAME, key),
        Lookup::ExternalId(key) => (EXTERNAL_ID, key),
        Lookup::Email(key) => (EMAIL, key),
    };
    (statement.text(dialect), key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_the_same_numbers_behind_question_marks() {
        assert_eq!(
            GROUPS_OF.sqlite,
            GROUPS_OF.postgres.replace("$1", "?1").replace("$2", "?2")
        );
        assert!(
            BY_ID
                .sqlite
                .ends_with("connector = ?1 AND kind = ?2 AND id = ?3")
        );
        const ODD: Statement = statement!("SELECT '$x', $12 WHERE a = $1");
        assert_eq!(ODD.sqlite, "SELECT '$x', ?12 WHERE a = ?1");
        assert_eq!(ODD.text(Dialect::Postgres), ODD.postgres);
    }

    #[test]
    fn every_lookup_binds_the_key_as_the_third_parameter() {
        for lookup_of in [
            Lookup::Id as fn(String) -> Lookup,
            Lookup::UniqueKey,
            Lookup::DisplayName,
            Lookup::ExternalId,
            Lookup::Email,
        ] {
            let l = lookup_of("k".into());
            let (pg, key) = lookup(&l, Dialect::Postgres);
            assert_eq!(key, "k");
            assert!(pg.contains("$3") && !pg.contains('?'), "{pg}");
            let (lite, _) = lookup(&l, Dialect::Sqlite);
            assert!(lite.contains("?3") && !lite.contains('$'), "{lite}");
        }
    }
}
