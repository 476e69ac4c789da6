//! Imports as jobs (SPEC §5.1): `POST /v1/tokens/import` and `POST /v1/users/import` store
//! the uploaded file (sealed, in 1 MiB chunks, as it arrives) and answer a job id; a worker
//! on any node claims the job with a lease and runs it ([`engine`]); `GET /v1/jobs/{id}`
//! reports its progress and the skipped items. `sae tokens import` / `sae users import` run
//! the same engine on a local file.
//!
//! Secrets: the file's secrets are sealed per token as they are read; the PSK or password
//! is sealed in the job row while the job needs it (so a job survives a restart) and
//! dropped, with the file, when the job ends.

pub mod engine;
pub mod export;
pub mod items;
mod run;
pub mod source;
pub mod tokens;
pub mod upload;
pub mod users;
pub mod worker;

use serde::Serialize;
use utoipa::ToSchema;

pub use run::{LocalImport, import_local, run_claimed};

use super::AppState;
use super::caller::Caller;
use super::error::ServiceError;
use super::page::{Page, PageRequest};
use crate::clock::UnixTime;
use crate::store::jobs::{Job, Skip as SkipRow};

/// Skipped items listed in a job's answer; the rest are paged by `/v1/jobs/{id}/skipped`.
pub const SKIPPED_SHOWN: i64 = 1000;

/// What a job imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Tokens from a PSKC or CSV file.
    Tokens,
    /// Users from a CSV file.
    Users,
}

impl JobKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tokens => "tokens_import",
            Self::Users => "users_import",
        }
    }

    /// From the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "tokens_import" => Some(Self::Tokens),
            "users_import" => Some(Self::Users),
            _ => None,
        }
    }
}

/// The job's options as stored (never a secret).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Params {
    /// `pskc` or `csv`; `None`: recognised from the file.
    pub format: Option<items::Format>,
    /// Store nothing, report everything.
    pub dry_run: bool,
    /// Import the good items of a file with bad ones.
    pub skip_bad: bool,
    /// The uploaded file's name, as the client gave it.
    pub file_name: Option<String>,
}

/// `202` answer of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobCreated {
    /// Poll `GET /v1/jobs/{job_id}`.
    pub job_id: String,
}

/// A skipped item of an import.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedItem {
    /// Package number (PSKC) or spreadsheet row (CSV, the header is row 1).
    pub position: i64,
    /// Serial or login, when the file named the item.
    pub item: Option<String>,
    /// Stable reason code (`bad_mac`, `duplicate_serial`, `unknown_user`, …).
    pub reason: String,
    /// The reason in words.
    pub detail: String,
}

impl From<SkipRow> for SkippedItem {
    fn from(s: SkipRow) -> Self {
        Self {
            position: s.position,
            item: s.item,
            reason: s.reason,
            detail: s.detail,
        }
    }
}

/// `GET /v1/jobs/{id}`
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    /// Job id.
    pub id: String,
    /// `tokens_import` or `users_import`.
    pub kind: String,
    /// `receiving` (upload under way), `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Whether nothing is stored.
    pub dry_run: bool,
    /// Whether good items of a file with bad ones are imported.
    pub skip_bad: bool,
    /// Items in the file: known once the whole file is read.
    pub total: Option<i64>,
    /// Items processed.
    pub done: i64,
    /// Items imported (in a dry run: that would be).
    pub imported: i64,
    /// How many items were skipped.
    pub skipped_count: i64,
    /// Skipped items, in file order (the first 1000; `/v1/jobs/{id}/skipped` pages them all).
    pub skipped: Vec<SkippedItem>,
    /// Size of the file, bytes.
    pub bytes_total: i64,
    /// Bytes read so far (progress before `total` is known).
    pub bytes_done: i64,
    /// Why the job failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// End time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// The answer for a job and its first skipped items.
pub fn view(job: Job, skipped: Vec<SkipRow>) -> JobView {
    let params: Params = serde_json::from_str(&job.params).unwrap_or_default();
    let time = |t: i64| UnixTime::from_secs(t).rfc3339();
    JobView {
        id: job.id,
        kind: job.kind,
        state: job.state,
        dry_run: params.dry_run,
        skip_bad: params.skip_bad,
        total: job.total,
        done: job.done,
        imported: job.imported,
        skipped_count: job.skipped,
        skipped: skipped.into_iter().map(SkippedItem::from).collect(),
        bytes_total: job.bytes_total,
        bytes_done: job.bytes_done,
        error: job.error,
        created_at: time(job.created_at),
        finished_at: job.finished_at.map(time),
    }
}

fn no_job(id: &str) -> ServiceError {
    ServiceError::not_found(format!("no job {id:?}"))
}

/// A job's state and report. Imports are for System Administrators, and so are their jobs.
pub async fn status(
    state: &AppState,
    caller: &Caller,
    id: String,
) -> Result<JobView, ServiceError> {
    caller.require_admin()?;
    let (job, skipped) = state
        .store
        .read(move |c| {
            let job = c.job_get(&id)?.ok_or_else(|| no_job(&id))?;
            let skipped = c.job_skips(&id, 0, SKIPPED_SHOWN)?;
            Ok::<_, ServiceError>((job, skipped))
        })
        .await?;
    Ok(view(job, skipped))
}

/// A page of a job's skipped items.
pub async fn skipped(
    state: &AppState,
    caller: &Caller,
    id: String,
    page: PageRequest,
) -> Result<Page<SkippedItem>, ServiceError> {
    caller.require_admin()?;
    let rows = state
        .store
        .read(move |c| {
            c.job_get(&id)?.ok_or_else(|| no_job(&id))?;
            Ok::<_, ServiceError>(c.job_skips(&id, page.cursor, page.fetch())?)
        })
        .await?;
    Ok(Page::cut(rows, page, |s| s.id).map(SkippedItem::from))
}
