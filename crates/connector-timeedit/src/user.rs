//! TimeEdit's records as typed values (docs/connectors/timeedit.md "Vendor calls"): the User element, its key, the
//! per-user Status, AuthServer, and the findUsers criteria; with their wire form.

use crate::soap::{BodyWriter, Element, SoapError, parse_bool, parse_int};

/// A user's key: (`loginname`, `authserver`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserKey {
    pub loginname: String,
    /// An auth server signature from getAuthServers, e.g. `timeedit`.
    pub authserver: String,
}

impl UserKey {
    pub fn new(loginname: impl Into<String>, authserver: impl Into<String>) -> Self {
        Self {
            loginname: loginname.into(),
            authserver: authserver.into(),
        }
    }

    /// `<user><loginname/><authserver/></user>`: how getUsers, exportUsers and deleteUsers
    /// name a user.
    pub(crate) fn write(&self, w: &mut BodyWriter) -> Result<(), SoapError> {
        w.element("user", |w| {
            w.text("loginname", &self.loginname)?;
            w.text("authserver", &self.authserver)
        })
    }
}

/// A TimeEdit user: every element of docs/connectors/timeedit.md "The User record". `None` is an *absent* element,
/// which importUsers reads as "leave unchanged"; `Some("")` / `Some(vec![])` is an *empty* one,
/// which clears the value (docs/connectors/timeedit.md "Wire format"). The key is always sent, so it is not optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeUser {
    pub loginname: String,
    pub authserver: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Force a password change at the next login.
    pub changepassword: Option<bool>,
    pub language: Option<String>,
    pub dateformat: Option<String>,
    pub timezone: Option<String>,
    pub dst: Option<String>,
    /// The only "active" flag.
    pub allowlogin: Option<bool>,
    /// Default objects (a GUID-like extid).
    pub defaultobjects: Option<String>,
    /// The primary organization, e.g. `timeedit;admin`.
    pub standardorganization: Option<String>,
    /// `<org>=<role>` strings.
    pub orgroles: Option<Vec<String>>,
    pub permissions: Option<Vec<String>>,
    /// Organization memberships (what SCIM Groups map to, docs/connectors/timeedit.md "SCIM mapping").
    pub organizations: Option<Vec<String>>,
    pub description: Option<String>,
}

impl TeUser {
    /// A user with just its key; every other element absent.
    pub fn new(loginname: impl Into<String>, authserver: impl Into<String>) -> Self {
        Self {
            loginname: loginname.into(),
            authserver: authserver.into(),
            ..Self::default()
        }
    }

    pub fn key(&self) -> UserKey {
        UserKey::new(&self.loginname, &self.authserver)
    }

    /// The `<user>` element in the order of docs/connectors/timeedit.md "The User record" (the seed's own order); absent
    /// values are left out, empty ones written as empty elements.
    pub(crate) fn write(&self, w: &mut BodyWriter) -> Result<(), SoapError> {
        fn text(w: &mut BodyWriter, name: &str, v: &Option<String>) -> Result<(), SoapError> {
            v.as_deref().map_or(Ok(()), |v| w.text(name, v))
        }
        fn boolean(w: &mut BodyWriter, name: &str, v: Option<bool>) -> Result<(), SoapError> {
            v.map_or(Ok(()), |v| w.boolean(name, v))
        }
        fn list(
            w: &mut BodyWriter,
            name: &str,
            item: &str,
            v: &Option<Vec<String>>,
        ) -> Result<(), SoapError> {
            v.as_deref().map_or(Ok(()), |v| w.list(name, item, v))
        }
        w.element("user", |w| {
            w.text("loginname", &self.loginname)?;
            w.text("authserver", &self.authserver)?;
            text(w, "firstname", &self.firstname)?;
            text(w, "lastname", &self.lastname)?;
            text(w, "email", &self.email)?;
            text(w, "phone", &self.phone)?;
            boolean(w, "changepassword", self.changepassword)?;
            text(w, "language", &self.language)?;
            text(w, "dateformat", &self.dateformat)?;
            text(w, "timezone", &self.timezone)?;
            text(w, "dst", &self.dst)?;
            boolean(w, "allowlogin", self.allowlogin)?;
            text(w, "defaultobjects", &self.defaultobjects)?;
            text(w, "standardorganization", &self.standardorganization)?;
            list(w, "orgroles", "orgrole", &self.orgroles)?;
            list(w, "permissions", "permission", &self.permissions)?;
            list(w, "organizations", "organization", &self.organizations)?;
            text(w, "description", &self.description)
        })
    }

    /// The `<user>` element as text, as a request carries it.
    pub(crate) fn to_xml(&self) -> Result<String, SoapError> {
        crate::soap::write_fragment(|w| self.write(w))
    }

    /// Reads a `<user>` element. Unknown children are ignored; an empty boolean reads as
    /// absent, a malformed one is an error (`allowlogin` must never be guessed).
    pub(crate) fn from_element(user: &Element) -> Result<Self, SoapError> {
        let text = |name: &str| user.child_text(name).map(str::to_owned);
        let boolean = |name: &str| match user.child_text(name) {
            Some(raw) => parse_bool(name, raw),
            None => Ok(None),
        };
        let list = |name: &str, item: &str| {
            user.child(name).map(|l| {
                l.children_named(item)
                    .map(|i| i.text.clone())
                    .collect::<Vec<_>>()
            })
        };
        Ok(Self {
            loginname: text("loginname").unwrap_or_default(),
            authserver: text("authserver").unwrap_or_default(),
            firstname: text("firstname"),
            lastname: text("lastname"),
            email: text("email"),
            phone: text("phone"),
            changepassword: boolean("changepassword")?,
            language: text("language"),
            dateformat: text("dateformat"),
            timezone: text("timezone"),
            dst: text("dst"),
            allowlogin: boolean("allowlogin")?,
            defaultobjects: text("defaultobjects"),
            standardorganization: text("standardorganization"),
            orgroles: list("orgroles", "orgrole"),
            permissions: list("permissions", "permission"),
            organizations: list("organizations", "organization"),
            description: text("description"),
        })
    }
}

/// The users of a `<tns:users>` answer.
pub(crate) fn users_of(response: &Element) -> Result<Vec<TeUser>, SoapError> {
    response
        .items("users", "user")
        .into_iter()
        .map(TeUser::from_element)
        .collect()
}

/// A per-user result code (docs/connectors/timeedit.md "Wire format"; only `0 = success` is vendor fact, the rest are
/// the codes the simulator defines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCode {
    /// 0: done (valid, imported, deleted).
    Ok,
    /// 1: a required field is missing or empty, a boolean is malformed, or the auth server is
    /// unknown.
    Invalid,
    /// 2: no user with this key.
    NotFound,
    /// 3: the user already exists (validateUsers only: it validates *new* users).
    Exists,
    /// 4: unknown organization, orgrole or permission.
    UnknownReference,
    /// 5: not deletable, so inactivated (`allowlogin=false`) as `inactivate=true` asked.
    Inactivated,
    /// 6: not deletable, and `inactivate=false`.
    NotDeletable,
    /// Any other code, as answered.
    Unknown(i32),
}

impl StatusCode {
    pub fn from_code(code: i32) -> Self {
        match code {
            0 => Self::Ok,
            1 => Self::Invalid,
            2 => Self::NotFound,
            3 => Self::Exists,
            4 => Self::UnknownReference,
            5 => Self::Inactivated,
            6 => Self::NotDeletable,
            other => Self::Unknown(other),
        }
    }

    /// The wire value.
    pub fn code(self) -> i32 {
        match self {
            Self::Ok => 0,
            Self::Invalid => 1,
            Self::NotFound => 2,
            Self::Exists => 3,
            Self::UnknownReference => 4,
            Self::Inactivated => 5,
            Self::NotDeletable => 6,
            Self::Unknown(code) => code,
        }
    }
}

/// The result for one user of validateUsers, importUsers or deleteUsers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatus {
    /// The user this result is for (the one sent at the same position).
    pub key: UserKey,
    pub code: StatusCode,
    /// The vendor's message; empty when it sent none.
    pub message: String,
}

/// The Status items of an answer, one per user sent, correlated by position and checked
/// against the `loginname` / `authserver` an item carries (docs/connectors/timeedit.md "Wire format").
pub(crate) fn statuses_of(
    response: &Element,
    sent: &[UserKey],
) -> Result<Vec<UserStatus>, SoapError> {
    let items = response.items("status", "status");
    if items.len() != sent.len() {
        return Err(SoapError::Shape(format!(
            "{} status items for {} users",
            items.len(),
            sent.len()
        )));
    }
    items
        .into_iter()
        .zip(sent)
        .map(|(item, key)| {
            // A bare integer (`<status>0</status>`) or a complex item with a `code` child.
            let (code, message) = if item.children.is_empty() {
                (item.text.as_str(), "")
            } else {
                let code = item
                    .child_text("code")
                    .ok_or_else(|| SoapError::Shape("a status item has no <code>".into()))?;
                (code, item.child_text("message").unwrap_or_default())
            };
            for (name, expected) in [
                ("loginname", &key.loginname),
                ("authserver", &key.authserver),
            ] {
                if let Some(answered) = item.child_text(name).filter(|a| !a.is_empty())
                    && answered.to_lowercase() != expected.to_lowercase()
                {
                    return Err(SoapError::Shape(format!(
                        "a status item names {name} {answered:?} where {expected:?} was sent"
                    )));
                }
            }
            Ok(UserStatus {
                key: key.clone(),
                code: StatusCode::from_code(parse_int("code", code)?),
                message: message.trim().to_owned(),
            })
        })
        .collect()
}

/// An authentication server (schema undocumented, docs/connectors/timeedit.md "Vendor calls" [O]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthServer {
    /// What a user's `authserver` refers to, e.g. `timeedit`.
    pub signature: String,
    pub name: String,
    /// `None` when the vendor did not say.
    pub active: Option<bool>,
}

impl AuthServer {
    pub(crate) fn from_element(server: &Element) -> Result<Self, SoapError> {
        Ok(Self {
            signature: server
                .child_text("signature")
                .unwrap_or_default()
                .to_owned(),
            name: server.child_text("name").unwrap_or_default().to_owned(),
            active: match server.child_text("active") {
                Some(raw) => parse_bool("active", raw)?,
                None => None,
            },
        })
    }
}

/// docs/connectors/timeedit.md "The vendor API": findUsers answers at most this many users per call.
pub const MAX_USERS_PER_FIND: u32 = 1000;

/// findUsers criteria (docs/connectors/timeedit.md "Wire format"): the search strings are case-insensitive *contains*
/// matches, AND-combined; an empty one is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindUsers {
    pub loginname: String,
    /// An auth server signature; empty for all.
    pub authserver: String,
    /// Searches first and last name.
    pub name: String,
    pub email: String,
    /// Only users with `allowlogin=true`.
    pub allowed_to_login_only: bool,
    /// One of getUserSortOrders; empty for the default.
    pub sort_order: String,
    /// 0-based index of the first user to return.
    pub begin_index: u32,
    /// At most [`MAX_USERS_PER_FIND`]; more is sent as the cap.
    pub number_of_users: u32,
}

impl FindUsers {
    /// The findUsers parameters after `login`, in the seed example's order. Every criterion
    /// is sent, empty meaning "no filter", as the seed example does.
    pub(crate) fn write(&self, w: &mut BodyWriter) -> Result<(), SoapError> {
        w.text("tns:loginname", &self.loginname)?;
        w.text("tns:authserver", &self.authserver)?;
        w.text("tns:name", &self.name)?;
        w.text("tns:email", &self.email)?;
        w.boolean("tns:usersallowedtologinonly", self.allowed_to_login_only)?;
        w.text("tns:sortorder", &self.sort_order)?;
        w.text("tns:beginindex", &self.begin_index.to_string())?;
        let count = self.number_of_users.min(MAX_USERS_PER_FIND);
        w.text("tns:numberofusers", &count.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::{parse_document, write_request};

    fn written(user: &TeUser) -> String {
        let bytes = write_request("urn:t", "importUsers", |w| {
            w.element("tns:users", |w| user.write(w))
        })
        .expect("write");
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn absent_elements_are_left_out_and_empty_ones_written_empty() {
        let user = TeUser {
            phone: Some(String::new()),
            allowlogin: Some(false),
            orgroles: Some(vec![]),
            permissions: Some(vec!["client".into(), "periods".into()]),
            ..TeUser::new("anders", "timeedit")
        };
        let xml = written(&user);
        assert!(
            xml.contains(
                "<tns:users><user><loginname>anders</loginname><authserver>timeedit</authserver>\
                 <phone/><allowlogin>false</allowlogin><orgroles></orgroles>\
                 <permissions><permission>client</permission><permission>periods</permission></permissions>\
                 </user></tns:users>"
            ),
            "{xml}"
        );
        // And it reads back the same, absent still absent.
        let root = parse_document(&xml).expect("xml");
        let users = root
            .child("Body")
            .and_then(|b| b.child("importUsers"))
            .map(users_of)
            .expect("operation")
            .expect("users");
        assert_eq!(users, [user]);
    }

    #[test]
    fn a_user_reads_in_any_case_and_a_malformed_flag_is_an_error() {
        let el = parse_document(
            "<User><LoginName>a</LoginName><AUTHSERVER>t</AUTHSERVER><AllowLogin>1</AllowLogin>\
             <changepassword/><Organizations><Organization>x</Organization></Organizations><extra/></User>",
        )
        .expect("xml");
        let user = TeUser::from_element(&el).expect("user");
        assert_eq!(user.key(), UserKey::new("a", "t"));
        assert_eq!(user.allowlogin, Some(true));
        assert_eq!(user.changepassword, None);
        assert_eq!(user.organizations, Some(vec!["x".to_owned()]));
        assert_eq!(user.orgroles, None);
        let bad = parse_document("<user><allowlogin>maybe</allowlogin></user>").expect("xml");
        assert!(TeUser::from_element(&bad).is_err());
    }

    #[test]
    fn statuses_read_bare_or_complex_and_are_checked_against_what_was_sent() {
        let sent = [
            UserKey::new("anders", "timeedit"),
            UserKey::new("kalle", "timeedit"),
            UserKey::new("x", "timeedit"),
        ];
        let response = parse_document(
            "<r><tns:status xmlns:tns='u'><status><loginname>Anders</loginname><code>3</code>\
             <message>user already exists</message></status><status> 0 </status>\
             <Status><Code>42</Code></Status></tns:status></r>",
        )
        .expect("xml");
        let statuses = statuses_of(&response, &sent).expect("statuses");
        assert_eq!(
            statuses,
            [
                UserStatus {
                    key: sent[0].clone(),
                    code: StatusCode::Exists,
                    message: "user already exists".into()
                },
                UserStatus {
                    key: sent[1].clone(),
                    code: StatusCode::Ok,
                    message: String::new()
                },
                UserStatus {
                    key: sent[2].clone(),
                    code: StatusCode::Unknown(42),
                    message: String::new()
                },
            ]
        );

        let too_few = parse_document("<r><status><status>0</status></status></r>").expect("xml");
        assert!(statuses_of(&too_few, &sent).is_err());
        let swapped = parse_document(
            "<r><status><status><loginname>kalle</loginname><code>0</code></status></status></r>",
        )
        .expect("xml");
        assert!(
            statuses_of(&swapped, &sent[..1]).is_err(),
            "position and name disagree"
        );
        let no_code =
            parse_document("<r><status><status><message>m</message></status></status></r>")
                .expect("xml");
        assert!(statuses_of(&no_code, &sent[..1]).is_err());
    }

    #[test]
    fn status_codes_map_both_ways() {
        for code in -1..9 {
            assert_eq!(StatusCode::from_code(code).code(), code);
        }
        assert_eq!(StatusCode::from_code(5), StatusCode::Inactivated);
        assert_eq!(StatusCode::from_code(7), StatusCode::Unknown(7));
    }

    #[test]
    fn find_criteria_are_all_sent_and_the_count_capped() {
        let find = FindUsers {
            loginname: "a&b".into(),
            allowed_to_login_only: true,
            begin_index: 2000,
            number_of_users: 5000,
            ..FindUsers::default()
        };
        let bytes = write_request("urn:t", "findUsers", |w| find.write(w)).expect("write");
        let xml = String::from_utf8(bytes).expect("utf-8");
        assert!(
            xml.contains(
                "<tns:findUsers><tns:loginname>a&amp;b</tns:loginname><tns:authserver/><tns:name/>\
                 <tns:email/><tns:usersallowedtologinonly>true</tns:usersallowedtologinonly>\
                 <tns:sortorder/><tns:beginindex>2000</tns:beginindex>\
                 <tns:numberofusers>1000</tns:numberofusers></tns:findUsers>"
            ),
            "{xml}"
        );
    }
}
