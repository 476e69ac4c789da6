//! SOAP envelopes: building the request (quick-xml writer, every inserted value escaped)
//! and reading the answer (fault or body element paths for response-key checks).

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use zeroize::Zeroizing;

use crate::sms::config::KeyPath;
use crate::sms::soap_config::{Param, SoapVersion};
use crate::sms::xml_body::is_xml_char;
use crate::template::TagValues;

const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Deepest answer nesting read.
const MAX_DEPTH: usize = 64;
/// Most element paths recorded from an answer.
const MAX_PATHS: usize = 4096;

/// The call element to write.
pub(crate) struct CallElement<'a> {
    pub version: SoapVersion,
    pub element: &'a str,
    pub namespace: Option<&'a str>,
    pub qualified_children: bool,
    pub attributes: &'a [(String, Param)],
    pub params: &'a [(&'a str, &'a Param)],
}

/// The envelope bytes (they carry the code: zeroized on drop).
pub(crate) fn build_envelope(call: &CallElement<'_>, values: &TagValues<'_>) -> Zeroizing<Vec<u8>> {
    let mut writer = Writer::new(Vec::new());
    let envelope_ns = match call.version {
        SoapVersion::V1_1 => SOAP11_ENV,
        SoapVersion::V1_2 => SOAP12_ENV,
    };
    // Writing into a Vec cannot fail; the io::Result is ignored on purpose below.
    let mut write = |event: Event<'_>| {
        let _ = writer.write_event(event);
    };
    write(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    write(Event::Start(
        BytesStart::new("soapenv:Envelope").with_attributes([("xmlns:soapenv", envelope_ns)]),
    ));
    write(Event::Start(BytesStart::new("soapenv:Body")));
    let name = match (call.namespace, call.qualified_children) {
        (Some(_), false) => format!("sae:{}", call.element),
        _ => call.element.to_owned(),
    };
    let mut start = BytesStart::new(name.as_str());
    match (call.namespace, call.qualified_children) {
        (Some(namespace), true) => start.push_attribute(("xmlns", namespace)),
        (Some(namespace), false) => start.push_attribute(("xmlns:sae", namespace)),
        (None, _) => {}
    }
    for (attribute, value) in call.attributes {
        let value = scalar(value, values);
        start.push_attribute((attribute.as_str(), value.as_str()));
    }
    write(Event::Start(start));
    let mut events = Vec::new();
    for (param_name, param) in call.params {
        param_events(param_name, param, values, &mut events);
    }
    for event in events {
        write(event);
    }
    write(Event::End(BytesEnd::new(name.as_str())));
    write(Event::End(BytesEnd::new("soapenv:Body")));
    write(Event::End(BytesEnd::new("soapenv:Envelope")));
    Zeroizing::new(writer.into_inner())
}

/// The rendered text of a scalar parameter, stripped of characters XML 1.0 cannot carry.
fn scalar(param: &Param, values: &TagValues<'_>) -> Zeroizing<String> {
    let raw = match param {
        Param::Text(template) => template.render(values),
        Param::Literal(text) => Zeroizing::new(text.clone()),
        Param::Nil | Param::Element(_) | Param::Repeated(_) => Zeroizing::new(String::new()),
    };
    if raw.chars().all(is_xml_char) {
        raw
    } else {
        Zeroizing::new(
            raw.chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect(),
        )
    }
}

fn param_events(name: &str, param: &Param, values: &TagValues<'_>, out: &mut Vec<Event<'static>>) {
    match param {
        Param::Nil => out.push(Event::Empty(BytesStart::new(name.to_owned()))),
        Param::Text(_) | Param::Literal(_) => {
            let text = scalar(param, values);
            out.push(Event::Start(BytesStart::new(name.to_owned())));
            out.push(Event::Text(BytesText::new(&text).into_owned()));
            out.push(Event::End(BytesEnd::new(name.to_owned())));
        }
        Param::Element(children) => {
            out.push(Event::Start(BytesStart::new(name.to_owned())));
            for (child_name, child) in children {
                param_events(child_name, child, values, out);
            }
            out.push(Event::End(BytesEnd::new(name.to_owned())));
        }
        Param::Repeated(items) => {
            for item in items {
                param_events(name, item, values, out);
            }
        }
    }
}

/// What a SOAP answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SoapAnswer {
    /// A fault: the code's local part (`Client`, `Sender`, …) and its reason text.
    Fault { code: String, reason: String },
    /// A normal answer: the local-name paths of every element under `Body`.
    Body { paths: Vec<Vec<String>> },
}

/// Reads a SOAP 1.1 or 1.2 answer.
pub(crate) fn read_answer(xml: &str) -> Result<SoapAnswer, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut body_depth: Option<usize> = None;
    let mut paths: Vec<Vec<String>> = Vec::new();
    let mut fault = false;
    let mut code = String::new();
    let mut reason = String::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|error| format!("not well-formed XML: {error}"))?;
        let text = match &event {
            Event::Start(start) | Event::Empty(start) => {
                let local = start.local_name().into_inner().to_owned();
                if stack.is_empty() && local != "Envelope" {
                    return Err(format!("not a SOAP envelope (the root element is {local})"));
                }
                if stack.len() == 1 && local == "Body" {
                    body_depth = Some(stack.len() + 1);
                }
                if let Some(depth) = body_depth {
                    if stack.len() == depth && local == "Fault" {
                        fault = true;
                    }
                    if stack.len() >= depth && paths.len() < MAX_PATHS {
                        let mut path: Vec<String> = stack[depth..].to_vec();
                        path.push(local.clone());
                        paths.push(path);
                    }
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(local);
                    if stack.len() > MAX_DEPTH {
                        return Err("elements nested too deeply".into());
                    }
                }
                None
            }
            Event::End(_) => {
                stack.pop();
                None
            }
            Event::Text(text) => Some(text.xml10_content().into_owned()),
            Event::CData(data) => Some(data.xml10_content().into_owned()),
            Event::GeneralRef(reference) => match reference.resolve_char_ref() {
                Ok(Some(c)) => Some(c.to_string()),
                _ => resolve_predefined_entity(reference).map(str::to_owned),
            },
            Event::Eof => break,
            _ => None,
        };
        if let (Some(text), true) = (text, fault) {
            let names: Vec<&str> = stack.iter().map(String::as_str).collect();
            match names.as_slice() {
                [.., "Fault", "faultcode"] | [.., "Fault", "Code", "Value"] => code.push_str(&text),
                [.., "Fault", "faultstring"] | [.., "Fault", "Reason", "Text"] => {
                    reason.push_str(&text)
                }
                _ => {}
            }
        }
    }
    if body_depth.is_none() {
        return Err("not a SOAP envelope (no Body)".into());
    }
    if fault {
        let code = code.trim();
        let local = code.rsplit_once(':').map_or(code, |(_, local)| local);
        return Ok(SoapAnswer::Fault {
            code: if local.is_empty() {
                "unknown".into()
            } else {
                local.to_owned()
            },
            reason: reason.trim().to_owned(),
        });
    }
    Ok(SoapAnswer::Body { paths })
}

/// The keys with no element whose path ends with the key's names.
pub(crate) fn missing_element_keys(paths: &[Vec<String>], keys: &[KeyPath]) -> Vec<String> {
    keys.iter()
        .filter(|key| {
            let wanted: Vec<&str> = key.segments().collect();
            !paths.iter().any(|path| {
                path.len() >= wanted.len()
                    && path[path.len() - wanted.len()..]
                        .iter()
                        .zip(&wanted)
                        .all(|(seen, wanted)| seen == wanted)
            })
        })
        .map(|key| key.as_str().to_owned())
        .collect()
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
