//! Small validated types shared by the inputs of several operations.

use serde::{Deserialize, Deserializer};

use super::error::ServiceError;

/// The patterns of the OpenAPI document, with what each means in words (the message a value
/// that does not match gets). They are ECMA-262 regular expressions that mean the same in
/// Rust's `regex` and Python's `re`: explicit ranges, no `\s` (whose meaning differs).
pub mod patterns {
    /// A login: no control character and no `/`, no space at either end.
    pub const LOGIN: &str = r"^[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F/]*[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$";
    /// A name kept as given: no control character, no space at either end.
    pub const NAME: &str = r"^[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000](?:[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000])?$";
    /// A name that is trimmed: some visible character, no control character.
    pub const TEXT: &str = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$";
    /// A wallet name (trimmed): some visible character, no control character, no `/`.
    pub const WALLET: &str = r"^[^\x00-\x1F\x7F-\x9F/]*[^\x00-\x20\x7F-\xA0/\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F/]*$";
    /// One line of text: no control character.
    pub const LINE: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";
    /// An e-mail address: printable ASCII, one `@`, a domain with a dot and no empty label.
    pub const EMAIL: &str = r"^[\x21-\x3F\x41-\x7E]+@[\x21-\x2D\x2F-\x3F\x41-\x7E]+(?:\.[\x21-\x2D\x2F-\x3F\x41-\x7E]+)+$";
    /// A mobile number in any common notation: digits with spaces, parentheses, dashes or
    /// dots, 8 to 15 digits (after a leading `+` or `00` international prefix); only spaces
    /// come before a `+`.
    pub const MOBILE: &str = r"^(?: *\+(?:[ ().-]*[0-9]){8,15}|[ ().-]*(?:[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*[1-9](?:[ ().-]*[0-9]){6,13}|0[ ().-]*0(?:[ ().-]*[0-9]){8,15}))[ ().-]*$";
    /// A host name (its last label starts with a letter) or an IPv4 address.
    pub const HOST: &str = r"^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))$";
    /// An endpoint of an OAuth2 provider: `https`, or `http` to the loopback host.
    pub const PROVIDER_URL: &str = r"^(?:https://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|http://(?:127\.0\.0\.1|localhost))(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[\x21-\x7E]*)?$";
    /// An absolute `http` or `https` URL.
    pub const HTTP_URL: &str = r"^https?://(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|127\.0\.0\.1)(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[\x21-\x7E]*)?$";
    /// OAuth2 scopes (RFC 6749 §3.3): scope tokens separated by single spaces.
    pub const SCOPE: &str = r"^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$";
    /// Plain text over several lines (a mail footer): no control character but line breaks.
    pub const MULTILINE: &str = r"^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
    /// Plain text over several lines with some visible character (a mail footer that is on).
    pub const MULTILINE_TEXT: &str = r"^[^\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x09\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";
    /// A page cursor (the `next_cursor` of the previous page).
    pub const CURSOR: &str = r"^[0-9]{1,18}$";
    /// An OPIE seed: 1 to 16 letters or digits.
    pub const OPIE_SEED: &str = r"^[A-Za-z0-9]{1,16}$";
    /// An OPIE one-time password as 16 hexadecimal digits.
    pub const OPIE_HEX: &str = r"^[0-9A-Fa-f]{16}$";
    /// A message template, exactly as the template parser reads it: `{otp}` at least once; a
    /// `{` followed by a name of lowercase letters and `_` and then `}` is a tag and must be
    /// one of `{otp}`, `{login}`, `{name}`, `{expires_in}`, `{app}`; `{secret.NAME}` is for
    /// broker templates only; any other brace is literal text (`{}`, `{ x }`, `{Name}`).
    pub const TEMPLATE: &str = r"^(?:[^{\x00]|(?:\{[a-z_]*|\{secret\.[^{}\t\n\x0C\r \x00]*)*(?:\{(?:otp|login|name|expires_in|app)\}|\{\}|\{[a-z_]*[^a-z_{}.\x00]|\{(?:[a-z_]{0,5}|[a-z_]{7,}|[a-rt-z_][a-z_]{5}|s[a-df-z_][a-z_]{4}|se[abd-z_][a-z_]{3}|sec[a-qs-z_][a-z_]{2}|secr[a-df-z_][a-z_]|secre[a-su-z_])\.|\{secret\.[^{}\t\n\x0C\r \x00]*[\t\n\x0C\r ]|\{[a-z_]*$|\{secret\.[^{}\t\n\x0C\r \x00]*$))*(?:\{[a-z_]*|\{secret\.[^{}\t\n\x0C\r \x00]*)*\{otp\}(?:[^{\x00]|(?:\{[a-z_]*|\{secret\.[^{}\t\n\x0C\r \x00]*)*(?:\{(?:otp|login|name|expires_in|app)\}|\{\}|\{[a-z_]*[^a-z_{}.\x00]|\{(?:[a-z_]{0,5}|[a-z_]{7,}|[a-rt-z_][a-z_]{5}|s[a-df-z_][a-z_]{4}|se[abd-z_][a-z_]{3}|sec[a-qs-z_][a-z_]{2}|secr[a-df-z_][a-z_]|secre[a-su-z_])\.|\{secret\.[^{}\t\n\x0C\r \x00]*[\t\n\x0C\r ]|\{[a-z_]*$|\{secret\.[^{}\t\n\x0C\r \x00]*$))*$";
    /// An e-mail subject template: one line without control characters, tags as in
    /// [`TEMPLATE`] (`{otp}` optional).
    pub const SUBJECT: &str = r"^(?:[^{\x00-\x1F\x7F-\x9F]|(?:\{[a-z_]*|\{secret\.[^{}\t\n\x0C\r \x00-\x1F\x7F-\x9F]*)*(?:\{(?:otp|login|name|expires_in|app)\}|\{\}|\{[a-z_]*[^a-z_{}.\x00-\x1F\x7F-\x9F]|\{(?:[a-z_]{0,5}|[a-z_]{7,}|[a-rt-z_][a-z_]{5}|s[a-df-z_][a-z_]{4}|se[abd-z_][a-z_]{3}|sec[a-qs-z_][a-z_]{2}|secr[a-df-z_][a-z_]|secre[a-su-z_])\.|\{secret\.[^{}\t\n\x0C\r \x00-\x1F\x7F-\x9F]*[ ]|\{[a-z_]*$|\{secret\.[^{}\t\n\x0C\r \x00-\x1F\x7F-\x9F]*$))*$";
    /// A document (national id): some digit, no control character.
    pub const DOCUMENT: &str = r"^[^\x00-\x1F\x7F-\x9F]*[0-9][^\x00-\x1F\x7F-\x9F]*$";
    /// An RFC 3339 time `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` on a real calendar day (the
    /// 29th of February in leap years only), or empty (none).
    pub const RFC3339_OR_EMPTY: &str = r"^(?:(?:[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(?:0[13-9]|1[0-2])-(?:29|30)|[0-9]{4}-(?:0[13578]|1[02])-31|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]))?$";
    /// A mail address as the mail library (lettre) takes it: a dot-atom local part (letters,
    /// digits and ``!#$%&'*+/=?^_`{|}~-``, dots between), `@`, and a domain of dot-separated
    /// labels of those characters that begin and end with a letter or digit (at most 63 each).
    /// The local part's limit of 64 characters is [`MAIL_LOCAL`].
    pub const MAIL_ADDRESS: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?)+$";
    /// [`MAIL_ADDRESS`], or nothing (a blank optional address).
    pub const MAIL_ADDRESS_OR_EMPTY: &str = r"^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?)+)?$";
    /// A sender: a [`MAIL_ADDRESS`], alone or after a display name (`SAE <sae@example.com>`).
    pub const MAILBOX: &str = r"^(?:[A-Za-z0-9][A-Za-z0-9 ._-]{0,62} <[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?)+>|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{0,61}[A-Za-z0-9])?)+)$";
    /// The local part of a mail address (before the `@`, after a display name's `<`) is at
    /// most 64 characters (RFC 5321; the mail library refuses more). Paired with the address
    /// patterns above (`allOf`): one regular expression cannot bound a dot-atom's length.
    pub const MAIL_LOCAL: &str = r"^(?:[^<]*<)?[^<@]{0,64}(?:@|$)";
    /// Text of any kind but the NUL character, which no string of the API may hold
    /// (PostgreSQL cannot store it): put by `http::docs` on every string without a pattern.
    pub const NO_NUL: &str = r"^[^\x00]*$";
    /// An `Idempotency-Key` header: 1 to 128 visible ASCII characters (spaces and tabs only
    /// inside: HTTP trims a header's ends).
    pub const IDEMPOTENCY_KEY: &str = r"^[\x21-\x7E](?:[\t\x20-\x7E]{0,126}[\x21-\x7E])?$";
    /// A destination of an SMS: [`MOBILE`] in international form (a `+`, `00` or nothing
    /// before the country code, which does not start with 0), 8 to 15 digits.
    pub const SMS_PHONE: &str = r"^(?: *\+[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}|[ ().-]*(?:[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*0[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}))[ ().-]*$";
    /// An e-mail filter of a list, as `normalize_email` reads it: one `@`, something before
    /// it, a domain with a dot and no empty label, no space or control character (spaces at
    /// either end are trimmed).
    pub const EMAIL_FILTER: &str = r"^[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^@\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+@[^@.\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+(?:\.[^@.\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]+)+[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$";
    /// A mobile filter of a list, as `normalize_mobile` reads it: [`MOBILE`] with any space
    /// (tabs and Unicode spaces too) where [`MOBILE`] takes a space.
    pub const MOBILE_FILTER: &str = r"^(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*\+(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){8,15}|[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*(?:[1-9](?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){7,14}|0[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[1-9](?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){6,13}|0[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*0(?:[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*[0-9]){8,15}))[\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000().-]*$";
    /// A document filter of a list, as `normalize_document` reads it: some digit.
    pub const DOCUMENT_FILTER: &str = r"^[^\x00]*[0-9][^\x00]*$";
    /// The format of a user export: `csv` (any case) or empty (the default).
    pub const EXPORT_FORMAT: &str = r"^(?:[Cc][Ss][Vv])?$";
    /// The folder of a POP3 account: POP3 reads only the inbox, so `INBOX` (any case) or none.
    pub const POP3_FOLDER: &str = r"^[ ]*(?:[Ii][Nn][Bb][Oo][Xx])?[ ]*$";

    /// Every pattern with its name (answered as the `limit` of a `pattern` problem, so a client
    /// can word it in its own language) and its meaning in words.
    pub const ALL: &[(&str, &str, &str)] = &[
        (
            "login",
            LOGIN,
            "must not contain control characters or '/', nor start or end with a space",
        ),
        (
            "name",
            NAME,
            "must not contain control characters, nor start or end with a space",
        ),
        (
            "text",
            TEXT,
            "must contain a visible character and no control characters",
        ),
        (
            "wallet",
            WALLET,
            "must contain a visible character, and no control characters or '/'",
        ),
        ("line", LINE, "must not contain control characters"),
        (
            "email",
            EMAIL,
            "must be an e-mail address (name@domain.example, printable ASCII)",
        ),
        (
            "mobile",
            MOBILE,
            "must be a phone number: 8 to 15 digits, with spaces, parentheses, dashes or dots, and a + or 00 in front for the country code",
        ),
        (
            "document",
            DOCUMENT,
            "must contain a digit and no control characters",
        ),
        (
            "mailbox",
            MAILBOX,
            "must be an e-mail address, alone or as Name <name@domain.example>",
        ),
        ("host", HOST, "must be a host name or an IPv4 address"),
        (
            "provider_url",
            PROVIDER_URL,
            "must be an https URL (http only to 127.0.0.1 or localhost)",
        ),
        (
            "http_url",
            HTTP_URL,
            "must be an absolute http or https URL",
        ),
        (
            "scope",
            SCOPE,
            "must be scope words separated by single spaces",
        ),
        (
            "multiline",
            MULTILINE,
            "must be plain text (no control characters but line breaks)",
        ),
        (
            "multiline_text",
            MULTILINE_TEXT,
            "must be plain text with a visible character (no control characters but line breaks)",
        ),
        (
            "cursor",
            CURSOR,
            "must be the next_cursor of the previous page",
        ),
        (
            "rfc3339_or_empty",
            RFC3339_OR_EMPTY,
            "must be an RFC 3339 time such as 2027-01-31T00:00:00Z, or empty",
        ),
        (
            "pop3_folder",
            POP3_FOLDER,
            "must be INBOX or empty: POP3 reads only the inbox",
        ),
        (
            "mail_address",
            MAIL_ADDRESS,
            "must be a mail address (name@domain.example; letters, digits and !#$%&'*+/=?^_`{|}~- around single dots)",
        ),
        (
            "mail_address_or_empty",
            MAIL_ADDRESS_OR_EMPTY,
            "must be a mail address (name@domain.example), or empty",
        ),
        (
            "mail_local",
            MAIL_LOCAL,
            "the part before the @ must be at most 64 characters",
        ),
        (
            "no_nul",
            NO_NUL,
            "must not contain the NUL character (U+0000)",
        ),
        (
            "idempotency_key",
            IDEMPOTENCY_KEY,
            "must be 1 to 128 visible ASCII characters",
        ),
        (
            "sms_phone",
            SMS_PHONE,
            "must be an international phone number: 8 to 15 digits, the country code first (with +, 00 or nothing in front)",
        ),
        (
            "email_filter",
            EMAIL_FILTER,
            "must be an e-mail address (name@domain.example)",
        ),
        (
            "mobile_filter",
            MOBILE_FILTER,
            "must be a phone number: 8 to 15 digits, with spaces, parentheses, dashes or dots, and a + or 00 in front for the country code",
        ),
        ("document_filter", DOCUMENT_FILTER, "must contain a digit"),
        (
            "export_format",
            EXPORT_FORMAT,
            "must be csv or empty: csv is the only format",
        ),
        ("opie_seed", OPIE_SEED, "must be 1 to 16 letters or digits"),
        ("opie_hex", OPIE_HEX, "must be 16 hexadecimal digits"),
        (
            "template",
            TEMPLATE,
            "must contain {otp}; the tags are {otp}, {login}, {name}, {expires_in} and {app}",
        ),
        (
            "subject",
            SUBJECT,
            "must be one line; the tags are {otp}, {login}, {name}, {expires_in} and {app}",
        ),
    ];

    /// The words for a value that breaks the documented pattern `name`: the template parser's
    /// own message when it names the fault (an unknown tag and where it is), else the
    /// pattern's words.
    pub fn explain(name: &str, value: &str) -> Option<String> {
        let field = match name {
            "template" => "text",
            "subject" => "subject",
            _ => return None,
        };
        let err =
            sae_core::template::Template::parse(field, value, sae_core::template::TagSet::Message)
                .err()?;
        let text = err.to_string();
        let prefix = format!("{field}: ");
        Some(
            text.strip_prefix(&prefix)
                .map_or(text.clone(), str::to_owned),
        )
    }
}

/// The documented values of string members that take one of a few words (for the OpenAPI
/// document: the members themselves stay strings and are checked by the service).
pub mod words {
    #![allow(non_camel_case_types, reason = "the variants are the words of the API")]
    use utoipa::ToSchema;

    /// `otp` or `admin`.
    #[derive(ToSchema)]
    pub enum KeyScope {
        /// Applications: validate and request codes.
        otp,
        /// Configuration (and everything `otp` may do).
        admin,
    }

    /// `totp` or `hotp`.
    #[derive(ToSchema)]
    pub enum DeviceTokenType {
        /// Time based.
        totp,
        /// Event based.
        hotp,
    }

    /// `totp`, `hotp` or `opie`.
    #[derive(ToSchema)]
    pub enum TokenType {
        /// Time based.
        totp,
        /// Event based.
        hotp,
        /// One-time passwords on paper (or computed by the client).
        opie,
    }

    /// `active`, `disabled` or `locked`.
    #[derive(ToSchema)]
    pub enum UserStatus {
        /// Neither disabled nor locked.
        active,
        /// Disabled.
        disabled,
        /// Locked.
        locked,
    }

    /// `sms`, `email` or `voice`.
    #[derive(ToSchema)]
    pub enum ChannelName {
        /// SMS.
        sms,
        /// E-mail.
        email,
        /// Voice (configurable; the service is disabled).
        voice,
    }
}

/// A login as given: 1..=255 characters, no control characters, no surrounding spaces, no
/// `/`. Deserialising checks it, so a body with a bad login is refused naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Login(String);

impl Login {
    /// Checks a login.
    pub fn parse(login: String) -> Result<Self, ServiceError> {
        match Self::problem(&login) {
            None => Ok(Self(login)),
            Some(why) => Err(ServiceError::field("login", why)),
        }
    }

    /// What is wrong with a login's shape (sae-core's rule), if anything.
    fn problem(login: &str) -> Option<&'static str> {
        match sae_core::config::check_login(login) {
            Ok(()) => None,
            Err(sae_core::config::ConfigError::InvalidLogin { reason }) => Some(reason),
            Err(_) => Some("is not a valid login"),
        }
    }

    /// The login.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The login, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Login {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match Self::problem(&s) {
            None => Ok(Self(s)),
            Some(why) => Err(serde::de::Error::custom(why)),
        }
    }
}

impl utoipa::PartialSchema for Login {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some(patterns::LOGIN))
            .description(Some(
                "A login: 1 to 255 characters, no control character or '/', no space at either end.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Login {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("UserLogin")
    }
}

/// A field that distinguishes "absent" (keep) from `null` (clear) in PATCH bodies.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The field a deserialisation error names: the path where it happened, joined with the
/// field a validation message inside a nested value starts with (`values[1].key: …` raised
/// at `[0].claims[0]` names `[0].claims[0].values[1].key`). `None` for the document itself.
pub fn error_field(path: &str, message: &str) -> Option<String> {
    match relative_field(message) {
        Some(rel) if path == "." => Some(rel.to_owned()),
        Some(rel) if rel.starts_with('[') => Some(format!("{path}{rel}")),
        Some(rel) => Some(format!("{path}.{rel}")),
        None => (path != ".").then(|| path.to_owned()),
    }
}

/// The field path a validation message starts with (`claims[0].values[1].key: …`), if any.
fn relative_field(message: &str) -> Option<&str> {
    let (head, _) = message.split_once(": ")?;
    let first = head.chars().next()?;
    let well_formed = (first == '[' || first.is_ascii_lowercase())
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.[]".contains(c));
    well_formed.then_some(head)
}

/// Deserialises a JSON value, naming the offending field (prefixed by `prefix`) on error.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, ServiceError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = error_field(&path, &message).unwrap_or_default();
        let field = match (prefix.is_empty(), field.is_empty()) {
            (true, _) => field,
            (false, true) => prefix.trim_end_matches('.').to_owned(),
            (false, false) => format!("{prefix}{field}"),
        };
        ServiceError::field(field, message)
    })
}
