//! The `Workspace365`-scheme resources (VENDORS.md §4.3): activities, activities-batch,
//! announcements, user apps, app icons and integration credentials.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Workspace365EnvSim;
use super::auth::ApiEnv;
use super::binding::{Binder, Obj, parse_object};
use super::errors::{ApiError, ApiErrorResponse, JSON_UTF8};
use super::state::{
    Action, Activity, AdUser, Announcement, AppIcon, Category, Color, EnvState, IconSource,
    IntegrationCredential, Media,
};

/// Seed: "The maximum number of actions is 2", "Maximum length is 32 characters".
const MAX_ACTIONS: usize = 2;
const MAX_ACTION_TITLE: usize = 32;

type Sim = web::Data<Workspace365EnvSim>;

/// Registers the §4.3 routes under the `/{env}` scope, each with or without a trailing slash.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| web::resource([path.to_owned(), format!("{path}/")]);
    cfg.service(resource("/api/activities").route(web::post().to(post_activity)))
        .service(resource("/api/activities-batch").route(web::post().to(post_activity_batch)))
        .service(resource("/api/users/{upn}/apps").route(web::get().to(get_user_apps)))
        .service(resource("/api/announcements").route(web::post().to(post_announcement)))
        .service(resource("/api/appicons/{source}").route(web::get().to(get_icons)))
        .service(resource("/api/appicons/{source}/{id}").route(web::get().to(get_icon)))
        .service(
            resource("/api/appicons/{source}/{id}/content").route(web::get().to(get_icon_content)),
        )
        .service(
            resource("/IntegrationCredentialsApi/User/{upn}")
                .route(web::post().to(post_credentials)),
        )
        .service(resource("/IntegrationCredentialsApi/{id}").route(web::put().to(put_credentials)));
}

fn json_ok(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(JSON_UTF8)
        .body(value.to_string())
}

// ----- activities -----

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
async fn post_activity(
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
async fn post_activity_batch(
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

// ----- user apps -----

/// `GET api/users/{upn}/apps`; an unknown user is the documented "404 Validation issue".
async fn get_user_apps(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let upn = req.match_info().get("upn").unwrap_or_default();
    let mut state = sim.lock();
    let env = state.env(&env);
    if env.user_by_upn(upn).is_none() {
        return Err(ApiError::NotFoundWithBody(ApiErrorResponse::global(
            format!("The user '{upn}' was not found."),
        )));
    }
    let apps: Vec<Value> = env
        .apps
        .get(&upn.to_lowercase())
        .into_iter()
        .flatten()
        .map(|app| {
            // Seed: color `value` "is present only when the color kind is custom (Kind=1)".
            let mut color = json!({"kind": app.color.kind});
            if app.color.kind == 1 {
                color["value"] = json!(app.color.value);
            }
            json!({
                "appId": app.app_id,
                "type": app.app_type,
                "icon": {"name": app.icon_name},
                "appName": app.app_name,
                "url": app.url,
                "color": color,
            })
        })
        .collect();
    Ok(json_ok(&Value::Array(apps)))
}

// ----- announcements -----

/// DateTimeOffset as .NET parses it; the seed's own example (`2021-04-15T00:00Z`) has no seconds.
fn parse_date_time_offset(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| {
        let (head, tail) = (s.get(..16)?, s.get(16..)?);
        OffsetDateTime::parse(&format!("{head}:00{tail}"), &Rfc3339).ok()
    })
}

fn bind_time(b: &mut Binder, obj: Obj<'_>, name: &str) -> Option<(String, OffsetDateTime)> {
    let raw = b.string(obj, name)?;
    match parse_date_time_offset(&raw) {
        Some(at) => Some((raw, at)),
        None => {
            b.error(
                obj,
                name,
                format!("The value '{raw}' is not valid for {name}."),
            );
            None
        }
    }
}

fn bind_media(b: &mut Binder, obj: Obj<'_>) -> Media {
    let mut prefix = String::new();
    let Some(media) = b.object(obj, "Media", &mut prefix) else {
        return Media::None;
    };
    match b.int(media, "MediaKind").unwrap_or(0) {
        0 => Media::None,
        1 => {
            let mut prefix = String::new();
            let Some(image) = b.object(media, "Image", &mut prefix) else {
                b.error(
                    media,
                    "Image",
                    "The Image field is required when MediaKind is 1.",
                );
                return Media::None;
            };
            let filename = b.required_string(image, "Filename");
            let uri = b.required_string(image, "Uri");
            match (filename, uri) {
                (Some(filename), Some(uri)) => Media::Image { filename, uri },
                _ => Media::None,
            }
        }
        2 => match b
            .string(media, "VideoEmbedCode")
            .filter(|v| !v.trim().is_empty())
        {
            Some(embed_code) => Media::Video { embed_code },
            None => {
                b.error(
                    media,
                    "VideoEmbedCode",
                    "The VideoEmbedCode field is required when MediaKind is 2.",
                );
                Media::None
            }
        },
        _ => {
            b.error(
                media,
                "MediaKind",
                "Can be 0 (none), 1 (image) or 2 (video).",
            );
            Media::None
        }
    }
}

fn bind_category(b: &mut Binder, obj: Obj<'_>) -> Category {
    let mut prefix = String::new();
    let Some(category) = b.object(obj, "Category", &mut prefix) else {
        return Category::Uncategorized;
    };
    let id = b.int(category, "Id");
    let name = b.string(category, "Name").filter(|n| !n.trim().is_empty());
    match (id, name) {
        (Some(_), Some(_)) => {
            b.error(obj, "Category", "Only one of Id or Name should be passed.");
            Category::Uncategorized
        }
        (Some(id), None) => Category::Id(id),
        (None, Some(name)) => Category::Name(name),
        (None, None) => Category::Uncategorized,
    }
}

/// `POST api/announcements`.
async fn post_announcement(
    ApiEnv(env): ApiEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let map = parse_object(&body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    let title = b.required_string(obj, "Title");
    let description = b.string(obj, "Description");
    let media = bind_media(&mut b, obj);
    let category = bind_category(&mut b, obj);
    let show_popup_directly_to_user = b.bool(obj, "ShowPopupDirectlyToUser").unwrap_or(false);
    let allow_comments = b.bool(obj, "AllowComments").unwrap_or(true);
    let start = bind_time(&mut b, obj, "StartTime");
    let end = bind_time(&mut b, obj, "EndTime");
    if let (Some((_, start)), Some((_, end))) = (&start, &end)
        && end < start
    {
        b.error(
            obj,
            "EndTime",
            "The EndTime must not be before the StartTime.",
        );
    }
    b.finish()?;
    let Some(title) = title else {
        // Not reached: the binder has already reported the missing title.
        return Err(ApiError::field("Title", "The Title field is required."));
    };
    let id = sim.lock().env(&env).add_announcement(Announcement {
        id: 0,
        title,
        description,
        media,
        category,
        show_popup_directly_to_user,
        allow_comments,
        start_time: start.map(|(raw, _)| raw),
        end_time: end.map(|(raw, _)| raw),
    });
    Ok(json_ok(&json!({ "id": id })))
}

// ----- app icons -----

/// Finds the icon(s) addressed by `{source}` and optionally `{id}`; unknowns are the seed's
/// 400 "The requested app icon is not found".
fn with_icons<T>(
    req: &HttpRequest,
    sim: &Workspace365EnvSim,
    env: &str,
    f: impl FnOnce(Vec<&AppIcon>) -> T,
) -> Result<T, ApiError> {
    let raw_source = req.match_info().get("source").unwrap_or_default();
    let source = if raw_source.eq_ignore_ascii_case("global") {
        IconSource::Global
    } else if raw_source.eq_ignore_ascii_case("environment") {
        IconSource::Environment
    } else {
        return Err(ApiError::field(
            "Source",
            format!(
                "The source '{raw_source}' is not valid. Possible values are global or environment."
            ),
        ));
    };
    let id = match req.match_info().get("id") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
            ApiError::field("Id", format!("The value '{raw}' is not valid for Id."))
        })?),
    };
    let mut state = sim.lock();
    let icons = match source {
        IconSource::Global => &state.global_icons,
        IconSource::Environment => &state.env(env).icons,
    };
    match id {
        None => Ok(f(icons.values().collect())),
        Some(id) => match icons.get(&id) {
            Some(icon) => Ok(f(vec![icon])),
            None => Err(ApiError::global("The requested app icon is not found.")),
        },
    }
}

fn icon_json(icon: &AppIcon) -> Value {
    json!({"id": icon.id, "kind": icon.kind, "name": icon.name})
}

/// `GET api/appicons/{source}`.
async fn get_icons(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let list = with_icons(&req, &sim, &env, |icons| {
        Value::Array(icons.into_iter().map(icon_json).collect())
    })?;
    Ok(json_ok(&list))
}

/// `GET api/appicons/{source}/{id}`.
async fn get_icon(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let info = with_icons(&req, &sim, &env, |icons| {
        icons.first().map(|i| icon_json(i)).unwrap_or_default()
    })?;
    Ok(json_ok(&info))
}

/// `GET api/appicons/{source}/{id}/content`: the raw image with its own content type.
async fn get_icon_content(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let (content_type, content) = with_icons(&req, &sim, &env, |icons| {
        icons
            .first()
            .map(|i| (i.content_type.clone(), i.content.clone()))
            .unwrap_or_default()
    })?;
    Ok(HttpResponse::Ok().content_type(content_type).body(content))
}

// ----- integration credentials -----

fn bind_credentials(body: &[u8]) -> Result<(String, String), ApiError> {
    let map = parse_object(body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    let username = b.required_string(obj, "username");
    // Seed: `username: string (email)`.
    if username.as_deref().is_some_and(|u| {
        !u.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
    }) {
        b.error(
            obj,
            "username",
            "The username field is not a valid e-mail address.",
        );
    }
    let password = b.required_string(obj, "password");
    b.finish()?;
    match (username, password) {
        (Some(username), Some(password)) => Ok((username, password)),
        _ => Err(ApiError::global(
            "The integration credentials are incomplete.",
        )),
    }
}

/// `POST IntegrationCredentialsApi/User/{upn}/`; an unknown user is a 404 (no body documented).
async fn post_credentials(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let upn = req.match_info().get("upn").unwrap_or_default();
    let (username, password) = bind_credentials(&body)?;
    let mut state = sim.lock();
    let env = state.env(&env);
    let user_upn = env
        .user_by_upn(upn)
        .ok_or(ApiError::NotFound)?
        .user_principal_name
        .clone();
    let id = env.add_credential(IntegrationCredential {
        id: 0,
        user_upn,
        username,
        password,
    });
    Ok(json_ok(&json!({ "id": id })))
}

/// `PUT IntegrationCredentialsApi/{Id}/`: 200 with `Content-Length: 0`, as in the seed.
async fn put_credentials(
    req: HttpRequest,
    ApiEnv(env): ApiEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let raw = req.match_info().get("id").unwrap_or_default();
    let id: u64 = raw
        .parse()
        .map_err(|_| ApiError::field("Id", format!("The value '{raw}' is not valid for Id.")))?;
    let (username, password) = bind_credentials(&body)?;
    let mut state = sim.lock();
    let credential = state
        .env(&env)
        .credentials
        .get_mut(&id)
        .ok_or(ApiError::NotFound)?;
    credential.username = username;
    credential.password = password;
    Ok(HttpResponse::Ok().finish())
}
