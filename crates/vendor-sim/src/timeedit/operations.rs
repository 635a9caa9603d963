//! One function per SOAP operation: decode the parameters from the operation element, run it on
//! the state, encode the `tns:<op>Response` element. Per-user problems are Status codes; only
//! request-level problems are faults (docs/connectors/timeedit.md "Wire format").

use time::format_description::well_known::Rfc3339;

use super::TimeEditSim;
use super::model::{UserInput, UserKey, UserStatus, parse_bool};
use super::soap::{Element, Fault, Node};
use super::state::{AuthError, FindQuery, Login, MAX_USERS_PER_FIND, SORT_ORDERS, State};
use super::wsdl::OPERATIONS;

/// The fault string of every authentication failure, so the client knows to re-register once
/// and retry (docs/connectors/timeedit.md "The vendor API" [P 1], "Wire format").
pub const INVALID_CREDENTIALS: &str = "Invalid credentials";

/// Runs the operation `op` (the element inside `Body`) and returns the response element.
pub(crate) fn handle(sim: &TimeEditSim, op: &Element) -> Result<Node, Fault> {
    let Some(spec) = OPERATIONS.iter().find(|o| op.is(o.name)) else {
        return Err(Fault::client(format!("Unknown operation: {}", op.name)));
    };
    let config = sim.config();
    if config.strict_namespace && op.namespace.as_deref() != Some(config.namespace.as_str()) {
        let ns = op.namespace.as_deref().unwrap_or("");
        return Err(Fault::client(format!(
            "Unknown operation: {{{ns}}}{}",
            op.name
        )));
    }
    let mut state = sim.lock();
    if state.take_server_fault() {
        return Err(Fault::server(
            "Internal server error (injected by the simulator)",
        ));
    }
    let name = spec.name;
    let children = if name == "register" {
        register(&mut state, op)?
    } else {
        let username = authenticate(&state, op)?;
        match name {
            "findUsers" => find_users(&state, op)?,
            "getUsers" => users_of(&state, op, false),
            "exportUsers" => users_of(&state, op, true),
            "getUserSortOrders" => vec![Node::list("tns:sortorders", "sortorder", SORT_ORDERS)],
            "getAuthServers" => {
                let active_only = bool_param(op, "activeonly", false)?;
                let servers = state.auth_servers(active_only);
                vec![Node::parent(
                    "tns:authservers",
                    servers.iter().map(|s| s.to_node()).collect(),
                )]
            }
            "getPermissions" => {
                let permissions = state.account_permissions(&username).unwrap_or_default();
                vec![Node::list("tns:permissions", "permission", &permissions)]
            }
            "validateUsers" => status_list(&state.validate_users(&user_inputs(op))),
            "importUsers" => status_list(&state.import_users(&user_inputs(op))),
            "deleteUsers" => {
                let inactivate = bool_param(op, "inactivate", false)?;
                status_list(&state.delete_users(&user_keys(op), inactivate))
            }
            "getCurrentUserObjects" => current_user_objects(&state, op, &username),
            // The table and this match are kept in step by the tests; a miss is an internal
            // error, not a panic.
            _ => return Err(Fault::server(format!("Operation {name} not implemented"))),
        }
    };
    Ok(Node::parent(format!("tns:{name}Response"), children))
}

/// `register(certificate)` → `<tns:key><applicationkey/>[<expirationdate/>]</tns:key>`.
/// docs/connectors/timeedit.md "The vendor API": the table says `certificateKey`, the example `certificate`; both are read.
fn register(state: &mut State, op: &Element) -> Result<Vec<Node>, Fault> {
    let certificate = op
        .child_text("certificate")
        .or_else(|| op.child_text("certificatekey"))
        .unwrap_or_default();
    let (key, expires) = state
        .register(certificate)
        .map_err(|e| Fault::client("Invalid certificate").with_detail(e.to_string()))?;
    let mut fields = vec![Node::text("applicationkey", key)];
    if let Some(expires) = expires.and_then(|e| e.format(&Rfc3339).ok()) {
        fields.push(Node::text("expirationdate", expires));
    }
    Ok(vec![Node::parent("tns:key", fields)])
}

/// Checks the Login object; returns the account's username.
fn authenticate(state: &State, op: &Element) -> Result<String, Fault> {
    let login = op.child("login").map(|l| Login {
        username: l.child_text("username").unwrap_or_default().to_owned(),
        password: l.child_text("password").unwrap_or_default().to_owned(),
        applicationkey: l
            .child_text("applicationkey")
            .unwrap_or_default()
            .to_owned(),
    });
    state
        .authenticate(login.as_ref())
        .map(|account| account.username.clone())
        .map_err(|e: AuthError| Fault::client(INVALID_CREDENTIALS).with_detail(e.to_string()))
}

fn find_users(state: &State, op: &Element) -> Result<Vec<Node>, Fault> {
    let text = |name: &str| op.child_text(name).unwrap_or_default().to_owned();
    let sortorder = text("sortorder");
    if !sortorder.is_empty()
        && !SORT_ORDERS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&sortorder))
    {
        return Err(Fault::client(format!("Unknown sort order: {sortorder}")));
    }
    // IncludeObjectNames is accepted; users carry no object names here (docs/connectors/timeedit.md "Vendor calls").
    bool_param(op, "includeobjectnames", false)?;
    let begin = int_param(op, "beginindex", 0)?;
    let begin = usize::try_from(begin)
        .map_err(|_| Fault::client(format!("beginindex must not be negative: {begin}")))?;
    // docs/connectors/timeedit.md "Wire format": above 1000 is capped silently, ≤ 0 returns none.
    let count = int_param(op, "numberofusers", MAX_USERS_PER_FIND as i64)?;
    let query = FindQuery {
        loginname: text("loginname"),
        authserver: text("authserver"),
        name: text("name"),
        email: text("email"),
        allowed_to_login_only: bool_param(op, "usersallowedtologinonly", false)?,
        sortorder,
        begin_index: begin,
        number_of_users: usize::try_from(count).unwrap_or(0),
    };
    let (users, total) = state.find_users(&query);
    Ok(vec![
        Node::parent(
            "tns:users",
            users.iter().map(|u| u.to_node(false)).collect(),
        ),
        Node::text("tns:totalnumberofusers", total.to_string()),
    ])
}

fn users_of(state: &State, op: &Element, complete: bool) -> Vec<Node> {
    let users = state.get_users(&user_keys(op));
    vec![Node::parent(
        "tns:users",
        users.iter().map(|u| u.to_node(complete)).collect(),
    )]
}

fn current_user_objects(state: &State, op: &Element, username: &str) -> Vec<Node> {
    let types: Vec<String> = op
        .child("types")
        .map(|t| t.children_named("type").map(|t| t.text.clone()).collect())
        .unwrap_or_default();
    let groups = state.account_objects(username, &types);
    let items = groups
        .into_iter()
        .map(|(object_type, objects)| {
            let objects = objects
                .iter()
                .map(|o| {
                    Node::parent(
                        "object",
                        vec![
                            Node::text("extid", o.extid.as_str()),
                            Node::text("type", o.object_type.as_str()),
                            Node::text("name", o.name.as_str()),
                        ],
                    )
                })
                .collect();
            Node::parent(
                "userobjects",
                vec![
                    Node::text("type", object_type),
                    Node::parent("objects", objects),
                ],
            )
        })
        .collect();
    vec![Node::parent("tns:userobjects", items)]
}

fn status_list(statuses: &[UserStatus]) -> Vec<Node> {
    vec![Node::parent(
        "tns:status",
        statuses.iter().map(|s| s.to_node()).collect(),
    )]
}

/// The `<user>` items of `<tns:users>`, in order.
fn user_inputs(op: &Element) -> Vec<UserInput> {
    op.child("users")
        .map(|users| {
            users
                .children_named("user")
                .map(UserInput::from_element)
                .collect()
        })
        .unwrap_or_default()
}

fn user_keys(op: &Element) -> Vec<UserKey> {
    user_inputs(op).iter().map(UserInput::key).collect()
}

fn bool_param(op: &Element, name: &str, default: bool) -> Result<bool, Fault> {
    match op.child_text(name) {
        None => Ok(default),
        Some(raw) => parse_bool(raw, default)
            .ok_or_else(|| Fault::client(format!("Invalid boolean for {name}: {raw:?}"))),
    }
}

fn int_param(op: &Element, name: &str, default: i64) -> Result<i64, Fault> {
    match op.child_text(name).map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| Fault::client(format!("Invalid integer for {name}: {raw:?}"))),
    }
}
