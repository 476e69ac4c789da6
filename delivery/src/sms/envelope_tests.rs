use super::*;
use crate::sms::config::parse_template;
use crate::sms::secrets::BrokerSecrets;

fn text(template: &str) -> Param {
    Param::Text(parse_template("t", "request", template, &BrokerSecrets::default()).unwrap())
}

fn values() -> TagValues<'static> {
    TagValues {
        otp: "424242",
        phone: "5511999998888",
        message: "Code <424242> & \"more\" 'x'\u{1}",
        login: "ana",
        name: "Ana",
        ..TagValues::default()
    }
}

#[test]
fn soap11_qualified_envelope() {
    let phone = text("{phone}");
    let message = text("{message}");
    let params: Vec<(&str, &Param)> = vec![("phone", &phone), ("message", &message)];
    let envelope = build_envelope(
        &CallElement {
            version: SoapVersion::V1_1,
            element: "SendSms",
            namespace: Some("urn:sae:test:sms"),
            qualified_children: true,
            attributes: &[],
            params: &params,
        },
        &values(),
    );
    assert_eq!(
        String::from_utf8(envelope.to_vec()).unwrap(),
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>"#,
            r#"<SendSms xmlns="urn:sae:test:sms"><phone>5511999998888</phone>"#,
            "<message>Code &lt;424242&gt; &amp; &quot;more&quot; &apos;x&apos;\u{FFFD}</message>",
            r#"</SendSms></soapenv:Body></soapenv:Envelope>"#
        )
    );
}

#[test]
fn soap12_unqualified_nested_repeated_nil_and_attributes() {
    let attributes = vec![
        ("id".to_owned(), text("{login}\"&")),
        ("xml:lang".to_owned(), Param::Literal("pt".into())),
    ];
    let nested = Param::Element(vec![
        (
            "to".into(),
            Param::Repeated(vec![text("{phone}"), Param::Literal("42".into())]),
        ),
        ("flash".into(), Param::Literal("true".into())),
        ("ref".into(), Param::Nil),
    ]);
    let params: Vec<(&str, &Param)> = vec![("sms", &nested)];
    let envelope = build_envelope(
        &CallElement {
            version: SoapVersion::V1_2,
            element: "Submit",
            namespace: Some("urn:gw"),
            qualified_children: false,
            attributes: &attributes,
            params: &params,
        },
        &values(),
    );
    let xml = String::from_utf8(envelope.to_vec()).unwrap();
    assert!(
        xml.contains(r#"xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope""#),
        "{xml}"
    );
    assert!(
        xml.contains(concat!(
            r#"<sae:Submit xmlns:sae="urn:gw" id="ana&quot;&amp;" xml:lang="pt">"#,
            "<sms><to>5511999998888</to><to>42</to><flash>true</flash><ref/></sms></sae:Submit>"
        )),
        "{xml}"
    );
}

#[test]
fn built_envelopes_read_back() {
    let message = text("{message}");
    let params: Vec<(&str, &Param)> = vec![("message", &message)];
    let envelope = build_envelope(
        &CallElement {
            version: SoapVersion::V1_1,
            element: "SendSms",
            namespace: None,
            qualified_children: false,
            attributes: &[],
            params: &params,
        },
        &values(),
    );
    let xml = String::from_utf8(envelope.to_vec()).unwrap();
    assert_eq!(
        read_answer(&xml),
        Ok(SoapAnswer::Body {
            paths: vec![
                vec!["SendSms".into()],
                vec!["SendSms".into(), "message".into()]
            ]
        })
    );
}

#[test]
fn answer_table() {
    let spyne_ok = r#"<?xml version='1.0' encoding='UTF-8'?>
<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:sae:test:sms"><soap11env:Body><tns:SendSmsResponse><tns:SendSmsResult>m-2</tns:SendSmsResult></tns:SendSmsResponse></soap11env:Body></soap11env:Envelope>"#;
    let spyne_fault_11 = r#"<?xml version='1.0' encoding='UTF-8'?>
<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/"><soap11env:Body><soap11env:Fault><faultcode>soap11env:Client</faultcode><faultstring>invalid destination</faultstring><faultactor></faultactor></soap11env:Fault></soap11env:Body></soap11env:Envelope>"#;
    let spyne_fault_12 = r#"<?xml version='1.0' encoding='UTF-8'?>
<soap12env:Envelope xmlns:soap12env="http://www.w3.org/2003/05/soap-envelope"><soap12env:Body><soap12env:Fault><soap12env:Code><soap12env:Value>soap12env:Sender</soap12env:Value></soap12env:Code><soap12env:Reason><soap12env:Text xml:lang="en">invalid destination</soap12env:Text></soap12env:Reason><soap12env:Role></soap12env:Role></soap12env:Fault></soap12env:Body></soap12env:Envelope>"#;
    let subcode_12 = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value><e:Subcode><e:Value>x:Busy</e:Value></e:Subcode></e:Code><e:Reason><e:Text>try &lt;later&gt; &#65;</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>"#;
    let cdata_fault = r#"<Envelope><Body><Fault><faultcode>Server.Down</faultcode><faultstring><![CDATA[db <down>]]></faultstring></Fault></Body></Envelope>"#;
    let with_header = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Fault/></s:Header><s:Body><R><Id/></R></s:Body></s:Envelope>"#;
    let fault = |code: &str, reason: &str| {
        Ok(SoapAnswer::Fault {
            code: code.into(),
            reason: reason.into(),
        })
    };
    let rows: Vec<(&str, &str, Result<SoapAnswer, &str>)> = vec![
        (
            "spyne success",
            spyne_ok,
            Ok(SoapAnswer::Body {
                paths: vec![
                    vec!["SendSmsResponse".into()],
                    vec!["SendSmsResponse".into(), "SendSmsResult".into()],
                ],
            }),
        ),
        (
            "spyne fault 1.1",
            spyne_fault_11,
            fault("Client", "invalid destination"),
        ),
        (
            "spyne fault 1.2",
            spyne_fault_12,
            fault("Sender", "invalid destination"),
        ),
        (
            "1.2 subcode and entities",
            subcode_12,
            fault("Receiver", "try <later> A"),
        ),
        (
            "no namespaces, CDATA",
            cdata_fault,
            fault("Server.Down", "db <down>"),
        ),
        (
            "Fault in the header is not a fault",
            with_header,
            Ok(SoapAnswer::Body {
                paths: vec![vec!["R".into()], vec!["R".into(), "Id".into()]],
            }),
        ),
        ("not XML", "OK", Err("no Body")),
        (
            "HTML",
            "<html><body>502</body></html>",
            Err("root element is html"),
        ),
        (
            "no body",
            r#"<Envelope><Header/></Envelope>"#,
            Err("no Body"),
        ),
        (
            "broken",
            r#"<Envelope><Body><a></b></Body></Envelope>"#,
            Err("not well-formed"),
        ),
    ];
    for (row, xml, expected) in rows {
        match (read_answer(xml), expected) {
            (Ok(got), Ok(expected)) => assert_eq!(got, expected, "row {row}"),
            (Err(error), Err(part)) => assert!(error.contains(part), "row {row}: {error}"),
            (got, expected) => panic!("row {row}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn element_key_table() {
    let paths: Vec<Vec<String>> = vec![
        vec!["SendSmsResponse".into()],
        vec!["SendSmsResponse".into(), "SendSmsResult".into()],
        vec!["SendSmsResponse".into(), "Status".into(), "Code".into()],
    ];
    let rows: &[(&str, bool)] = &[
        ("SendSmsResult", true),
        ("SendSmsResponse", true),
        ("SendSmsResponse.SendSmsResult", true),
        ("Status.Code", true),
        ("SendSmsResponse.Status.Code", true),
        ("Code", true),
        ("SendSmsResponse.Code", false),
        ("MessageId", false),
        ("sendsmsresult", false),
    ];
    for (key, present) in rows {
        let keys = vec![KeyPath::parse("k", key).unwrap()];
        let missing = missing_element_keys(&paths, &keys);
        assert_eq!(missing.is_empty(), *present, "row {key}");
    }
}
