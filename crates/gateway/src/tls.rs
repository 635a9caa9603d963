//! HTTPS served by the gateway itself, with rustls (`[server.tls]`). Entra ID and Okta only
//! take an `https://` tenant URL. Without a proxy in front, the gateway terminates TLS.
//!
//! The certificate and key are read from PEM files, and read again when either file changes
//! (polled every `reload_interval_secs`). Only new handshakes get the new pair: the
//! connections open at the swap keep the session they negotiated, so nothing is dropped. A
//! pair that does not load is logged, and the old one stays. With `client_ca_file`, every
//! client must present a certificate that CA signed (mutual TLS).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use serde::Deserialize;

use crate::config::Problem;

/// `[server.tls]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by one of these CAs (PEM).
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// How often the two files are checked for a change; 0 never reloads.
    #[serde(default = "default_reload_interval_secs")]
    pub reload_interval_secs: u64,
}

fn default_reload_interval_secs() -> u64 {
    30
}

/// Why the TLS files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("the key in {path} cannot sign: {reason}")]
    Key { path: String, reason: String },
    #[error("{0}")]
    Rustls(String),
}

impl TlsError {
    /// The configuration key the error is about, for `check-config`.
    fn key(&self, config: &TlsConfig) -> &'static str {
        match self {
            TlsError::Read { path, .. } | TlsError::NoCertificate { path }
                if Some(Path::new(path)) == config.client_ca_file.as_deref() =>
            {
                "server.tls.client_ca_file"
            }
            TlsError::Read { path, .. } | TlsError::NoCertificate { path }
                if Path::new(path) == config.cert_file =>
            {
                "server.tls.cert_file"
            }
            TlsError::Read { .. } | TlsError::Key { .. } => "server.tls.key_file",
            _ => "server.tls",
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: shown });
    }
    Ok(certs)
}

/// The certificate chain and key of `config`, ready to sign handshakes.
fn load_pair(config: &TlsConfig, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(&config.cert_file)?;
    let shown = config.key_file.display().to_string();
    let key = PrivateKeyDer::from_pem_file(&config.key_file).map_err(|e| TlsError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsError::Key {
            path: shown,
            reason: e.to_string(),
        })?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match().map_err(|e| TlsError::Key {
        path: config.key_file.display().to_string(),
        reason: format!("it does not match the certificate ({e})"),
    })?;
    Ok(pair)
}

/// Hands every handshake the current pair; [`Reloader`] swaps it.
#[derive(Debug)]
struct CurrentPair(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentPair {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// A rustls server configuration for `config`, and what reloads its files.
pub fn server_config(config: &TlsConfig) -> Result<(rustls::ServerConfig, Reloader), TlsError> {
    let provider = provider();
    let pair = Arc::new(CurrentPair(RwLock::new(Arc::new(load_pair(
        config, &provider,
    )?))));
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &config.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(path)? {
                roots
                    .add(cert)
                    .map_err(|e| TlsError::Rustls(format!("{}: {e}", path.display())))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let server = builder.with_cert_resolver(pair.clone());
    let reloader = Reloader {
        config: config.clone(),
        provider,
        pair,
        seen: modified(config),
    };
    Ok((server, reloader))
}

/// The problems `check-config` reports for `[server.tls]`: files that do not load.
pub fn problems(config: &TlsConfig) -> Vec<Problem> {
    match server_config(config) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Problem::new(
            e.key(config),
            e.to_string(),
            "give PEM files the gateway can read: the certificate chain (leaf first) and its private key",
        )],
    }
}

/// The files' modification times, to notice a change.
fn modified(config: &TlsConfig) -> (Option<SystemTime>, Option<SystemTime>) {
    let time = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    (time(&config.cert_file), time(&config.key_file))
}

/// Reads the certificate and key again when either file changes.
pub struct Reloader {
    config: TlsConfig,
    provider: Arc<CryptoProvider>,
    pair: Arc<CurrentPair>,
    seen: (Option<SystemTime>, Option<SystemTime>),
}

impl Reloader {
    /// Checks the files every `reload_interval_secs` until the runtime stops; does nothing
    /// when the interval is 0.
    pub fn spawn(mut self) -> Option<tokio::task::JoinHandle<()>> {
        let every = Duration::from_secs(self.config.reload_interval_secs);
        if every.is_zero() {
            return None;
        }
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.reload_if_changed();
            }
        }))
    }

    /// Swaps in the files' pair when they changed since the last look; a pair that does not
    /// load is logged and the current one kept (a half-written file is read again next time).
    pub fn reload_if_changed(&mut self) {
        let now = modified(&self.config);
        if now == self.seen {
            return;
        }
        match load_pair(&self.config, &self.provider) {
            Ok(pair) => {
                *self.pair.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
                self.seen = now;
                tracing::info!(
                    cert_file = %self.config.cert_file.display(),
                    "TLS certificate reloaded; new connections use it"
                );
            }
            Err(e) => tracing::error!(
                error = %e,
                "the TLS files changed but do not load; the previous certificate stays in use"
            ),
        }
    }
}
