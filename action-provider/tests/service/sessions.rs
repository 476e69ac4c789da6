//! Console sessions end after their idle time, on the server's clock.

use std::time::Duration;

use action_provider::service::ServiceError;
use action_provider::service::admin_login::{self, LoginInput, LoginOutcome};
use action_provider::service::admins;
use action_provider::service::auth::{self, PresentedSession};
use delivery::SecretString;
use sae_core::otp::{Algorithm, Digits, TimeStep, Totp};
use sae_core::secret::Secret;

use super::harness::{Database, Node, admin_caller, clock, each_backend};

const PASSWORD: &str = "correct horse battery";

/// Creates administrator `login` and logs in (enrolling its TOTP); returns the session token.
pub async fn logged_in(node: &Node, login: &str, now_s: u64) -> zeroize::Zeroizing<String> {
    let body: admins::CreateAdmin =
        serde_json::from_value(serde_json::json!({"login": login, "password": PASSWORD})).unwrap();
    admins::create(&node.state, &admin_caller(), body)
        .await
        .unwrap();
    let input = |otp: Option<String>| LoginInput {
        login: login.to_owned(),
        password: SecretString::new(PASSWORD.to_owned()),
        otp: otp.map(SecretString::new),
    };
    let LoginOutcome::Enrol(e) = admin_login::login(&node.state, None, input(None))
        .await
        .unwrap()
    else {
        panic!("the first login enrols a TOTP");
    };
    let secret = Secret::from_base32(&e.secret_base32).unwrap();
    let totp = Totp::new(
        &secret,
        Algorithm::Sha1,
        Digits::new(6).unwrap(),
        TimeStep::new(30).unwrap(),
        0,
    );
    let code = format!("{:06}", totp.generate(now_s).unwrap());
    match admin_login::login(&node.state, None, input(Some(code)))
        .await
        .unwrap()
    {
        LoginOutcome::Session { token, .. } => token,
        other => panic!("no session: {other:?}"),
    }
}

fn presented(token: &str) -> PresentedSession {
    PresentedSession {
        token: zeroize::Zeroizing::new(token.to_owned()),
        unsafe_method: false,
        csrf: None,
    }
}

#[actix_web::test]
async fn idle_sessions_end_and_active_ones_last() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        let token = logged_in(&node, "ana", clock.now_secs()).await;
        let idle = u64::from(node.state.config.session_idle_s);
        // Active: a request every idle/2 keeps the session, well past the idle time.
        for _ in 0..4 {
            clock.advance(Duration::from_secs(idle / 2));
            auth::session(&node.state, presented(&token), None)
                .await
                .unwrap_or_else(|e| panic!("{backend:?}: active session ended: {e}"));
        }
        clock.advance(Duration::from_secs(idle + 1));
        let e = auth::session(&node.state, presented(&token), None).await;
        assert!(
            matches!(e, Err(ServiceError::Unauthenticated)),
            "{backend:?}: idle session still accepted"
        );
    }
}
