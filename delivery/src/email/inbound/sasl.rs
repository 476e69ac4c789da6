//! SASL client messages for IMAP `AUTHENTICATE` and POP3 `AUTH` (RFC 4422 framing: one
//! base64 line per step): PLAIN (RFC 4616), XOAUTH2 (Google, Microsoft) and OAUTHBEARER
//! (RFC 7628), and the answer to an error challenge.

use data_encoding::BASE64;
use zeroize::Zeroizing;

use super::account::{InboundAccount, InboundAuth, OAuth2Mechanism};
use super::error::InboundError;
use crate::email::SecretString;

/// One SASL login: the mechanism name and the client's responses, base64-encoded, one per
/// server continuation. `Debug` is not derived: the responses hold the password or token.
pub(crate) struct Login {
    /// `PLAIN`, `LOGIN`, `XOAUTH2` or `OAUTHBEARER`.
    pub(crate) mechanism: &'static str,
    /// The responses in order (zeroized on drop).
    pub(crate) responses: Vec<Zeroizing<String>>,
    /// The first response may go with the command (SASL-IR, RFC 4959; POP3 RFC 5034).
    pub(crate) inline_first: bool,
    /// What to send when the server answers with an error challenge instead of
    /// completing: an empty line for XOAUTH2; base64 of `%x01` for OAUTHBEARER
    /// (RFC 7628 §3.2.3); `*` (cancel) otherwise.
    pub(crate) after_error_challenge: &'static str,
}

/// The SASL login of `account`: PLAIN for a password, XOAUTH2 or OAUTHBEARER with
/// `access_token` for OAuth2 accounts.
pub(crate) fn login(
    account: &InboundAccount,
    access_token: Option<&SecretString>,
) -> Result<Login, InboundError> {
    match account.auth() {
        InboundAuth::Password { username, password } => {
            // authzid NUL authcid NUL password, with an empty authzid.
            let message = Zeroizing::new(format!("\0{username}\0{}", password.expose()));
            Ok(Login {
                mechanism: "PLAIN",
                responses: vec![encode(&message)],
                inline_first: true,
                after_error_challenge: "*",
            })
        }
        InboundAuth::OAuth2 {
            username,
            mechanism,
        } => {
            let token = access_token.ok_or(InboundError::MissingAccessToken)?;
            let message = match mechanism {
                OAuth2Mechanism::XOAuth2 => Zeroizing::new(format!(
                    "user={username}\x01auth=Bearer {}\x01\x01",
                    token.expose()
                )),
                OAuth2Mechanism::OAuthBearer => Zeroizing::new(format!(
                    "n,a={},\x01host={}\x01port={}\x01auth=Bearer {}\x01\x01",
                    sasl_name(username),
                    account.host(),
                    account.port(),
                    token.expose()
                )),
            };
            Ok(Login {
                mechanism: mechanism.as_str(),
                responses: vec![encode(&message)],
                inline_first: true,
                after_error_challenge: match mechanism {
                    OAuth2Mechanism::XOAuth2 => "",
                    OAuth2Mechanism::OAuthBearer => "AQ==",
                },
            })
        }
    }
}

/// The SASL `LOGIN` mechanism (the de-facto standard of draft-murchison-sasl-login): the
/// username, then the password, each after the server's prompt.
pub(crate) fn login_mechanism(username: &str, password: &SecretString) -> Login {
    Login {
        mechanism: "LOGIN",
        responses: vec![encode(username), encode(password.expose())],
        inline_first: false,
        after_error_challenge: "*",
    }
}

fn encode(text: &str) -> Zeroizing<String> {
    Zeroizing::new(BASE64.encode(text.as_bytes()))
}

/// A server challenge (base64) as text for an error message: the OAuth2 error JSON
/// (`{"status":"invalid_token","schemes":"bearer","scope":"…"}`), or the raw text when
/// it is not base64 of UTF-8. Clipped to 300 characters.
pub(crate) fn challenge_text(challenge: &str) -> String {
    let trimmed = challenge.trim();
    let decoded = BASE64
        .decode(trimmed.as_bytes())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| trimmed.to_owned());
    decoded
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

/// RFC 5801 saslname: `,` → `=2C`, `=` → `=3D`.
fn sasl_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::email::inbound::{InboundSettings, Protocol};

    fn account(auth: InboundAuth) -> InboundAccount {
        let mut s = InboundSettings::new("b", Protocol::Imap, "imap.example.com", auth);
        s.port = 993;
        InboundAccount::new(s).expect("valid")
    }

    fn decoded(login: &Login) -> String {
        assert_eq!(login.responses.len(), 1);
        String::from_utf8(
            BASE64
                .decode(login.responses[0].as_bytes())
                .expect("base64"),
        )
        .expect("utf-8")
    }

    #[test]
    fn plain_xoauth2_and_oauthbearer_messages() {
        let plain = login(
            &account(InboundAuth::Password {
                username: "ana".into(),
                password: "pw".into(),
            }),
            None,
        )
        .expect("login");
        assert_eq!(
            (plain.mechanism, decoded(&plain).as_str()),
            ("PLAIN", "\0ana\0pw")
        );
        let token = SecretString::from("ya29.token");
        let xoauth2 = login(
            &account(InboundAuth::OAuth2 {
                username: "ana@example.com".into(),
                mechanism: OAuth2Mechanism::XOAuth2,
            }),
            Some(&token),
        )
        .expect("login");
        assert_eq!(
            decoded(&xoauth2),
            "user=ana@example.com\x01auth=Bearer ya29.token\x01\x01"
        );
        assert_eq!(xoauth2.after_error_challenge, "");
        let bearer = login(
            &account(InboundAuth::OAuth2 {
                username: "a,n=a@example.com".into(),
                mechanism: OAuth2Mechanism::OAuthBearer,
            }),
            Some(&token),
        )
        .expect("login");
        assert_eq!(
            decoded(&bearer),
            "n,a=a=2Cn=3Da@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer ya29.token\x01\x01"
        );
        assert_eq!(bearer.after_error_challenge, "AQ==");
    }

    #[test]
    fn the_login_mechanism_answers_two_prompts() {
        let login = login_mechanism("ana", &SecretString::from("pw"));
        let plain: Vec<String> = login
            .responses
            .iter()
            .map(|r| String::from_utf8(BASE64.decode(r.as_bytes()).expect("b64")).expect("utf-8"))
            .collect();
        assert_eq!(plain, ["ana", "pw"]);
        assert!(!login.inline_first);
    }

    #[test]
    fn oauth2_without_a_token_is_refused() {
        let result = login(
            &account(InboundAuth::OAuth2 {
                username: "a@example.com".into(),
                mechanism: OAuth2Mechanism::XOAuth2,
            }),
            None,
        );
        assert!(matches!(result, Err(InboundError::MissingAccessToken)));
    }

    #[test]
    fn challenges_are_decoded_when_they_can_be() {
        let json = r#"{"status":"invalid_token","schemes":"bearer"}"#;
        assert_eq!(challenge_text(&BASE64.encode(json.as_bytes())), json);
        assert_eq!(challenge_text("not base64!"), "not base64!");
        assert_eq!(challenge_text(&"x".repeat(400)).len(), 300);
    }
}
