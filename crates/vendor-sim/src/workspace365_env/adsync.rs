//! The ActiveDirectorySync API (docs/connectors/workspace365-adsync.md "Vendor calls", A1–A10): users, groups, user and nested
//! group memberships, profile pictures. One-way: there are no GET routes.

use actix_multipart::Multipart;
use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use uuid::Uuid;

use super::Workspace365EnvSim;
use super::auth::AdSyncEnv;
use super::binding::{Binder, Obj, parse_object};
use super::errors::{ApiError, ApiErrorResponse, JSON_UTF8};
use super::state::{ProfilePicture, UserInfo};

/// Image types A9 accepts (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
const PICTURE_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/gif"];

type Sim = web::Data<Workspace365EnvSim>;

/// Registers A1–A10 under the `/{env}` scope. Every route takes the trailing slash or not: the
/// seed writes most with one and A8–A10 without (docs/connectors/workspace365-adsync.md "Gaps in the vendor's documentation"), and IIS routing ignores it.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    const BASE: &str = "/ActiveDirectorySyncAPI";
    let resource = |path: &str| {
        let path = format!("{BASE}{path}");
        web::resource([path.clone(), format!("{path}/")])
    };
    cfg.service(
        resource("/Users/{user}/ProfilePicture")
            .route(web::put().to(put_picture))
            .route(web::delete().to(delete_picture)),
    )
    .service(
        resource("/Users/{user}")
            .route(web::put().to(put_user))
            .route(web::delete().to(delete_user)),
    )
    .service(
        resource("/Groups/{group}/Users/{user}")
            .route(web::put().to(put_user_member))
            .route(web::delete().to(delete_user_member)),
    )
    // docs/connectors/workspace365-adsync.md "Vendor calls" [O]: A7/A8 in both the seed's literal form and the `Groups/`-prefixed form.
    .service(
        resource("/Groups/{target}/Groups/{group}")
            .route(web::put().to(put_group_member))
            .route(web::delete().to(delete_group_member)),
    )
    .service(
        resource("/{target}/Groups/{group}")
            .route(web::put().to(put_group_member))
            .route(web::delete().to(delete_group_member)),
    )
    .service(
        resource("/Groups/{group}")
            .route(web::put().to(put_group))
            .route(web::delete().to(delete_group)),
    );
}

/// 200 with no body and the seed's JSON content type (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
fn ok() -> HttpResponse {
    HttpResponse::Ok().content_type(JSON_UTF8).finish()
}

/// Parses the path parameters `(segment, documented name)` as GUIDs; every bad one becomes a
/// field error named after the documented parameter.
fn guids<const N: usize>(
    req: &HttpRequest,
    params: [(&str, &str); N],
) -> Result<[Uuid; N], ApiError> {
    let mut binder = Binder::default();
    let mut ids = [Uuid::nil(); N];
    for (slot, (segment, name)) in ids.iter_mut().zip(params) {
        let raw = req.match_info().get(segment).unwrap_or_default();
        match Uuid::try_parse(raw) {
            Ok(id) => *slot = id,
            Err(_) => binder.error_at(name, format!("The value '{raw}' is not valid for {name}.")),
        }
    }
    binder.finish().map(|()| ids)
}

/// `local@domain`, without blanks (docs/connectors/workspace365-adsync.md "Vendor calls" [O]: an invalid UPN is a 400).
fn is_valid_upn(upn: &str) -> bool {
    match upn.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !upn.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// A1: upsert the user keyed by its ObjectId.
async fn put_user(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("user", "ObjectId")])?;
    let map = parse_object(&body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    // docs/connectors/workspace365-adsync.md "Vendor calls": "Users must have a first and last name" ([P 15]).
    let first_name = b.required_string(obj, "FirstName");
    let last_name = b.required_string(obj, "LastName");
    let upn = b.required_string(obj, "UserPrincipalName");
    if upn.as_deref().is_some_and(|u| !is_valid_upn(u)) {
        b.error(
            obj,
            "UserPrincipalName",
            "The UserPrincipalName field is not a valid user principal name.",
        );
    }
    // docs/connectors/workspace365-adsync.md "Vendor calls" [O]: PUT replaces every field; absent ones become null or false.
    let email = b.string(obj, "Email");
    let secondary_email = b.string(obj, "SecondaryEmail");
    let is_admin = b.bool(obj, "IsAdmin").unwrap_or(false);
    let is_active = b.bool(obj, "IsActive").unwrap_or(false);
    let job_title = b.string(obj, "JobTitle");
    let mobile_phone = b.string(obj, "MobilePhone");
    b.finish()?;
    let (Some(first_name), Some(last_name), Some(user_principal_name)) =
        (first_name, last_name, upn)
    else {
        // Not reached: the binder has already reported whatever is missing.
        return Err(ApiError::global("The user info is incomplete."));
    };
    let mut info = UserInfo {
        first_name,
        last_name,
        user_principal_name,
        email,
        secondary_email,
        is_admin,
        is_active,
        job_title,
        mobile_phone,
    };
    let upn_key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case("UserPrincipalName"))
        .map_or("UserPrincipalName", String::as_str);
    let keep_admin = sim
        .environment(&env)
        .is_some_and(|e| e.admin_role_from_workspace);
    let mut state = sim.lock();
    let env = state.env(&env);
    if keep_admin {
        // [P 19]: with the admin role managed in Workspace 365, the synced IsAdmin is ignored.
        info.is_admin = env.users.get(&object_id).is_some_and(|u| u.is_admin);
    }
    env.upsert_user(object_id, info, upn_key)?;
    Ok(ok())
}

/// A2: soft delete; unknown ids are a no-op.
async fn delete_user(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("user", "ObjectId")])?;
    sim.lock().env(&env).delete_user(object_id);
    Ok(ok())
}

/// A3: upsert the group keyed by its ObjectId.
async fn put_group(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("group", "ObjectId")])?;
    let map = parse_object(&body)?;
    let obj = Obj::root(&map);
    let mut b = Binder::default();
    // [O] A group without a name cannot be shown anywhere, so Name is required.
    let name = b.required_string(obj, "Name");
    let description = b.string(obj, "Description");
    b.finish()?;
    let Some(name) = name else {
        // Not reached: the binder has already reported the missing name.
        return Err(ApiError::field("Name", "The Name field is required."));
    };
    sim.lock()
        .env(&env)
        .upsert_group(object_id, name, description);
    Ok(ok())
}

/// A4: removes the group and its memberships; unknown ids are a no-op.
async fn delete_group(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("group", "ObjectId")])?;
    sim.lock().env(&env).delete_group(object_id);
    Ok(ok())
}

/// A5: the user joins the group.
async fn put_user_member(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [group, user] = guids(&req, [("group", "GroupObjectId"), ("user", "UserObjectId")])?;
    sim.lock().env(&env).add_user_member(group, user)?;
    Ok(ok())
}

/// A6: the user leaves the group; idempotent.
async fn delete_user_member(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [group, user] = guids(&req, [("group", "GroupObjectId"), ("user", "UserObjectId")])?;
    sim.lock().env(&env).user_members.remove(&(group, user));
    Ok(ok())
}

/// A7: group `{group}` becomes a member of `{target}`.
async fn put_group_member(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [target, group] = guids(
        &req,
        [
            ("target", "TargetGroupObjectId"),
            ("group", "GroupObjectId"),
        ],
    )?;
    sim.lock().env(&env).add_group_member(target, group)?;
    Ok(ok())
}

/// A8: group `{group}` leaves `{target}`; idempotent.
async fn delete_group_member(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [target, group] = guids(
        &req,
        [
            ("target", "TargetGroupObjectId"),
            ("group", "GroupObjectId"),
        ],
    )?;
    sim.lock().env(&env).group_members.remove(&(target, group));
    Ok(ok())
}

/// A9: stores (or replaces) the user's picture from the single file part of a multipart form.
async fn put_picture(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("user", "ObjectId")])?;
    let picture = read_picture(req.headers(), payload, sim.config.max_picture_bytes).await?;
    let mut state = sim.lock();
    let env = state.env(&env);
    if env.live_user(&object_id).is_none() {
        return Err(ApiError::global(format!(
            "The user '{object_id}' was not found."
        )));
    }
    env.pictures.insert(object_id, picture);
    Ok(ok())
}

/// A10: removes the picture; idempotent, also for unknown users (docs/connectors/workspace365-adsync.md "Vendor calls" [O]).
async fn delete_picture(
    req: HttpRequest,
    AdSyncEnv(env): AdSyncEnv,
    sim: Sim,
) -> Result<HttpResponse, ApiError> {
    let [object_id] = guids(&req, [("user", "ObjectId")])?;
    sim.lock().env(&env).pictures.remove(&object_id);
    Ok(ok())
}

/// Reads the one file part (a part with a filename, whatever its field name: ASP.NET's
/// `Request.Files[0]`, docs/connectors/workspace365-adsync.md "Vendor calls" [O]) and checks its type and size.
async fn read_picture(
    headers: &HeaderMap,
    payload: web::Payload,
    max_bytes: usize,
) -> Result<ProfilePicture, ApiError> {
    let mut form = Multipart::new(headers, payload);
    let mut files = Vec::new();
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| {
            ApiError::global(format!("The request is not a valid multipart form: {e}"))
        })?;
        let field_name = part.name().unwrap_or_default().to_owned();
        let file_name = part
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .map(str::to_owned);
        let content_type = part.content_type().map(|m| m.essence_str().to_owned());
        let bytes = part.bytes(max_bytes).await;
        let Some(file_name) = file_name else {
            continue; // a plain form field: not a file, ignored
        };
        let bytes = match bytes {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => {
                return Err(ApiError::global(format!(
                    "The request is not a valid multipart form: {e}"
                )));
            }
            Err(_) => {
                return Err(ApiError::field(
                    field_name,
                    format!("The file is larger than {max_bytes} bytes."),
                ));
            }
        };
        files.push((field_name, file_name, content_type, bytes));
    }
    let mut files = files.into_iter();
    let (Some((field_name, file_name, content_type, bytes)), None) = (files.next(), files.next())
    else {
        return Err(ApiError::global(
            "Exactly one file must be uploaded as multipart/form-data.",
        ));
    };
    let mut errors = ApiErrorResponse::default();
    // RFC 7578 §4.4: a part without Content-Type is text/plain.
    let content_type = content_type.unwrap_or_else(|| "text/plain".to_owned());
    if !PICTURE_TYPES.contains(&content_type.as_str()) {
        errors.add_field(
            &field_name,
            format!("The file type '{content_type}' is not supported; use JPEG, PNG or GIF."),
        );
    }
    if bytes.is_empty() {
        errors.add_field(&field_name, "The file is empty.");
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ProfilePicture {
        content_type,
        file_name: Some(file_name),
        field_name,
        bytes: bytes.to_vec(),
    })
}
