//! The users of each Workspace 365 environment, keyed by e-mail address.

use std::collections::{BTreeMap, HashMap};

use super::body::{UserBody, ValidationResult, is_valid_email};

/// A provisioned user as the simulator stores it (the password too, so tests can check it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedUser {
    /// The integer id W1 returned.
    pub id: u64,
    pub email_address: String,
    pub first_name: String,
    pub last_name: String,
    pub is_administrator: bool,
    pub password: String,
    pub create_in_office365: bool,
    pub active: bool,
}

/// Why an operation on an existing user failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum UserError {
    /// Unknown environment or user: 404.
    NotFound,
    /// 400 with these results.
    Invalid(Vec<ValidationResult>),
}

const DUPLICATE: &str = "A user with this email address already exists.";
const LICENCE_LIMIT: &str =
    "The maximum number of active users for this environment has been reached.";

#[derive(Debug, Default)]
struct Environment {
    users: BTreeMap<u64, ProvisionedUser>,
    /// Case-folded e-mail address → id (docs/connectors/workspace365.md "Quirks" [O]: lookups are case-insensitive).
    by_email: HashMap<String, u64>,
}

impl Environment {
    fn find(&self, email: &str) -> Option<u64> {
        self.by_email.get(&fold(email)).copied()
    }

    fn active_count(&self) -> usize {
        self.users.values().filter(|u| u.active).count()
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Case-folded environment name → its users.
    environments: HashMap<String, Environment>,
    /// Last id handed out; one sequence for the whole instance, never reused.
    last_id: u64,
    /// docs/connectors/workspace365.md "Quirks" [O]: at most this many active users per environment (400 on W1/W5).
    licence_limit: Option<usize>,
}

impl State {
    pub(crate) fn new(environments: &[String], licence_limit: Option<usize>) -> Self {
        Self {
            environments: environments
                .iter()
                .map(|e| (fold(e), Environment::default()))
                .collect(),
            last_id: 0,
            licence_limit,
        }
    }

    pub(crate) fn has_environment(&self, env: &str) -> bool {
        self.environments.contains_key(&fold(env))
    }

    pub(crate) fn add_environment(&mut self, env: &str) {
        self.environments.entry(fold(env)).or_default();
    }

    fn env(&self, env: &str) -> Result<&Environment, UserError> {
        self.environments.get(&fold(env)).ok_or(UserError::NotFound)
    }

    fn env_mut(&mut self, env: &str) -> Result<&mut Environment, UserError> {
        self.environments
            .get_mut(&fold(env))
            .ok_or(UserError::NotFound)
    }

    pub(crate) fn users(&self, env: &str) -> Vec<ProvisionedUser> {
        self.env(env)
            .map(|e| e.users.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn user(&self, env: &str, email: &str) -> Option<ProvisionedUser> {
        let env = self.env(env).ok()?;
        env.find(email).and_then(|id| env.users.get(&id)).cloned()
    }

    /// W2 (and the first half of W1): the results a create would fail with.
    pub(crate) fn validate_create(&self, env: &str, body: &UserBody) -> Result<(), UserError> {
        let env = self.env(env)?;
        let mut errors = field_errors(body);
        if body.password.as_deref().is_none_or(str::is_empty) {
            errors.push(ValidationResult::required("Password"));
        }
        if let Some(email) = body.email_address.as_deref()
            && env.find(email).is_some()
        {
            errors.push(ValidationResult::member("EmailAddress", DUPLICATE));
        }
        if errors.is_empty()
            && self
                .licence_limit
                .is_some_and(|max| env.active_count() >= max)
        {
            errors.push(licence_error());
        }
        into_result(errors)
    }

    /// W1: creates an active user and returns its new id.
    pub(crate) fn create(&mut self, env: &str, body: &UserBody) -> Result<u64, UserError> {
        self.validate_create(env, body)?;
        self.last_id += 1;
        let id = self.last_id;
        let user = ProvisionedUser {
            id,
            email_address: body.email_address.clone().unwrap_or_default(),
            first_name: body.first_name.clone().unwrap_or_default(),
            last_name: body.last_name.clone().unwrap_or_default(),
            is_administrator: body.is_administrator.unwrap_or(false),
            password: body.password.clone().unwrap_or_default(),
            create_in_office365: body.create_in_office365.unwrap_or(false),
            active: true,
        };
        let env = self.env_mut(env)?;
        env.by_email.insert(fold(&user.email_address), id);
        env.users.insert(id, user);
        Ok(id)
    }

    /// W4 (and the first half of W3): `email` is the path key, the body may rename.
    pub(crate) fn validate_update(
        &self,
        env: &str,
        email: &str,
        body: &UserBody,
    ) -> Result<u64, UserError> {
        let env = self.env(env)?;
        let id = env.find(email).ok_or(UserError::NotFound)?;
        let mut errors = field_errors(body);
        // docs/connectors/workspace365.md "Quirks" [O]: an absent or null Password means "unchanged"; "" is invalid.
        if body.password.as_deref() == Some("") {
            errors.push(ValidationResult::required("Password"));
        }
        if let Some(new_email) = body.email_address.as_deref()
            && env.find(new_email).is_some_and(|other| other != id)
        {
            errors.push(ValidationResult::member("EmailAddress", DUPLICATE));
        }
        into_result(errors).map(|()| id)
    }

    /// W3. `CreateInOffice365` is not part of the update body and is ignored.
    pub(crate) fn update(
        &mut self,
        env: &str,
        email: &str,
        body: &UserBody,
    ) -> Result<(), UserError> {
        let id = self.validate_update(env, email, body)?;
        let env = self.env_mut(env)?;
        let Some(user) = env.users.get_mut(&id) else {
            return Err(UserError::NotFound);
        };
        let old_key = fold(&user.email_address);
        user.email_address = body.email_address.clone().unwrap_or_default();
        user.first_name = body.first_name.clone().unwrap_or_default();
        user.last_name = body.last_name.clone().unwrap_or_default();
        // The .NET binder gives an absent bool its default, false.
        user.is_administrator = body.is_administrator.unwrap_or(false);
        if let Some(password) = &body.password {
            user.password = password.clone();
        }
        let new_key = fold(&user.email_address);
        env.by_email.remove(&old_key);
        env.by_email.insert(new_key, id);
        Ok(())
    }

    /// W5/W6: idempotent (docs/connectors/workspace365.md "Quirks" [O]); activation may hit the licence limit (400).
    pub(crate) fn set_active(
        &mut self,
        env: &str,
        email: &str,
        active: bool,
    ) -> Result<(), UserError> {
        let limit = self.licence_limit;
        let env = self.env_mut(env)?;
        let id = env.find(email).ok_or(UserError::NotFound)?;
        let over_limit = limit.is_some_and(|max| env.active_count() >= max);
        let Some(user) = env.users.get_mut(&id) else {
            return Err(UserError::NotFound);
        };
        if active && !user.active && over_limit {
            return Err(UserError::Invalid(vec![licence_error()]));
        }
        user.active = active;
        Ok(())
    }

    /// W7: 404 for an unknown user.
    pub(crate) fn delete(&mut self, env: &str, email: &str) -> Result<(), UserError> {
        let env = self.env_mut(env)?;
        let id = env
            .by_email
            .remove(&fold(email))
            .ok_or(UserError::NotFound)?;
        env.users.remove(&id);
        Ok(())
    }
}

/// docs/connectors/workspace365.md "Quirks" [O]: EmailAddress required and valid, FirstName and LastName non-empty.
fn field_errors(body: &UserBody) -> Vec<ValidationResult> {
    let mut errors = Vec::new();
    match body.email_address.as_deref() {
        None | Some("") => errors.push(ValidationResult::required("EmailAddress")),
        Some(email) if !is_valid_email(email) => errors.push(ValidationResult::member(
            "EmailAddress",
            "The EmailAddress field is not a valid e-mail address.",
        )),
        Some(_) => {}
    }
    for (name, value) in [
        ("FirstName", &body.first_name),
        ("LastName", &body.last_name),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            errors.push(ValidationResult::required(name));
        }
    }
    errors
}

fn licence_error() -> ValidationResult {
    ValidationResult {
        member_names: Vec::new(),
        error_message: LICENCE_LIMIT.to_owned(),
    }
}

fn into_result(errors: Vec<ValidationResult>) -> Result<(), UserError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(UserError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(email: &str) -> UserBody {
        UserBody {
            email_address: Some(email.into()),
            first_name: Some("User".into()),
            last_name: Some("One".into()),
            password: Some("qwerty".into()),
            ..UserBody::default()
        }
    }

    #[test]
    fn rename_moves_the_key_and_ids_are_not_reused() {
        let mut s = State::new(&["example".into()], None);
        assert_eq!(s.create("example", &body("a@x.nl")), Ok(1));
        assert_eq!(s.create("Example", &body("b@x.nl")), Ok(2));
        assert!(matches!(
            s.update("example", "b@x.nl", &body("A@x.nl")),
            Err(UserError::Invalid(_))
        ));
        assert_eq!(s.update("example", "A@X.NL", &body("c@x.nl")), Ok(()));
        assert!(s.user("example", "a@x.nl").is_none());
        assert_eq!(s.user("example", "C@x.nl").map(|u| u.id), Some(1));
        assert_eq!(s.delete("example", "c@x.nl"), Ok(()));
        assert_eq!(s.create("example", &body("a@x.nl")), Ok(3));
        assert_eq!(s.delete("nowhere", "a@x.nl"), Err(UserError::NotFound));
    }
}
