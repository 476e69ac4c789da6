//! The administrator's message templates: one text per template (e-mail: subject and text),
//! per channel, with at most one default per channel (a channel without one sends its
//! built-in message unless a request names a template).

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{SmsEstimate, Tag, TagSet, TagValues, Template, TemplateError};

/// Longest template id, in characters.
pub const TEMPLATE_ID_MAX_CHARS: usize = 64;

/// The channel a template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// SMS.
    Sms,
    /// E-mail (subject and text).
    Email,
    /// Voice call (configurable; the service is disabled).
    Voice,
}

impl Channel {
    /// The API name: `sms`, `email` or `voice`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Voice => "voice",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message template. JSON: `{id, channel, default, subject?, text}`; `subject` is required
/// for e-mail and refused for the other channels; `text` must contain `{otp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MessageTemplateInput", into = "MessageTemplateInput")]
pub struct MessageTemplate {
    id: String,
    channel: Channel,
    default: bool,
    subject: Option<Template>,
    text: Template,
}

/// The JSON form of a [`MessageTemplate`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageTemplateInput {
    id: String,
    channel: Channel,
    #[serde(default)]
    default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    text: String,
}

impl TryFrom<MessageTemplateInput> for MessageTemplate {
    type Error = TemplateError;

    fn try_from(input: MessageTemplateInput) -> Result<Self, Self::Error> {
        Self::new(
            input.id,
            input.channel,
            input.default,
            input.subject,
            input.text,
        )
    }
}

impl From<MessageTemplate> for MessageTemplateInput {
    fn from(template: MessageTemplate) -> Self {
        Self {
            id: template.id,
            channel: template.channel,
            default: template.default,
            subject: template.subject.map(|subject| subject.source),
            text: template.text.source,
        }
    }
}

impl MessageTemplate {
    /// Checks and parses a template. An empty `subject` counts as absent.
    pub fn new(
        id: impl Into<String>,
        channel: Channel,
        default: bool,
        subject: Option<String>,
        text: impl Into<String>,
    ) -> Result<Self, TemplateError> {
        let id = id.into();
        check_id(&id)?;
        let text: String = text.into();
        if text.trim().is_empty() {
            return Err(TemplateError::EmptyText { field: "text" });
        }
        let text = Template::parse("text", text, TagSet::Message)?;
        if !text.uses(Tag::Otp) {
            return Err(TemplateError::MissingOtpTag);
        }
        let subject = subject.filter(|subject| !subject.trim().is_empty());
        let subject = match (channel, subject) {
            (Channel::Email, None) => return Err(TemplateError::MissingSubject),
            (Channel::Email, Some(subject)) => {
                if subject.chars().any(char::is_control) {
                    return Err(TemplateError::SubjectLineBreak);
                }
                Some(Template::parse("subject", subject, TagSet::Message)?)
            }
            (_, Some(_)) => return Err(TemplateError::SubjectNotAllowed { channel }),
            (_, None) => None,
        };
        Ok(Self {
            id,
            channel,
            default,
            subject,
            text,
        })
    }

    /// The template id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The channel.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Whether this is its channel's default template.
    pub fn is_default(&self) -> bool {
        self.default
    }

    /// The e-mail subject (e-mail templates only).
    pub fn subject(&self) -> Option<&Template> {
        self.subject.as_ref()
    }

    /// The message text (the e-mail body for e-mail templates).
    pub fn text(&self) -> &Template {
        &self.text
    }

    /// Renders the text.
    pub fn render_text(&self, values: &TagValues<'_>) -> Zeroizing<String> {
        self.text.render(values)
    }

    /// Renders the subject, with any line break a tag value brought in replaced by a space
    /// so the mail header stays one line.
    pub fn render_subject(&self, values: &TagValues<'_>) -> Option<Zeroizing<String>> {
        self.subject.as_ref().map(|subject| {
            subject.render_with(values, |value, out| {
                out.extend(
                    value
                        .chars()
                        .map(|c| if matches!(c, '\r' | '\n') { ' ' } else { c }),
                );
            })
        })
    }

    /// The SMS estimate of the text with a sample code of `otp_digits` digits.
    pub fn sms_estimate_for_otp(&self, otp_digits: usize) -> SmsEstimate {
        self.text.sms_estimate_for_otp(otp_digits)
    }
}

fn check_id(id: &str) -> Result<(), TemplateError> {
    let reason = if id.trim().is_empty() {
        "must not be empty"
    } else if id.chars().any(char::is_control) {
        "must not contain control characters"
    } else if id.chars().count() > TEMPLATE_ID_MAX_CHARS {
        "is longer than 64 characters"
    } else {
        return Ok(());
    };
    Err(TemplateError::InvalidId { reason })
}

/// The set of message templates (ids unique; at most one default per channel). JSON: an array of [`MessageTemplate`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<MessageTemplate>", into = "Vec<MessageTemplate>")]
pub struct MessageTemplates(Vec<MessageTemplate>);

impl TryFrom<Vec<MessageTemplate>> for MessageTemplates {
    type Error = TemplateError;

    fn try_from(templates: Vec<MessageTemplate>) -> Result<Self, Self::Error> {
        Self::new(templates)
    }
}

impl From<MessageTemplates> for Vec<MessageTemplate> {
    fn from(templates: MessageTemplates) -> Self {
        templates.0
    }
}

impl MessageTemplates {
    /// Checks ids and defaults.
    pub fn new(templates: Vec<MessageTemplate>) -> Result<Self, TemplateError> {
        for (i, template) in templates.iter().enumerate() {
            if templates[..i]
                .iter()
                .any(|earlier| earlier.id == template.id)
            {
                return Err(TemplateError::DuplicateId {
                    id: template.id.clone(),
                });
            }
        }
        for channel in [Channel::Sms, Channel::Email, Channel::Voice] {
            let mut defaults = templates
                .iter()
                .filter(|t| t.channel == channel && t.default);
            if let (Some(first), Some(second)) = (defaults.next(), defaults.next()) {
                return Err(TemplateError::MultipleDefaults {
                    channel,
                    first: first.id.clone(),
                    second: second.id.clone(),
                });
            }
        }
        Ok(Self(templates))
    }

    /// The templates in order.
    pub fn templates(&self) -> &[MessageTemplate] {
        &self.0
    }

    /// The default template of `channel`, if one is marked default.
    pub fn default_for(&self, channel: Channel) -> Option<&MessageTemplate> {
        self.0.iter().find(|t| t.channel == channel && t.default)
    }

    /// The template a request for `channel` uses: the one named `id`, else the default.
    pub fn select(
        &self,
        channel: Channel,
        id: Option<&str>,
    ) -> Result<&MessageTemplate, TemplateError> {
        let Some(id) = id else {
            return self
                .default_for(channel)
                .ok_or(TemplateError::NoTemplate { channel });
        };
        let template = self
            .0
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| TemplateError::UnknownTemplate { id: id.to_owned() })?;
        if template.channel != channel {
            return Err(TemplateError::WrongChannel {
                id: id.to_owned(),
                actual: template.channel,
                requested: channel,
            });
        }
        Ok(template)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::template::SmsEncoding;

    fn sms(id: &str, default: bool) -> serde_json::Value {
        serde_json::json!({"id": id, "channel": "sms", "default": default, "text": "Code {otp}"})
    }

    fn email(id: &str, default: bool) -> serde_json::Value {
        serde_json::json!({"id": id, "channel": "email", "default": default,
                           "subject": "{app} code", "text": "Hello {name}, your code is {otp}."})
    }

    #[test]
    fn set_round_trips_and_selects() {
        let body = serde_json::json!([sms("s1", true), sms("s2", false), email("e1", true)]);
        let set: MessageTemplates = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(serde_json::to_value(&set).unwrap(), body);
        assert_eq!(set.select(Channel::Sms, None).unwrap().id(), "s1");
        assert_eq!(set.select(Channel::Sms, Some("s2")).unwrap().id(), "s2");
        assert_eq!(set.select(Channel::Email, None).unwrap().id(), "e1");
        // A channel may have templates and no default: a request that names none gets the
        // caller's built-in message (`NoTemplate`).
        let no_default: MessageTemplates =
            serde_json::from_value(serde_json::json!([sms("s1", false)])).unwrap();
        assert_eq!(
            no_default.select(Channel::Sms, None).unwrap_err(),
            TemplateError::NoTemplate {
                channel: Channel::Sms
            }
        );
        assert_eq!(
            set.select(Channel::Voice, None).unwrap_err(),
            TemplateError::NoTemplate {
                channel: Channel::Voice
            }
        );
        assert_eq!(
            set.select(Channel::Sms, Some("e1")).unwrap_err(),
            TemplateError::WrongChannel {
                id: "e1".into(),
                actual: Channel::Email,
                requested: Channel::Sms
            }
        );
        assert_eq!(
            set.select(Channel::Sms, Some("zz")).unwrap_err(),
            TemplateError::UnknownTemplate { id: "zz".into() }
        );
    }

    #[test]
    fn set_validation() {
        let rows = [
            (
                serde_json::json!([sms("a", true), sms("b", true)]),
                "both marked default",
            ),
            (
                serde_json::json!([sms("a", true), email("a", true)]),
                "id: \"a\" is used by more than one",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "sms", "text": "{otp}", "x": 1}]),
                "x",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "fax", "text": "{otp}"}]),
                "fax",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "sms", "text": "no code"}]),
                "{otp}",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "sms", "text": "{otp} {phone}"}]),
                "{phone}",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "sms", "text": "  "}]),
                "text: must not be empty",
            ),
            (
                serde_json::json!([{"id": "", "channel": "sms", "text": "{otp}"}]),
                "id: must not be empty",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "email", "text": "{otp}"}]),
                "needs a subject",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "email", "subject": "a\nb", "text": "{otp}"}]),
                "single line",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "email", "subject": "{foo}", "text": "{otp}"}]),
                "subject: unknown tag {foo}",
            ),
            (
                serde_json::json!([{"id": "a", "channel": "sms", "subject": "s", "text": "{otp}"}]),
                "not sms templates",
            ),
        ];
        for (i, (body, needle)) in rows.into_iter().enumerate() {
            let err = serde_json::from_value::<MessageTemplates>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "row {i}: {err}");
        }
    }

    #[test]
    fn email_rendering_keeps_the_subject_on_one_line() {
        let template: MessageTemplate = serde_json::from_value(email("e", true)).unwrap();
        let values = TagValues {
            otp: "4711",
            name: "Ana\r\nBcc: x",
            app: "Bank\n",
            ..TagValues::default()
        };
        assert_eq!(
            template.render_subject(&values).unwrap().as_str(),
            "Bank  code"
        );
        assert_eq!(
            template.render_text(&values).as_str(),
            "Hello Ana\r\nBcc: x, your code is 4711."
        );
    }

    #[test]
    fn sms_estimate_with_sample_code() {
        let text = format!("{}{{otp}}", "a".repeat(154));
        let template = MessageTemplate::new("s", Channel::Sms, true, None, text).unwrap();
        let six = template.sms_estimate_for_otp(6);
        assert_eq!(
            (six.encoding(), six.units(), six.segments()),
            (SmsEncoding::Gsm7, 160, 1)
        );
        let seven = template.sms_estimate_for_otp(7);
        assert_eq!((seven.units(), seven.segments()), (161, 2));
    }
}
