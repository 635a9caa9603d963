//! Running PATCH operations on a resource: all of them or none (RFC 7644 §3.5.2).

use serde_json::{Map, Value};

use super::{PatchError, PatchErrorKind, PatchOpKind, PatchOperation, PatchRequest};
use crate::filter::{CompValue, CompareOp, Filter, eval::matches_element};
use crate::json::{eq_fold, get_ci, is_assigned, key_ci};
use crate::path::{AttrPath, PatchPath};
use crate::schema::{AttrType, Attribute, Mutability, ResourceSchema, Target};
use crate::validate::{UnknownAttributes, check_required, coerce, coerce_single, set_schemas};

/// The patched resource, and whether anything changed (a no-op PATCH keeps the version).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOutcome {
    pub resource: Map<String, Value>,
    pub changed: bool,
}

/// Applies `request` to a copy of `resource`; the original is untouched when an operation fails.
pub fn apply(
    schema: &ResourceSchema,
    resource: &Map<String, Value>,
    request: &PatchRequest,
) -> Result<PatchOutcome, PatchError> {
    super::cost::check(request, resource)?;
    let mut doc = resource.clone();
    let mut engine = Engine {
        schema,
        doc: &mut doc,
    };
    for (i, op) in request.operations.iter().enumerate() {
        engine.operation(op).map_err(|e| e.in_operation(i, op))?;
    }
    let extension_ids: Vec<String> = schema
        .extensions
        .iter()
        .map(|(s, _)| s.id.clone())
        .collect();
    for id in extension_ids {
        if doc.get(&id).is_some_and(|v| !is_assigned(v)) {
            doc.shift_remove(&id);
        }
    }
    check_required(schema, &doc)?;
    set_schemas(schema, &mut doc);
    let changed = doc != *resource;
    Ok(PatchOutcome {
        resource: doc,
        changed,
    })
}

fn err(kind: PatchErrorKind, detail: impl Into<String>) -> PatchError {
    PatchError::new(kind, detail)
}

struct Engine<'a> {
    schema: &'a ResourceSchema,
    doc: &'a mut Map<String, Value>,
}

/// How an operation reached an attribute: through a path, or as a key of a path-less value
/// (where readOnly attributes such as Okta's `id` are tolerated and skipped).
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Path,
    ValueKey,
}

impl Engine<'_> {
    fn operation(&mut self, op: &PatchOperation) -> Result<(), PatchError> {
        match (&op.path, op.op) {
            (None, PatchOpKind::Remove) => Err(err(
                PatchErrorKind::NoTarget,
                "a remove operation needs a \"path\"",
            )),
            (None, kind) => {
                let value = op.value.as_ref().and_then(Value::as_object).ok_or_else(|| {
                    err(PatchErrorKind::Value, "without a \"path\", \"value\" must be an object of attribute names (or paths) and values")
                })?;
                for (key, v) in value {
                    self.keyed(kind, key, v)?;
                }
                Ok(())
            }
            (Some(path), kind) => self.path(kind, path, op.value.as_ref(), Via::Path),
        }
    }

    /// One key of a path-less add/replace value: an attribute name, a dotted or URN path
    /// (Entra's `aadOptscim062020` dialect), or an extension URN with an object of attributes.
    fn keyed(&mut self, kind: PatchOpKind, key: &str, value: &Value) -> Result<(), PatchError> {
        if key.eq_ignore_ascii_case("schemas") {
            return Ok(());
        }
        if let Some(ext) = self.schema.extension(key) {
            let id = ext.id.clone();
            return self.extension_object(kind, &id, value);
        }
        let path = PatchPath::parse(key)?;
        if matches!(self.schema.resolve(&path.attr), Target::Unregistered)
            && value.is_object()
            && path.filter.is_none()
        {
            // `urn:example:custom:1.0:User` parses as URN + name; with an object value the
            // whole key is the unknown extension.
            return self.raw(kind, key, None, Some(value));
        }
        self.path(kind, &path, Some(value), Via::ValueKey)
    }

    fn extension_object(
        &mut self,
        kind: PatchOpKind,
        urn: &str,
        value: &Value,
    ) -> Result<(), PatchError> {
        match value {
            Value::Null if kind == PatchOpKind::Replace => {
                self.doc.shift_remove(urn);
                Ok(())
            }
            Value::Null => Ok(()),
            Value::Object(fields) => {
                // Some clients send an extension's value as a resource fragment, with its own
                // `schemas`: that names the extension again, it is not an attribute of it.
                for (name, v) in fields
                    .iter()
                    .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                {
                    let mut path = PatchPath::parse(name)?;
                    path.attr.urn = Some(urn.to_owned());
                    self.path(kind, &path, Some(v), Via::ValueKey)?;
                }
                Ok(())
            }
            _ => Err(err(
                PatchErrorKind::Value,
                format!("the value of extension '{urn}' must be an object of its attributes"),
            )),
        }
    }

    fn path(
        &mut self,
        kind: PatchOpKind,
        path: &PatchPath,
        value: Option<&Value>,
        via: Via,
    ) -> Result<(), PatchError> {
        match self.schema.resolve(&path.attr) {
            Target::Unknown => Err(err(
                PatchErrorKind::Path,
                format!(
                    "'{}' is not an attribute of the {} schemas",
                    path.attr, self.schema.resource_type.name
                ),
            )),
            Target::Extension(ext) => {
                let id = ext.id.clone();
                match kind {
                    PatchOpKind::Remove => {
                        self.doc.shift_remove(&id);
                        Ok(())
                    }
                    _ => self.extension_object(kind, &id, value.unwrap_or(&Value::Null)),
                }
            }
            Target::Unregistered => {
                if path.filter.is_some() {
                    return Err(err(
                        PatchErrorKind::Path,
                        format!("'{path}': value filters need an attribute of a registered schema"),
                    ));
                }
                let urn = path.attr.urn.clone().unwrap_or_default();
                self.raw(kind, &urn, Some(&path.attr), value)
            }
            Target::Attribute {
                extension,
                attr,
                sub,
            } => {
                let extension = extension.map(str::to_owned);
                self.attribute(kind, extension.as_deref(), attr, sub, path, value, via)
            }
        }
    }

    /// An attribute under a URN no schema defines: plain JSON set/merge/remove, kept verbatim.
    fn raw(
        &mut self,
        kind: PatchOpKind,
        urn: &str,
        attr: Option<&AttrPath>,
        value: Option<&Value>,
    ) -> Result<(), PatchError> {
        let Some(attr) = attr else {
            // The whole container.
            match (kind, value) {
                (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                    crate::json::remove_ci(self.doc, urn);
                }
                (PatchOpKind::Add, Some(Value::Object(fields))) => {
                    let target = container(self.doc, urn);
                    for (k, v) in fields {
                        target.insert(k.clone(), v.clone());
                    }
                }
                (_, Some(v)) => {
                    let key = key_ci(self.doc, urn)
                        .cloned()
                        .unwrap_or_else(|| urn.to_owned());
                    self.doc.insert(key, v.clone());
                }
            }
            return Ok(());
        };
        let holder = container(self.doc, urn);
        let (holder, name) = match &attr.sub {
            None => (holder, attr.name.as_str()),
            Some(sub) => {
                let key = key_ci(holder, &attr.name)
                    .cloned()
                    .unwrap_or_else(|| attr.name.clone());
                let parent = holder
                    .entry(key)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !parent.is_object() {
                    *parent = Value::Object(Map::new());
                }
                match parent.as_object_mut() {
                    Some(p) => (p, sub.as_str()),
                    None => return Ok(()),
                }
            }
        };
        match (kind, value) {
            (PatchOpKind::Remove, _) | (_, None | Some(Value::Null)) => {
                crate::json::remove_ci(holder, name);
            }
            (PatchOpKind::Add, Some(Value::Array(new))) => {
                let key = key_ci(holder, name)
                    .cloned()
                    .unwrap_or_else(|| name.to_owned());
                match holder.get_mut(&key) {
                    Some(Value::Array(existing)) => existing.extend(
                        new.iter()
                            .filter(|v| !existing.contains(v))
                            .cloned()
                            .collect::<Vec<_>>(),
                    ),
                    _ => {
                        holder.insert(key, Value::Array(new.clone()));
                    }
                }
            }
            (_, Some(v)) => {
                let key = key_ci(holder, name)
                    .cloned()
                    .unwrap_or_else(|| name.to_owned());
                holder.insert(key, v.clone());
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn attribute(
        &mut self,
        kind: PatchOpKind,
        extension: Option<&str>,
        attr: &Attribute,
        dotted_sub: Option<&Attribute>,
        path: &PatchPath,
        value: Option<&Value>,
        via: Via,
    ) -> Result<(), PatchError> {
        let bracket_sub = match &path.sub {
            Some(name) => Some(attr.sub_attribute(name).ok_or_else(|| {
                err(
                    PatchErrorKind::Path,
                    format!("'{}' has no sub-attribute '{name}'", attr.name),
                )
            })?),
            None => None,
        };
        let sub = dotted_sub.or(bracket_sub);
        let read_only = attr.mutability == Mutability::ReadOnly
            || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
        if read_only {
            return match via {
                Via::ValueKey => Ok(()),
                Via::Path => Err(err(
                    PatchErrorKind::Mutability,
                    format!("attribute '{path}' is readOnly and cannot be modified"),
                )),
            };
        }
        if path.filter.is_some() && !(attr.multi_valued && attr.ty == AttrType::Complex) {
            return Err(err(
                PatchErrorKind::Path,
                format!(
                    "'{}' is not a multi-valued complex attribute, so it takes no [filter]",
                    attr.name
                ),
            ));
        }

        let holder = match extension {
            Some(urn) => container(self.doc, urn),
            None => &mut *self.doc,
        };
        let label = path.to_string();
        check_immutable(kind, holder, attr, sub, value, &label)?;
        let current = holder.shift_remove(&attr.name);
        let updated = match &path.filter {
            Some(filter) => with_filter(kind, attr, filter, sub, current, value, &label)?,
            None => match sub {
                Some(sub) => sub_attribute(kind, attr, sub, current, value, &label)?,
                None => whole(kind, attr, current, value, &label)?,
            },
        };
        if let Some(v) = updated.filter(is_assigned) {
            holder.insert(attr.name.clone(), v);
        }
        Ok(())
    }
}

/// The object under `key` in `doc`, created when absent.
fn container<'d>(doc: &'d mut Map<String, Value>, key: &str) -> &'d mut Map<String, Value> {
    let key = key_ci(doc, key).cloned().unwrap_or_else(|| key.to_owned());
    let slot = doc.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

/// Immutable attributes may be set once; multi-valued ones (group members) gain and lose
/// whole values instead.
fn check_immutable(
    kind: PatchOpKind,
    holder: &Map<String, Value>,
    attr: &Attribute,
    sub: Option<&Attribute>,
    value: Option<&Value>,
    label: &str,
) -> Result<(), PatchError> {
    if attr.multi_valued {
        return Ok(());
    }
    let (def, existing) = match sub {
        Some(sub) => (sub, holder.get(&attr.name).and_then(|p| p.get(&sub.name))),
        None => (attr, holder.get(&attr.name)),
    };
    if def.mutability != Mutability::Immutable || !existing.is_some_and(is_assigned) {
        return Ok(());
    }
    let unchanged = kind != PatchOpKind::Remove
        && value
            .and_then(|v| {
                coerce_single(def, v, label, UnknownAttributes::Reject)
                    .ok()
                    .flatten()
            })
            .as_ref()
            == existing;
    if unchanged {
        Ok(())
    } else {
        Err(err(
            PatchErrorKind::Mutability,
            format!("attribute '{label}' is immutable and already set"),
        ))
    }
}

/// Operations on a whole attribute (`path: "emails"`, `"active"`, `"name"`).
fn whole(
    kind: PatchOpKind,
    attr: &Attribute,
    current: Option<Value>,
    value: Option<&Value>,
    label: &str,
) -> Result<Option<Value>, PatchError> {
    let new = match value {
        Some(v) => coerce(attr, v, label, UnknownAttributes::Reject)?,
        None => None,
    };
    Ok(match kind {
        PatchOpKind::Remove => match (new, current) {
            // Entra: `Remove members` with a value list removes just those members.
            (Some(Value::Array(gone)), Some(Value::Array(mut items))) if attr.multi_valued => {
                items.retain(|item| !gone.iter().any(|g| same_value(attr, item, g)));
                Some(Value::Array(items))
            }
            _ => None,
        },
        PatchOpKind::Replace => match (new, current) {
            (None, _) => None,
            // A complex single value keeps the sub-attributes the value leaves out (§3.5.2.3).
            (Some(Value::Object(fields)), Some(Value::Object(mut existing)))
                if !attr.multi_valued =>
            {
                existing.extend(fields);
                Some(Value::Object(existing))
            }
            (Some(new), _) => Some(new),
        },
        PatchOpKind::Add => match (new, current) {
            (None, current) => current,
            (Some(Value::Array(new)), current) if attr.multi_valued => {
                let mut items = match current {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                let mut written = Vec::new();
                for element in new {
                    match items
                        .iter()
                        .position(|existing| same_value(attr, existing, &element))
                    {
                        Some(i) => {
                            merge_into(&mut items[i], element);
                            written.push(i);
                        }
                        None => {
                            items.push(element);
                            written.push(items.len() - 1);
                        }
                    }
                }
                single_primary(&mut items, &written);
                Some(Value::Array(items))
            }
            (Some(Value::Object(fields)), Some(Value::Object(mut existing))) => {
                existing.extend(fields);
                Some(Value::Object(existing))
            }
            (Some(new), _) => Some(new),
        },
    })
}

/// Operations on `parent.sub` without a filter: `name.givenName`, `urn:…:manager.value`, or
/// (multi-valued) `emails.type`, which applies to every element.
fn sub_attribute(
    kind: PatchOpKind,
    attr: &Attribute,
    sub: &Attribute,
    current: Option<Value>,
    value: Option<&Value>,
    label: &str,
) -> Result<Option<Value>, PatchError> {
    let new = match (kind, value) {
        (PatchOpKind::Remove, _) | (_, None) => None,
        (_, Some(v)) => coerce_single(sub, v, label, UnknownAttributes::Reject)?,
    };
    let set = |element: &mut Map<String, Value>| match &new {
        Some(v) => {
            element.insert(sub.name.clone(), v.clone());
        }
        None => {
            element.shift_remove(&sub.name);
        }
    };
    Ok(match current {
        Some(Value::Array(mut items)) if attr.multi_valued => {
            items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(set);
            items.retain(is_assigned);
            if sub.name == "primary" {
                let written: Vec<usize> = (0..items.len()).collect();
                single_primary(&mut items, &written);
            }
            Some(Value::Array(items))
        }
        None | Some(Value::Array(_)) if attr.multi_valued => {
            new.map(|v| Value::Array(vec![Value::Object(Map::from_iter([(sub.name.clone(), v)]))]))
        }
        Some(Value::Object(mut parent)) => {
            set(&mut parent);
            Some(Value::Object(parent))
        }
        _ => new.map(|v| Value::Object(Map::from_iter([(sub.name.clone(), v)]))),
    })
}

/// Operations on `attr[filter]` and `attr[filter].sub`.
fn with_filter(
    kind: PatchOpKind,
    attr: &Attribute,
    filter: &Filter,
    sub: Option<&Attribute>,
    current: Option<Value>,
    value: Option<&Value>,
    label: &str,
) -> Result<Option<Value>, PatchError> {
    crate::filter::eval::check_element(filter, attr)?;
    let mut items = match current {
        Some(Value::Array(items)) => items,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let matched: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| {
            v.as_object()
                .is_some_and(|o| matches_element(filter, o, attr))
        })
        .map(|(i, _)| i)
        .collect();

    if kind == PatchOpKind::Remove {
        match sub {
            // Removing the `value` of an element leaves nothing worth keeping.
            Some(sub) if sub.name != "value" => {
                for &i in &matched {
                    if let Some(o) = items[i].as_object_mut() {
                        o.shift_remove(&sub.name);
                    }
                }
            }
            _ => {
                let mut i = 0;
                items.retain(|_| {
                    let keep = !matched.contains(&i);
                    i += 1;
                    keep
                });
            }
        }
        items.retain(is_assigned);
        return Ok(Some(Value::Array(items)));
    }

    let new = match (sub, value) {
        (Some(sub), Some(v)) => coerce_single(sub, v, label, UnknownAttributes::Reject)?,
        (None, Some(v)) => coerce_single(attr, v, label, UnknownAttributes::Reject)?,
        (_, None) => None,
    };
    let mut written = Vec::new();
    if matched.is_empty() {
        let Some(new) = new else {
            return Ok(Some(Value::Array(items)));
        };
        // Entra's `Add emails[type eq "work"].value`: no such element yet, so create it from
        // the filter's equalities (RFC 7644 §3.5.2.3 treats a missing target as an add).
        let mut element = template(filter, attr).ok_or_else(|| {
            err(
                PatchErrorKind::NoTarget,
                format!("no value of '{}' matches the filter, and the filter does not describe a new one (use eq conditions joined by and)", attr.name),
            )
        })?;
        match (sub, new) {
            (Some(sub), v) => {
                element.insert(sub.name.clone(), v);
            }
            (None, Value::Object(fields)) => element.extend(fields),
            (None, _) => {}
        }
        items.push(Value::Object(element));
        written.push(items.len() - 1);
    } else {
        for &i in &matched {
            let Some(element) = items[i].as_object_mut() else {
                continue;
            };
            match (sub, &new) {
                (Some(sub), Some(v)) => {
                    element.insert(sub.name.clone(), v.clone());
                }
                (Some(sub), None) => {
                    element.shift_remove(&sub.name);
                }
                (None, Some(Value::Object(fields))) => {
                    if kind == PatchOpKind::Replace {
                        // Replace the element, but keep what the filter pinned (its `type`).
                        let mut replacement = template(filter, attr).unwrap_or_default();
                        replacement.extend(fields.clone());
                        *element = replacement;
                    } else {
                        element.extend(fields.clone());
                    }
                }
                (None, _) => {}
            }
            written.push(i);
        }
    }
    items.retain(is_assigned);
    single_primary(&mut items, &written);
    Ok(Some(Value::Array(items)))
}

/// The element a filter of `eq` conditions joined by `and` describes: `type eq "work"` gives
/// `{"type": "work"}`.
fn template(filter: &Filter, attr: &Attribute) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut add = |f: &Filter| -> Option<()> {
        let Filter::Compare(path, CompareOp::Eq, literal) = f else {
            return None;
        };
        if path.urn.is_some() || path.sub.is_some() {
            return None;
        }
        let sub = attr.sub_attribute(&path.name)?;
        let value = match literal {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(sub.name.clone(), value);
        Some(())
    };
    match filter {
        Filter::And(items) => items.iter().try_for_each(&mut add)?,
        single => add(single)?,
    }
    Some(out)
}

/// Two values of a multi-valued attribute are the same value when their `value`
/// sub-attributes are equal (compared as the schema says), or, without one, when equal.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    let value_def = attr.sub_attribute("value");
    match (value_def, a, b) {
        (Some(def), Value::Object(x), Value::Object(y)) => {
            match (get_ci(x, "value"), get_ci(y, "value")) {
                (Some(Value::String(x)), Some(Value::String(y))) => {
                    if def.compares_case_exact() {
                        x == y
                    } else {
                        eq_fold(x, y)
                    }
                }
                (Some(x), Some(y)) => x == y,
                _ => a == b,
            }
        }
        (_, Value::String(x), Value::String(y)) if !attr.compares_case_exact() => eq_fold(x, y),
        _ => a == b,
    }
}

fn merge_into(target: &mut Value, new: Value) {
    match (target, new) {
        (Value::Object(existing), Value::Object(fields)) => existing.extend(fields),
        (target, new) => *target = new,
    }
}

/// At most one element is primary (RFC 7643 §2.4): the last one written wins.
fn single_primary(items: &mut [Value], written: &[usize]) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    let keep = written
        .iter()
        .rev()
        .copied()
        .find(|&i| items.get(i).is_some_and(is_primary));
    let keep = keep.or_else(|| items.iter().position(is_primary));
    for (i, item) in items.iter_mut().enumerate() {
        if Some(i) != keep
            && is_primary(item)
            && let Some(o) = item.as_object_mut()
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}
