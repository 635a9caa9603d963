//! The admin API's reconciliation of one connector (crate::reconcile): run one now, or read
//! the last report this process made.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::admin::{Admin, rfc3339};
use crate::error::ApiError;
use crate::reconcile::{Drift, Quiet, ReconcileError, Report};
use connector::ConnectorError;

fn drift_json(drift: &Drift) -> Value {
    match drift {
        Drift::MissingAtVendor { kind, id, name } => json!({
            "drift": "missingAtVendor", "resourceType": kind.as_str(), "id": id, "name": name,
        }),
        Drift::OnlyAtVendor {
            kind,
            name,
            imported_as,
        } => json!({
            "drift": "onlyAtVendor", "resourceType": kind.as_str(), "name": name,
            "importedAs": imported_as,
        }),
        Drift::Differs {
            kind,
            id,
            name,
            differences,
        } => json!({
            "drift": "differs", "resourceType": kind.as_str(), "id": id, "name": name,
            "differences": differences,
        }),
    }
}

pub(super) fn summary_json(at: time::OffsetDateTime, report: &Report) -> Value {
    json!({
        "finished": rfc3339(at),
        "stored": report.stored,
        "atVendor": report.at_vendor,
        "inSync": report.in_sync,
        "unresolved": report.unresolved(),
    })
}

fn report_json(at: time::OffsetDateTime, report: &Report) -> Value {
    let mut body = summary_json(at, report);
    if let Some(object) = body.as_object_mut() {
        object.insert(
            "drift".into(),
            report
                .drift
                .iter()
                .map(drift_json)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    body
}

/// `POST /admin/connectors/{name}/reconcile`: compares the store with the vendor now (no
/// import; `scim-bridge reconcile --import` does that) and keeps the report.
pub async fn reconcile(admin: Admin, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let runtime = admin.connector(&name)?;
    let report = crate::reconcile::reconcile(admin.state(), &runtime.name, false, &Quiet)
        .await
        .map_err(|e| match e {
            // Not a failure of the server: this connector has no vendor accounts to list.
            ReconcileError::Vendor(ConnectorError::Unsupported(reason)) => ApiError::new(
                scim::ScimError::new(409, None, format!("nothing to reconcile: {reason}")),
            ),
            ReconcileError::Vendor(e) => ApiError::from(e),
            ReconcileError::Store(e) => ApiError::from(e),
            other => ApiError::status(500, other.to_string()),
        })?;
    let at = time::OffsetDateTime::now_utc();
    let body = report_json(at, &report);
    admin
        .state()
        .reconciliations
        .lock()
        .await
        .insert(runtime.name.clone(), (at, report));
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /admin/connectors/{name}/reconcile`: the last report this process made.
pub async fn last_reconciliation(
    admin: Admin,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let runtime = admin.connector(&name)?;
    let reconciled = admin.state().reconciliations.lock().await;
    let (at, report) = reconciled.get(&runtime.name).ok_or_else(|| {
        ApiError::not_found(format!(
            "connector \"{}\" has not been reconciled since this process started; POST to this URL to run one",
            runtime.name
        ))
    })?;
    Ok(HttpResponse::Ok().json(report_json(*at, report)))
}
