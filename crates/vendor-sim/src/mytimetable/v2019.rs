//! The routes and changes of the "2019.16+" profile (docs/connectors/mytimetable.md "Later versions of the API"): user profiles and
//! per-user synchronizations. Only registered when `MyTimetableConfig::profile` opts in.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

use super::MyTimetableSim;
use super::params::{Params, all, form_params, is_form, param, required};
use super::routes::{ApiError, Reply, unlink_mode};
use super::state::{Attribute, ProfileUpdate, Upserted, UserProfile};

/// `GET /users/{username}`: the profile, or 404.
pub(super) async fn get_user(sim: web::Data<MyTimetableSim>, username: web::Path<String>) -> Reply {
    let profile = sim
        .user_profile(&username)
        .ok_or(ApiError::NotFound("user not found"))?;
    Ok(HttpResponse::Ok().json(user_json(&profile)))
}

/// `POST /users`: 201, 400 on invalid input, 409 if the user exists (in any case).
pub(super) async fn create_user(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    body: Bytes,
) -> Reply {
    let params = form_params(&req, &body)?;
    let username = required(&params, "username")?;
    let update = profile_update(&params)?;
    let mut state = sim.lock();
    if state.find_user(username).is_some() {
        return Err(ApiError::Conflict("user already exists"));
    }
    state.upsert_profile(username, update);
    let profile = state.profile(username).cloned().unwrap_or_default();
    Ok(HttpResponse::Created().json(user_json(&profile)))
}

/// `PUT /users/{username}` with a body: 201 created, 200 updated, 400 invalid.
pub(super) fn upsert_user(
    sim: &MyTimetableSim,
    req: &HttpRequest,
    username: &str,
    body: &[u8],
) -> Reply {
    if !is_form(req) {
        return Err(ApiError::BadRequest("form-encoded input only".into()));
    }
    let params = form_params(req, body)?;
    // [O] The path names the user; a differing `username` in the body would be a rename,
    // which the API has no notion of.
    if param(&params, "username").is_some_and(|u| u.to_lowercase() != username.to_lowercase()) {
        return Err(ApiError::BadRequest(
            "username differs from the path".into(),
        ));
    }
    let update = profile_update(&params)?;
    let mut state = sim.lock();
    let outcome = state.upsert_profile(username, update);
    let profile = state.profile(username).cloned().unwrap_or_default();
    let mut response = match outcome {
        Upserted::Created => HttpResponse::Created(),
        Upserted::Updated => HttpResponse::Ok(),
    };
    Ok(response.json(user_json(&profile)))
}

/// `GET /users/{username}/synchronizations`, with the later page's extra fields; 404 for an
/// unknown user [O].
pub(super) async fn list_user_synchronizations(
    sim: web::Data<MyTimetableSim>,
    username: web::Path<String>,
) -> Reply {
    let syncs = sim
        .lock()
        .user_synchronizations(&username)
        .ok_or(ApiError::NotFound("user not found"))?;
    let synchronizations: Vec<Value> = syncs
        .iter()
        .map(|s| {
            json!({
                "id": s.id, "type": s.sync_type, "username": s.username, "description": null,
                "enabled": true, "status": "OK", "lastResync": s.created_at_ms,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "synchronizations": synchronizations })))
}

/// `DELETE /users/{username}/synchronizations?unlinkMode=…`: all of the user's syncs, 204
/// (also when there were none); 404 for an unknown user [O].
pub(super) async fn delete_user_synchronizations(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    username: web::Path<String>,
    body: Bytes,
) -> Reply {
    let mode = unlink_mode(&req, &body)?;
    sim.lock()
        .delete_user_synchronizations(&username, None, mode)
        .ok_or(ApiError::NotFound("user not found"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /users/{username}/synchronizations/{type}?unlinkMode=…`: 204; 404 for an unknown
/// user and, like M6, 422 when the user has no synchronization of that type [O].
pub(super) async fn delete_user_synchronizations_of_type(
    sim: web::Data<MyTimetableSim>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let (username, sync_type) = path.into_inner();
    let mode = unlink_mode(&req, &body)?;
    let deleted = sim
        .lock()
        .delete_user_synchronizations(&username, Some(&sync_type), mode)
        .ok_or(ApiError::NotFound("user not found"))?;
    if deleted == 0 {
        return Err(ApiError::Unprocessable("synchronization not found"));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn user_json(profile: &UserProfile) -> Value {
    let attributes = profile.attributes.as_ref().map(|attributes| {
        attributes
            .iter()
            .map(|a| json!({ "name": a.name, "values": a.values }))
            .collect::<Vec<_>>()
    });
    json!({
        "username": profile.username,
        "displayName": profile.display_name,
        "locale": profile.locale,
        "attributes": attributes,
        "roles": profile.roles,
    })
}

/// The optional profile parameters: `displayName`, `locale`, repeatable
/// `attributes=name=value` and `roles=ROLE_*`. Invalid values are 400.
fn profile_update(params: &Params) -> Result<ProfileUpdate, ApiError> {
    let bad = |what: String| Err(ApiError::BadRequest(what));
    let display_name = param(params, "displayName");
    if display_name.is_some_and(|d| d.trim().is_empty()) {
        return bad("displayName must not be blank".into());
    }
    let locale = param(params, "locale");
    if let Some(locale) = locale.filter(|l| !is_locale(l)) {
        return bad(format!("invalid locale: {locale}"));
    }
    let mut attributes: Vec<Attribute> = Vec::new();
    for raw in all(params, "attributes") {
        let Some((name, value)) = raw.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return bad(format!("attributes must be name=value: {raw}"));
        };
        match attributes.iter_mut().find(|a| a.name == name) {
            Some(a) => a.values.push(value.to_owned()),
            None => attributes.push(Attribute {
                name: name.to_owned(),
                values: vec![value.to_owned()],
            }),
        }
    }
    let roles: Vec<String> = all(params, "roles").map(str::to_owned).collect();
    if let Some(role) = roles
        .iter()
        .find(|r| r.len() <= "ROLE_".len() || !r.starts_with("ROLE_"))
    {
        return bad(format!("roles must be ROLE_*: {role}"));
    }
    let any = |name| params.iter().any(|(k, _)| k == name);
    Ok(ProfileUpdate {
        display_name: display_name.map(str::to_owned),
        locale: locale.map(str::to_owned),
        attributes: any("attributes").then_some(attributes),
        roles: any("roles").then_some(roles),
    })
}

/// `en`, `nl_NL`, `en-GB`: a 2–3 letter language, optionally followed by subtags.
fn is_locale(locale: &str) -> bool {
    let mut parts = locale.split(['_', '-']);
    let language_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()));
    language_ok
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
