//! Imports end to end over HTTP and the CLI, on SQLite and PostgreSQL: RFC 6030's examples
//! and files written by python-pskc (an independent PSKC implementation) are uploaded as
//! jobs, and the imported tokens validate codes computed by `oathtool`; bad files give their
//! reason and store nothing; a server killed in the middle of an import resumes it after a
//! restart.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Backend, Server, backends, python};

pub(crate) const RFC_PSK: &str = "12345678901234567890123456789012";
/// A 256-bit key for AES key wrap (RFC 3394).
const KW_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

pub(crate) fn pskc_data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sae-core/tests/data/pskc")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A multipart/form-data body with text fields and one file.
pub(crate) fn multipart(fields: &[(&str, &str)], file: &str) -> (String, String) {
    let boundary = "sae-test-boundary-7d1c0a";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\nContent-Type: application/octet-stream\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `file` to `route` and waits for the job to end; returns the job.
pub(crate) fn import(server: &Server, route: &str, fields: &[(&str, &str)], file: &str) -> Value {
    let (content_type, body) = multipart(fields, file);
    let r = server.raw(
        "POST",
        route,
        Some(&server.admin_key),
        Some(&body),
        &[("Content-Type", &content_type)],
    );
    assert_eq!(r.status, 202, "{}", r.body);
    wait_job(server, r.json()["job_id"].as_str().unwrap())
}

pub(crate) fn wait_job(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let job = server.admin("GET", &format!("/v1/jobs/{id}"), None).json();
        if job["state"] == "done" || job["state"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not end: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn inventory(server: &Server) -> Vec<Value> {
    let r = server.admin("GET", "/v1/tokens?limit=500", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

pub(crate) fn oathtool_hotp(secret_hex: &str, digits: u64, counter: u64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--hotp",
            "-d",
            &digits.to_string(),
            "-c",
            &counter.to_string(),
            secret_hex,
        ])
        .output()
        .expect("oathtool runs (apt-get install oathtool)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Assigns `serial` to `login`, validates oathtool's codes 0 and 1, then deletes the token.
pub(crate) fn assign_validate_delete(
    server: &Server,
    serial: &str,
    login: &str,
    secret_hex: &str,
    what: &str,
) {
    let r = server.admin(
        "POST",
        &format!("/v1/tokens/{serial}/assign"),
        Some(&json!({"login": login})),
    );
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    let digits = r.json()["digits"].as_u64().unwrap();
    for counter in 0..2 {
        let code = oathtool_hotp(secret_hex, digits, counter);
        let v = server.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": login, "code": code})),
        );
        assert_eq!(
            v.json()["valid"],
            true,
            "{what}: oathtool code {counter}: {}",
            v.body
        );
    }
    assert_eq!(
        server
            .admin("DELETE", &format!("/v1/tokens/{serial}"), None)
            .status,
        204
    );
}

fn write_pskc(python: &Path, spec: &Value) -> String {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sae-core/tests/peers/write_pskc.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut child.stdin.take().unwrap(),
        spec.to_string().as_bytes(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python-pskc failed");
    String::from_utf8(out.stdout).unwrap()
}

/// A python-pskc file of HOTP keys `serials`, each with `secret_hex`, under `protection`.
fn python_file(python: &Path, protection: Value, serials: &[&str], secret_hex: &str) -> String {
    let devices: Vec<Value> = serials
        .iter()
        .map(|s| {
            json!({"serial": s, "keys": [{"id": s, "secret_hex": secret_hex,
            "algorithm": "urn:ietf:params:xml:ns:keyprov:pskc:hotp", "digits": 6, "counter": 0}]})
        })
        .collect();
    write_pskc(
        python,
        &json!({"protection": protection, "devices": devices}),
    )
}

pub(crate) fn start_with_user(backend: Backend) -> Server {
    let server = Server::start(backend);
    assert_eq!(
        server
            .admin("POST", "/v1/users", Some(&json!({"login": "alice"})))
            .status,
        201
    );
    server
}

#[test]
fn rfc_6030_examples_import_and_validate_oathtool_codes() {
    for backend in backends() {
        let server = start_with_user(backend);
        let rfc_secret = "3132333435363738393031323334353637383930";
        for (file, fields, serial, secret) in [
            ("rfc6030-figure2.xml", vec![], "12345678", "31323334"),
            (
                "rfc6030-figure6.xml",
                vec![("psk", RFC_PSK)],
                "987654321",
                rfc_secret,
            ),
            (
                "rfc6030-figure7.xml",
                vec![("password", "qwerty")],
                "987654321",
                rfc_secret,
            ),
        ] {
            let job = import(&server, "/v1/tokens/import", &fields, &pskc_data(file));
            assert_eq!(job["state"], "done", "{backend:?} {file}: {job}");
            assert_eq!(
                (job["total"].as_i64(), job["imported"].as_i64()),
                (Some(1), Some(1)),
                "{file}: {job}"
            );
            assign_validate_delete(&server, serial, "alice", secret, file);
        }
    }
}

#[test]
fn python_pskc_files_import_and_validate_oathtool_codes() {
    let Some(python) = python() else { return };
    let secret = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334";
    for backend in backends() {
        let server = start_with_user(backend);
        let cases = [
            (json!({"kind": "plain"}), vec![]),
            (
                json!({"kind": "psk", "key_hex": RFC_PSK, "algorithm": "aes128-cbc", "mac_algorithm": "hmac-sha256"}),
                vec![("psk", RFC_PSK)],
            ),
            (
                json!({"kind": "psk", "key_hex": KW_KEY, "algorithm": "kw-aes256", "mac_algorithm": "hmac-sha256"}),
                vec![("psk", KW_KEY)],
            ),
            (
                json!({"kind": "password", "password": "s3cret pass", "iterations": 1000, "algorithm": "aes256-cbc", "mac_algorithm": "hmac-sha1"}),
                vec![("password", "s3cret pass")],
            ),
        ];
        for (i, (protection, fields)) in cases.into_iter().enumerate() {
            let serial = format!("PY{i}");
            let file = python_file(&python, protection, &[&serial], secret);
            let job = import(&server, "/v1/tokens/import", &fields, &file);
            assert_eq!(job["state"], "done", "{backend:?} case {i}: {job}");
            assign_validate_delete(
                &server,
                &serial,
                "alice",
                secret,
                &format!("python-pskc case {i}"),
            );
        }
    }
}

#[test]
fn bad_files_give_their_reason_and_store_nothing() {
    let Some(python) = python() else { return };
    let secret = "00112233445566778899aabbccddeeff00112233";
    for backend in backends() {
        let server = start_with_user(backend);
        let fig6 = pskc_data("rfc6030-figure6.xml");
        let wrong_psk = import(
            &server,
            "/v1/tokens/import",
            &[("psk", "00000000000000000000000000000000")],
            &fig6,
        );
        assert_eq!(wrong_psk["state"], "failed");
        assert!(
            wrong_psk["error"].as_str().unwrap().contains("wrong"),
            "{wrong_psk}"
        );
        let wrong_pw = import(
            &server,
            "/v1/tokens/import",
            &[("password", "azerty")],
            &pskc_data("rfc6030-figure7.xml"),
        );
        assert!(
            wrong_pw["error"].as_str().unwrap().contains("wrong"),
            "{wrong_pw}"
        );
        let fig2 = pskc_data("rfc6030-figure2.xml");
        let cut = fig2.find("</Issuer>").unwrap() + "</Issuer>".len();
        let truncated = import(&server, "/v1/tokens/import", &[], &fig2[..cut]);
        assert!(
            truncated["error"].as_str().unwrap().contains("truncated"),
            "{truncated}"
        );
        let ocra = fig2.replace("pskc:hotp", "pskc:ocra");
        let unknown = import(&server, "/v1/tokens/import", &[], &ocra);
        assert_eq!(unknown["state"], "failed");
        assert_eq!(
            unknown["skipped"][0]["reason"], "unsupported_algorithm",
            "{unknown}"
        );
        // A python-pskc file of three keys whose second MAC was altered.
        let file = python_file(
            &python,
            json!({"kind": "psk", "key_hex": RFC_PSK, "algorithm": "aes128-cbc", "mac_algorithm": "hmac-sha1"}),
            &["T1", "T2", "T3"],
            secret,
        );
        let at = file
            .match_indices("<pskc:ValueMAC>")
            .nth(1)
            .map(|(i, m)| i + m.len())
            .unwrap();
        let flipped = if &file[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{flipped}{}", &file[..at], &file[at + 1..]);
        let bad = import(&server, "/v1/tokens/import", &[("psk", RFC_PSK)], &tampered);
        assert_eq!(bad["state"], "failed", "{bad}");
        assert_eq!(bad["skipped"][0]["reason"], "bad_mac", "{bad}");
        assert_eq!(bad["skipped"][0]["position"], 2);
        assert!(
            inventory(&server).is_empty(),
            "{backend:?}: nothing of a bad file is stored"
        );
        let dry = import(
            &server,
            "/v1/tokens/import",
            &[("psk", RFC_PSK), ("dry_run", "true"), ("skip_bad", "true")],
            &tampered,
        );
        assert_eq!(
            (dry["state"].as_str(), dry["imported"].as_i64()),
            (Some("done"), Some(2)),
            "{dry}"
        );
        assert!(inventory(&server).is_empty(), "a dry run stores nothing");
        let good = import(
            &server,
            "/v1/tokens/import",
            &[("psk", RFC_PSK), ("skip_bad", "true")],
            &tampered,
        );
        assert_eq!(good["imported"], 2, "{good}");
        let serials: Vec<Value> = inventory(&server)
            .iter()
            .map(|t| t["serial"].clone())
            .collect();
        assert_eq!(serials, [json!("T1"), json!("T3")]);
        // The same file again: every serial but T2 is a duplicate.
        let again = import(
            &server,
            "/v1/tokens/import",
            &[("psk", RFC_PSK), ("skip_bad", "true")],
            &tampered,
        );
        let reasons: Vec<&str> = again["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["duplicate_serial", "bad_mac", "duplicate_serial"],
            "{again}"
        );
        // The secrets are in no answer and no audit record.
        let audit = server.admin("GET", "/v1/audit?limit=500", None).body;
        assert!(
            audit.contains("tokens.import") && !audit.contains(secret) && !audit.contains(RFC_PSK),
            "{audit}"
        );
        // Form errors name their field; an import body over the limit is a 413.
        let (ct, body) = multipart(&[("psk", "zz")], &fig6);
        let r = server.raw(
            "POST",
            "/v1/tokens/import",
            Some(&server.admin_key),
            Some(&body),
            &[("Content-Type", &ct)],
        );
        assert_eq!(
            (r.status, r.json()["field"].as_str()),
            (400, Some("psk")),
            "{}",
            r.body
        );
    }
}

fn sae(server: &Server, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(crate::support::sae_bin());
    cmd.args(args).arg("--data-dir").arg(server.dir.path());
    if let Some(url) = &server.database_url {
        cmd.arg("--database-url").arg(url);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        std::io::Write::write_all(&mut input, text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_imports_tokens_and_users_with_a_row_numbered_report() {
    for backend in backends() {
        let server = start_with_user(backend);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| -> PathBuf {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let fig6 = write("fig6.xml", &pskc_data("rfc6030-figure6.xml"));
        let psk = write("psk.hex", &format!("{RFC_PSK}\n"));
        let wrong = write("wrong.hex", "00000000000000000000000000000000\n");
        let f = fig6.to_str().unwrap();
        let (code, _, err) = sae(
            &server,
            &["tokens", "import", f, "--psk-file", wrong.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("wrong"), "{err}");
        let (code, out, _) = sae(
            &server,
            &[
                "tokens",
                "import",
                f,
                "--psk-file",
                psk.to_str().unwrap(),
                "--dry-run",
            ],
            None,
        );
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("dry run"), "{out}");
        assert!(inventory(&server).is_empty());
        let (code, out, err) = sae(
            &server,
            &["tokens", "import", f, "--psk-file", psk.to_str().unwrap()],
            None,
        );
        assert_eq!(code, 0, "{out} {err}");
        assert_eq!(inventory(&server).len(), 1);
        let fig7 = write(
            "fig7.xml",
            &pskc_data("rfc6030-figure7.xml").replace("987654321", "PW-1"),
        );
        let (code, out, err) = sae(
            &server,
            &[
                "tokens",
                "import",
                fig7.to_str().unwrap(),
                "--password-stdin",
            ],
            Some("qwerty\n"),
        );
        assert_eq!(code, 0, "{out} {err}");
        let (code, _, err) = sae(
            &server,
            &["tokens", "import", f, "--psk-file", "/nonexistent"],
            None,
        );
        assert_eq!(code, 2, "{err}");
        // Not on a terminal: a plain progress line per 10,000 items, on stderr.
        let rows: String = (0..10_200)
            .map(|i| format!("CLI{i:05},3132333435363738393031323334353637383930\n"))
            .collect();
        let many = write("many.csv", &rows);
        let (code, out, err) = sae(&server, &["tokens", "import", many.to_str().unwrap()], None);
        assert_eq!(code, 0, "{out} {err}");
        assert_eq!(
            err.lines().collect::<Vec<_>>(),
            ["10000 read, 10000 imported, 0 skipped"],
            "{err}"
        );
        assert!(
            out.contains("10200 item(s), 10200 imported, 0 skipped"),
            "{out}"
        );
        let users = write(
            "users.csv",
            "login,name,mobile\nbob,Bob,+5511912345678\nalice,Dup,\n,NoLogin,\n",
        );
        let (code, out, err) = sae(&server, &["users", "import", users.to_str().unwrap()], None);
        assert_eq!(code, 1, "a bad row without --skip-bad fails: {out} {err}");
        assert!(
            out.contains("row 3 (alice): skipped: duplicate")
                && out.contains("row 4: skipped: missing_field"),
            "{out}"
        );
        let (code, out, _) = sae(
            &server,
            &["users", "import", users.to_str().unwrap(), "--skip-bad"],
            None,
        );
        assert_eq!(code, 0, "{out}");
        let export = server.admin("GET", "/v1/users/export?format=csv", None);
        assert_eq!(export.status, 200);
        assert!(
            export.body.contains("bob,Bob,,,+5511912345678,,"),
            "{}",
            export.body
        );
    }
}

#[test]
fn a_server_killed_mid_import_resumes_the_job_after_a_restart() {
    for backend in backends() {
        let mut rows = 20_000;
        loop {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("sae.toml"),
                "job_lease_s = 5\nimport_body_limit = 268435456\n",
            )
            .unwrap();
            let config = dir.path().join("sae.toml").display().to_string();
            let database_url =
                (backend == Backend::Postgres).then(crate::support::fresh_pg_database);
            let server = Server::start_with(backend, dir, database_url, &["--config", &config]);
            let mut csv = String::from("serial,type,secret_hex\n");
            for i in 0..rows {
                csv.push_str(&format!(
                    "K{i:07},totp,3132333435363738393031323334353637383930\n"
                ));
            }
            let (ct, body) = multipart(&[], &csv);
            let r = server.raw(
                "POST",
                "/v1/tokens/import",
                Some(&server.admin_key),
                Some(&body),
                &[("Content-Type", &ct)],
            );
            assert_eq!(r.status, 202, "{}", r.body);
            let id = r.json()["job_id"].as_str().unwrap().to_owned();
            // Kill the server as soon as the job has committed a batch but not ended.
            let killed = loop {
                let job = server.admin("GET", &format!("/v1/jobs/{id}"), None).json();
                if job["state"] == "running" && job["done"].as_i64() > Some(0) {
                    break true;
                }
                if job["state"] == "done" {
                    break false;
                }
                assert_ne!(job["state"], "failed", "{job}");
                std::thread::sleep(Duration::from_millis(5));
            };
            let (dir, url) = server.kill();
            if !killed {
                // The import ended before it could be caught running: a bigger file.
                rows *= 2;
                assert!(rows <= 1_280_000, "an import could never be caught running");
                continue;
            }
            let server = Server::start_with(backend, dir, url, &["--config", &config]);
            let job = wait_job(&server, &id);
            assert_eq!(job["state"], "done", "{backend:?}: {job}");
            assert_eq!(
                (job["done"].as_i64(), job["imported"].as_i64()),
                (Some(rows), Some(rows)),
                "{job}"
            );
            let mut count = 0;
            let mut cursor: Option<String> = None;
            loop {
                let q = cursor
                    .as_ref()
                    .map(|c| format!("&cursor={c}"))
                    .unwrap_or_default();
                let page = server
                    .admin("GET", &format!("/v1/tokens?limit=500{q}"), None)
                    .json();
                count += page["items"].as_array().unwrap().len() as i64;
                match page["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => break,
                }
            }
            assert_eq!(
                count, rows,
                "{backend:?}: every token exactly once after the resume"
            );
            break;
        }
    }
}
