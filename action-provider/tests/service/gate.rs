//! The gate in front of every credential check, driven by the clock (no sleeping).

use std::time::Duration;

use action_provider::service::decision::{Decision, Reason};
use action_provider::service::enrol::Enrol;
use action_provider::service::input::Login;
use action_provider::service::otp_validate::{self, ValidateInput};
use action_provider::service::{tokens, users};
use delivery::SecretString;
use sae_core::otp::{Algorithm, Digits, TimeStep, Totp};
use sae_core::secret::Secret;

use super::harness::{Database, Node, admin_caller, app_caller, clock, each_backend};

/// Creates `login` with a TOTP token; returns its secret.
pub async fn user_with_totp(node: &Node, login: &str) -> Secret {
    let admin = admin_caller();
    let body: users::CreateUser =
        serde_json::from_value(serde_json::json!({ "login": login })).unwrap();
    users::create(&node.state, &admin, body).await.unwrap();
    let enrol = Enrol {
        kind: "totp".into(),
        ..Enrol::default()
    };
    let enrolled = tokens::enrol(
        &node.state,
        &admin,
        Login::parse(login.to_owned()).unwrap(),
        enrol,
    )
    .await
    .unwrap();
    Secret::from_base32(enrolled.secret_base32.as_deref().unwrap()).unwrap()
}

/// A code that is not the right one at `now_s` (nor in the window around it).
pub fn wrong_code(secret: &Secret, now_s: u64) -> String {
    let totp = Totp::new(
        secret,
        Algorithm::Sha1,
        Digits::new(6).unwrap(),
        TimeStep::new(30).unwrap(),
        0,
    );
    let near: Vec<String> = [now_s - 30, now_s, now_s + 30]
        .iter()
        .map(|t| format!("{:06}", totp.generate(*t).unwrap()))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Validates `code` for `login` as an application.
pub async fn validate_code(node: &Node, login: &str, code: &str) -> Decision {
    let input = ValidateInput {
        login: login.to_owned(),
        code: SecretString::new(code.to_owned()),
        token_id: None,
        request_id: None,
    };
    otp_validate::validate(&node.state, &app_caller(), input)
        .await
        .unwrap()
}

/// The user's consecutive OTP failures.
pub async fn otp_failures_of(node: &Node, login: &str) -> i64 {
    let view = users::read(
        &node.state,
        &admin_caller(),
        Login::parse(login.to_owned()).unwrap(),
    )
    .await
    .unwrap();
    view["failures"]["otp"].as_i64().unwrap()
}

#[actix_web::test]
async fn throttling_answers_retry_after_without_counting_whatever_the_machine_speed() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        let secret = user_with_totp(&node, "eva").await;
        let wrong = wrong_code(&secret, clock.now_secs());
        // Default throttle: 5 free failures, then 1 s, 2 s, 4 s … of waiting.
        for i in 0..5 {
            let d = validate_code(&node, "eva", &wrong).await;
            assert_eq!(
                d.reason,
                Some(Reason::InvalidCode),
                "{backend:?} attempt {i}"
            );
        }
        let d = validate_code(&node, "eva", &wrong).await;
        assert_eq!(d.reason, Some(Reason::Throttled), "{backend:?}");
        assert_eq!(d.retry_after, Some(1), "{backend:?}");
        assert_eq!(
            otp_failures_of(&node, "eva").await,
            5,
            "{backend:?}: not counted"
        );
        clock.advance(Duration::from_millis(999));
        let d = validate_code(&node, "eva", &wrong).await;
        assert_eq!(
            d.reason,
            Some(Reason::Throttled),
            "{backend:?}: 999 ms is not 1 s"
        );
        clock.advance(Duration::from_millis(1));
        let d = validate_code(&node, "eva", &wrong).await;
        assert_eq!(
            d.reason,
            Some(Reason::InvalidCode),
            "{backend:?}: checked after 1 s"
        );
        assert_eq!(otp_failures_of(&node, "eva").await, 6, "{backend:?}");
        let d = validate_code(&node, "eva", &wrong).await;
        assert_eq!(
            (d.reason, d.retry_after),
            (Some(Reason::Throttled), Some(2)),
            "{backend:?}: the next delay doubles"
        );
    }
}
