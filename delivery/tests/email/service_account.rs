//! A Google-style service account JSON key for the JWT bearer tests, made with openssl
//! (shared by the delivery and server tests: `crate::peers::skip` is each crate's own).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::peers::skip;

/// A service account's JSON key file and its public key (PEM), made with openssl.
pub fn service_account(dir: &Path, email: &str) -> Option<(String, PathBuf)> {
    let private = dir.join("sa.key");
    let public = dir.join("sa.pub");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .status()
            .is_ok_and(|s| s.success());
    if !made {
        return skip("openssl could not make an RSA key");
    }
    let pem = std::fs::read_to_string(&private).expect("key");
    let json = serde_json::json!({
        "type": "service_account",
        "project_id": "sae-test",
        "private_key_id": "k-2025-12",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    Some((json.to_string(), public))
}
