//! WSDL 1.1 reading (quick-xml, namespace-aware): enough to call one operation of a
//! document/literal or rpc/literal SOAP 1.1 / 1.2 binding: endpoint, soapAction, version,
//! the call element's name and namespace, and (from an inline XML Schema) the order and
//! qualification of its parameters. `wsdl:import` and `xs:import` are not followed.

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use reqwest::Url;

use crate::sms::soap_config::SoapVersion;

const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const SOAP11_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const SOAP12_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// Deepest element nesting read.
const MAX_DEPTH: usize = 64;

/// Where an element of interest comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Wsdl,
    Soap(SoapVersion),
    Xsd,
    Other,
}

/// Document or rpc style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Document,
    Rpc,
}

#[derive(Debug, Default)]
struct Message {
    name: String,
    /// (part name, element namespace, element local name) — element parts only.
    element: Option<(Option<String>, String)>,
    part_names: Vec<String>,
}

#[derive(Debug, Default)]
struct Binding {
    name: String,
    port_type: String,
    version: Option<SoapVersion>,
    style: Option<Style>,
    operations: Vec<BindingOperation>,
}

#[derive(Debug, Default)]
struct BindingOperation {
    name: String,
    soap_action: Option<String>,
    style: Option<Style>,
    body_namespace: Option<String>,
}

#[derive(Debug)]
struct Port {
    binding: String,
    location: Option<String>,
}

#[derive(Debug, Default)]
struct SchemaType {
    name: String,
    namespace: Option<String>,
    qualified: bool,
    /// For elements: the named type (local name) when not inline.
    type_ref: Option<String>,
    /// Child element names of the (inline or named) sequence, in order.
    children: Vec<String>,
}

/// A parsed WSDL.
#[derive(Debug, Default)]
pub(crate) struct Wsdl {
    target_namespace: Option<String>,
    messages: Vec<Message>,
    /// (port type name, [(operation name, input message local name)]).
    port_types: Vec<(String, Vec<(String, String)>)>,
    bindings: Vec<Binding>,
    ports: Vec<Port>,
    elements: Vec<SchemaType>,
    complex_types: Vec<SchemaType>,
}

/// Everything needed to call one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub endpoint: Url,
    pub soap_action: String,
    pub version: SoapVersion,
    pub element: String,
    pub namespace: Option<String>,
    /// Whether parameter elements are namespace-qualified (schema `elementFormDefault`).
    pub qualified_children: bool,
    /// Parameter order from the schema, when known.
    pub parameter_order: Option<Vec<String>>,
    pub style: Style,
}

impl Wsdl {
    /// Parses a WSDL document.
    pub fn parse(xml: &str) -> Result<Self, String> {
        let mut reader = NsReader::from_str(xml);
        let mut wsdl = Wsdl::default();
        let mut stack: Vec<(Ns, String)> = Vec::new();
        let mut schema: Vec<(Option<String>, bool)> = Vec::new();
        loop {
            let event = reader.read_event().map_err(|error| {
                format!(
                    "not well-formed XML at byte {}: {error}",
                    reader.buffer_position()
                )
            })?;
            match event {
                Event::Start(start) => {
                    let (ns, local) = classify(&reader, &start);
                    wsdl.open(&reader, &start, ns, &local, &stack, &mut schema)?;
                    stack.push((ns, local));
                    if stack.len() > MAX_DEPTH {
                        return Err("elements nested too deeply".into());
                    }
                }
                Event::Empty(start) => {
                    let (ns, local) = classify(&reader, &start);
                    wsdl.open(&reader, &start, ns, &local, &stack, &mut schema)?;
                    if ns == Ns::Xsd && local == "schema" {
                        schema.pop();
                    }
                }
                Event::End(_) => {
                    if let Some((Ns::Xsd, local)) = stack.pop()
                        && local == "schema"
                    {
                        schema.pop();
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if wsdl.bindings.is_empty() {
            return Err("the WSDL has no SOAP binding".into());
        }
        Ok(wsdl)
    }

    /// Handles an opening (or empty) element.
    fn open(
        &mut self,
        reader: &NsReader<&[u8]>,
        start: &BytesStart<'_>,
        ns: Ns,
        local: &str,
        stack: &[(Ns, String)],
        schema: &mut Vec<(Option<String>, bool)>,
    ) -> Result<(), String> {
        let parent = stack.last().map(|(ns, local)| (*ns, local.as_str()));
        let attr = |name: &str| attribute(start, name);
        match (ns, local, parent) {
            (Ns::Wsdl, "definitions", _) => self.target_namespace = attr("targetNamespace"),
            (Ns::Wsdl, "message", Some((Ns::Wsdl, "definitions"))) => self.messages.push(Message {
                name: attr("name").unwrap_or_default(),
                ..Message::default()
            }),
            (Ns::Wsdl, "part", Some((Ns::Wsdl, "message"))) => {
                if let Some(message) = self.messages.last_mut() {
                    message.part_names.push(attr("name").unwrap_or_default());
                    if let Some(element) = attr("element") {
                        message.element = Some(resolve_qname(reader, &element));
                    }
                }
            }
            (Ns::Wsdl, "portType", Some((Ns::Wsdl, "definitions"))) => {
                self.port_types
                    .push((attr("name").unwrap_or_default(), Vec::new()));
            }
            (Ns::Wsdl, "operation", Some((Ns::Wsdl, "portType"))) => {
                if let Some((_, operations)) = self.port_types.last_mut() {
                    operations.push((attr("name").unwrap_or_default(), String::new()));
                }
            }
            (Ns::Wsdl, "input", Some((Ns::Wsdl, "operation")))
                if in_parent(stack, 2, Ns::Wsdl, "portType") =>
            {
                if let Some((_, input)) = self
                    .port_types
                    .last_mut()
                    .and_then(|(_, operations)| operations.last_mut())
                {
                    *input = local_part(&attr("message").unwrap_or_default()).to_owned();
                }
            }
            (Ns::Wsdl, "binding", Some((Ns::Wsdl, "definitions"))) => self.bindings.push(Binding {
                name: attr("name").unwrap_or_default(),
                port_type: local_part(&attr("type").unwrap_or_default()).to_owned(),
                ..Binding::default()
            }),
            (Ns::Soap(version), "binding", Some((Ns::Wsdl, "binding"))) => {
                if let Some(binding) = self.bindings.last_mut() {
                    binding.version = Some(version);
                    binding.style = attr("style").as_deref().map(style);
                }
            }
            (Ns::Wsdl, "operation", Some((Ns::Wsdl, "binding"))) => {
                if let Some(binding) = self.bindings.last_mut() {
                    binding.operations.push(BindingOperation {
                        name: attr("name").unwrap_or_default(),
                        ..BindingOperation::default()
                    });
                }
            }
            (Ns::Soap(_), "operation", Some((Ns::Wsdl, "operation"))) => {
                if let Some(operation) = self.last_binding_operation() {
                    operation.soap_action = attr("soapAction");
                    operation.style = attr("style").as_deref().map(style);
                }
            }
            (Ns::Soap(_), "body", Some((Ns::Wsdl, "input")))
                if in_parent(stack, 3, Ns::Wsdl, "binding") =>
            {
                if let Some(operation) = self.last_binding_operation() {
                    operation.body_namespace = attr("namespace");
                }
            }
            (Ns::Wsdl, "port", Some((Ns::Wsdl, "service"))) => self.ports.push(Port {
                binding: local_part(&attr("binding").unwrap_or_default()).to_owned(),
                location: None,
            }),
            (Ns::Soap(_), "address", Some((Ns::Wsdl, "port"))) => {
                if let Some(port) = self.ports.last_mut() {
                    port.location = attr("location");
                }
            }
            (Ns::Xsd, "schema", _) => {
                let qualified = attr("elementFormDefault").as_deref() == Some("qualified");
                schema.push((attr("targetNamespace"), qualified));
            }
            (Ns::Xsd, "element" | "complexType", Some((Ns::Xsd, "schema"))) => {
                let (namespace, qualified) = schema.last().cloned().unwrap_or_default();
                let entry = SchemaType {
                    name: attr("name").unwrap_or_default(),
                    namespace,
                    qualified,
                    type_ref: attr("type").map(|name| local_part(&name).to_owned()),
                    children: Vec::new(),
                };
                if local == "element" {
                    self.elements.push(entry);
                } else {
                    self.complex_types.push(entry);
                }
            }
            (Ns::Xsd, "element", Some((Ns::Xsd, "sequence"))) => {
                let child =
                    attr("name").or_else(|| attr("ref").map(|name| local_part(&name).to_owned()));
                let top = stack
                    .iter()
                    .rposition(|(ns, local)| *ns == Ns::Xsd && local == "schema");
                let Some(top) = top else { return Ok(()) };
                let path: Vec<&str> = stack[top + 1..]
                    .iter()
                    .map(|(_, local)| local.as_str())
                    .collect();
                let target = match path.as_slice() {
                    ["element", "complexType", "sequence"] => self.elements.last_mut(),
                    ["complexType", "sequence"] => self.complex_types.last_mut(),
                    _ => None,
                };
                if let (Some(target), Some(child)) = (target, child) {
                    target.children.push(child);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn last_binding_operation(&mut self) -> Option<&mut BindingOperation> {
        self.bindings
            .last_mut()
            .and_then(|binding| binding.operations.last_mut())
    }
}

impl Wsdl {
    /// The call target for operation `call` (or the only operation), speaking `version` (or
    /// the binding's: SOAP 1.1 preferred when the WSDL has both). `wsdl_url` resolves a
    /// relative endpoint.
    pub fn target(
        &self,
        call: Option<&str>,
        version: Option<SoapVersion>,
        wsdl_url: &Url,
    ) -> Result<Target, String> {
        let has_call = |binding: &&Binding| {
            binding.version.is_some()
                && call.is_none_or(|call| {
                    binding
                        .operations
                        .iter()
                        .any(|operation| operation.name == call)
                })
        };
        let preferred = version.unwrap_or(SoapVersion::V1_1);
        let binding = self
            .bindings
            .iter()
            .filter(has_call)
            .find(|binding| binding.version == Some(preferred))
            .or_else(|| self.bindings.iter().find(has_call))
            .ok_or_else(|| match call {
                Some(call) => format!(
                    "no SOAP binding has the operation {call:?}; operations: {}",
                    self.operation_names().join(", ")
                ),
                None => "no SOAP binding".to_owned(),
            })?;
        let operation = match call {
            Some(call) => binding
                .operations
                .iter()
                .find(|operation| operation.name == call),
            None if binding.operations.len() == 1 => binding.operations.first(),
            None => {
                return Err(format!(
                    "the WSDL has several operations ({}); set call",
                    self.operation_names().join(", ")
                ));
            }
        }
        .ok_or("the binding has no operation")?;
        let location = self
            .ports
            .iter()
            .find(|port| port.binding == binding.name && port.location.is_some())
            .and_then(|port| port.location.as_deref())
            .ok_or_else(|| {
                format!(
                    "no service port with an address uses the binding {:?}",
                    binding.name
                )
            })?;
        let endpoint = wsdl_url
            .join(location)
            .map_err(|error| format!("the service address {location:?} is not a URL ({error})"))?;
        let style = operation.style.or(binding.style).unwrap_or(Style::Document);
        let input = self
            .port_types
            .iter()
            .find(|(name, _)| *name == binding.port_type)
            .and_then(|(_, operations)| operations.iter().find(|(name, _)| *name == operation.name))
            .and_then(|(_, input)| self.messages.iter().find(|message| message.name == *input));
        let version = version.or(binding.version).unwrap_or(SoapVersion::V1_1);
        let soap_action = operation.soap_action.clone().unwrap_or_default();
        if style == Style::Rpc {
            return Ok(Target {
                endpoint,
                soap_action,
                version,
                element: operation.name.clone(),
                namespace: operation
                    .body_namespace
                    .clone()
                    .or_else(|| self.target_namespace.clone()),
                qualified_children: false,
                parameter_order: input.map(|message| message.part_names.clone()),
                style,
            });
        }
        let (namespace, element) = match input.and_then(|message| message.element.clone()) {
            Some(element) => element,
            None => (self.target_namespace.clone(), operation.name.clone()),
        };
        let schema_element = self.elements.iter().find(|entry| {
            entry.name == element && (namespace.is_none() || entry.namespace == namespace)
        });
        let children = schema_element.and_then(|entry| {
            if entry.children.is_empty() {
                let type_name = entry.type_ref.as_deref()?;
                self.complex_types
                    .iter()
                    .find(|complex| complex.name == type_name)
                    .map(|complex| complex.children.clone())
            } else {
                Some(entry.children.clone())
            }
        });
        Ok(Target {
            endpoint,
            soap_action,
            version,
            namespace: namespace
                .or_else(|| schema_element.and_then(|entry| entry.namespace.clone())),
            element,
            qualified_children: schema_element.is_some_and(|entry| entry.qualified),
            parameter_order: children,
            style,
        })
    }

    /// Every operation name of every SOAP binding, once.
    pub fn operation_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for operation in self.bindings.iter().flat_map(|binding| &binding.operations) {
            if !names.contains(&operation.name.as_str()) {
                names.push(&operation.name);
            }
        }
        names
    }
}

/// The element's namespace class and local name.
fn classify(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> (Ns, String) {
    let (resolved, local) = reader.resolver().resolve_element(start.name());
    let ns = match resolved {
        ResolveResult::Bound(namespace) => match namespace.into_inner() {
            WSDL_NS => Ns::Wsdl,
            SOAP11_BINDING_NS => Ns::Soap(SoapVersion::V1_1),
            SOAP12_BINDING_NS => Ns::Soap(SoapVersion::V1_2),
            XSD_NS => Ns::Xsd,
            _ => Ns::Other,
        },
        _ => Ns::Other,
    };
    (ns, local.into_inner().to_owned())
}

/// An unprefixed attribute's normalised value.
fn attribute(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|attribute| attribute.normalized_value(XmlVersion::Implicit1_0).ok())
        .map(|value| value.into_owned())
}

/// A QName attribute value (`tns:SendSms`) resolved with the bindings in scope.
fn resolve_qname(reader: &NsReader<&[u8]>, value: &str) -> (Option<String>, String) {
    let (resolved, local) = reader.resolver().resolve_element(QName(value));
    let namespace = match resolved {
        ResolveResult::Bound(namespace) => Some(namespace.into_inner().to_owned()),
        _ => None,
    };
    (namespace, local.into_inner().to_owned())
}

/// `prefix:local` → `local`.
fn local_part(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, local)| local)
}

fn style(value: &str) -> Style {
    if value == "rpc" {
        Style::Rpc
    } else {
        Style::Document
    }
}

/// Whether the ancestor `depth` levels above the current parent's child is `(ns, local)`:
/// `depth` 1 is the parent, 2 the grandparent.
fn in_parent(stack: &[(Ns, String)], depth: usize, ns: Ns, local: &str) -> bool {
    stack
        .len()
        .checked_sub(depth)
        .and_then(|index| stack.get(index))
        .is_some_and(|(seen_ns, seen_local)| *seen_ns == ns && seen_local == local)
}

#[cfg(test)]
#[path = "wsdl_tests.rs"]
mod tests;
