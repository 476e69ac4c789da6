//! [`Tracking`]: which request and attempt an outbound mail belongs to, written into its
//! Message-ID and (VERP) return path so that a bounce can be traced back, and read from
//! them again by the bounce side.
//!
//! - Message-ID: `<sae.{request_id}.{attempt}.{random}@{sender domain}>`; the random part
//!   (96 bits from the OS generator) keeps IDs unique when an attempt is sent through
//!   several accounts or sent again.
//! - VERP: when the account's return path has a `+` tag (`bounces+sae@example.com`), the
//!   envelope sender becomes `bounces+sae={request_id}={attempt}@example.com`. A bounce
//!   goes to that address, so the tracking survives even when the bounce quotes nothing of
//!   the original mail. Without a `+` tag the return path is used as it is.

use data_encoding::HEXLOWER;
use lettre::Address;
use rand::TryCryptoRng;

/// Longest accepted request id, in characters.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Longest local part of an address (RFC 5321 §4.5.3.1.1); a longer VERP address is not
/// used.
const MAX_LOCAL_PART_LEN: usize = 64;

/// Random bytes in a Message-ID.
const RANDOM_BYTES: usize = 12;

/// Prefix of the local part of every tracked Message-ID.
const MESSAGE_ID_PREFIX: &str = "sae.";

/// Separator of the VERP fields inside the `+` tag.
const VERP_SEPARATOR: char = '=';

/// The request and attempt an outbound mail belongs to. Serialises as
/// `{"request_id": "…", "attempt": N}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Tracking {
    request_id: String,
    attempt: u32,
}

impl Tracking {
    /// `request_id` must be 1 to 64 characters of `A-Z a-z 0-9 - _` (SAE's request ids are
    /// 32 hexadecimal digits), so that it fits a Message-ID and an address unquoted.
    pub fn new(request_id: &str, attempt: u32) -> Result<Self, TrackingError> {
        if !valid_request_id(request_id) {
            return Err(TrackingError::InvalidRequestId);
        }
        Ok(Self {
            request_id: request_id.to_owned(),
            attempt,
        })
    }

    /// The request id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The attempt number.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A new Message-ID (with angle brackets) naming this request and attempt, in `domain`
    /// (the sender's), with a random part drawn from `rng`.
    pub fn message_id<R: TryCryptoRng + ?Sized>(
        &self,
        domain: &str,
        rng: &mut R,
    ) -> Result<String, TrackingError> {
        let mut random = [0u8; RANDOM_BYTES];
        rng.try_fill_bytes(&mut random)
            .map_err(|e| TrackingError::Randomness {
                reason: e.to_string(),
            })?;
        Ok(format!(
            "<{MESSAGE_ID_PREFIX}{}.{}.{}@{domain}>",
            self.request_id,
            self.attempt,
            HEXLOWER.encode(&random)
        ))
    }

    /// The VERP form of `return_path`, when its local part has a `+` tag and the result
    /// stays within 64 characters; `None` otherwise (then the return path is used as it
    /// is, and bounces are traced by Message-ID alone).
    pub fn verp_address(&self, return_path: &Address) -> Option<Address> {
        if !return_path.user().contains('+') {
            return None;
        }
        let local = format!(
            "{}{VERP_SEPARATOR}{}{VERP_SEPARATOR}{}",
            return_path.user(),
            self.request_id,
            self.attempt
        );
        if local.len() > MAX_LOCAL_PART_LEN {
            return None;
        }
        Address::new(local, return_path.domain()).ok()
    }
}

/// The tracking named by a Message-ID SAE wrote (with or without angle brackets and
/// surrounding space); `None` for any other Message-ID.
pub fn parse_message_id(message_id: &str) -> Option<Tracking> {
    let bare = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    let (local, domain) = bare.rsplit_once('@')?;
    if domain.is_empty() {
        return None;
    }
    let mut fields = local.strip_prefix(MESSAGE_ID_PREFIX)?.split('.');
    let (request_id, attempt, random) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some()
        || random.len() != 2 * RANDOM_BYTES
        || !random.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    tracking(request_id, attempt)
}

/// The tracking in the `+` tag of a VERP address's local part (the text after the first
/// `+`, e.g. `sae=0123abcd=2`); `None` when the tag carries none.
pub fn parse_verp_tag(tag: &str) -> Option<Tracking> {
    let mut fields = tag.rsplitn(3, VERP_SEPARATOR);
    let (attempt, request_id) = (fields.next()?, fields.next()?);
    fields.next()?;
    tracking(request_id, attempt)
}

/// The `+` tag of an address (`local+TAG@domain`, with or without angle brackets):
/// everything between the first `+` and the `@`. `None` without a tag.
pub fn plus_tag(address: &str) -> Option<&str> {
    let bare = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _domain) = bare.rsplit_once('@')?;
    let (_base, tag) = local.split_once('+')?;
    (!tag.is_empty()).then_some(tag)
}

/// The tracking of a VERP address SAE wrote (`bounces+sae=REQUEST=ATTEMPT@example.com`).
pub fn parse_verp_address(address: &str) -> Option<Tracking> {
    parse_verp_tag(plus_tag(address)?)
}

fn tracking(request_id: &str, attempt: &str) -> Option<Tracking> {
    if attempt.is_empty() || !attempt.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Tracking::new(request_id, attempt.parse().ok()?).ok()
}

fn valid_request_id(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a [`Tracking`] or its Message-ID could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackingError {
    /// The request id is empty, longer than 64 characters or has other characters than
    /// letters, digits, `-` and `_`.
    #[error("request_id must be 1 to 64 letters, digits, '-' or '_'")]
    InvalidRequestId,
    /// The random number generator failed.
    #[error("the random number generator failed: {reason}")]
    Randomness {
        /// The generator's error.
        reason: String,
    },
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const RID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn message_ids_round_trip_and_differ() {
        let tracking = Tracking::new(RID, 3).expect("valid");
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = tracking.message_id("example.com", &mut rng).expect("id");
        let b = tracking.message_id("example.com", &mut rng).expect("id");
        assert_ne!(a, b, "the random part makes each id unique");
        assert!(a.starts_with(&format!("<sae.{RID}.3.")), "{a}");
        assert!(a.ends_with("@example.com>"), "{a}");
        assert_eq!(parse_message_id(&a), Some(tracking.clone()));
        assert_eq!(
            parse_message_id(&format!("  {}  ", a.trim_matches(['<', '>']))),
            Some(tracking)
        );
    }

    #[test]
    fn foreign_message_ids_are_not_tracking() {
        let random = "00".repeat(RANDOM_BYTES);
        let rows = [
            "<199407072116.RAA14128@CS.UTK.EDU>".to_owned(),
            format!("<sae.{RID}.x.{random}@example.com>"),
            format!("<sae.{RID}.1.{random}.extra@example.com>"),
            format!("<sae.{RID}.1.short@example.com>"),
            format!("<sae.{RID}.1.{random}@>"),
            format!("<sae.bad!id.1.{random}@example.com>"),
            format!("<sae..1.{random}@example.com>"),
            format!("<sae.{RID}.99999999999.{random}@example.com>"),
            String::new(),
        ];
        for row in rows {
            assert_eq!(parse_message_id(&row), None, "row {row:?}");
        }
    }

    #[test]
    fn verp_needs_a_plus_tag_and_round_trips() {
        let tracking = Tracking::new(RID, 2).expect("valid");
        let tagged: Address = "bounces+sae@example.com".parse().expect("address");
        let verp = tracking.verp_address(&tagged).expect("verp");
        assert_eq!(verp.to_string(), format!("bounces+sae={RID}=2@example.com"));
        assert_eq!(
            plus_tag(&format!("<{verp}>")),
            Some(&*format!("sae={RID}=2"))
        );
        assert_eq!(parse_verp_address(verp.as_ref()), Some(tracking.clone()));
        let plain: Address = "bounces@example.com".parse().expect("address");
        assert_eq!(tracking.verp_address(&plain), None);
        let long: Address = format!("{}+t@example.com", "b".repeat(40))
            .parse()
            .expect("address");
        assert_eq!(tracking.verp_address(&long), None, "over 64 characters");
    }

    #[test]
    fn verp_tags_without_tracking_are_refused() {
        for tag in ["sae", "sae=a.b=1", "=1", "sae=abc=", "sae=abc=1x"] {
            assert_eq!(parse_verp_tag(tag), None, "tag {tag:?}");
        }
        assert_eq!(
            parse_verp_tag("=abc=7"),
            Some(Tracking::new("abc", 7).expect("valid")),
            "an empty base tag is fine"
        );
        assert_eq!(plus_tag("user@example.com"), None);
        assert_eq!(plus_tag("user+@example.com"), None);
    }

    #[test]
    fn request_ids_are_checked() {
        for bad in ["", "a.b", "a b", "é", &"x".repeat(65)] {
            assert_eq!(
                Tracking::new(bad, 1),
                Err(TrackingError::InvalidRequestId),
                "{bad:?}"
            );
        }
        assert!(Tracking::new("3f2b-49_aa", 0).is_ok());
    }
}
