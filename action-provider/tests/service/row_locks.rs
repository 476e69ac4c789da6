//! The row lock a decision takes on PostgreSQL, against the `KEY SHARE` lock a code request
//! takes on the same user's row (the issued code's foreign key).

use std::sync::{Arc, Barrier};

use action_provider::store::StoreError;
use action_provider::store::codes::NewIssuedCode;
use action_provider::store::locks::Unlocked;

use super::gate::user_with_totp;
use super::harness::{Database, Node, clock};
use crate::support::Backend;

/// How the second step of each transaction locks the user's row.
#[derive(Clone, Copy, Debug)]
enum Decide {
    /// `RowLocks::user_for_update` (the gate, before a check that may fail).
    ReadLocked,
    /// `RowLocks::token_advance_as_read` (a right code, in one statement).
    AdvanceAsRead,
}

/// Two transactions at once, as two nodes' batches: each issues a code to `login` (the
/// foreign key's `KEY SHARE` lock on the user's row), waits until the other has too, then
/// takes the decision's lock on the same row. Answers each transaction's result.
async fn issue_then_decide(
    node: &Node,
    login: &str,
    decide: Decide,
) -> [Result<(), StoreError>; 2] {
    let login = login.to_owned();
    let (user, token) = node
        .state
        .store
        .read(move |c| {
            let user = c.user_by_login(&login)?.unwrap();
            let token = c.tokens_of(user.id)?.remove(0);
            Ok::<_, StoreError>((user, token))
        })
        .await
        .unwrap();
    let both_issued = Arc::new(Barrier::new(2));
    let run = |n: i64| {
        let (user, token, both_issued) = (user.clone(), token.id.clone(), Arc::clone(&both_issued));
        node.state.store.write(move |c| {
            c.code_insert(&NewIssuedCode {
                request_id: format!("{decide:?}-{n}"),
                user_id: user.id,
                channel: "sms".into(),
                code_mac: "mac".into(),
                key_id: "k".into(),
                created_at: 1,
                expires_at: 2,
            })?;
            both_issued.wait();
            match decide {
                Decide::ReadLocked => {
                    c.user_for_update(user.id)?;
                }
                Decide::AdvanceAsRead => {
                    let seen = Unlocked::of(&user).unwrap();
                    c.token_advance_as_read(user.id, &seen, &token, n, 1)?;
                }
            }
            Ok::<_, StoreError>(())
        })
    };
    let (a, b) = tokio::join!(run(1), run(2));
    [a, b]
}

/// With `FOR UPDATE` each transaction waited for the other's `KEY SHARE` lock and
/// PostgreSQL aborted one ("deadlock detected"; seen in CI across two nodes). With `FOR NO
/// KEY UPDATE` one waits for the other's commit and both succeed; two decisions on one row
/// still exclude each other (the second one's row lock waits for the first's commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_request_and_a_decision_on_one_user_never_deadlock_across_transactions() {
    if !crate::support::backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::fresh(Backend::Postgres);
    let node = db.node(&clock());
    user_with_totp(&node, "ana").await;
    for decide in [Decide::ReadLocked, Decide::AdvanceAsRead] {
        let results = issue_then_decide(&node, "ana", decide).await;
        for r in &results {
            assert!(r.is_ok(), "{decide:?}: {r:?}");
        }
    }
}

/// The successes of a PostgreSQL batch in one statement (`AcceptAllAsRead`): each is
/// accepted exactly when its own statement (`token_advance_as_read`) would be, in any
/// combination — two on one token (one wins), a row read before a failure, a token that is
/// not the user's, a counter already taken — and only the accepted leave an audit record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_successes_in_one_statement_accepts_each_as_its_own_statement_would() {
    use action_provider::store::audit::NewAudit;
    use action_provider::store::locks::{AcceptAllAsRead as _, AsRead};
    use diesel::prelude::*;

    if !crate::support::backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::fresh(Backend::Postgres);
    let node = db.node(&clock());
    user_with_totp(&node, "ana").await;
    user_with_totp(&node, "bea").await;
    let (ana, bea) = node
        .state
        .store
        .read(|c| {
            let mut of = |login: &str| {
                let user = c.user_by_login(login)?.unwrap();
                let token = c.tokens_of(user.id)?.remove(0);
                Ok::<_, StoreError>((user, token.id))
            };
            Ok::<_, StoreError>((of("ana")?, of("bea")?))
        })
        .await
        .unwrap();
    let row = |(user, token): &(action_provider::store::users::User, String), new: i64| AsRead {
        user_id: user.id,
        seen: Unlocked::of(user).unwrap(),
        token: token.clone(),
        new,
        now: 7,
    };
    let record = |subject: &str| NewAudit {
        at: 7,
        actor: "test".into(),
        action: "test.accept".into(),
        subject: Some(subject.into()),
        source: None,
        outcome: "ok".into(),
        detail: None,
    };
    let mut c = diesel::pg::PgConnection::establish(&db.url).unwrap();
    // Bea's row as read before a failure (one OTP failure that is not in the row).
    let mut stale = row(&bea, 5);
    stale.seen.otp = (1, Some(3));
    let mut not_hers = row(&bea, 5);
    not_hers.token.clone_from(&ana.1);
    let rows = [
        (row(&ana, 10), record("ana-1")),
        (row(&ana, 10), record("ana-2")),
        (stale, record("bea-stale")),
        (not_hers, record("bea-not-hers")),
        (row(&bea, 5), record("bea")),
    ];
    let refs: Vec<_> = rows.iter().map(|(r, a)| (r, a)).collect();
    let mut accepted = c.accept_all_as_read(&refs).unwrap();
    accepted.sort_unstable();
    assert!(
        accepted == [0, 4] || accepted == [1, 4],
        "one of the two on ana's token, and bea's: {accepted:?}"
    );

    let counters = |c: &mut diesel::pg::PgConnection| {
        use action_provider::store::schema::tokens;
        tokens::table
            .select((tokens::id, tokens::last_counter))
            .load::<(String, Option<i64>)>(c)
            .unwrap()
    };
    let mut seen = counters(&mut c);
    seen.sort();
    let mut want = vec![(ana.1.clone(), Some(10)), (bea.1.clone(), Some(5))];
    want.sort();
    assert_eq!(seen, want);
    let subjects = |c: &mut diesel::pg::PgConnection| {
        use action_provider::store::schema::audit;
        let mut s: Vec<Option<String>> = audit::table
            .filter(audit::action.eq("test.accept"))
            .select(audit::subject)
            .load(c)
            .unwrap();
        s.sort();
        s
    };
    let winner = if accepted[0] == 0 { "ana-1" } else { "ana-2" };
    assert_eq!(
        subjects(&mut c),
        [Some(winner.to_owned()), Some("bea".to_owned())]
    );

    // Again: a counter already taken (a replay) is refused, a later one accepted.
    let rows = [
        (row(&ana, 10), record("ana-replay")),
        (row(&ana, 11), record("ana-next")),
    ];
    let refs: Vec<_> = rows.iter().map(|(r, a)| (r, a)).collect();
    assert_eq!(c.accept_all_as_read(&refs).unwrap(), [1]);
    assert_eq!(subjects(&mut c).len(), 3);

    // A locked user's successes are refused.
    diesel::sql_query("UPDATE users SET locked_at_ms = 1 WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(bea.0.id)
        .execute(&mut c)
        .unwrap();
    let rows = [(row(&bea, 6), record("bea-locked"))];
    let refs: Vec<_> = rows.iter().map(|(r, a)| (r, a)).collect();
    assert_eq!(c.accept_all_as_read(&refs).unwrap(), Vec::<usize>::new());
    assert_eq!(subjects(&mut c).len(), 3);
}
