//! Administrator accounts, console sessions (password + TOTP enrolled at the first login,
//! cookie, CSRF, idle expiry, lockout) and administrator groups with their ACL.

use std::io::Write as _;
use std::process::{Command, Stdio};

use sae_core::secret::Secret;
use serde_json::{Value, json};

use crate::support::{Backend, Response, Server, backends, request, sae_bin};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The administrator login and password of the first start.
fn initial_admin(s: &Server) -> (String, String) {
    let creds = std::fs::read_to_string(s.dir.path().join("initial-credentials")).unwrap();
    let get = |k: &str| {
        creds
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k} = ")))
            .unwrap_or_else(|| panic!("{k} missing from initial-credentials"))
            .to_owned()
    };
    (get("admin_login"), get("admin_password"))
}

fn post_session(s: &Server, body: &Value) -> Response {
    s.call("POST", "/v1/session", None, Some(body))
}

/// A logged-in console session.
pub struct Session {
    /// `sae_session=…`
    pub cookie: String,
    /// The CSRF token.
    pub csrf: String,
    /// The administrator's TOTP secret.
    pub secret: Secret,
}

impl Session {
    /// Sends a request with the cookie, and the CSRF header unless `csrf` is false.
    pub fn send(
        &self,
        s: &Server,
        method: &str,
        path: &str,
        body: Option<&Value>,
        csrf: bool,
    ) -> Response {
        let mut headers = vec![("Cookie", self.cookie.as_str())];
        if csrf {
            headers.push(("X-CSRF-Token", self.csrf.as_str()));
        }
        request(
            s.addr,
            method,
            path,
            None,
            body.map(Value::to_string).as_deref(),
            &headers,
        )
    }
}

/// First login of `login`: enrols the TOTP, then logs in with the code at `t`.
pub fn first_login(s: &Server, login: &str, password: &str) -> Session {
    let r = post_session(s, &json!({"login": login, "password": password}));
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], json!("totp_enrolment"), "{j}");
    assert!(j["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(
        j["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let secret = Secret::from_base32(j["secret_base32"].as_str().unwrap()).unwrap();
    login_with(s, login, password, secret, now())
}

fn login_with(s: &Server, login: &str, password: &str, secret: Secret, t: u64) -> Session {
    let code = super::otp::totp_at(&secret, t);
    let r = post_session(
        s,
        &json!({"login": login, "password": password, "otp": code}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], json!("ok"), "{j}");
    let set_cookie = r
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("sae_session="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    Session {
        cookie,
        csrf: j["csrf_token"].as_str().unwrap().to_owned(),
        secret,
    }
}

#[test]
fn first_login_enrols_totp_and_the_session_needs_csrf() {
    for backend in backends() {
        let s = Server::start(backend);
        let (login, password) = initial_admin(&s);
        assert_eq!(login, "admin");

        // Without a code every login is asked for one, whether it exists or the password
        // is right: nothing tells a guesser which (issue 14, item 2).
        for login in ["admin", "nobody"] {
            let r = post_session(&s, &json!({"login": login, "password": "wrong password!"}));
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.json(), json!({"status": "otp_required"}), "{login}");
        }
        let r = post_session(
            &s,
            &json!({"login": "nobody", "password": "wrong password!", "otp": "123456"}),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (401, json!("invalid_credentials"))
        );

        // The same pending secret until the enrolment completes.
        let a = post_session(&s, &json!({"login": "admin", "password": password})).json();
        let b = post_session(&s, &json!({"login": "admin", "password": password})).json();
        assert_eq!(a["status"], json!("totp_enrolment"));
        assert_eq!(a["secret_base32"], b["secret_base32"]);
        let r = post_session(
            &s,
            &json!({"login": "admin", "password": password, "otp": "000000x"}),
        );
        // A malformed code is one more wrong credential: the uniform 401.
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (401, json!("invalid_credentials"))
        );

        let secret = Secret::from_base32(a["secret_base32"].as_str().unwrap()).unwrap();
        let t = now();
        let code = super::otp::totp_at(&secret, t);
        let r = post_session(
            &s,
            &json!({"login": "admin", "password": password, "otp": code}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let set_cookie = r
            .headers
            .iter()
            .find(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
        let j = r.json();
        assert_eq!(j["system_administrator"], json!(true));
        let session = Session {
            cookie: set_cookie.split(';').next().unwrap().to_owned(),
            csrf: j["csrf_token"].as_str().unwrap().to_owned(),
            secret,
        };

        // The same code again is a replay.
        let r = post_session(
            &s,
            &json!({"login": "admin", "password": password, "otp": code}),
        );
        // A malformed code is one more wrong credential: the uniform 401.
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (401, json!("invalid_credentials"))
        );
        // Enrolled now: no secret is offered any more.
        let r = post_session(&s, &json!({"login": "admin", "password": password})).json();
        assert_eq!(r, json!({"status": "otp_required"}));

        let me = session.send(&s, "GET", "/v1/session", None, false);
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.json()["login"], json!("admin"));
        assert_eq!(
            session.send(&s, "GET", "/v1/users", None, false).status,
            200
        );

        // Writes need the CSRF header, and the right one.
        let body = json!({"login": "alice"});
        let r = session.send(&s, "POST", "/v1/users", Some(&body), false);
        assert_eq!((r.status, r.json()["code"].clone()), (403, json!("csrf")));
        let r = request(
            s.addr,
            "POST",
            "/v1/users",
            None,
            Some(&body.to_string()),
            &[("Cookie", &session.cookie), ("X-CSRF-Token", "0000")],
        );
        assert_eq!(r.status, 403);
        let r = session.send(&s, "POST", "/v1/users", Some(&body), true);
        assert_eq!(r.status, 201, "{}", r.body);
        // The audit names the administrator.
        let audit = s.admin("GET", "/v1/audit?action=user.create", None).json();
        assert_eq!(audit["items"][0]["actor"], json!("admin:admin"));
        let audit = s.admin("GET", "/v1/audit?action=admin.login", None).json();
        let outcomes: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["outcome"].as_str().unwrap())
            .collect();
        assert!(outcomes.contains(&"ok; totp enrolled"), "{outcomes:?}");
        assert!(outcomes.contains(&"rejected:replayed"), "{outcomes:?}");
        assert!(
            !audit.to_string().contains(&password),
            "no password in the audit"
        );

        // Logout ends the session.
        assert_eq!(
            session
                .send(&s, "DELETE", "/v1/session", None, false)
                .status,
            403
        );
        assert_eq!(
            session.send(&s, "DELETE", "/v1/session", None, true).status,
            204
        );
        assert_eq!(
            session.send(&s, "GET", "/v1/session", None, false).status,
            401
        );
        assert_eq!(
            session.send(&s, "GET", "/v1/users", None, false).status,
            401
        );

        // The next login takes the next code (the previous one was used).
        let again = login_with(&s, "admin", &password, session.secret, t + 30);
        assert_eq!(
            again.send(&s, "GET", "/v1/session", None, false).status,
            200
        );
    }
}

#[test]
fn idle_sessions_expire() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with(Backend::Sqlite, dir, None, &["--session-idle-s", "2"]);
    let (_, password) = initial_admin(&s);
    let session = first_login(&s, "admin", &password);
    let me = session.send(&s, "GET", "/v1/session", None, false);
    assert_eq!(me.json()["idle_timeout_s"], json!(2));
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert_eq!(
        session.send(&s, "GET", "/v1/session", None, false).status,
        401
    );
}

#[test]
fn administrators_are_locked_out_and_unlocked() {
    for backend in backends() {
        let s = Server::start(backend);
        let (_, password) = initial_admin(&s);
        let r = s.admin("PUT", "/v1/config/admin-lockout", Some(&json!({"attempts": 3, "minutes": 15, "throttle": {"enabled": false, "after": 5, "max_delay_s": 900}})));
        assert_eq!(r.status, 200, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/admins",
            Some(&json!({"login": "ops", "password": "correct horse battery"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let session = first_login(&s, "ops", "correct horse battery");
        for _ in 0..3 {
            let r = post_session(
                &s,
                &json!({"login": "ops", "password": "not the password", "otp": "000000"}),
            );
            assert_eq!(r.status, 401);
        }
        // Locked: even both right factors are refused, with the answer of any failure.
        let code = super::otp::totp_at(&session.secret, now() + 30);
        let r = post_session(
            &s,
            &json!({"login": "ops", "password": "correct horse battery", "otp": code}),
        );
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (401, json!("invalid_credentials")),
            "{}",
            r.body
        );
        let view = s.admin("GET", "/v1/admins/ops", None).json();
        assert_eq!(view["locked"], json!(true));
        assert!(view["locked_until"].is_string(), "always temporary: {view}");
        // Wrong codes count too.
        let r = s.admin("POST", "/v1/admins/ops/unlock", None);
        assert_eq!(r.status, 204);
        for _ in 0..3 {
            let r = post_session(
                &s,
                &json!({"login": "ops", "password": "correct horse battery", "otp": "000000"}),
            );
            assert_eq!(r.status, 401);
        }
        let view = s.admin("GET", "/v1/admins/ops", None).json();
        assert_eq!(view["locked"], json!(true), "{view}");
        assert_eq!(view["failures"]["otp"], json!(3), "{view}");
        // The CLI lifts a lock too (recovery when no administrator can log in).
        let _admin = first_login(&s, "admin", &password);
        for _ in 0..3 {
            let r = post_session(
                &s,
                &json!({"login": "admin", "password": password, "otp": "000000"}),
            );
            assert_eq!(r.status, 401);
        }
        assert_eq!(
            s.admin("GET", "/v1/admins/admin", None).json()["locked"],
            json!(true)
        );
        let out = s.cli(&["admin", "unlock", "--login", "admin"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            s.admin("GET", "/v1/admins/admin", None).json()["locked"],
            json!(false)
        );
        // The last System Administrator cannot be deleted or moved.
        assert_eq!(s.admin("DELETE", "/v1/admins/ops", None).status, 204);
        let r = s.admin("DELETE", "/v1/admins/admin", None);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("last_system_administrator"))
        );
    }
}

#[test]
fn cli_creates_administrators() {
    let s = Server::start(Backend::Sqlite);
    let mut child = Command::new(sae_bin())
        .args([
            "admin",
            "create",
            "--login",
            "carol",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(s.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "the given password is not echoed");
    // Works at once with the running server.
    first_login(&s, "carol", "a long enough password");

    let out = s.cli(&["admin", "create", "--login", "dave"]);
    assert!(out.status.success());
    let generated = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(generated.len(), 20, "{generated}");
    let r = post_session(&s, &json!({"login": "dave", "password": generated}));
    assert_eq!(r.json()["status"], json!("totp_enrolment"));

    let out = s.cli(&["admin", "create", "--login", "dave"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--login"));
    let out = s.cli(&["admin", "create", "--login", "erin", "--group", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--group"));
    let out = s.cli(&["admin", "list"]);
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        list.contains("carol\tSystem Administrator\ttotp=yes"),
        "{list}"
    );
    assert!(
        list.contains("dave\tSystem Administrator\ttotp=no"),
        "{list}"
    );
    // Short passwords are refused with the field named.
    let r = s.admin(
        "POST",
        "/v1/admins",
        Some(&json!({"login": "frank", "password": "short"})),
    );
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (400, json!("password"))
    );
}

#[test]
fn groups_restrict_fields_for_sessions_and_bound_keys() {
    for backend in backends() {
        let s = Server::start(backend);
        let r = s.admin(
            "POST",
            "/v1/admin-groups",
            Some(&json!({"name": "helpdesk", "may_modify": true,
                "users": {"login": "view", "name": "edit", "mobile": "view", "status": "edit"},
                "wallets": {"name": "view"}})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let g = r.json();
        assert_eq!(
            g["users"]["email"],
            json!("none"),
            "omitted fields are none: {g}"
        );
        assert_eq!(g["builtin"], json!(false));
        let groups = s.admin("GET", "/v1/admin-groups", None).json();
        assert_eq!(groups["items"][0]["name"], json!("System Administrator"));
        assert_eq!(groups["items"][0]["builtin"], json!(true));
        // Bad groups name the field.
        let r = s.admin(
            "POST",
            "/v1/admin-groups",
            Some(&json!({"name": "x", "users": {"mobile": "write"}})),
        );
        assert_eq!(r.status, 400, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/admin-groups",
            Some(&json!({"name": "system administrator"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (400, json!("name")),
            "{}",
            r.body
        );
        assert_eq!(
            s.admin(
                "PUT",
                "/v1/admin-groups/System%20Administrator",
                Some(&json!({"name": "x"}))
            )
            .status,
            409
        );

        let r = s.admin(
            "POST",
            "/v1/users",
            Some(&json!({"login": "u1", "name": "U One", "email": "u1@example.com", "mobile": "+55 11 91234-5678"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let r = s.admin(
            "POST",
            "/v1/admins",
            Some(&json!({"login": "help1", "password": "helpdesk password", "group": "helpdesk"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.json()["group"], json!("helpdesk"));
        let help = first_login(&s, "help1", "helpdesk password");
        let me = help.send(&s, "GET", "/v1/session", None, false).json();
        assert_eq!(me["system_administrator"], json!(false));
        assert_eq!(me["acl"]["users"]["mobile"], json!("view"));

        let u = help.send(&s, "GET", "/v1/users/u1", None, false);
        assert_eq!(u.status, 200, "{}", u.body);
        let u = u.json();
        assert_eq!(u["login"], json!("u1"));
        assert_eq!(u["mobile"], json!("+55 11 91234-5678"));
        assert!(u.get("email").is_none(), "hidden field shown: {u}");
        let list = help.send(&s, "GET", "/v1/users", None, false).json();
        assert!(list["items"][0].get("email").is_none(), "{list}");
        let r = help.send(&s, "GET", "/v1/users?email=u1@example.com", None, false);
        assert_eq!((r.status, r.json()["field"].clone()), (403, json!("email")));

        let r = help.send(
            &s,
            "PATCH",
            "/v1/users/u1",
            Some(&json!({"mobile": "+55 11 99999-0000"})),
            true,
        );
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.json()["code"], json!("acl_denied"));
        assert_eq!(r.json()["field"], json!("mobile"));
        let r = help.send(
            &s,
            "PATCH",
            "/v1/users/u1",
            Some(&json!({"name": "Renamed"})),
            true,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        // Nothing was written by the refused update.
        let u = s.admin("GET", "/v1/users/u1", None).json();
        assert_eq!(u["mobile"], json!("+55 11 91234-5678"));
        assert_eq!(u["name"], json!("Renamed"));
        let r = help.send(
            &s,
            "POST",
            "/v1/users",
            Some(&json!({"login": "u2", "email": "x@y.z"})),
            true,
        );
        assert_eq!((r.status, r.json()["field"].clone()), (403, json!("login")));
        let r = help.send(
            &s,
            "POST",
            "/v1/users/u1/tokens",
            Some(&json!({"type": "totp"})),
            true,
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (403, json!("tokens"))
        );
        // Everything but users and wallets is the System Administrator's.
        for path in [
            "/v1/config/im",
            "/v1/admins",
            "/v1/apikeys",
            "/v1/audit",
            "/v1/delivery/sms",
        ] {
            let r = help.send(&s, "GET", path, None, false);
            assert_eq!(
                (r.status, r.json()["code"].clone()),
                (403, json!("acl_denied")),
                "{path}"
            );
        }

        // An admin API key bound to the group gets the same ACL.
        let r = s.admin(
            "POST",
            "/v1/apikeys",
            Some(&json!({"name": "helpdesk-bot", "scope": "admin", "group": "helpdesk"})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let key = r.json()["key"].as_str().unwrap().to_owned();
        let r = s.call(
            "PATCH",
            "/v1/users/u1",
            Some(&key),
            Some(&json!({"mobile": "+55 11 90000-0000"})),
        );
        assert_eq!(
            (r.status, r.json()["field"].clone()),
            (403, json!("mobile"))
        );
        let r = s.call("GET", "/v1/users/u1", Some(&key), None).json();
        assert!(r.get("email").is_none(), "{r}");
        let r = s.call("PUT", "/v1/config/im", Some(&key), Some(&json!({})));
        assert_eq!(r.status, 403);
        let r = s.admin(
            "POST",
            "/v1/apikeys",
            Some(&json!({"name": "k", "scope": "otp", "group": "helpdesk"})),
        );
        assert_eq!((r.status, r.json()["field"].clone()), (400, json!("group")));

        // A group in use cannot be deleted; changing it applies to its sessions at once.
        let r = s.admin("DELETE", "/v1/admin-groups/helpdesk", None);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (409, json!("group_in_use"))
        );
        let r = s.admin(
            "PUT",
            "/v1/admin-groups/helpdesk",
            Some(&json!({"name": "helpdesk", "may_modify": false, "users": {"login": "view"}})),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = help.send(
            &s,
            "PATCH",
            "/v1/users/u1",
            Some(&json!({"name": "Again"})),
            true,
        );
        assert_eq!((r.status, r.json()["field"].clone()), (403, json!("name")));
        let u = help.send(&s, "GET", "/v1/users/u1", None, false).json();
        assert!(u.get("mobile").is_none(), "{u}");
        let r = s.admin(
            "PUT",
            "/v1/admin-groups/helpdesk",
            Some(&json!({"name": "helpdesk"})),
        );
        assert_eq!(r.status, 200);
        let r = help.send(&s, "GET", "/v1/users", None, false);
        assert_eq!(
            (r.status, r.json()["code"].clone()),
            (403, json!("acl_denied"))
        );
    }
}

#[test]
fn administrators_are_throttled() {
    let s = Server::start(Backend::Sqlite);
    let (_, password) = initial_admin(&s);
    let policy = |throttle: bool| {
        json!({"attempts": 10, "minutes": 15,
               "throttle": {"enabled": throttle, "after": 1, "max_delay_s": 900}})
    };
    // Six failures counted while throttling is off; turned on, it asks for 2^5 = 32 s.
    assert_eq!(
        s.admin("PUT", "/v1/config/admin-lockout", Some(&policy(false)))
            .status,
        200
    );
    for _ in 0..6 {
        let r = post_session(
            &s,
            &json!({"login": "admin", "password": "not the password", "otp": "000000"}),
        );
        assert_eq!(r.status, 401);
    }
    assert_eq!(
        s.admin("PUT", "/v1/config/admin-lockout", Some(&policy(true)))
            .status,
        200
    );
    // The next attempt, even with the right password, is refused like a wrong one and
    // not checked: the enrolment is not offered, nothing is counted.
    let r = post_session(&s, &json!({"login": "admin", "password": password}));
    assert_eq!(r.json(), json!({"status": "otp_required"}), "{}", r.body);
    let view = s.admin("GET", "/v1/admins/admin", None).json();
    assert_eq!(view["failures"]["password"], json!(6), "{view}");
    let entries = s
        .admin(
            "GET",
            "/v1/audit?action=admin.login&outcome=rejected:throttled",
            None,
        )
        .json();
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "{entries}");
}
