//! [`Token`], the refresh rule [`needs_refresh`], and the parser of token endpoint answers.

use serde::Deserialize;

use super::error::OAuth2Error;
use crate::SecretString;

/// Refresh a token when fewer than this many seconds of validity remain (5 minutes: covers
/// clock skew between us and the provider and a slow SMTP dialogue).
pub const REFRESH_MARGIN_SECS: u64 = 300;

/// Longest provider error text kept in an error message, in characters.
const MAX_PROVIDER_TEXT: usize = 300;

/// True when a token expiring at `expires_at` (unix seconds) should be refreshed at `now`:
/// fewer than [`REFRESH_MARGIN_SECS`] seconds remain, or it has already expired.
pub fn needs_refresh(expires_at: u64, now: u64) -> bool {
    expires_at.saturating_sub(now) < REFRESH_MARGIN_SECS
}

/// An OAuth2 access token with its optional refresh token and expiry.
///
/// `Debug` redacts both tokens; the tokens are zeroized on drop.
#[derive(Debug, Clone)]
pub struct Token {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: Option<u64>,
    scope: Option<String>,
    id_token: Option<SecretString>,
}

impl Token {
    /// Rebuilds a token from storage. `expires_at` is in unix seconds; `None` means the
    /// provider gave no lifetime.
    pub fn new(
        access_token: SecretString,
        refresh_token: Option<SecretString>,
        expires_at: Option<u64>,
    ) -> Self {
        Self {
            access_token,
            refresh_token,
            expires_at,
            scope: None,
            id_token: None,
        }
    }

    /// The access token (the bearer credential for SMTP XOAUTH2).
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token, if the provider issued one (or an earlier one is still valid).
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// Expiry in unix seconds (`now` at request time + `expires_in`), if the provider gave a
    /// lifetime.
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }

    /// The scope the provider says it granted, if it said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The OpenID Connect `id_token` of the answer (when the scope has `openid`); read its
    /// `email` with [`IdTokenClaims::parse`](super::IdTokenClaims::parse). Not kept in
    /// storage: it matters only right after the authorization.
    pub fn id_token(&self) -> Option<&SecretString> {
        self.id_token.as_ref()
    }

    /// [`needs_refresh`] for this token; `false` when the expiry is unknown (the token is
    /// then used until the server rejects it, which triggers one refresh and a retry).
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|at| needs_refresh(at, now))
    }
}

/// The fields of a token endpoint answer, success (RFC 6749 §5.1) or error (§5.2).
#[derive(Deserialize)]
struct Answer {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    refresh_token: Option<String>,
    scope: Option<String>,
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Parses a token endpoint answer received with HTTP `status` at `now` (unix seconds).
/// When the answer carries no refresh token, `previous_refresh` is kept (providers that do
/// not rotate refresh tokens omit it).
pub(crate) fn parse_token_answer(
    status: u16,
    body: &[u8],
    now: u64,
    previous_refresh: Option<&SecretString>,
) -> Result<Token, OAuth2Error> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| OAuth2Error::UnexpectedAnswer {
            status,
            reason: "the body is not a JSON object",
        })?;
    let Answer {
        access_token,
        token_type,
        expires_in,
        refresh_token,
        scope,
        id_token,
        error,
        error_description,
    } = answer;
    // Move the tokens into zeroizing wrappers before anything can return early.
    let access_token = access_token.map(SecretString::new);
    let refresh_token = refresh_token.map(SecretString::new);
    let id_token = id_token.filter(|t| !t.is_empty()).map(SecretString::new);
    if let Some(error) = error {
        let description = clip(error_description.unwrap_or_default());
        return Err(if error == "invalid_grant" {
            OAuth2Error::InvalidGrant { description }
        } else {
            OAuth2Error::Provider {
                status,
                error: clip(error),
                description,
            }
        });
    }
    if !(200..300).contains(&status) {
        return Err(OAuth2Error::UnexpectedAnswer {
            status,
            reason: "an error status without an OAuth2 error field",
        });
    }
    let Some(access_token) = access_token.filter(|t| !t.is_empty()) else {
        return Err(OAuth2Error::UnexpectedAnswer {
            status,
            reason: "access_token is missing",
        });
    };
    if let Some(token_type) = token_type
        && !token_type.eq_ignore_ascii_case("bearer")
    {
        return Err(OAuth2Error::UnsupportedTokenType {
            token_type: clip(token_type),
        });
    }
    let expires_at = expires_in
        .map(|v| {
            lifetime(&v).ok_or(OAuth2Error::UnexpectedAnswer {
                status,
                reason: "expires_in is not a number of seconds",
            })
        })
        .transpose()?
        .map(|secs| now.saturating_add(secs));
    let refresh_token = refresh_token
        .filter(|t| !t.is_empty())
        .or_else(|| previous_refresh.cloned());
    Ok(Token {
        access_token,
        refresh_token,
        expires_at,
        scope,
        id_token,
    })
}

/// `expires_in` as seconds: a JSON number, or a string of digits (some providers quote it).
fn lifetime(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Provider text shortened to [`MAX_PROVIDER_TEXT`] characters.
fn clip(text: String) -> String {
    if text.chars().count() <= MAX_PROVIDER_TEXT {
        text
    } else {
        let mut short: String = text.chars().take(MAX_PROVIDER_TEXT).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn needs_refresh_table() {
        let rows = [
            ("far from expiry", NOW + 3600, NOW, false),
            ("exactly at the margin", NOW + 300, NOW, false),
            ("one second inside the margin", NOW + 299, NOW, true),
            ("expired", NOW - 1, NOW, true),
            ("expiry at 0", 0, NOW, true),
            ("now at 0", 3600, 0, false),
            ("u64::MAX expiry", u64::MAX, NOW, false),
            ("u64::MAX now", NOW, u64::MAX, true),
        ];
        for (name, expires_at, now, expected) in rows {
            assert_eq!(needs_refresh(expires_at, now), expected, "row {name}");
        }
    }

    proptest! {
        #[test]
        fn needs_refresh_is_monotonic_in_now(expires_at: u64, now: u64, later in 0u64..1_000_000) {
            if needs_refresh(expires_at, now) {
                prop_assert!(needs_refresh(expires_at, now.saturating_add(later)));
            }
        }
    }

    #[test]
    fn successful_answers() {
        let old = SecretString::from("old-refresh");
        let rows: &[(&str, &str, Option<u64>, Option<&str>)] = &[
            (
                "full answer",
                r#"{"access_token":"at","token_type":"Bearer","expires_in":3599,"refresh_token":"rt2","scope":"a b"}"#,
                Some(NOW + 3599),
                Some("rt2"),
            ),
            (
                "no refresh token keeps the old one",
                r#"{"access_token":"at","token_type":"bearer","expires_in":60}"#,
                Some(NOW + 60),
                Some("old-refresh"),
            ),
            (
                "quoted expires_in",
                r#"{"access_token":"at","token_type":"Bearer","expires_in":"3600"}"#,
                Some(NOW + 3600),
                Some("old-refresh"),
            ),
            (
                "no expires_in, no token_type",
                r#"{"access_token":"at"}"#,
                None,
                Some("old-refresh"),
            ),
            (
                "empty refresh token keeps the old one",
                r#"{"access_token":"at","refresh_token":""}"#,
                None,
                Some("old-refresh"),
            ),
        ];
        for (name, body, expires_at, refresh) in rows {
            let token = parse_token_answer(200, body.as_bytes(), NOW, Some(&old))
                .unwrap_or_else(|e| panic!("row {name}: {e}"));
            assert_eq!(token.access_token().expose(), "at", "row {name}");
            assert_eq!(token.expires_at(), *expires_at, "row {name}");
            assert_eq!(
                token.refresh_token().map(SecretString::expose),
                *refresh,
                "row {name}"
            );
        }
    }

    #[test]
    fn failed_answers() {
        type Row = (&'static str, u16, &'static str, fn(&OAuth2Error) -> bool);
        let rows: &[Row] = &[
            (
                "invalid_grant",
                400,
                r#"{"error":"invalid_grant","error_description":"revoked"}"#,
                |e| matches!(e, OAuth2Error::InvalidGrant { description } if description == "revoked"),
            ),
            (
                "invalid_client",
                401,
                r#"{"error":"invalid_client"}"#,
                |e| matches!(e, OAuth2Error::Provider { status: 401, error, .. } if error == "invalid_client"),
            ),
            (
                "error in a 200",
                200,
                r#"{"error":"invalid_scope","error_description":"x"}"#,
                |e| matches!(e, OAuth2Error::Provider { status: 200, .. }),
            ),
            ("html error page", 502, "<html>bad gateway</html>", |e| {
                matches!(e, OAuth2Error::UnexpectedAnswer { status: 502, .. }) && e.is_transient()
            }),
            ("error status without error field", 500, "{}", |e| {
                matches!(e, OAuth2Error::UnexpectedAnswer { status: 500, .. })
            }),
            (
                "no access token",
                200,
                r#"{"token_type":"Bearer"}"#,
                |e| matches!(e, OAuth2Error::UnexpectedAnswer { reason, .. } if reason.contains("access_token")),
            ),
            (
                "mac token",
                200,
                r#"{"access_token":"at","token_type":"mac"}"#,
                |e| matches!(e, OAuth2Error::UnsupportedTokenType { .. }),
            ),
            (
                "negative expires_in",
                200,
                r#"{"access_token":"at","expires_in":-5}"#,
                |e| matches!(e, OAuth2Error::UnexpectedAnswer { reason, .. } if reason.contains("expires_in")),
            ),
            ("array", 200, "[]", |e| {
                matches!(e, OAuth2Error::UnexpectedAnswer { .. })
            }),
        ];
        for (name, status, body, check) in rows {
            let err = parse_token_answer(*status, body.as_bytes(), NOW, None)
                .err()
                .unwrap_or_else(|| panic!("row {name}: accepted"));
            assert!(check(&err), "row {name}: got {err:?}");
        }
    }

    #[test]
    fn error_texts_never_carry_tokens() {
        let body = r#"{"access_token":"SECRET-AT","refresh_token":"SECRET-RT","token_type":"mac"}"#;
        let err = parse_token_answer(200, body.as_bytes(), NOW, None).expect_err("mac refused");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let ok = parse_token_answer(
            200,
            br#"{"access_token":"SECRET-AT","refresh_token":"SECRET-RT"}"#,
            NOW,
            None,
        )
        .expect("ok");
        let shown = format!("{ok:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn long_provider_text_is_clipped() {
        let body = format!(
            r#"{{"error":"invalid_grant","error_description":"{}"}}"#,
            "x".repeat(5000)
        );
        let err = parse_token_answer(400, body.as_bytes(), NOW, None).expect_err("refused");
        assert!(
            err.to_string().chars().count() < 500,
            "{}",
            err.to_string().len()
        );
    }
}
