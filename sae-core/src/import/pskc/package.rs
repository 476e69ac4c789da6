//! One `KeyPackage` as read from the stream: its elements' text and attributes, before any
//! check. [`RawPackage::open`] and [`RawPackage::close`] are fed the element path below
//! `KeyPackage`; the first problem met in a key is kept and becomes its skip reason.
//!
//! RFC 6030 allows one `Key` per `KeyPackage`, but python-pskc writes all the keys of a
//! device into one package, so a package holds a list of keys sharing its `DeviceInfo`.

use zeroize::Zeroizing;

use super::decode_base64;
use super::events::Start;
use super::header::{at, names};
use super::reason::{SkipReason, echo};

/// The secret as found in `Data/Secret`.
#[derive(Default)]
pub(super) enum SecretValue {
    /// No secret element.
    #[default]
    Absent,
    /// `PlainValue`, base64-decoded.
    Plain(Zeroizing<Vec<u8>>),
    /// `EncryptedValue`: its method URI and the decoded `CipherValue`.
    Encrypted { method: String, data: Vec<u8> },
}

/// The `DeviceInfo` of a key package.
#[derive(Default)]
pub(super) struct Device {
    pub(super) serial_no: Option<String>,
    pub(super) manufacturer: Option<String>,
    pub(super) user: Option<String>,
}

/// One key package: its device and its keys.
#[derive(Default)]
pub(super) struct RawPackage {
    pub(super) device: Device,
    pub(super) keys: Vec<RawKey>,
}

/// The fields of one `Key`.
#[derive(Default)]
pub(super) struct RawKey {
    pub(super) user: Option<String>,
    pub(super) key_id: Option<String>,
    pub(super) algorithm: Option<String>,
    pub(super) issuer: Option<String>,
    pub(super) suite: Option<String>,
    pub(super) length: Option<String>,
    pub(super) encoding: Option<String>,
    pub(super) secret: SecretValue,
    pub(super) value_mac: Option<Vec<u8>>,
    pub(super) counter: Option<String>,
    pub(super) time: Option<String>,
    pub(super) time_interval: Option<String>,
    pub(super) time_drift: Option<String>,
    pub(super) start_date: Option<String>,
    pub(super) expiry_date: Option<String>,
    pub(super) key_usage: Vec<String>,
    /// The first problem found while reading.
    pub(super) problem: Option<SkipReason>,
}

/// The integer parameters under `Data`, with the field name reported for each.
const DATA_INTEGERS: [&str; 4] = ["Counter", "Time", "TimeInterval", "TimeDrift"];

impl RawPackage {
    /// An element below `KeyPackage` opened (`rel` includes it).
    pub(super) fn open(&mut self, rel: &[String], start: &Start) {
        if at(rel, &["Key"]) {
            self.keys.push(RawKey::default());
        }
        if rel.first().is_some_and(|name| name == "Key")
            && let Some(key) = self.keys.last_mut()
        {
            key.open(&rel[1..], start);
        }
    }

    /// An element below `KeyPackage` closed with `text`.
    pub(super) fn close(&mut self, rel: &[String], text: &str) {
        let value = || Some(text.trim().to_owned());
        let names = names(rel);
        match *names.as_slice() {
            ["DeviceInfo", "SerialNo"] => self.device.serial_no = value(),
            ["DeviceInfo", "Manufacturer"] => self.device.manufacturer = value(),
            ["DeviceInfo", "UserId"] => self.device.user = value(),
            ["Key", ..] => {
                if let Some(key) = self.keys.last_mut() {
                    key.close(&rel[1..], text);
                }
            }
            _ => {}
        }
    }
}

impl RawKey {
    fn fail(&mut self, reason: SkipReason) {
        self.problem.get_or_insert(reason);
    }

    fn invalid(&mut self, field: &'static str, problem: &'static str) {
        self.fail(SkipReason::InvalidParameter { field, problem });
    }

    /// An element opened: `rel` is its path below `Key` (empty for `Key` itself).
    fn open(&mut self, rel: &[String], start: &Start) {
        let names = names(rel);
        match *names.as_slice() {
            [] => {
                self.key_id = start.attribute("Id").map(str::to_owned);
                self.algorithm = start.attribute("Algorithm").map(str::to_owned);
            }
            ["AlgorithmParameters", "ResponseFormat"] => {
                self.length = start.attribute("Length").map(str::to_owned);
                self.encoding = start.attribute("Encoding").map(str::to_owned);
            }
            ["AlgorithmParameters", "Suite"] => {
                // privacyIDEA's early exports: <Suite hashalgo="sha256"/>.
                self.suite = start.attribute("hashalgo").map(str::to_owned);
            }
            ["Data", "Secret", "EncryptedValue", "EncryptionMethod"] => {
                let method = start.attribute("Algorithm").unwrap_or_default().to_owned();
                match &mut self.secret {
                    SecretValue::Encrypted { method: slot, .. } => *slot = method,
                    _ => {
                        self.secret = SecretValue::Encrypted {
                            method,
                            data: Vec::new(),
                        }
                    }
                }
            }
            ["Data", field, "EncryptedValue"] if field != "Secret" => {
                let field = DATA_INTEGERS.into_iter().find(|name| *name == field);
                self.invalid(
                    field.unwrap_or("Data"),
                    "only the Secret may be encrypted; other values must be PlainValue",
                );
            }
            ["Policy", element] => match element {
                "StartDate" | "ExpiryDate" | "KeyUsage" => {}
                "PINPolicy" => {
                    // A PIN the device checks itself is fine; one the server must check is not.
                    let mode = start.attribute("PINUsageMode").unwrap_or("Local");
                    if mode != "Local" {
                        self.fail(SkipReason::UnsupportedPolicy {
                            element: "PINPolicy".into(),
                        });
                    }
                }
                other => self.fail(SkipReason::UnsupportedPolicy {
                    element: echo(other),
                }),
            },
            _ => {}
        }
    }

    /// An element closed with `text`: `rel` is its path below `Key` (empty for `Key`).
    fn close(&mut self, rel: &[String], text: &str) {
        let names = names(rel);
        let value = || Some(text.trim().to_owned());
        match *names.as_slice() {
            ["UserId"] => self.user = value(),
            ["Issuer"] => self.issuer = value(),
            ["AlgorithmParameters", "Suite"] if !text.trim().is_empty() => {
                self.suite = value();
            }
            ["Data", "Secret", "PlainValue"] => match decode_base64(text) {
                Some(bytes) => self.secret = SecretValue::Plain(bytes),
                None => self.invalid("Secret", "the PlainValue is not valid base64"),
            },
            [
                "Data",
                "Secret",
                "EncryptedValue",
                "CipherData",
                "CipherValue",
            ] => match decode_base64(text) {
                Some(bytes) => match &mut self.secret {
                    SecretValue::Encrypted { data, .. } => *data = bytes.to_vec(),
                    _ => {
                        self.secret = SecretValue::Encrypted {
                            method: String::new(),
                            data: bytes.to_vec(),
                        };
                    }
                },
                None => self.invalid("Secret", "the CipherValue is not valid base64"),
            },
            // RFC 6030 puts ValueMAC in Secret; privacyIDEA's exports put it beside Secret.
            ["Data", "Secret", "ValueMAC"] | ["Data", "ValueMAC"] => match decode_base64(text) {
                Some(bytes) => self.value_mac = Some(bytes.to_vec()),
                None => self.invalid("ValueMAC", "is not valid base64"),
            },
            ["Data", field, "PlainValue"] => {
                let slot = match field {
                    "Counter" => &mut self.counter,
                    "Time" => &mut self.time,
                    "TimeInterval" => &mut self.time_interval,
                    "TimeDrift" => &mut self.time_drift,
                    _ => return,
                };
                *slot = value();
            }
            ["Policy", "StartDate"] => self.start_date = value(),
            ["Policy", "ExpiryDate"] => self.expiry_date = value(),
            ["Policy", "KeyUsage"] => self.key_usage.push(text.trim().to_owned()),
            _ => {}
        }
        if rel.is_empty() && self.algorithm.is_none() {
            self.invalid("Algorithm", "the Key has no Algorithm attribute");
        }
    }
}
