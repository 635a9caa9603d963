//! The records the service holds (users, auth servers, API accounts, objects), the per-user
//! Status codes, and their wire form.

use time::OffsetDateTime;

use super::soap::{Element, Node};

/// A TimeEdit user, keyed by (`loginname`, `authserver`) (docs/connectors/timeedit.md "The User record").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub loginname: String,
    pub authserver: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub phone: String,
    pub changepassword: bool,
    pub language: String,
    pub dateformat: String,
    pub timezone: String,
    pub dst: String,
    /// The only "active" flag.
    pub allowlogin: bool,
    pub defaultobjects: String,
    pub standardorganization: String,
    /// `<org>=<role>` strings.
    pub orgroles: Vec<String>,
    pub permissions: Vec<String>,
    pub organizations: Vec<String>,
    pub description: String,
}

impl Default for User {
    fn default() -> Self {
        Self {
            loginname: String::new(),
            authserver: String::new(),
            firstname: String::new(),
            lastname: String::new(),
            email: String::new(),
            phone: String::new(),
            changepassword: false,
            language: String::new(),
            dateformat: String::new(),
            timezone: String::new(),
            dst: String::new(),
            // docs/connectors/timeedit.md "Wire format" [O]: an empty or absent element sets the default; a new user may
            // log in unless told otherwise.
            allowlogin: true,
            defaultobjects: String::new(),
            standardorganization: String::new(),
            orgroles: Vec::new(),
            permissions: Vec::new(),
            organizations: Vec::new(),
            description: String::new(),
        }
    }
}

impl User {
    /// A user with just its key set (the rest default).
    pub fn new(loginname: impl Into<String>, authserver: impl Into<String>) -> Self {
        Self {
            loginname: loginname.into(),
            authserver: authserver.into(),
            ..Self::default()
        }
    }

    /// The store key.
    pub fn key(&self) -> UserKey {
        (self.loginname.clone(), self.authserver.clone())
    }

    /// The `<user>` element. getUsers and findUsers answer the scalar fields; exportUsers
    /// (`complete`) adds `defaultobjects` and the lists, so its answer can be re-imported as
    /// is (docs/connectors/timeedit.md "Vendor calls" [O]: exportUsers is the complete representation).
    pub fn to_node(&self, complete: bool) -> Node {
        let bool_text = |b: bool| if b { "true" } else { "false" };
        let mut fields = vec![
            Node::text("loginname", self.loginname.as_str()),
            Node::text("authserver", self.authserver.as_str()),
            Node::text("firstname", self.firstname.as_str()),
            Node::text("lastname", self.lastname.as_str()),
            Node::text("email", self.email.as_str()),
            Node::text("phone", self.phone.as_str()),
            Node::text("changepassword", bool_text(self.changepassword)),
            Node::text("language", self.language.as_str()),
            Node::text("dateformat", self.dateformat.as_str()),
            Node::text("timezone", self.timezone.as_str()),
            Node::text("dst", self.dst.as_str()),
            Node::text("allowlogin", bool_text(self.allowlogin)),
        ];
        if complete {
            fields.push(Node::text("defaultobjects", self.defaultobjects.as_str()));
        }
        fields.push(Node::text(
            "standardorganization",
            self.standardorganization.as_str(),
        ));
        if complete {
            fields.push(Node::list("orgroles", "orgrole", &self.orgroles));
            fields.push(Node::list("permissions", "permission", &self.permissions));
            fields.push(Node::list(
                "organizations",
                "organization",
                &self.organizations,
            ));
        }
        fields.push(Node::text("description", self.description.as_str()));
        Node::parent("user", fields)
    }
}

/// (`loginname`, `authserver`).
pub type UserKey = (String, String);

/// A `<user>` element as received: `None` where the element was absent, which importUsers
/// reads as "leave unchanged" (docs/connectors/timeedit.md "Wire format"). Booleans are kept raw and checked on use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInput {
    pub loginname: Option<String>,
    pub authserver: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub changepassword: Option<String>,
    pub language: Option<String>,
    pub dateformat: Option<String>,
    pub timezone: Option<String>,
    pub dst: Option<String>,
    pub allowlogin: Option<String>,
    pub defaultobjects: Option<String>,
    pub standardorganization: Option<String>,
    pub orgroles: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    pub organizations: Option<Vec<String>>,
    pub description: Option<String>,
}

impl UserInput {
    /// Reads a `<user>` element; unknown children are ignored.
    pub fn from_element(user: &Element) -> Self {
        let text = |name: &str| user.child_text(name).map(str::to_owned);
        let list = |name: &str, item: &str| {
            user.child(name)
                .map(|l| l.children_named(item).map(|i| i.text.clone()).collect())
        };
        Self {
            loginname: text("loginname"),
            authserver: text("authserver"),
            firstname: text("firstname"),
            lastname: text("lastname"),
            email: text("email"),
            phone: text("phone"),
            changepassword: text("changepassword"),
            language: text("language"),
            dateformat: text("dateformat"),
            timezone: text("timezone"),
            dst: text("dst"),
            allowlogin: text("allowlogin"),
            defaultobjects: text("defaultobjects"),
            standardorganization: text("standardorganization"),
            orgroles: list("orgroles", "orgrole"),
            permissions: list("permissions", "permission"),
            organizations: list("organizations", "organization"),
            description: text("description"),
        }
    }

    /// The key as sent (empty where absent).
    pub fn key(&self) -> UserKey {
        (
            self.loginname.clone().unwrap_or_default(),
            self.authserver.clone().unwrap_or_default(),
        )
    }

    /// `base` with every present element applied. Errors name a malformed boolean.
    pub fn apply_to(&self, base: &User) -> Result<User, String> {
        let mut user = base.clone();
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                field.clone_from(v);
            }
        };
        set(&mut user.loginname, &self.loginname);
        set(&mut user.authserver, &self.authserver);
        set(&mut user.firstname, &self.firstname);
        set(&mut user.lastname, &self.lastname);
        set(&mut user.email, &self.email);
        set(&mut user.phone, &self.phone);
        set(&mut user.language, &self.language);
        set(&mut user.dateformat, &self.dateformat);
        set(&mut user.timezone, &self.timezone);
        set(&mut user.dst, &self.dst);
        set(&mut user.defaultobjects, &self.defaultobjects);
        set(&mut user.standardorganization, &self.standardorganization);
        set(&mut user.description, &self.description);
        let defaults = User::default();
        if let Some(raw) = &self.changepassword {
            user.changepassword = parse_bool(raw, defaults.changepassword)
                .ok_or_else(|| format!("changepassword is not a boolean: {raw:?}"))?;
        }
        if let Some(raw) = &self.allowlogin {
            user.allowlogin = parse_bool(raw, defaults.allowlogin)
                .ok_or_else(|| format!("allowlogin is not a boolean: {raw:?}"))?;
        }
        for (field, value) in [
            (&mut user.orgroles, &self.orgroles),
            (&mut user.permissions, &self.permissions),
            (&mut user.organizations, &self.organizations),
        ] {
            if let Some(v) = value {
                field.clone_from(v);
            }
        }
        Ok(user)
    }
}

/// An `xsd:boolean` (`true`/`false`/`1`/`0`, case-insensitive, surrounding blanks ignored);
/// empty means `default`. `None` when malformed.
pub fn parse_bool(raw: &str, default: bool) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Some(default),
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Per-user result codes. Only `0 = success` is vendor fact; the rest are, as docs/connectors/timeedit.md "Wire format" says, the
/// simulator-defined codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 0: done (valid, imported, deleted).
    Ok = 0,
    /// 1: a required field is missing or empty, a boolean is malformed, or the auth server
    /// is unknown.
    InvalidField = 1,
    /// 2: no user with this key.
    NotFound = 2,
    /// 3: the user already exists (validateUsers only: it validates *new* users).
    AlreadyExists = 3,
    /// 4: unknown organization, orgrole or permission.
    UnknownReference = 4,
    /// 5: not deletable, so inactivated (`allowlogin=false`) because `inactivate=true`.
    Inactivated = 5,
    /// 6: not deletable, and `inactivate=false`.
    NotDeletable = 6,
}

impl StatusCode {
    /// The wire value.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// One per-user result: `<status><loginname/><authserver/><code/><message/></status>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    pub loginname: String,
    pub authserver: String,
    pub code: StatusCode,
    pub message: String,
}

impl UserStatus {
    pub fn new(key: UserKey, code: StatusCode, message: impl Into<String>) -> Self {
        Self {
            loginname: key.0,
            authserver: key.1,
            code,
            message: message.into(),
        }
    }

    pub fn to_node(&self) -> Node {
        Node::parent(
            "status",
            vec![
                Node::text("loginname", self.loginname.as_str()),
                Node::text("authserver", self.authserver.as_str()),
                Node::text("code", self.code.code().to_string()),
                Node::text("message", self.message.as_str()),
            ],
        )
    }
}

/// An authentication server (schema undocumented; docs/connectors/timeedit.md "Vendor calls" [O]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthServer {
    /// What users' `authserver` refers to, e.g. `timeedit`.
    pub signature: String,
    pub name: String,
    pub active: bool,
}

impl AuthServer {
    pub fn new(signature: impl Into<String>, name: impl Into<String>, active: bool) -> Self {
        Self {
            signature: signature.into(),
            name: name.into(),
            active,
        }
    }

    pub fn to_node(&self) -> Node {
        Node::parent(
            "authserver",
            vec![
                Node::text("signature", self.signature.as_str()),
                Node::text("name", self.name.as_str()),
                Node::text("active", if self.active { "true" } else { "false" }),
            ],
        )
    }
}

/// An API account: the `username`/`password` of the Login object, with the permissions
/// getPermissions reports and the objects getCurrentUserObjects reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    pub password: String,
    pub permissions: Vec<String>,
    pub objects: Vec<UserObject>,
}

impl Account {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            permissions: Vec::new(),
            objects: Vec::new(),
        }
    }
}

/// An object linked to an API account (`<object><extid/><name/></object>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserObject {
    /// e.g. `room`.
    pub object_type: String,
    pub extid: String,
    pub name: String,
}

impl UserObject {
    pub fn new(
        object_type: impl Into<String>,
        extid: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            object_type: object_type.into(),
            extid: extid.into(),
            name: name.into(),
        }
    }
}

/// A certificate `register` accepts, optionally expiring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub key: String,
    /// Reported in ApplicationKeyInfo; after it, `register` refuses the certificate.
    pub expires: Option<OffsetDateTime>,
}

impl Certificate {
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            expires: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeedit::soap::parse_document;

    #[test]
    fn absent_elements_keep_values_and_empty_ones_reset_them() {
        let base = User {
            phone: "1".into(),
            email: "a@b".into(),
            allowlogin: false,
            orgroles: vec!["x=y".into()],
            ..User::new("anders", "timeedit")
        };
        let el = parse_document(
            "<user><loginname>anders</loginname><phone/><allowlogin/><orgroles/></user>",
        )
        .expect("xml");
        let input = UserInput::from_element(&el);
        let user = input.apply_to(&base).expect("valid");
        assert_eq!(user.email, "a@b");
        assert_eq!(user.phone, "");
        assert!(user.allowlogin);
        assert!(user.orgroles.is_empty());
    }

    #[test]
    fn booleans_follow_xsd() {
        assert_eq!(parse_bool(" TRUE ", false), Some(true));
        assert_eq!(parse_bool("0", true), Some(false));
        assert_eq!(parse_bool("", true), Some(true));
        assert_eq!(parse_bool("yes", true), None);
        let input = UserInput {
            allowlogin: Some("maybe".into()),
            ..UserInput::default()
        };
        assert!(input.apply_to(&User::default()).is_err());
    }
}
