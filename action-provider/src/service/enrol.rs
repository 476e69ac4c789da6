//! Enrolment of TOTP/HOTP/OPIE tokens, shared by `/v1/users/{login}/tokens` and by devices
//! with a token of their own; and the provisioning answer of a device that shares the
//! principal token. Secrets appear in these answers once and never again.

use delivery::SecretString;
use rand::Rng as _;
use sae_core::otp::opie::{self, Count, OpieState, Seed};
use sae_core::otp::uri::{OtpAuthUri, OtpKind};
use sae_core::otp::{Algorithm, Digits, TimeStep};
use sae_core::secret::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::ServiceError;
use crate::clock::UnixTime;
use crate::crypto::Keyring;
use crate::store::counter_from_db;
use crate::store::tokens::Token;

/// Issuer shown by authenticator apps.
const ISSUER: &str = "SAE";
/// Default OPIE sequence count for paper lists.
const DEFAULT_OPIE_COUNT: u64 = 500;
/// Default number of printed OPIE passwords.
const DEFAULT_LIST_SIZE: u64 = 50;

/// `POST /v1/users/{login}/tokens`
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// TOTP/HOTP: `sha1` (default), `sha256`, `sha512`; OPIE: `md4`, `md5` (default), `sha1`.
    pub algorithm: Option<String>,
    /// TOTP/HOTP code length, 6..=10 (default 6).
    pub digits: Option<u8>,
    /// TOTP time step in seconds (default 30).
    pub period: Option<u64>,
    /// Device this token belongs to.
    pub device: Option<String>,
    /// OPIE seed (1..=16 letters/digits); random for paper enrolment when absent.
    pub seed: Option<String>,
    /// OPIE sequence count N.
    pub count: Option<u64>,
    /// OPIE client-initialised enrolment: the OTP for N computed by the client (hex or words).
    pub otp: Option<String>,
    /// OPIE paper enrolment: how many one-time passwords to print (default 50).
    pub list_size: Option<u64>,
    /// Unique serial (1..=128 printable characters); generated with a type prefix when
    /// absent (e.g. `TOTP0A1B2C3D`).
    pub serial: Option<String>,
    /// TOTP/HOTP: a known secret in hexadecimal (16..=128 bytes), instead of a generated one.
    #[schema(value_type = Option<String>)]
    pub secret_hex: Option<SecretString>,
    /// TOTP/HOTP: a known secret in base32 (16..=128 bytes), instead of a generated one.
    #[schema(value_type = Option<String>)]
    pub secret_base32: Option<SecretString>,
    /// HOTP with a known secret: the counter the next code is computed from (default 0).
    pub counter: Option<u64>,
}

/// One printed OPIE password.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListItem {
    /// Sequence number to answer.
    pub sequence: u32,
    /// The OTP as six words.
    pub words: String,
    /// The OTP as 16 hex digits.
    pub hex: String,
}

/// The answer to an enrolment: secrets appear here once and never again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enrolled {
    /// Token id.
    pub id: String,
    /// Serial.
    pub serial: String,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// otpauth:// URI for authenticator apps (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// The secret in base32 (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_base32: Option<String>,
    /// QR code of the URI, as SVG (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
    /// OPIE seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// OPIE sequence count of the stored OTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// OPIE paper list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<ListItem>>,
}

/// Shortest known secret accepted, in bytes (RFC 4226 R6: at least 128 bits).
pub const MIN_SECRET_LEN: usize = 16;
/// Longest known secret accepted, in bytes (SHA-512's block: a longer HMAC key is hashed
/// first and gains nothing).
pub const MAX_SECRET_LEN: usize = 128;
/// Longest serial, in characters.
pub const MAX_SERIAL_LEN: usize = 128;

/// A fresh random token id.
pub fn new_id() -> String {
    let mut raw = [0u8; 16];
    crate::crypto::os_rng().fill_bytes(&mut raw);
    data_encoding::HEXLOWER.encode(&raw)
}

/// A serial for a token that was given none: the type in capitals and 8 random hex
/// digits (`TOTP0A1B2C3D`). Callers check it is free and draw again when it is not.
pub fn generated_serial(kind: &str) -> String {
    let mut raw = [0u8; 4];
    crate::crypto::os_rng().fill_bytes(&mut raw);
    format!(
        "{}{}",
        kind.to_ascii_uppercase(),
        data_encoding::HEXUPPER.encode(&raw)
    )
}

/// A given serial, trimmed; `Err` says what is wrong (for the field named by the caller).
pub fn check_serial(serial: &str) -> Result<String, &'static str> {
    let serial = serial.trim();
    if serial.is_empty() || serial.chars().count() > MAX_SERIAL_LEN {
        return Err("must be 1 to 128 characters");
    }
    if serial.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(serial.to_owned())
}

/// A new token row with nothing but its identity set.
pub fn base_token(
    id: &str,
    kind: &str,
    algorithm: String,
    device: Option<String>,
    now: UnixTime,
) -> Token {
    Token {
        seq: 0,
        id: id.to_owned(),
        serial: String::new(),
        user_id: None,
        device,
        kind: kind.to_owned(),
        algorithm,
        digits: 0,
        period: 0,
        t0: 0,
        secret_enc: None,
        last_counter: None,
        opie_seed: None,
        opie_count: None,
        opie_last: None,
        active: true,
        created_at: now.secs(),
        last_used_at: None,
        issuer: None,
        valid_from: None,
        valid_until: None,
        import_job: None,
    }
}

/// Builds the token row and the one-time answer, without touching the store.
pub fn prepare(
    state: &AppState,
    login: &str,
    mut body: Enrol,
    now: UnixTime,
) -> Result<(Token, Enrolled), ServiceError> {
    let id = new_id();
    let device = body
        .device
        .take()
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if device.as_ref().is_some_and(|d| d.chars().count() > 128) {
        return Err(ServiceError::field(
            "device",
            "must be at most 128 characters",
        ));
    }
    let serial = body
        .serial
        .take()
        .map(|s| {
            check_serial(&s).map_err(|e| ServiceError::field("serial", format!("serial: {e}")))
        })
        .transpose()?;
    let (mut token, mut answer) = match body.kind.as_str() {
        "totp" | "hotp" => prepare_hmac(state, login, body, id, device, now)?,
        "opie" => {
            for (set, name) in [
                (body.secret_hex.is_some(), "secret_hex"),
                (body.secret_base32.is_some(), "secret_base32"),
                (body.counter.is_some(), "counter"),
            ] {
                if set {
                    return Err(ServiceError::field(
                        name,
                        format!("{name}: only for TOTP and HOTP tokens"),
                    ));
                }
            }
            prepare_opie(body, id, device, now)?
        }
        other => {
            return Err(ServiceError::field(
                "type",
                format!("type: {other:?} is not totp, hotp or opie"),
            ));
        }
    };
    token.serial = serial.unwrap_or_else(|| generated_serial(&token.kind));
    answer.serial.clone_from(&token.serial);
    Ok((token, answer))
}

/// Makes sure the token's serial is free inside the caller's write: a given serial that is
/// taken is a 409 naming `serial`; a generated one is drawn again. Returns the serial.
pub fn claim_serial(
    c: &mut dyn crate::store::Conn,
    token: &mut Token,
    given: bool,
) -> Result<String, ServiceError> {
    loop {
        if c.serials_taken(std::slice::from_ref(&token.serial))?
            .is_empty()
        {
            return Ok(token.serial.clone());
        }
        if given {
            return Err(ServiceError::conflict(
                super::error::Conflict::Duplicate,
                Some("serial"),
                "serial: a token with this serial exists",
            ));
        }
        token.serial = generated_serial(&token.kind);
    }
}

/// The known secret of an enrolment, decoded and checked, or `None` to generate one.
fn known_secret(body: &Enrol) -> Result<Option<Secret>, ServiceError> {
    let (field, decoded) = match (&body.secret_hex, &body.secret_base32) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::field(
                "secret_base32",
                "secret_base32: give secret_hex or secret_base32, not both",
            ));
        }
        (Some(hex), None) => ("secret_hex", Secret::from_hex(hex.expose())),
        (None, Some(b32)) => ("secret_base32", Secret::from_base32(b32.expose())),
        (None, None) => return Ok(None),
    };
    let what = if field == "secret_hex" {
        "hexadecimal"
    } else {
        "base32"
    };
    let secret =
        decoded.map_err(|_| ServiceError::field(field, format!("{field}: not valid {what}")))?;
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.byte_len()) {
        return Err(ServiceError::field(
            field,
            format!("{field}: the secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes long"),
        ));
    }
    Ok(Some(secret))
}

/// The stored "last accepted counter" of a HOTP token whose next code uses `next`.
pub fn last_counter_before(next: u64) -> Option<i64> {
    next.checked_sub(1).map(crate::store::counter_to_db)
}

/// A TOTP or HOTP token with a fresh or a known secret. A known secret is not echoed: the
/// caller has it, so the answer carries no secret, URI or QR code.
fn prepare_hmac(
    state: &AppState,
    login: &str,
    body: Enrol,
    id: String,
    device: Option<String>,
    now: UnixTime,
) -> Result<(Token, Enrolled), ServiceError> {
    for (set, name) in [
        (body.seed.is_some(), "seed"),
        (body.count.is_some(), "count"),
        (body.otp.is_some(), "otp"),
        (body.list_size.is_some(), "list_size"),
    ] {
        if set {
            return Err(ServiceError::field(
                name,
                format!("{name}: only for OPIE tokens"),
            ));
        }
    }
    let algorithm = match &body.algorithm {
        Some(a) => a
            .parse::<Algorithm>()
            .map_err(|e| ServiceError::field("algorithm", e.to_string()))?,
        None => Algorithm::Sha1,
    };
    let digits = Digits::new(body.digits.unwrap_or(6))
        .map_err(|e| ServiceError::field("digits", e.to_string()))?;
    let totp = body.kind == "totp";
    for (set, name, only) in [
        (body.period.is_some(), "period", totp),
        (body.counter.is_some(), "counter", !totp),
    ] {
        if set && !only {
            let kind = if totp { "HOTP" } else { "TOTP" };
            return Err(ServiceError::field(
                name,
                format!("{name}: only for {kind} tokens"),
            ));
        }
    }
    let period = body.period.unwrap_or(30);
    if !(1..=3600).contains(&period) {
        return Err(ServiceError::field(
            "period",
            "period: must be between 1 and 3600 seconds",
        ));
    }
    let step = TimeStep::new(period).map_err(|e| ServiceError::field("period", e.to_string()))?;
    let counter = body.counter.unwrap_or(0);
    let known = known_secret(&body)?;
    let is_known = known.is_some();
    let secret = match known {
        Some(secret) => secret,
        None => Secret::generate(&mut crate::crypto::os_rng(), algorithm)
            .map_err(|e| ServiceError::internal("enrolling a token", e))?,
    };
    let sealed = state
        .ring()?
        .seal(&format!("token:{id}"), secret.expose_bytes());
    let mut token = base_token(&id, &body.kind, algorithm.to_string(), device, now);
    token.digits = i32::from(digits.get());
    token.period = i32::try_from(period).unwrap_or(30);
    token.secret_enc = Some(sealed);
    token.last_counter = if totp {
        None
    } else {
        last_counter_before(counter)
    };
    let mut answer = Enrolled {
        id,
        serial: String::new(),
        kind: body.kind,
        otpauth_uri: None,
        secret_base32: None,
        qr_svg: None,
        seed: None,
        count: None,
        list: None,
    };
    if !is_known {
        let secret_base32 = secret.to_base32().to_string();
        let kind = if totp {
            OtpKind::Totp { period: step }
        } else {
            OtpKind::Hotp { counter }
        };
        let account = login.replace(':', "_");
        let uri = OtpAuthUri::new(kind, secret, Some(ISSUER), account.trim())
            .map_err(|e| {
                ServiceError::field(
                    "login",
                    format!("login cannot label an authenticator entry: {e}"),
                )
            })?
            .with_algorithm(algorithm)
            .with_digits(digits);
        let qr = sae_core::otp::qr::qr_svg(&uri)
            .map_err(|e| ServiceError::internal("enrolling a token", e))?;
        answer.otpauth_uri = Some(uri.to_uri().to_string());
        answer.secret_base32 = Some(secret_base32);
        answer.qr_svg = Some(qr.to_string());
    }
    Ok((token, answer))
}

/// An OPIE token: client-initialised (the client's OTP for N) or a paper list.
fn prepare_opie(
    body: Enrol,
    id: String,
    device: Option<String>,
    now: UnixTime,
) -> Result<(Token, Enrolled), ServiceError> {
    for (set, name) in [
        (body.digits.is_some(), "digits"),
        (body.period.is_some(), "period"),
    ] {
        if set {
            return Err(ServiceError::field(
                name,
                format!("{name}: not used by OPIE tokens"),
            ));
        }
    }
    let algorithm: opie::Algorithm = match &body.algorithm {
        Some(a) => a
            .parse()
            .map_err(|e: opie::OpieError| ServiceError::field("algorithm", e.to_string()))?,
        None => opie::Algorithm::Md5,
    };
    let seed = match &body.seed {
        Some(s) => Some(Seed::new(s).map_err(|e| ServiceError::field("seed", e.to_string()))?),
        None => None,
    };
    let opie_err =
        |field: &'static str| move |e: opie::OpieError| ServiceError::field(field, e.to_string());
    let (state_after, list) = match &body.otp {
        Some(otp) => {
            if body.list_size.is_some() {
                return Err(ServiceError::field(
                    "list_size",
                    "list_size: only for paper enrolment (without otp)",
                ));
            }
            let seed = seed.ok_or_else(|| {
                ServiceError::field(
                    "seed",
                    "seed: required with otp (client-initialised enrolment)",
                )
            })?;
            let count = Count::new(
                body.count
                    .ok_or_else(|| ServiceError::field("count", "count: required with otp"))?,
            )
            .map_err(opie_err("count"))?;
            let otp = opie::Otp::parse(otp)
                .map_err(|e| ServiceError::field("otp", format!("otp: {e}")))?;
            (
                OpieState::enrol_client(algorithm, seed, count, otp).map_err(opie_err("count"))?,
                None,
            )
        }
        None => {
            let count =
                Count::new(body.count.unwrap_or(DEFAULT_OPIE_COUNT)).map_err(opie_err("count"))?;
            let size = body
                .list_size
                .unwrap_or(DEFAULT_LIST_SIZE.min(u64::from(count.get())));
            let paper =
                OpieState::enrol_paper(&mut crate::crypto::os_rng(), algorithm, seed, count, size)
                    .map_err(opie_err("list_size"))?;
            let (state_after, entries) = paper.into_parts();
            let list = entries
                .iter()
                .map(|e| ListItem {
                    sequence: e.sequence(),
                    words: e.otp().to_words(),
                    hex: e.otp().to_hex(),
                })
                .collect();
            (state_after, Some(list))
        }
    };
    let mut token = base_token(&id, "opie", algorithm.to_string(), device, now);
    token.opie_seed = Some(state_after.seed().as_str().to_owned());
    token.opie_count = Some(
        i32::try_from(state_after.count().get())
            .map_err(|e| ServiceError::field("count", format!("count: {e}")))?,
    );
    token.opie_last = Some(state_after.last_otp().to_hex());
    let answer = Enrolled {
        id,
        serial: String::new(),
        kind: "opie".into(),
        otpauth_uri: None,
        secret_base32: None,
        qr_svg: None,
        seed: Some(state_after.seed().as_str().to_owned()),
        count: Some(state_after.count().get()),
        list,
    };
    Ok((token, answer))
}

/// The otpauth URI, secret and QR of a stored TOTP/HOTP token: used to provision a device
/// that shares the principal token (necessarily showing its secret again; audited).
pub fn provisioning(ring: &Keyring, login: &str, t: &Token) -> Result<Enrolled, ServiceError> {
    let sealed = t.secret_enc.as_deref().ok_or_else(|| {
        ServiceError::corrupt(format!("tokens.secret_enc of {}", t.id), "missing")
    })?;
    let bytes = ring
        .open(&format!("token:{}", t.id), sealed)
        .map_err(|e| ServiceError::internal("enrolling a token", e))?;
    let secret =
        Secret::from_bytes(&bytes).map_err(|e| ServiceError::internal("enrolling a token", e))?;
    let algorithm = t
        .algorithm
        .parse::<Algorithm>()
        .map_err(|e| ServiceError::internal("enrolling a token", e))?;
    let digits = Digits::new(u8::try_from(t.digits).unwrap_or(6))
        .map_err(|e| ServiceError::internal("enrolling a token", e))?;
    let kind = if t.kind == "totp" {
        OtpKind::Totp {
            period: TimeStep::new(u64::try_from(t.period).unwrap_or(30))
                .map_err(|e| ServiceError::internal("enrolling a token", e))?,
        }
    } else {
        OtpKind::Hotp {
            counter: t
                .last_counter
                .map_or(0, |c| counter_from_db(c).saturating_add(1)),
        }
    };
    let secret_base32 = secret.to_base32().to_string();
    let account = login.replace(':', "_");
    let uri = OtpAuthUri::new(kind, secret, Some(ISSUER), account.trim())
        .map_err(|e| ServiceError::internal("enrolling a token", e))?
        .with_algorithm(algorithm)
        .with_digits(digits);
    let qr = sae_core::otp::qr::qr_svg(&uri)
        .map_err(|e| ServiceError::internal("enrolling a token", e))?;
    Ok(Enrolled {
        id: t.id.clone(),
        serial: t.serial.clone(),
        kind: t.kind.clone(),
        otpauth_uri: Some(uri.to_uri().to_string()),
        secret_base32: Some(secret_base32),
        qr_svg: Some(qr.to_string()),
        seed: None,
        count: None,
        list: None,
    })
}
