//! `/v1/users/{login}/tokens`: enrol TOTP/HOTP/OPIE tokens, list them (never the secret),
//! read an OPIE challenge, delete a token.

use actix_web::{HttpResponse, web};
use rand::Rng as _;
use sae_core::acl::{Access, UserField};
use sae_core::otp::opie::{self, Count, OpieState, Seed};
use sae_core::otp::uri::{OtpAuthUri, OtpKind};
use sae_core::otp::{Algorithm, Digits, TimeStep};
use sae_core::secret::Secret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Caller, Json};
use super::types::check_login;
use crate::app::{AppState, blocking};
use crate::store::models::token::Token;
use crate::store::{NewAudit, Ops as _};
use crate::timefmt::rfc3339;
use crate::{with_conn, write_tx};

/// Issuer shown by authenticator apps.
const ISSUER: &str = "SAE";
/// Default OPIE sequence count for paper lists.
const DEFAULT_OPIE_COUNT: u64 = 500;
/// Default number of printed OPIE passwords.
const DEFAULT_LIST_SIZE: u64 = 50;

/// `POST /v1/users/{login}/tokens`
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// TOTP/HOTP: `sha1` (default), `sha256`, `sha512`; OPIE: `md4`, `md5` (default), `sha1`.
    pub algorithm: Option<String>,
    /// TOTP/HOTP code length, 6..=10 (default 6).
    pub digits: Option<u8>,
    /// TOTP time step in seconds (default 30).
    pub period: Option<u64>,
    /// Device this token belongs to.
    pub device: Option<String>,
    /// OPIE seed (1..=16 letters/digits); random for paper enrolment when absent.
    pub seed: Option<String>,
    /// OPIE sequence count N.
    pub count: Option<u64>,
    /// OPIE client-initialised enrolment: the OTP for N computed by the client (hex or words).
    pub otp: Option<String>,
    /// OPIE paper enrolment: how many one-time passwords to print (default 50).
    pub list_size: Option<u64>,
}

/// One printed OPIE password.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListItem {
    /// Sequence number to answer.
    pub sequence: u32,
    /// The OTP as six words.
    pub words: String,
    /// The OTP as 16 hex digits.
    pub hex: String,
}

/// The answer to an enrolment: secrets appear here once and never again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enrolled {
    /// Token id.
    pub id: String,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// otpauth:// URI for authenticator apps (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// The secret in base32 (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_base32: Option<String>,
    /// QR code of the URI, as SVG (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
    /// OPIE seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    /// OPIE sequence count of the stored OTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// OPIE paper list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<ListItem>>,
}

/// A token as listed (no secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Token id.
    pub id: String,
    /// `totp`, `hotp` or `opie`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hash algorithm.
    pub algorithm: String,
    /// Code length (TOTP/HOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digits: Option<i32>,
    /// Time step (TOTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    /// Device.
    pub device: Option<String>,
    /// OPIE: remaining count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// Whether the token is used for validation.
    pub active: bool,
    /// Creation time.
    pub created_at: String,
    /// Last successful use.
    pub last_used_at: Option<String>,
}

/// A page of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// The tokens.
    pub items: Vec<TokenView>,
    /// Always absent: a user's tokens fit in one page.
    pub next_cursor: Option<String>,
}

fn view(t: Token) -> TokenView {
    let opie = t.kind == "opie";
    TokenView {
        digits: (!opie).then_some(t.digits),
        period: (t.kind == "totp").then_some(t.period),
        count: if opie { t.opie_count } else { None },
        id: t.id,
        kind: t.kind,
        algorithm: t.algorithm,
        device: t.device,
        active: t.active,
        created_at: rfc3339(t.created_at),
        last_used_at: t.last_used_at.map(rfc3339),
    }
}

/// A fresh random token id.
fn new_id() -> String {
    let mut raw = [0u8; 16];
    crate::crypto::os_rng().fill_bytes(&mut raw);
    data_encoding::HEXLOWER.encode(&raw)
}

fn base_token(id: &str, kind: &str, algorithm: String, device: Option<String>, now: i64) -> Token {
    Token {
        id: id.to_owned(),
        user_id: 0,
        device,
        kind: kind.to_owned(),
        algorithm,
        digits: 0,
        period: 0,
        t0: 0,
        secret_enc: None,
        last_counter: None,
        opie_seed: None,
        opie_count: None,
        opie_last: None,
        active: true,
        created_at: now,
        last_used_at: None,
    }
}

/// Builds the token row and the one-time answer, without touching the store.
pub(crate) fn prepare(
    state: &AppState,
    login: &str,
    body: Enrol,
    now: i64,
) -> Result<(Token, Enrolled), ApiError> {
    let id = new_id();
    let device = body
        .device
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    if device.as_ref().is_some_and(|d| d.chars().count() > 128) {
        return Err(ApiError::field("device", "must be at most 128 characters"));
    }
    match body.kind.as_str() {
        "totp" | "hotp" => {
            for (set, name) in [
                (body.seed.is_some(), "seed"),
                (body.count.is_some(), "count"),
                (body.otp.is_some(), "otp"),
                (body.list_size.is_some(), "list_size"),
            ] {
                if set {
                    return Err(ApiError::field(
                        name,
                        format!("{name}: only for OPIE tokens"),
                    ));
                }
            }
            let algorithm = match &body.algorithm {
                Some(a) => a
                    .parse::<Algorithm>()
                    .map_err(|e| ApiError::field("algorithm", e.to_string()))?,
                None => Algorithm::Sha1,
            };
            let digits = Digits::new(body.digits.unwrap_or(6))
                .map_err(|e| ApiError::field("digits", e.to_string()))?;
            let totp = body.kind == "totp";
            if !totp && body.period.is_some() {
                return Err(ApiError::field("period", "period: only for TOTP tokens"));
            }
            let period = body.period.unwrap_or(30);
            if !(1..=3600).contains(&period) {
                return Err(ApiError::field(
                    "period",
                    "period: must be between 1 and 3600 seconds",
                ));
            }
            let step =
                TimeStep::new(period).map_err(|e| ApiError::field("period", e.to_string()))?;
            let secret = Secret::generate(&mut crate::crypto::os_rng(), algorithm)
                .map_err(ApiError::internal)?;
            let sealed = state
                .keyring
                .read()
                .map_err(ApiError::internal)?
                .seal(&format!("token:{id}"), secret.expose_bytes());
            let secret_base32 = secret.to_base32().to_string();
            let kind = if totp {
                OtpKind::Totp { period: step }
            } else {
                OtpKind::Hotp { counter: 0 }
            };
            let account = login.replace(':', "_");
            let uri = OtpAuthUri::new(kind, secret, Some(ISSUER), account.trim())
                .map_err(|e| {
                    ApiError::field(
                        "login",
                        format!("login cannot label an authenticator entry: {e}"),
                    )
                })?
                .with_algorithm(algorithm)
                .with_digits(digits);
            let qr = sae_core::otp::qr::qr_svg(&uri).map_err(ApiError::internal)?;
            let mut token = base_token(&id, &body.kind, algorithm.to_string(), device, now);
            token.digits = i32::from(digits.get());
            token.period = i32::try_from(period).unwrap_or(30);
            token.secret_enc = Some(sealed);
            let answer = Enrolled {
                id,
                kind: body.kind,
                otpauth_uri: Some(uri.to_uri().to_string()),
                secret_base32: Some(secret_base32),
                qr_svg: Some(qr.to_string()),
                seed: None,
                count: None,
                list: None,
            };
            Ok((token, answer))
        }
        "opie" => {
            for (set, name) in [
                (body.digits.is_some(), "digits"),
                (body.period.is_some(), "period"),
            ] {
                if set {
                    return Err(ApiError::field(
                        name,
                        format!("{name}: not used by OPIE tokens"),
                    ));
                }
            }
            let algorithm: opie::Algorithm = match &body.algorithm {
                Some(a) => a
                    .parse()
                    .map_err(|e: opie::OpieError| ApiError::field("algorithm", e.to_string()))?,
                None => opie::Algorithm::Md5,
            };
            let seed = match &body.seed {
                Some(s) => Some(Seed::new(s).map_err(|e| ApiError::field("seed", e.to_string()))?),
                None => None,
            };
            let opie_err = |field: &'static str| {
                move |e: opie::OpieError| ApiError::field(field, e.to_string())
            };
            let (state_after, list) = match &body.otp {
                Some(otp) => {
                    if body.list_size.is_some() {
                        return Err(ApiError::field(
                            "list_size",
                            "list_size: only for paper enrolment (without otp)",
                        ));
                    }
                    let seed = seed.ok_or_else(|| {
                        ApiError::field(
                            "seed",
                            "seed: required with otp (client-initialised enrolment)",
                        )
                    })?;
                    let count = Count::new(
                        body.count
                            .ok_or_else(|| ApiError::field("count", "count: required with otp"))?,
                    )
                    .map_err(opie_err("count"))?;
                    let otp = opie::Otp::parse(otp)
                        .map_err(|e| ApiError::field("otp", format!("otp: {e}")))?;
                    (
                        OpieState::enrol_client(algorithm, seed, count, otp)
                            .map_err(opie_err("count"))?,
                        None,
                    )
                }
                None => {
                    let count = Count::new(body.count.unwrap_or(DEFAULT_OPIE_COUNT))
                        .map_err(opie_err("count"))?;
                    let size = body
                        .list_size
                        .unwrap_or(DEFAULT_LIST_SIZE.min(u64::from(count.get())));
                    let paper = OpieState::enrol_paper(
                        &mut crate::crypto::os_rng(),
                        algorithm,
                        seed,
                        count,
                        size,
                    )
                    .map_err(opie_err("list_size"))?;
                    let (state_after, entries) = paper.into_parts();
                    let list = entries
                        .iter()
                        .map(|e| ListItem {
                            sequence: e.sequence(),
                            words: e.otp().to_words(),
                            hex: e.otp().to_hex(),
                        })
                        .collect();
                    (state_after, Some(list))
                }
            };
            let mut token = base_token(&id, "opie", algorithm.to_string(), device, now);
            token.opie_seed = Some(state_after.seed().as_str().to_owned());
            token.opie_count = Some(i32::try_from(state_after.count().get()).unwrap_or(0));
            token.opie_last = Some(state_after.last_otp().to_hex());
            let answer = Enrolled {
                id,
                kind: "opie".into(),
                otpauth_uri: None,
                secret_base32: None,
                qr_svg: None,
                seed: Some(state_after.seed().as_str().to_owned()),
                count: Some(state_after.count().get()),
                list,
            };
            Ok((token, answer))
        }
        other => Err(ApiError::field(
            "type",
            format!("type: {other:?} is not totp, hotp or opie"),
        )),
    }
}

/// The otpauth URI, secret and QR of a stored TOTP/HOTP token: used to provision a device
/// that shares the principal token (necessarily showing its secret again; audited).
pub(crate) fn provisioning(state: &AppState, login: &str, t: &Token) -> Result<Enrolled, ApiError> {
    let sealed = t.secret_enc.as_deref().ok_or(ApiError::Internal)?;
    let bytes = state
        .keyring
        .read()
        .map_err(ApiError::internal)?
        .open(&format!("token:{}", t.id), sealed)
        .map_err(ApiError::internal)?;
    let secret = Secret::from_bytes(&bytes).map_err(ApiError::internal)?;
    let algorithm = t
        .algorithm
        .parse::<Algorithm>()
        .map_err(ApiError::internal)?;
    let digits = Digits::new(u8::try_from(t.digits).unwrap_or(6)).map_err(ApiError::internal)?;
    let kind = if t.kind == "totp" {
        OtpKind::Totp {
            period: TimeStep::new(u64::try_from(t.period).unwrap_or(30))
                .map_err(ApiError::internal)?,
        }
    } else {
        OtpKind::Hotp {
            counter: t
                .last_counter
                .map_or(0, |c| crate::store::counter_from_db(c).saturating_add(1)),
        }
    };
    let secret_base32 = secret.to_base32().to_string();
    let account = login.replace(':', "_");
    let uri = OtpAuthUri::new(kind, secret, Some(ISSUER), account.trim())
        .map_err(ApiError::internal)?
        .with_algorithm(algorithm)
        .with_digits(digits);
    let qr = sae_core::otp::qr::qr_svg(&uri).map_err(ApiError::internal)?;
    Ok(Enrolled {
        id: t.id.clone(),
        kind: t.kind.clone(),
        otpauth_uri: Some(uri.to_uri().to_string()),
        secret_base32: Some(secret_base32),
        qr_svg: Some(qr.to_string()),
        seed: None,
        count: None,
        list: None,
    })
}

/// Enrols a token. The secret (TOTP/HOTP) or the printed list (OPIE paper) is in this
/// answer only.
#[utoipa::path(post, path = "/v1/users/{login}/tokens", tag = "tokens", params(("login" = String, Path, description = "the user's login")),
    request_body = Enrol,
    responses((status = 201, body = Enrolled), (status = 400, body = super::error::Problem), (status = 404, body = super::error::Problem)))]
pub async fn enrol(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
    Json(body): Json<Enrol>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let login = login.into_inner();
    check_login(&login)?;
    let now = crate::now();
    let st = state.clone();
    let actor = caller.actor();
    let answer = blocking(move || {
        let (mut token, answer) = prepare(&st, &login, body, now)?;
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            token.user_id = user.id;
            c.token_insert(&token)?;
            c.audit_insert(&NewAudit {
                at: now,
                actor: actor.clone(),
                action: "token.enrol".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: Some(format!(
                    "{{\"token\":\"{}\",\"type\":\"{}\"}}",
                    token.id, token.kind
                )),
            })?;
            Ok::<_, ApiError>(())
        })?;
        Ok(answer)
    })
    .await?;
    Ok(HttpResponse::Created().json(answer))
}

/// Lists a user's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/users/{login}/tokens", tag = "tokens", params(("login" = String, Path, description = "the user's login")),
    responses((status = 200, body = TokenList), (status = 404, body = super::error::Problem)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.require(UserField::Tokens, Access::View)?;
    let login = login.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let items = blocking(move || {
        let mut conn = st.pool.get()?;
        with_conn!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            Ok::<_, ApiError>(
                c.tokens_of(user.id)?
                    .into_iter()
                    .map(view)
                    .collect::<Vec<_>>(),
            )
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokenList {
        items,
        next_cursor: None,
    }))
}

/// The challenge an OPIE client answers, e.g. `otp-md5 498 ke1234`.
#[utoipa::path(get, path = "/v1/users/{login}/tokens/{id}/challenge", tag = "tokens",
    params(("login" = String, Path, description = "the user's login"), ("id" = String, Path, description = "token id")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
pub async fn challenge(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let _ = caller;
    let (login, id) = path.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let text = blocking(move || {
        let mut conn = st.pool.get()?;
        let token = with_conn!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            c.token_of(user.id, &id)?
                .ok_or_else(|| ApiError::not_found(format!("no token {id:?}")))
        })?;
        let state = crate::flows::otp::opie_state(&token).ok_or_else(|| ApiError::Conflict {
            code: "not_opie",
            field: None,
            detail: "this token is not an OPIE token".into(),
        })?;
        state
            .challenge()
            .map(|c| c.to_string())
            .map_err(|_| ApiError::Conflict {
                code: "exhausted",
                field: None,
                detail: "this OPIE token is exhausted (count 0): enrol a new one".into(),
            })
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "challenge": text })))
}

/// Deletes a token.
#[utoipa::path(delete, path = "/v1/users/{login}/tokens/{id}", tag = "tokens",
    params(("login" = String, Path, description = "the user's login"), ("id" = String, Path, description = "token id")),
    responses((status = 204, description = "deleted"), (status = 404, body = super::error::Problem)))]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.acl()?.check_update([UserField::Tokens])?;
    let (login, id) = path.into_inner();
    check_login(&login)?;
    let st = state.clone();
    let actor = caller.actor();
    blocking(move || {
        let mut conn = st.pool.get()?;
        write_tx!(&mut conn, |c| {
            let user = c
                .user_by_login(&login)?
                .ok_or_else(|| ApiError::not_found(format!("no user {login:?}")))?;
            if !c.token_delete(user.id, &id)? {
                return Err(ApiError::not_found(format!("no token {id:?}")));
            }
            c.audit_insert(&NewAudit {
                at: crate::now(),
                actor: actor.clone(),
                action: "token.delete".into(),
                subject: Some(login.clone()),
                source: None,
                outcome: "ok".into(),
                detail: None,
            })?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the token routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/users/{login}/tokens", web::post().to(enrol))
        .route("/v1/users/{login}/tokens", web::get().to(list))
        .route(
            "/v1/users/{login}/tokens/{id}/challenge",
            web::get().to(challenge),
        )
        .route("/v1/users/{login}/tokens/{id}", web::delete().to(delete));
}
