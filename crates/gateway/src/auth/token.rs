//! Opaque bearer tokens and password hashes: minting, hashing, and matching against the
//! configured hashes.
//!
//! Why SHA-256 for tokens but Argon2id for passwords: a minted token is 256 bits from a CSPRNG,
//! so nobody can guess it or search for it from its hash; a slow, salted hash would add nothing
//! but CPU cost to every request (and a handy denial-of-service lever). A fast hash lets us keep
//! only hashes in the config and still check each request in microseconds. Basic passwords are
//! chosen by people and have little entropy, so a leaked hash could be brute-forced with a fast
//! hash; Argon2id makes every guess cost memory and time.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::PasswordHashString;
use argon2::password_hash::{PasswordHasher, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use thiserror::Error;

const HASH_PREFIX: &str = "sha256:";

/// A newly minted token: give `token` to the client once, put `hash` in the config.
pub struct MintedToken {
    pub token: String,
    pub hash: String,
}

impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("hash", &self.hash)
            .finish()
    }
}

/// A new bearer token: 32 random bytes as URL-safe base64 (no padding), with its hash.
pub fn mint() -> MintedToken {
    let mut bytes = [0u8; 32];
    // ThreadRng is a CSPRNG seeded and periodically reseeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    MintedToken { token, hash }
}

/// The configuration form of a token's hash: `sha256:<64 lowercase hex>`.
pub fn hash(token: &str) -> String {
    format!("{HASH_PREFIX}{}", hex(&Sha256::digest(token.as_bytes())))
}

/// Hashing a password failed (only on a broken random source or absurd input).
#[derive(Debug, Error)]
#[error("could not hash the password: {0}")]
pub struct HashPasswordError(String);

/// An Argon2id PHC string for a Basic password, with the crate's default (OWASP) cost.
pub fn hash_password(password: &str) -> Result<String, HashPasswordError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashPasswordError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashPasswordError(e.to_string()))
}

/// The bearer token of a configuration-less `serve`: the one minted at the first start,
/// known afterwards only by its hash.
#[derive(Debug)]
pub enum DefaultToken {
    /// Read from the hash file: the token was shown at the first start.
    Kept { hash: String },
    /// Minted now, its hash written to the file: show the token once.
    Minted(MintedToken),
}

impl DefaultToken {
    pub fn hash(&self) -> &str {
        match self {
            DefaultToken::Kept { hash } => hash,
            DefaultToken::Minted(minted) => &minted.hash,
        }
    }
}

/// Why the default token's file cannot be used.
#[derive(Debug, Error)]
pub enum DefaultTokenError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} does not hold a token hash (sha256:<64 hex digits>); delete it to mint a new token"
    )]
    Malformed { path: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// The token hash kept at `path`, or a new token whose hash is written there (readable by
/// the owner only), so that an identity provider keeps working across restarts of a
/// configuration-less `serve`. Only the hash is kept: the token is shown once, when minted.
pub fn kept_or_minted(path: &std::path::Path) -> Result<DefaultToken, DefaultTokenError> {
    let shown = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let hash = text.trim();
            if parse_hash(hash).is_none() {
                return Err(DefaultTokenError::Malformed { path: shown });
            }
            Ok(DefaultToken::Kept {
                hash: hash.to_owned(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let minted = mint();
            write_private(path, &format!("{}\n", minted.hash)).map_err(|source| {
                DefaultTokenError::Write {
                    path: shown,
                    source,
                }
            })?;
            Ok(DefaultToken::Minted(minted))
        }
        Err(source) => Err(DefaultTokenError::Read {
            path: shown,
            source,
        }),
    }
}

/// Creates `path` with `text`, readable and writable by the owner only.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

/// Parses `sha256:<64 hex>` (either case) into the digest; `None` when malformed.
pub(crate) fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let hex_digits = text.strip_prefix(HASH_PREFIX)?.as_bytes();
    if hex_digits.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex_digits.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(digest)
}

/// Parses an Argon2id PHC string; the error says what is wrong (never echoes the string).
pub(crate) fn parse_password_hash(text: &str) -> Result<PasswordHashString, &'static str> {
    let parsed = PasswordHashString::new(text).map_err(|_| "is not a PHC password hash string")?;
    if parsed.algorithm().as_str() != "argon2id" {
        return Err("is not an argon2id hash");
    }
    if parsed.salt().is_none() || parsed.hash().is_none() {
        return Err("lacks a salt or a hash value");
    }
    Ok(parsed)
}

/// The accepted token digests of one connector.
pub(crate) struct TokenHashes(Vec<[u8; 32]>);

impl TokenHashes {
    pub(crate) fn new(digests: Vec<[u8; 32]>) -> TokenHashes {
        TokenHashes(digests)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The subject for a matching token (`sha256:` and the first 12 hex digits of its hash),
    /// or `None`. Every configured hash is compared, in constant time, without early exit, so
    /// the timing says neither whether nor where a match was found.
    pub(crate) fn verify(&self, token: &str) -> Option<String> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = Choice::from(0);
        for candidate in &self.0 {
            found |= candidate.ct_eq(&digest);
        }
        bool::from(found).then(|| format!("{HASH_PREFIX}{}", &hex(&digest)[..12]))
    }
}

impl fmt::Debug for TokenHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHashes({} configured)", self.0.len())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_token_is_minted_once_and_kept_as_a_hash() {
        let dir = std::env::temp_dir().join(format!("scim-bridge-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("scim-bridge.db.token-hash");
        let _ = std::fs::remove_file(&path);
        let DefaultToken::Minted(minted) = kept_or_minted(&path).expect("minted") else {
            panic!("a first start mints")
        };
        let kept = kept_or_minted(&path).expect("kept");
        assert!(matches!(kept, DefaultToken::Kept { .. }), "{kept:?}");
        assert_eq!(kept.hash(), hash(&minted.token));
        let text = std::fs::read_to_string(&path).expect("file");
        assert!(!text.contains(&minted.token), "only the hash is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by the owner only: {mode:o}");
        }
        std::fs::write(&path, "not a hash").expect("write");
        assert!(matches!(
            kept_or_minted(&path),
            Err(DefaultTokenError::Malformed { .. })
        ));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn minted_token_round_trip() {
        let minted = mint();
        assert_eq!(minted.token.len(), 43, "32 bytes in unpadded base64");
        assert!(
            minted
                .token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(minted.hash, hash(&minted.token));
        let digest = parse_hash(&minted.hash).expect("minted hash parses");
        let hashes = TokenHashes::new(vec![digest]);
        let subject = hashes
            .verify(&minted.token)
            .expect("the token matches its hash");
        assert!(minted.hash.starts_with(&subject));
        assert_eq!(subject.len(), "sha256:".len() + 12);
        assert_eq!(hashes.verify(&mint().token), None);
        assert_ne!(mint().token, minted.token);
    }

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc"), FIPS 180-2 test vector.
        assert_eq!(
            hash("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_hash_accepts_only_the_config_form() {
        let good = hash("x");
        assert!(parse_hash(&good).is_some());
        assert_eq!(
            parse_hash(&good.to_uppercase().replace("SHA256", "sha256")),
            parse_hash(&good)
        );
        assert!(parse_hash(&good[7..]).is_none(), "prefix required");
        assert!(parse_hash(&good[..good.len() - 1]).is_none(), "63 digits");
        assert!(parse_hash(&format!("{good}0")).is_none(), "65 digits");
        assert!(parse_hash(&format!("sha256:{}", "g".repeat(64))).is_none());
        assert!(parse_hash("sha512:00").is_none());
        assert!(
            parse_hash("sha256:ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé")
                .is_none()
        );
    }

    #[test]
    fn every_configured_hash_is_considered() {
        let tokens = ["one", "two", "three"];
        let hashes = TokenHashes::new(tokens.iter().filter_map(|t| parse_hash(&hash(t))).collect());
        for token in tokens {
            assert!(hashes.verify(token).is_some(), "{token}");
        }
        assert!(hashes.verify("four").is_none());
        assert!(hashes.verify("").is_none());
    }

    #[test]
    fn hash_password_makes_verifiable_argon2id() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$"));
        let parsed = parse_password_hash(&phc).expect("parses");
        let argon = Argon2::default();
        assert!(
            argon
                .verify_password(b"correct horse", &parsed.password_hash())
                .is_ok()
        );
        assert!(
            argon
                .verify_password(b"wrong", &parsed.password_hash())
                .is_err()
        );
        assert_ne!(hash_password("correct horse").expect("hash"), phc, "salted");
    }

    #[test]
    fn parse_password_hash_refuses_other_algorithms() {
        assert!(parse_password_hash("plaintext").is_err());
        assert_eq!(
            parse_password_hash("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$K1RrZzBnTdKgFbDyfq6S2g")
                .err(),
            Some("is not an argon2id hash")
        );
    }

    #[test]
    fn debug_redacts_the_token() {
        let minted = mint();
        let shown = format!("{minted:?}");
        assert!(!shown.contains(&minted.token));
        assert!(shown.contains("<redacted>"));
    }
}
