//! Group membership: which members a Group change adds and removes, from the change's member
//! delta (a Group change never carries the whole list). Pure; the connector resolves each
//! member's ObjectId and makes one A5–A8 call per entry.

use scim::ResourceKind;
use scim::members::MemberDelta;

/// What a member is, when known (a removed member is named by its id only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MemberKind {
    User,
    Group,
}

/// One member of a SCIM Group: its SCIM id and, when known, its kind.
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

/// The calls a member delta needs: one per member added or removed, in id order, each once.
pub fn diff(delta: &MemberDelta) -> MemberDiff {
    let mut add: Vec<Member> = delta
        .add
        .iter()
        .map(|m| Member {
            id: m.value.clone(),
            kind: m.kind.map(|k| match k {
                ResourceKind::User => MemberKind::User,
                ResourceKind::Group => MemberKind::Group,
            }),
        })
        .collect();
    let mut remove: Vec<Member> = delta
        .remove
        .iter()
        .map(|id| Member {
            id: id.clone(),
            kind: None,
        })
        .collect();
    for list in [&mut add, &mut remove] {
        list.sort();
        list.dedup_by(|a, b| a.id == b.id);
    }
    MemberDiff { add, remove }
}

#[cfg(test)]
mod tests {
    use scim::members::Member as ScimMember;

    use super::*;

    fn scim(id: &str, kind: Option<ResourceKind>) -> ScimMember {
        ScimMember {
            value: id.into(),
            kind,
            display: None,
        }
    }

    #[test]
    fn a_delta_becomes_one_call_per_member() {
        let delta = MemberDelta {
            add: vec![
                scim("u3", Some(ResourceKind::User)),
                scim("g9", Some(ResourceKind::Group)),
                scim("u3", Some(ResourceKind::User)),
            ],
            remove: vec!["u1".into()],
        };
        let d = diff(&delta);
        assert_eq!(
            d.add,
            [
                Member {
                    id: "g9".into(),
                    kind: Some(MemberKind::Group)
                },
                Member {
                    id: "u3".into(),
                    kind: Some(MemberKind::User)
                },
            ]
        );
        assert_eq!(
            d.remove,
            [Member {
                id: "u1".into(),
                kind: None
            }]
        );
        assert_eq!(diff(&MemberDelta::default()), MemberDiff::default());
    }
}
