use super::*;

const SPYNE_11: &str = include_str!("../../tests/data/spyne_sms_soap11.wsdl");
const SPYNE_12: &str = include_str!("../../tests/data/spyne_sms_soap12.wsdl");
const HAND: &str = include_str!("../../tests/data/two_bindings_rpc.wsdl");

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// (row, wsdl, call, version, expected target or error part)
#[test]
fn target_table() {
    let wsdl_url = url("http://gw.example.com/wsdl?x");
    let spyne =
        |version: SoapVersion, path: &str, action: &str, element: &str, order: &[&str]| Target {
            endpoint: url(&format!("http://127.0.0.1:18777/{path}")),
            soap_action: action.into(),
            version,
            element: element.into(),
            namespace: Some("urn:sae:test:sms".into()),
            qualified_children: true,
            parameter_order: Some(order.iter().map(|name| (*name).to_owned()).collect()),
            style: Style::Document,
        };
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<SoapVersion>,
        Result<Target, &'static str>,
    );
    let rows: Vec<Row> = vec![
        (
            "spyne 1.1 SendSms",
            SPYNE_11,
            Some("SendSms"),
            None,
            Ok(spyne(
                SoapVersion::V1_1,
                "soap11",
                "SendSms",
                "SendSms",
                &["phone", "message", "sender"],
            )),
        ),
        (
            "spyne 1.1 GetBalance",
            SPYNE_11,
            Some("GetBalance"),
            None,
            Ok(spyne(
                SoapVersion::V1_1,
                "soap11",
                "GetBalance",
                "GetBalance",
                &["account"],
            )),
        ),
        (
            "spyne 1.2 binding",
            SPYNE_12,
            Some("SendSms"),
            None,
            Ok(spyne(
                SoapVersion::V1_2,
                "soap12",
                "SendSms",
                "SendSms",
                &["phone", "message", "sender"],
            )),
        ),
        (
            "spyne 1.1 WSDL forced to 1.2",
            SPYNE_11,
            Some("SendSms"),
            Some(SoapVersion::V1_2),
            Ok(spyne(
                SoapVersion::V1_2,
                "soap11",
                "SendSms",
                "SendSms",
                &["phone", "message", "sender"],
            )),
        ),
        (
            "spyne without call",
            SPYNE_11,
            None,
            None,
            Err("several operations (SendSms, GetBalance); set call"),
        ),
        (
            "unknown operation",
            SPYNE_11,
            Some("Send"),
            None,
            Err("no SOAP binding has the operation \"Send\""),
        ),
        (
            "hand 1.1 document, inline type, unqualified, relative address",
            HAND,
            Some("Submit"),
            None,
            Ok(Target {
                endpoint: url("http://gw.example.com/services/gateway11"),
                soap_action: "urn:example:gateway#Submit".into(),
                version: SoapVersion::V1_1,
                element: "Submit".into(),
                namespace: Some("urn:example:gateway".into()),
                qualified_children: false,
                parameter_order: Some(vec!["account".into(), "destination".into(), "text".into()]),
                style: Style::Document,
            }),
        ),
        (
            "hand 1.2 binding chosen by version",
            HAND,
            Some("Submit"),
            Some(SoapVersion::V1_2),
            Ok(Target {
                endpoint: url("https://gw.example.com/services/gateway12"),
                soap_action: "urn:example:gateway#Submit12".into(),
                version: SoapVersion::V1_2,
                element: "Submit".into(),
                namespace: Some("urn:example:gateway".into()),
                qualified_children: false,
                parameter_order: Some(vec!["account".into(), "destination".into(), "text".into()]),
                style: Style::Document,
            }),
        ),
        (
            "hand rpc operation",
            HAND,
            Some("Ping"),
            Some(SoapVersion::V1_2),
            Ok(Target {
                endpoint: url("http://gw.example.com/services/gateway11"),
                soap_action: "urn:example:gateway#Ping".into(),
                version: SoapVersion::V1_2,
                element: "Ping".into(),
                namespace: Some("urn:example:ping".into()),
                qualified_children: false,
                parameter_order: Some(vec!["host".into(), "count".into()]),
                style: Style::Rpc,
            }),
        ),
    ];
    for (row, xml, call, version, expected) in rows {
        let wsdl = Wsdl::parse(xml).unwrap_or_else(|error| panic!("row {row}: {error}"));
        match (wsdl.target(call, version, &wsdl_url), expected) {
            (Ok(target), Ok(expected)) => assert_eq!(target, expected, "row {row}"),
            (Err(error), Err(part)) => assert!(error.contains(part), "row {row}: {error}"),
            (got, expected) => panic!("row {row}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn single_operation_needs_no_call() {
    let xml = HAND.replace(
        r#"<operation name="Ping">
      <s11:operation"#,
        r#"<operation name="Ping-removed">
      <s11:operation"#,
    );
    // Still two operations in the 1.1 binding: call is required there...
    let wsdl = Wsdl::parse(&xml).unwrap();
    assert!(wsdl.target(None, None, &url("http://h/")).is_err());
    // ...but the 1.2 binding has one.
    let target = wsdl
        .target(None, Some(SoapVersion::V1_2), &url("http://h/"))
        .unwrap();
    assert_eq!(target.element, "Submit");
}

#[test]
fn operation_names_are_listed_once() {
    let wsdl = Wsdl::parse(HAND).unwrap();
    assert_eq!(wsdl.operation_names(), ["Submit", "Ping"]);
}

#[test]
fn bad_documents_are_refused() {
    let rows: &[(&str, &str, &str)] = &[
        ("not xml", "<definitions", "WSDL"),
        (
            "html page",
            "<html><body>Not found</body></html>",
            "no SOAP binding",
        ),
        ("mismatched tags", "<a><b></a>", "not well-formed"),
        ("empty", "", "no SOAP binding"),
    ];
    for (row, xml, part) in rows {
        match Wsdl::parse(xml) {
            Ok(_) => panic!("row {row}: accepted"),
            Err(error) => assert!(
                error.contains(part) || *part == "WSDL",
                "row {row}: {error}"
            ),
        }
    }
}
