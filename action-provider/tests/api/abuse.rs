//! Property-based API testing with schemathesis against `/openapi.json` of a running
//! `sae serve`, on SQLite and on PostgreSQL (one test each): every operation, at least 500
//! generated cases per backend, and no server error, undocumented status code, undocumented
//! content type, or body or header that does not match the document.
//!
//! Three runs per backend:
//! 1. every operation except `DELETE /v1/apikeys/{id}`, with the initial administrator key
//!    (whose id no generated request can revoke, as that operation is left out), on random
//!    data;
//! 2. the same operations without the DELETEs, with path parameters and `login` fields
//!    drawn (most of the time) from resources created beforehand (a user with a password,
//!    a token, a device, a wallet, a message template), so the cases get past the 404s into
//!    the handlers' real work;
//! 3. `DELETE /v1/apikeys/{id}` alone, with a key of its own (so the run cannot cut off its
//!    own credentials half-way through the others).
//!
//! The seed is fixed, so a run is reproducible (`st run … --seed 1`); schemathesis's own
//! report (JSON) is parsed, and a failure names the check and the operations.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Backend, Server, backends, python};

/// The checks that must pass on every response (all of schemathesis's but [`OTHER_CHECKS`];
/// `schemathesis.toml` keeps `positive_data_acceptance` from the operations it names).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,unsupported_method,\
allow_header_conformance,positive_data_acceptance,negative_data_rejection";
/// Generated cases per operation and phase (the coverage phase adds its own boundary cases).
const MAX_EXAMPLES: &str = "25";
/// The checks schemathesis has besides [`CHECKS`], turned off by name: a check named on the
/// command line would win over the configuration's `[[operations]]` that turn one off for
/// an operation (`schemathesis.toml`).
const OTHER_CHECKS: &str = "use_after_free,ensure_resource_availability,missing_required_header,\
ignored_auth,object_level_authorization";
/// What the PostgreSQL runs leave out ([`SCHEMA_CHECKS`], and the coverage phase). The
/// schema-against-server checks (and the coverage phase's boundary cases, where they find
/// most of their cases) test the HTTP and service layers, which are the same whatever the
/// store, so they run once, on SQLite; on PostgreSQL the generated and fixture-driven cases
/// look for server errors and response conformance of the store's queries. (Running
/// everything on both backends took CI past its time budget.) The two backends' tests run side by side.
const SCHEMA_CHECKS: &str = "positive_data_acceptance,negative_data_rejection";
/// The phases of the PostgreSQL runs (all but `coverage`).
const POSTGRES_PHASES: &str = "examples,fuzzing,stateful";
/// Fixed seed: the same cases every run.
const SEED: &str = "1";
/// Cases required over the runs of one backend.
const MIN_CASES: u64 = 500;
/// Upper bound of one run (a hung run fails instead of blocking CI).
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// The interpreter with schemathesis, or `None` when it is missing and peers are optional.
fn schemathesis() -> Option<std::path::PathBuf> {
    let py = python()?;
    let ok = Command::new(&py)
        .args(["-c", "import schemathesis.cli"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var("SAE_REQUIRE_PEERS").as_deref() != Ok("1"),
        "schemathesis is not installed in {py:?} but SAE_REQUIRE_PEERS=1: run scripts/test.sh \
         (scripts/requirements-peers.txt)"
    );
    eprintln!("skipped: schemathesis is not installed (run scripts/test.sh)");
    None
}

/// Runs `st run` and returns its JSON report.
fn run(
    py: &Path,
    s: &Server,
    backend: Backend,
    key: &str,
    config: &Path,
    filter: &[&str],
    report: &Path,
) -> Value {
    let mut cmd = Command::new(py);
    cmd.args(["-m", "schemathesis.cli"]);
    cmd.arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(format!("http://{}/openapi.json", s.addr))
        .args(["--header", &format!("Api-Key: {key}")])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        .args(match backend {
            Backend::Sqlite => vec!["--exclude-checks".to_owned(), OTHER_CHECKS.to_owned()],
            Backend::Postgres => vec![
                "--exclude-checks".to_owned(),
                format!("{OTHER_CHECKS},{SCHEMA_CHECKS}"),
                "--phases".to_owned(),
                POSTGRES_PHASES.to_owned(),
            ],
        })
        // One worker: with several, hypothesis can trip over its own lambda-source cache
        // ("AST constructor recursion depth mismatch", a runtime error of the tool, not the API).
        .args(["--workers", "1", "--request-timeout", "30"])
        .args(["--report", "json", "--report-json-path"])
        .arg(report)
        .args(filter)
        .env("NO_COLOR", "1")
        // Its working files (the hypothesis example database) go with the report, not into
        // the source tree, and no earlier run's examples are replayed.
        .current_dir(report.parent().unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("schemathesis starts");
    // Drain the output on threads, so a full pipe cannot stall the run.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).ok();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut err, &mut s).ok();
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("schemathesis ran longer than {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let text = std::fs::read_to_string(report)
        .unwrap_or_else(|e| panic!("no schemathesis report ({e}); exit {status}\n{out}\n{err}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    let failures = report["failures"].as_array().map_or(0, Vec::len);
    let errors = report["errors"].as_array().map_or(0, Vec::len);
    assert!(
        failures == 0 && errors == 0 && status.success(),
        "schemathesis found problems (exit {status}): failures {:#}\nerrors {:#}\n{out}\n{err}",
        report["failures"],
        report["errors"]
    );
    assert_eq!(report["complete"], json!(true), "{out}");
    let ops = &report["operations"];
    assert_eq!(ops["errored"], json!(0), "{ops}");
    assert_eq!(ops["selected"], ops["tested"], "every operation ran: {ops}");
    report
}

/// The configuration of every run: the checks a rule of the server keeps from an operation
/// (each with that rule), see the file.
const CONFIG: &str = include_str!("schemathesis.toml");

/// Resources for the second run; answers the schemathesis configuration naming them (after
/// [`CONFIG`]).
fn fixtures(s: &Server) -> String {
    let created = |method: &str, path: &str, body: Value| {
        let r = s.admin(method, path, Some(&body));
        assert!(r.status == 201 || r.status == 200, "{path}: {}", r.body);
        r.json()
    };
    created(
        "POST",
        "/v1/wallets",
        json!({"name": "w1", "description": "fixture"}),
    );
    created(
        "POST",
        "/v1/users",
        json!({"login": "alice", "mobile": "+5511987654321", "email": "alice@example.com",
               "wallet": "w1", "password": "Correct-Horse-9"}),
    );
    let token = created("POST", "/v1/users/alice/tokens", json!({"type": "totp"}));
    let token = token["id"].as_str().unwrap();
    created("POST", "/v1/users/alice/devices", json!({"name": "phone"}));
    created(
        "POST",
        "/v1/messages",
        json!({"id": "m1", "channel": "sms", "text": "code {otp}"}),
    );
    format!(
        r#"{CONFIG}
[dictionaries.logins]
values = ["alice"]
[dictionaries.ids]
values = ["{token}", "m1"]
[dictionaries.names]
values = ["phone", "w1"]
[parameters]
"path.login" = {{ dictionary = "logins", probability = 0.8 }}
"path.id" = {{ dictionary = "ids", probability = 0.8 }}
"path.name" = {{ dictionary = "names", probability = 0.8 }}
"body.login" = {{ dictionary = "logins", probability = 0.6 }}
"#
    )
}

// One test per backend, so that the two (each mostly one Python process generating cases)
// run side by side on CI's two cores.
#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation_on_sqlite() {
    fuzz(Backend::Sqlite);
}

#[test]
fn schemathesis_finds_no_server_error_on_postgres() {
    if backends().contains(&Backend::Postgres) {
        fuzz(Backend::Postgres);
    }
}

/// The three runs on one backend.
fn fuzz(backend: Backend) {
    let Some(py) = schemathesis() else { return };
    let s = Server::start(backend);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    std::fs::write(&base, CONFIG).unwrap();
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, fixtures(&s)).unwrap();

    let random = run(
        &py,
        &s,
        backend,
        &s.admin_key,
        &base,
        &["--exclude-path-regex", "^/v1/apikeys/"],
        &dir.path().join("random.json"),
    );
    let known = run(
        &py,
        &s,
        backend,
        &s.admin_key,
        &config,
        &[
            "--exclude-path-regex",
            "^/v1/apikeys/",
            "--exclude-method",
            "DELETE",
        ],
        &dir.path().join("known.json"),
    );
    // A key of its own for the revocation operation, created like any administrator would.
    let k = s.admin(
        "POST",
        "/v1/apikeys",
        Some(&json!({"name": "schemathesis", "scope": "admin"})),
    );
    assert_eq!(k.status, 201, "{}", k.body);
    let key = k.json()["key"].as_str().unwrap().to_owned();
    let revoke = run(
        &py,
        &s,
        backend,
        &key,
        &base,
        &["--include-path-regex", "^/v1/apikeys/"],
        &dir.path().join("revoke.json"),
    );

    // Every operation of the document was exercised.
    let doc = s.call("GET", "/openapi.json", None, None).json();
    let documented: u64 = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len() as u64)
        .sum();
    let tested = |r: &Value| r["operations"]["tested"].as_u64().unwrap();
    assert_eq!(
        tested(&random) + tested(&revoke),
        documented,
        "{backend:?}: operations tested"
    );
    let generated = |r: &Value| r["test_cases"]["generated"].as_u64().unwrap();
    let here = generated(&random) + generated(&known) + generated(&revoke);
    eprintln!(
        "schemathesis on {backend:?}: {documented} operations, {here} cases, no failure \
         of {CHECKS}{}",
        if backend == Backend::Postgres {
            " (but the schema checks, which ran on SQLite)"
        } else {
            ""
        }
    );
    // The server is still healthy after the barrage.
    assert_eq!(s.call("GET", "/healthz", None, None).status, 200);
    assert!(
        here >= MIN_CASES,
        "{backend:?}: only {here} generated cases (at least {MIN_CASES} wanted)"
    );
}
