//! Group membership: which members a Group change adds and removes. Pure; the connector
//! resolves each member's ObjectId and makes one A5–A8 call per entry.

use std::collections::BTreeMap;

use scim::resource::GroupView;
use serde_json::{Map, Value};

/// What a member is, when the SCIM client said (`members[].type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberKind {
    User,
    Group,
}

/// One member of a SCIM Group: its SCIM id and, when given, its kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub id: String,
    pub kind: Option<MemberKind>,
}

/// The members to add and to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDiff {
    pub add: Vec<Member>,
    pub remove: Vec<Member>,
}

/// The distinct members of a group, by id (the first mention's kind wins), in id order.
pub fn members(group: &Map<String, Value>) -> Vec<Member> {
    let mut out: BTreeMap<&str, Option<MemberKind>> = BTreeMap::new();
    for m in GroupView(group).members() {
        let Some(id) = m.value.map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let kind = m.kind.and_then(|k| {
            if k.eq_ignore_ascii_case("User") {
                Some(MemberKind::User)
            } else if k.eq_ignore_ascii_case("Group") {
                Some(MemberKind::Group)
            } else {
                None
            }
        });
        out.entry(id).or_insert(kind);
    }
    out.into_iter()
        .map(|(id, kind)| Member {
            id: id.to_owned(),
            kind,
        })
        .collect()
}

/// The smallest change from `before`'s members to `after`'s: members only in `after` are
/// added, members only in `before` removed, members in both left alone. Without `before`
/// (a create, or a group the vendor may not have yet) every member of `after` is added.
pub fn diff(before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> MemberDiff {
    let old = before.map(members).unwrap_or_default();
    let new = members(after);
    let has = |list: &[Member], id: &str| list.iter().any(|m| m.id == id);
    MemberDiff {
        add: new.iter().filter(|m| !has(&old, &m.id)).cloned().collect(),
        remove: old.iter().filter(|m| !has(&new, &m.id)).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group(members: Value) -> Map<String, Value> {
        json!({"displayName": "g", "members": members})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    fn user(id: &str) -> Member {
        Member {
            id: id.into(),
            kind: Some(MemberKind::User),
        }
    }

    #[test]
    fn a_patch_add_and_remove_become_one_call_each() {
        let before =
            group(json!([{"value": "u1", "type": "User"}, {"value": "u2", "type": "User"}]));
        let after = group(json!([
            {"value": "u2", "type": "User"}, {"value": "u3", "type": "User"},
            {"value": "g9", "type": "Group"}
        ]));
        let d = diff(Some(&before), &after);
        assert_eq!(
            d.add,
            [
                Member {
                    id: "g9".into(),
                    kind: Some(MemberKind::Group)
                },
                user("u3")
            ]
        );
        assert_eq!(d.remove, [user("u1")]);
    }

    #[test]
    fn unchanged_and_repeated_members_make_no_calls() {
        let before = group(json!([{"value": "u1", "type": "User"}]));
        let twice = group(json!([{"value": "u1", "type": "User"}, {"value": "u1"}]));
        assert_eq!(diff(Some(&before), &twice), MemberDiff::default());
        assert_eq!(diff(Some(&twice), &twice), MemberDiff::default());
    }

    #[test]
    fn a_replace_of_all_members_and_a_create() {
        let before = group(json!([{"value": "u1"}, {"value": "u2"}]));
        let after = group(json!([{"value": "u3", "type": "user"}]));
        let d = diff(Some(&before), &after);
        assert_eq!(d.add, [user("u3")]);
        let untyped = |id: &str| Member {
            id: id.into(),
            kind: None,
        };
        assert_eq!(d.remove, [untyped("u1"), untyped("u2")]);
        let created = diff(None, &before);
        assert_eq!(created.add, [untyped("u1"), untyped("u2")]);
        assert!(created.remove.is_empty());
        assert_eq!(diff(Some(&before), &group(json!([]))).remove.len(), 2);
    }
}
