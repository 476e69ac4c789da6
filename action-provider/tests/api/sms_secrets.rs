//! Broker `secrets`, SOAP `options.login` / `options.password` and escaping per content type
//! (SPEC §6.1), through the API against the real Python brokers (delivery/tests/peers/):
//! secrets reach the broker and nothing else — not GET, errors, the audit, the logs or the
//! database; a new origin needs them again. Escaping per content type: sms_escaping.rs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::sms::wait_calls;
use crate::support::{Peer, Server, backends, python};

const KEY: &str = "sk-live-Zq81kfP0x";
const NEW_KEY: &str = "sk-live-Rotated77";
/// A SOAP secret that XML must escape.
const SENDER: &str = r#"sender<&>"'-Y4u2"#;
/// The password of soap_peer.py's guarded mounts.
const SOAP_PASSWORD: &str = "s3cret: pass";

fn config(rest: &Peer, primary_path: &str, soap: &Peer) -> Value {
    json!({
        "primary": {"kind": "rest", "url": format!("http://127.0.0.1:{}{primary_path}", rest.port),
            "method": "POST", "headers": {"X-Api-Key": "{secret.API_KEY}"},
            "query": {"token": "{secret.API_KEY}"},
            "body": "{\"api_key\": \"{secret.API_KEY}\", \"to\": \"{phone}\", \"text\": \"{message}\"}",
            "secrets": {"API_KEY": KEY}, "return_keys": ["data.id"], "timeout_ms": 5000},
        "broker2": {"mode": "backup", "broker": {"kind": "soap",
            "wsdl_url": format!("http://127.0.0.1:{}/basic/soap11?wsdl", soap.port),
            "soap_type": "advanced", "call": "SendSms",
            "options": {"login": "sae", "password": SOAP_PASSWORD},
            "request": {"phone": "{phone}", "message": "{message}", "sender": "{secret.SENDER}"},
            "secrets": {"SENDER": SENDER}, "timeout_ms": 5000}}
    })
}

fn put(s: &Server, body: &Value) -> crate::support::Response {
    s.admin("PUT", "/v1/delivery/sms", Some(body))
}

fn test_send(s: &Server) -> Value {
    let r = s.admin(
        "POST",
        "/v1/delivery/sms/test",
        Some(&json!({"phone": "+5511912345678", "message": "hello"})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// The `changed` lists of the broker configuration's audit entries, oldest first.
/// The changed fields of every SMS configuration change, oldest first.
fn changes(s: &Server) -> Vec<Value> {
    let audit = s
        .admin(
            "GET",
            "/v1/audit?action=config.delivery.sms.update&sort=at",
            None,
        )
        .json();
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["detail"]["changed"].clone())
        .collect()
}

/// Every text the secrets must never be in: the audit, the server log, the database.
fn assert_nowhere(s: &Server, secrets: &[&str]) {
    let audit = s.admin("GET", "/v1/audit?limit=200", None).body;
    let log = std::fs::read_to_string(s.log_path()).unwrap();
    let mut stores: Vec<(String, Vec<u8>)> = Vec::new();
    match &s.database_url {
        None => {
            for entry in std::fs::read_dir(s.dir.path()).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("sae.db") {
                    stores.push((name, std::fs::read(&path).unwrap()));
                }
            }
            assert!(!stores.is_empty(), "the SQLite files are found");
        }
        Some(url) => {
            let dump = std::process::Command::new("pg_dump")
                .arg(url)
                .output()
                .unwrap();
            assert!(dump.status.success(), "pg_dump");
            stores.push(("pg_dump".into(), dump.stdout));
        }
    }
    for secret in secrets {
        assert!(!audit.contains(secret), "{secret} in the audit: {audit}");
        assert!(!log.contains(secret), "{secret} in the server log");
        for (name, bytes) in &stores {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{secret} in clear in {name}"
            );
        }
    }
}

/// A PUT that must be refused with 400 naming `field`, its answer quoting no secret.
fn assert_refused(s: &Server, body: &Value, field: &str) {
    let r = put(s, body);
    assert_eq!(r.status, 400, "{field}: {}", r.body);
    assert_eq!(r.json()["field"], json!(field), "{}", r.body);
    for secret in [KEY, NEW_KEY, SENDER, SOAP_PASSWORD] {
        assert!(!r.body.contains(secret), "the error quotes {secret}");
    }
}

#[test]
fn broker_secrets_reach_the_broker_and_nothing_else() {
    let Some(py) = python() else { return };
    for backend in backends() {
        let rest = Peer::start(&py, "rest_peer.py", &[]);
        let soap = Peer::start(&py, "soap_peer.py", &[]);
        let s = Server::start_logged(backend);
        let r = put(&s, &config(&rest, "/none/ok", &soap));
        assert_eq!(r.status, 200, "{}", r.body);
        let shown = s.admin("GET", "/v1/delivery/sms", None);
        let v = shown.json();
        assert_eq!(v["primary"]["secrets"], json!({"API_KEY": null}), "{v}");
        assert_eq!(v["broker2"]["broker"]["secrets"], json!({"SENDER": null}));
        assert_eq!(v["broker2"]["broker"]["options"]["password"], Value::Null);
        assert_eq!(v["broker2"]["broker"]["options"]["login"], json!("sae"));
        for secret in [KEY, SENDER, SOAP_PASSWORD] {
            assert!(!shown.body.contains(secret), "GET shows {secret}");
        }

        // The primary carries the key in its body, query and header; the broker echoes the
        // request, and the answer hides the key.
        let t = test_send(&s);
        assert_eq!(t["delivered"], json!(true), "{backend:?}: {t}");
        assert!(
            !t.to_string().contains(KEY),
            "the echoed key is hidden: {t}"
        );
        let calls = rest.get("/_calls");
        let call = &calls[0];
        assert_eq!(call["parsed"]["json"]["api_key"], json!(KEY), "{call}");
        assert_eq!(call["query"]["token"], json!(KEY));
        assert_eq!(call["headers"]["x-api-key"], json!(KEY));

        // A code request through the outbox: the echo lands in the delivery report, hidden.
        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "carol", "mobile": "+5511987654321"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "carol", "channel": "sms"})),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let rid = r.json()["request_id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        let report = loop {
            let path = format!("/v1/reports/deliveries?request_id={rid}");
            let report = s.admin("GET", &path, None);
            if !report.json()["items"].as_array().unwrap().is_empty() {
                break report;
            }
            assert!(Instant::now() < deadline, "{backend:?}: no delivery report");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(report.json()["items"][0]["outcome"], json!("delivered"));
        assert!(!report.body.contains(KEY), "{}", report.body);
        assert_eq!(rest.get("/_calls")[1]["query"]["token"], json!(KEY));

        // What GET showed, PUT back (the primary now failing, same origin): every secret is
        // kept, and the SOAP backup logs in and sends its secret, XML-escaped on the way.
        let mut again = shown.json();
        again["primary"]["url"] = json!(format!("http://127.0.0.1:{}/none/status-500", rest.port));
        let r = put(&s, &again);
        assert_eq!(r.status, 200, "{}", r.body);
        let t = test_send(&s);
        assert_eq!(t["attempts"][1]["outcome"], json!("delivered"), "{t}");
        let soap_calls = wait_calls(&soap, |calls| {
            calls.iter().any(|c| c["operation"] == "SendSms")
        });
        let sent: Vec<&Value> = soap_calls
            .iter()
            .filter(|c| c["operation"] == "SendSms")
            .collect();
        assert_eq!(sent[0]["params"]["sender"], json!(SENDER), "{soap_calls:?}");
        assert_eq!(sent[0]["params"]["path"], json!("/basic/soap11"));
        assert_eq!(rest.get("/_calls")[2]["query"]["token"], json!(KEY), "kept");

        // Another scheme, host or port needs the secrets again: refused, naming the field.
        for url in [
            format!("http://localhost:{}/none/ok", rest.port),
            format!("https://127.0.0.1:{}/none/ok", rest.port),
            format!("http://127.0.0.1:{}/none/ok", rest.port ^ 1),
        ] {
            let mut moved = shown.json();
            moved["primary"]["url"] = json!(url);
            assert_refused(&s, &moved, "primary.secrets.API_KEY");
        }
        let soap_url = |host: &str| format!("http://{host}:{}/basic/soap11", soap.port);
        let mut moved = shown.json();
        moved["broker2"]["broker"]["wsdl_url"] = json!(format!("{}?wsdl", soap_url("localhost")));
        moved["broker2"]["broker"]["secrets"]["SENDER"] = json!(SENDER);
        assert_refused(&s, &moved, "broker2.broker.options.password");
        let mut moved = shown.json();
        moved["broker2"]["broker"]["options"]["location"] = json!(soap_url("localhost"));
        moved["broker2"]["broker"]["options"]["password"] = json!(SOAP_PASSWORD);
        assert_refused(&s, &moved, "broker2.broker.secrets.SENDER");

        // A new value: the audit names the field, never a value.
        let mut rotated = shown.json();
        rotated["primary"]["secrets"]["API_KEY"] = json!(NEW_KEY);
        assert_eq!(put(&s, &rotated).status, 200);
        let lists = changes(&s);
        assert_eq!(lists.len(), 3, "refusals change nothing: {lists:?}");
        let first: Vec<&str> = lists[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap())
            .collect();
        for field in [
            "primary.url",
            "primary.secrets.API_KEY",
            "broker2.broker.options.password",
            "broker2.broker.secrets.SENDER",
        ] {
            assert!(first.contains(&field), "{field} in {first:?}");
        }
        assert_eq!(lists[1], json!(["primary.url"]));
        assert_eq!(lists[2], json!(["primary.secrets.API_KEY", "primary.url"]));
        assert_nowhere(&s, &[KEY, NEW_KEY, SENDER, SOAP_PASSWORD]);
    }
}

/// The `auth` records of soap_peer.py from the `from`-th call on: (scheme carried, accepted).
fn logins(soap: &Peer, from: usize) -> Vec<(Option<String>, bool)> {
    let calls = soap.get("/_calls");
    calls.as_array().unwrap()[from..]
        .iter()
        .filter(|c| c["operation"] == "auth")
        .map(|c| {
            let carried = c["params"]["carried"].as_str().map(str::to_owned);
            (carried, c["params"]["accepted"] == json!(true))
        })
        .collect()
}

#[test]
fn soap_brokers_log_in_with_basic_or_digest_and_keep_the_password() {
    let Some(py) = python() else { return };
    // soap_type, mount, options, the scheme the peer accepts, whether Basic may be offered.
    let rows = [
        (
            "basic",
            "/digest/soap11",
            json!({"login": "sae", "password": SOAP_PASSWORD}),
            "Digest",
            true,
        ),
        (
            "advanced",
            "/basic/soap12",
            json!({"login": "sae", "password": SOAP_PASSWORD, "authentication": "basic"}),
            "Basic",
            true,
        ),
        (
            "advanced",
            "/digest/soap12",
            json!({"login": "sae", "password": SOAP_PASSWORD, "authentication": "digest"}),
            "Digest",
            false,
        ),
    ];
    for backend in backends() {
        let soap = Peer::start(&py, "soap_peer.py", &[]);
        let s = Server::start(backend);
        for (soap_type, path, options, scheme, basic_allowed) in &rows {
            let from = soap.get("/_calls").as_array().unwrap().len();
            let mut broker = json!({"kind": "soap", "soap_type": soap_type, "call": "SendSms",
                "wsdl_url": format!("http://127.0.0.1:{}{path}?wsdl", soap.port),
                "options": options});
            let params = json!({"phone": "{phone}", "message": "{message}"});
            broker[if *soap_type == "basic" {
                "variables"
            } else {
                "request"
            }] = params;
            let r = s.admin("PUT", "/v1/delivery/sms", Some(&json!({"primary": broker})));
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let shown = s.admin("GET", "/v1/delivery/sms", None);
            assert!(!shown.body.contains(SOAP_PASSWORD), "{}", shown.body);
            assert_eq!(shown.json()["primary"]["options"]["password"], Value::Null);
            // Sent back as shown: the password is kept and the broker accepts it.
            let r = s.admin("PUT", "/v1/delivery/sms", Some(&shown.json()));
            assert_eq!(r.status, 200, "{}", r.body);
            let t = test_send(&s);
            assert_eq!(t["delivered"], json!(true), "{backend:?} {path}: {t}");
            let calls = soap.get("/_calls");
            let last = calls
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|c| c["operation"] == "SendSms")
                .unwrap();
            assert_eq!(last["params"]["path"], json!(path));
            // The WSDL and the call both logged in with the scheme the peer asks for.
            let logins = logins(&soap, from);
            let accepted: Vec<&Option<String>> = logins
                .iter()
                .filter(|(_, ok)| *ok)
                .map(|(carried, _)| carried)
                .collect();
            assert!(
                !accepted.is_empty() && accepted.iter().all(|c| c.as_deref() == Some(*scheme)),
                "{path}: {logins:?}"
            );
            if !basic_allowed {
                assert!(
                    logins.iter().all(|(c, _)| c.as_deref() != Some("Basic")),
                    "authentication digest never sends Basic: {logins:?}"
                );
            }
        }
        // A wrong password is reported, not retried as success.
        let broker = json!({"primary": {"kind": "soap", "soap_type": "advanced", "call": "SendSms",
            "wsdl_url": format!("http://127.0.0.1:{}/basic/soap11?wsdl", soap.port),
            "options": {"login": "sae", "password": "wrong"}, "request": {"phone": "{phone}"}}});
        assert_eq!(
            s.admin("PUT", "/v1/delivery/sms", Some(&broker)).status,
            200
        );
        let t = test_send(&s);
        assert_eq!(t["delivered"], json!(false), "{t}");
        assert_eq!(t["attempts"][0]["http_status"], json!(401), "{t}");
    }
}
