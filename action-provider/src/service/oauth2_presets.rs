//! The read-only OAuth2 presets (`GET /v1/oauth2/presets`: Microsoft 365, Google) an
//! administrator copies into a profile.

use delivery::email::oauth2::PRESETS;
use serde::Serialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::error::ServiceError;
use super::page::Page;

/// A read-only OAuth2 preset an administrator copies into a profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresetView {
    /// Stable id.
    pub id: &'static str,
    /// Label.
    pub label: &'static str,
    /// Authorization endpoint (`{tenant}` is a placeholder).
    pub authorization_url: Option<&'static str>,
    /// Token endpoint.
    pub token_url: &'static str,
    /// Scopes.
    pub scope: &'static str,
    /// Flow.
    pub flow: &'static str,
    /// Whether the URLs hold a `{tenant}` placeholder.
    pub needs_tenant: bool,
}

/// The read-only OAuth2 presets.
pub fn presets(caller: &Caller) -> Result<Page<PresetView>, ServiceError> {
    caller.require_admin()?;
    Ok(Page::all(
        PRESETS
            .iter()
            .map(|p| PresetView {
                id: p.id(),
                label: p.label(),
                authorization_url: p.authorization_url(),
                token_url: p.token_url(),
                scope: p.scope(),
                flow: p.flow().as_str(),
                needs_tenant: p.needs_tenant(),
            })
            .collect(),
    ))
}
