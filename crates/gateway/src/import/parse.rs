//! Reading an HR export into SCIM User objects.
//!
//! * JSON: an array of SCIM Users, or a SCIM ListResponse (`Resources`).
//! * CSV with a header row. Each column is a SCIM attribute path: `userName`, `externalId`,
//!   `active`, `name.givenName`, an extension's `urn:…:employeeNumber`, … A multi-valued
//!   attribute takes its `type` after the dot: `emails.work`, `phoneNumbers.mobile`; its first
//!   column is the primary value. A multi-valued attribute of simple values (an extension's
//!   `orgRoles`) takes them separated by `;`. An empty cell leaves the attribute out (it is not
//!   cleared).
//!   Values stay strings; the SCIM core reads `true`/`false` for booleans.
//! * CSV with a column map ([`ColumnMap`], `import --map`): the HR system's own headers, each
//!   mapped to such a path; columns the map does not name are left out.

use std::collections::BTreeMap;

use scim::schema::{AttrType, Target as SchemaTarget};
use scim::{AttrPath, ResourceSchema};
use serde_json::{Map, Value, json};

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// From a file name's extension (`.csv`, `.json`).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// An HR export's column headers, each with the SCIM column path it stands for
/// (`"First name" = "name.givenName"`, `"E-mail" = "emails.work"`).
pub type ColumnMap = BTreeMap<String, String>;

/// One user of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The line in a CSV file (the header is line 1), or the 1-based position in JSON.
    pub line: usize,
    /// The SCIM User the row describes.
    pub user: Value,
    /// Why the row itself could not be read (it is reported, the others still run).
    pub error: Option<String>,
}

/// Why the file as a whole could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the JSON is not valid: {0}")]
    Json(String),
    #[error("the JSON must be an array of Users or a ListResponse with Resources")]
    JsonShape,
    #[error("the CSV header cannot be read: {0}")]
    Header(String),
    #[error("CSV column {column} (\"{header}\"): {reason}")]
    Column {
        column: usize,
        header: String,
        reason: String,
    },
    #[error(
        "the column map names \"{header}\", which the file's header does not have (it has: {found})"
    )]
    MissingColumn { header: String, found: String },
}

/// Where one CSV column goes.
#[derive(Debug, Clone)]
enum Target {
    /// `userName`, `name.givenName`, `urn:…:User:employeeNumber`.
    Path(AttrPath),
    /// `emails.work`: a value of a multi-valued attribute with this type.
    Typed { path: AttrPath, kind: String },
    /// `orgRoles`: simple values separated by `;`.
    List(AttrPath),
    /// A column the column map leaves out.
    Ignored,
}

/// Reads `text` as `format`; `schema` decides what CSV columns mean, after `columns` (when
/// given) has turned the file's headers into SCIM paths.
pub fn parse(
    text: &str,
    format: Format,
    schema: &ResourceSchema,
    columns: Option<&ColumnMap>,
) -> Result<Vec<Row>, ParseError> {
    match format {
        Format::Json => parse_json(text),
        Format::Csv => parse_csv(text, schema, columns),
    }
}

fn parse_json(text: &str) -> Result<Vec<Row>, ParseError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
    let users = match value {
        Value::Array(users) => users,
        Value::Object(mut list) => match list.remove("Resources") {
            Some(Value::Array(users)) => users,
            _ => return Err(ParseError::JsonShape),
        },
        _ => return Err(ParseError::JsonShape),
    };
    Ok(users
        .into_iter()
        .enumerate()
        .map(|(i, user)| {
            let error = (!user.is_object()).then(|| "the entry is not a JSON object".to_owned());
            Row {
                line: i + 1,
                user,
                error,
            }
        })
        .collect())
}

/// What a column header means, resolved by the schema like any SCIM path (so an extension's
/// attribute may be named bare when only one extension has it), in canonical names.
fn column_target(header: &str, schema: &ResourceSchema) -> Result<Target, String> {
    let path = AttrPath::parse(header.trim()).map_err(|e| e.to_string())?;
    let (extension, attribute) = match schema.resolve(&AttrPath {
        sub: None,
        ..path.clone()
    }) {
        SchemaTarget::Attribute {
            extension, attr, ..
        } => (extension, attr),
        SchemaTarget::Unregistered => {
            return Err(format!(
                "no extension {} on this connector",
                path.urn.as_deref().unwrap_or_default()
            ));
        }
        _ => return Err(format!("no attribute {}", path.name)),
    };
    let canonical = |sub: Option<String>| AttrPath {
        urn: extension.map(str::to_owned),
        name: attribute.name.clone(),
        sub,
    };
    let complex = attribute.ty == AttrType::Complex;
    match &path.sub {
        None if attribute.multi_valued && !complex => Ok(Target::List(canonical(None))),
        Some(sub)
            if attribute.multi_valued && complex && attribute.sub_attribute(sub).is_none() =>
        {
            Ok(Target::Typed {
                path: canonical(None),
                kind: sub.clone(),
            })
        }
        Some(sub) => match attribute.sub_attribute(sub) {
            Some(sub) => Ok(Target::Path(canonical(Some(sub.name.clone())))),
            None => Err(format!("{} has no sub-attribute {sub}", path.name)),
        },
        None if attribute.multi_valued => Err(format!(
            "{} is multi-valued: name a type, e.g. {}.work",
            path.name, path.name
        )),
        None => Ok(Target::Path(canonical(None))),
    }
}

/// The object a (canonical) path's attribute lives in: the resource, or its extension's
/// object.
fn container<'a>(
    user: &'a mut Map<String, Value>,
    path: &AttrPath,
) -> Option<&'a mut Map<String, Value>> {
    match &path.urn {
        Some(urn) => {
            let slot = user.entry(urn.clone()).or_insert_with(|| json!({}));
            if !slot.is_object() {
                *slot = json!({});
            }
            slot.as_object_mut()
        }
        None => Some(user),
    }
}

/// The SCIM path of each header: itself, or what the column map says (`None`: left out).
fn header_paths<'h>(
    headers: &'h csv::StringRecord,
    columns: Option<&'h ColumnMap>,
) -> Result<Vec<Option<&'h str>>, ParseError> {
    let Some(columns) = columns else {
        return Ok(headers.iter().map(Some).collect());
    };
    let find = |name: &str| {
        headers.iter().position(|h| h == name).or_else(|| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name.trim()))
        })
    };
    let mut paths = vec![None; headers.len()];
    for (header, path) in columns {
        let Some(i) = find(header) else {
            return Err(ParseError::MissingColumn {
                header: header.clone(),
                found: headers.iter().collect::<Vec<_>>().join(", "),
            });
        };
        paths[i] = Some(path.as_str());
    }
    Ok(paths)
}

fn parse_csv(
    text: &str,
    schema: &ResourceSchema,
    columns: Option<&ColumnMap>,
) -> Result<Vec<Row>, ParseError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ParseError::Header(e.to_string()))?
        .clone();
    let targets = header_paths(&headers, columns)?
        .into_iter()
        .enumerate()
        .map(|(i, path)| match path {
            None => Ok(Target::Ignored),
            Some(path) => column_target(path, schema).map_err(|reason| ParseError::Column {
                column: i + 1,
                header: headers.get(i).unwrap_or_default().to_owned(),
                reason: if columns.is_some() {
                    format!("mapped to \"{path}\": {reason}")
                } else {
                    reason
                },
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let core_schema = schema.core.id.clone();
    let user_name_column = targets.iter().position(|t| {
        matches!(t, Target::Path(p) if p.sub.is_none() && p.name.eq_ignore_ascii_case("userName"))
    });
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The header is line 1; a record spanning lines (quoted newlines) reports its start.
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map_or(i + 2, |p| p.line() as usize);
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                rows.push(Row {
                    line,
                    user: Value::Null,
                    error: Some(format!("the row cannot be read: {e}")),
                });
                continue;
            }
        };
        if record.len() != targets.len() {
            // Keep the userName, when there is one, so that the report can name the row.
            let user_name = user_name_column
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty());
            rows.push(Row {
                line,
                user: user_name.map_or(Value::Null, |n| json!({ "userName": n })),
                error: Some(format!(
                    "the row has {} fields, the header {}",
                    record.len(),
                    targets.len()
                )),
            });
            continue;
        }
        let mut user = Map::new();
        user.insert("schemas".into(), json!([core_schema]));
        for (target, cell) in targets.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            match target {
                Target::Ignored => {}
                Target::Path(path) => {
                    let Some(object) = container(&mut user, path) else {
                        continue;
                    };
                    match &path.sub {
                        None => {
                            object.insert(path.name.clone(), json!(cell));
                        }
                        Some(sub) => {
                            let parent =
                                object.entry(path.name.clone()).or_insert_with(|| json!({}));
                            if let Value::Object(parent) = parent {
                                parent.insert(sub.clone(), json!(cell));
                            }
                        }
                    }
                }
                Target::List(path) => {
                    let Some(object) = container(&mut user, path) else {
                        continue;
                    };
                    let values: Vec<&str> = cell
                        .split(';')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .collect();
                    object.insert(path.name.clone(), json!(values));
                }
                Target::Typed { path, kind } => {
                    let Some(object) = container(&mut user, path) else {
                        continue;
                    };
                    let values = object.entry(path.name.clone()).or_insert_with(|| json!([]));
                    if let Value::Array(values) = values {
                        let primary = values.is_empty();
                        values.push(json!({"type": kind, "value": cell, "primary": primary}));
                    }
                }
            }
        }
        rows.push(Row {
            line,
            user: Value::Object(user),
            error: None,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use scim::SchemaRegistry;

    use super::*;

    fn users() -> ResourceSchema {
        SchemaRegistry::standard()
            .resource_schema("User")
            .expect("User")
    }

    #[test]
    fn a_column_map_reads_an_hr_export_as_it_is() {
        let text = "Employee ID,Login,First name,E-mail,Department,Cost centre\n\
                    E7,ada@uni.edu,Ada,ada@uni.edu,Physics,4711\n";
        let columns: ColumnMap = [
            ("Employee ID", "externalId"),
            ("login", "userName"),
            ("First name", "name.givenName"),
            ("E-mail", "emails.work"),
            (
                "Department",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let rows = parse(text, Format::Csv, &users(), Some(&columns)).expect("parses");
        assert_eq!(
            rows[0].user,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "externalId": "E7",
                "userName": "ada@uni.edu",
                "name": {"givenName": "Ada"},
                "emails": [{"type": "work", "value": "ada@uni.edu", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Physics"}
            }),
            "the cost centre is not mapped, so it is left out"
        );
        let mut wrong = columns.clone();
        wrong.insert("Surname".into(), "name.familyName".into());
        let e = parse(text, Format::Csv, &users(), Some(&wrong)).expect_err("no such column");
        assert!(
            e.to_string().contains("\"Surname\"") && e.to_string().contains("Cost centre"),
            "{e}"
        );
        let mut bad = columns;
        bad.insert("Cost centre".into(), "costCentre".into());
        let e = parse(text, Format::Csv, &users(), Some(&bad)).expect_err("bad path");
        assert!(e.to_string().contains("mapped to \"costCentre\""), "{e}");
    }

    #[test]
    fn csv_columns_are_scim_paths() {
        let text = "userName,name.givenName,name.familyName,emails.work,emails.home,phoneNumbers.mobile,active,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\n\
                    ada,Ada,\"Lovelace, Countess\",ada@uni.edu,,+44 1,true,007\n\
                    bob,Bob,Berg,bob@uni.edu,bob@home.org,,false,\n";
        let rows = parse(text, Format::Csv, &users(), None).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(
            rows[0].user,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada",
                "name": {"givenName": "Ada", "familyName": "Lovelace, Countess"},
                "emails": [{"type": "work", "value": "ada@uni.edu", "primary": true}],
                "phoneNumbers": [{"type": "mobile", "value": "+44 1", "primary": true}],
                "active": "true",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "007"}
            })
        );
        assert_eq!(
            rows[1].user["emails"][1],
            json!({"type": "home", "value": "bob@home.org", "primary": false})
        );
    }

    #[test]
    fn columns_resolve_like_scim_paths_in_canonical_names() {
        let rows = parse(
            "USERNAME,employeeNumber\nada,7\n",
            Format::Csv,
            &users(),
            None,
        )
        .expect("parses");
        assert_eq!(
            rows[0].user,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "7"}
            })
        );
    }

    #[test]
    fn bad_columns_stop_the_file_and_bad_rows_only_themselves() {
        let e = parse("userName,nickname2\n", Format::Csv, &users(), None).expect_err("unknown");
        assert!(e.to_string().contains("nickname2"), "{e}");
        let e = parse("userName,emails\n", Format::Csv, &users(), None).expect_err("untyped");
        assert!(e.to_string().contains("emails.work"), "{e}");
        let rows = parse(
            "userName,title\nada,Dr\nbob\ncid,Prof\n",
            Format::Csv,
            &users(),
            None,
        )
        .expect("parses");
        assert_eq!(rows.len(), 3);
        assert!(
            rows[1]
                .error
                .as_deref()
                .is_some_and(|e| e.contains("1 fields"))
        );
        assert_eq!(rows[1].line, 3);
        assert!(rows[2].error.is_none());
    }

    #[test]
    fn json_takes_an_array_or_a_list_response() {
        let rows = parse(r#"[{"userName": "a"}, 7]"#, Format::Json, &users(), None).expect("array");
        assert_eq!(rows.len(), 2);
        assert!(rows[1].error.is_some());
        let rows = parse(
            r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": [{"userName": "a"}]}"#,
            Format::Json,
            &users(),
            None,
        )
        .expect("list");
        assert_eq!(rows[0].user["userName"], "a");
        assert!(parse("{}", Format::Json, &users(), None).is_err());
    }
}
