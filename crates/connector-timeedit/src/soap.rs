//! SOAP 1.1 on the wire (docs/connectors/timeedit.md "Wire format"): request envelopes written with quick-xml's writer,
//! which escapes every text and attribute value, and answers read into a small element tree
//! that is matched leniently (local names, any case, qualified or not).

use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer, XmlVersion};

/// SOAP 1.1 envelope namespace.
pub(crate) const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The request `Content-Type` of SOAP 1.1.
pub(crate) const CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// docs/connectors/timeedit.md "Wire format" [O]: `SOAPAction: ""` (the empty URI, quotes included).
pub(crate) const SOAP_ACTION: &str = "\"\"";

/// An answer nested deeper than this is refused: a TimeEdit answer needs about 8 levels, and
/// the bound keeps a hostile or broken answer from costing stack when the tree is dropped.
const MAX_DEPTH: usize = 64;

/// What went wrong writing a request or reading an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// A value holds a character XML 1.0 cannot carry at all (e.g. U+0001).
    #[error("the value of <{0}> holds a character XML cannot carry")]
    Unencodable(String),
    /// The answer is not well-formed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The answer is XML but not the SOAP shape or not the documented content.
    #[error("unexpected answer: {0}")]
    Shape(String),
}

fn xml_error(e: impl std::fmt::Display) -> SoapError {
    SoapError::Xml(e.to_string())
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

// ---- writing ------------------------------------------------------------------------------

/// Writes the inside of a request's operation element. Names are written as given, so the
/// caller qualifies top-level parameters (`tns:users`) and leaves nested children bare.
pub(crate) struct BodyWriter {
    writer: Writer<Vec<u8>>,
}

impl BodyWriter {
    /// `<name>value</name>`, or `<name/>` for an empty value; the value is escaped by
    /// quick-xml (`< > & ' "` and `\r`, which XML would otherwise turn into `\n`).
    pub fn text(&mut self, name: &str, value: &str) -> Result<(), SoapError> {
        if !value.chars().all(is_xml_char) {
            return Err(SoapError::Unencodable(name.to_owned()));
        }
        if value.is_empty() {
            return self.event(Event::Empty(BytesStart::new(name)));
        }
        self.event(Event::Start(BytesStart::new(name)))?;
        self.event(Event::Text(BytesText::new(value)))?;
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// `xsd:boolean`.
    pub fn boolean(&mut self, name: &str, value: bool) -> Result<(), SoapError> {
        self.text(name, if value { "true" } else { "false" })
    }

    /// `<name>…</name>` around whatever `inner` writes.
    pub fn element(
        &mut self,
        name: &str,
        inner: impl FnOnce(&mut Self) -> Result<(), SoapError>,
    ) -> Result<(), SoapError> {
        self.event(Event::Start(BytesStart::new(name)))?;
        inner(self)?;
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// A wrapper plus one item per value: `<orgroles><orgrole>…</orgrole></orgroles>`.
    pub fn list(&mut self, name: &str, item: &str, values: &[String]) -> Result<(), SoapError> {
        self.element(name, |w| values.iter().try_for_each(|v| w.text(item, v)))
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), SoapError> {
        self.writer.write_event(event).map_err(xml_error)
    }
}

/// An XML fragment (no declaration, no envelope): what a preview shows of a request.
pub(crate) fn write_fragment(
    inner: impl FnOnce(&mut BodyWriter) -> Result<(), SoapError>,
) -> Result<String, SoapError> {
    let mut w = BodyWriter {
        writer: Writer::new(Vec::new()),
    };
    inner(&mut w)?;
    String::from_utf8(w.writer.into_inner()).map_err(xml_error)
}

/// A whole SOAP 1.1 request: `soapenv:Envelope` (declaring `tns`) / `soapenv:Body` /
/// `tns:{operation}` around what `params` writes (doc/literal wrapped, docs/connectors/timeedit.md "Wire format").
pub(crate) fn write_request(
    tns: &str,
    operation: &str,
    params: impl FnOnce(&mut BodyWriter) -> Result<(), SoapError>,
) -> Result<Vec<u8>, SoapError> {
    if !tns.chars().all(is_xml_char) {
        return Err(SoapError::Unencodable("xmlns:tns".into()));
    }
    let mut w = BodyWriter {
        writer: Writer::new(Vec::new()),
    };
    w.event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    // Attribute values given as (&str, &str) pairs are escaped by quick-xml.
    let envelope = BytesStart::new("soapenv:Envelope")
        .with_attributes([("xmlns:soapenv", SOAP11_NS), ("xmlns:tns", tns)]);
    w.event(Event::Start(envelope))?;
    w.element("soapenv:Body", |w| {
        w.element(&format!("tns:{operation}"), params)
    })?;
    w.event(Event::End(BytesEnd::new("soapenv:Envelope")))?;
    Ok(w.writer.into_inner())
}

// ---- reading ------------------------------------------------------------------------------

/// One element of an answer: its local name (prefix dropped), child elements, and the
/// unescaped character data directly inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// Whether the local name is `name`, ignoring case (docs/connectors/timeedit.md "Wire format" leniency).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The first child with this local name.
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

    /// The text of the first child named any of `names` (for names that vary by source).
    pub fn child_text_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.child_text(n))
    }

    /// The items of an array: under each `wrapper` child, its `item` children, or the
    /// wrapper itself when it holds no such children but has content (an unwrapped array,
    /// `<tns:status>0</tns:status><tns:status>1</tns:status>`).
    pub fn items<'a>(&'a self, wrapper: &'a str, item: &'a str) -> Vec<&'a Element> {
        let mut out = Vec::new();
        for w in self.children_named(wrapper) {
            let before = out.len();
            out.extend(w.children_named(item));
            if out.len() == before && (!w.children.is_empty() || !w.text.trim().is_empty()) {
                out.push(w);
            }
        }
        out
    }

    /// All character data inside, depth-first (for fault details).
    pub fn deep_text(&self) -> String {
        let mut out = self.text.trim().to_owned();
        for child in &self.children {
            let inner = child.deep_text();
            if !inner.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&inner);
            }
        }
        out
    }
}

fn local_name(qname: &str) -> String {
    qname.rsplit(':').next().unwrap_or(qname).to_owned()
}

/// Parses a whole document into its root element. Namespaces are not resolved: answers are
/// matched on local names, so an undeclared or unexpected prefix does not matter.
pub(crate) fn parse_document(xml: &str) -> Result<Element, SoapError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(SoapError::Xml("content after the root element".into()));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::Xml(format!(
                        "nested deeper than {MAX_DEPTH} elements"
                    )));
                }
                stack.push(Element {
                    name: local_name(start.name().as_ref()),
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: local_name(start.name().as_ref()),
                    ..Element::default()
                };
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| SoapError::Xml("unexpected end tag".into()))?;
                attach(&mut stack, &mut root, element);
            }
            Event::Text(text) => push_text(&mut stack, &text.xml10_content()),
            Event::CData(data) => push_text(&mut stack, &data.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(xml_error)? {
                    Some(c) if is_xml_char(c) => c.to_string(),
                    Some(c) => {
                        return Err(SoapError::Xml(format!(
                            "character U+{:04X} is not allowed in XML",
                            u32::from(c)
                        )));
                    }
                    None => resolve_xml_entity(&reference)
                        .ok_or_else(|| SoapError::Xml(format!("unknown entity &{};", &*reference)))?
                        .to_owned(),
                };
                push_text(&mut stack, &resolved);
            }
            // Entities a DTD declares are never expanded; refusing the DTD says so plainly.
            Event::DocType(_) => {
                return Err(SoapError::Xml("a document type declaration".into()));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    match (root, stack.is_empty()) {
        (Some(root), true) => Ok(root),
        (None, true) => Err(SoapError::Xml("no root element".into())),
        (_, false) => Err(SoapError::Xml("unclosed element".into())),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Text outside the root element (whitespace) is dropped.
fn push_text(stack: &mut [Element], text: &str) {
    if let Some(current) = stack.last_mut() {
        current.text.push_str(text);
    }
}

/// The kind of a SOAP fault, read from the 1.1 `faultcode` or the 1.2 `Code/Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FaultCode {
    /// The request is at fault (1.1 `Client`, 1.2 `Sender`).
    Client,
    /// The service failed (1.1 `Server`, 1.2 `Receiver`).
    Server,
    /// `VersionMismatch`, `MustUnderstand` or a code of the vendor's own, as sent.
    Other(String),
}

impl FaultCode {
    /// `soapenv:Client.Authentication` → `Client`: the prefix and any dotted refinement
    /// (SOAP 1.1 §4.4.1) are ignored.
    fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        let local = raw.rsplit(':').next().unwrap_or(raw);
        let base = local.split('.').next().unwrap_or(local);
        if base.eq_ignore_ascii_case("Client") || base.eq_ignore_ascii_case("Sender") {
            Self::Client
        } else if base.eq_ignore_ascii_case("Server") || base.eq_ignore_ascii_case("Receiver") {
            Self::Server
        } else {
            Self::Other(raw.to_owned())
        }
    }
}

/// A SOAP fault as answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub code: FaultCode,
    /// `faultstring` (1.1) or the first `Reason/Text` (1.2).
    pub reason: String,
    /// The text of `detail` / `Detail`, if any.
    pub detail: Option<String>,
}

impl Fault {
    fn from_element(fault: &Element) -> Self {
        // SOAP 1.2: Code/Value, Reason/Text, Detail; SOAP 1.1: faultcode, faultstring, detail.
        let code = match fault.child("Code") {
            Some(code) => code.child_text("Value").unwrap_or_default(),
            None => fault.child_text("faultcode").unwrap_or_default(),
        };
        let reason = match fault.child("Reason") {
            Some(reason) => reason.child_text("Text").unwrap_or(reason.text.as_str()),
            None => fault.child_text("faultstring").unwrap_or_default(),
        };
        let detail = fault
            .child("detail")
            .map(Element::deep_text)
            .filter(|d| !d.is_empty());
        Fault {
            code: FaultCode::parse(code),
            reason: reason.trim().to_owned(),
            detail,
        }
    }
}

/// Reads an answer envelope: the element inside `Body` (the operation's response), or the
/// fault it carries. Envelope and Body are matched by local name, so SOAP 1.1 and 1.2 both
/// read.
pub(crate) fn parse_response(xml: &str) -> Result<Result<Element, Fault>, SoapError> {
    let root = parse_document(xml)?;
    if !root.is("Envelope") {
        return Err(SoapError::Shape(format!(
            "the root element is <{}>, not a SOAP Envelope",
            root.name
        )));
    }
    let mut root = root;
    let body_at = root
        .children
        .iter()
        .position(|c| c.is("Body"))
        .ok_or_else(|| SoapError::Shape("the SOAP Envelope has no Body".into()))?;
    let body = root.children.swap_remove(body_at);
    let content = body
        .children
        .into_iter()
        .next()
        .ok_or_else(|| SoapError::Shape("the SOAP Body is empty".into()))?;
    if content.is("Fault") {
        Ok(Err(Fault::from_element(&content)))
    } else {
        Ok(Ok(content))
    }
}

/// The `targetNamespace` of a WSDL document (the attribute of its root `definitions`, or
/// `description` in WSDL 2.0).
pub(crate) fn wsdl_target_namespace(xml: &str) -> Result<String, SoapError> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(start) | Event::Empty(start) => {
                let name = local_name(start.name().as_ref());
                if !name.eq_ignore_ascii_case("definitions")
                    && !name.eq_ignore_ascii_case("description")
                {
                    return Err(SoapError::Shape(format!(
                        "the root element is <{name}>, not a WSDL definitions"
                    )));
                }
                let attr = start
                    .try_get_attribute("targetNamespace")
                    .map_err(xml_error)?
                    .ok_or_else(|| SoapError::Shape("the WSDL has no targetNamespace".into()))?;
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(xml_error)?;
                let value = value.trim();
                if value.is_empty() {
                    return Err(SoapError::Shape(
                        "the WSDL's targetNamespace is empty".into(),
                    ));
                }
                return Ok(value.to_owned());
            }
            Event::Eof => return Err(SoapError::Xml("no root element".into())),
            Event::DocType(_) => {
                return Err(SoapError::Xml("a document type declaration".into()));
            }
            _ => {}
        }
    }
}

/// An integer element (`code`, `totalnumberofusers`), blanks ignored.
pub(crate) fn parse_int<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, SoapError> {
    raw.trim()
        .parse()
        .map_err(|_| SoapError::Shape(format!("<{name}> is not an integer: {raw:?}")))
}

/// An `xsd:boolean` (`true`/`false`/`1`/`0`, any case, blanks ignored); `None` when empty.
pub(crate) fn parse_bool(name: &str, raw: &str) -> Result<Option<bool>, SoapError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(SoapError::Shape(format!(
            "<{name}> is not a boolean: {raw:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(params: impl FnOnce(&mut BodyWriter) -> Result<(), SoapError>) -> String {
        let bytes = write_request("urn:t\"&<", "importUsers", params).expect("write");
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn envelopes_are_doc_literal_wrapped_and_escape_every_value() {
        let hostile = "<a>&\"b\"'c' ]]> \r Åsa Ñúñez 日本";
        let xml = request(|w| {
            w.element("tns:login", |w| {
                w.text("username", "api")?;
                w.text("password", hostile)?;
                w.text("applicationkey", "k&y")
            })?;
            w.element("tns:users", |w| {
                w.element("user", |w| {
                    w.text("loginname", hostile)?;
                    w.text("phone", "")?;
                    w.list("orgroles", "orgrole", &[hostile.to_owned()])
                })
            })
        });
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
            "{xml}"
        );
        assert!(
            xml.contains(&format!(
                "<soapenv:Envelope xmlns:soapenv=\"{SOAP11_NS}\" xmlns:tns=\"urn:t&quot;&amp;&lt;\"><soapenv:Body><tns:importUsers><tns:login><username>api</username>"
            )),
            "{xml}"
        );
        assert!(
            xml.contains("<loginname>&lt;a&gt;&amp;&quot;b&quot;&apos;c&apos; ]]&gt; &#13; Åsa Ñúñez 日本</loginname>"),
            "{xml}"
        );
        assert!(
            xml.contains("<applicationkey>k&amp;y</applicationkey>"),
            "{xml}"
        );
        assert!(xml.contains("<phone/>"), "{xml}");
        assert!(xml.ends_with("</tns:importUsers></soapenv:Body></soapenv:Envelope>"));

        // It reads back exactly, `\r` included.
        let root = parse_document(&xml).expect("well-formed");
        let user = root
            .child("body")
            .and_then(|b| b.child("importusers"))
            .and_then(|o| o.child("users"))
            .and_then(|u| u.child("user"))
            .expect("user");
        assert_eq!(user.child_text("loginname"), Some(hostile));
        assert_eq!(user.items("orgroles", "orgrole")[0].text, hostile);
    }

    #[test]
    fn values_xml_cannot_carry_are_refused_not_mangled() {
        let err = write_request("urn:t", "op", |w| w.text("firstname", "a\u{1}b"))
            .expect_err("control character");
        assert_eq!(err, SoapError::Unencodable("firstname".into()));
        assert!(write_request("urn:\u{0}", "op", |_| Ok(())).is_err());
    }

    #[test]
    fn answers_match_local_names_in_any_case_qualified_or_not() {
        let xml = "<?xml version='1.0'?>\n<S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:ns2=\"urn:x\">\
                   <S:Header/><S:Body><ns2:FindUsersResponse><ns2:Users><User><LoginName>a&amp;b</LoginName></User>\
                   <ns2:user><loginname><![CDATA[<c>]]></loginname></ns2:user></ns2:Users>\
                   <TotalNumOfUsers> 2 </TotalNumOfUsers></ns2:FindUsersResponse></S:Body></S:Envelope>";
        let response = parse_response(xml).expect("xml").expect("not a fault");
        assert!(response.is("findusersresponse"));
        let users = response.items("users", "user");
        let names: Vec<_> = users
            .iter()
            .filter_map(|u| u.child_text("loginname"))
            .collect();
        assert_eq!(names, ["a&b", "<c>"]);
        let total = response
            .child_text_any(&["totalnumberofusers", "totalnumofusers"])
            .expect("total");
        assert_eq!(parse_int::<u64>("total", total), Ok(2));
    }

    #[test]
    fn arrays_read_wrapped_or_unwrapped() {
        let root = parse_document(
            "<r><status><status>0</status><status><code>2</code></status></status>\
             <tns:status xmlns:tns='u'>5</tns:status><status/></r>",
        )
        .expect("xml");
        let items = root.items("status", "status");
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].text, "0");
        assert_eq!(items[1].child_text("code"), Some("2"));
        assert_eq!(items[2].text, "5");
        let empty = parse_document("<r><users/></r>").expect("xml");
        assert!(empty.items("users", "user").is_empty());
    }

    #[test]
    fn soap11_faults_are_read() {
        let xml = "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>\
                   <soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>Invalid credentials</faultstring>\
                   <detail><tns:message xmlns:tns='u'>the application key has expired</tns:message></detail>\
                   </soapenv:Fault></soapenv:Body></soapenv:Envelope>";
        let fault = parse_response(xml).expect("xml").expect_err("fault");
        assert_eq!(
            fault,
            Fault {
                code: FaultCode::Client,
                reason: "Invalid credentials".into(),
                detail: Some("the application key has expired".into()),
            }
        );
    }

    #[test]
    fn soap12_faults_and_refined_codes_are_read() {
        let xml = "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body><e:Fault>\
                   <e:Code><e:Value>e:Receiver</e:Value></e:Code>\
                   <e:Reason><e:Text xml:lang=\"en\">down &amp; out</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>";
        let fault = parse_response(xml).expect("xml").expect_err("fault");
        assert_eq!(fault.code, FaultCode::Server);
        assert_eq!(fault.reason, "down & out");
        assert_eq!(fault.detail, None);
        assert_eq!(
            FaultCode::parse("soap:Client.Authentication"),
            FaultCode::Client
        );
        assert_eq!(FaultCode::parse("Sender"), FaultCode::Client);
        assert_eq!(FaultCode::parse("SERVER"), FaultCode::Server);
        assert_eq!(
            FaultCode::parse("s:VersionMismatch"),
            FaultCode::Other("s:VersionMismatch".into())
        );
    }

    #[test]
    fn what_is_not_a_soap_answer_is_an_error() {
        for xml in [
            "",
            "<a><b></a>",
            "<html>bad gateway</html>",
            "<Envelope/>",
            "<Envelope><Body/></Envelope>",
            "<a>&foo;</a>",
            "<a>&#1;</a>",
            "<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
            "<a/><b/>",
        ] {
            assert!(parse_response(xml).is_err(), "{xml}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse_document(&deep).is_err(), "nesting is bounded");
    }

    #[test]
    fn the_wsdl_target_namespace_is_read_and_unescaped() {
        let wsdl = "<?xml version=\"1.0\"?><!-- c --><wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" \
                    targetNamespace=\"urn:a&amp;b\"><wsdl:types/></wsdl:definitions>";
        assert_eq!(wsdl_target_namespace(wsdl), Ok("urn:a&b".to_owned()));
        assert!(wsdl_target_namespace("<definitions/>").is_err());
        assert!(wsdl_target_namespace("<html targetNamespace='x'/>").is_err());
        assert!(wsdl_target_namespace("").is_err());
    }

    #[test]
    fn scalars_parse_leniently_but_not_loosely() {
        assert_eq!(parse_bool("b", " TRUE "), Ok(Some(true)));
        assert_eq!(parse_bool("b", "0"), Ok(Some(false)));
        assert_eq!(parse_bool("b", ""), Ok(None));
        assert!(parse_bool("b", "yes").is_err());
        assert_eq!(parse_int::<i32>("code", " 5\n"), Ok(5));
        assert!(parse_int::<i32>("code", "five").is_err());
    }
}
