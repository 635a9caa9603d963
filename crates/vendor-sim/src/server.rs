//! Running a simulator: an actix server on a real socket, wrapped in a middleware that records
//! every request and applies the fault plan before the vendor logic sees it.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};
use futures_util::StreamExt;

use crate::faults::{Fault, Faults};
use crate::log::{RecordedRequest, RequestLog, mask_header};

/// Bodies above this size are recorded truncated (the request itself is passed on whole).
const MAX_RECORDED_BODY: usize = 64 * 1024;

/// Rewrites a recorded body to hide credentials carried inside it (for example a SOAP
/// `<password>` element).
pub type BodyMasker = fn(&str) -> String;

/// How to run one simulator.
#[derive(Clone)]
pub struct SimOptions {
    /// Where to listen; port 0 picks a free port (what tests use).
    pub addr: SocketAddr,
    /// actix worker threads.
    pub workers: usize,
    /// Seed of the fault plan's random draws.
    pub seed: u64,
    /// Masks secrets in recorded bodies.
    pub body_masker: Option<BodyMasker>,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            seed: 0,
            body_masker: None,
        }
    }
}

/// A running simulator: its address, request log and fault plan.
pub struct SimServer {
    addr: SocketAddr,
    handle: ServerHandle,
    log: RequestLog,
    faults: Faults,
}

impl SimServer {
    /// Starts serving the routes registered by `configure` on a real socket.
    ///
    /// Must be called inside a tokio runtime (e.g. `#[actix_web::test]` or `#[tokio::test]`).
    pub fn start<F>(configure: F, options: SimOptions) -> std::io::Result<SimServer>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind(options.addr)?;
        let addr = listener.local_addr()?;
        let log = RequestLog::default();
        let faults = Faults::new(options.seed);
        let masker = options.body_masker;
        let (app_log, app_faults) = (log.clone(), faults.clone());
        let server = HttpServer::new(move || {
            let (log, faults) = (app_log.clone(), app_faults.clone());
            App::new()
                .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                    record_and_inject(req, next, log.clone(), faults.clone(), masker)
                }))
                .configure(configure.clone())
        })
        .workers(options.workers)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(SimServer {
            addr,
            handle,
            log,
            faults,
        })
    }

    /// The socket address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// The fault plan; edit it at any time.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Stops accepting, lets in-flight requests finish (1 s at most).
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn record_and_inject(
    mut req: ServiceRequest,
    next: Next<BoxBody>,
    log: RequestLog,
    faults: Faults,
    masker: Option<BodyMasker>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut body = Vec::new();
    let mut payload = req.parts_mut().1.take();
    while let Some(chunk) = payload.next().await {
        body.extend_from_slice(&chunk?);
    }
    let body = Bytes::from(body);

    let recorded_len = body.len().min(MAX_RECORDED_BODY);
    let text = String::from_utf8_lossy(&body[..recorded_len]).into_owned();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |pq| pq.as_str().to_owned());
    log.push(RecordedRequest {
        method: req.method().to_string(),
        path,
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                let name = n.as_str().to_ascii_lowercase();
                let value = mask_header(&name, &String::from_utf8_lossy(v.as_bytes()));
                (name, value)
            })
            .collect(),
        body: masker.map_or(text.clone(), |m| m(&text)),
    });

    let stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::once(async move { Ok(body) }));
    req.set_payload(Payload::from(stream));

    for fault in faults.draw(req.method().as_str(), req.path()) {
        let response = match fault {
            Fault::Latency(d) => {
                tokio::time::sleep(d).await;
                continue;
            }
            Fault::Status(code) => HttpResponse::build(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            )
            .finish(),
            Fault::TooManyRequests { retry_after_secs } => HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", retry_after_secs.to_string()))
                .finish(),
            Fault::Drop => HttpResponse::Ok().streaming(futures_util::stream::once(async {
                Err::<Bytes, _>(std::io::Error::other("fault injection: connection dropped"))
            })),
            Fault::Hang(d) => {
                tokio::time::sleep(d).await;
                HttpResponse::GatewayTimeout().finish()
            }
            Fault::DropAfter => {
                let served = next.call(req).await?;
                let (req, res) = served.into_parts();
                let dropped = HttpResponse::build(res.status()).streaming(
                    futures_util::stream::once(async {
                        Err::<Bytes, _>(std::io::Error::other(
                            "fault injection: connection dropped after serving",
                        ))
                    }),
                );
                return Ok(ServiceResponse::new(req, dropped));
            }
        };
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    next.call(req).await.map(|res| res.map_into_boxed_body())
}

/// Convenience for tests: a hang long enough that any sane client timeout fires first.
pub const LONG_HANG: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{FaultRule, RouteMatch};

    fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route(
            "/echo",
            web::put().to(|body: Bytes| async move { HttpResponse::Ok().body(body) }),
        );
    }

    #[actix_web::test]
    async fn records_requests_and_injects_faults() {
        let sim = SimServer::start(routes, SimOptions::default()).expect("start");
        let client = reqwest::Client::new();
        let url = format!("{}/echo", sim.base_url());

        let res = client
            .put(&url)
            .header("apiToken", "secret")
            .body("hello")
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.expect("body"), "hello");
        let rec = sim.log().last().expect("recorded");
        assert_eq!(
            (rec.method.as_str(), rec.path.as_str(), rec.body.as_str()),
            ("PUT", "/echo", "hello")
        );
        assert_eq!(rec.header("apitoken"), Some("***"));

        sim.faults().push(
            FaultRule::always(
                RouteMatch::path("/echo"),
                Fault::TooManyRequests {
                    retry_after_secs: 3,
                },
            )
            .times(1),
        );
        let res = client.put(&url).send().await.expect("send");
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "3");

        sim.faults()
            .push(FaultRule::always(RouteMatch::any(), Fault::Drop).times(1));
        let dropped = async { client.put(&url).send().await?.bytes().await };
        assert!(
            dropped.await.is_err(),
            "a dropped connection must surface as a transport error"
        );

        sim.faults()
            .push(FaultRule::always(RouteMatch::any(), Fault::Hang(LONG_HANG)).times(1));
        let hung = client
            .put(&url)
            .timeout(Duration::from_millis(200))
            .send()
            .await;
        assert!(hung.expect_err("must time out").is_timeout());

        assert_eq!(
            client
                .put(&url)
                .body("ok")
                .send()
                .await
                .expect("send")
                .status(),
            200
        );
        sim.stop().await;
    }
}
