//! Profile pictures from SCIM `photos` (docs/connectors/workspace365-adsync.md "SCIM mapping"): the preferred photo, its source (a
//! `data:` URI decoded here, or an https URL on an allowed host), the fetch with its limits,
//! the content hash that spares re-uploads, and the multipart body of A9.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use scim::resource::UserView;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::settings::AdSyncSettings;
use connector::ConnectorError;

/// The multipart field the picture travels in (docs/connectors/workspace365-adsync.md "Vendor calls" [O]: the vendor takes any one
/// file part).
pub const FIELD_NAME: &str = "file";

/// Redirects followed when fetching a picture, each to an allowed host.
const MAX_REDIRECTS: usize = 3;

/// An image ready for A9.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    pub bytes: Vec<u8>,
    /// `image/jpeg`, `image/png` or `image/gif`, read from the bytes themselves.
    pub content_type: &'static str,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Picture({}, {} bytes)",
            self.content_type,
            self.bytes.len()
        )
    }
}

impl Picture {
    /// The hex SHA-256 of the bytes: what the vendor keys remember.
    pub fn sha256(&self) -> String {
        format!("{:x}", Sha256::digest(&self.bytes))
    }

    /// A file name for the multipart part, by type.
    pub fn file_name(&self) -> &'static str {
        match self.content_type {
            "image/png" => "picture.png",
            "image/gif" => "picture.gif",
            _ => "picture.jpg",
        }
    }

    /// The `multipart/form-data` body of A9 with one file part, and its content type.
    pub fn multipart(&self, boundary: &str) -> (Vec<u8>, String) {
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{FIELD_NAME}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            self.file_name(),
            self.content_type
        )
        .into_bytes();
        body.extend_from_slice(&self.bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        (body, format!("multipart/form-data; boundary={boundary}"))
    }
}

/// The image type of these bytes, by their signature; only what A9 accepts.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else {
        None
    }
}

/// The photo to upload: among `photos` of type `photo` (untyped ones after them; thumbnails
/// never), the primary one, else the first. `None` when the user has none.
pub fn preferred_photo(user: &Map<String, Value>) -> Option<&str> {
    let photos = UserView(user).photos();
    let usable = |typed: bool| {
        photos.iter().filter(move |p| {
            p.value.is_some_and(|v| !v.trim().is_empty())
                && match p.kind {
                    Some(k) => typed && k.eq_ignore_ascii_case("photo"),
                    None => !typed,
                }
        })
    };
    usable(true)
        .find(|p| p.primary)
        .or_else(|| usable(true).next())
        .or_else(|| usable(false).find(|p| p.primary))
        .or_else(|| usable(false).next())
        .and_then(|p| p.value)
        .map(str::trim)
}

/// Where pictures may come from and how large they may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureRules {
    pub allowed_hosts: Vec<String>,
    pub allow_http: bool,
    pub max_bytes: usize,
}

impl PictureRules {
    pub fn of(settings: &AdSyncSettings) -> PictureRules {
        PictureRules {
            allowed_hosts: settings
                .allowed_picture_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            allow_http: settings.allow_http_for_tests,
            max_bytes: settings.max_picture_bytes,
        }
    }

    /// Whether a URL may be requested: https (or http when allowed for tests), no user info,
    /// and a host listed alone or with this very port.
    pub fn allows(&self, url: &Url) -> bool {
        let scheme_ok = url.scheme() == "https" || (self.allow_http && url.scheme() == "http");
        let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
            return false;
        };
        let with_port = url.port_or_known_default().map(|p| format!("{host}:{p}"));
        scheme_ok
            && url.username().is_empty()
            && url.password().is_none()
            && self
                .allowed_hosts
                .iter()
                .any(|h| *h == host || Some(h) == with_port.as_ref())
    }
}

/// Where a photo comes from, once checked against the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A `data:` URI, already decoded.
    Inline(Picture),
    /// A URL on an allowed host, to fetch.
    Fetch(Url),
}

/// Checks a `photos` value against the rules; decodes it when it is a `data:` URI. The
/// message says what is wrong and which setting would allow it.
pub fn source(value: &str, rules: &PictureRules) -> Result<Source, String> {
    if value
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
    {
        return decode_data_uri(value, rules.max_bytes).map(Source::Inline);
    }
    let url = Url::parse(value).map_err(|_| {
        format!(
            "the photo \"{}\" is neither a data: URI nor a URL",
            short(value)
        )
    })?;
    if !rules.allows(&url) {
        let host = url.host_str().unwrap_or_default();
        return Err(if rules.allowed_hosts.is_empty() {
            format!(
                "the photo URL on \"{host}\" is not fetched: this connector takes only data: URIs (allowed_picture_hosts is empty)"
            )
        } else {
            format!(
                "the photo URL {} is not fetched: only https URLs on allowed_picture_hosts ({}) are",
                short(value),
                rules.allowed_hosts.join(", ")
            )
        });
    }
    Ok(Source::Fetch(url))
}

/// The first characters of a value, for messages (a data URI can be megabytes).
fn short(value: &str) -> String {
    let cut: String = value.chars().take(80).collect();
    if cut.len() < value.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// Decodes `data:[<type>];base64,<data>` into a JPEG, PNG or GIF of at most `max_bytes`.
pub fn decode_data_uri(uri: &str, max_bytes: usize) -> Result<Picture, String> {
    let (header, data) = uri
        .split_once(',')
        .ok_or_else(|| "the photo data: URI has no \",\"".to_owned())?;
    if !header
        .rsplit(';')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("base64"))
    {
        return Err("the photo data: URI must be base64-encoded (data:image/png;base64,…)".into());
    }
    let data: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    // Refuse before decoding what would be too large anyway.
    if data.len() / 4 * 3 > max_bytes + 3 {
        return Err(too_large(max_bytes));
    }
    let bytes = STANDARD
        .decode(data.as_bytes())
        .map_err(|e| format!("the photo data: URI is not valid base64: {e}"))?;
    image(bytes, max_bytes)
}

fn too_large(max_bytes: usize) -> String {
    format!("the photo is larger than max_picture_bytes ({max_bytes} bytes)")
}

/// Bytes as a picture, if they are a JPEG, PNG or GIF within the size limit.
fn image(bytes: Vec<u8>, max_bytes: usize) -> Result<Picture, String> {
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    let content_type = sniff(&bytes).ok_or_else(|| {
        "the photo is not a JPEG, PNG or GIF image, the types Workspace 365 takes".to_owned()
    })?;
    Ok(Picture {
        bytes,
        content_type,
    })
}

/// Fetches pictures from allowed hosts only: redirects are followed only to allowed hosts,
/// and the body is read up to the size limit.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    rules: PictureRules,
}

impl Fetcher {
    pub fn new(
        rules: PictureRules,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Fetcher, ConnectorError> {
        let policy_rules = rules.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if policy_rules.allows(attempt.url()) {
                attempt.follow()
            } else {
                let host = attempt.url().host_str().unwrap_or_default().to_owned();
                attempt.error(format!(
                    "a redirect to \"{host}\", which is not in allowed_picture_hosts"
                ))
            }
        });
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .redirect(policy)
            .user_agent(concat!("scim-bridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConnectorError::Unsupported(format!("cannot build the picture HTTP client: {e}"))
            })?;
        Ok(Fetcher { client, rules })
    }

    /// The picture at `url` (which [`source`] allowed). A refused or broken picture is
    /// `Rejected`; an unreachable or failing host is `Unavailable`.
    pub async fn fetch(&self, url: &Url) -> Result<Picture, ConnectorError> {
        if !self.rules.allows(url) {
            return Err(rejected(format!(
                "the photo URL on \"{}\" is not in allowed_picture_hosts",
                url.host_str().unwrap_or_default()
            )));
        }
        let max = self.rules.max_bytes;
        let mut response = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "image/jpeg, image/png, image/gif")
            .send()
            .await
            .map_err(|e| fetch_failed(url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let reason = format!("the photo URL {url} answered HTTP {}", status.as_u16());
            return Err(match status.as_u16() {
                408 | 429 | 500..=599 => ConnectorError::Unavailable {
                    reason,
                    retry_after: None,
                },
                _ => rejected(reason),
            });
        }
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(rejected(too_large(max)));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fetch_failed(url, &e))? {
            if bytes.len() + chunk.len() > max {
                return Err(rejected(too_large(max)));
            }
            bytes.extend_from_slice(&chunk);
        }
        image(bytes, max).map_err(rejected)
    }
}

fn rejected(reason: String) -> ConnectorError {
    ConnectorError::Rejected { reason }
}

fn fetch_failed(url: &Url, e: &reqwest::Error) -> ConnectorError {
    if e.is_redirect() {
        return rejected(format!(
            "the photo URL {url} was not fetched: {}",
            std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string())
        ));
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    ConnectorError::Unavailable {
        reason: format!(
            "fetching the photo from {}: {what}",
            url.host_str().unwrap_or_default()
        ),
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn rules(hosts: &[&str]) -> PictureRules {
        PictureRules {
            allowed_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            allow_http: false,
            max_bytes: 64,
        }
    }

    fn data_uri(bytes: &[u8]) -> String {
        format!("data:image/png;base64,{}", STANDARD.encode(bytes))
    }

    #[test]
    fn prefers_the_primary_photo_and_skips_thumbnails() {
        let user = |photos: Value| {
            json!({"photos": photos})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let u = user(json!([
            {"value": "https://x/thumb", "type": "thumbnail", "primary": true},
            {"value": "https://x/a", "type": "photo"},
            {"value": "https://x/b", "type": "photo", "primary": true}
        ]));
        assert_eq!(preferred_photo(&u), Some("https://x/b"));
        let u = user(json!([{"value": "https://x/u"}, {"value": "https://x/a", "type": "Photo"}]));
        assert_eq!(
            preferred_photo(&u),
            Some("https://x/a"),
            "typed before untyped"
        );
        let u = user(json!([{"value": "https://x/thumb", "type": "thumbnail"}]));
        assert_eq!(preferred_photo(&u), None);
        assert_eq!(preferred_photo(&user(json!([]))), None);
    }

    #[test]
    fn data_uris_are_decoded_checked_and_capped() {
        let Ok(Source::Inline(picture)) = source(&data_uri(PNG), &rules(&[])) else {
            panic!("a PNG data URI is taken")
        };
        assert_eq!(picture.content_type, "image/png");
        assert_eq!(picture.bytes, PNG);
        let too_big = [PNG, &[0u8; 64]].concat();
        assert!(
            source(&data_uri(&too_big), &rules(&[]))
                .is_err_and(|e| e.contains("max_picture_bytes"))
        );
        assert!(source(&data_uri(b"<svg/>"), &rules(&[])).is_err_and(|e| e.contains("not a JPEG")));
        assert!(source("data:image/png,%89PNG", &rules(&[])).is_err_and(|e| e.contains("base64")));
        assert!(source("data:image/png;base64,@@@", &rules(&[])).is_err());
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
    }

    #[test]
    fn urls_only_on_allowed_hosts_over_https() {
        let r = rules(&["pictures.example.com", "cdn.example.com:8443"]);
        assert!(matches!(
            source("https://Pictures.example.com/a.png", &r),
            Ok(Source::Fetch(_))
        ));
        assert!(matches!(
            source("https://cdn.example.com:8443/a", &r),
            Ok(Source::Fetch(_))
        ));
        assert!(
            source("https://cdn.example.com/a", &r).is_err(),
            "only the listed port"
        );
        assert!(
            source("http://pictures.example.com/a.png", &r).is_err(),
            "https only"
        );
        assert!(source("https://169.254.169.254/latest", &r).is_err());
        assert!(source("https://u:p@pictures.example.com/a", &r).is_err());
        assert!(source("file:///etc/passwd", &r).is_err());
        let none = source("https://pictures.example.com/a", &rules(&[])).expect_err("no hosts");
        assert!(none.contains("only data: URIs"), "{none}");
        let mut http = rules(&["127.0.0.1"]);
        http.allow_http = true;
        assert!(matches!(
            source("http://127.0.0.1:9/a", &http),
            Ok(Source::Fetch(_))
        ));
    }

    #[test]
    fn the_hash_follows_the_content_and_the_body_is_one_file_part() {
        let a = Picture {
            bytes: PNG.to_vec(),
            content_type: "image/png",
        };
        let mut b = a.clone();
        assert_eq!(a.sha256(), b.sha256());
        b.bytes.push(0);
        assert_ne!(a.sha256(), b.sha256());
        assert_eq!(a.sha256().len(), 64);
        let (body, content_type) = a.multipart("BOUNDARY");
        assert_eq!(content_type, "multipart/form-data; boundary=BOUNDARY");
        let head = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"picture.png\"\r\nContent-Type: image/png\r\n\r\n";
        assert!(body.starts_with(head));
        assert!(body.ends_with(b"\r\n--BOUNDARY--\r\n"));
        assert_eq!(
            body.len(),
            head.len() + PNG.len() + b"\r\n--BOUNDARY--\r\n".len()
        );
        assert_eq!(format!("{a:?}"), "Picture(image/png, 16 bytes)");
    }
}
