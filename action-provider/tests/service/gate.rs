//! The gate in front of every credential check, driven by the clock (no sleeping).

use std::time::Duration;

use action_provider::service::decision::{Decision, Reason};
use action_provider::service::enrol::Enrol;
use action_provider::service::input::Login;
use action_provider::service::otp_validate::{self, ValidateInput};
use action_provider::service::{tokens, users};
use action_provider::store::locks::Unlocked;
use action_provider::store::users::User;
use action_provider::store::{StoreError, counter_to_db};
use delivery::SecretString;
use sae_core::lockout::Factor;
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
    .unwrap()
    .value();
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

/// Writes the one-statement success (`token_advance_as_read`) of `login`'s first token at
/// counter `counter`, checking the row against `seen`; returns whether it advanced.
async fn advance_as_read(
    node: &Node,
    user_id: i64,
    seen: Unlocked,
    token: &str,
    counter: u64,
) -> bool {
    let token = token.to_owned();
    let now = 1_700_000_000;
    node.state
        .store
        .write(move |c| {
            Ok::<_, StoreError>(c.token_advance_as_read(
                user_id,
                &seen,
                &token,
                counter_to_db(counter),
                now,
            )?)
        })
        .await
        .unwrap()
}

/// The user's row and its first token's id, read as a validation reads them.
async fn user_and_token(node: &Node, login: &'static str) -> (User, String) {
    node.state
        .store
        .read(move |c| {
            let (user, tokens) = c.user_with_tokens(login)?.unwrap();
            Ok::<_, StoreError>((user, tokens[0].id.clone()))
        })
        .await
        .unwrap()
}

/// A validation's common success is one statement that checks the user's row as it is at
/// the write, not as it was read before: a failure counted or a lock set in between makes
/// it write nothing (the full gated attempt then decides on the row as it is).
#[actix_web::test]
async fn the_one_statement_success_writes_nothing_when_the_row_changed_since_it_was_read() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        let secret = user_with_totp(&node, "ivo").await;
        let step = clock.now_secs() / 30;
        let (user, token) = user_and_token(&node, "ivo").await;
        let stale = Unlocked::of(&user).unwrap();
        // A failure is counted after the read...
        let wrong = wrong_code(&secret, clock.now_secs());
        let d = validate_code(&node, "ivo", &wrong).await;
        assert_eq!(d.reason, Some(Reason::InvalidCode), "{backend:?}");
        assert!(
            !advance_as_read(&node, user.id, stale, &token, step).await,
            "{backend:?}: counters changed since the read"
        );
        // ...or a lock is set after it.
        let (user, _) = user_and_token(&node, "ivo").await;
        let seen = Unlocked::of(&user).unwrap();
        let id = user.id;
        node.state
            .store
            .write(move |c| Ok::<_, StoreError>(c.user_set_lock(id, Factor::Otp, 1, None)?))
            .await
            .unwrap();
        assert!(
            !advance_as_read(&node, user.id, seen, &token, step).await,
            "{backend:?}: locked since the read"
        );
        let (locked, _) = user_and_token(&node, "ivo").await;
        assert_eq!(
            Unlocked::of(&locked),
            None,
            "{backend:?}: a locked row has no fast path"
        );
        // Unlocked and read again: the row is as read, and the token advances (so the code
        // of that step is then a replay).
        node.state
            .store
            .write(move |c| Ok::<_, StoreError>(c.user_unlock(id, 2)?))
            .await
            .unwrap();
        let (user, _) = user_and_token(&node, "ivo").await;
        let seen = Unlocked::of(&user).unwrap();
        assert!(
            advance_as_read(&node, user.id, seen, &token, step).await,
            "{backend:?}"
        );
        assert!(
            !advance_as_read(&node, user.id, seen, &token, step).await,
            "{backend:?}: the compare-and-set holds"
        );
        let totp = Totp::new(
            &secret,
            Algorithm::Sha1,
            Digits::new(6).unwrap(),
            TimeStep::new(30).unwrap(),
            0,
        );
        let code = format!("{:06}", totp.generate(clock.now_secs()).unwrap());
        let d = validate_code(&node, "ivo", &code).await;
        assert_eq!(d.reason, Some(Reason::Replayed), "{backend:?}");
    }
}
