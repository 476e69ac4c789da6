//! Import uploads and their lease, with a manual clock: an upload that keeps sending stays
//! alive across sweeps; one that stalls past `job_lease_s` is given up by the sweep, and the
//! client is told so (never a 202 for a job that already failed).

use std::time::Duration;

use action_provider::service::ServiceError;
use action_provider::service::import::upload::{ImportForm, Upload};
use action_provider::service::import::{self, JobKind, worker};

use super::harness::{Database, admin_caller, clock, each_backend};

const ROW: &[u8] = b"UP1,totp,3132333435363738393031323334353637383930\n";

fn header() -> &'static [u8] {
    b"serial,type,secret_hex\n"
}

#[actix_web::test]
async fn a_slow_upload_stays_alive_and_a_stalled_one_is_given_up() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let time = clock();
        let node = db.node(&time);
        let lease = u64::try_from(node.state.config.job_lease_s).unwrap();
        // Slow but steady: a piece every lease/2 seconds, sweeps in between.
        let mut up = Upload::start(&node.state, &admin_caller(), JobKind::Tokens)
            .await
            .unwrap();
        up.file_part(Some("slow.csv".into())).unwrap();
        up.push(&node.state, header()).await.unwrap();
        for _ in 0..4 {
            time.advance(Duration::from_secs(lease / 2));
            worker::sweep_abandoned(&node.state).await.unwrap();
            up.push(&node.state, b"").await.unwrap();
        }
        up.push(&node.state, ROW).await.unwrap();
        let created = up.finish(&node.state, ImportForm::default()).await;
        let id = created.expect("a live upload is queued").job_id;
        assert!(worker::run_one(&node.state).await.unwrap());
        let job = import::status(&node.state, &admin_caller(), id)
            .await
            .unwrap();
        assert_eq!(
            (job.state.as_str(), job.imported),
            ("done", 1),
            "{backend:?}"
        );

        // Stalled: nothing for longer than the lease; a sweep gives it up.
        let mut up = Upload::start(&node.state, &admin_caller(), JobKind::Tokens)
            .await
            .unwrap();
        up.file_part(Some("stalled.csv".into())).unwrap();
        up.push(&node.state, header()).await.unwrap();
        time.advance(Duration::from_secs(lease + 1));
        worker::sweep_abandoned(&node.state).await.unwrap();
        let err = up.push(&node.state, ROW).await.unwrap_err();
        assert!(
            matches!(&err, ServiceError::Invalid(list) if list.first().field == "file"),
            "{backend:?}: {err:?}"
        );
        // Even a client that sends nothing more cannot queue the given-up job.
        let mut up = Upload::start(&node.state, &admin_caller(), JobKind::Tokens)
            .await
            .unwrap();
        up.file_part(None).unwrap();
        up.push(&node.state, header()).await.unwrap();
        time.advance(Duration::from_secs(lease + 1));
        worker::sweep_abandoned(&node.state).await.unwrap();
        let err = up
            .finish(&node.state, ImportForm::default())
            .await
            .unwrap_err();
        assert!(format!("{err:?}").contains("given up"), "{err:?}");
        assert!(
            !worker::run_one(&node.state).await.unwrap(),
            "nothing to run"
        );
    }
}
