//! What a PATCH costs to apply, estimated before it runs. The work of an operation grows with
//! the terms of its filter, the values of the attribute it reaches and the values it brings
//! (each is compared with each): 300 `remove` operations with 150-term filters against a User
//! with 2,000 e-mails are 90 million comparisons, seconds of CPU from one 1 MB request. Above
//! [`MAX_COST`] the PATCH is refused before any of it runs, with what to split.

use serde_json::{Map, Value};

use super::{PatchError, PatchErrorKind, PatchOpKind, PatchRequest};
use crate::filter::Filter;
use crate::json::get_ci;
use crate::path::{AttrPath, PatchPath};

/// The most comparisons one PATCH may need: a few tens of milliseconds of CPU. Entra ID's and
/// Okta's PATCHes need a few hundred at most.
pub const MAX_COST: u64 = 1_000_000;

/// The estimate of a PATCH's work, and the operation that weighs most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub total: u64,
    pub heaviest: (usize, u64),
}

/// Estimates the comparisons `request` needs on `resource`: per operation, filter terms ×
/// values of the attribute reached (as it may have grown by the operations before) × values
/// brought. An upper bound, never much above the real work.
pub fn estimate(request: &PatchRequest, resource: &Map<String, Value>) -> Cost {
    let mut added = 0u64;
    let mut cost = Cost {
        total: 0,
        heaviest: (0, 0),
    };
    for (i, op) in request.operations.iter().enumerate() {
        let brought = op.value.as_ref().map_or(1, count);
        let weight = match &op.path {
            Some(path) => weigh(path, resource, added, brought),
            // Path-less: each key of the value is a path of its own (Okta, Entra).
            None => match op.value.as_ref().and_then(Value::as_object) {
                Some(keys) => keys
                    .iter()
                    .map(|(key, value)| match PatchPath::parse(key) {
                        Ok(path) => weigh(&path, resource, added, count(value)),
                        Err(_) => 1,
                    })
                    .fold(0u64, u64::saturating_add),
                None => 1,
            },
        };
        if op.op != PatchOpKind::Remove {
            added = added.saturating_add(brought);
        }
        cost.total = cost.total.saturating_add(weight);
        if weight > cost.heaviest.1 {
            cost.heaviest = (i, weight);
        }
    }
    cost
}

/// Refuses `request` when its estimate is above [`MAX_COST`].
pub fn check(request: &PatchRequest, resource: &Map<String, Value>) -> Result<Cost, PatchError> {
    let cost = estimate(request, resource);
    if cost.total <= MAX_COST {
        return Ok(cost);
    }
    let (index, weight) = cost.heaviest;
    Err(PatchError::new(
        PatchErrorKind::TooMany,
        format!(
            "this PATCH would take about {} comparisons to apply, more than the {MAX_COST} one \
             request may take (Operations[{index}] alone about {weight}: its filter's terms × \
             the attribute's values × the values it brings); send its operations in several \
             smaller PATCHes, with shorter filters",
            cost.total
        ),
    ))
}

fn weigh(path: &PatchPath, resource: &Map<String, Value>, added: u64, brought: u64) -> u64 {
    let terms = path.filter.as_ref().map_or(1, terms);
    let reached = values_of(resource, &path.attr).saturating_add(added).max(1);
    terms.saturating_mul(reached).saturating_mul(brought)
}

/// Values in `value`: an array's length, else one.
fn count(value: &Value) -> u64 {
    match value {
        Value::Array(items) => (items.len() as u64).max(1),
        _ => 1,
    }
}

/// The values `resource` holds for `attr`.
fn values_of(resource: &Map<String, Value>, attr: &AttrPath) -> u64 {
    let holder = match &attr.urn {
        Some(urn) => get_ci(resource, urn).and_then(Value::as_object),
        None => Some(resource),
    };
    holder.and_then(|h| get_ci(h, &attr.name)).map_or(0, count)
}

/// Comparisons and presence tests in `filter`.
fn terms(filter: &Filter) -> u64 {
    match filter {
        Filter::Compare(..) | Filter::Present(_) => 1,
        Filter::And(parts) | Filter::Or(parts) => {
            parts.iter().map(terms).fold(0u64, u64::saturating_add)
        }
        Filter::Not(inner) => terms(inner),
        Filter::ValuePath(_, inner) => terms(inner).saturating_add(1),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(operations: Value) -> PatchRequest {
        PatchRequest::from_json(&json!({"Operations": operations})).expect("valid")
    }

    fn user_with_emails(n: usize) -> Map<String, Value> {
        let emails: Vec<Value> = (0..n)
            .map(|i| json!({"value": format!("u{i}@example.edu")}))
            .collect();
        let Value::Object(user) = json!({"userName": "u", "emails": emails}) else {
            unreachable!()
        };
        user
    }

    #[test]
    fn what_identity_providers_send_is_cheap() {
        let user = user_with_emails(3);
        let entra = request(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "a@x"},
            {"op": "Replace", "path": "name.givenName", "value": "A"},
            {"op": "Add", "value": {"displayName": "A", "emails[type eq \"work\"].value": "a@x"}}
        ]));
        let cost = estimate(&entra, &user);
        assert!(cost.total < 100, "{cost:?}");
        assert!(check(&entra, &user).is_ok());
    }

    #[test]
    fn filters_times_values_are_counted() {
        let user = user_with_emails(2_000);
        let filter = (0..150)
            .map(|i| format!("value eq \"x{i}\""))
            .collect::<Vec<_>>()
            .join(" or ");
        let op = json!({"op": "remove", "path": format!("emails[{filter}]")});
        let one = request(json!([op.clone()]));
        assert_eq!(estimate(&one, &user).total, 150 * 2_000);
        assert!(check(&one, &user).is_ok(), "one such operation is allowed");
        let many = request(Value::Array(vec![op; 300]));
        let refused = check(&many, &user).expect_err("300 of them are not");
        assert_eq!(refused.kind, PatchErrorKind::TooMany);
        assert!(
            refused.detail.contains("Operations[0]"),
            "{}",
            refused.detail
        );
        assert!(
            refused.detail.contains("smaller PATCHes"),
            "{}",
            refused.detail
        );
    }

    #[test]
    fn values_added_by_earlier_operations_count() {
        let user = user_with_emails(0);
        let many: Vec<Value> = (0..1_000)
            .map(|i| json!({"value": format!("n{i}@x")}))
            .collect();
        let grow = request(json!([
            {"op": "add", "path": "emails", "value": many},
            {"op": "add", "path": "emails", "value": many}
        ]));
        // The second list is compared with the first: a million and more.
        assert!(estimate(&grow, &user).total > MAX_COST);
    }
}
