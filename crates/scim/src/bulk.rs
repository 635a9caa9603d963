//! Bulk (RFC 7644 §3.7): the request and response messages, limits, and a pure driver that
//! orders operations so `bulkId` references resolve, substitutes created ids, honours
//! `failOnErrors`, and collects the response. The gateway executes each operation.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::error::ScimError;
use crate::json::get_ci;

pub const BULK_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
pub const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// What the service provider accepts (published in ServiceProviderConfig `bulk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    pub max_operations: usize,
    pub max_payload_size: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        BulkLimits {
            max_operations: 1000,
            max_payload_size: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One operation of a Bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub path: String,
    pub data: Option<Value>,
}

/// A parsed Bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRequest {
    pub fail_on_errors: Option<usize>,
    pub operations: Vec<BulkOperation>,
}

/// Why a Bulk request, or one of its operations, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    #[error("the Bulk request is {size} bytes; at most {max} are accepted (maxPayloadSize)")]
    TooLarge { size: usize, max: usize },
    #[error("the Bulk request has {count} operations; at most {max} are accepted (maxOperations)")]
    TooManyOperations { count: usize, max: usize },
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Value(String),
    #[error("bulkId '{0}' is not defined by any POST operation of this request")]
    UnknownBulkId(String),
    #[error("{0}")]
    Circular(String),
    #[error("bulkId '{0}' was not created because its operation failed")]
    DependencyFailed(String),
}

impl BulkRequest {
    /// Parses a Bulk body after checking it against the limits (RFC 7644 §3.7.4: 413 when
    /// exceeded).
    pub fn parse(body: &[u8], limits: &BulkLimits) -> Result<BulkRequest, BulkError> {
        if body.len() > limits.max_payload_size {
            return Err(BulkError::TooLarge {
                size: body.len(),
                max: limits.max_payload_size,
            });
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| BulkError::Syntax(format!("the Bulk body is not valid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| BulkError::Syntax("the Bulk body must be a JSON object".into()))?;
        if let Some(schemas) = get_ci(object, "schemas") {
            let ok = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST_URN))
                })
            });
            if !ok {
                return Err(BulkError::Syntax(format!(
                    "\"schemas\" must be [\"{BULK_REQUEST_URN}\"]"
                )));
            }
        }
        let fail_on_errors = match get_ci(object, "failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .filter(|n| *n > 0)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        BulkError::Value("\"failOnErrors\" must be a positive integer".into())
                    })?,
            ),
        };
        let operations = get_ci(object, "Operations")
            .and_then(Value::as_array)
            .ok_or_else(|| BulkError::Syntax("\"Operations\" must be an array".into()))?;
        if operations.len() > limits.max_operations {
            return Err(BulkError::TooManyOperations {
                count: operations.len(),
                max: limits.max_operations,
            });
        }
        let operations = operations
            .iter()
            .enumerate()
            .map(|(i, op)| parse_operation(op).map_err(|e| prefix(i, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen = HashSet::new();
        for (i, op) in operations.iter().enumerate() {
            if let Some(id) = &op.bulk_id
                && !seen.insert(id.as_str())
            {
                return Err(BulkError::Value(format!(
                    "Operations[{i}]: bulkId '{id}' is used by more than one operation"
                )));
            }
        }
        Ok(BulkRequest {
            fail_on_errors,
            operations,
        })
    }
}

fn prefix(index: usize, e: BulkError) -> BulkError {
    match e {
        BulkError::Syntax(s) => BulkError::Syntax(format!("Operations[{index}]: {s}")),
        BulkError::Value(s) => BulkError::Value(format!("Operations[{index}]: {s}")),
        other => other,
    }
}

fn parse_operation(value: &Value) -> Result<BulkOperation, BulkError> {
    let object = value
        .as_object()
        .ok_or_else(|| BulkError::Syntax("each operation must be an object".into()))?;
    let string = |name: &str| -> Result<Option<String>, BulkError> {
        match get_ci(object, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(BulkError::Syntax(format!("\"{name}\" must be a string"))),
        }
    };
    let method = match string("method")?.map(|m| m.to_ascii_uppercase()).as_deref() {
        Some("POST") => BulkMethod::Post,
        Some("PUT") => BulkMethod::Put,
        Some("PATCH") => BulkMethod::Patch,
        Some("DELETE") => BulkMethod::Delete,
        Some(other) => {
            return Err(BulkError::Value(format!(
                "method \"{other}\" is not one of POST, PUT, PATCH, DELETE"
            )));
        }
        None => return Err(BulkError::Syntax("\"method\" is required".into())),
    };
    let path = string("path")?.ok_or_else(|| BulkError::Syntax("\"path\" is required".into()))?;
    if !path.starts_with('/') {
        return Err(BulkError::Value(format!(
            "\"path\" must start with '/', e.g. /Users, found \"{path}\""
        )));
    }
    let bulk_id = string("bulkId")?;
    if method == BulkMethod::Post && bulk_id.is_none() {
        return Err(BulkError::Syntax(
            "a POST operation needs a \"bulkId\"".into(),
        ));
    }
    let data = get_ci(object, "data").cloned();
    if method != BulkMethod::Delete && data.is_none() {
        return Err(BulkError::Syntax(format!(
            "a {} operation needs \"data\"",
            method.as_str()
        )));
    }
    Ok(BulkOperation {
        method,
        bulk_id,
        version: string("version")?,
        path,
        data,
    })
}

/// Every `bulkId:<id>` reference in a path or data value.
fn references(op: &BulkOperation) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix("bulkId:") {
                    out.push(id.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = op
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix("bulkId:"))
        .map(str::to_owned)
        .collect();
    if let Some(data) = &op.data {
        walk(data, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn substitute(value: &mut Value, ids: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:").and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, ids)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, ids)),
        _ => {}
    }
}

/// The operations that lie on a cycle of dependencies (each can reach itself).
fn on_cycles(dependencies: &[Vec<usize>]) -> Vec<usize> {
    (0..dependencies.len())
        .filter(|&start| {
            let mut seen = vec![false; dependencies.len()];
            let mut stack: Vec<usize> = dependencies[start].clone();
            while let Some(node) = stack.pop() {
                if node == start {
                    return true;
                }
                if !std::mem::replace(&mut seen[node], true) {
                    stack.extend(&dependencies[node]);
                }
            }
            false
        })
        .collect()
}

/// An operation ready to run, with `bulkId` references replaced by the ids created earlier.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyOperation {
    /// Position in the request.
    pub index: usize,
    pub method: BulkMethod,
    pub bulk_id: Option<String>,
    pub version: Option<String>,
    pub path: String,
    pub data: Option<Value>,
}

/// What a successful operation produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkSuccess {
    pub status: u16,
    /// The id of the created resource (POST), for later `bulkId` references.
    pub id: Option<String>,
    pub location: Option<String>,
    pub version: Option<String>,
}

/// Drives one Bulk request: hands out operations in an order where every reference is
/// already created, and collects the outcomes.
#[derive(Debug)]
pub struct BulkRun {
    operations: Vec<BulkOperation>,
    order: Vec<usize>,
    cursor: usize,
    blocked: HashMap<usize, BulkError>,
    ids: HashMap<String, String>,
    failed: HashSet<String>,
    errors: usize,
    fail_on_errors: Option<usize>,
    results: Vec<Option<Value>>,
}

impl BulkRun {
    pub fn new(request: BulkRequest) -> BulkRun {
        let operations = request.operations;
        let defined: HashMap<&str, usize> = operations
            .iter()
            .enumerate()
            .filter_map(|(i, op)| op.bulk_id.as_deref().map(|b| (b, i)))
            .collect();
        let mut blocked = HashMap::new();
        let mut dependencies: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
        for (i, op) in operations.iter().enumerate() {
            for reference in references(op) {
                match defined.get(reference.as_str()) {
                    Some(&j) if j == i => {
                        blocked.insert(
                            i,
                            BulkError::Circular(format!(
                                "operation {i} refers to its own bulkId '{reference}'"
                            )),
                        );
                    }
                    Some(&j) => dependencies[i].push(j),
                    None => {
                        blocked.insert(i, BulkError::UnknownBulkId(reference));
                    }
                }
            }
        }
        // Operations on a cycle of references can never run (RFC 7644 §3.7.1 lets the service
        // provider refuse them with 409).
        for i in on_cycles(&dependencies) {
            blocked.entry(i).or_insert_with(|| {
                BulkError::Circular(format!(
                    "operation {i} is part of a cycle of bulkId references; create the resources first and link them in a later operation"
                ))
            });
        }
        // Kahn's algorithm, lowest request index first, so a request without forward references
        // runs in its own order. A blocked operation waits for nothing: it fails at its own
        // place, and releases its dependents, which then fail because its bulkId is missing.
        let mut waiting: Vec<usize> = dependencies
            .iter()
            .enumerate()
            .map(|(i, deps)| {
                if blocked.contains_key(&i) {
                    0
                } else {
                    deps.len()
                }
            })
            .collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); operations.len()];
        for (i, deps) in dependencies.iter().enumerate() {
            if !blocked.contains_key(&i) {
                for &j in deps {
                    dependents[j].push(i);
                }
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> = (0..operations.len())
            .filter(|&i| waiting[i] == 0)
            .map(Reverse)
            .collect();
        let mut order = Vec::with_capacity(operations.len());
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(Reverse(d));
                }
            }
        }
        let results = vec![None; operations.len()];
        BulkRun {
            operations,
            order,
            cursor: 0,
            blocked,
            ids: HashMap::new(),
            failed: HashSet::new(),
            errors: 0,
            fail_on_errors: request.fail_on_errors,
            results,
        }
    }

    fn stopped(&self) -> bool {
        self.fail_on_errors
            .is_some_and(|limit| self.errors >= limit)
    }

    /// The next operation to execute, or `None` when all are done or `failOnErrors` was
    /// reached. Operations that cannot run (unresolvable references) are answered here.
    pub fn next_operation(&mut self) -> Option<ReadyOperation> {
        while !self.stopped() {
            let index = *self.order.get(self.cursor)?;
            self.cursor += 1;
            let op = &self.operations[index];
            if let Some(e) = self.blocked.remove(&index) {
                self.fail(index, e.into());
                continue;
            }
            if let Some(failed) = references(op).into_iter().find(|r| self.failed.contains(r)) {
                self.fail(index, BulkError::DependencyFailed(failed).into());
                continue;
            }
            let mut data = op.data.clone();
            let path_segments: Vec<String> = op
                .path
                .split('/')
                .map(|s| {
                    s.strip_prefix("bulkId:")
                        .and_then(|b| self.ids.get(b))
                        .cloned()
                        .unwrap_or_else(|| s.to_owned())
                })
                .collect();
            if let Some(d) = data.as_mut() {
                substitute(d, &self.ids);
            }
            return Some(ReadyOperation {
                index,
                method: op.method,
                bulk_id: op.bulk_id.clone(),
                version: op.version.clone(),
                path: path_segments.join("/"),
                data,
            });
        }
        None
    }

    /// The next operations that may run at the same time: a run of consecutive creates
    /// whose references all point at resources created before (never at one another), at
    /// most `max`, and never more than the errors `failOnErrors` still allows. Any other
    /// operation comes alone. Empty when all are done.
    ///
    /// Creates are independent by construction (each makes a new resource), so running them
    /// together changes no outcome; it lets a connector batch them (TimeEdit `importUsers`).
    pub fn next_wave(&mut self, max: usize) -> Vec<ReadyOperation> {
        let Some(first) = self.next_operation() else {
            return Vec::new();
        };
        let budget = self
            .fail_on_errors
            .map_or(usize::MAX, |limit| limit.saturating_sub(self.errors));
        let max = max.min(budget).max(1);
        if first.method != BulkMethod::Post {
            return vec![first];
        }
        let mut wave = vec![first];
        while wave.len() < max {
            let Some(&index) = self.order.get(self.cursor) else {
                break;
            };
            let op = &self.operations[index];
            let independent = op.method == BulkMethod::Post
                && !self.blocked.contains_key(&index)
                && references(op).iter().all(|r| self.ids.contains_key(r));
            if !independent {
                break;
            }
            match self.next_operation() {
                Some(op) => wave.push(op),
                None => break,
            }
        }
        wave
    }

    /// Records the outcome of an operation handed out by [`BulkRun::next_operation`].
    pub fn complete(&mut self, index: usize, outcome: Result<BulkSuccess, ScimError>) {
        match outcome {
            Ok(success) => {
                let op = &self.operations[index];
                if let (Some(bulk_id), Some(id)) = (&op.bulk_id, &success.id) {
                    self.ids.insert(bulk_id.clone(), id.clone());
                }
                let mut entry = self.entry(index);
                if let Some(location) = success.location {
                    entry.insert("location".into(), Value::String(location));
                }
                if let Some(version) = success.version {
                    entry.insert("version".into(), Value::String(version));
                }
                entry.insert("status".into(), Value::String(success.status.to_string()));
                self.results[index] = Some(Value::Object(entry));
            }
            Err(e) => self.fail(index, e),
        }
    }

    fn entry(&self, index: usize) -> Map<String, Value> {
        let op = &self.operations[index];
        let mut entry = Map::new();
        entry.insert("method".into(), Value::String(op.method.as_str().into()));
        if let Some(bulk_id) = &op.bulk_id {
            entry.insert("bulkId".into(), Value::String(bulk_id.clone()));
        }
        entry
    }

    fn fail(&mut self, index: usize, error: ScimError) {
        self.errors += 1;
        if let Some(bulk_id) = &self.operations[index].bulk_id {
            self.failed.insert(bulk_id.clone());
        }
        let mut entry = self.entry(index);
        entry.insert("status".into(), Value::String(error.status.to_string()));
        entry.insert("response".into(), error.to_json());
        self.results[index] = Some(Value::Object(entry));
    }

    /// The BulkResponse: one entry per operation that was processed, in request order.
    pub fn finish(self) -> Value {
        let operations: Vec<Value> = self.results.into_iter().flatten().collect();
        json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: Value) -> BulkRun {
        let bytes = serde_json::to_vec(&body).expect("json");
        BulkRun::new(BulkRequest::parse(&bytes, &BulkLimits::default()).expect("valid"))
    }

    #[test]
    fn waves_hold_independent_creates_only() {
        let post = |bulk_id: &str, data: Value| json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data});
        let mut run = run(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "failOnErrors": 10,
            "Operations": [
                post("a", json!({"userName": "a"})),
                post("b", json!({"userName": "b"})),
                post("g", json!({"displayName": "g", "members": [{"value": "bulkId:a"}]})),
                post("c", json!({"userName": "c"})),
                {"method": "DELETE", "path": "/Users/x"},
                post("d", json!({"userName": "d"})),
                post("e", json!({"userName": "e"})),
            ]
        }));
        let mut waves = Vec::new();
        loop {
            let wave = run.next_wave(3);
            if wave.is_empty() {
                break;
            }
            waves.push(wave.iter().map(|o| o.index).collect::<Vec<_>>());
            for op in wave {
                let id = format!("id-{}", op.index);
                run.complete(
                    op.index,
                    Ok(BulkSuccess {
                        status: 201,
                        id: Some(id),
                        ..BulkSuccess::default()
                    }),
                );
            }
        }
        // The group waits for the wave that creates its member; the DELETE runs alone.
        assert_eq!(waves, [vec![0, 1], vec![2, 3], vec![4], vec![5, 6]]);
    }

    #[test]
    fn waves_never_outrun_fail_on_errors() {
        let ops: Vec<Value> = (0..5)
            .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": {"userName": format!("u{i}")}}))
            .collect();
        let mut run = run(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "failOnErrors": 2,
            "Operations": ops
        }));
        let wave = run.next_wave(100);
        assert_eq!(wave.len(), 2, "two errors may still happen");
        for op in wave {
            run.complete(
                op.index,
                Err(ScimError::bad_request(crate::ScimType::InvalidValue, "no")),
            );
        }
        assert!(run.next_wave(100).is_empty(), "stopped after two errors");
    }

    /// Executes every operation, creating ids `id-<index>` for POSTs, failing where `fail`.
    fn execute(mut run: BulkRun, fail: &[usize]) -> (Vec<ReadyOperation>, Value) {
        let mut seen = Vec::new();
        while let Some(op) = run.next_operation() {
            let outcome = if fail.contains(&op.index) {
                Err(ScimError::bad_request(
                    crate::ScimType::InvalidValue,
                    "refused",
                ))
            } else {
                Ok(BulkSuccess {
                    status: if op.method == BulkMethod::Post {
                        201
                    } else {
                        200
                    },
                    id: (op.method == BulkMethod::Post).then(|| format!("id-{}", op.index)),
                    location: Some(format!("https://h/v2{}", op.path)),
                    version: Some("W/\"1\"".into()),
                })
            };
            run.complete(op.index, outcome);
            seen.push(op);
        }
        (seen, run.finish())
    }

    /// RFC 7644 §3.7.2: a group whose member is a user created in the same request, written
    /// before the user.
    #[test]
    fn forward_references_run_after_their_target() {
        let (ops, response) = execute(
            run(json!({
                "schemas": [BULK_REQUEST_URN],
                "Operations": [
                    {"method": "POST", "path": "/Groups", "bulkId": "ytrewq", "data": {"displayName": "Tour Guides", "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
                    {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}},
                    {"method": "PATCH", "path": "/Users/bulkId:qwerty", "data": {"Operations": [{"op": "replace", "path": "active", "value": false}]}}
                ]
            })),
            &[],
        );
        assert_eq!(ops.iter().map(|o| o.index).collect::<Vec<_>>(), [1, 0, 2]);
        assert_eq!(
            ops[1]
                .data
                .as_ref()
                .map(|d| d["members"][0]["value"].clone()),
            Some(json!("id-1"))
        );
        assert_eq!(ops[2].path, "/Users/id-1");
        assert_eq!(response["Operations"][0]["bulkId"], "ytrewq");
        assert_eq!(response["Operations"][0]["status"], "201");
        assert_eq!(response["Operations"][1]["location"], "https://h/v2/Users");
    }

    #[test]
    fn circular_and_unknown_references_fail_their_operations() {
        let (ops, response) = execute(
            run(json!({"Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "c", "x": "bulkId:nowhere"}},
                {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "d"}}
            ]})),
            &[],
        );
        assert_eq!(ops.iter().map(|o| o.index).collect::<Vec<_>>(), [3]);
        let results = response["Operations"].as_array().expect("operations");
        assert_eq!(results[0]["status"], "409");
        assert_eq!(results[0]["response"]["scimType"], "mutability");
        assert!(
            results[0]["response"]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("cycle")
        );
        assert_eq!(results[2]["status"], "400");
        assert!(
            results[2]["response"]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("'nowhere'")
        );
        assert_eq!(results[3]["status"], "201");
    }

    /// An operation that only depends on a cycle is not on it: it fails because the bulkId it
    /// needs was never created, and operations after the cycle still run in request order.
    #[test]
    fn dependents_of_a_cycle_fail_in_request_order() {
        let (ops, response) = execute(
            run(json!({"Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "first", "data": {"userName": "first"}},
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": {"displayName": "A", "members": [{"value": "bulkId:b"}]}},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": {"displayName": "B", "members": [{"value": "bulkId:a"}]}},
                {"method": "PATCH", "path": "/Groups/bulkId:a", "data": {}},
                {"method": "POST", "path": "/Users", "bulkId": "last", "data": {"userName": "last"}}
            ]})),
            &[],
        );
        assert_eq!(ops.iter().map(|o| o.index).collect::<Vec<_>>(), [0, 4]);
        let results = response["Operations"].as_array().expect("operations");
        let statuses: Vec<&str> = results
            .iter()
            .map(|r| r["status"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(statuses, ["201", "409", "409", "409", "201"]);
        assert!(
            results[3]["response"]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("bulkId 'a' was not created")
        );
    }

    #[test]
    fn fail_on_errors_stops_and_dependents_of_failures_fail() {
        let body = json!({"failOnErrors": 2, "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "u"}},
            {"method": "PATCH", "path": "/Users/bulkId:u", "data": {}},
            {"method": "DELETE", "path": "/Users/x"},
            {"method": "DELETE", "path": "/Users/y"}
        ]});
        let (_, response) = execute(run(body), &[0]);
        let results = response["Operations"].as_array().expect("operations");
        assert_eq!(results.len(), 2, "stopped after the second error");
        assert_eq!(results[1]["status"], "409");
        assert!(
            results[1]["response"]["detail"]
                .as_str()
                .unwrap_or("")
                .contains("bulkId 'u' was not created")
        );
    }

    #[test]
    fn limits_and_malformed_requests() {
        let limits = BulkLimits {
            max_operations: 1,
            max_payload_size: 200,
        };
        let two = serde_json::to_vec(&json!({"Operations": [{"method": "DELETE", "path": "/Users/a"}, {"method": "DELETE", "path": "/Users/b"}]})).expect("json");
        let e = BulkRequest::parse(&two, &limits).expect_err("too many");
        assert_eq!(ScimError::from(e).status, 413);
        let e = BulkRequest::parse(&vec![b' '; 201], &limits).expect_err("too large");
        assert_eq!(
            e,
            BulkError::TooLarge {
                size: 201,
                max: 200
            }
        );
        for (body, fragment) in [
            (
                json!({"Operations": [{"method": "POST", "path": "/Users", "data": {}}]}),
                "needs a \"bulkId\"",
            ),
            (
                json!({"Operations": [{"method": "GET", "path": "/Users"}]}),
                "not one of POST",
            ),
            (
                json!({"Operations": [{"method": "PUT", "path": "/Users/a"}]}),
                "needs \"data\"",
            ),
            (
                json!({"Operations": [{"method": "DELETE", "path": "Users/a"}]}),
                "must start with '/'",
            ),
            (
                json!({"Operations": [{"method": "POST", "path": "/Users", "bulkId": "x", "data": {}}, {"method": "POST", "path": "/Users", "bulkId": "x", "data": {}}]}),
                "more than one",
            ),
            (
                json!({"failOnErrors": 0, "Operations": []}),
                "positive integer",
            ),
        ] {
            let e = BulkRequest::parse(
                &serde_json::to_vec(&body).expect("json"),
                &BulkLimits::default(),
            )
            .expect_err("refused")
            .to_string();
            assert!(e.contains(fragment), "{body}: {e}");
        }
        assert!(BulkRequest::parse(b"{not json", &BulkLimits::default()).is_err());
    }
}
