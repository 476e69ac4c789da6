//! Running a job: one claimed from the database by the worker ([`run_claimed`]), or a local
//! file imported by the CLI ([`import_local`]).

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sae_core::import::pskc::KeyMaterial;
use sae_core::secret::Secret;

use super::engine::{self, End, Env, Run};
use super::source::{ChunkReader, Counted};
use super::tokens::TokenImporter;
use super::upload::{KEY_PASSWORD, KEY_PSK};
use super::users::UserImporter;
use super::{JobKind, Params, items};
use crate::service::AppState;
use crate::service::error::ServiceError;
use crate::service::policies::Policies;
use crate::store::jobs::{Job, Progress, key_context};

/// A job claimed this many times was interrupted every time: it fails instead.
pub const MAX_CLAIMS: i32 = 3;

/// The key material sealed in a job row.
fn key_of(state: &AppState, job: &Job) -> Result<KeyMaterial, ServiceError> {
    let Some(sealed) = &job.key_enc else {
        return Ok(KeyMaterial::None);
    };
    let raw = state.ring()?.open(&key_context(&job.id), sealed)?;
    let secret = |bytes: &[u8]| {
        Secret::from_bytes(bytes)
            .map_err(|e| ServiceError::corrupt(format!("jobs.key_enc of {}", job.id), e))
    };
    match raw.split_first() {
        Some((&KEY_PSK, rest)) => Ok(KeyMaterial::PreSharedKey(secret(rest)?)),
        Some((&KEY_PASSWORD, rest)) => Ok(KeyMaterial::Password(secret(rest)?)),
        _ => Err(ServiceError::corrupt(
            format!("jobs.key_enc of {}", job.id),
            "unknown kind",
        )),
    }
}

/// What to import and how.
struct Plan<'p> {
    kind: JobKind,
    params: &'p Params,
    key: KeyMaterial,
    policies: Arc<Policies>,
}

/// Runs the items of `input` as `job` (claimed by `run.owner`) to its end.
fn execute<'a, R: BufRead + 'a>(
    state: &AppState,
    plan: Plan<'_>,
    input: R,
    run: &Run,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<End, ServiceError> {
    let Plan {
        kind,
        params,
        key,
        policies,
    } = plan;
    let env = Env {
        store: state.store.clone(),
        clock: Arc::clone(&state.clock),
        lease_s: state.config.job_lease_s,
    };
    let bytes = Arc::new(AtomicU64::new(0));
    let input = Counted::new(input, Arc::clone(&bytes));
    let now = state.now();
    match kind {
        JobKind::Tokens => {
            let items = items::tokens(input, params.format, key, params.skip_bad);
            let mut importer = TokenImporter::new(Arc::clone(&state.keyring), now);
            engine::run(&env, run, &mut importer, items, &bytes, on_progress)
        }
        JobKind::Users => {
            let items = items::users(input);
            let mut importer = UserImporter::new(policies, now);
            engine::run(&env, run, &mut importer, items, &bytes, on_progress)
        }
    }
}

/// Fails a job and deletes what it wrote (a job that cannot run, or that was interrupted
/// too often).
fn give_up(state: &AppState, job: &Job, why: &str) -> Result<End, ServiceError> {
    let now = state.now().secs();
    state.store.write_blocking(|c| {
        c.tokens_rollback_job(&job.id)?;
        c.users_rollback_job(&job.id)?;
        c.job_finish(&job.id, job.owner.as_deref(), "failed", Some(why), now)?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(End::Failed(Progress::default(), why.to_owned()))
}

/// Runs a job the worker claimed, from its stored upload; blocking (run it off the async
/// workers). A job taken over after a crash resumes where its counters stand.
pub fn run_claimed(
    state: &AppState,
    policies: Arc<Policies>,
    job: Job,
) -> Result<End, ServiceError> {
    let (Some(kind), Some(owner), Ok(params)) = (
        JobKind::parse(&job.kind),
        job.owner.clone(),
        serde_json::from_str::<Params>(&job.params),
    ) else {
        return give_up(state, &job, "the job's kind or options are not readable");
    };
    if job.claims > MAX_CLAIMS {
        return give_up(
            state,
            &job,
            &format!("the import was interrupted {MAX_CLAIMS} times; nothing was stored"),
        );
    }
    let key = key_of(state, &job)?;
    let run = Run {
        id: job.id.clone(),
        owner,
        dry_run: params.dry_run,
        skip_bad: params.skip_bad,
        resume: Progress {
            done: job.done,
            imported: job.imported,
            skipped: job.skipped,
            bytes_done: 0,
            total: job.total,
        },
        actor: job.actor.clone(),
        client: job.client.clone(),
        audit: serde_json::json!({"origin": "api", "format": params.format, "file": params.file_name}),
    };
    let input = ChunkReader::new(
        state.store.clone(),
        Arc::clone(&state.keyring),
        job.id.clone(),
    );
    let plan = Plan {
        kind,
        params: &params,
        key,
        policies,
    };
    execute(state, plan, input, &run, &mut |_| {})
}

/// An import of a local file (the CLI).
#[derive(Debug)]
pub struct LocalImport {
    /// Tokens or users.
    pub kind: JobKind,
    /// Options.
    pub params: Params,
    /// PSK or password of a PSKC file.
    pub key: KeyMaterial,
    /// Audit actor.
    pub actor: String,
    /// Size of the file (progress).
    pub bytes_total: i64,
}

/// Imports a local file as a job of origin `cli` (so the report is kept like any job's, and a
/// crash leaves a job that the next sweep fails, deleting what it wrote). Blocking.
/// Returns the job id and how it ended.
pub fn import_local<R: BufRead>(
    state: &AppState,
    policies: Arc<Policies>,
    input: R,
    import: LocalImport,
    on_progress: &mut dyn FnMut(&Progress),
) -> Result<(String, End), ServiceError> {
    super::worker::sweep_abandoned_blocking(state)?;
    let now = state.now().secs();
    let owner = crate::service::enrol::new_id();
    let job = Job {
        params: serde_json::to_string(&import.params)
            .map_err(|e| ServiceError::internal("an import's options", e))?,
        bytes_total: import.bytes_total,
        owner: Some(owner.clone()),
        claims: 1,
        ..Job::new(
            crate::service::enrol::new_id(),
            import.kind.as_str(),
            "running",
            "cli",
            import.actor.clone(),
            now,
            now + state.config.job_lease_s,
        )
    };
    let id = job.id.clone();
    state
        .store
        .write_blocking(|c| Ok::<_, ServiceError>(c.job_insert(&job)?))?;
    let run = Run {
        id: id.clone(),
        owner,
        dry_run: import.params.dry_run,
        skip_bad: import.params.skip_bad,
        resume: Progress::default(),
        actor: import.actor,
        client: None,
        audit: serde_json::json!({"origin": "cli", "format": import.params.format, "file": import.params.file_name}),
    };
    let plan = Plan {
        kind: import.kind,
        params: &import.params,
        key: import.key,
        policies,
    };
    let end = execute(state, plan, input, &run, on_progress)?;
    Ok((id, end))
}
