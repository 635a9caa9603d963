//! The `Workspace365`-scheme resources (docs/connectors/workspace365.md "The environment API"): their routes, and the handlers for
//! user apps, announcements, app icons and integration credentials (activities live in
//! [`super::activities`]).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Workspace365EnvSim;
use super::activities::{post_activity, post_activity_batch};
use super::auth::ApiEnv;
use super::binding::{Binder, Obj, parse_object};
use super::errors::{ApiError, ApiErrorResponse, JSON_UTF8};
use super::state::{Announcement, AppIcon, Category, IconSource, IntegrationCredential, Media};

type Sim = web::Data<Workspace365EnvSim>;

/// Registers the routes of docs/connectors/workspace365.md "The environment API" under the `/{env}` scope, each with or without a trailing slash.
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

/// 200 with a JSON body and the seed's content type.
pub(super) fn json_ok(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(JSON_UTF8)
        .body(value.to_string())
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
