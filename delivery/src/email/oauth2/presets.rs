//! Read-only provider presets an administrator copies into a new profile.

use super::profile::{Flow, ProfileError, ProfileSettings};
use crate::SecretString;

/// The placeholder in Microsoft URLs replaced by the directory (tenant) id.
const TENANT_PLACEHOLDER: &str = "{tenant}";

/// Longest accepted tenant (a GUID is 36 characters, a domain name at most 253).
const MAX_TENANT_LEN: usize = 253;

/// A provider preset: endpoints, scope and flow of a well-known mail provider.
///
/// Presets are constants; copying one with [`Preset::settings`] gives editable
/// [`ProfileSettings`], the preset itself never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    id: &'static str,
    label: &'static str,
    authorization_url: Option<&'static str>,
    token_url: &'static str,
    scope: &'static str,
    flow: Flow,
}

/// Microsoft 365 (Exchange Online), authorization code + PKCE, SMTP AUTH as a mailbox.
/// `offline_access` makes Microsoft issue a refresh token.
pub const MICROSOFT_365_AUTHORIZATION_CODE: Preset = Preset {
    id: "microsoft365_authorization_code",
    label: "Microsoft 365 (authorization code)",
    authorization_url: Some("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
    token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    scope: "https://outlook.office.com/SMTP.Send offline_access",
    flow: Flow::AuthorizationCode,
};

/// Microsoft 365 (Exchange Online), client credentials (application permission; the
/// service principal must be granted access to the mailbox in Exchange).
pub const MICROSOFT_365_CLIENT_CREDENTIALS: Preset = Preset {
    id: "microsoft365_client_credentials",
    label: "Microsoft 365 (client credentials)",
    authorization_url: None,
    token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    scope: "https://outlook.office365.com/.default",
    flow: Flow::ClientCredentials,
};

/// Google Workspace / Gmail, authorization code + PKCE. The authorization URL carries
/// `access_type=offline&prompt=consent` so that Google issues a refresh token on every
/// consent. Google offers no client-credentials grant for Gmail.
pub const GOOGLE_AUTHORIZATION_CODE: Preset = Preset {
    id: "google_authorization_code",
    label: "Google (authorization code)",
    authorization_url: Some(
        "https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent",
    ),
    token_url: "https://oauth2.googleapis.com/token",
    scope: "https://mail.google.com/",
    flow: Flow::AuthorizationCode,
};

/// Google Workspace, a service account with domain-wide delegation (JWT bearer, RFC
/// 7523): the service account's JSON key signs an assertion naming the mailbox to act as.
pub const GOOGLE_SERVICE_ACCOUNT: Preset = Preset {
    id: "google_service_account",
    label: "Google Workspace (service account)",
    authorization_url: None,
    token_url: "https://oauth2.googleapis.com/token",
    scope: "https://mail.google.com/",
    flow: Flow::JwtBearer,
};

/// Every preset, in the order a GUI lists them.
pub const PRESETS: &[Preset] = &[
    MICROSOFT_365_AUTHORIZATION_CODE,
    MICROSOFT_365_CLIENT_CREDENTIALS,
    GOOGLE_AUTHORIZATION_CODE,
    GOOGLE_SERVICE_ACCOUNT,
];

/// The preset with this [`Preset::id`], if any.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

impl Preset {
    /// Stable identifier (`microsoft365_authorization_code`, …).
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// Human-readable name.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// The authorization endpoint template (`{tenant}` placeholder for Microsoft).
    pub fn authorization_url(&self) -> Option<&'static str> {
        self.authorization_url
    }

    /// The token endpoint template (`{tenant}` placeholder for Microsoft).
    pub fn token_url(&self) -> &'static str {
        self.token_url
    }

    /// The space-separated scope.
    pub fn scope(&self) -> &'static str {
        self.scope
    }

    /// The grant.
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// True when the URLs hold the `{tenant}` placeholder (Microsoft).
    pub fn needs_tenant(&self) -> bool {
        self.token_url.contains(TENANT_PLACEHOLDER)
            || self
                .authorization_url
                .is_some_and(|url| url.contains(TENANT_PLACEHOLDER))
    }

    /// Copies the preset into editable settings, replacing `{tenant}` (a directory id
    /// GUID, a verified domain, or `organizations`; letters, digits, `-` and `.` only).
    /// `tenant` is ignored by presets without the placeholder.
    pub fn settings(
        &self,
        tenant: Option<&str>,
        client_id: String,
        client_secret: SecretString,
        redirect_url: Option<String>,
    ) -> Result<ProfileSettings, ProfileError> {
        let tenant = if self.needs_tenant() {
            check_tenant(tenant)?
        } else {
            ""
        };
        let fill = |template: &str| template.replace(TENANT_PLACEHOLDER, tenant);
        Ok(ProfileSettings {
            authorization_url: self.authorization_url.map(fill),
            token_url: fill(self.token_url),
            redirect_url: match self.flow {
                Flow::AuthorizationCode => redirect_url,
                Flow::ClientCredentials | Flow::JwtBearer => None,
            },
            client_id,
            client_secret,
            scope: self.scope.to_owned(),
            flow: self.flow,
        })
    }
}

fn check_tenant(tenant: Option<&str>) -> Result<&str, ProfileError> {
    let tenant = tenant.map(str::trim).unwrap_or_default();
    let reason = if tenant.is_empty() {
        Some("this preset needs the directory (tenant) id")
    } else if tenant.len() > MAX_TENANT_LEN {
        Some("it is longer than 253 characters")
    } else if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        Some("only letters, digits, '-' and '.' are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ProfileError::InvalidTenant { reason }),
        None => Ok(tenant),
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
    use crate::email::oauth2::OAuth2Profile;

    const TENANT: &str = "0b1c2d3e-aaaa-bbbb-cccc-123456789abc";

    #[test]
    fn every_preset_makes_a_valid_profile() {
        for p in PRESETS {
            let settings = p
                .settings(
                    Some(TENANT),
                    "client".into(),
                    "secret".into(),
                    Some("https://sae.example/v1/oauth2/callback".into()),
                )
                .unwrap_or_else(|e| panic!("row {}: {e}", p.id()));
            let profile =
                OAuth2Profile::new(settings).unwrap_or_else(|e| panic!("row {}: {e}", p.id()));
            assert_eq!(profile.flow(), p.flow(), "row {}", p.id());
            assert!(
                !profile.token_url().as_str().contains('{'),
                "row {}",
                p.id()
            );
            assert_eq!(preset(p.id()), Some(p), "row {}", p.id());
        }
    }

    #[test]
    fn presets_carry_the_documented_endpoints() {
        let rows: &[(&Preset, Option<&str>, &str, &str)] = &[
            (
                &MICROSOFT_365_AUTHORIZATION_CODE,
                Some("https://login.microsoftonline.com/T/oauth2/v2.0/authorize"),
                "https://login.microsoftonline.com/T/oauth2/v2.0/token",
                "https://outlook.office.com/SMTP.Send offline_access",
            ),
            (
                &MICROSOFT_365_CLIENT_CREDENTIALS,
                None,
                "https://login.microsoftonline.com/T/oauth2/v2.0/token",
                "https://outlook.office365.com/.default",
            ),
            (
                &GOOGLE_AUTHORIZATION_CODE,
                Some(
                    "https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent",
                ),
                "https://oauth2.googleapis.com/token",
                "https://mail.google.com/",
            ),
        ];
        for (p, auth, token, scope) in rows {
            let s = p
                .settings(
                    Some("T"),
                    "c".into(),
                    "s".into(),
                    Some("https://x/cb".into()),
                )
                .unwrap_or_else(|e| panic!("row {}: {e}", p.id()));
            assert_eq!(s.authorization_url.as_deref(), *auth, "row {}", p.id());
            assert_eq!(s.token_url, *token, "row {}", p.id());
            assert_eq!(s.scope, *scope, "row {}", p.id());
        }
    }

    #[test]
    fn microsoft_presets_need_a_clean_tenant() {
        for (tenant, ok) in [
            (None, false),
            (Some(""), false),
            (Some("a/b"), false),
            (Some("contoso.onmicrosoft.com"), true),
            (Some("organizations"), true),
            (Some(TENANT), true),
        ] {
            let got =
                MICROSOFT_365_CLIENT_CREDENTIALS.settings(tenant, "c".into(), "s".into(), None);
            assert_eq!(got.is_ok(), ok, "row {tenant:?}");
        }
        assert!(!GOOGLE_AUTHORIZATION_CODE.needs_tenant());
    }
}
