//! The job worker of a serving node: claims one runnable job at a time (queued, or running
//! under an expired lease — a crashed node's — which it resumes), runs it on the blocking
//! pool, and fails the jobs that cannot be resumed (an upload cut short, a CLI import whose
//! process died), deleting what they wrote.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::engine::End;
use crate::service::AppState;
use crate::service::error::ServiceError;

/// How long an idle worker waits before looking for jobs again (an upload finished on
/// this node wakes it at once).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Runs the worker until the process ends.
pub async fn run(state: Arc<AppState>, wake: Arc<Notify>) {
    loop {
        if let Err(e) = sweep_abandoned(&state).await {
            tracing::warn!(error = %e, "import jobs: sweep failed");
        }
        let ran = match run_one(&state).await {
            Ok(ran) => ran,
            Err(e) => {
                tracing::warn!(error = %e, "import job failed to run");
                false
            }
        };
        if !ran {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(IDLE_POLL) => {}
            }
        }
    }
}

/// Claims and runs one job; `false` when there was none.
pub async fn run_one(state: &Arc<AppState>) -> Result<bool, ServiceError> {
    let now = state.now().secs();
    let owner = crate::service::enrol::new_id();
    let lease = now + state.config.job_lease_s;
    let claimed = state
        .store
        .write(move |c| Ok::<_, ServiceError>(c.job_claim(now, &owner, lease)?))
        .await?;
    let Some(job) = claimed else {
        return Ok(false);
    };
    let policies = state.policies().await?;
    let id = job.id.clone();
    tracing::info!(job = %id, kind = %job.kind, resumed = job.done > 0, "import job started");
    let worker = Arc::clone(state);
    let end = tokio::task::spawn_blocking(move || super::run_claimed(&worker, policies, job))
        .await
        .map_err(|e| ServiceError::internal("an import job", e))??;
    match end {
        End::Done(p) => {
            tracing::info!(job = %id, imported = p.imported, skipped = p.skipped, "import job done")
        }
        End::Failed(_, why) => tracing::info!(job = %id, error = %why, "import job failed"),
        End::LostLease => tracing::warn!(job = %id, "import job taken over by another node"),
    }
    Ok(true)
}

/// Fails every job whose lease expired and that cannot be resumed, deleting its rows.
pub async fn sweep_abandoned(state: &Arc<AppState>) -> Result<(), ServiceError> {
    let worker = Arc::clone(state);
    tokio::task::spawn_blocking(move || sweep_abandoned_blocking(&worker))
        .await
        .map_err(|e| ServiceError::internal("an import sweep", e))?
}

/// [`sweep_abandoned`] on the calling thread.
pub fn sweep_abandoned_blocking(state: &AppState) -> Result<(), ServiceError> {
    let now = state.now().secs();
    let jobs = state
        .store
        .read_blocking(|c| Ok::<_, ServiceError>(c.jobs_abandoned(now)?))?;
    for job in jobs {
        let why = if job.state == "receiving" {
            "the upload did not complete"
        } else {
            "the importing process stopped before the end; nothing was stored"
        };
        state.store.write_blocking(|c| {
            if c.job_abandon(&job.id, now, why)? {
                c.tokens_rollback_job(&job.id)?;
                c.users_rollback_job(&job.id)?;
                tracing::warn!(job = %job.id, "import job abandoned: {why}");
            }
            Ok::<_, ServiceError>(())
        })?;
    }
    Ok(())
}
