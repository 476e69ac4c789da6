//! The store's joined reads answer exactly what their separate queries answer.

use action_provider::service::enrol::Enrol;
use action_provider::service::input::Login;
use action_provider::service::tokens;
use action_provider::store::StoreError;
use diesel::{Connection as _, RunQueryDsl as _};

use super::gate::user_with_totp;
use super::harness::{Database, admin_caller, clock, each_backend};
use crate::support::Backend;

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
        let logins = ["ana", "ANA", "bea", "cid", "nobody"];
        // The validation's read through the store, all at once and each login twice (on
        // PostgreSQL the lookups share statements: the group read), answers what the
        // connection's own read answers.
        let shared = futures_util::future::join_all(
            logins
                .iter()
                .chain(&logins)
                .map(|login| node.state.store.user_with_tokens((*login).to_owned())),
        )
        .await;
        for (login, found) in logins.iter().chain(&logins).zip(shared) {
            let found = found.unwrap().map(|(u, ts)| {
                (
                    u.id,
                    u.login,
                    ts.into_iter().map(|t| t.id).collect::<Vec<_>>(),
                )
            });
            let login = (*login).to_owned();
            let alone = node
                .state
                .store
                .read(move |c| {
                    Ok::<_, StoreError>(c.user_with_tokens(&login)?.map(|(u, ts)| {
                        (
                            u.id,
                            u.login,
                            ts.into_iter().map(|t| t.id).collect::<Vec<_>>(),
                        )
                    }))
                })
                .await
                .unwrap();
            assert_eq!(found, alone, "{backend:?}: Store::user_with_tokens");
        }
        for login in logins {
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

/// A row left without its key (an older version's data whose key collided with another
/// row's) answers to its exact login, and the key to the row holding it — in every lookup by
/// login: the validation's read, the user's read, and the import's `user_ids` (which once
/// preferred the key, so a token imported for the keyless row went to the other one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lookup_by_login_answers_the_keyless_row_to_its_exact_login() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        user_with_totp(&node, "Joao").await;
        user_with_totp(&node, "old").await;
        let keyless = "UPDATE users SET login = 'JOAO', login_key = NULL, login_skeleton = NULL \
                       WHERE login = 'old'";
        match backend {
            Backend::Sqlite => node
                .state
                .store
                .sqlite_raw(|c| {
                    diesel::sql_query(keyless).execute(c)?;
                    Ok(())
                })
                .unwrap()
                .unwrap(),
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&db.url).unwrap();
                diesel::sql_query(keyless).execute(&mut c).unwrap();
            }
        }
        let ids = node
            .state
            .store
            .read(|c| {
                let mut id = |login: &str| c.user_by_login(login).map(|u| u.map(|u| u.id));
                Ok::<_, StoreError>((id("Joao")?, id("JOAO")?))
            })
            .await
            .unwrap();
        let (Some(keyed), Some(keyless)) = ids else {
            panic!("{backend:?}: both rows are reachable: {ids:?}");
        };
        assert_ne!(keyed, keyless, "{backend:?}");
        for (login, expected) in [
            ("Joao", Some(keyed)),
            ("joao", Some(keyed)),
            ("jOaO", Some(keyed)),
            ("JOAO", Some(keyless)),
            ("nobody", None),
        ] {
            let shared = node
                .state
                .store
                .user_with_tokens(login.to_owned())
                .await
                .unwrap()
                .map(|(u, _)| u.id);
            assert_eq!(
                shared, expected,
                "{backend:?} {login}: Store::user_with_tokens"
            );
            let answers = node
                .state
                .store
                .read(move |c| {
                    let by_login = c.user_by_login(login)?.map(|u| u.id);
                    let with_tokens = match c.user_with_tokens(login)? {
                        None => None,
                        Some((u, ts)) => {
                            let ids: Vec<String> = ts.into_iter().map(|t| t.id).collect();
                            let separate: Vec<String> =
                                c.tokens_of(u.id)?.into_iter().map(|t| t.id).collect();
                            assert_eq!(ids, separate, "{login}: the user's own tokens");
                            Some(u.id)
                        }
                    };
                    let with_wallet = c.user_with_wallet(login)?.map(|(u, _)| u.id);
                    let imported = c
                        .user_ids(&[login.to_owned()])?
                        .into_iter()
                        .map(|(_, id)| id)
                        .next();
                    Ok::<_, StoreError>([by_login, with_tokens, with_wallet, imported])
                })
                .await
                .unwrap();
            assert_eq!(
                answers, [expected; 4],
                "{backend:?} {login}: user_by_login, user_with_tokens, user_with_wallet, user_ids"
            );
        }
    }
}

/// `Store::buffer_fit` (the start-up check of PostgreSQL's buffer cache): `shared_buffers`
/// as the server itself parses its setting, and the users and tokens tables' size, which
/// grows with the users; nothing on SQLite (it has no shared buffer cache to size).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_fit_is_the_server_s_shared_buffers_and_the_growing_tables() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let node = db.node(&clock);
        let before = node.state.store.buffer_fit().unwrap();
        let Backend::Postgres = backend else {
            assert_eq!(before, None);
            continue;
        };
        let before = before.expect("a PostgreSQL store answers");
        #[derive(diesel::QueryableByName)]
        struct Shown {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            bytes: i64,
        }
        let mut c = diesel::PgConnection::establish(&db.url).unwrap();
        let shown: Shown =
            diesel::sql_query("SELECT pg_size_bytes(current_setting('shared_buffers')) AS bytes")
                .get_result(&mut c)
                .unwrap();
        assert_eq!(before.shared_buffers, shown.bytes);
        for i in 0..200 {
            user_with_totp(&node, &format!("user{i}")).await;
        }
        let after = node.state.store.buffer_fit().unwrap().unwrap();
        assert_eq!(after.shared_buffers, before.shared_buffers);
        assert!(
            after.tables > before.tables,
            "{after:?} after 200 users, {before:?} before"
        );
    }
}
