//! Who makes a request, and what they may do: API-key scopes and administrator groups
//! (ACLs over users and wallets, SPEC §4.7, §5).

use std::sync::Arc;

use sae_core::acl::{Access, AclError, AclField, AdminGroup};

use super::audit::Audit;
use super::error::{Denial, ServiceError};
use crate::clock::UnixTime;
use crate::store::apikeys::{ApiKey, Scope};

/// Who made a request.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An application or script with an `Api-Key` header.
    Key(ApiKey),
    /// An administrator with a console session.
    Admin {
        /// The administrator's row id.
        id: i64,
        /// The administrator's login.
        login: String,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it is.
    pub principal: Principal,
    /// The administrator group that restricts it; `None`: unrestricted (System
    /// Administrator, or an `otp` key, which has no administration rights anyway).
    pub group: Option<Arc<AdminGroup>>,
    /// The client address, as believed under `trusted_proxies`.
    pub source: Option<String>,
}

fn scope_error() -> ServiceError {
    ServiceError::Denied {
        kind: Denial::Scope,
        field: None,
        detail: "this operation needs an API key with scope admin".into(),
    }
}

impl Caller {
    /// Who to name in the audit log.
    pub fn actor(&self) -> String {
        match &self.principal {
            Principal::Key(key) => format!("apikey:{}", key.name),
            Principal::Admin { login, .. } => format!("admin:{login}"),
        }
    }

    /// An audit record of this caller doing `action` now, with its source address.
    pub fn audit(&self, action: &str, at: UnixTime) -> Audit {
        Audit::new(self.actor(), action, at).source(self.source.as_deref())
    }

    /// A number that identifies the caller for idempotency keys: the API key's id, or the
    /// negated administrator id.
    pub fn owner_id(&self) -> i64 {
        match &self.principal {
            Principal::Key(key) => key.id,
            Principal::Admin { id, .. } => -id,
        }
    }

    /// Whether the caller is an application (an API key with scope `otp`), which may run
    /// the authentication flows but administer nothing.
    pub fn is_application(&self) -> bool {
        matches!(&self.principal, Principal::Key(key) if Scope::parse(&key.scope) == Some(Scope::Otp))
    }

    fn has_admin_scope(&self) -> bool {
        match &self.principal {
            Principal::Key(key) => Scope::parse(&key.scope) == Some(Scope::Admin),
            Principal::Admin { .. } => true,
        }
    }

    /// Requires the `admin` scope and the System Administrator group: everything that is
    /// not users and wallets (configuration, delivery, mail, administrators, keys, audit).
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if !self.has_admin_scope() {
            return Err(scope_error());
        }
        match &self.group {
            Some(group) if !group.is_builtin() => Err(ServiceError::acl(
                None,
                format!(
                    "the administrator group {:?} may only manage users and wallets",
                    group.name()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Requires a caller allowed on the authentication flows (`/v1/otp/*`, `/v1/auth/*`, OPIE
    /// challenges): an `otp` key, or an administrator — key or session — whose group does not
    /// restrict it. A restricted group must not get a password oracle on a field it may not
    /// see, nor send codes (SMS pumping).
    pub fn require_flow(&self) -> Result<(), ServiceError> {
        match &self.group {
            Some(group) if !group.is_builtin() => Err(ServiceError::acl(
                None,
                format!(
                    "the authentication flows are for applications (otp keys) and unrestricted \
                     administrators; the group {:?} may only manage users and wallets",
                    group.name()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Requires the `admin` scope and returns the ACL that applies to users and wallets.
    pub fn acl(&self) -> Result<Acl, ServiceError> {
        if !self.has_admin_scope() {
            return Err(scope_error());
        }
        Ok(Acl(self.group.clone().filter(|g| !g.is_builtin())))
    }
}

/// The ACL of an administrator request over users and wallets (none: everything allowed).
#[derive(Debug, Clone)]
pub struct Acl(Option<Arc<AdminGroup>>);

fn acl_error(e: &AclError) -> ServiceError {
    ServiceError::acl(Some(e.field().to_owned()), e.to_string())
}

impl Acl {
    /// Everything allowed (System Administrator).
    pub fn unrestricted() -> Self {
        Self(None)
    }

    /// Refuses an update touching `fields` unless each is editable.
    pub fn check_update<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), ServiceError> {
        match &self.0 {
            Some(g) => g.check_update(fields).map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Refuses creating a resource with `fields` set unless allowed.
    pub fn check_create<F: AclField>(
        &self,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<(), ServiceError> {
        match &self.0 {
            Some(g) => g.check_create(fields).map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Refuses deleting a resource of kind `F` unless allowed.
    pub fn check_delete<F: AclField>(&self) -> Result<(), ServiceError> {
        match &self.0 {
            Some(g) => g.check_delete::<F>().map_err(|e| acl_error(&e)),
            None => Ok(()),
        }
    }

    /// Requires at least `access` on `field` (e.g. `view` on `tokens` to list a user's tokens).
    pub fn require<F: AclField>(&self, field: F, access: Access) -> Result<(), ServiceError> {
        let Some(g) = &self.0 else { return Ok(()) };
        if g.access(field) >= access {
            return Ok(());
        }
        let e = if g.access(field) == Access::None {
            AclError::FieldHidden {
                resource: F::RESOURCE,
                field: field.as_str(),
            }
        } else {
            AclError::FieldReadOnly {
                resource: F::RESOURCE,
                field: field.as_str(),
            }
        };
        Err(acl_error(&e))
    }

    /// Requires that at least one field of `F` is visible (to read such resources at all).
    pub fn require_any_view<F: AclField>(&self) -> Result<(), ServiceError> {
        match &self.0 {
            Some(g) if !g.may_view_any::<F>() => Err(ServiceError::acl(
                Some(F::RESOURCE.as_str().to_owned()),
                format!(
                    "{}: the administrator group {:?} may not see any field of them",
                    F::RESOURCE.as_str(),
                    g.name()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Serialises `value`, removing what the group may not see (in each of `items` when the
    /// value is a page). A caller without a group sees it whole: serialised once, straight to
    /// its text.
    pub fn view<F: AclField, T: serde::Serialize>(&self, value: &T) -> Result<View, ServiceError> {
        let raw = match &self.0 {
            None => serde_json::value::to_raw_value(value),
            Some(g) => {
                let mut json = serde_json::to_value(value)
                    .map_err(|e| ServiceError::internal("serialising an answer", e))?;
                if let Some(items) = json.get_mut("items") {
                    g.filter_view::<F>(items);
                } else {
                    g.filter_view::<F>(&mut json);
                }
                serde_json::value::to_raw_value(&json)
            }
        };
        raw.map(View)
            .map_err(|e| ServiceError::internal("serialising an answer", e))
    }
}

/// A resource as its caller may see it ([`Acl::view`]): JSON text, written into the answer
/// as it is.
#[derive(Debug)]
pub struct View(Box<serde_json::value::RawValue>);

impl View {
    /// Parsed, for a caller that looks inside (the tests). The text was written by
    /// serde_json from a value, so it always parses back.
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl serde::Serialize for View {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}
