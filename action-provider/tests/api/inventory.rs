//! The rest of RFC 6030's examples through the API (supplementary data and `UserId`, a key
//! by reference, a PIN package, asymmetric encryption, a signed file, bulk provisioning with
//! a duplicate serial), token CSV files in both layouts, the inventory's filters, and the
//! import body limit — on SQLite and PostgreSQL. Codes are computed by `oathtool`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::process::Command;

use serde_json::{Value, json};

use super::imports::{
    assign_validate_delete, import, inventory, multipart, oathtool_hotp, pskc_data, start_with_user,
};
use crate::support::{Backend, Server, backends};

/// `12345678901234567890`, the secret of RFC 6030's examples (and RFC 4226's).
const RFC_SECRET: &str = "3132333435363738393031323334353637383930";
/// `12345678901234567890123456789012`: a 32-byte seed (SHA-256 by LinOTP's rule).
const SEED_32: &str = "3132333435363738393031323334353637383930313233343536373839303132";

fn reasons(job: &Value) -> Vec<String> {
    job["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap().to_owned())
        .collect()
}

fn serials(server: &Server, query: &str) -> Vec<String> {
    let r = server.admin("GET", &format!("/v1/tokens?limit=500{query}"), None);
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["serial"].as_str().unwrap().to_owned())
        .collect()
}

fn valid(server: &Server, login: &str, code: &str) -> bool {
    let v = server.admin(
        "POST",
        "/v1/otp/validate",
        Some(&json!({"login": login, "code": code})),
    );
    assert_eq!(v.status, 200, "{}", v.body);
    v.json()["valid"] == true
}

fn oathtool_totp(secret_hex: &str, hash: &str, digits: u32, step: u32) -> String {
    let out = Command::new("oathtool")
        .arg(format!("--totp={hash}"))
        .args([
            "-d",
            &digits.to_string(),
            "-s",
            &format!("{step}s"),
            secret_hex,
        ])
        .output()
        .expect("oathtool runs (apt-get install oathtool)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_other_rfc_6030_examples_end_in_their_outcome_and_validate_oathtool_codes() {
    for backend in backends() {
        let server = start_with_user(backend);
        let tokens = "/v1/tokens/import";
        // Figure 3: its UserId names no user here: the key is skipped, nothing is stored.
        let fig3 = pskc_data("rfc6030-figure3.xml");
        let job = import(&server, tokens, &[], &fig3);
        assert_eq!(job["state"], "failed", "{backend:?}: {job}");
        assert_eq!(reasons(&job), ["unknown_user"], "{job}");
        assert!(inventory(&server).is_empty());
        // The same file naming alice: imported and assigned to her, 8 digits.
        let named = fig3.replace("UID=jsmith,DC=example-bank,DC=net", "alice");
        let job = import(&server, tokens, &[], &named);
        assert_eq!(
            (job["state"].as_str(), job["imported"].as_i64()),
            (Some("done"), Some(1))
        );
        let listed = inventory(&server);
        assert_eq!(
            (
                &listed[0]["serial"],
                &listed[0]["login"],
                &listed[0]["digits"]
            ),
            (&json!("987654321"), &json!("alice"), &json!(8)),
            "{listed:?}"
        );
        assert_eq!(listed[0]["issuer"], "Issuer");
        assert!(valid(&server, "alice", &oathtool_hotp(RFC_SECRET, 8, 0)));
        assert_eq!(
            server.admin("DELETE", "/v1/tokens/987654321", None).status,
            204
        );
        // Figure 4: a key by reference has no secret.
        let job = import(&server, tokens, &[], &pskc_data("rfc6030-figure4.xml"));
        assert_eq!(
            (job["state"].as_str(), reasons(&job)),
            (Some("failed"), vec!["missing_secret".to_owned()])
        );
        // Figure 5: the PIN package is skipped; with skip_bad the HOTP key imports.
        let fig5 = pskc_data("rfc6030-figure5.xml");
        let job = import(&server, tokens, &[], &fig5);
        assert_eq!(job["state"], "failed", "{job}");
        assert!(
            inventory(&server).is_empty(),
            "without skip_bad nothing is stored"
        );
        let job = import(&server, tokens, &[("skip_bad", "true")], &fig5);
        assert_eq!(
            (
                job["state"].as_str(),
                job["imported"].as_i64(),
                reasons(&job)
            ),
            (
                Some("done"),
                Some(1),
                vec!["unsupported_algorithm".to_owned()]
            ),
            "{job}"
        );
        assign_validate_delete(&server, "987654321", "alice", RFC_SECRET, "figure 5");
        // Figure 8: RSA key transport is not supported.
        let job = import(&server, tokens, &[], &pskc_data("rfc6030-figure8.xml"));
        assert_eq!(reasons(&job), ["unsupported_encryption"], "{job}");
        // Figure 9: a signed file is read past its signature.
        let job = import(&server, tokens, &[], &pskc_data("rfc6030-figure9.xml"));
        assert_eq!(job["state"], "done", "{job}");
        assign_validate_delete(&server, "0755225266", "alice", RFC_SECRET, "figure 9");
        // Figure 10: four packages, the fourth repeats the third's serial.
        let fig10 = pskc_data("rfc6030-figure10.xml");
        let job = import(&server, tokens, &[], &fig10);
        assert_eq!(
            (job["state"].as_str(), reasons(&job)),
            (Some("failed"), vec!["duplicate_serial".to_owned()])
        );
        assert_eq!(job["skipped"][0]["position"], 4, "{job}");
        assert!(inventory(&server).is_empty());
        let job = import(&server, tokens, &[("skip_bad", "true")], &fig10);
        assert_eq!(job["imported"], 3, "{job}");
        let mut got = serials(&server, "");
        got.sort();
        assert_eq!(got, ["123456", "654321", "9999999"]);
        // Their validity ended in 2006: listed with the dates, never a candidate.
        let listed = inventory(&server);
        assert!(
            listed.iter().all(|t| t["valid_until"]
                .as_str()
                .is_some_and(|d| d.starts_with("2006-0"))),
            "{listed:?}"
        );
        let r = server.admin(
            "POST",
            "/v1/tokens/654321/assign",
            Some(&json!({"login": "alice"})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = server.admin(
            "POST",
            "/v1/otp/validate",
            Some(&json!({"login": "alice", "code": oathtool_hotp(RFC_SECRET, 8, 0)})),
        );
        assert_eq!(
            v.json()["reason"],
            "no_token",
            "an expired token: {}",
            v.body
        );
        for serial in &got {
            let r = server.admin("DELETE", &format!("/v1/tokens/{serial}"), None);
            assert_eq!(r.status, 204, "{}", r.body);
        }
        // The same file with its expiry moved into the future: each token validates.
        let renewed = fig10.replace("<ExpiryDate>2006", "<ExpiryDate>2999");
        let job = import(&server, tokens, &[("skip_bad", "true")], &renewed);
        assert_eq!(job["imported"], 3, "{job}");
        for serial in got {
            assign_validate_delete(&server, &serial, "alice", RFC_SECRET, "figure 10");
        }
    }
}

#[test]
fn token_csv_files_in_both_layouts_import_and_the_inventory_filters_them() {
    for backend in backends() {
        let server = start_with_user(backend);
        // privacyIDEA's headerless layout: serial, seed, type, digits, step or counter.
        let pi = format!(
            "# exported from privacyIDEA\nPI-H1, {RFC_SECRET}, hotp, 6, 5\nPI-T1,{SEED_32},totp,8,30\n"
        );
        let job = import(&server, "/v1/tokens/import", &[("format", "csv")], &pi);
        assert_eq!(
            (job["state"].as_str(), job["imported"].as_i64()),
            (Some("done"), Some(2)),
            "{backend:?}: {job}"
        );
        // SAE's headed layout, assigned by login.
        let sae = format!(
            "login,serial,type,secret_hex,period,digits\nalice,SAE-T1,totp,{RFC_SECRET},60,6\n,SAE-H1,hotp,{RFC_SECRET},,\n"
        );
        let job = import(&server, "/v1/tokens/import", &[], &sae);
        assert_eq!(job["imported"], 2, "{job}");
        // Audited: one record per import with its counts, the serials, never a secret.
        let audit = server.admin("GET", "/v1/audit?action=tokens.", None);
        let items = audit.json()["items"].as_array().unwrap().clone();
        let of = |action: &str| -> Vec<Value> {
            items
                .iter()
                .filter(|i| i["action"] == action)
                .map(|i| i["detail"].clone())
                .collect()
        };
        let imports = of("tokens.import");
        assert_eq!(imports.len(), 2, "{items:?}");
        assert!(
            imports
                .iter()
                .all(|d| d["imported"] == 2 && d["skipped"] == 0 && d["origin"] == "api"),
            "{imports:?}"
        );
        let mut named: Vec<Value> = of("tokens.import.items")
            .iter()
            .flat_map(|d| d["imported"].as_array().unwrap().clone())
            .collect();
        named.sort_by_key(|v| v.to_string());
        assert_eq!(
            named,
            [
                json!("PI-H1"),
                json!("PI-T1"),
                json!("SAE-H1"),
                json!("SAE-T1")
            ]
        );
        assert!(
            !audit.body.contains(RFC_SECRET) && !audit.body.contains(SEED_32),
            "{}",
            audit.body
        );
        // The filters: serial prefix, type, assigned, user; a bad type names its field.
        assert_eq!(serials(&server, "&serial=PI-"), ["PI-H1", "PI-T1"]);
        assert_eq!(serials(&server, "&type=totp"), ["PI-T1", "SAE-T1"]);
        assert_eq!(serials(&server, "&assigned=true"), ["SAE-T1"]);
        assert_eq!(serials(&server, "&login=alice"), ["SAE-T1"]);
        assert_eq!(
            serials(&server, "&assigned=false&type=hotp"),
            ["PI-H1", "SAE-H1"]
        );
        let bad = server.admin("GET", "/v1/tokens?type=sms", None);
        assert_eq!(
            (bad.status, bad.json()["field"].as_str()),
            (400, Some("type"))
        );
        let period = |serial: &str| {
            let all = inventory(&server);
            let t = all.iter().find(|t| t["serial"] == serial).unwrap();
            (
                t["algorithm"].clone(),
                t["digits"].clone(),
                t["period"].clone(),
            )
        };
        assert_eq!(period("PI-T1"), (json!("sha256"), json!(8), json!(30)));
        assert_eq!(period("SAE-T1"), (json!("sha1"), json!(6), json!(60)));
        // Each validates oathtool's code; the HOTP counter 5 is the next one.
        assert!(valid(
            &server,
            "alice",
            &oathtool_totp(RFC_SECRET, "sha1", 6, 60)
        ));
        for (serial, code) in [
            ("PI-H1", oathtool_hotp(RFC_SECRET, 6, 5)),
            ("PI-T1", oathtool_totp(SEED_32, "sha256", 8, 30)),
        ] {
            let r = server.admin(
                "POST",
                &format!("/v1/tokens/{serial}/assign"),
                Some(&json!({"login": "alice"})),
            );
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(valid(&server, "alice", &code), "{serial}: oathtool {code}");
        }
        let r = server.admin("POST", "/v1/tokens/PI-H1/unassign", None);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(serials(&server, "&login=alice"), ["PI-T1", "SAE-T1"]);
    }
}

/// Sends only the headers of an upload declaring `length` bytes; returns the status.
fn declared_only(server: &Server, length: u64) -> u16 {
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(
        stream,
        "POST /v1/tokens/import HTTP/1.1\r\nHost: sae\r\nConnection: close\r\nApi-Key: {}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n",
        server.admin_key
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn import_bodies_have_their_own_limit() {
    for backend in backends() {
        // The default (64 MiB), not the API's 64 KiB: a 190 KB file imports.
        let server = start_with_user(backend);
        let rows: String = (0..3000)
            .map(|i| format!("BIG{i:05},{RFC_SECRET},totp,6,30\n"))
            .collect();
        assert!(rows.len() > 128 * 1024);
        let job = import(&server, "/v1/tokens/import", &[], &rows);
        assert_eq!(job["imported"], 3000, "{backend:?}: {job}");
        assert_eq!(
            declared_only(&server, 65 << 20),
            413,
            "over 64 MiB declared"
        );
        drop(server);
        // A configured limit of 2 KiB: refused by the declared length, and while streaming.
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sae.toml");
        std::fs::write(&config, "import_body_limit = 2048\n").unwrap();
        let config = config.display().to_string();
        let url = (backend == Backend::Postgres).then(crate::support::fresh_pg_database);
        let server = Server::start_with(backend, dir, url, &["--config", &config]);
        assert_eq!(declared_only(&server, 200 * 1024), 413);
        let (ct, body) = multipart(&[], &rows[..4096]);
        let r = server.raw(
            "POST",
            "/v1/tokens/import",
            Some(&server.admin_key),
            Some(&body),
            &[("Content-Type", &ct)],
        );
        assert_eq!(r.status, 413, "{}", r.body);
        assert!(r.body.contains("2048 bytes"), "{}", r.body);
        let small = import(&server, "/v1/tokens/import", &[], &rows[..960]);
        assert_eq!(small["state"], "done", "{small}");
        assert_eq!(
            inventory(&server).len() as i64,
            small["imported"].as_i64().unwrap(),
            "nothing of the refused uploads is stored"
        );
    }
}
