//! Starting the Python peers: `SAE_PYTHON`, else `<workspace>/.venv/bin/python`. A missing
//! peer skips the test with a note, or fails it when `SAE_REQUIRE_PEERS=1` (or `CI=true`).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use delivery::{SmsConfig, SmsMessage, SmsSender};

/// A running peer, killed on drop.
pub struct Peer {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The requests the peer recorded (`GET /_calls`).
    pub async fn calls(&self) -> Vec<serde_json::Value> {
        let body = reqwest::get(self.url("/_calls"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&body).unwrap()
    }
}

fn required() -> bool {
    std::env::var("SAE_REQUIRE_PEERS").is_ok_and(|value| value == "1")
        || std::env::var("CI").is_ok_and(|value| value == "true")
}

fn python() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SAE_PYTHON") {
        return Some(PathBuf::from(path));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    venv.exists().then_some(venv)
}

fn missing(what: &str) -> Option<Peer> {
    if required() {
        panic!("peer unavailable (SAE_REQUIRE_PEERS=1): {what}");
    }
    eprintln!("SKIP: peer unavailable: {what}; run scripts/test.sh to set up .venv");
    None
}

/// Starts `tests/peers/<script>` and waits for its `PORT <n>` line.
pub fn start(script: &str) -> Option<Peer> {
    let Some(python) = python() else {
        return missing("no Python (set SAE_PYTHON or create .venv)");
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script);
    let mut child = match Command::new(&python)
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => return missing(&format!("{}: {error}", python.display())),
    };
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let line = receiver
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_default();
    match line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|port| port.parse().ok())
    {
        Some(port) => {
            // Drain stderr so the peer never blocks on a full pipe.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut stderr, &mut std::io::sink());
            });
            Some(Peer { child, port })
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            let mut errors = String::new();
            let _ = stderr.read_to_string(&mut errors);
            missing(&format!("{script} did not start: {}", errors.trim()))
        }
    }
}

/// Starts a peer or returns from the test (skip).
#[macro_export]
macro_rules! peer {
    ($script:expr) => {
        match $crate::delivery::peers::start($script) {
            Some(peer) => peer,
            None => return,
        }
    };
}

/// The test message: the code appears in the text, with characters to escape.
pub fn message() -> SmsMessage {
    SmsMessage::new(
        "+5511999998888",
        "Seu código é 123456 <&> \"ok\" 50% +/=?",
        "123456",
        "ana.silva",
        "Ana \"Q\" O'Neil\\",
    )
    .unwrap()
}

/// A sender from a configuration written as JSON text.
pub fn sender(config: &str) -> SmsSender {
    let config =
        SmsConfig::from_stored_json(config.as_bytes()).unwrap_or_else(|error| panic!("{error}"));
    SmsSender::new(&config).unwrap()
}

/// One send through a broker given as JSON text, with the error's variant.
pub async fn send(
    broker: &str,
    message: &SmsMessage,
) -> Result<delivery::Attempt, delivery::SendError> {
    use delivery::Broker as _;
    use delivery::sms::{RestBroker, SoapBroker};
    let config = SmsConfig::from_stored_json(format!(r#"{{"primary": {broker}}}"#).as_bytes())
        .unwrap_or_else(|error| panic!("{error}"));
    match config.primary() {
        delivery::BrokerConfig::Rest(rest) => {
            RestBroker::new(rest.clone()).unwrap().send(message).await
        }
        delivery::BrokerConfig::Soap(soap) => {
            SoapBroker::new(soap.clone()).unwrap().send(message).await
        }
        other => panic!("unexpected broker {other:?}"),
    }
}
