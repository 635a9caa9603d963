//! The HTTP side: `POST /soap/3/{instance}` (SOAP 1.1 or 1.2) and the WSDL at
//! `GET /soap/3/{instance}/wsdl` and `GET /soap/3/{instance}?wsdl` (docs/connectors/timeedit.md "The vendor API", "Wire format").

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use super::TimeEditSim;
use super::operations;
use super::soap::{
    self, EnvelopeError, Fault, FaultCode, SoapVersion, build_envelope, parse_envelope,
};
use super::wsdl;

/// Request bodies up to this size are read (actix's default of 256 KiB is too small for a
/// large importUsers batch).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Registers the routes of `sim`.
pub(crate) fn configure(sim: &TimeEditSim, cfg: &mut web::ServiceConfig) {
    let path = sim.endpoint_path();
    let data = web::Data::new(sim.clone());
    cfg.service(
        web::resource(path.as_str())
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route(web::post().to(soap_call))
            .route(web::get().to(wsdl_query)),
    )
    .service(
        web::resource(format!("{path}/wsdl"))
            .app_data(data)
            .route(web::get().to(wsdl_document)),
    );
}

async fn soap_call(req: HttpRequest, body: Bytes, sim: web::Data<TimeEditSim>) -> HttpResponse {
    let tns = sim.config().namespace.as_str();
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // docs/connectors/timeedit.md "Wire format": SOAP 1.1 (`text/xml`) is the format, 1.2 (`application/soap+xml`) is
    // accepted too; SOAPAction is ignored and the body element decides the operation.
    let Some(declared) = SoapVersion::from_content_type(content_type) else {
        let fault = Fault::client(format!(
            "Unsupported Content-Type {content_type:?}: use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"
        ));
        return fault_response(
            SoapVersion::V11,
            tns,
            &fault,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        );
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return fault_reply(
            declared,
            tns,
            &Fault::client("Malformed XML: the body is not UTF-8"),
        );
    };
    let envelope = match parse_envelope(text) {
        Ok(envelope) => envelope,
        Err(EnvelopeError::VersionMismatch(ns)) => {
            let fault = version_mismatch(format!("Unsupported SOAP envelope namespace {ns:?}"));
            return fault_reply(declared, tns, &fault);
        }
        Err(e) => return fault_reply(declared, tns, &Fault::client(e.to_string())),
    };
    if envelope.version != declared {
        let fault = version_mismatch(format!(
            "The Content-Type {content_type:?} does not match the envelope namespace {:?}",
            envelope.version.namespace()
        ));
        return fault_reply(declared, tns, &fault);
    }
    match operations::handle(&sim, &envelope.operation) {
        Ok(response) => match build_envelope(envelope.version, tns, &response) {
            Ok(xml) => HttpResponse::Ok()
                .content_type(envelope.version.content_type())
                .body(xml),
            Err(_) => HttpResponse::InternalServerError().finish(),
        },
        Err(fault) => fault_reply(envelope.version, tns, &fault),
    }
}

fn version_mismatch(reason: String) -> Fault {
    Fault {
        code: FaultCode::VersionMismatch,
        reason,
        detail: None,
    }
}

fn fault_reply(version: SoapVersion, tns: &str, fault: &Fault) -> HttpResponse {
    let status = StatusCode::from_u16(fault.http_status(version))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    fault_response(version, tns, fault, status)
}

fn fault_response(
    version: SoapVersion,
    tns: &str,
    fault: &Fault,
    status: StatusCode,
) -> HttpResponse {
    match soap::build_fault(version, tns, fault) {
        Ok(xml) => HttpResponse::build(status)
            .content_type(version.content_type())
            .body(xml),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// `GET …?wsdl` (any case, with or without a value); other GETs of the endpoint are 404.
async fn wsdl_query(req: HttpRequest, sim: web::Data<TimeEditSim>) -> HttpResponse {
    let asks_wsdl = req.query_string().split('&').any(|part| {
        let key = part.split('=').next().unwrap_or("");
        key.eq_ignore_ascii_case("wsdl")
    });
    if asks_wsdl {
        wsdl_document(req, sim).await
    } else {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("TimeEdit SOAP endpoint: POST a SOAP envelope, or GET ?wsdl")
    }
}

async fn wsdl_document(req: HttpRequest, sim: web::Data<TimeEditSim>) -> HttpResponse {
    let conn = req.connection_info();
    let address = format!("{}://{}{}", conn.scheme(), conn.host(), sim.endpoint_path());
    match wsdl::build(&sim.config().namespace, &address) {
        Ok(xml) => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(xml),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
