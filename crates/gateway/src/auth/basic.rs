//! HTTP Basic (RFC 7617) against Argon2id password hashes.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::PasswordHashString;
use argon2::password_hash::PasswordVerifier;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::error::AuthError;

/// One configured user; the username is also kept as a digest so that every comparison takes
/// the same time whatever the presented name's length.
struct User {
    username: String,
    username_digest: [u8; 32],
    password_hash: PasswordHashString,
}

/// The Basic users of one connector (never empty: without users Basic is refused earlier).
pub(crate) struct BasicUsers(Vec<User>);

impl BasicUsers {
    pub(crate) fn new(users: Vec<(String, PasswordHashString)>) -> BasicUsers {
        BasicUsers(
            users
                .into_iter()
                .map(|(username, password_hash)| User {
                    username_digest: Sha256::digest(username.as_bytes()).into(),
                    username,
                    password_hash,
                })
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks a Basic username and password ([`decode`] gives them); the username on success.
    ///
    /// CPU-heavy by design (Argon2id): call it off the async executor.
    pub(crate) fn verify(&self, username: &str, password: &str) -> Result<String, AuthError> {
        // Find the user without early exit and without a length-dependent comparison.
        let digest: [u8; 32] = Sha256::digest(username.as_bytes()).into();
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (i, user) in (0u64..).zip(&self.0) {
            let same = user.username_digest.ct_eq(&digest);
            index.conditional_assign(&i, same);
            found |= same;
        }
        // An unknown user still costs one Argon2 verification (against the first user's hash,
        // whose result is ignored), so timing does not reveal which usernames exist.
        let user = usize::try_from(index)
            .ok()
            .and_then(|i| self.0.get(i))
            .ok_or(AuthError::BadCredentials)?;
        let password_ok = Argon2::default()
            .verify_password(password.as_bytes(), &user.password_hash.password_hash())
            .is_ok();
        if bool::from(found) && password_ok {
            Ok(user.username.clone())
        } else {
            Err(AuthError::BadCredentials)
        }
    }
}

/// The username and password of the base64 `user:password` of a Basic header.
pub(crate) fn decode(encoded: &str) -> Result<(String, String), AuthError> {
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::MalformedBasic)?;
    let decoded = String::from_utf8(decoded).map_err(|_| AuthError::MalformedBasic)?;
    let (username, password) = decoded.split_once(':').ok_or(AuthError::MalformedBasic)?;
    Ok((username.to_owned(), password.to_owned()))
}

impl fmt::Debug for BasicUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|user| &user.username))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::cheap_password_hash;
    use crate::auth::token::parse_password_hash;

    fn users() -> BasicUsers {
        let entry = |name: &str, password: &str| {
            let phc = cheap_password_hash(password);
            (
                name.to_owned(),
                parse_password_hash(&phc).expect("valid hash"),
            )
        };
        BasicUsers::new(vec![
            entry("okta", "s3cret-one"),
            entry("entra", "s3cret-two"),
        ])
    }

    fn basic(user_pass: &str) -> String {
        STANDARD.encode(user_pass)
    }

    /// What a request's `Basic` credentials meet.
    fn check(users: &BasicUsers, encoded: &str) -> Result<String, AuthError> {
        let (username, password) = decode(encoded)?;
        users.verify(&username, &password)
    }

    #[test]
    fn good_credentials_give_the_username() {
        let users = users();
        assert_eq!(
            check(&users, &basic("okta:s3cret-one")),
            Ok("okta".to_owned())
        );
        assert_eq!(
            check(&users, &basic("entra:s3cret-two")),
            Ok("entra".to_owned())
        );
    }

    #[test]
    fn a_password_with_colons_is_kept_whole() {
        let phc = cheap_password_hash("a:b:c");
        let users = BasicUsers::new(vec![(
            "u".to_owned(),
            parse_password_hash(&phc).expect("hash"),
        )]);
        assert_eq!(check(&users, &basic("u:a:b:c")), Ok("u".to_owned()));
    }

    #[test]
    fn bad_credentials_are_refused_alike() {
        let users = users();
        for attempt in [
            "okta:s3cret-two",   // another user's password
            "okta:",             // empty password
            "nobody:s3cret-one", // unknown user
            "Okta:s3cret-one",   // usernames are case-sensitive
            ":s3cret-one",
        ] {
            assert_eq!(
                check(&users, &basic(attempt)),
                Err(AuthError::BadCredentials),
                "{attempt}"
            );
        }
    }

    #[test]
    fn malformed_basic_payloads() {
        let users = users();
        assert_eq!(check(&users, "%%%"), Err(AuthError::MalformedBasic));
        assert_eq!(
            check(&users, &basic("no-colon")),
            Err(AuthError::MalformedBasic)
        );
        assert_eq!(
            check(&users, &STANDARD.encode([0xff, b':', b'x'])),
            Err(AuthError::MalformedBasic)
        );
    }

    #[test]
    fn debug_shows_usernames_only() {
        let shown = format!("{:?}", users());
        assert_eq!(shown, r#"["okta", "entra"]"#);
    }
}
