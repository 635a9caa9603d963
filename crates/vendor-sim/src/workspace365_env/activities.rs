//! Activities (docs/connectors/workspace365.md "The environment API"): `POST api/activities` for one user and
//! `POST api/activities-batch` for every user in a scope.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::Workspace365EnvSim;
use super::auth::ApiEnv;
use super::binding::{Binder, Obj, parse_object};
use super::errors::ApiError;
use super::resources::json_ok;
use super::state::{Action, Activity, AdUser, Color, EnvState};

/// Seed: "The maximum number of actions is 2", "Maximum length is 32 characters".
const MAX_ACTIONS: usize = 2;
const MAX_ACTION_TITLE: usize = 32;

type Sim = web::Data<Workspace365EnvSim>;

/// The user-independent part of an activity (`ActivityWithoutUser`).
struct ActivityData {
    icon: Option<String>,
    title: String,
    url: Option<String>,
    tag: Option<String>,
    color: Option<Color>,
    actions: Vec<Action>,
}

impl ActivityData {
    fn for_user(&self, user: &AdUser) -> Activity {
        Activity {
            id: 0,
            user_id: user.id,
            user_upn: user.user_principal_name.clone(),
            icon: self.icon.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            tag: self.tag.clone(),
            color: self.color.clone(),
            actions: self.actions.clone(),
        }
    }
}

/// A `UserLookup` (`{Id | Upn}`); "If both are specified, the Id is used".
enum UserLookup {
    Id(i64),
    Upn(String),
}

fn bind_user_lookup(b: &mut Binder, obj: Obj<'_>) -> Option<UserLookup> {
    let id = b.int(obj, "Id");
    let upn = b.string(obj, "Upn").filter(|u| !u.trim().is_empty());
    match (id, upn) {
        (Some(id), _) => Some(UserLookup::Id(id)),
        (None, Some(upn)) => Some(UserLookup::Upn(upn)),
        (None, None) => {
            b.error(obj, "Upn", "The Id or the Upn should be specified.");
            None
        }
    }
}

fn resolve_user<'a>(env: &'a EnvState, lookup: &UserLookup) -> Result<&'a AdUser, ApiError> {
    let found = match lookup {
        UserLookup::Id(id) => u64::try_from(*id).ok().and_then(|id| env.user_by_id(id)),
        UserLookup::Upn(upn) => env.user_by_upn(upn),
    };
    found.ok_or_else(|| {
        ApiError::global(match lookup {
            UserLookup::Id(id) => format!("The user with id {id} was not found."),
            UserLookup::Upn(upn) => format!("The user '{upn}' was not found."),
        })
    })
}

fn bind_activity_data(b: &mut Binder, obj: Obj<'_>) -> Option<ActivityData> {
    let mut prefix = String::new();
    let icon = b
        .object(obj, "Icon", &mut prefix)
        .and_then(|icon| b.string(icon, "Name"));
    let title = b.required_string(obj, "Title");
    let url = b.string(obj, "Url");
    let tag = b.string(obj, "Tag");
    let color = bind_color(b, obj);
    let actions = bind_actions(b, obj);
    Some(ActivityData {
        icon,
        title: title?,
        url,
        tag,
        color,
        actions,
    })
}

fn bind_color(b: &mut Binder, obj: Obj<'_>) -> Option<Color> {
    let mut prefix = String::new();
    let color = b.object(obj, "Color", &mut prefix)?;
    let Some(kind) = b.int(color, "Kind") else {
        b.required(color, "Kind");
        return None;
    };
    if !(1..=3).contains(&kind) {
        b.error(
            color,
            "Kind",
            "Options are 1 (custom), 2 (primary), 3 (header).",
        );
        return None;
    }
    let value = b.string(color, "Value").filter(|v| !v.trim().is_empty());
    if kind == 1 && value.is_none() {
        b.error(
            color,
            "Value",
            "The Value field is required when Kind is 1.",
        );
    }
    Some(Color { kind, value })
}

fn bind_actions(b: &mut Binder, obj: Obj<'_>) -> Vec<Action> {
    let Some((key, items)) = b.array(obj, "Actions") else {
        return Vec::new();
    };
    if items.len() > MAX_ACTIONS {
        b.error(obj, "Actions", "The maximum number of actions is 2.");
        return Vec::new();
    }
    let mut actions = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let mut prefix = String::new();
        let Some(action) = b.element(&key, index, item, &mut prefix) else {
            continue;
        };
        let kind = b.int(action, "Kind");
        if kind.is_none() {
            b.required(action, "Kind");
        } else if kind.is_some_and(|k| !(1..=9).contains(&k)) {
            b.error(action, "Kind", "Options are 1 to 9.");
        }
        let title = b.required_string(action, "Title");
        if title
            .as_deref()
            .is_some_and(|t| t.chars().count() > MAX_ACTION_TITLE)
        {
            b.error(action, "Title", "Maximum length is 32 characters.");
        }
        let url = b.required_string(action, "Url");
        if let (Some(kind), Some(title), Some(url)) = (kind, title, url) {
            actions.push(Action { kind, title, url });
        }
    }
    actions
}

fn activity_json(activity: &Activity) -> Value {
    json!({"id": activity.id, "user": {"id": activity.user_id, "upn": activity.user_upn}})
}

/// `POST api/activities`: one activity for one user.
pub(super) async fn post_activity(
    ApiEnv(env): ApiEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let map = parse_object(&body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    let mut prefix = String::new();
    let lookup = match b.object(obj, "User", &mut prefix) {
        Some(user) => bind_user_lookup(&mut b, user),
        None => {
            b.required(obj, "User");
            None
        }
    };
    let data = bind_activity_data(&mut b, obj);
    b.finish()?;
    let (Some(lookup), Some(data)) = (lookup, data) else {
        // Not reached: the binder has already reported whatever is missing.
        return Err(ApiError::global("The activity is incomplete."));
    };
    let mut state = sim.lock();
    let env = state.env(&env);
    let activity = data.for_user(resolve_user(env, &lookup)?);
    Ok(json_ok(&activity_json(env.add_activity(activity))))
}

/// The resolved `Scope` of a batch.
enum Scope {
    All,
    Users(Vec<UserLookup>),
    Groups(Vec<GroupLookup>),
}

/// A `GroupLookup` (`{Id | Name}`); the Id wins when both are given.
enum GroupLookup {
    Id(i64),
    Name(String),
}

fn bind_scope(b: &mut Binder, obj: Obj<'_>) -> Option<Scope> {
    let mut prefix = String::new();
    let Some(scope) = b.object(obj, "Scope", &mut prefix) else {
        b.required(obj, "Scope");
        return None;
    };
    let Some(kind) = b.int(scope, "Kind") else {
        b.required(scope, "Kind");
        return None;
    };
    match kind {
        0 => Some(Scope::All),
        1 | 2 => {
            let name = if kind == 1 { "Users" } else { "Groups" };
            let Some((key, items)) = b.array(scope, name).filter(|(_, i)| !i.is_empty()) else {
                b.error(
                    scope,
                    name,
                    format!(
                        "This property is required when the scope kind is set to {kind}. \
                         The array should contain at least one item."
                    ),
                );
                return None;
            };
            let mut users = Vec::new();
            let mut groups = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let mut prefix = String::new();
                let Some(entry) = b.element(&key, index, item, &mut prefix) else {
                    continue;
                };
                if kind == 1 {
                    users.extend(bind_user_lookup(b, entry));
                    continue;
                }
                let id = b.int(entry, "Id");
                let name = b.string(entry, "Name").filter(|n| !n.trim().is_empty());
                match (id, name) {
                    (Some(id), _) => groups.push(GroupLookup::Id(id)),
                    (None, Some(name)) => groups.push(GroupLookup::Name(name)),
                    (None, None) => {
                        b.error(entry, "Name", "The Id or the Name should be specified.")
                    }
                }
            }
            Some(if kind == 1 {
                Scope::Users(users)
            } else {
                Scope::Groups(groups)
            })
        }
        _ => {
            b.error(
                scope,
                "Kind",
                "Possible values: 0 (all users), 1 (users), 2 (groups).",
            );
            None
        }
    }
}

/// The users a scope addresses, each once, in a stable order.
fn scope_users<'a>(env: &'a EnvState, scope: &Scope) -> Result<Vec<&'a AdUser>, ApiError> {
    let mut users: Vec<&AdUser> = match scope {
        Scope::All => env.users.values().filter(|u| !u.deleted).collect(),
        Scope::Users(lookups) => lookups
            .iter()
            .map(|l| resolve_user(env, l))
            .collect::<Result<_, _>>()?,
        Scope::Groups(lookups) => {
            let mut users = Vec::new();
            for lookup in lookups {
                let group = env
                    .groups
                    .values()
                    .find(|g| match lookup {
                        GroupLookup::Id(id) => u64::try_from(*id).is_ok_and(|id| g.id == id),
                        GroupLookup::Name(name) => g.name.eq_ignore_ascii_case(name),
                    })
                    .ok_or_else(|| {
                        ApiError::global(match lookup {
                            GroupLookup::Id(id) => format!("The group with id {id} was not found."),
                            GroupLookup::Name(n) => format!("The group '{n}' was not found."),
                        })
                    })?;
                // [O] Members of nested groups count too: the scope addresses people.
                users.extend(
                    env.users_in_group(group.object_id)
                        .iter()
                        .filter_map(|u| env.live_user(u)),
                );
            }
            users
        }
    };
    users.sort_by_key(|u| u.id);
    users.dedup_by_key(|u| u.id);
    Ok(users)
}

/// `POST api/activities-batch`: the same activity for every user in the scope.
pub(super) async fn post_activity_batch(
    ApiEnv(env): ApiEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let map = parse_object(&body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    let scope = bind_scope(&mut b, obj);
    let mut prefix = String::new();
    let data = match b.object(obj, "Data", &mut prefix) {
        Some(data) => bind_activity_data(&mut b, data),
        None => {
            b.required(obj, "Data");
            None
        }
    };
    b.finish()?;
    let (Some(scope), Some(data)) = (scope, data) else {
        // Not reached: the binder has already reported whatever is missing.
        return Err(ApiError::global("The batch activity is incomplete."));
    };
    let mut state = sim.lock();
    let env = state.env(&env);
    let activities: Vec<Activity> = scope_users(env, &scope)?
        .into_iter()
        .map(|u| data.for_user(u))
        .collect();
    let created = activities
        .into_iter()
        .map(|activity| activity_json(env.add_activity(activity)))
        .collect();
    Ok(json_ok(&Value::Array(created)))
}
