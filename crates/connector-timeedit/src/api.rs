//! The typed TimeEdit user web service client (docs/connectors/timeedit.md "TimeEdit"): one method per operation, the
//! `register` session flow, SOAP faults mapped to [`ConnectorError`].

use connector::http::VendorResponse;

use tokio::sync::{Mutex, OnceCell};

use crate::settings::{SettingsError, TimeEditSettings};
use crate::soap::{
    self, BodyWriter, CONTENT_TYPE, Element, Fault, FaultCode, SOAP_ACTION, SoapError,
};
use crate::user::{AuthServer, FindUsers, TeUser, UserKey, UserStatus, statuses_of, users_of};
use connector::ConnectorError;
use connector::http::{EndpointConfig, Repeat, VendorClient};
use connector::secret::Secret;

/// The name in logs and errors.
const VENDOR: &str = "timeedit";

/// docs/connectors/timeedit.md "Wire format": the fault string of a refused Login object (unknown or expired key, bad
/// username or password), matched case-insensitively as a substring so that a trailing period
/// or a longer wording still counts.
const INVALID_CREDENTIALS: &str = "invalid credentials";

/// The application key in use and a count of how many were obtained, so that of many calls
/// refused with the same key only the first registers again.
#[derive(Debug, Default)]
struct KeySlot {
    generation: u64,
    key: Option<Secret>,
}

/// What one call with one application key came to.
enum Reply {
    Answer(Element),
    /// The Login object was refused; the fault string.
    InvalidCredentials(String),
}

/// A client of one TimeEdit instance's user web service.
///
/// `register(certificate)` is called at the first call; the application key is kept in memory
/// only (docs/connectors/timeedit.md "The vendor API" [P 1]: keys may expire at any time, do not persist them). A call
/// refused with `Invalid credentials` registers again once and is retried once; a second
/// refusal is [`ConnectorError::Unauthorized`].
///
/// Retries: SOAP 1.1 answers every fault with HTTP 500, so the HTTP layer cannot tell a
/// `Server` fault (worth retrying) from a `Client` fault (never) by status. Every attempt is
/// therefore sent once ([`Repeat::Unsafe`]) and this client retries calls that are safe to
/// repeat itself, on transport failures, retryable statuses without a SOAP body, and `Server`
/// faults, with the backoff and `Retry-After` limits of the [`EndpointConfig`].
#[derive(Debug)]
pub struct TimeEditClient {
    http: VendorClient,
    endpoint: String,
    wsdl_url: String,
    configured_namespace: Option<String>,
    discovered_namespace: OnceCell<String>,
    username: String,
    password: Secret,
    certificate: Secret,
    key: Mutex<KeySlot>,
}

impl TimeEditClient {
    /// A client with the shared HTTP defaults ([`TimeEditSettings::endpoint_config`]).
    pub fn new(
        context: &connector::Context,
        settings: &TimeEditSettings,
    ) -> Result<Self, SettingsError> {
        Self::with_endpoint_config(context, settings, settings.endpoint_config())
    }

    /// A client whose timeouts and retries follow `config`; envelopes are posted to
    /// `config.base_url` (the endpoint, as [`TimeEditSettings::endpoint_config`] sets it).
    pub fn with_endpoint_config(
        context: &connector::Context,
        settings: &TimeEditSettings,
        config: EndpointConfig,
    ) -> Result<Self, SettingsError> {
        let endpoint = config.base_url.clone();
        Ok(Self {
            http: VendorClient::new(context, VENDOR, config)?,
            endpoint,
            wsdl_url: settings.wsdl_url(),
            configured_namespace: settings.namespace.clone(),
            discovered_namespace: OnceCell::new(),
            username: settings.username.clone(),
            password: settings.password()?,
            certificate: settings.certificate()?,
            key: Mutex::new(KeySlot::default()),
        })
    }

    // ---- operations ---------------------------------------------------------------------

    /// findUsers: one page of the matching users and the total match count. At most
    /// [`crate::MAX_USERS_PER_FIND`] users per call; page with `begin_index`.
    pub async fn find_users(&self, find: &FindUsers) -> Result<(Vec<TeUser>, u64), ConnectorError> {
        let response = self
            .call("findUsers", Repeat::Safe, |w| find.write(w))
            .await?;
        let users = shape("findUsers", users_of(&response))?;
        // docs/connectors/timeedit.md "Wire format": the count element may be either name.
        let total = response
            .child_text_any(&["totalnumberofusers", "totalnumofusers"])
            .ok_or_else(|| SoapError::Shape("no totalnumberofusers".into()))
            .and_then(|raw| soap::parse_int("totalnumberofusers", raw));
        Ok((users, shape("findUsers", total)?))
    }

    /// getUsers: the users with these keys that exist, in the vendor's order.
    pub async fn get_users(&self, keys: &[UserKey]) -> Result<Vec<TeUser>, ConnectorError> {
        self.users_by_key("getUsers", keys).await
    }

    /// exportUsers: like getUsers, but the complete, re-importable representation (with
    /// `defaultobjects` and the lists; docs/connectors/timeedit.md "Vendor calls" [O]).
    pub async fn export_users(&self, keys: &[UserKey]) -> Result<Vec<TeUser>, ConnectorError> {
        self.users_by_key("exportUsers", keys).await
    }

    /// validateUsers: checks *new* users without storing them (an existing one is
    /// [`crate::StatusCode::Exists`]). One status per user, in order.
    pub async fn validate_users(
        &self,
        users: &[TeUser],
    ) -> Result<Vec<UserStatus>, ConnectorError> {
        self.user_statuses("validateUsers", users).await
    }

    /// importUsers: creates or updates each user. Absent elements keep the stored value
    /// (docs/connectors/timeedit.md "Wire format"), so send the complete user. One status per user, in order.
    pub async fn import_users(&self, users: &[TeUser]) -> Result<Vec<UserStatus>, ConnectorError> {
        self.user_statuses("importUsers", users).await
    }

    /// deleteUsers: deletes each user, or with `inactivate` sets `allowlogin=false` on one that
    /// cannot be deleted ([`crate::StatusCode::Inactivated`]). One status per user, in order.
    ///
    /// Retried like the other calls: a repeat after a lost answer deletes nothing more, it
    /// only reports [`crate::StatusCode::NotFound`] for a user the first attempt deleted (an
    /// inactivated user answers `Inactivated` again). Callers must read `NotFound` after a
    /// delete as "gone", which a SCIM DELETE of a user we hold a mapping for does anyway.
    pub async fn delete_users(
        &self,
        keys: &[UserKey],
        inactivate: bool,
    ) -> Result<Vec<UserStatus>, ConnectorError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let response = self
            .call("deleteUsers", Repeat::Safe, |w| {
                w.element("tns:users", |w| keys.iter().try_for_each(|k| k.write(w)))?;
                w.boolean("tns:inactivate", inactivate)
            })
            .await?;
        shape("deleteUsers", statuses_of(&response, keys))
    }

    /// getAuthServers: the auth servers users may name (only active ones if asked).
    pub async fn get_auth_servers(
        &self,
        active_only: bool,
    ) -> Result<Vec<AuthServer>, ConnectorError> {
        let response = self
            .call("getAuthServers", Repeat::Safe, |w| {
                w.boolean("tns:activeonly", active_only)
            })
            .await?;
        let servers = response
            .items("authservers", "authserver")
            .into_iter()
            .map(AuthServer::from_element)
            .collect();
        shape("getAuthServers", servers)
    }

    /// getAuthServers (active ones), tried once, for a probe: it goes through the WSDL and
    /// `register` when the client has neither yet, so it proves the whole session works.
    pub async fn probe(&self) -> Result<Vec<AuthServer>, ConnectorError> {
        // A `Client` fault counted as an answer, but a probe with fixed arguments must not
        // draw one (a wrong namespace would): it is a failure there.
        let response = self
            .call("getAuthServers", Repeat::Unsafe, |w| {
                w.boolean("tns:activeonly", true)
            })
            .await
            .inspect_err(|e| {
                if matches!(e, ConnectorError::Rejected { .. }) {
                    self.http.record_failure(e);
                }
            })?;
        let servers = response
            .items("authservers", "authserver")
            .into_iter()
            .map(AuthServer::from_element)
            .collect();
        shape("getAuthServers", servers).inspect_err(|e| self.http.record_failure(e))
    }

    /// How calls to the SOAP endpoint have gone (the WSDL read included).
    pub fn status(&self) -> connector::EndpointStatus {
        self.http.status()
    }

    /// getPermissions: the calling account's permissions (a cheap health check).
    pub async fn get_permissions(&self) -> Result<Vec<String>, ConnectorError> {
        let response = self
            .call("getPermissions", Repeat::Safe, |_| Ok(()))
            .await?;
        Ok(texts(&response, "permissions", "permission"))
    }

    /// getUserSortOrders: the values findUsers accepts as `sort_order`.
    pub async fn get_user_sort_orders(&self) -> Result<Vec<String>, ConnectorError> {
        let response = self
            .call("getUserSortOrders", Repeat::Safe, |_| Ok(()))
            .await?;
        Ok(texts(&response, "sortorders", "sortorder"))
    }

    async fn users_by_key(
        &self,
        op: &'static str,
        keys: &[UserKey],
    ) -> Result<Vec<TeUser>, ConnectorError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let response = self
            .call(op, Repeat::Safe, |w| {
                w.element("tns:users", |w| keys.iter().try_for_each(|k| k.write(w)))
            })
            .await?;
        shape(op, users_of(&response))
    }

    /// validateUsers and importUsers. importUsers is a full-record upsert keyed by the user,
    /// so sending it again leaves the same result: safe to repeat.
    async fn user_statuses(
        &self,
        op: &'static str,
        users: &[TeUser],
    ) -> Result<Vec<UserStatus>, ConnectorError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let response = self
            .call(op, Repeat::Safe, |w| {
                w.element("tns:users", |w| users.iter().try_for_each(|u| u.write(w)))
            })
            .await?;
        let keys: Vec<UserKey> = users.iter().map(TeUser::key).collect();
        shape(op, statuses_of(&response, &keys))
    }

    // ---- session ------------------------------------------------------------------------

    /// Calls `op` with the Login object first and `params` after it; re-registers once if the
    /// key is refused.
    async fn call(
        &self,
        op: &'static str,
        repeat: Repeat,
        params: impl Fn(&mut BodyWriter) -> Result<(), SoapError>,
    ) -> Result<Element, ConnectorError> {
        let tns = self.namespace().await?;
        let (generation, key) = self.current_key(tns).await?;
        let reason = match self.call_with_key(tns, op, repeat, &key, &params).await? {
            Reply::Answer(response) => return Ok(response),
            Reply::InvalidCredentials(reason) => reason,
        };
        tracing::info!(
            vendor = VENDOR,
            call = op,
            reason,
            "the application key was refused; registering again"
        );
        let key = self.renew_key(tns, generation).await?;
        match self.call_with_key(tns, op, repeat, &key, &params).await? {
            Reply::Answer(response) => Ok(response),
            Reply::InvalidCredentials(reason) => {
                let refused = ConnectorError::Unauthorized {
                    reason: format!(
                        "{VENDOR} {op}: {reason} (after registering a new application key; check username and password)"
                    ),
                };
                // A SOAP fault comes with HTTP 500 and counted as an answer; it is a failure.
                self.http.record_failure(&refused);
                Err(refused)
            }
        }
    }

    async fn call_with_key(
        &self,
        tns: &str,
        op: &'static str,
        repeat: Repeat,
        key: &Secret,
        params: &impl Fn(&mut BodyWriter) -> Result<(), SoapError>,
    ) -> Result<Reply, ConnectorError> {
        let body = soap::write_request(tns, op, |w| {
            w.element("tns:login", |w| {
                w.text("username", &self.username)?;
                w.text("password", self.password.expose())?;
                w.text("applicationkey", key.expose())
            })?;
            params(w)
        })
        .map_err(|e| unencodable(op, e))?;
        match self.exchange(op, repeat, body).await? {
            Ok(response) => Ok(Reply::Answer(response)),
            Err(fault)
                if fault.code == FaultCode::Client
                    && fault.reason.to_lowercase().contains(INVALID_CREDENTIALS) =>
            {
                Ok(Reply::InvalidCredentials(fault_text(&fault)))
            }
            Err(fault) => Err(fault_error(op, fault)),
        }
    }

    /// The key in use, registering for one if there is none yet.
    async fn current_key(&self, tns: &str) -> Result<(u64, Secret), ConnectorError> {
        let mut slot = self.key.lock().await;
        if let Some(key) = &slot.key {
            return Ok((slot.generation, key.clone()));
        }
        let key = self.register(tns).await?;
        slot.generation += 1;
        slot.key = Some(key.clone());
        Ok((slot.generation, key))
    }

    /// A new key in place of the refused one of `stale`, unless another call already got one
    /// (then that one is used: many calls refused at once register once).
    async fn renew_key(&self, tns: &str, stale: u64) -> Result<Secret, ConnectorError> {
        let mut slot = self.key.lock().await;
        if slot.generation != stale
            && let Some(key) = &slot.key
        {
            return Ok(key.clone());
        }
        slot.key = None;
        let key = self.register(tns).await?;
        slot.generation += 1;
        slot.key = Some(key.clone());
        Ok(key)
    }

    /// `register(certificate)` → the application key (docs/connectors/timeedit.md "The vendor API"). A refused
    /// certificate is [`ConnectorError::Unauthorized`]: an operator must act.
    async fn register(&self, tns: &str) -> Result<Secret, ConnectorError> {
        let body = soap::write_request(tns, "register", |w| {
            w.text("tns:certificate", self.certificate.expose())
        })
        .map_err(|e| unencodable("register", e))?;
        // A repeated register only issues one more key: safe.
        let response = match self.exchange("register", Repeat::Safe, body).await? {
            Ok(response) => response,
            Err(fault) if fault.code == FaultCode::Client && refuses_certificate(&fault) => {
                let refused = ConnectorError::Unauthorized {
                    reason: format!("{VENDOR} register: {}", fault_text(&fault)),
                };
                self.http.record_failure(&refused);
                return Err(refused);
            }
            Err(fault) => return Err(fault_error("register", fault)),
        };
        // `<tns:key><applicationkey>…</applicationkey></tns:key>`, or the key bare.
        let key = match response.child("key") {
            Some(key) if key.children.is_empty() => Some(key.text.as_str()),
            Some(key) => key.child_text("applicationkey"),
            None => response.child_text("applicationkey"),
        };
        match key.filter(|k| !k.is_empty()) {
            Some(key) => Ok(Secret::new(key)),
            None => Err(shape_error(
                "register",
                SoapError::Shape("no application key".into()),
            )),
        }
    }

    /// The `tns` namespace: configured, or the WSDL's `targetNamespace`, read once.
    async fn namespace(&self) -> Result<&str, ConnectorError> {
        if let Some(ns) = &self.configured_namespace {
            return Ok(ns);
        }
        self.discovered_namespace
            .get_or_try_init(|| self.read_wsdl_namespace())
            .await
            .map(String::as_str)
    }

    async fn read_wsdl_namespace(&self) -> Result<String, ConnectorError> {
        {
            let url = &self.wsdl_url;
            // Whatever goes wrong here is configuration or an outage, never the SCIM
            // client's fault, so a 404 is not passed on as Rejected.
            let unavailable = |reason: String| ConnectorError::Unavailable {
                reason: format!("{VENDOR}: cannot read the WSDL at {url}: {reason}"),
                retry_after: None,
            };
            let answer = self
                .http
                .send("wsdl", Repeat::Safe, None, |c| c.get(url))
                .await?
                .error_for_status()
                .map_err(|e| match e {
                    ConnectorError::Unavailable { .. } | ConnectorError::Unauthorized { .. } => e,
                    other => unavailable(other.to_string()),
                })?;
            let text = std::str::from_utf8(&answer.body).map_err(|e| unavailable(e.to_string()))?;
            let ns = soap::wsdl_target_namespace(text).map_err(|e| unavailable(e.to_string()))?;
            tracing::info!(
                vendor = VENDOR,
                namespace = ns,
                "read the namespace from the WSDL"
            );
            Ok(ns)
        }
    }

    // ---- transport ----------------------------------------------------------------------

    /// Posts one envelope; retries (when `repeat` allows) transport failures, retryable
    /// statuses without a SOAP answer, success statuses whose body is not a SOAP answer
    /// (e.g. cut short), and `Server` faults, with the shared backoff and `Retry-After` rules.
    /// Returns the response element or the last fault.
    async fn exchange(
        &self,
        op: &'static str,
        repeat: Repeat,
        body: Vec<u8>,
    ) -> Result<Result<Element, Fault>, ConnectorError> {
        // Deciding on a retry reads the answer; the last reading is kept, so that the answer
        // returned is not parsed a second time.
        let last_read = std::sync::Mutex::new(None);
        let answer = self
            .http
            .send_with(
                op,
                repeat,
                None,
                |answer| {
                    let read = read(answer);
                    let retry = worth_retrying(answer, &read);
                    if let Ok(mut slot) = last_read.lock() {
                        *slot = Some(read);
                    }
                    retry
                },
                |c| {
                    c.post(&self.endpoint)
                        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                        .header("SOAPAction", SOAP_ACTION)
                        .body(body.clone())
                },
            )
            .await?;
        let read = last_read
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| read(&answer));
        // A body that is a SOAP envelope is read whatever the status (SOAP 1.1 faults come
        // with HTTP 500); otherwise the status decides, through the shared classification.
        match read {
            Ok(Err(fault)) => Ok(Err(fault)),
            Ok(Ok(response)) if answer.status.is_success() => Ok(Ok(response)),
            Err(e) if answer.status.is_success() => Err(shape_error(op, e)),
            // Not a fault and not a success: a proxy's or load balancer's answer.
            _ => Err(answer.error_for_status().err().unwrap_or_else(|| {
                shape_error(op, SoapError::Shape("an answer without a status".into()))
            })),
        }
    }
}

/// The SOAP answer in a vendor response.
fn read(answer: &VendorResponse) -> Result<Result<Element, Fault>, SoapError> {
    std::str::from_utf8(&answer.body)
        .map_err(|e| SoapError::Xml(e.to_string()))
        .and_then(soap::parse_response)
}

/// Answers another attempt may change: a `Server` fault, a success whose body is not a SOAP
/// answer (cut short), or a retryable status without a SOAP body.
fn worth_retrying(
    answer: &VendorResponse,
    read: &Result<Result<Element, Fault>, SoapError>,
) -> bool {
    match read {
        Ok(Err(fault)) => fault.code == FaultCode::Server,
        Ok(Ok(_)) => false,
        Err(_) => answer.status.is_success() || connector::http::retryable(answer.status),
    }
}

/// Whether a `register` fault refuses the certificate (the simulator says `Invalid
/// certificate`; the real wording is unknown, so "credentials" counts too). Other Client
/// faults of `register`, e.g. a wrong namespace, are not about credentials.
fn refuses_certificate(fault: &Fault) -> bool {
    let reason = fault.reason.to_lowercase();
    reason.contains("certificate") || reason.contains(INVALID_CREDENTIALS)
}

/// The fault string, with the detail when the vendor sent one.
fn fault_text(fault: &Fault) -> String {
    match &fault.detail {
        Some(detail) => format!("{} ({detail})", fault.reason),
        None => fault.reason.clone(),
    }
}

/// The SOAP fault as our error: `Server` faults are the vendor failing (503 to the SCIM
/// client), every other fault is about the request and carries the vendor's reason.
fn fault_error(op: &str, fault: Fault) -> ConnectorError {
    let reason = format!("{VENDOR} {op}: {}", fault_text(&fault));
    match fault.code {
        FaultCode::Server => ConnectorError::Unavailable {
            reason,
            retry_after: None,
        },
        FaultCode::Client | FaultCode::Other(_) => ConnectorError::Rejected { reason },
    }
}

/// An answer that is not the documented shape: the vendor is not working as it should.
fn shape_error(op: &str, e: SoapError) -> ConnectorError {
    ConnectorError::Unavailable {
        reason: format!("{VENDOR} {op}: {e}"),
        retry_after: None,
    }
}

fn shape<T>(op: &str, result: Result<T, SoapError>) -> Result<T, ConnectorError> {
    result.map_err(|e| shape_error(op, e))
}

/// A request value XML cannot carry is the caller's input at fault.
fn unencodable(op: &str, e: SoapError) -> ConnectorError {
    match e {
        SoapError::Unencodable(_) => ConnectorError::Rejected {
            reason: format!("{VENDOR} {op}: {e}"),
        },
        other => shape_error(op, other),
    }
}

/// The texts of a string array answer.
fn texts(response: &Element, wrapper: &str, item: &str) -> Vec<String> {
    response
        .items(wrapper, item)
        .into_iter()
        .map(|i| i.text.trim().to_owned())
        .collect()
}
