//! The store's joined reads answer exactly what their separate queries answer.

use action_provider::service::enrol::Enrol;
use action_provider::service::input::Login;
use action_provider::service::tokens;
use action_provider::store::StoreError;

use super::gate::user_with_totp;
use super::harness::{Database, admin_caller, clock, each_backend};

/// `user_with_tokens` (one query: what a validation reads) is `user_by_login` then
/// `tokens_of`, for users with several tokens, one, none, a look-alike login and no user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_with_tokens_is_the_user_and_its_tokens_in_order() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        user_with_totp(&node, "ana").await;
        for kind in ["hotp", "totp"] {
            let enrol = Enrol {
                kind: kind.into(),
                ..Enrol::default()
            };
            tokens::enrol(
                &node.state,
                &admin_caller(),
                Login::parse("ana".to_owned()).unwrap(),
                enrol,
            )
            .await
            .unwrap();
        }
        user_with_totp(&node, "bea").await;
        let body = serde_json::from_value(serde_json::json!({ "login": "cid" })).unwrap();
        action_provider::service::users::create(&node.state, &admin_caller(), body)
            .await
            .unwrap();
        for login in ["ana", "ANA", "bea", "cid", "nobody"] {
            let (joined, separate) = node
                .state
                .store
                .read(move |c| {
                    let joined = c
                        .user_with_tokens(login)?
                        .map(|(u, ts)| (u.id, ts.into_iter().map(|t| t.id).collect::<Vec<_>>()));
                    let separate = match c.user_by_login(login)? {
                        None => None,
                        Some(u) => {
                            Some((u.id, c.tokens_of(u.id)?.into_iter().map(|t| t.id).collect()))
                        }
                    };
                    Ok::<_, StoreError>((joined, separate))
                })
                .await
                .unwrap();
            assert_eq!(joined, separate, "{backend:?} {login}");
            let expected_tokens = match login {
                "ana" | "ANA" => 3,
                "bea" => 1,
                _ => 0,
            };
            assert_eq!(
                joined.map_or(0, |(_, ts)| ts.len()),
                expected_tokens,
                "{backend:?} {login}"
            );
        }
    }
}
