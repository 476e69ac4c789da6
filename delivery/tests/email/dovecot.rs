//! A private Dovecot (Debian `dovecot-imapd`, `dovecot-pop3d`) started by a test: IMAP and
//! POP3 on loopback, plain (for none and STARTTLS) and with implicit TLS, a self-signed
//! certificate, password logins from a passwd-file, and XOAUTH2 / OAUTHBEARER checked by
//! Dovecot's `oauth2` passdb against the OAuth2 peer's token introspection (RFC 7662).
//!
//! Missing Dovecot, `openssl` or root (Dovecot's privilege separation needs it) skips the
//! test, or fails it under `SAE_REQUIRE_PEERS=1` / `CI=true`.
//!
//! What had to be right (see also docs/design.md): a short `base_dir` (unix socket paths
//! are limited to ~100 bytes, so not under `target/`), a 0755 temporary folder (the auth
//! process runs as `dovecot` and reads the users file), mail owned by uid/gid 8 (`mail`) with
//! `first_valid_uid = 8`, `auth_failure_delay = 0` and an anvil penalty listener with mode 0
//! (else failed logins wait seconds), one `mechanisms =` list per passdb (or a password
//! works as a token and the other way round), and a certificate with
//! `basicConstraints=critical,CA:FALSE` and a subjectAltName (rustls refuses a CA as an
//! end-entity certificate).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::peers::skip;

const DOVECOT: &str = "/usr/sbin/dovecot";

/// How long Dovecot may take to accept connections.
const STARTUP: Duration = Duration::from_secs(30);

/// The `mail` user and group that own the mailboxes.
const MAIL_ID: u32 = 8;

/// A password user.
pub struct User {
    pub name: &'static str,
    pub password: &'static str,
}

/// The listeners of a running Dovecot (127.0.0.1).
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub imap: u16,
    pub imaps: u16,
    pub pop3: u16,
    pub pop3s: u16,
}

impl Ports {
    /// Four distinct ports nobody listens on right now: all four are bound at once before
    /// any is released (bound and released one by one, the kernel may hand out the same
    /// port twice, and Dovecot refuses a duplicate listener).
    pub fn free() -> Self {
        let listeners: Vec<TcpListener> = (0..4)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("free port"))
            .collect();
        let port = |i: usize| listeners[i].local_addr().expect("free port").port();
        Self {
            imap: port(0),
            imaps: port(1),
            pop3: port(2),
            pop3s: port(3),
        }
    }
}

/// A running Dovecot, stopped (SIGTERM, then wait) on drop.
pub struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    pub ports: Ports,
}

impl Dovecot {
    /// Starts Dovecot with password `users` and, when `introspection_url` is given, the
    /// oauth2 passdb checking tokens there (the token's `sub` must be the login name).
    pub fn start(users: &[User], introspection_url: Option<&str>) -> Option<Self> {
        Self::start_with(users, introspection_url, "plain login")
    }

    /// Like [`Dovecot::start`], offering only the password mechanisms `password_sasl`
    /// (e.g. `login`: no AUTH=PLAIN, so clients fall back to IMAP LOGIN / POP3 USER+PASS).
    pub fn start_with(
        users: &[User],
        introspection_url: Option<&str>,
        password_sasl: &str,
    ) -> Option<Self> {
        if !Path::new(DOVECOT).exists() {
            return skip("Dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)");
        }
        if Command::new("openssl").arg("version").output().is_err() {
            return skip("openssl is not installed (needed for Dovecot's certificate)");
        }
        if !running_as_root() {
            return skip("the Dovecot tests run Dovecot's privileged master: run them as root");
        }
        // Short and world-readable: socket paths are limited, and Dovecot's unprivileged
        // processes read the users file and certificate.
        let dir = tempfile::Builder::new()
            .prefix("sdc")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod");
        for sub in ["run", "state", "home"] {
            fs::create_dir(root.join(sub)).expect("mkdir");
        }
        std::os::unix::fs::chown(root.join("home"), Some(MAIL_ID), Some(MAIL_ID)).expect("chown");
        certificate(&root);
        let users_file: String = users
            .iter()
            .map(|u| format!("{}:{{PLAIN}}{}\n", u.name, u.password))
            .collect();
        write_readable(&root.join("users"), &users_file);
        let ports = Ports::free();
        let oauth2 = introspection_url.map(|url| {
            write_readable(
                &root.join("oauth2.conf.ext"),
                &format!(
                    "introspection_mode = post\nintrospection_url = {url}\n\
                     username_attribute = sub\nactive_attribute = active\nactive_value = true\n"
                ),
            );
            format!(
                "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
                root.join("oauth2.conf.ext").display()
            )
        });
        write_readable(
            &root.join("dovecot.conf"),
            &config(&root, ports, password_sasl, oauth2.as_deref()),
        );
        let log = fs::File::create(root.join("stdout.log")).expect("log");
        let child = Command::new(DOVECOT)
            .args(["-F", "-c"])
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dovecot");
        let mut dovecot = Self { child, dir, ports };
        dovecot.wait_until_ready();
        Some(dovecot)
    }

    /// Puts `raw` into `user`'s inbox (a new Maildir file, as a delivery agent would).
    pub fn deliver(&self, user: &str, raw: &[u8]) {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let maildir = self.dir.path().join("home").join(user).join("Maildir");
        for sub in ["", "cur", "new", "tmp"] {
            let path = maildir.join(sub);
            if !path.exists() {
                fs::create_dir_all(&path).expect("maildir");
            }
            std::os::unix::fs::chown(&path, Some(MAIL_ID), Some(MAIL_ID)).expect("chown");
        }
        std::os::unix::fs::chown(
            maildir.parent().expect("home"),
            Some(MAIL_ID),
            Some(MAIL_ID),
        )
        .expect("chown");
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "{}.M{n}P{}.sae-test",
            crate::peers::now(),
            std::process::id()
        );
        let tmp = maildir.join("tmp").join(&name);
        fs::write(&tmp, raw).expect("write message");
        std::os::unix::fs::chown(&tmp, Some(MAIL_ID), Some(MAIL_ID)).expect("chown");
        fs::rename(&tmp, maildir.join("new").join(&name)).expect("deliver");
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Polls the IMAP port until Dovecot greets (a condition, with a generous deadline).
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + STARTUP;
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.ports.imap)) {
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let mut greeting = String::new();
                if BufReader::new(stream).read_line(&mut greeting).is_ok()
                    && greeting.starts_with("* OK")
                {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dovecot exited with {status}:\n{}\n{}",
                    fs::read_to_string(self.dir.path().join("stdout.log")).unwrap_or_default(),
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not greet within {STARTUP:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its login, auth and mail processes; SIGKILL (what
        // Child::kill sends) would leave them running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn config(root: &Path, ports: Ports, password_sasl: &str, oauth2_passdb: Option<&str>) -> String {
    let d = root.display();
    let mechanisms = if oauth2_passdb.is_some() {
        format!("{password_sasl} xoauth2 oauthbearer")
    } else {
        password_sasl.to_owned()
    };
    format!(
        "protocols = imap pop3\n\
         listen = 127.0.0.1\n\
         base_dir = {d}/run\n\
         state_dir = {d}/state\n\
         log_path = {d}/dovecot.log\n\
         ssl = yes\n\
         ssl_cert = <{d}/cert.pem\n\
         ssl_key = <{d}/key.pem\n\
         ssl_min_protocol = TLSv1.2\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = {mechanisms}\n\
         auth_failure_delay = 0\n\
         auth_debug = no\n\
         first_valid_uid = {MAIL_ID}\n\
         mail_location = maildir:~/Maildir\n\
         default_internal_user = dovecot\n\
         default_login_user = dovenull\n\
         passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n  args = scheme=PLAIN {d}/users\n}}\n\
         {oauth2}\
         userdb {{\n  driver = static\n  args = uid={MAIL_ID} gid={MAIL_ID} home={d}/home/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  inet_listener pop3s {{\n    port = {pop3s}\n    ssl = yes\n  }}\n}}\n\
         service anvil {{\n  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n}}\n",
        oauth2 = oauth2_passdb.unwrap_or(""),
        imap = ports.imap,
        imaps = ports.imaps,
        pop3 = ports.pop3,
        pop3s = ports.pop3s,
    )
}

/// A self-signed certificate for localhost / 127.0.0.1 that rustls can parse (not a CA).
fn certificate(root: &Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
        ])
        .arg(root.join("key.pem"))
        .arg("-out")
        .arg(root.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make the certificate");
    for file in ["key.pem", "cert.pem"] {
        fs::set_permissions(root.join(file), fs::Permissions::from_mode(0o644)).expect("chmod");
    }
}

fn write_readable(path: &PathBuf, text: &str) {
    let mut file = fs::File::create(path).expect("create");
    file.write_all(text.as_bytes()).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).expect("chmod");
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
