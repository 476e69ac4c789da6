//! Password rules (`/v1/policies/global`, `/v1/policies/authsys`), the MFA "hash always
//! present" rules (`/v1/policies/mfa`) and the password test.

use sae_core::password::{PasswordPolicy, PasswordPolicyInput};
use sae_core::rules::authsys::AuthsysRules;
use sae_core::rules::mfa::MfaRules;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::caller::Caller;
use super::config::{save, to_json};
use super::error::ServiceError;
use super::input::{Login, from_value};
use super::policies::doc;
use super::users::find;
use delivery::SecretString;

fn policy_error(e: &sae_core::password::PolicyError, prefix: &str) -> ServiceError {
    ServiceError::field(format!("{prefix}{}", e.field()), e.to_string())
}

/// The global password rule.
pub async fn global(state: &AppState, caller: &Caller) -> Result<PasswordPolicy, ServiceError> {
    caller.require_admin()?;
    Ok(state.policies().await?.global.clone())
}

/// Replaces the global password rule.
pub async fn put_global(
    state: &AppState,
    caller: &Caller,
    input: PasswordPolicyInput,
) -> Result<PasswordPolicy, ServiceError> {
    caller.require_admin()?;
    let policy = PasswordPolicy::try_from(input).map_err(|e| policy_error(&e, ""))?;
    save(state, caller, doc::GLOBAL, to_json(&policy)?, |_| Ok(())).await?;
    Ok(policy)
}

/// The AuthSys rules.
pub async fn authsys(
    state: &AppState,
    caller: &Caller,
) -> Result<AuthsysRules<PasswordPolicy>, ServiceError> {
    caller.require_admin()?;
    Ok(state.policies().await?.authsys.clone())
}

/// `PUT /v1/policies/authsys`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthsysBody {
    /// Whether AuthSys rules apply at all.
    pub enabled: bool,
    /// Rules in order; the first whose `authsys_id` is among the user's AuthSys applies.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<serde_json::Value>,
}

/// Replaces the AuthSys rules (order matters: first match wins).
pub async fn put_authsys(
    state: &AppState,
    caller: &Caller,
    body: AuthsysBody,
) -> Result<AuthsysRules<PasswordPolicy>, ServiceError> {
    caller.require_admin()?;
    // Validate each rule on its own first, so an error names rules[i].<field>.
    for (i, rule) in body.rules.iter().enumerate() {
        let mut object = rule
            .as_object()
            .cloned()
            .ok_or_else(|| ServiceError::field(format!("rules[{i}]"), "must be an object"))?;
        if !matches!(
            object.remove("authsys_id"),
            Some(serde_json::Value::String(_))
        ) {
            return Err(ServiceError::field(
                format!("rules[{i}].authsys_id"),
                "authsys_id: required, a string",
            ));
        }
        let prefix = format!("rules[{i}].");
        let input: PasswordPolicyInput = from_value(serde_json::Value::Object(object), &prefix)?;
        PasswordPolicy::try_from(input).map_err(|e| policy_error(&e, &prefix))?;
    }
    let whole = serde_json::json!({"enabled": body.enabled, "rules": body.rules});
    let rules: AuthsysRules<PasswordPolicy> =
        serde_json::from_value(whole).map_err(|e| ServiceError::field("rules", e.to_string()))?;
    save(state, caller, doc::AUTHSYS, to_json(&rules)?, |_| Ok(())).await?;
    Ok(rules)
}

/// The MFA rules.
pub async fn mfa(state: &AppState, caller: &Caller) -> Result<MfaRules, ServiceError> {
    caller.require_admin()?;
    Ok(state.policies().await?.mfa.clone())
}

/// Replaces the MFA "hash always present" rules.
pub async fn put_mfa(
    state: &AppState,
    caller: &Caller,
    rules: MfaRules,
) -> Result<MfaRules, ServiceError> {
    caller.require_admin()?;
    save(state, caller, doc::MFA, to_json(&rules)?, |_| Ok(())).await?;
    Ok(rules)
}

/// `POST /v1/policies/password-test`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordTest {
    /// The sample to test.
    #[schema(value_type = String, max_length = 1024)]
    pub password: SecretString,
    /// Test against this user's effective rule (default: the global rule).
    pub login: Option<Login>,
    /// Test as a user of this AuthSys: its rule when AuthSys rules are enabled (with
    /// `login`, added to the user's own AuthSys).
    #[schema(min_length = 1, max_length = 255)]
    pub authsys: Option<String>,
    /// Test this rule instead (one being edited and not saved yet); `login` and `authsys`
    /// are then ignored.
    #[schema(value_type = Option<crate::service::schemas::PasswordPolicy>)]
    pub policy: Option<serde_json::Value>,
}

/// One unmet requirement.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnmetView {
    /// The pattern that did not match, when the requirement is a pattern.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// What is missing, for people.
    pub message: String,
}

/// The answer of the password test.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordTestResult {
    /// Whether the sample meets every requirement.
    pub ok: bool,
    /// Every unmet requirement.
    pub unmet: Vec<UnmetView>,
    /// Which rule was applied: `global`, `authsys:<id>` or `draft` (the `policy` sent).
    pub rule: String,
}

/// Tests a sample password against the effective rule; lists every unmet requirement.
pub async fn password_test(
    state: &AppState,
    caller: &Caller,
    body: PasswordTest,
) -> Result<PasswordTestResult, ServiceError> {
    caller.require_admin()?;
    let policies = state.policies().await?;
    let draft = match body.policy {
        None => None,
        Some(v) => {
            let input: PasswordPolicyInput = from_value(v, "policy.")?;
            Some(PasswordPolicy::try_from(input).map_err(|e| policy_error(&e, "policy."))?)
        }
    };
    let mut names = match (&draft, body.login) {
        (None, Some(login)) => {
            let (user, _) = state.store.read(move |c| find(c, login.as_str())).await?;
            super::password::authsys_names(&user)?
        }
        _ => Vec::new(),
    };
    names.extend(body.authsys);
    let (policy, source) = match &draft {
        Some(p) => (p, None),
        None => {
            let (p, s) = policies.authsys.effective(&policies.global, &names);
            (p, Some(s))
        }
    };
    let unmet: Vec<UnmetView> = policy
        .test(body.password.expose())
        .into_iter()
        .map(|u| UnmetView {
            pattern: u.pattern.map(|p| p.to_string()),
            message: u.message.to_string(),
        })
        .collect();
    let Some(source) = source else {
        return Ok(PasswordTestResult {
            ok: unmet.is_empty(),
            unmet,
            rule: "draft".to_owned(),
        });
    };
    let rule = serde_json::to_value(source)
        .ok()
        .and_then(|v| {
            v.get("authsys_id")
                .and_then(|s| s.as_str().map(str::to_owned))
        })
        .map_or_else(|| "global".to_owned(), |id| format!("authsys:{id}"));
    Ok(PasswordTestResult {
        ok: unmet.is_empty(),
        unmet,
        rule,
    })
}
