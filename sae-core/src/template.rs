//! Message templates (SPEC §4.6) and SMS broker body templates (§6.1).
//!
//! A tag is `{` + `[a-z_]+` + `}`; any other brace is literal text (`{ }`, `{A}`, `{{`, a lone
//! `}`). Templates are parsed when saved, so an unknown tag is refused then, with its name and
//! character offset, never at send time. Two tag sets exist: message templates (`{otp}`,
//! `{login}`, `{name}`, `{expires_in}`, `{app}`) and broker templates (the same plus `{phone}`,
//! `{message}` and the broker's secrets, `{secret.NAME}` with `NAME` = `[A-Za-z0-9_]{1,64}`).
//! A `{secret.` that runs to a `}` without a space or `{` must name a secret correctly, so a
//! mistyped secret tag is refused instead of being sent as text; message templates refuse
//! secret tags.
//!
//! - [`Template`]: one parsed text; renders plain, JSON-escaped, or with any escaping.
//! - [`MessageTemplate`], [`MessageTemplates`]: the administrator's templates per channel.
//! - [`estimate_sms`]: GSM-7 / UCS-2 encoding and SMS segment count of a text.

mod gsm;
mod message;

pub use gsm::{SmsEncoding, SmsEstimate, estimate_sms};
pub use message::{Channel, MessageTemplate, MessageTemplates, TEMPLATE_ID_MAX_CHARS};

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

/// Longest template text, in bytes.
pub const TEXT_MAX_BYTES: usize = 16 * 1024;

/// Errors of templates and template sets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A tag that no tag set knows.
    #[error("{field}: unknown tag {{{tag}}} at character {offset}; known tags are {known}")]
    UnknownTag {
        /// The template field (`text`, `subject`, `body`, …).
        field: &'static str,
        /// The tag name (without braces; cut at 64 characters).
        tag: String,
        /// 0-based character offset of its `{`.
        offset: usize,
        /// The tags this template may use.
        known: &'static str,
    },
    /// A broker-only tag (`{phone}`, `{message}`) in a message template.
    #[error(
        "{field}: tag {{{tag}}} at character {offset} is only available in broker templates; \
         message templates know {known}"
    )]
    TagNotAllowed {
        /// The template field.
        field: &'static str,
        /// The tag name.
        tag: &'static str,
        /// 0-based character offset of its `{`.
        offset: usize,
        /// The tags this template may use.
        known: &'static str,
    },
    /// A `{secret.NAME}` tag in a message template (secrets belong to brokers).
    #[error(
        "{field}: the secret tag at character {offset} is only available in broker templates; \
         message templates know {known}"
    )]
    SecretNotAllowed {
        /// The template field.
        field: &'static str,
        /// 0-based character offset of its `{`.
        offset: usize,
        /// The tags this template may use.
        known: &'static str,
    },
    /// A `{secret.…}` tag whose name is not `[A-Za-z0-9_]{1,64}`.
    #[error(
        "{field}: the secret tag at character {offset} needs a name of 1 to 64 letters, digits \
         or _ (`{{secret.API_KEY}}`)"
    )]
    InvalidSecretName {
        /// The template field.
        field: &'static str,
        /// 0-based character offset of its `{`.
        offset: usize,
    },
    /// The text is longer than [`TEXT_MAX_BYTES`].
    #[error("{field}: {bytes} bytes is too long; at most 16384 are allowed")]
    TextTooLong {
        /// The template field.
        field: &'static str,
        /// Its length in bytes.
        bytes: usize,
    },
    /// The text is empty or only spaces.
    #[error("{field}: must not be empty")]
    EmptyText {
        /// The template field.
        field: &'static str,
    },
    /// A message template's text lacks `{otp}`, so the message would carry no code.
    #[error("text: must contain the tag {{otp}}, or the message carries no code")]
    MissingOtpTag,
    /// An e-mail template has no subject.
    #[error("subject: an e-mail template needs a subject")]
    MissingSubject,
    /// An SMS or voice template has a subject.
    #[error("subject: only e-mail templates have a subject, not {channel} templates")]
    SubjectNotAllowed {
        /// The template's channel.
        channel: Channel,
    },
    /// A subject with a line break or another control character (it would break or garble
    /// the mail header).
    #[error("subject: must be a single line without control characters")]
    SubjectLineBreak,
    /// The template id is empty, too long or has control characters.
    #[error("id: {reason}")]
    InvalidId {
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two templates have the same id.
    #[error("id: {id:?} is used by more than one template")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// A channel has more than one default template.
    #[error("default: {channel} templates {first:?} and {second:?} are both marked default")]
    MultipleDefaults {
        /// The channel.
        channel: Channel,
        /// The first default.
        first: String,
        /// The second default.
        second: String,
    },
    /// No template has the requested id.
    #[error("template: no template has the id {id:?}")]
    UnknownTemplate {
        /// The requested id.
        id: String,
    },
    /// The requested template belongs to another channel.
    #[error("template: {id:?} is a {actual} template, not a {requested} one")]
    WrongChannel {
        /// The requested id.
        id: String,
        /// The template's channel.
        actual: Channel,
        /// The channel of the request.
        requested: Channel,
    },
    /// The channel has no template at all.
    #[error("template: there is no {channel} template")]
    NoTemplate {
        /// The channel.
        channel: Channel,
    },
}

impl TemplateError {
    /// The API field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UnknownTag { field, .. }
            | Self::TagNotAllowed { field, .. }
            | Self::SecretNotAllowed { field, .. }
            | Self::InvalidSecretName { field, .. }
            | Self::TextTooLong { field, .. }
            | Self::EmptyText { field } => field,
            Self::MissingOtpTag => "text",
            Self::MissingSubject | Self::SubjectNotAllowed { .. } | Self::SubjectLineBreak => {
                "subject"
            }
            Self::InvalidId { .. } | Self::DuplicateId { .. } => "id",
            Self::MultipleDefaults { .. } => "default",
            Self::UnknownTemplate { .. } | Self::WrongChannel { .. } | Self::NoTemplate { .. } => {
                "template"
            }
        }
    }
}

/// A template tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `{otp}`: the code.
    Otp,
    /// `{login}`: the user's login.
    Login,
    /// `{name}`: the user's name.
    Name,
    /// `{expires_in}`: how long the code stays valid, as text.
    ExpiresIn,
    /// `{app}`: the application's name.
    App,
    /// `{phone}` (broker templates): the destination in E.164 digits.
    Phone,
    /// `{message}` (broker templates): the text rendered from the message template.
    Message,
}

impl Tag {
    /// Every tag.
    pub const ALL: [Tag; 7] = [
        Tag::Otp,
        Tag::Login,
        Tag::Name,
        Tag::ExpiresIn,
        Tag::App,
        Tag::Phone,
        Tag::Message,
    ];

    /// The tag's name, without braces.
    pub fn name(self) -> &'static str {
        match self {
            Tag::Otp => "otp",
            Tag::Login => "login",
            Tag::Name => "name",
            Tag::ExpiresIn => "expires_in",
            Tag::App => "app",
            Tag::Phone => "phone",
            Tag::Message => "message",
        }
    }

    /// The tag with this name.
    pub fn from_name(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|tag| tag.name() == name)
    }
}

/// Which tags a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagSet {
    /// Message templates: `{otp}`, `{login}`, `{name}`, `{expires_in}`, `{app}`.
    Message,
    /// Broker templates: the message tags plus `{phone}` and `{message}`.
    Broker,
}

impl TagSet {
    /// Whether `tag` belongs to the set.
    pub fn allows(self, tag: Tag) -> bool {
        match self {
            TagSet::Broker => true,
            TagSet::Message => !matches!(tag, Tag::Phone | Tag::Message),
        }
    }

    /// The set's tags, written out for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            TagSet::Message => "{otp}, {login}, {name}, {expires_in}, {app}",
            TagSet::Broker => {
                "{otp}, {login}, {name}, {expires_in}, {app}, {phone}, {message}, {secret.NAME}"
            }
        }
    }
}

/// The values substituted for tags; a tag without a value renders as nothing.
///
/// `Debug` hides `otp` and `message` (which carries the code) and every secret's value.
#[derive(Clone, Copy, Default)]
pub struct TagValues<'a> {
    /// `{otp}`.
    pub otp: &'a str,
    /// `{login}`.
    pub login: &'a str,
    /// `{name}`.
    pub name: &'a str,
    /// `{expires_in}`.
    pub expires_in: &'a str,
    /// `{app}`.
    pub app: &'a str,
    /// `{phone}`.
    pub phone: &'a str,
    /// `{message}`.
    pub message: &'a str,
    /// `{secret.NAME}` (broker templates): name → value.
    pub secrets: &'a [(&'a str, &'a str)],
}

impl<'a> TagValues<'a> {
    /// The value of `tag`.
    pub fn value(&self, tag: Tag) -> &'a str {
        match tag {
            Tag::Otp => self.otp,
            Tag::Login => self.login,
            Tag::Name => self.name,
            Tag::ExpiresIn => self.expires_in,
            Tag::App => self.app,
            Tag::Phone => self.phone,
            Tag::Message => self.message,
        }
    }

    /// The value of the secret `name`, when given.
    pub fn secret(&self, name: &str) -> Option<&'a str> {
        self.secrets
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| *value)
    }
}

impl fmt::Debug for TagValues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret_names: Vec<&str> = self.secrets.iter().map(|(name, _)| *name).collect();
        f.debug_struct("TagValues")
            .field("otp", &"<redacted>")
            .field("login", &self.login)
            .field("name", &self.name)
            .field("expires_in", &self.expires_in)
            .field("app", &self.app)
            .field("phone", &self.phone)
            .field("message", &"<redacted>")
            .field("secrets", &secret_names)
            .finish()
    }
}

/// Longest secret name, in characters.
pub const SECRET_NAME_MAX_CHARS: usize = 64;

/// Whether `name` is a valid secret name: `[A-Za-z0-9_]{1,64}`.
pub fn is_secret_name(name: &str) -> bool {
    (1..=SECRET_NAME_MAX_CHARS).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Range<usize>),
    Tag(Tag),
    /// `{secret.NAME}`: the range of `NAME` in the source.
    Secret(Range<usize>),
}

/// A parsed template: literal text and tags, checked against its tag set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text` with the tags of `set`. `field` names the API field in errors.
    pub fn parse(
        field: &'static str,
        text: impl Into<String>,
        set: TagSet,
    ) -> Result<Self, TemplateError> {
        let source = text.into();
        if source.len() > TEXT_MAX_BYTES {
            return Err(TemplateError::TextTooLong {
                field,
                bytes: source.len(),
            });
        }
        let parts = parse_parts(field, &source, set)?;
        Ok(Self { source, parts })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the template uses `tag`.
    pub fn uses(&self, tag: Tag) -> bool {
        self.parts.contains(&Part::Tag(tag))
    }

    /// The secret names the template uses (`{secret.NAME}`), in order of appearance, repeats
    /// included. Always empty for message templates.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Secret(range) => self.source.get(range.clone()),
            Part::Literal(_) | Part::Tag(_) => None,
        })
    }

    /// Renders with the tag values inserted as they are.
    pub fn render(&self, values: &TagValues<'_>) -> Zeroizing<String> {
        self.render_with(values, |value, out| out.push_str(value))
    }

    /// Renders for a JSON body: tag values are escaped as JSON string content (without the
    /// surrounding quotes, which the template has: `{"to":"{phone}","text":"{message}"}`).
    pub fn render_json(&self, values: &TagValues<'_>) -> Zeroizing<String> {
        self.render_with(values, push_json_escaped)
    }

    /// Renders with each tag value written by `escape` (e.g. XML or URL escaping); literal
    /// text is copied as it is.
    pub fn render_with(
        &self,
        values: &TagValues<'_>,
        mut escape: impl FnMut(&str, &mut String),
    ) -> Zeroizing<String> {
        let capacity = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Literal(range) => range.len(),
                Part::Tag(tag) => values.value(*tag).len(),
                Part::Secret(range) => self.secret_value(range, values).len(),
            })
            .sum();
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        for part in &self.parts {
            match part {
                Part::Literal(range) => {
                    out.push_str(self.source.get(range.clone()).unwrap_or_default())
                }
                Part::Tag(tag) => escape(values.value(*tag), &mut out),
                Part::Secret(range) => escape(self.secret_value(range, values), &mut out),
            }
        }
        out
    }

    fn secret_value<'v>(&self, name: &Range<usize>, values: &TagValues<'v>) -> &'v str {
        self.source
            .get(name.clone())
            .and_then(|name| values.secret(name))
            .unwrap_or_default()
    }

    /// The SMS encoding and segment count of the text rendered with `values`.
    pub fn sms_estimate(&self, values: &TagValues<'_>) -> SmsEstimate {
        estimate_sms(&self.render(values))
    }

    /// The SMS estimate with a sample code of `otp_digits` digits (at most 10) and every other
    /// tag empty: add the expected length of names and logins yourself.
    pub fn sms_estimate_for_otp(&self, otp_digits: usize) -> SmsEstimate {
        const SAMPLE: &str = "0123456789";
        let values = TagValues {
            otp: SAMPLE.get(..otp_digits.min(SAMPLE.len())).unwrap_or(SAMPLE),
            ..TagValues::default()
        };
        self.sms_estimate(&values)
    }
}

/// Splits `source` into literal runs and tags.
fn parse_parts(field: &'static str, source: &str, set: TagSet) -> Result<Vec<Part>, TemplateError> {
    const MAX_TAG_IN_ERROR: usize = 64;
    let bytes = source.as_bytes();
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] != b'{' {
            at += 1;
            continue;
        }
        let offset = || source.get(..at).map_or(0, |before| before.chars().count());
        if let Some(name) = secret_tag(source, at) {
            if set == TagSet::Message {
                return Err(TemplateError::SecretNotAllowed {
                    field,
                    offset: offset(),
                    known: set.describe(),
                });
            }
            if !is_secret_name(source.get(name.clone()).unwrap_or_default()) {
                return Err(TemplateError::InvalidSecretName {
                    field,
                    offset: offset(),
                });
            }
            if literal_start < at {
                parts.push(Part::Literal(literal_start..at));
            }
            at = name.end + 1;
            parts.push(Part::Secret(name));
            literal_start = at;
            continue;
        }
        let name_start = at + 1;
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || **b == b'_')
            .count();
        let name_end = name_start + name_len;
        if name_len == 0 || bytes.get(name_end) != Some(&b'}') {
            // Not a tag: the brace is literal text.
            at += 1;
            continue;
        }
        // The name is ASCII, so these byte offsets are character boundaries.
        let name = source.get(name_start..name_end).unwrap_or_default();
        let tag = match Tag::from_name(name) {
            Some(tag) if set.allows(tag) => tag,
            Some(tag) => {
                return Err(TemplateError::TagNotAllowed {
                    field,
                    tag: tag.name(),
                    offset: offset(),
                    known: set.describe(),
                });
            }
            None => {
                return Err(TemplateError::UnknownTag {
                    field,
                    tag: name.get(..MAX_TAG_IN_ERROR).unwrap_or(name).to_owned(),
                    offset: offset(),
                    known: set.describe(),
                });
            }
        };
        if literal_start < at {
            parts.push(Part::Literal(literal_start..at));
        }
        parts.push(Part::Tag(tag));
        at = name_end + 1;
        literal_start = at;
    }
    if literal_start < bytes.len() {
        parts.push(Part::Literal(literal_start..bytes.len()));
    }
    Ok(parts)
}

/// When `{secret.` starts at byte `at` and runs to a `}` with no space or `{` before it: the
/// byte range of what stands between `{secret.` and that `}` (a name to check).
fn secret_tag(source: &str, at: usize) -> Option<Range<usize>> {
    const OPEN: &[u8] = b"{secret.";
    let bytes = source.as_bytes();
    if !bytes.get(at..)?.starts_with(OPEN) {
        return None;
    }
    let start = at + OPEN.len();
    let len = bytes
        .get(start..)?
        .iter()
        .position(|b| matches!(b, b'}' | b'{') || b.is_ascii_whitespace())?;
    (bytes.get(start + len) == Some(&b'}')).then_some(start..start + len)
}

/// Appends `value` escaped as the content of a JSON string.
fn push_json_escaped(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let code = u32::from(c) as usize;
                out.push_str("\\u00");
                out.push(char::from(HEX[code >> 4]));
                out.push(char::from(HEX[code & 0xf]));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests;
