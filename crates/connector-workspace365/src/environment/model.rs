//! The request and response shapes of the Workspace 365 environment API (docs/connectors/workspace365.md "The environment API",
//! seed 004). Requests are written in the seed's PascalCase; answers are read in the seed's
//! camelCase, case-insensitively where the vendor's .NET binder would be.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use connector::metadata::Weigh;
use connector::secret::Secret;

/// Which user an activity is for (`UserLookup`): "If both are specified, the Id is used", so
/// only one is ever sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// The environment's integer user id.
    Id(u64),
    /// The user principal name.
    Upn(String),
}

impl UserLookup {
    fn to_json(&self) -> Value {
        match self {
            UserLookup::Id(id) => json!({ "Id": id }),
            UserLookup::Upn(upn) => json!({ "Upn": upn }),
        }
    }
}

/// Which group an activities-batch is for (`GroupLookup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupLookup {
    Id(u64),
    Name(String),
}

impl GroupLookup {
    fn to_json(&self) -> Value {
        match self {
            GroupLookup::Id(id) => json!({ "Id": id }),
            GroupLookup::Name(name) => json!({ "Name": name }),
        }
    }
}

/// An activity's colour: kind 1 custom (with a value such as `#ff0000`), 2 primary, 3 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Color {
    Custom(String),
    Primary,
    Header,
}

impl Color {
    fn to_json(&self) -> Value {
        match self {
            Color::Custom(value) => json!({ "Kind": 1, "Value": value }),
            Color::Primary => json!({ "Kind": 2 }),
            Color::Header => json!({ "Kind": 3 }),
        }
    }
}

/// An action button on an activity (at most 2; the title at most 32 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// 1–9, the seed's action kinds.
    pub kind: u8,
    pub title: String,
    pub url: String,
}

/// What an activity says, without its user (`ActivityWithoutUser`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityData {
    /// The icon's name (`Icon.Name`), e.g. `Phone`.
    pub icon: Option<String>,
    /// Required.
    pub title: String,
    pub url: Option<String>,
    pub tag: Option<String>,
    pub color: Option<Color>,
    pub actions: Vec<Action>,
}

impl ActivityData {
    /// An activity with only a title.
    pub fn titled(title: impl Into<String>) -> Self {
        ActivityData {
            title: title.into(),
            ..ActivityData::default()
        }
    }

    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(icon) = &self.icon {
            out.insert("Icon".into(), json!({ "Name": icon }));
        }
        out.insert("Title".into(), json!(self.title));
        if let Some(url) = &self.url {
            out.insert("Url".into(), json!(url));
        }
        if let Some(tag) = &self.tag {
            out.insert("Tag".into(), json!(tag));
        }
        if let Some(color) = &self.color {
            out.insert("Color".into(), color.to_json());
        }
        if !self.actions.is_empty() {
            let actions: Vec<Value> = self
                .actions
                .iter()
                .map(|a| json!({ "Kind": a.kind, "Title": a.title, "Url": a.url }))
                .collect();
            out.insert("Actions".into(), Value::Array(actions));
        }
        out
    }
}

/// `POST api/activities`: one activity for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    pub user: UserLookup,
    pub data: ActivityData,
}

impl NewActivity {
    pub(crate) fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("User".into(), self.user.to_json());
        body.extend(self.data.to_json());
        Value::Object(body)
    }
}

/// Who an activities-batch reaches (`Scope`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Kind 0: every user of the environment.
    All,
    /// Kind 1: these users (at least one).
    Users(Vec<UserLookup>),
    /// Kind 2: the members of these groups (at least one).
    Groups(Vec<GroupLookup>),
}

impl Scope {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Scope::All => json!({ "Kind": 0 }),
            Scope::Users(users) => json!({
                "Kind": 1,
                "Users": users.iter().map(UserLookup::to_json).collect::<Vec<_>>(),
            }),
            Scope::Groups(groups) => json!({
                "Kind": 2,
                "Groups": groups.iter().map(GroupLookup::to_json).collect::<Vec<_>>(),
            }),
        }
    }
}

/// The user an activity was created for, as the vendor answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ActivityUser {
    #[serde(alias = "Id")]
    pub id: u64,
    #[serde(alias = "Upn")]
    pub upn: String,
}

/// One created activity: `{"id":916,"user":{"id":1,"upn":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedActivity {
    #[serde(alias = "Id")]
    pub id: u64,
    #[serde(alias = "User")]
    pub user: ActivityUser,
}

/// Media shown with an announcement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Media {
    #[default]
    None,
    /// An image: its file name and its content as base64 (`Uri`).
    Image { filename: String, base64: String },
    /// A video's embed code (an `<iframe …>`).
    Video { embed_code: String },
}

impl Media {
    fn to_json(&self) -> Value {
        match self {
            Media::None => json!({ "MediaKind": 0 }),
            Media::Image { filename, base64 } => json!({
                "MediaKind": 1,
                "Image": { "Filename": filename, "Uri": base64 },
            }),
            Media::Video { embed_code } => json!({ "MediaKind": 2, "VideoEmbedCode": embed_code }),
        }
    }
}

/// The category an announcement is filed under; none means "Uncategorized".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CategoryLookup {
    Id(u64),
    Name(String),
}

/// `POST api/announcements`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnnouncement {
    /// Required.
    pub title: String,
    pub description: Option<String>,
    pub media: Media,
    pub category: Option<CategoryLookup>,
    /// The vendor's default is false.
    pub show_popup_directly_to_user: bool,
    /// The vendor's default is true.
    pub allow_comments: bool,
    /// DateTimeOffsets as ISO 8601 text, e.g. `2021-04-15T00:00:00Z`.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

impl NewAnnouncement {
    /// An announcement with only a title and the vendor's defaults.
    pub fn titled(title: impl Into<String>) -> Self {
        NewAnnouncement {
            title: title.into(),
            description: None,
            media: Media::None,
            category: None,
            show_popup_directly_to_user: false,
            allow_comments: true,
            start_time: None,
            end_time: None,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert("Title".into(), json!(self.title));
        if let Some(description) = &self.description {
            body.insert("Description".into(), json!(description));
        }
        if self.media != Media::None {
            body.insert("Media".into(), self.media.to_json());
        }
        match &self.category {
            Some(CategoryLookup::Id(id)) => body.insert("Category".into(), json!({ "Id": id })),
            Some(CategoryLookup::Name(name)) => {
                body.insert("Category".into(), json!({ "Name": name }))
            }
            None => None,
        };
        body.insert(
            "ShowPopupDirectlyToUser".into(),
            json!(self.show_popup_directly_to_user),
        );
        body.insert("AllowComments".into(), json!(self.allow_comments));
        if let Some(start) = &self.start_time {
            body.insert("StartTime".into(), json!(start));
        }
        if let Some(end) = &self.end_time {
            body.insert("EndTime".into(), json!(end));
        }
        Value::Object(body)
    }
}

/// The answer of `POST api/announcements` and `POST IntegrationCredentialsApi/User/{upn}/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct CreatedId {
    #[serde(alias = "Id")]
    pub id: u64,
}

/// An app's icon reference.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppIconName {
    pub name: String,
}

/// An app's colour as the vendor lists it: `value` only for kind 1 (custom).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppColor {
    pub kind: i64,
    #[serde(default)]
    pub value: Option<String>,
}

/// One app available to a user (`GET api/users/{upn}/apps`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub app_id: i64,
    /// 0 Shortcut, 2 Document, 15 Citrix App, 20 Azure App, 35 Local App, 36 Windows Virtual
    /// Desktop (seed 004; 1 has no documented meaning).
    #[serde(rename = "type")]
    pub app_type: i64,
    pub icon: AppIconName,
    pub app_name: String,
    #[serde(default)]
    pub url: Option<String>,
    pub color: AppColor,
}

/// Which collection of app icons (`{source}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconSource {
    /// Shared by every environment of the instance.
    Global,
    /// The environment's own.
    Environment,
}

impl IconSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IconSource::Global => "global",
            IconSource::Environment => "environment",
        }
    }
}

/// An app icon's description: kind 0 png, 1 and 2 svg.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppIcon {
    pub id: i64,
    pub kind: i64,
    pub name: String,
}

/// An app icon's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IconContent {
    /// As the vendor labels it, e.g. `image/svg+xml`.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Weigh for AppIcon {
    fn weigh(&self) -> usize {
        std::mem::size_of::<AppIcon>() + self.name.len()
    }
}

impl Weigh for IconContent {
    fn weigh(&self) -> usize {
        std::mem::size_of::<IconContent>()
            + self.content_type.as_ref().map_or(0, String::len)
            + self.bytes.len()
    }
}

/// A user's integration credentials (`{"username": email, "password"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationCredentials {
    /// An e-mail address (seed: `string (email)`).
    pub username: String,
    pub password: Secret,
}

impl IntegrationCredentials {
    pub(crate) fn to_json(&self) -> Value {
        json!({ "username": self.username, "password": self.password.expose() })
    }
}

/// One message of an [`ApiErrors`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorMessage {
    #[serde(alias = "Message")]
    pub message: String,
}

/// The environment API's 400 body (`ApiErrorResponse`): a global error and/or per-field ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrors {
    #[serde(default, alias = "GlobalError")]
    pub global_error: Option<ErrorMessage>,
    #[serde(default, alias = "FieldErrors")]
    pub field_errors: BTreeMap<String, ErrorMessage>,
}

impl ApiErrors {
    /// The body's messages, or the body as text when it is not an `ApiErrorResponse`.
    pub(crate) fn parse(body: &[u8], status: u16) -> ApiErrors {
        match serde_json::from_slice::<ApiErrors>(body) {
            Ok(errors) if errors.global_error.is_some() || !errors.field_errors.is_empty() => {
                errors
            }
            _ => {
                let text = String::from_utf8_lossy(body).trim().to_owned();
                let message = if text.is_empty() {
                    format!("HTTP {status}")
                } else {
                    text.chars().take(1024).collect()
                };
                ApiErrors {
                    global_error: Some(ErrorMessage { message }),
                    field_errors: BTreeMap::new(),
                }
            }
        }
    }
}

impl std::fmt::Display for ApiErrors {
    /// `global message; Field: message; …`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(global) = &self.global_error {
            parts.push(global.message.clone());
        }
        parts.extend(
            self.field_errors
                .iter()
                .map(|(field, e)| format!("{field}: {}", e.message)),
        );
        f.write_str(&parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_bodies_follow_the_seed() {
        let activity = NewActivity {
            user: UserLookup::Upn("userone@example.com".into()),
            data: ActivityData {
                icon: Some("Phone".into()),
                title: "Test activity".into(),
                url: None,
                tag: Some("t".into()),
                color: Some(Color::Custom("#ff0000".into())),
                actions: vec![Action {
                    kind: 1,
                    title: "Accept proposal".into(),
                    url: "https://x/accept".into(),
                }],
            },
        };
        assert_eq!(
            activity.to_json(),
            json!({
                "User": {"Upn": "userone@example.com"},
                "Icon": {"Name": "Phone"},
                "Title": "Test activity",
                "Tag": "t",
                "Color": {"Kind": 1, "Value": "#ff0000"},
                "Actions": [{"Kind": 1, "Title": "Accept proposal", "Url": "https://x/accept"}],
            })
        );
        assert_eq!(
            Scope::Groups(vec![GroupLookup::Name("Staff".into()), GroupLookup::Id(3)]).to_json(),
            json!({"Kind": 2, "Groups": [{"Name": "Staff"}, {"Id": 3}]})
        );
        assert_eq!(Scope::All.to_json(), json!({"Kind": 0}));
    }

    #[test]
    fn announcements_carry_the_vendor_defaults_explicitly() {
        let mut a = NewAnnouncement::titled("Hello");
        a.media = Media::Video {
            embed_code: "<iframe/>".into(),
        };
        a.category = Some(CategoryLookup::Name("News".into()));
        assert_eq!(
            a.to_json(),
            json!({
                "Title": "Hello",
                "Media": {"MediaKind": 2, "VideoEmbedCode": "<iframe/>"},
                "Category": {"Name": "News"},
                "ShowPopupDirectlyToUser": false,
                "AllowComments": true,
            })
        );
    }

    #[test]
    fn error_bodies_read_leniently() {
        let e = ApiErrors::parse(
            br#"{"globalError":null,"fieldErrors":{"Title":{"message":"The Title field is required."}}}"#,
            400,
        );
        assert_eq!(e.to_string(), "Title: The Title field is required.");
        let e = ApiErrors::parse(
            br#"{"globalError":{"message":"The user 'x' was not found."},"fieldErrors":{}}"#,
            404,
        );
        assert_eq!(e.to_string(), "The user 'x' was not found.");
        assert_eq!(ApiErrors::parse(b"", 400).to_string(), "HTTP 400");
        assert_eq!(ApiErrors::parse(b"oops", 400).to_string(), "oops");
    }

    #[test]
    fn credentials_debug_hides_the_password() {
        let c = IntegrationCredentials {
            username: "a@b.c".into(),
            password: Secret::new("hunter2"),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.to_json()["password"], "hunter2");
    }
}
