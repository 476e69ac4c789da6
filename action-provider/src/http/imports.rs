//! Imports and exports: `POST /v1/tokens/import`, `POST /v1/users/import` (multipart, answered
//! 202 with a job id), `GET /v1/jobs/{id}` (progress and report), `GET /v1/users/export`.
//!
//! The upload is read part by part: the `file` part is handed to the service as it arrives
//! (which seals and stores it in chunks), so an upload up to `import_body_limit` (64 MiB by
//! default) never sits in memory; text fields are capped at 4 KiB.

use actix_multipart::{Field, Multipart};
use actix_web::{HttpRequest, HttpResponse, web};
use delivery::SecretString;
use futures_util::StreamExt as _;
use zeroize::Zeroizing;

use super::Answer;
use super::error::{ApiError, ErrorCode, Problem};
use super::extract::Query;
use super::page::{PageQuery, Paged};
use crate::service::AppState;
use crate::service::caller::Caller;
use crate::service::import::export::{self, ExportQuery};
use crate::service::import::upload::{ImportForm, Upload};
use crate::service::import::{self, JobCreated, JobKind, JobView, SkippedItem};

/// Longest text field of an import form.
const MAX_FIELD: usize = 4096;

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::MalformedBody,
        format!("the multipart body could not be read: {e}"),
    )
}

async fn text_field(field: &mut Field, name: &str) -> Result<String, ApiError> {
    let mut buf = Zeroizing::new(Vec::new());
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        if buf.len() + chunk.len() > MAX_FIELD {
            return Err(ApiError::field(name, "at most 4096 bytes"));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(std::mem::take(&mut *buf))
        .map_err(|_| ApiError::field(name, "not UTF-8 text"))
}

/// Reads every part: the file into the upload, the text fields into the form.
async fn read_parts(
    state: &AppState,
    upload: &mut Upload,
    parts: &mut Multipart,
) -> Result<ImportForm, ApiError> {
    let limit = state.config.import_body_limit;
    let mut form = ImportForm::default();
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(malformed)?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field
                .content_disposition()
                .and_then(|d| d.get_filename())
                .map(str::to_owned);
            upload.file_part(file_name)?;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                if upload.received() + chunk.len() as u64 > limit {
                    return Err(ApiError::payload_too_large(
                        usize::try_from(limit).unwrap_or(usize::MAX),
                    ));
                }
                upload.push(state, &chunk).await?;
            }
            continue;
        }
        let text = text_field(&mut field, &name).await?;
        match name.as_str() {
            "format" => form.format = Some(text),
            "psk" => form.psk = Some(SecretString::new(text)),
            "password" => form.password = Some(SecretString::new(text)),
            "dry_run" => form.dry_run = Some(text),
            "skip_bad" => form.skip_bad = Some(text),
            other => return Err(ApiError::field(other, "unknown form field")),
        }
    }
    Ok(form)
}

/// Receives an import of `kind` and queues its job.
async fn receive(
    state: &AppState,
    caller: &Caller,
    kind: JobKind,
    req: &HttpRequest,
    mut parts: Multipart,
) -> Result<JobCreated, ApiError> {
    let limit = state.config.import_body_limit;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The form's other fields and the part headers add a little to the file's size.
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(ApiError::payload_too_large(
            usize::try_from(limit).unwrap_or(usize::MAX),
        ));
    }
    let mut upload = Upload::start(state, caller, kind).await?;
    match read_parts(state, &mut upload, &mut parts).await {
        Ok(form) => Ok(upload.finish(state, form).await?),
        Err(e) => {
            upload.abort(state, "the upload did not complete").await;
            Err(e)
        }
    }
}

/// Imports tokens from a PSKC or CSV file, as a job (multipart/form-data: `file`, `format`
/// pskc|csv, `psk` (hex) or `password`, `dry_run`, `skip_bad`).
#[utoipa::path(post, path = "/v1/tokens/import", tag = "imports",
    request_body(content_type = "multipart/form-data", content = serde_json::Value),
    responses((status = 202, body = JobCreated), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn import_tokens(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    parts: Multipart,
) -> Answer {
    let created = receive(&state, &caller, JobKind::Tokens, &req, parts).await?;
    Ok(HttpResponse::Accepted().json(created))
}

/// Imports users from a CSV file, as a job (multipart/form-data: `file`, `dry_run`, `skip_bad`).
#[utoipa::path(post, path = "/v1/users/import", tag = "imports",
    request_body(content_type = "multipart/form-data", content = serde_json::Value),
    responses((status = 202, body = JobCreated), (status = 400, body = Problem), (status = 413, body = Problem)))]
pub async fn import_users(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    parts: Multipart,
) -> Answer {
    let created = receive(&state, &caller, JobKind::Users, &req, parts).await?;
    Ok(HttpResponse::Accepted().json(created))
}

/// An import job's state, progress and skipped items.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "imports", params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = JobView), (status = 404, body = Problem)))]
pub async fn job(state: web::Data<AppState>, caller: Caller, path: web::Path<String>) -> Answer {
    super::ok(&import::status(&state, &caller, path.into_inner()).await?)
}

/// Every skipped item of an import job, a page at a time.
#[utoipa::path(get, path = "/v1/jobs/{id}/skipped", tag = "imports",
    params(("id" = String, Path, description = "job id"), PageQuery),
    responses((status = 200, body = Paged<SkippedItem>), (status = 404, body = Problem)))]
pub async fn skipped(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    Query(page): Query<PageQuery>,
) -> Answer {
    super::paged(import::skipped(&state, &caller, path.into_inner(), page.request()?).await?)
}

/// Every user as CSV, in the users import layout (password hashes only with
/// `password_hash=true`, audited).
#[utoipa::path(get, path = "/v1/users/export", tag = "imports", params(ExportQuery),
    responses((status = 200, description = "the users as CSV", body = String,
        content_type = "text/csv; charset=utf-8"), (status = 400, body = Problem)))]
pub async fn export_users(
    state: web::Data<AppState>,
    caller: Caller,
    Query(q): Query<ExportQuery>,
) -> Answer {
    let export = export::start(&state, &caller, q).await?;
    let stream = futures_util::stream::unfold(Some((state, export)), |next| async move {
        let (state, mut export) = next?;
        match export.next_chunk(&state).await {
            Ok(Some(bytes)) => Some((Ok(web::Bytes::from(bytes)), Some((state, export)))),
            Ok(None) => None,
            Err(e) => Some((Err(actix_web::Error::from(ApiError::from(e))), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"users.csv\""))
        .streaming(stream))
}

/// Registers the import and export routes (before `/v1/users/{login}` and
/// `/v1/tokens/{serial}`, whose patterns their paths match).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/tokens/import", web::post().to(import_tokens))
        .route("/v1/users/import", web::post().to(import_users))
        .route("/v1/users/export", web::get().to(export_users));
}

/// Registers the routes of the jobs the imports start.
pub fn job_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/jobs/{id}", web::get().to(job))
        .route("/v1/jobs/{id}/skipped", web::get().to(skipped));
}
