//! SMS end to end through a real HTTP broker (delivery/tests/peers/rest_peer.py): broker
//! configuration, backup failover, test sends, `/v1/otp/request` → broker → validate,
//! delivery reports and budgets.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Peer, Server, backends, python};

/// The peer's calls once `done` holds (or after 20 s, for the caller to report).
pub(super) fn wait_calls(peer: &Peer, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = peer.get("/_calls").as_array().cloned().unwrap_or_default();
        if done(&calls) || Instant::now() > deadline {
            return calls;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn config(port: u16, primary_behaviour: &str, budgets: Option<Value>) -> Value {
    let mut c = json!({
        "primary": {"kind": "rest", "url": format!("http://127.0.0.1:{port}/none/{primary_behaviour}"), "method": "POST",
                    "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}",
                    "return_keys": ["data.id"], "check_each_call": true, "timeout_ms": 3000},
        "broker2": {"mode": "backup", "broker": {"kind": "rest", "url": format!("http://127.0.0.1:{port}/basic/ok"), "method": "POST",
                    "authorization": "basic", "username": "sae", "password": "s3cret: pass",
                    "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 3000}}
    });
    if let Some(b) = budgets {
        c["budgets"] = b;
    }
    c
}

fn code_in(text: &str) -> String {
    let runs: Vec<&str> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|r| !r.is_empty())
        .collect();
    assert_eq!(runs.len(), 1, "the code is one run of digits in {text:?}");
    runs[0].to_owned()
}

#[test]
fn sms_request_reaches_the_broker_and_validates_once() {
    let Some(py) = python() else { return };
    for backend in backends() {
        let peer = Peer::start(&py, "rest_peer.py", &[]);
        let s = Server::start(backend);
        // A failing primary (HTTP 500) and a Basic-auth backup.
        let r = s.admin(
            "PUT",
            "/v1/delivery/sms",
            Some(&config(peer.port, "status-500", None)),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let shown = s.admin("GET", "/v1/delivery/sms", None);
        assert!(
            !shown.body.contains("s3cret"),
            "GET redacts secrets: {}",
            shown.body
        );
        assert_eq!(shown.json()["broker2"]["broker"]["password"], Value::Null);
        // PUT what GET showed: the stored password is kept.
        let r = s.admin("PUT", "/v1/delivery/sms", Some(&shown.json()));
        assert_eq!(r.status, 200, "{}", r.body);

        let r = s.admin(
            "POST",
            "/v1/delivery/sms/test",
            Some(&json!({"phone": "+55 (11) 91234-5678", "message": "hello"})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let t = r.json();
        assert_eq!(t["delivered"], json!(true), "{backend:?}: {t}");
        assert_eq!(t["attempts"][0]["broker"], json!("primary"));
        assert_eq!(t["attempts"][0]["http_status"], json!(500));
        assert_eq!(
            t["attempts"][1]["outcome"],
            json!("delivered"),
            "the backup delivered with the kept password"
        );

        assert_eq!(
            s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "sms-user", "mobile": "+55 (11) 9 8765-4321"}))
            )
            .status,
            201
        );
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "sms-user", "channel": "sms"})),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let rid = r.json()["request_id"].as_str().unwrap().to_owned();
        // The failed primary call comes first; wait for the backup's.
        let calls = wait_calls(&peer, |calls| {
            calls.iter().any(|c| {
                c["auth"] == json!("basic")
                    && c["body"].as_str().unwrap_or("").contains("5511987654321")
            })
        });
        let delivered: Vec<&Value> = calls
            .iter()
            .filter(|c| {
                c["auth"] == json!("basic")
                    && c["body"].as_str().unwrap_or("").contains("5511987654321")
            })
            .collect();
        assert_eq!(
            delivered.len(),
            1,
            "{backend:?}: the backup received the SMS: {calls:?}"
        );
        let body: Value = serde_json::from_str(delivered[0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["to"], json!("5511987654321"));
        let code = code_in(body["text"].as_str().unwrap());
        let v = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "sms-user", "code": code})),
        );
        assert_eq!(v.json(), json!({"valid": true}), "{backend:?}");
        let v = s.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "sms-user", "code": code, "request_id": rid})),
        );
        assert_eq!(v.json()["reason"], json!("replayed"), "used once");

        // The report shows both attempts, the destination masked (the worker records them
        // once the broker has answered: wait for it).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let rep = loop {
            let rep = s
                .admin(
                    "GET",
                    &format!("/v1/reports/deliveries?request_id={rid}"),
                    None,
                )
                .json();
            if rep["items"].as_array().unwrap().len() >= 2 {
                break rep;
            }
            assert!(std::time::Instant::now() < deadline, "no report: {rep}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let items = rep["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{rep}");
        assert_eq!(items[0]["outcome"], json!("failed"));
        assert_eq!(items[1]["outcome"], json!("delivered"));
        assert_eq!(items[1]["destination"], json!("*********4321"));
        assert!(
            !rep.to_string().contains(&code),
            "reports never show the code"
        );
    }
}

#[test]
fn sms_budgets_answer_429_and_leave_other_factors_alone() {
    let Some(py) = python() else { return };
    let peer = Peer::start(&py, "rest_peer.py", &[]);
    let s = Server::start(crate::support::Backend::Sqlite);
    let budgets = json!({"per_destination": {"count": 2, "window_s": 3600}});
    let r = s.admin(
        "PUT",
        "/v1/delivery/sms",
        Some(&config(peer.port, "ok", Some(budgets))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "a1", "mobile": "5511911112222"}))
        )
        .status,
        201
    );
    assert_eq!(
        s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "a2", "mobile": "+55 11 91111-2222"}))
        )
        .status,
        201
    );
    for login in ["a1", "a2"] {
        assert_eq!(
            s.admin(
                "POST",
                "/v1/otp/request",
                Some(&json!({"login": login, "channel": "sms"}))
            )
            .status,
            202
        );
    }
    let r = s.admin(
        "POST",
        "/v1/otp/request",
        Some(&json!({"login": "a1", "channel": "sms"})),
    );
    assert_eq!(
        r.status, 429,
        "same destination, third code in the window: {}",
        r.body
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 3000 && retry <= 3600, "{retry}");
    assert_eq!(r.json()["retry_after"], json!(retry));
    let user = s.admin("GET", "/v1/users/a1", None).json();
    assert_eq!(
        user["status"],
        json!("active"),
        "a budget never locks the user"
    );
    assert_eq!(
        user["failures"],
        json!({"password": 0, "otp": 0, "hash": 0})
    );
}

#[test]
fn sms_config_errors_name_the_field_and_voice_is_disabled() {
    let s = Server::start(crate::support::Backend::Sqlite);
    let bad = json!({"primary": {"kind": "rest", "url": "ftp://x", "method": "POST", "authorization": "none", "body": "{message}"}, "broker2": {"mode": "none"}});
    let r = s.admin("PUT", "/v1/delivery/sms", Some(&bad));
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["field"], json!("primary.url"), "{}", r.body);
    let bad = json!({"primary": {"kind": "rest", "url": "http://127.0.0.1:9/x", "method": "POST", "authorization": "none", "body": "{\"t\": \"{messag}\"}"}, "broker2": {"mode": "none"}});
    let r = s.admin("PUT", "/v1/delivery/sms", Some(&bad));
    assert_eq!(r.status, 400);
    assert!(
        r.json()["field"]
            .as_str()
            .unwrap()
            .starts_with("primary.body"),
        "{}",
        r.body
    );
    let ok = json!({"primary": {"kind": "rest", "url": "http://127.0.0.1:9/x", "method": "GET", "authorization": "none", "query": {"to": "{phone}", "msg": "{message}"}}, "broker2": {"mode": "none"}});
    let r = s.admin("PUT", "/v1/delivery/voice", Some(&ok));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json()["service"]
            .as_str()
            .unwrap()
            .starts_with("disabled")
    );
    assert_eq!(
        s.admin("GET", "/v1/delivery/sms", None).status,
        404,
        "voice config is not SMS config"
    );
}

#[test]
fn both_brokers_down_keeps_the_job_queued_until_a_broker_is_back() {
    let Some(py) = python() else { return };
    for backend in backends() {
        let s = Server::start(backend);
        // Both brokers refuse connections (nothing listens on port 9).
        let down = json!({
            "primary": {"kind": "rest", "url": "http://127.0.0.1:9/none/ok", "method": "POST", "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 1000},
            "broker2": {"mode": "backup", "broker": {"kind": "rest", "url": "http://127.0.0.1:9/none/ok2", "method": "POST", "authorization": "none", "body": "{\"to\": \"{phone}\", \"text\": \"{message}\"}", "timeout_ms": 1000}}
        });
        assert_eq!(s.admin("PUT", "/v1/delivery/sms", Some(&down)).status, 200);
        assert_eq!(
            s.admin(
                "POST",
                "/v1/users",
                Some(&json!({"login": "late", "mobile": "5511955554444"}))
            )
            .status,
            201
        );
        let r = s.admin(
            "POST",
            "/v1/otp/request",
            Some(&json!({"login": "late", "channel": "sms"})),
        );
        assert_eq!(
            r.status, 202,
            "an accepted request even with every broker down"
        );
        let rid = r.json()["request_id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let items = s
                .admin(
                    "GET",
                    &format!("/v1/reports/deliveries?request_id={rid}"),
                    None,
                )
                .json()["items"]
                .as_array()
                .unwrap()
                .len();
            if items >= 2 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{backend:?}: both brokers were tried"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A broker comes back: the queued job is retried with backoff and delivered.
        let peer = Peer::start(&py, "rest_peer.py", &[]);
        assert_eq!(
            s.admin(
                "PUT",
                "/v1/delivery/sms",
                Some(&config(peer.port, "ok", None))
            )
            .status,
            200
        );
        let calls = wait_calls(&peer, |calls| {
            calls
                .iter()
                .any(|c| c["body"].as_str().unwrap_or("").contains("5511955554444"))
        });
        assert!(
            calls
                .iter()
                .any(|c| c["body"].as_str().unwrap_or("").contains("5511955554444")),
            "{backend:?}: delivered after the outage"
        );
    }
}
