//! The served WSDL (docs/connectors/timeedit.md "Wire format": `GET …/wsdl` and `GET …?wsdl`), generated from the
//! operation table with quick-xml's writer so the configured namespace and address are escaped.
//!
//! Document/literal wrapped: each operation has a `tns:<op>` request and `tns:<op>Response`
//! element. The schema is `elementFormDefault="unqualified"` with `form="qualified"` on the
//! top-level parameters, which is exactly the wire shape of docs/connectors/timeedit.md "The vendor API" (`<tns:users>` but
//! unqualified `<user>` and `<loginname>`).

use std::io;

use quick_xml::events::{BytesEnd, BytesStart, Event};

use super::soap::{XmlWriter, new_writer};

/// One operation: its name, request parameters and response elements, each `(name, type)`.
pub(crate) struct Operation {
    pub name: &'static str,
    pub input: &'static [(&'static str, &'static str)],
    pub output: &'static [(&'static str, &'static str)],
}

const LOGIN: (&str, &str) = ("login", "tns:LoginObject");
const USERS: (&str, &str) = ("users", "tns:ArrayOfUser");
const STATUS: (&str, &str) = ("status", "tns:ArrayOfStatus");

/// Every operation the simulator answers (docs/connectors/timeedit.md "Vendor calls").
pub(crate) const OPERATIONS: &[Operation] = &[
    Operation {
        name: "register",
        input: &[("certificate", "xsd:string")],
        output: &[("key", "tns:ApplicationKeyInfo")],
    },
    Operation {
        name: "findUsers",
        input: &[
            LOGIN,
            ("loginname", "xsd:string"),
            ("authserver", "xsd:string"),
            ("name", "xsd:string"),
            ("email", "xsd:string"),
            ("usersallowedtologinonly", "xsd:boolean"),
            ("sortorder", "xsd:string"),
            ("includeobjectnames", "xsd:boolean"),
            ("beginindex", "xsd:int"),
            ("numberofusers", "xsd:int"),
        ],
        output: &[USERS, ("totalnumberofusers", "xsd:int")],
    },
    Operation {
        name: "getUsers",
        input: &[LOGIN, USERS],
        output: &[USERS],
    },
    Operation {
        name: "getUserSortOrders",
        input: &[LOGIN],
        output: &[("sortorders", "tns:ArrayOfSortOrder")],
    },
    Operation {
        name: "getAuthServers",
        input: &[LOGIN, ("activeonly", "xsd:boolean")],
        output: &[("authservers", "tns:ArrayOfAuthServer")],
    },
    Operation {
        name: "getPermissions",
        input: &[LOGIN],
        output: &[("permissions", "tns:ArrayOfPermission")],
    },
    Operation {
        name: "validateUsers",
        input: &[LOGIN, USERS],
        output: &[STATUS],
    },
    Operation {
        name: "importUsers",
        input: &[LOGIN, USERS],
        output: &[STATUS],
    },
    Operation {
        name: "exportUsers",
        input: &[LOGIN, USERS],
        output: &[USERS],
    },
    Operation {
        name: "deleteUsers",
        input: &[LOGIN, USERS, ("inactivate", "xsd:boolean")],
        output: &[STATUS],
    },
    Operation {
        name: "getCurrentUserObjects",
        input: &[LOGIN, ("types", "tns:ArrayOfType")],
        output: &[("userobjects", "tns:ArrayOfUserObjects")],
    },
];

/// A complex type: its fields `(name, type, repeated)`.
type ComplexType = (&'static str, &'static [(&'static str, &'static str, bool)]);

const TYPES: &[ComplexType] = &[
    (
        "LoginObject",
        &[
            ("username", "xsd:string", false),
            ("password", "xsd:string", false),
            ("applicationkey", "xsd:string", false),
        ],
    ),
    (
        "ApplicationKeyInfo",
        &[
            ("applicationkey", "xsd:string", false),
            ("expirationdate", "xsd:dateTime", false),
        ],
    ),
    (
        "User",
        &[
            ("loginname", "xsd:string", false),
            ("authserver", "xsd:string", false),
            ("firstname", "xsd:string", false),
            ("lastname", "xsd:string", false),
            ("email", "xsd:string", false),
            ("phone", "xsd:string", false),
            ("changepassword", "xsd:boolean", false),
            ("language", "xsd:string", false),
            ("dateformat", "xsd:string", false),
            ("timezone", "xsd:string", false),
            ("dst", "xsd:string", false),
            ("allowlogin", "xsd:boolean", false),
            ("defaultobjects", "xsd:string", false),
            ("standardorganization", "xsd:string", false),
            ("orgroles", "tns:ArrayOfOrgRole", false),
            ("permissions", "tns:ArrayOfPermission", false),
            ("organizations", "tns:ArrayOfOrganization", false),
            ("description", "xsd:string", false),
        ],
    ),
    (
        "Status",
        &[
            ("loginname", "xsd:string", false),
            ("authserver", "xsd:string", false),
            ("code", "xsd:int", false),
            ("message", "xsd:string", false),
        ],
    ),
    (
        "AuthServer",
        &[
            ("signature", "xsd:string", false),
            ("name", "xsd:string", false),
            ("active", "xsd:boolean", false),
        ],
    ),
    (
        "Object",
        &[
            ("extid", "xsd:string", false),
            ("type", "xsd:string", false),
            ("name", "xsd:string", false),
        ],
    ),
    (
        "UserObjects",
        &[
            ("type", "xsd:string", false),
            ("objects", "tns:ArrayOfObject", false),
        ],
    ),
    ("ArrayOfUser", &[("user", "tns:User", true)]),
    ("ArrayOfStatus", &[("status", "tns:Status", true)]),
    (
        "ArrayOfAuthServer",
        &[("authserver", "tns:AuthServer", true)],
    ),
    ("ArrayOfSortOrder", &[("sortorder", "xsd:string", true)]),
    ("ArrayOfPermission", &[("permission", "xsd:string", true)]),
    ("ArrayOfOrgRole", &[("orgrole", "xsd:string", true)]),
    (
        "ArrayOfOrganization",
        &[("organization", "xsd:string", true)],
    ),
    ("ArrayOfType", &[("type", "xsd:string", true)]),
    (
        "ArrayOfUserObjects",
        &[("userobjects", "tns:UserObjects", true)],
    ),
    ("ArrayOfObject", &[("object", "tns:Object", true)]),
];

const SERVICE: &str = "TimeEditUserService";

/// The WSDL 1.1 document: SOAP 1.1 and SOAP 1.2 bindings, both at `address`.
pub(crate) fn build(tns: &str, address: &str) -> io::Result<Vec<u8>> {
    let mut w = new_writer()?;
    w.create_element("wsdl:definitions")
        .with_attributes([
            ("xmlns:wsdl", "http://schemas.xmlsoap.org/wsdl/"),
            ("xmlns:soap", "http://schemas.xmlsoap.org/wsdl/soap/"),
            ("xmlns:soap12", "http://schemas.xmlsoap.org/wsdl/soap12/"),
            ("xmlns:xsd", "http://www.w3.org/2001/XMLSchema"),
            ("xmlns:tns", tns),
            ("targetNamespace", tns),
            ("name", SERVICE),
        ])
        .write_inner_content(|w| {
            write_types(w, tns)?;
            write_messages(w)?;
            write_port_type(w)?;
            write_binding(w, "soap")?;
            write_binding(w, "soap12")?;
            w.create_element("wsdl:service")
                .with_attribute(("name", SERVICE))
                .write_inner_content(|w| {
                    for (port, prefix) in [("", "soap"), ("12", "soap12")] {
                        let name = format!("{SERVICE}Soap{port}");
                        let binding = format!("tns:{name}Binding");
                        w.create_element("wsdl:port")
                            .with_attributes([("name", name.as_str()), ("binding", &binding)])
                            .write_inner_content(|w| {
                                w.create_element(format!("{prefix}:address"))
                                    .with_attribute(("location", address))
                                    .write_empty()
                                    .map(|_| ())
                            })?;
                    }
                    Ok(())
                })
                .map(|_| ())
        })?;
    Ok(w.into_inner())
}

fn start(w: &mut XmlWriter, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    w.write_event(Event::Start(
        BytesStart::new(name).with_attributes(attrs.iter().copied()),
    ))
}

fn empty(w: &mut XmlWriter, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    w.write_event(Event::Empty(
        BytesStart::new(name).with_attributes(attrs.iter().copied()),
    ))
}

fn end(w: &mut XmlWriter, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn write_types(w: &mut XmlWriter, tns: &str) -> io::Result<()> {
    start(w, "wsdl:types", &[])?;
    start(
        w,
        "xsd:schema",
        &[
            ("targetNamespace", tns),
            ("elementFormDefault", "unqualified"),
        ],
    )?;
    for op in OPERATIONS {
        let response = format!("{}Response", op.name);
        for (element, params) in [(op.name, op.input), (response.as_str(), op.output)] {
            start(w, "xsd:element", &[("name", element)])?;
            start(w, "xsd:complexType", &[])?;
            start(w, "xsd:sequence", &[])?;
            for (name, ty) in params {
                let min = if *name == "login" { "1" } else { "0" };
                empty(
                    w,
                    "xsd:element",
                    &[
                        ("name", name),
                        ("type", ty),
                        ("form", "qualified"),
                        ("minOccurs", min),
                    ],
                )?;
            }
            end(w, "xsd:sequence")?;
            end(w, "xsd:complexType")?;
            end(w, "xsd:element")?;
        }
    }
    for (name, fields) in TYPES {
        start(w, "xsd:complexType", &[("name", name)])?;
        start(w, "xsd:sequence", &[])?;
        for (field, ty, repeated) in *fields {
            let max = if *repeated { "unbounded" } else { "1" };
            empty(
                w,
                "xsd:element",
                &[
                    ("name", field),
                    ("type", ty),
                    ("minOccurs", "0"),
                    ("maxOccurs", max),
                ],
            )?;
        }
        end(w, "xsd:sequence")?;
        end(w, "xsd:complexType")?;
    }
    end(w, "xsd:schema")?;
    end(w, "wsdl:types")
}

fn write_messages(w: &mut XmlWriter) -> io::Result<()> {
    for op in OPERATIONS {
        for suffix in ["Request", "Response"] {
            let message = format!("{}{suffix}", op.name);
            let element = match suffix {
                "Request" => format!("tns:{}", op.name),
                _ => format!("tns:{}Response", op.name),
            };
            start(w, "wsdl:message", &[("name", &message)])?;
            empty(
                w,
                "wsdl:part",
                &[("name", "parameters"), ("element", &element)],
            )?;
            end(w, "wsdl:message")?;
        }
    }
    Ok(())
}

fn write_port_type(w: &mut XmlWriter) -> io::Result<()> {
    let port_type = format!("{SERVICE}PortType");
    start(w, "wsdl:portType", &[("name", &port_type)])?;
    for op in OPERATIONS {
        start(w, "wsdl:operation", &[("name", op.name)])?;
        let input = format!("tns:{}Request", op.name);
        let output = format!("tns:{}Response", op.name);
        empty(w, "wsdl:input", &[("message", &input)])?;
        empty(w, "wsdl:output", &[("message", &output)])?;
        end(w, "wsdl:operation")?;
    }
    end(w, "wsdl:portType")
}

/// `prefix` is `soap` (SOAP 1.1) or `soap12`.
fn write_binding(w: &mut XmlWriter, prefix: &str) -> io::Result<()> {
    let port = if prefix == "soap" { "" } else { "12" };
    let name = format!("{SERVICE}Soap{port}Binding");
    let port_type = format!("tns:{SERVICE}PortType");
    start(w, "wsdl:binding", &[("name", &name), ("type", &port_type)])?;
    empty(
        w,
        &format!("{prefix}:binding"),
        &[
            ("style", "document"),
            ("transport", "http://schemas.xmlsoap.org/soap/http"),
        ],
    )?;
    let body = format!("{prefix}:body");
    for op in OPERATIONS {
        start(w, "wsdl:operation", &[("name", op.name)])?;
        // docs/connectors/timeedit.md "Wire format": SOAPAction "" (the simulator dispatches on the body element).
        empty(
            w,
            &format!("{prefix}:operation"),
            &[("soapAction", ""), ("style", "document")],
        )?;
        for direction in ["wsdl:input", "wsdl:output"] {
            start(w, direction, &[])?;
            empty(w, &body, &[("use", "literal")])?;
            end(w, direction)?;
        }
        end(w, "wsdl:operation")?;
    }
    end(w, "wsdl:binding")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeedit::soap::parse_document;

    #[test]
    fn wsdl_declares_every_operation_in_the_escaped_target_namespace() {
        let bytes = build("urn:a&b", "http://h/soap/3/x?a&b").expect("wsdl");
        let text = String::from_utf8(bytes).expect("utf-8");
        let root = parse_document(&text).expect("well-formed");
        assert!(root.is("definitions"));
        assert!(text.contains("targetNamespace=\"urn:a&amp;b\""), "{text}");
        assert!(text.contains("<soap:address location=\"http://h/soap/3/x?a&amp;b\"/>"));
        assert!(text.contains("<soap12:address location=\"http://h/soap/3/x?a&amp;b\"/>"));
        for op in OPERATIONS {
            let name = op.name;
            assert!(
                text.contains(&format!("<xsd:element name=\"{name}\">")),
                "{name}"
            );
            assert!(text.contains(&format!("<xsd:element name=\"{name}Response\">")));
            // portType plus the two bindings.
            let declared = format!("<wsdl:operation name=\"{name}\">");
            assert_eq!(text.matches(&declared).count(), 3, "{name}");
        }
    }
}
