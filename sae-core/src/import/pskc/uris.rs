//! Recognition of the algorithm URIs found in PSKC files.
//!
//! Key algorithms: RFC 6030's `urn:ietf:params:xml:ns:keyprov:pskc:hotp`, the TOTP profile's
//! `…:pskc:totp`, and the forms older drafts and vendors write (`…pskc#totp`,
//! `http://www.ietf.org/keyprov/pskc#hotp`). Encryption, MAC, PRF and key-derivation URIs
//! are recognised by their fragment (the part after `#`), case-insensitively, with the
//! aliases python-pskc also accepts (`pbe-aes128-cbc`, `kw-aes128-pad`, `hmac-sha-256`).

/// Namespaces whose `hotp`/`totp` suffix names an OTP algorithm.
const KEY_ALGORITHM_NAMESPACES: [&str; 2] = [
    "urn:ietf:params:xml:ns:keyprov:pskc",
    "http://www.ietf.org/keyprov/pskc",
];

/// The OTP algorithm of a `Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyAlgorithm {
    Hotp,
    Totp,
}

/// `HOTP`/`TOTP` from a `Key Algorithm` URI, or `None` for anything else (PIN, OCRA, …).
pub(super) fn key_algorithm(uri: &str) -> Option<KeyAlgorithm> {
    let uri = uri.trim();
    let (namespace, name) = match uri.rfind([':', '#']) {
        Some(at) => (&uri[..at], &uri[at + 1..]),
        None => ("", uri),
    };
    let known_namespace = namespace.is_empty()
        || KEY_ALGORITHM_NAMESPACES
            .iter()
            .any(|known| namespace.eq_ignore_ascii_case(known));
    if !known_namespace {
        return None;
    }
    if name.eq_ignore_ascii_case("hotp") {
        Some(KeyAlgorithm::Hotp)
    } else if name.eq_ignore_ascii_case("totp") {
        Some(KeyAlgorithm::Totp)
    } else {
        None
    }
}

/// AES key size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AesBits {
    A128,
    A192,
    A256,
}

impl AesBits {
    /// Key length in bytes.
    pub(super) const fn key_len(self) -> usize {
        match self {
            Self::A128 => 16,
            Self::A192 => 24,
            Self::A256 => 32,
        }
    }
}

/// A supported `xenc:EncryptionMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cipher {
    /// AES-CBC, IV prepended, XML Encryption padding.
    Cbc(AesBits),
    /// AES key wrap (RFC 3394).
    Kw(AesBits),
    /// AES key wrap with padding (RFC 5649).
    Kwp(AesBits),
}

impl Cipher {
    /// Key length in bytes.
    pub(super) const fn key_len(self) -> usize {
        match self {
            Self::Cbc(bits) | Self::Kw(bits) | Self::Kwp(bits) => bits.key_len(),
        }
    }

    /// Short name for messages: `aes128-cbc`, `kw-aes256`, `kw-aes192-pad`.
    pub(super) const fn name(self) -> &'static str {
        match self {
            Self::Cbc(AesBits::A128) => "aes128-cbc",
            Self::Cbc(AesBits::A192) => "aes192-cbc",
            Self::Cbc(AesBits::A256) => "aes256-cbc",
            Self::Kw(AesBits::A128) => "kw-aes128",
            Self::Kw(AesBits::A192) => "kw-aes192",
            Self::Kw(AesBits::A256) => "kw-aes256",
            Self::Kwp(AesBits::A128) => "kw-aes128-pad",
            Self::Kwp(AesBits::A192) => "kw-aes192-pad",
            Self::Kwp(AesBits::A256) => "kw-aes256-pad",
        }
    }

    /// True when decryption itself proves the key (the key wraps carry an integrity check).
    pub(super) const fn is_authenticated(self) -> bool {
        !matches!(self, Self::Cbc(_))
    }
}

/// The lower-cased fragment of an algorithm URI (the whole URI when it has no `#`).
fn fragment(uri: &str) -> String {
    let uri = uri.trim();
    let name = uri.rsplit_once('#').map_or(uri, |(_, name)| name);
    name.to_ascii_lowercase()
}

/// The cipher of an `EncryptionMethod Algorithm`, or `None` when unsupported (RSA, 3DES,
/// Camellia, AES-GCM, …).
pub(super) fn cipher(uri: &str) -> Option<Cipher> {
    let name = fragment(uri);
    let name = name.strip_prefix("pbe-").unwrap_or(&name);
    let bits = |digits: &str| match digits {
        "128" => Some(AesBits::A128),
        "192" => Some(AesBits::A192),
        "256" => Some(AesBits::A256),
        _ => None,
    };
    if let Some(digits) = name
        .strip_prefix("aes")
        .and_then(|rest| rest.strip_suffix("-cbc"))
    {
        return bits(digits).map(Cipher::Cbc);
    }
    let wrap = name.strip_prefix("kw-aes")?;
    // kw-aes128-pad (python-pskc, privacyIDEA) and kw-aes-128-pad (XML Encryption 1.1).
    let wrap = wrap.strip_prefix('-').unwrap_or(wrap);
    match wrap.strip_suffix("-pad") {
        Some(digits) => bits(digits).map(Cipher::Kwp),
        None => bits(wrap).map(Cipher::Kw),
    }
}

/// A hash for HMAC (the `MACMethod`) or for PBKDF2's PRF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// The hash of an `hmac-sha…` URI (`MACMethod`, PBKDF2 `PRF`), or `None`.
pub(super) fn hmac_hash(uri: &str) -> Option<Hash> {
    let name = fragment(uri);
    let hash = name.strip_prefix("hmac-")?;
    match hash.replace('-', "").as_str() {
        "sha1" => Some(Hash::Sha1),
        "sha224" => Some(Hash::Sha224),
        "sha256" => Some(Hash::Sha256),
        "sha384" => Some(Hash::Sha384),
        "sha512" => Some(Hash::Sha512),
        _ => None,
    }
}

/// True for the PBKDF2 `KeyDerivationMethod` (PKCS #5 v2.0 or XML Encryption 1.1 URI).
pub(super) fn is_pbkdf2(uri: &str) -> bool {
    fragment(uri) == "pbkdf2"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_algorithms_of_the_rfc_drafts_and_vendors() {
        for (uri, expected) in [
            (
                "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
                Some(KeyAlgorithm::Hotp),
            ),
            (
                "urn:ietf:params:xml:ns:keyprov:pskc:totp",
                Some(KeyAlgorithm::Totp),
            ),
            (
                "urn:ietf:params:xml:ns:keyprov:pskc#totp",
                Some(KeyAlgorithm::Totp),
            ),
            (
                "urn:ietf:params:xml:ns:keyprov:pskc#hotp",
                Some(KeyAlgorithm::Hotp),
            ),
            (
                "http://www.ietf.org/keyprov/pskc#hotp",
                Some(KeyAlgorithm::Hotp),
            ),
            (
                "http://www.ietf.org/keyprov/pskc#totp",
                Some(KeyAlgorithm::Totp),
            ),
            (
                " URN:IETF:PARAMS:XML:NS:KEYPROV:PSKC:HOTP ",
                Some(KeyAlgorithm::Hotp),
            ),
            ("TOTP", Some(KeyAlgorithm::Totp)),
            ("urn:ietf:params:xml:ns:keyprov:pskc:pin", None),
            ("urn:ietf:params:xml:ns:keyprov:pskc:ocra", None),
            ("http://www.yubico.com/#yubikey-aes", None),
            ("http://example.com/evil#hotp", None),
            ("", None),
        ] {
            assert_eq!(key_algorithm(uri), expected, "{uri}");
        }
    }

    #[test]
    fn ciphers_and_their_aliases() {
        for (uri, expected) in [
            (
                "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
                Some(Cipher::Cbc(AesBits::A128)),
            ),
            (
                "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
                Some(Cipher::Cbc(AesBits::A192)),
            ),
            (
                "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
                Some(Cipher::Cbc(AesBits::A256)),
            ),
            ("pbe-aes256-cbc", Some(Cipher::Cbc(AesBits::A256))),
            (
                "http://www.w3.org/2001/04/xmlenc#kw-aes128",
                Some(Cipher::Kw(AesBits::A128)),
            ),
            (
                "http://www.w3.org/2001/04/xmlenc#kw-aes192",
                Some(Cipher::Kw(AesBits::A192)),
            ),
            (
                "http://www.w3.org/2001/04/xmlenc#kw-aes256",
                Some(Cipher::Kw(AesBits::A256)),
            ),
            (
                "http://www.w3.org/2009/xmlenc11#kw-aes-128-pad",
                Some(Cipher::Kwp(AesBits::A128)),
            ),
            (
                "http://www.w3.org/2009/xmlenc11#kw-aes-256-pad",
                Some(Cipher::Kwp(AesBits::A256)),
            ),
            ("kw-aes192-pad", Some(Cipher::Kwp(AesBits::A192))),
            ("http://www.w3.org/2001/04/xmlenc#rsa_1_5", None),
            ("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", None),
            ("http://www.w3.org/2009/xmlenc11#aes128-gcm", None),
            (
                "http://www.w3.org/2001/04/xmldsig-more#camellia128-cbc",
                None,
            ),
            ("aes512-cbc", None),
            ("kw-aes", None),
        ] {
            assert_eq!(cipher(uri), expected, "{uri}");
        }
    }

    #[test]
    fn hmac_hashes_and_pbkdf2() {
        assert_eq!(
            hmac_hash("http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
            Some(Hash::Sha1)
        );
        assert_eq!(
            hmac_hash("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
            Some(Hash::Sha256)
        );
        assert_eq!(hmac_hash("hmac-sha-512"), Some(Hash::Sha512));
        assert_eq!(hmac_hash("HMAC-SHA384"), Some(Hash::Sha384));
        assert_eq!(hmac_hash("hmac-sha224"), Some(Hash::Sha224));
        assert_eq!(
            hmac_hash("http://www.w3.org/2001/04/xmldsig-more#hmac-md5"),
            None
        );
        assert_eq!(hmac_hash("sha256"), None);
        assert!(is_pbkdf2(
            "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
        ));
        assert!(is_pbkdf2("http://www.w3.org/2009/xmlenc11#pbkdf2"));
        assert!(!is_pbkdf2("http://www.w3.org/2009/xmlenc11#concatkdf"));
    }
}
