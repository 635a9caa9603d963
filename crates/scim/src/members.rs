//! A Group's members as a set apart from its other attributes (docs/architecture.md "Groups at
//! scale"): a group of 100,000 members is never read, written or journalled whole to change a
//! few of them. A change of members is a [`MemberDelta`]; a PATCH is split by [`split_patch`]
//! into the operations on the other attributes and the [`MemberOp`]s that make the delta.

use serde_json::{Map, Value};

use crate::filter::{CompValue, CompareOp, Filter};
use crate::patch::{PatchOpKind, PatchOperation, PatchRequest};
use crate::path::PatchPath;
use crate::resource::ResourceKind;

/// The attribute holding a Group's members.
pub const MEMBERS: &str = "members";

/// One member of a Group: the id it names, what that is, and the name a client gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's SCIM id (`members[].value`).
    pub value: String,
    /// User or Group; `None` only for members stored before the kind was checked.
    pub kind: Option<ResourceKind>,
    /// `members[].display`, as the client sent it.
    pub display: Option<String>,
}

impl Member {
    /// A member as a client writes it: an object with a non-empty string `value`, optional
    /// string `display` and `type`, and a `$ref` that is ignored (the server computes it).
    /// `None` for anything else, which the full PATCH engine then judges.
    pub fn from_json(item: &Value) -> Option<Member> {
        let object = item.as_object()?;
        let mut member = Member {
            value: String::new(),
            kind: None,
            display: None,
        };
        for (key, value) in object {
            match (key.to_ascii_lowercase().as_str(), value) {
                ("value", Value::String(v)) if !v.is_empty() => member.value = v.clone(),
                ("display", Value::String(d)) => member.display = Some(d.clone()),
                ("display" | "type" | "$ref", Value::Null) | ("$ref", Value::String(_)) => {}
                ("type", Value::String(t)) => {
                    member.kind = Some(
                        [ResourceKind::User, ResourceKind::Group]
                            .into_iter()
                            .find(|k| k.as_str().eq_ignore_ascii_case(t))?,
                    )
                }
                _ => return None,
            }
        }
        (!member.value.is_empty()).then_some(member)
    }

    /// The member as SCIM shows it, `reference` being its URL: serializable as it stands, so
    /// that a long list can be written out without a JSON value per member.
    pub fn shown(&self, reference: Option<String>) -> ShownMember<'_> {
        ShownMember {
            value: &self.value,
            reference,
            kind: self.kind.map(ResourceKind::as_str),
            display: self.display.as_deref(),
        }
    }

    /// [`Member::shown`] as a JSON value.
    pub fn to_json(&self, reference: Option<String>) -> Value {
        // Strings and options of strings always serialize.
        serde_json::to_value(self.shown(reference)).unwrap_or(Value::Null)
    }
}

/// A member as SCIM shows it (see [`Member::shown`]).
#[derive(Debug, serde::Serialize)]
pub struct ShownMember<'a> {
    value: &'a str,
    #[serde(rename = "$ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    display: Option<&'a str>,
}

/// Puts `members` back into a Group's attributes as a `members` list, without URLs (the
/// inverse of [`take_members`]): for what evaluates a whole Group, such as a filter or the full
/// PATCH engine. No list when there are no members, as a Group without any is stored.
pub fn put_members(attributes: &mut Map<String, Value>, members: &[Member]) {
    if !members.is_empty() {
        let list = members.iter().map(|m| m.to_json(None)).collect();
        attributes.insert(MEMBERS.into(), Value::Array(list));
    }
}

/// The members of a resource's `members` list, or `None` when some element is not a plain
/// member (see [`Member::from_json`]). Repeated values keep their first mention.
pub fn parse_members(list: &Value) -> Option<Vec<Member>> {
    let items = match list {
        Value::Null => return Some(Vec::new()),
        Value::Array(items) => items,
        _ => return None,
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let member = Member::from_json(item)?;
        if seen.insert(member.value.clone()) {
            out.push(member);
        }
    }
    Some(out)
}

/// Takes `members` out of a Group's attributes as a client wrote the whole Group (POST, PUT):
/// `Ok(None)` when there is no list; an error, for the client, when some element is not a
/// plain member.
pub fn take_members(attributes: &mut Map<String, Value>) -> Result<Option<Vec<Member>>, String> {
    let Some(key) = crate::json::key_ci(attributes, MEMBERS).cloned() else {
        return Ok(None);
    };
    let list = attributes.shift_remove(&key).unwrap_or(Value::Null);
    parse_members(&list).map(Some).ok_or_else(|| {
        "every element of \"members\" must be an object with a non-empty string \"value\" (the \
         member's id) and, optionally, \"display\" and \"type\" (\"User\" or \"Group\")"
            .to_owned()
    })
}

/// For a caller holding a Group whole before and after a change (tests, and changes journalled
/// before members were kept apart): takes the lists out of both and returns the delta between
/// them; without `after` (a delete), every member leaves. Elements that are not plain members
/// are dropped.
pub fn delta_of_whole(
    before: Option<&mut Map<String, Value>>,
    after: Option<&mut Map<String, Value>>,
) -> MemberDelta {
    let take = |group: Option<&mut Map<String, Value>>| {
        group
            .map(|g| match crate::json::key_ci(g, MEMBERS).cloned() {
                Some(key) => {
                    let list = g.shift_remove(&key).unwrap_or(Value::Null);
                    list.as_array()
                        .map(|items| items.iter().filter_map(Member::from_json).collect())
                        .unwrap_or_default()
                }
                None => Vec::new(),
            })
            .unwrap_or_default()
    };
    let old: Vec<Member> = take(before);
    let deleted = after.is_none();
    let new: Vec<Member> = take(after);
    if deleted {
        MemberDelta::leaving(old.into_iter().map(|m| m.value).collect())
    } else {
        MemberDelta::between(&old, &new)
    }
}

/// How a Group's members change: who joins (or changes `display`), who leaves. Empty when they
/// do not change (every User change, and a Group change of other attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberDelta {
    pub add: Vec<Member>,
    /// The ids of the members who leave.
    pub remove: Vec<String>,
}

/// The delta of a change that leaves the members as they are, to lend where one is needed.
pub static UNCHANGED: MemberDelta = MemberDelta {
    add: Vec::new(),
    remove: Vec::new(),
};

impl MemberDelta {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }

    /// Everyone in `members` joins (a new Group).
    pub fn joining(members: Vec<Member>) -> MemberDelta {
        MemberDelta {
            add: members,
            remove: Vec::new(),
        }
    }

    /// Everyone in `ids` leaves (a Group deleted).
    pub fn leaving(ids: Vec<String>) -> MemberDelta {
        MemberDelta {
            add: Vec::new(),
            remove: ids,
        }
    }

    /// From the members `before` to the members `after`: those only in `after` (or whose
    /// `display` changed) join, those only in `before` leave.
    pub fn between(before: &[Member], after: &[Member]) -> MemberDelta {
        let old: std::collections::HashMap<&str, &Member> =
            before.iter().map(|m| (m.value.as_str(), m)).collect();
        let new: std::collections::HashSet<&str> = after.iter().map(|m| m.value.as_str()).collect();
        MemberDelta {
            add: after
                .iter()
                .filter(|m| {
                    old.get(m.value.as_str())
                        .is_none_or(|o| o.display != m.display && m.display.is_some())
                })
                .cloned()
                .collect(),
            remove: before
                .iter()
                .filter(|m| !new.contains(m.value.as_str()))
                .map(|m| m.value.clone())
                .collect(),
        }
    }
}

/// One PATCH operation on `members`, in a form that needs no more than the members it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberOp {
    /// `add` these (members already there stay, with a new `display` if one is given).
    Add(Vec<Member>),
    /// `remove` these ids (ids that are no members are ignored).
    Remove(Vec<String>),
    /// `remove` every member.
    Clear,
    /// `replace` the whole list with this one.
    Set(Vec<Member>),
}

/// A Group PATCH split in two: the operations on the other attributes, for the PATCH engine,
/// and the operations on `members`, in request order.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPatch {
    pub rest: PatchRequest,
    pub members: Vec<MemberOp>,
}

/// Splits a Group PATCH, or `None` when an operation on `members` takes a form that only the
/// whole list can answer (a filter other than `value eq "…"`, a sub-attribute path, an element
/// that is not a plain member): the caller then runs the full engine on the whole Group.
///
/// The forms kept apart are those identity providers send (docs/identity-providers.md): `add`
/// of a list, Entra's `remove` with a value list, Okta's `remove members[value eq "…"]`, a
/// `replace` of the whole list, and `members` as a key of a path-less `add`/`replace`.
pub fn split_patch(request: &PatchRequest) -> Option<SplitPatch> {
    let mut rest = Vec::new();
    let mut members = Vec::new();
    for op in &request.operations {
        match &op.path {
            Some(path) if is_members(path) => {
                members.push(path_op(op.op, path, op.value.as_ref())?)
            }
            Some(_) => rest.push(op.clone()),
            None => {
                let Some(Value::Object(fields)) = &op.value else {
                    rest.push(op.clone());
                    continue;
                };
                let mut others = Map::new();
                for (key, value) in fields {
                    if key.eq_ignore_ascii_case(MEMBERS) {
                        members.push(whole_list(op.op, value)?);
                    } else {
                        others.insert(key.clone(), value.clone());
                    }
                }
                if !others.is_empty() {
                    rest.push(PatchOperation {
                        op: op.op,
                        path: None,
                        value: Some(Value::Object(others)),
                    });
                }
            }
        }
    }
    Some(SplitPatch {
        rest: PatchRequest { operations: rest },
        members,
    })
}

/// Whether `path` starts at `members` (core schema, with or without its URN).
fn is_members(path: &PatchPath) -> bool {
    path.attr.name.eq_ignore_ascii_case(MEMBERS)
        && path
            .attr
            .urn
            .as_deref()
            .is_none_or(|urn| urn.eq_ignore_ascii_case(crate::schema::GROUP_URN))
}

fn path_op(kind: PatchOpKind, path: &PatchPath, value: Option<&Value>) -> Option<MemberOp> {
    if path.attr.sub.is_some() || path.sub.is_some() {
        return None;
    }
    match (&path.filter, kind) {
        (None, PatchOpKind::Remove) => match value {
            None | Some(Value::Null) => Some(MemberOp::Clear),
            Some(list) => Some(MemberOp::Remove(
                parse_members(list)?.into_iter().map(|m| m.value).collect(),
            )),
        },
        (None, kind) => whole_list(kind, value?),
        (Some(filter), PatchOpKind::Remove) if value.is_none() => {
            Some(MemberOp::Remove(vec![value_eq(filter)?]))
        }
        (Some(_), _) => None,
    }
}

fn whole_list(kind: PatchOpKind, value: &Value) -> Option<MemberOp> {
    let members = parse_members(value)?;
    match kind {
        PatchOpKind::Add => Some(MemberOp::Add(members)),
        PatchOpKind::Replace => Some(MemberOp::Set(members)),
        PatchOpKind::Remove => None,
    }
}

/// The id of a filter `value eq "id"`.
fn value_eq(filter: &Filter) -> Option<String> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(id))
            if path.urn.is_none()
                && path.sub.is_none()
                && path.name.eq_ignore_ascii_case("value")
                && !id.is_empty() =>
        {
            Some(id.clone())
        }
        _ => None,
    }
}

/// The member ids a filter on Groups can only be decided with: `Some(ids)` when every mention
/// of `members` in it asks whether one of these ids is a member (Entra's probe
/// `id eq "G" and members[value eq "U"]`), so the others need not be read; `None` when the
/// filter needs every member. An empty list: the filter does not look at members.
pub fn member_ids_in_filter(filter: &Filter) -> Option<Vec<String>> {
    let mut ids = Vec::new();
    collect_member_ids(filter, &mut ids).then_some(ids)
}

fn collect_member_ids(filter: &Filter, ids: &mut Vec<String>) -> bool {
    let names_members = |path: &crate::path::AttrPath| {
        path.name.eq_ignore_ascii_case(MEMBERS)
            && path
                .urn
                .as_deref()
                .is_none_or(|urn| urn.eq_ignore_ascii_case(crate::schema::GROUP_URN))
    };
    match filter {
        Filter::And(items) | Filter::Or(items) => {
            items.iter().all(|item| collect_member_ids(item, ids))
        }
        Filter::Not(inner) => collect_member_ids(inner, ids),
        Filter::ValuePath(path, inner) if names_members(path) => match value_eq(inner) {
            Some(id) if path.sub.is_none() => {
                ids.push(id);
                true
            }
            _ => false,
        },
        Filter::Compare(path, CompareOp::Eq, CompValue::Str(id)) if names_members(path) => {
            let on_value = path
                .sub
                .as_deref()
                .is_none_or(|sub| sub.eq_ignore_ascii_case("value"));
            if on_value && !id.is_empty() {
                ids.push(id.clone());
            }
            on_value
        }
        Filter::Compare(path, ..) | Filter::Present(path) | Filter::ValuePath(path, _) => {
            !names_members(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(operations: Value) -> PatchRequest {
        PatchRequest::from_json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn member(id: &str) -> Member {
        Member {
            value: id.into(),
            kind: None,
            display: None,
        }
    }

    #[test]
    fn entra_and_okta_forms_split_without_the_whole_list() {
        let split = split_patch(&request(json!([
            {"op": "Replace", "path": "displayName", "value": "Staff"},
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"value": "u2", "display": "Two"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            {"op": "remove", "path": "members[value eq \"u4\"]"},
            {"op": "replace", "value": {"displayName": "S", "members": [{"value": "u5", "type": "user"}]}},
            {"op": "remove", "path": "members"}
        ])))
        .expect("every form splits");
        assert_eq!(split.rest.operations.len(), 2, "{:?}", split.rest);
        assert_eq!(
            split.rest.operations[1].value,
            Some(json!({"displayName": "S"}))
        );
        let two = Member {
            display: Some("Two".into()),
            ..member("u2")
        };
        let five = Member {
            kind: Some(ResourceKind::User),
            ..member("u5")
        };
        assert_eq!(
            split.members,
            vec![
                MemberOp::Add(vec![member("u1"), two]),
                MemberOp::Remove(vec!["u3".into()]),
                MemberOp::Remove(vec!["u4".into()]),
                MemberOp::Set(vec![five]),
                MemberOp::Clear,
            ]
        );
    }

    #[test]
    fn other_forms_need_the_whole_list() {
        for ops in [
            json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
            json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "X"}]),
            json!([{"op": "add", "path": "members.display", "value": "X"}]),
            json!([{"op": "add", "path": "members", "value": [{"value": "u1", "shoe": 1}]}]),
            json!([{"op": "add", "path": "members", "value": {"value": "u1"}}]),
            json!([{"op": "add", "path": "members", "value": [{"value": ""}]}]),
        ] {
            assert_eq!(split_patch(&request(ops.clone())), None, "{ops}");
        }
    }

    #[test]
    fn a_patch_without_members_is_all_rest() {
        let req = request(json!([{"op": "replace", "path": "displayName", "value": "X"}]));
        let split = split_patch(&req).expect("splits");
        assert_eq!(split.rest, req);
        assert!(split.members.is_empty());
    }

    #[test]
    fn deltas_between_lists() {
        let named = Member {
            display: Some("B".into()),
            ..member("b")
        };
        let delta =
            MemberDelta::between(&[member("a"), member("b")], &[named.clone(), member("c")]);
        assert_eq!(delta.add, vec![named, member("c")]);
        assert_eq!(delta.remove, vec!["a".to_owned()]);
        assert!(MemberDelta::between(&[member("a")], &[member("a")]).is_empty());
    }

    #[test]
    fn filters_that_name_member_ids() {
        let ids = |f: &str| member_ids_in_filter(&Filter::parse(f).expect("filter"));
        assert_eq!(
            ids(r#"id eq "G" and members[value eq "U"]"#),
            Some(vec!["U".into()])
        );
        assert_eq!(
            ids(r#"members.value eq "U" or not (members eq "V")"#),
            Some(vec!["U".into(), "V".into()])
        );
        assert_eq!(ids(r#"displayName eq "x""#), Some(vec![]));
        assert_eq!(ids(r#"members[display co "x"]"#), None);
        assert_eq!(ids("members pr"), None);
        assert_eq!(ids(r#"members.display eq "x""#), None);
    }
}
