//! `/v1/policies/*`: the global and AuthSys password rules, the MFA rules, and the password
//! test.

use actix_web::{HttpResponse, web};
use sae_core::password::{PasswordPolicy, PasswordPolicyInput};
use sae_core::rules::authsys::AuthsysRules;
use sae_core::rules::mfa::MfaRules;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::types::SecretString;
use crate::app::{AppState, blocking};
use crate::policies::doc;
use crate::store::{NewAudit, Ops as _};
use crate::{with_conn, write_tx};

async fn save(
    state: &web::Data<AppState>,
    caller: &Caller,
    name: &'static str,
    json: String,
) -> Result<(), ApiError> {
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            c.setting_put(name, &json, crate::now())?;
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: format!("config.{name}.update"),
                subject: None,
                source: None,
                outcome: "ok".into(),
                detail: Some(json.clone()),
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    state.policies.invalidate();
    Ok(())
}

async fn current(
    state: &web::Data<AppState>,
) -> Result<std::sync::Arc<crate::policies::Policies>, ApiError> {
    let st = state.clone();
    blocking(move || Ok(st.policies.get(&st.pool)?)).await
}

fn policy_error(e: &sae_core::password::PolicyError, prefix: &str) -> ApiError {
    ApiError::field(format!("{prefix}{}", e.field()), e.to_string())
}

/// Reads the global password rule.
#[utoipa::path(get, path = "/v1/policies/global", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_global(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    Ok(HttpResponse::Ok().json(&current(&state).await?.global))
}

/// Replaces the global password rule.
#[utoipa::path(put, path = "/v1/policies/global", tag = "policies", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_global(
    state: web::Data<AppState>,
    caller: Caller,
    Json(input): Json<PasswordPolicyInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let policy = PasswordPolicy::try_from(input).map_err(|e| policy_error(&e, ""))?;
    let json = serde_json::to_string(&policy).map_err(ApiError::internal)?;
    save(&state, &caller, doc::GLOBAL, json).await?;
    Ok(HttpResponse::Ok().json(&policy))
}

/// Reads the AuthSys rules.
#[utoipa::path(get, path = "/v1/policies/authsys", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_authsys(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    Ok(HttpResponse::Ok().json(&current(&state).await?.authsys))
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
#[utoipa::path(put, path = "/v1/policies/authsys", tag = "policies", request_body = AuthsysBody,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_authsys(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<AuthsysBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    // Validate each rule on its own first, so an error names rules[i].<field>.
    for (i, rule) in body.rules.iter().enumerate() {
        let mut object = rule
            .as_object()
            .cloned()
            .ok_or_else(|| ApiError::field(format!("rules[{i}]"), "must be an object"))?;
        match object.remove("authsys_id") {
            Some(serde_json::Value::String(_)) => {}
            _ => {
                return Err(ApiError::field(
                    format!("rules[{i}].authsys_id"),
                    "authsys_id: required, a string",
                ));
            }
        }
        let input: PasswordPolicyInput =
            super::extract::parse_json(&serde_json::to_vec(&object).map_err(ApiError::internal)?)
                .map_err(|e| match e {
                ApiError::BadRequest {
                    code,
                    field,
                    detail,
                } => ApiError::BadRequest {
                    code,
                    field: Some(format!("rules[{i}].{}", field.unwrap_or_default())),
                    detail,
                },
                other => other,
            })?;
        PasswordPolicy::try_from(input).map_err(|e| policy_error(&e, &format!("rules[{i}].")))?;
    }
    let whole = serde_json::json!({"enabled": body.enabled, "rules": body.rules});
    let rules: AuthsysRules<PasswordPolicy> =
        serde_json::from_value(whole).map_err(|e| ApiError::field("rules", e.to_string()))?;
    let json = serde_json::to_string(&rules).map_err(ApiError::internal)?;
    save(&state, &caller, doc::AUTHSYS, json).await?;
    Ok(HttpResponse::Ok().json(&rules))
}

/// Reads the MFA rules.
#[utoipa::path(get, path = "/v1/policies/mfa", tag = "policies", responses((status = 200, body = serde_json::Value)))]
pub async fn get_mfa(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    Ok(HttpResponse::Ok().json(&current(&state).await?.mfa))
}

/// Replaces the MFA "hash always present" rules.
#[utoipa::path(put, path = "/v1/policies/mfa", tag = "policies", request_body = serde_json::Value,
    responses((status = 200, body = serde_json::Value), (status = 400, body = super::error::Problem)))]
pub async fn put_mfa(
    state: web::Data<AppState>,
    caller: Caller,
    Json(rules): Json<MfaRules>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let json = serde_json::to_string(&rules).map_err(ApiError::internal)?;
    save(&state, &caller, doc::MFA, json).await?;
    Ok(HttpResponse::Ok().json(&rules))
}

/// `POST /v1/policies/password-test`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordTest {
    /// The sample to test.
    pub password: SecretString,
    /// Test against this user's effective rule (default: the global rule).
    pub login: Option<String>,
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
    /// Which rule was applied: `global` or `authsys:<id>`.
    pub rule: String,
}

/// Tests a sample password against the effective rule; lists every unmet requirement.
#[utoipa::path(post, path = "/v1/policies/password-test", tag = "policies", request_body = PasswordTest,
    responses((status = 200, body = PasswordTestResult), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn password_test(
    state: web::Data<AppState>,
    caller: Caller,
    Json(body): Json<PasswordTest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_admin()?;
    let policies = current(&state).await?;
    let names = match &body.login {
        None => Vec::new(),
        Some(login) => {
            super::types::check_login(login)?;
            let st = state.clone();
            let l = login.clone();
            let user = blocking(move || {
                let mut conn = st.pool.get()?;
                Ok(with_conn!(&mut conn, |c| c.user_by_login(&l))?)
            })
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            crate::flows::password::authsys_names(&user)
        }
    };
    let (policy, source) = policies.authsys.effective(&policies.global, &names);
    let unmet: Vec<UnmetView> = policy
        .test(body.password.expose())
        .into_iter()
        .map(|u| UnmetView {
            pattern: u.pattern.map(|p| p.to_string()),
            message: u.message.to_string(),
        })
        .collect();
    let rule = match serde_json::to_value(source).ok().and_then(|v| {
        v.get("authsys_id")
            .and_then(|s| s.as_str().map(str::to_owned))
    }) {
        Some(id) => format!("authsys:{id}"),
        None => "global".into(),
    };
    Ok(HttpResponse::Ok().json(PasswordTestResult {
        ok: unmet.is_empty(),
        unmet,
        rule,
    }))
}

/// Registers the policy routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/policies/global", web::get().to(get_global))
        .route("/v1/policies/global", web::put().to(put_global))
        .route("/v1/policies/authsys", web::get().to(get_authsys))
        .route("/v1/policies/authsys", web::put().to(put_authsys))
        .route("/v1/policies/mfa", web::get().to(get_mfa))
        .route("/v1/policies/mfa", web::put().to(put_mfa))
        .route("/v1/policies/password-test", web::post().to(password_test));
}
