//! The scenarios: what each prepares on the server and the requests it then sends.
//!
//! Every scenario uses logins of its own, so all of them can be prepared on one server and
//! measured one after the other against the same process (the comparison table does).

use std::fmt::Write as _;

use sae_core::otp::{Algorithm, Digits, Hotp, format_code};
use sae_core::secret::Secret;

use super::conn::Conn;

/// A scenario of the harness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `GET /healthz`: the HTTP floor of the server (no database, no API key).
    Healthz,
    /// `POST /v1/otp/validate`, a wrong code for one TOTP user (lockout and throttling off).
    ValidateWrong,
    /// `POST /v1/otp/validate`, correct HOTP codes over `--users` users, each accepted once.
    ValidateOk,
    /// `GET /v1/users/{login}` with the API key (an authenticated read).
    UserRead,
    /// `POST /v1/otp/request` for SMS over `--users` users: each issues a code and queues
    /// its message, which the outbox sends to a local HTTP broker (in the harness).
    Request,
    /// `POST /v1/auth/password`, the right password (argon2id at the policy's parameters).
    Password,
}

impl Scenario {
    /// The name used on the command line and in the output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthz => "healthz",
            Self::ValidateWrong => "validate-wrong",
            Self::ValidateOk => "validate-ok",
            Self::UserRead => "user-read",
            Self::Request => "request",
            Self::Password => "password",
        }
    }
}

/// What a correct answer is.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// This status.
    Status(u16),
    /// 200 with `"valid":true` (or `false`).
    Valid(bool),
}

impl Expect {
    /// Whether the answer is the expected one.
    pub fn holds(self, status: u16, body: &str) -> bool {
        match self {
            Self::Status(s) => status == s,
            Self::Valid(true) => status == 200 && body.contains("\"valid\":true"),
            Self::Valid(false) => status == 200 && body.contains("\"valid\":false"),
        }
    }
}

/// One request to send.
#[derive(Debug, Default)]
pub struct Req {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path (reused buffer).
    pub path: String,
    /// JSON body, empty for a GET (reused buffer).
    pub body: String,
}

impl Req {
    /// `POST /v1/otp/validate` of `code` for `login` (the buffers are reused).
    pub fn validate(&mut self, login: impl std::fmt::Display, code: &str) {
        self.method = "POST";
        self.path.clear();
        self.path.push_str("/v1/otp/validate");
        self.body.clear();
        let _ = write!(self.body, r#"{{"login":"{login}","code":"{code}"}}"#);
    }
}

/// Fills in a worker's next request and says what answer is correct.
pub type Gen = Box<dyn FnMut(&mut Req) -> Expect + Send>;

/// Disables lockout and throttling (the wrong-code scenario would lock its user).
pub fn open_gate(c: &mut Conn, key: &str) {
    c.must(
        "PUT",
        "/v1/config/lockout",
        key,
        r#"{"enabled":false,"throttle":{"enabled":false,"after":5,"max_delay_s":900}}"#,
    );
}

fn fixed(workers: usize, method: &'static str, path: &str, body: &str, expect: Expect) -> Vec<Gen> {
    (0..workers)
        .map(|_| {
            let (path, body) = (path.to_owned(), body.to_owned());
            Box::new(move |r: &mut Req| {
                r.method = method;
                if r.path != path {
                    r.path.clone_from(&path);
                    r.body.clone_from(&body);
                }
                expect
            }) as Gen
        })
        .collect()
}

/// Prepares `scenario` on the server (users, tokens) and returns one request generator per
/// worker.
pub fn prepare(
    scenario: Scenario,
    c: &mut Conn,
    key: &str,
    users: usize,
    workers: usize,
) -> Vec<Gen> {
    match scenario {
        Scenario::Healthz => fixed(workers, "GET", "/healthz", "", Expect::Status(200)),
        Scenario::ValidateWrong => {
            c.must("POST", "/v1/users", key, r#"{"login":"wrong-user"}"#);
            c.must(
                "POST",
                "/v1/users/wrong-user/tokens",
                key,
                r#"{"type":"totp"}"#,
            );
            fixed(
                workers,
                "POST",
                "/v1/otp/validate",
                r#"{"login":"wrong-user","code":"000000"}"#,
                Expect::Valid(false),
            )
        }
        Scenario::UserRead => {
            c.must(
                "POST",
                "/v1/users",
                key,
                r#"{"login":"read-user","email":"read-user@example.com","mobile":"+5511987654321"}"#,
            );
            fixed(
                workers,
                "GET",
                "/v1/users/read-user",
                "",
                Expect::Status(200),
            )
        }
        Scenario::ValidateOk => validate_ok(c, key, users, workers),
        Scenario::Request => {
            let (port, _) = super::broker::sink();
            let sms = super::broker::sms_config(&format!("http://127.0.0.1:{port}/sms"), None);
            c.must("PUT", "/v1/delivery/sms", key, &sms);
            for u in 0..users {
                let user = format!(r#"{{"login":"r{u}","mobile":"+5511900{u:06}"}}"#);
                c.must("POST", "/v1/users", key, &user);
            }
            (0..workers)
                .map(|w| {
                    let mut i = w;
                    Box::new(move |r: &mut Req| {
                        i = (i + workers) % users;
                        r.method = "POST";
                        r.path.clear();
                        r.path.push_str("/v1/otp/request");
                        r.body.clear();
                        let _ = write!(r.body, r#"{{"login":"r{i}","channel":"sms"}}"#);
                        Expect::Status(202)
                    }) as Gen
                })
                .collect()
        }
        Scenario::Password => {
            c.must(
                "POST",
                "/v1/users",
                key,
                r#"{"login":"pw-user","password":"load-test-password"}"#,
            );
            fixed(
                workers,
                "POST",
                "/v1/auth/password",
                r#"{"login":"pw-user","password":"load-test-password"}"#,
                Expect::Valid(true),
            )
        }
    }
}

/// `users` HOTP users spread over the workers; each worker cycles through its users,
/// presenting the next counter's code each round, so every request should be accepted.
fn validate_ok(c: &mut Conn, key: &str, users: usize, workers: usize) -> Vec<Gen> {
    let mut per_worker: Vec<Vec<(String, Hotp)>> = (0..workers).map(|_| Vec::new()).collect();
    for u in 0..users {
        let login = format!("ok{u}");
        c.must(
            "POST",
            "/v1/users",
            key,
            &format!(r#"{{"login":"{login}"}}"#),
        );
        let body = c.must(
            "POST",
            &format!("/v1/users/{login}/tokens"),
            key,
            r#"{"type":"hotp"}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("token JSON");
        let secret = Secret::from_base32(v["secret_base32"].as_str().expect("secret_base32"))
            .expect("base32 secret");
        per_worker[u % workers].push((login, Hotp::new(&secret, Algorithm::Sha1, Digits::SIX)));
    }
    per_worker
        .into_iter()
        .filter(|users| !users.is_empty())
        .map(|users| {
            let (mut i, mut counter) = (0usize, 0u64);
            Box::new(move |r: &mut Req| {
                let (login, hotp) = &users[i];
                let code = format_code(hotp.generate(counter), Digits::SIX);
                i += 1;
                if i == users.len() {
                    i = 0;
                    counter += 1;
                }
                r.validate(login, code.as_str());
                Expect::Valid(true)
            }) as Gen
        })
        .collect()
}
