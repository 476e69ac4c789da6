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
