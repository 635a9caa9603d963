//! SOAP envelopes: a small namespace-aware element tree parsed with quick-xml, and response and
//! fault envelopes written through quick-xml's writer, which escapes every text and attribute.

use std::io;

use quick_xml::Writer;
use quick_xml::escape::{resolve_xml_entity, unescape};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

/// SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Deeper documents are refused: a SOAP request here needs about 7 levels, and the limit keeps
/// hostile nesting from costing stack or memory.
const MAX_DEPTH: usize = 64;

/// The SOAP version of a request; the response uses the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    /// The envelope namespace URI.
    pub fn namespace(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_NS,
            Self::V12 => SOAP12_NS,
        }
    }

    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::V11 => "text/xml; charset=utf-8",
            Self::V12 => "application/soap+xml; charset=utf-8",
        }
    }

    /// The version a request `Content-Type` declares (`text/xml` or `application/soap+xml`,
    /// parameters such as `charset` or the SOAP 1.2 `action` ignored).
    pub fn from_content_type(content_type: &str) -> Option<Self> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("text/xml") {
            Some(Self::V11)
        } else if essence.eq_ignore_ascii_case("application/soap+xml") {
            Some(Self::V12)
        } else {
            None
        }
    }

    fn from_namespace(ns: &str) -> Option<Self> {
        match ns {
            SOAP11_NS => Some(Self::V11),
            SOAP12_NS => Some(Self::V12),
            _ => None,
        }
    }
}

/// One element of a parsed document: resolved namespace, local name, child elements and the
/// concatenated, unescaped character data directly inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Whether the local name is `name`, compared case-insensitively (docs/connectors/timeedit.md "Wire format" leniency).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The first child with this local name, whatever its namespace.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(name))
    }

    /// Every child with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.is(name))
    }

    /// The text of the first child with this local name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("document type declarations are not allowed in SOAP messages")]
    DocType,
    #[error("unsupported encoding {0:?}; send UTF-8")]
    Encoding(String),
    #[error("document nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// Parses a whole document into its root element.
pub fn parse_document(xml: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(malformed)?;
        let namespace = match ns {
            // The resolver hands back the raw attribute value; entities in it still count.
            ResolveResult::Bound(ns) => {
                Some(unescape(ns.as_ref()).map_err(malformed)?.into_owned())
            }
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(XmlError::Malformed(format!(
                    "undeclared namespace prefix {prefix:?}"
                )));
            }
        };
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(XmlError::Malformed("content after the root element".into()));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(new_element(namespace, &start));
            }
            Event::Empty(start) => {
                let element = new_element(namespace, &start);
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unexpected end tag".into()))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content())?,
            Event::CData(data) => push_text(&mut stack, &data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(malformed)? {
                    Some(c) => c.to_string(),
                    None => resolve_xml_entity(&reference)
                        .ok_or_else(|| {
                            XmlError::Malformed(format!("unknown entity &{};", &*reference))
                        })?
                        .to_owned(),
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(malformed)?;
                    if !encoding.eq_ignore_ascii_case("utf-8") {
                        return Err(XmlError::Encoding(encoding.into_owned()));
                    }
                }
            }
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    match (root, stack.is_empty()) {
        (Some(root), true) => Ok(root),
        (None, true) => Err(XmlError::Malformed("no root element".into())),
        (_, false) => Err(XmlError::Malformed("unclosed element".into())),
    }
}

fn new_element(namespace: Option<String>, start: &BytesStart) -> Element {
    Element {
        namespace,
        name: start.local_name().as_ref().to_owned(),
        ..Element::default()
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    if let Some(bad) = text.chars().find(|&c| !is_xml_char(c)) {
        return Err(XmlError::Malformed(format!(
            "character U+{:04X} is not allowed in XML",
            u32::from(bad)
        )));
    }
    match stack.last_mut() {
        Some(current) => current.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(XmlError::Malformed("text outside the root element".into())),
    }
    Ok(())
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A request envelope: its version and the operation element inside `Body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: SoapVersion,
    pub operation: Element,
}

/// Why a document is not a usable SOAP request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("not a SOAP Envelope")]
    NotEnvelope,
    #[error("unsupported SOAP envelope namespace {0:?}")]
    VersionMismatch(String),
    #[error("the SOAP Envelope has no Body")]
    NoBody,
    #[error("the SOAP Body holds no operation element")]
    EmptyBody,
    #[error("the SOAP Body holds more than one operation element")]
    SeveralOperations,
}

/// Reads a request envelope (SOAP 1.1 or 1.2, told apart by the envelope namespace).
pub fn parse_envelope(xml: &str) -> Result<Envelope, EnvelopeError> {
    let root = parse_document(xml)?;
    if !root.is("Envelope") {
        return Err(EnvelopeError::NotEnvelope);
    }
    let ns = root.namespace.as_deref().unwrap_or("");
    let version = SoapVersion::from_namespace(ns)
        .ok_or_else(|| EnvelopeError::VersionMismatch(ns.to_owned()))?;
    let in_envelope = |e: &&Element| e.namespace.as_deref() == Some(version.namespace());
    let body = root
        .children
        .iter()
        .filter(in_envelope)
        .find(|e| e.is("Body"))
        .ok_or(EnvelopeError::NoBody)?;
    let mut operations = body.children.iter();
    let operation = operations.next().ok_or(EnvelopeError::EmptyBody)?;
    if operations.next().is_some() {
        return Err(EnvelopeError::SeveralOperations);
    }
    Ok(Envelope {
        version,
        operation: operation.clone(),
    })
}

/// An element to write: a name (with its prefix, e.g. `tns:users`) and text or children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    name: String,
    content: Content,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Text(String),
    Children(Vec<Node>),
}

impl Node {
    /// `<name>text</name>` (`<name/>` when the text is empty).
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            content: Content::Text(text.into()),
        }
    }

    /// `<name>children…</name>`.
    pub fn parent(name: impl Into<String>, children: Vec<Node>) -> Self {
        Self {
            name: name.into(),
            content: Content::Children(children),
        }
    }

    /// A wrapper plus one item element per value: `<orgroles><orgrole>…</orgrole></orgroles>`.
    pub fn list<S: AsRef<str>>(name: impl Into<String>, item: &str, values: &[S]) -> Self {
        let items = values
            .iter()
            .map(|v| Node::text(item, v.as_ref()))
            .collect();
        Self::parent(name, items)
    }
}

/// An XML writer over a byte buffer, shared by the envelope and WSDL builders.
pub(crate) type XmlWriter = Writer<Vec<u8>>;

pub(crate) fn new_writer() -> io::Result<XmlWriter> {
    let mut writer = Writer::new(Vec::new());
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    Ok(writer)
}

/// Writes escaped text; characters XML cannot carry at all become U+FFFD.
pub(crate) fn write_text(writer: &mut XmlWriter, text: &str) -> io::Result<()> {
    let text: String = text
        .chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect();
    writer.write_event(Event::Text(BytesText::new(&text)))
}

fn write_node(writer: &mut XmlWriter, node: &Node) -> io::Result<()> {
    match &node.content {
        Content::Text(text) if text.is_empty() => {
            writer.write_event(Event::Empty(BytesStart::new(node.name.as_str())))
        }
        Content::Text(text) => {
            writer.write_event(Event::Start(BytesStart::new(node.name.as_str())))?;
            write_text(writer, text)?;
            writer.write_event(Event::End(BytesEnd::new(node.name.as_str())))
        }
        Content::Children(children) => {
            writer.write_event(Event::Start(BytesStart::new(node.name.as_str())))?;
            for child in children {
                write_node(writer, child)?;
            }
            writer.write_event(Event::End(BytesEnd::new(node.name.as_str())))
        }
    }
}

/// A whole response envelope: `soapenv:Envelope` (with `xmlns:tns`) / `soapenv:Body` / `body`.
pub fn build_envelope(version: SoapVersion, tns: &str, body: &Node) -> io::Result<Vec<u8>> {
    let mut writer = new_writer()?;
    writer
        .create_element("soapenv:Envelope")
        .with_attribute(("xmlns:soapenv", version.namespace()))
        .with_attribute(("xmlns:tns", tns))
        .write_inner_content(|w| {
            w.create_element("soapenv:Body")
                .write_inner_content(|w| write_node(w, body))
                .map(|_| ())
        })?;
    Ok(writer.into_inner())
}

/// The kind of a SOAP fault, named as in SOAP 1.1 (SOAP 1.2 names in the docs of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The request is at fault (1.2: `Sender`).
    Client,
    /// The service failed (1.2: `Receiver`).
    Server,
    /// The envelope namespace is not the one expected (same name in 1.2).
    VersionMismatch,
}

impl FaultCode {
    fn local_name(self, version: SoapVersion) -> &'static str {
        match (self, version) {
            (Self::Client, SoapVersion::V11) => "Client",
            (Self::Client, SoapVersion::V12) => "Sender",
            (Self::Server, SoapVersion::V11) => "Server",
            (Self::Server, SoapVersion::V12) => "Receiver",
            (Self::VersionMismatch, _) => "VersionMismatch",
        }
    }
}

/// A SOAP fault: code, human-readable reason, optional detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    pub reason: String,
    pub detail: Option<String>,
}

impl Fault {
    /// A `Client` (`Sender`) fault.
    pub fn client(reason: impl Into<String>) -> Self {
        Self {
            code: FaultCode::Client,
            reason: reason.into(),
            detail: None,
        }
    }

    /// A `Server` (`Receiver`) fault.
    pub fn server(reason: impl Into<String>) -> Self {
        Self {
            code: FaultCode::Server,
            reason: reason.into(),
            detail: None,
        }
    }

    /// Adds a `detail` text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The HTTP status: always 500 in SOAP 1.1; in SOAP 1.2 (HTTP binding, part 2 §7.5.2)
    /// 400 for `Sender` faults and 500 otherwise.
    pub fn http_status(&self, version: SoapVersion) -> u16 {
        match (version, self.code) {
            (SoapVersion::V12, FaultCode::Client) => 400,
            _ => 500,
        }
    }
}

/// A fault envelope in the shape of the given SOAP version.
///
/// 1.1: `<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>…</faultstring>
/// <detail><tns:message>…</tns:message></detail></soapenv:Fault>`;
/// 1.2: `<soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Sender</soapenv:Value></soapenv:Code>
/// <soapenv:Reason><soapenv:Text xml:lang="en">…</soapenv:Text></soapenv:Reason>
/// <soapenv:Detail><tns:message>…</tns:message></soapenv:Detail></soapenv:Fault>`.
pub fn build_fault(version: SoapVersion, tns: &str, fault: &Fault) -> io::Result<Vec<u8>> {
    let code = format!("soapenv:{}", fault.code.local_name(version));
    let detail = fault
        .detail
        .as_ref()
        .map(|d| vec![Node::text("tns:message", d.as_str())]);
    let mut writer = new_writer()?;
    writer
        .create_element("soapenv:Envelope")
        .with_attribute(("xmlns:soapenv", version.namespace()))
        .with_attribute(("xmlns:tns", tns))
        .write_inner_content(|w| {
            w.create_element("soapenv:Body")
                .write_inner_content(|w| {
                    w.create_element("soapenv:Fault")
                        .write_inner_content(|w| match version {
                            SoapVersion::V11 => {
                                write_node(w, &Node::text("faultcode", code.as_str()))?;
                                write_node(w, &Node::text("faultstring", fault.reason.as_str()))?;
                                match &detail {
                                    Some(d) => write_node(w, &Node::parent("detail", d.clone())),
                                    None => Ok(()),
                                }
                            }
                            SoapVersion::V12 => {
                                let value = Node::text("soapenv:Value", code.as_str());
                                write_node(w, &Node::parent("soapenv:Code", vec![value]))?;
                                w.create_element("soapenv:Reason")
                                    .write_inner_content(|w| {
                                        w.create_element("soapenv:Text")
                                            .with_attribute(("xml:lang", "en"))
                                            .write_text_content(BytesText::new(&fault.reason))
                                            .map(|_| ())
                                    })?;
                                match &detail {
                                    Some(d) => {
                                        write_node(w, &Node::parent("soapenv:Detail", d.clone()))
                                    }
                                    None => Ok(()),
                                }
                            }
                        })
                        .map(|_| ())
                })
                .map(|_| ())
        })?;
    Ok(writer.into_inner())
}

/// Masks credentials in a recorded SOAP body: the content of every `password` and
/// `certificate`/`certificatekey` element (any prefix, any case) becomes `***`.
///
/// Pass it as `SimOptions::body_masker` (`TimeEditSim::start` does so when none is set). It
/// works on text, not on a parse, because recorded bodies may be truncated or malformed.
pub fn mask_body(body: &str) -> String {
    const SECRET: &[&str] = &["password", "certificate", "certificatekey"];
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let (before, tag) = rest.split_at(open);
        out.push_str(before);
        let name_end = tag[1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(tag.len(), |i| i + 1);
        let qname = &tag[1..name_end];
        let local = qname.rsplit(':').next().unwrap_or(qname);
        let Some(gt) = tag.find('>') else {
            out.push_str(tag);
            return out;
        };
        let self_closing = tag[..gt].ends_with('/');
        if SECRET.iter().any(|s| local.eq_ignore_ascii_case(s)) && !self_closing {
            out.push_str(&tag[..=gt]);
            out.push_str("***");
            let after = &tag[gt + 1..];
            match find_end_tag(after, qname) {
                Some(end) => rest = &after[end..],
                None => return out,
            }
        } else {
            out.push_str(&tag[..=gt]);
            rest = &tag[gt + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The offset of `</qname` (ASCII case-insensitive) in `text`.
fn find_end_tag(text: &str, qname: &str) -> Option<usize> {
    let needle = format!("</{qname}").to_ascii_lowercase();
    text.to_ascii_lowercase().find(&needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN_11: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:timeedit:soap:3">
  <soapenv:Header/>
  <soapenv:Body>
    <tns:getUsers>
      <tns:login><username>api</username><password>p&amp;w&lt;d</password><applicationkey>k&quot;1</applicationkey></tns:login>
      <tns:users>
        <user>
          <loginname>admin</loginname>
          <authserver>timeedit</authserver>
        </user>
      </tns:users>
    </tns:getUsers>
  </soapenv:Body>
</soapenv:Envelope>"#;

    #[test]
    fn parses_a_soap11_request_with_qualified_and_unqualified_children() {
        let env = parse_envelope(LOGIN_11).expect("envelope");
        assert_eq!(env.version, SoapVersion::V11);
        let op = &env.operation;
        assert!(op.is("getusers"));
        assert_eq!(op.namespace.as_deref(), Some("urn:timeedit:soap:3"));
        let login = op.child("LOGIN").expect("login");
        assert_eq!(login.child_text("password"), Some("p&w<d"));
        assert_eq!(login.child_text("applicationkey"), Some("k\"1"));
        let user = op
            .child("users")
            .and_then(|u| u.child("user"))
            .expect("user");
        assert_eq!(user.namespace, None);
        assert_eq!(user.child_text("loginname"), Some("admin"));
    }

    #[test]
    fn parses_soap12_cdata_char_refs_and_non_ascii() {
        let xml = "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body>\
                   <op xmlns=\"urn:x\"><a>&#233;t&#xE9; <![CDATA[<&>]]> 😀 é</a></op></e:Body></e:Envelope>";
        let env = parse_envelope(xml).expect("envelope");
        assert_eq!(env.version, SoapVersion::V12);
        assert_eq!(env.operation.namespace.as_deref(), Some("urn:x"));
        assert_eq!(env.operation.child_text("a"), Some("été <&> 😀 é"));
    }

    #[test]
    fn rejects_what_is_not_a_usable_envelope() {
        type Check = fn(&EnvelopeError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("<a><b></a>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<a>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<a/><b/>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<p:a/>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<a>&foo;</a>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<a>&#1;</a>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Malformed(_)))
            }),
            ("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::DocType))
            }),
            ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", |e| {
                matches!(e, EnvelopeError::Xml(XmlError::Encoding(_)))
            }),
            ("<Envelope/>", |e| {
                matches!(e, EnvelopeError::VersionMismatch(_))
            }),
            ("<s:Envelope xmlns:s=\"urn:other\"/>", |e| {
                matches!(e, EnvelopeError::VersionMismatch(_))
            }),
            ("<Body/>", |e| matches!(e, EnvelopeError::NotEnvelope)),
            (
                "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"/>",
                |e| matches!(e, EnvelopeError::NoBody),
            ),
            (
                "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body> </s:Body></s:Envelope>",
                |e| matches!(e, EnvelopeError::EmptyBody),
            ),
            (
                "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><a/><b/></s:Body></s:Envelope>",
                |e| matches!(e, EnvelopeError::SeveralOperations),
            ),
        ];
        for (xml, expected) in cases {
            let err = parse_envelope(xml).expect_err(xml);
            assert!(expected(&err), "{xml}: {err:?}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse_document(&deep),
            Err(XmlError::TooDeep),
            "nesting is bounded"
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_accepted() {
        let root = parse_document("\u{FEFF}<?xml version=\"1.0\"?><a>x</a>").expect("BOM");
        assert_eq!(root.text, "x");
    }

    #[test]
    fn builds_escaped_envelopes_that_parse_back() {
        let hostile = "<&>\"' é 😀 ]]>";
        let body = Node::parent(
            "tns:getUsersResponse",
            vec![Node::parent(
                "tns:users",
                vec![Node::parent(
                    "user",
                    vec![
                        Node::text("loginname", hostile),
                        Node::text("phone", ""),
                        Node::list("orgroles", "orgrole", &["a=b", "c"]),
                    ],
                )],
            )],
        );
        for version in [SoapVersion::V11, SoapVersion::V12] {
            let bytes = build_envelope(version, "urn:t\"&", &body).expect("write");
            let text = String::from_utf8(bytes).expect("utf-8");
            assert!(text.contains("&lt;&amp;&gt;"), "{text}");
            assert!(text.contains("<phone/>"), "{text}");
            let env = parse_envelope(&text).expect("parse back");
            assert_eq!(env.version, version);
            assert_eq!(env.operation.namespace.as_deref(), Some("urn:t\"&"));
            let user = env.operation.child("users").and_then(|u| u.child("user"));
            let user = user.expect("user");
            assert_eq!(user.child_text("loginname"), Some(hostile));
            let roles: Vec<_> = user
                .child("orgroles")
                .map(|r| r.children.iter().map(|c| c.text.clone()).collect())
                .unwrap_or_default();
            assert_eq!(roles, ["a=b", "c"]);
        }
    }

    #[test]
    fn control_characters_never_reach_the_output() {
        let bytes =
            build_envelope(SoapVersion::V11, "urn:t", &Node::text("a", "x\u{1}y")).expect("write");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert!(text.contains("x\u{FFFD}y"), "{text}");
    }

    #[test]
    fn faults_have_the_shape_of_their_version() {
        let fault = Fault::client("Invalid credentials <&>").with_detail("key expired");
        let v11 = String::from_utf8(build_fault(SoapVersion::V11, "urn:t", &fault).expect("w"))
            .expect("utf-8");
        let root = parse_document(&v11).expect("parse");
        let f = root
            .child("Body")
            .and_then(|b| b.child("Fault"))
            .expect("fault");
        assert_eq!(f.namespace.as_deref(), Some(SOAP11_NS));
        assert_eq!(f.child_text("faultcode"), Some("soapenv:Client"));
        assert_eq!(f.child_text("faultstring"), Some("Invalid credentials <&>"));
        let detail = f.child("detail").and_then(|d| d.child("message"));
        assert_eq!(detail.map(|d| d.text.as_str()), Some("key expired"));
        assert_eq!(fault.http_status(SoapVersion::V11), 500);

        let v12 = String::from_utf8(build_fault(SoapVersion::V12, "urn:t", &fault).expect("w"))
            .expect("utf-8");
        assert!(v12.contains("xml:lang=\"en\""), "{v12}");
        let root = parse_document(&v12).expect("parse");
        let f = root
            .child("Body")
            .and_then(|b| b.child("Fault"))
            .expect("fault");
        assert_eq!(f.namespace.as_deref(), Some(SOAP12_NS));
        let value = f.child("Code").and_then(|c| c.child("Value"));
        assert_eq!(value.map(|v| v.text.as_str()), Some("soapenv:Sender"));
        let text = f.child("Reason").and_then(|r| r.child("Text"));
        assert_eq!(
            text.map(|t| t.text.as_str()),
            Some("Invalid credentials <&>")
        );
        assert!(f.child("Detail").is_some());
        assert_eq!(fault.http_status(SoapVersion::V12), 400);
        assert_eq!(Fault::server("x").http_status(SoapVersion::V12), 500);
    }

    #[test]
    fn content_types_select_the_version() {
        let v = SoapVersion::from_content_type;
        assert_eq!(v("text/xml; charset=utf-8"), Some(SoapVersion::V11));
        assert_eq!(v("TEXT/XML"), Some(SoapVersion::V11));
        assert_eq!(
            v("application/soap+xml; charset=utf-8; action=\"urn:x\""),
            Some(SoapVersion::V12)
        );
        assert_eq!(v("application/json"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn mask_body_hides_passwords_and_certificates_only() {
        let masked = mask_body(LOGIN_11);
        assert!(masked.contains("<password>***</password>"), "{masked}");
        assert!(!masked.contains("p&amp;w"), "{masked}");
        assert!(masked.contains("<loginname>admin</loginname>"));
        assert!(masked.contains("<applicationkey>k&quot;1</applicationkey>"));
        assert_eq!(
            mask_body("<tns:certificate>c</tns:certificate><x:PASSWORD a='1'>s</x:PASSWORD>"),
            "<tns:certificate>***</tns:certificate><x:PASSWORD a='1'>***</x:PASSWORD>"
        );
        assert_eq!(mask_body("<password/><a>b</a>"), "<password/><a>b</a>");
        assert_eq!(mask_body("<password>trunc"), "<password>***");
        assert_eq!(
            mask_body("<passwordx>v</passwordx>"),
            "<passwordx>v</passwordx>"
        );
        assert_eq!(mask_body("not xml < at all"), "not xml < at all");
        assert_eq!(
            mask_body("é<password>é😀</password>é"),
            "é<password>***</password>é"
        );
    }
}
