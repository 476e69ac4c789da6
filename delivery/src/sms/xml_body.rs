//! XML for REST broker bodies (`application/xml`, `text/xml`, `*+xml`): tag values escaped as
//! text so no value can add, close or rename an element, and the save-time check that a
//! body template renders to one well-formed element.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Whether XML 1.0 can carry `c` (§2.2 `Char`).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Appends `value` escaped for XML text and attribute values (both quote styles): `& < > " '`
/// become entities, tab, line feed and carriage return character references (so a parser's
/// line-end and attribute normalisation keeps them), characters XML cannot carry U+FFFD.
pub(crate) fn push_xml_escaped(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// `Ok` when `xml` is one well-formed root element (with an optional declaration, comments
/// and processing instructions around it). The error never quotes the document.
pub(crate) fn check_well_formed(xml: &str) -> Result<(), String> {
    let mut reader = Reader::from_str(xml);
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|_| format!("markup that does not parse at byte {at}"))?;
        if let Event::Start(start) | Event::Empty(start) = &event
            && start.attributes().any(|attribute| attribute.is_err())
        {
            return Err(format!("an attribute that does not parse near byte {at}"));
        }
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    roots += 1;
                }
                depth += 1;
            }
            Event::Empty(_) if depth == 0 => roots += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(text) if depth == 0 && !text.trim().is_empty() => {
                return Err(format!("text outside the root element at byte {at}"));
            }
            Event::CData(_) | Event::GeneralRef(_) if depth == 0 => {
                return Err(format!("text outside the root element at byte {at}"));
            }
            Event::Eof => break,
            _ => {}
        }
        if roots > 1 {
            return Err(format!("a second root element at byte {at}"));
        }
    }
    match (roots, depth) {
        (0, _) => Err("no element".into()),
        (_, 0) => Ok(()),
        _ => Err("an element is not closed".into()),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use quick_xml::XmlVersion;
    use quick_xml::escape::resolve_predefined_entity;

    use super::*;

    #[test]
    fn escape_table() {
        let rows = [
            ("plain", "plain"),
            ("a&b", "a&amp;b"),
            ("</text><to>1</to>", "&lt;/text&gt;&lt;to&gt;1&lt;/to&gt;"),
            (r#"say "hi" it's"#, "say &quot;hi&quot; it&apos;s"),
            ("\u{1}\u{8}x\u{FFFE}", "\u{FFFD}\u{FFFD}x\u{FFFD}"),
            ("tab\tnl\ncr\r", "tab&#9;nl&#10;cr&#13;"),
            ("é€😀", "é€😀"),
        ];
        for (input, expected) in rows {
            let mut out = String::new();
            push_xml_escaped(input, &mut out);
            assert_eq!(out, expected, "row {input:?}");
        }
    }

    #[test]
    fn well_formed_table() {
        let rows: &[(&str, &str, bool)] = &[
            ("one element", "<sms><to>1</to></sms>", true),
            ("declaration", "<?xml version=\"1.0\"?>\n<sms/>", true),
            ("comment after", "<sms/><!-- end -->\n", true),
            ("two roots", "<a/><b/>", false),
            ("unclosed", "<sms><to>1</to>", false),
            ("mismatched", "<sms><to>1</text></sms>", false),
            ("text outside", "hello <sms/>", false),
            ("empty", "  ", false),
            ("bad markup", "<sms <to>", false),
        ];
        for (row, xml, ok) in rows {
            assert_eq!(check_well_formed(xml).is_ok(), *ok, "row {row}: {xml}");
        }
    }

    proptest! {
        #[test]
        fn escaped_values_stay_one_text_node(value in any::<String>()) {
            let mut xml = String::from("<sms><text a=\"");
            push_xml_escaped(&value, &mut xml);
            xml.push_str("\">");
            push_xml_escaped(&value, &mut xml);
            xml.push_str("</text></sms>");
            prop_assert!(check_well_formed(&xml).is_ok());
            let expected: String = value
                .chars()
                .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
                .collect();
            let mut reader = Reader::from_str(&xml);
            let mut names = Vec::new();
            let mut text = String::new();
            loop {
                match reader.read_event().unwrap() {
                    Event::Start(start) => {
                        names.push(start.name().as_ref().to_owned());
                        if let Some(attribute) = start.attributes().flatten().next() {
                            let read = attribute.normalized_value(XmlVersion::Implicit1_0).unwrap();
                            prop_assert_eq!(read.as_ref(), expected.as_str());
                        }
                    }
                    Event::Text(part) => text.push_str(&part.xml10_content()),
                    Event::GeneralRef(reference) => match reference.resolve_char_ref().unwrap() {
                        Some(c) => text.push(c),
                        None => text.push_str(resolve_predefined_entity(&reference).unwrap()),
                    },
                    Event::Eof => break,
                    _ => {}
                }
            }
            prop_assert_eq!(names, vec!["sms".to_owned(), "text".to_owned()]);
            prop_assert_eq!(text, expected);
        }
    }
}
