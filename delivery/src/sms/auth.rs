//! HTTP authentication of REST brokers: Basic (RFC 7617), Digest (RFC 7616: MD5, SHA-256,
//! `-sess`, qop `auth`, `userhash`) and OAuth 1.0a HMAC-SHA1 signing (RFC 5849). Pure
//! functions: nonces and timestamps are arguments.

use data_encoding::{BASE64, HEXLOWER};
use hmac::{KeyInit, Mac};
use md5::Md5;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::SecretString;
use crate::sms::rest_config::OAuthCredentials;

/// RFC 3986 unreserved characters stay, everything else is percent-encoded (RFC 5849 §3.6).
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 3986 / RFC 5849 percent-encoding.
pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// `Basic base64(user:password)`.
pub(crate) fn basic_authorization(username: &str, password: &str) -> Zeroizing<String> {
    let pair = Zeroizing::new(format!("{username}:{password}"));
    Zeroizing::new(format!("Basic {}", BASE64.encode(pair.as_bytes())))
}

/// A Digest hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlgorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl DigestAlgorithm {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Self::Md5),
            "MD5-SESS" => Some(Self::Md5Sess),
            "SHA-256" => Some(Self::Sha256),
            "SHA-256-SESS" => Some(Self::Sha256Sess),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    fn strength(self) -> u8 {
        match self {
            Self::Md5 | Self::Md5Sess => 1,
            Self::Sha256 | Self::Sha256Sess => 2,
        }
    }

    fn hex(self, text: &str) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => HEXLOWER.encode(&Md5::digest(text.as_bytes())),
            Self::Sha256 | Self::Sha256Sess => HEXLOWER.encode(&Sha256::digest(text.as_bytes())),
        }
    }
}

/// A Digest challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: DigestAlgorithm,
    /// `true`: qop `auth`; `false`: no qop (RFC 2069 compatibility).
    qop_auth: bool,
    userhash: bool,
}

impl DigestChallenge {
    /// The strongest usable Digest challenge among `WWW-Authenticate` header values.
    pub fn choose<'a>(headers: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut best: Option<Self> = None;
        let mut refusal = String::from("the broker sent no Digest challenge");
        for (scheme, params) in headers.into_iter().flat_map(parse_challenges) {
            if !scheme.eq_ignore_ascii_case("digest") {
                continue;
            }
            match Self::from_params(&params) {
                Ok(challenge) => {
                    if best.as_ref().is_none_or(|seen| {
                        challenge.algorithm.strength() > seen.algorithm.strength()
                    }) {
                        best = Some(challenge);
                    }
                }
                Err(reason) => refusal = reason,
            }
        }
        best.ok_or(refusal)
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, String> {
        let get = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        let algorithm_name = get("algorithm").unwrap_or_else(|| "MD5".into());
        let algorithm = DigestAlgorithm::parse(&algorithm_name)
            .ok_or_else(|| format!("unsupported Digest algorithm {algorithm_name:?}"))?;
        let qop_auth = match get("qop") {
            None => false,
            Some(qop)
                if qop
                    .split(',')
                    .any(|item| item.trim().eq_ignore_ascii_case("auth")) =>
            {
                true
            }
            Some(qop) => {
                return Err(format!(
                    "unsupported Digest qop {qop:?} (only auth is supported)"
                ));
            }
        };
        Ok(Self {
            realm: get("realm").ok_or("the Digest challenge has no realm")?,
            nonce: get("nonce").ok_or("the Digest challenge has no nonce")?,
            opaque: get("opaque"),
            algorithm,
            qop_auth,
            userhash: get("userhash").is_some_and(|flag| flag.eq_ignore_ascii_case("true")),
        })
    }

    /// The `Authorization` header value answering this challenge for one request.
    /// `uri` is the request target (path and query); `nc` the nonce count.
    pub fn authorization(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
        nc: u32,
    ) -> Zeroizing<String> {
        let algorithm = self.algorithm;
        let mut ha1 = Zeroizing::new(algorithm.hex(&Zeroizing::new(format!(
            "{username}:{}:{password}",
            self.realm
        ))));
        if algorithm.is_session() {
            ha1 = Zeroizing::new(algorithm.hex(&format!("{}:{}:{cnonce}", *ha1, self.nonce)));
        }
        let ha2 = algorithm.hex(&format!("{method}:{uri}"));
        let nc = format!("{nc:08x}");
        let response = if self.qop_auth {
            algorithm.hex(&format!("{}:{}:{nc}:{cnonce}:auth:{ha2}", *ha1, self.nonce))
        } else {
            algorithm.hex(&format!("{}:{}:{ha2}", *ha1, self.nonce))
        };
        let user = if self.userhash {
            algorithm.hex(&format!("{username}:{}", self.realm))
        } else {
            username.to_owned()
        };
        let mut header = format!(
            "Digest username={}, realm={}, uri={}, algorithm={}, nonce={}",
            quote(&user),
            quote(&self.realm),
            quote(uri),
            algorithm.name(),
            quote(&self.nonce),
        );
        if self.qop_auth {
            header.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
        }
        header.push_str(&format!(", response={}", quote(&response)));
        if let Some(opaque) = &self.opaque {
            header.push_str(&format!(", opaque={}", quote(opaque)));
        }
        if self.userhash {
            header.push_str(", userhash=true");
        }
        Zeroizing::new(header)
    }
}

/// A quoted-string (RFC 7230 §3.2.6).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a `WWW-Authenticate` value into challenges: scheme and `name=value` parameters.
fn parse_challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut challenges: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return challenges;
        }
        let end = rest
            .find(|c: char| c == ',' || c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let (token, after) = rest.split_at(end);
        let after_space = after.trim_start();
        if let Some(value_part) = after_space.strip_prefix('=') {
            let value_part = value_part.trim_start();
            let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                unquote(quoted)
            } else {
                let end = value_part.find(',').unwrap_or(value_part.len());
                (value_part[..end].trim().to_owned(), &value_part[end..])
            };
            if let Some((_, params)) = challenges.last_mut() {
                params.push((token.to_owned(), value));
            }
            rest = remaining;
        } else {
            challenges.push((token.to_owned(), Vec::new()));
            rest = after;
        }
    }
}

/// Reads a quoted-string body (after the opening quote): the value and what follows.
fn unquote(text: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '"' => return (value, &text[index + 1..]),
            c => value.push(c),
        }
    }
    (value, "")
}

/// The `Authorization: OAuth …` value for one request (RFC 5849 §3.5.1), signed with
/// HMAC-SHA1 over the method, the URL (with its query) and `form_params` (the body, when
/// it is `application/x-www-form-urlencoded`).
pub(crate) fn oauth_authorization(
    credentials: &OAuthCredentials,
    method: &str,
    url: &Url,
    form_params: &[(String, String)],
    nonce: &str,
    timestamp: u64,
) -> Zeroizing<String> {
    let mut oauth_params: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), credentials.key.clone()),
        ("oauth_nonce".into(), nonce.to_owned()),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        ("oauth_timestamp".into(), timestamp.to_string()),
    ];
    if let Some(token) = &credentials.token {
        oauth_params.push(("oauth_token".into(), token.expose().to_owned()));
    }
    oauth_params.push(("oauth_version".into(), "1.0".into()));
    let mut all: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    all.extend(form_params.iter().cloned());
    all.extend(oauth_params.iter().cloned());
    let base = signature_base_string(method, url, &all);
    let token_secret = credentials
        .token_secret
        .as_ref()
        .map_or("", SecretString::expose);
    let signature = hmac_sha1_signature(&base, credentials.secret.expose(), token_secret);
    oauth_params.push(("oauth_signature".into(), signature));
    let fields: Vec<String> = oauth_params
        .iter()
        .map(|(name, value)| format!("{}=\"{}\"", encode(name), encode(value)))
        .collect();
    Zeroizing::new(format!("OAuth {}", fields.join(", ")))
}

/// The signature base string (RFC 5849 §3.4.1): method, base string URI and normalised
/// parameters (`params` decoded; the URL's own query is not read here).
pub(crate) fn signature_base_string(
    method: &str,
    url: &Url,
    params: &[(String, String)],
) -> String {
    let mut base_uri = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base_uri.push_str(&format!(":{port}"));
    }
    base_uri.push_str(url.path());
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    encoded.sort();
    let normalized: Vec<String> = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri),
        encode(&normalized.join("&"))
    )
}

/// HMAC-SHA1 over `base` keyed with `enc(consumer_secret)&enc(token_secret)`, base64.
#[expect(
    clippy::expect_used,
    reason = "HMAC accepts keys of every length, so new_from_slice cannot fail"
)]
pub(crate) fn hmac_sha1_signature(base: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = Zeroizing::new(format!(
        "{}&{}",
        encode(consumer_secret),
        encode(token_secret)
    ));
    let mut mac = <hmac::Hmac<Sha1> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(base.as_bytes());
    BASE64.encode(&mac.finalize().into_bytes())
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
