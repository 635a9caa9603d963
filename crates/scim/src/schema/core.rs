//! The schemas RFC 7643 defines: User and Group (§8.7.1), the enterprise extension (§4.3), and
//! the attributes common to every resource (§3.1).

use super::{AttrType::*, Attribute, Mutability, Returned, Schema, Uniqueness};

pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SERVICE_PROVIDER_CONFIG_URN: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// Not a published schema: the home of `id`, `externalId` and `meta`, which every resource has.
pub const COMMON_SCHEMA_ID: &str = "urn:scim-bridge:common";

fn string(name: &str) -> Attribute {
    Attribute::new(name, String)
}

fn read_only(a: Attribute) -> Attribute {
    a.mutability(Mutability::ReadOnly)
}

/// `value`, `display`, `type`, `primary`: the default sub-attributes of a multi-valued
/// attribute (RFC 7643 §2.4), with `value` of the given type.
fn multi_valued(
    name: &str,
    description: &str,
    value_type: super::AttrType,
    types: &[&str],
) -> Attribute {
    Attribute::complex(
        name,
        vec![
            Attribute::new("value", value_type).describe("The attribute's significant value."),
            string("display")
                .describe("A human-readable name, primarily used for display purposes."),
            string("type")
                .canonical(types)
                .describe("A label indicating the attribute's function."),
            Attribute::new("primary", Boolean)
                .describe("Indicates the 'primary' or preferred attribute value."),
        ],
    )
    .multi()
    .describe(description)
}

/// `id`, `externalId`, `meta` (RFC 7643 §3.1).
pub fn common_attributes() -> Schema {
    Schema::new(
        COMMON_SCHEMA_ID,
        "Common",
        "Attributes every resource has",
        vec![
            read_only(string("id"))
                .case_exact()
                .returned(Returned::Always)
                .uniqueness(Uniqueness::Server)
                .describe("Unique identifier for the resource, assigned by the service provider."),
            string("externalId")
                .case_exact()
                .describe("An identifier for the resource as defined by the provisioning client."),
            read_only(Attribute::complex(
                "meta",
                vec![
                    read_only(string("resourceType").case_exact())
                        .describe("The name of the resource type."),
                    read_only(Attribute::new("created", DateTime))
                        .describe("When the resource was added."),
                    read_only(Attribute::new("lastModified", DateTime))
                        .describe("When the resource was last updated."),
                    read_only(Attribute::new("location", Reference).references(&["uri"]))
                        .describe("The URI of the resource."),
                    read_only(string("version").case_exact())
                        .describe("The version (ETag) of the resource."),
                ],
            ))
            .describe("Resource metadata."),
        ],
    )
}

/// The User schema (RFC 7643 §4.1, §8.7.1).
pub fn user_schema() -> Schema {
    let name = Attribute::complex(
        "name",
        vec![
            string("formatted").describe("The full name, formatted for display."),
            string("familyName").describe("The family name or last name."),
            string("givenName").describe("The given name or first name."),
            string("middleName").describe("The middle name(s)."),
            string("honorificPrefix").describe("The honorific prefix(es), e.g. 'Ms.'."),
            string("honorificSuffix").describe("The honorific suffix(es), e.g. 'III'."),
        ],
    )
    .describe("The components of the user's real name.");
    let addresses = Attribute::complex(
        "addresses",
        vec![
            string("formatted").describe("The full mailing address, formatted for display."),
            string("streetAddress").describe("The full street address component."),
            string("locality").describe("The city or locality component."),
            string("region").describe("The state or region component."),
            string("postalCode").describe("The zip code or postal code component."),
            string("country").describe("The country name component (ISO 3166-1 alpha-2)."),
            string("type")
                .canonical(&["work", "home", "other"])
                .describe("A label indicating the address's function."),
            Attribute::new("primary", Boolean).describe("Indicates the primary mailing address."),
        ],
    )
    .multi()
    .describe("A physical mailing address for this user.");
    let groups = read_only(Attribute::complex(
        "groups",
        vec![
            read_only(string("value")).describe("The identifier of the user's group."),
            read_only(Attribute::new("$ref", Reference).references(&["User", "Group"]))
                .describe("The URI of the group."),
            read_only(string("display")).describe("A human-readable name of the group."),
            read_only(string("type").canonical(&["direct", "indirect"]))
                .describe("Direct or indirect membership."),
        ],
    ))
    .multi()
    .describe("A list of groups to which the user belongs (read-only; managed through Groups).");

    Schema::new(
        USER_URN,
        "User",
        "User Account",
        vec![
            string("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .describe(
                    "Unique identifier for the user, used to authenticate; case-insensitive.",
                ),
            name,
            string("displayName")
                .describe("The name of the user, suitable for display to end-users."),
            string("nickName").describe("The casual way to address the user in real life."),
            Attribute::new("profileUrl", Reference)
                .references(&["external"])
                .describe("A URI pointing to the user's online profile."),
            string("title").describe("The user's title, such as 'Vice President'."),
            string("userType").describe("The relationship between the organization and the user."),
            string("preferredLanguage").describe(
                "The user's preferred written or spoken language (RFC 7231 Accept-Language).",
            ),
            string("locale")
                .describe("The user's default location for localization, e.g. 'en-US'."),
            string("timezone")
                .describe("The user's time zone in IANA format, e.g. 'Europe/Amsterdam'."),
            Attribute::new("active", Boolean).describe("The user's administrative status."),
            string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never)
                .describe("The user's cleartext password; never returned."),
            multi_valued(
                "emails",
                "Email addresses for the user.",
                String,
                &["work", "home", "other"],
            ),
            multi_valued(
                "phoneNumbers",
                "Phone numbers for the user.",
                String,
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            multi_valued(
                "ims",
                "Instant messaging addresses for the user.",
                String,
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            multi_valued(
                "photos",
                "URLs of images of the user.",
                Reference,
                &["photo", "thumbnail"],
            ),
            addresses,
            groups,
            multi_valued(
                "entitlements",
                "A list of entitlements for the user.",
                String,
                &[],
            ),
            multi_valued("roles", "A list of roles for the user.", String, &[]),
            multi_valued(
                "x509Certificates",
                "A list of certificates issued to the user.",
                Binary,
                &[],
            ),
        ],
    )
}

/// The Group schema (RFC 7643 §4.2, §8.7.1). `members.display` is not in §8.7.1 but is one of
/// the default sub-attributes (§2.4) and Okta sends it.
pub fn group_schema() -> Schema {
    Schema::new(
        GROUP_URN,
        "Group",
        "Group",
        vec![
            string("displayName")
                .required()
                .uniqueness(Uniqueness::Server)
                .describe("A human-readable name for the group."),
            Attribute::complex(
                "members",
                vec![
                    string("value")
                        .mutability(Mutability::Immutable)
                        .describe("Identifier of the member."),
                    Attribute::new("$ref", Reference)
                        .references(&["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .describe("The URI of the member resource."),
                    string("type")
                        .canonical(&["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .describe("The type of the member: User or Group."),
                    string("display").describe("A human-readable name of the member."),
                ],
            )
            .multi()
            .describe("A list of members of the group."),
        ],
    )
}

/// The enterprise User extension (RFC 7643 §4.3, §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema::new(
        ENTERPRISE_USER_URN,
        "EnterpriseUser",
        "Enterprise User",
        vec![
            string("employeeNumber")
                .describe("Numeric or alphanumeric identifier assigned to a person."),
            string("costCenter").describe("Identifies the name of a cost center."),
            string("organization").describe("Identifies the name of an organization."),
            string("division").describe("Identifies the name of a division."),
            string("department").describe("Identifies the name of a department."),
            Attribute::complex(
                "manager",
                vec![
                    string("value")
                        .describe("The id of the SCIM resource representing the user's manager."),
                    Attribute::new("$ref", Reference)
                        .references(&["User"])
                        .describe("The URI of the manager's resource."),
                    read_only(string("displayName"))
                        .describe("The displayName of the user's manager."),
                ],
            )
            .describe("The user's manager."),
        ],
    )
}
