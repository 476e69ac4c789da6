//! How the tables are laid out where it matters for speed at scale.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use sae_core::lockout::Factor;

use action_provider::store::StoreError;

use super::harness::{Database, clock};
use crate::support::Backend;

#[derive(QueryableByName)]
struct Placed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    page: i64,
}

fn placed(c: &mut PgConnection) -> Vec<Placed> {
    diesel::sql_query("SELECT id, (ctid::text::point)[0]::bigint AS page FROM users ORDER BY id")
        .load(c)
        .unwrap()
}

/// A decision's failure count stays on its row's page (PostgreSQL updates it in place,
/// touching no index) even when the users were written by a bulk insert: migration
/// `000600_hot_updates` keeps a tenth of every page free. With pages packed full (the
/// default fillfactor), the first such update on a full page moves the row to another page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_count_stays_on_its_users_page_after_a_bulk_insert() {
    if !crate::support::backends().contains(&Backend::Postgres) {
        return;
    }
    let db = Database::fresh(Backend::Postgres);
    let node = db.node(&clock());
    let mut c = PgConnection::establish(&db.url).unwrap();
    diesel::sql_query(
        "INSERT INTO users (login, login_key, login_skeleton, created_at, updated_at) \
         SELECT 'u' || g, 'u' || g, 'u' || g, 0, 0 FROM generate_series(1, 400) g",
    )
    .execute(&mut c)
    .unwrap();
    let before = placed(&mut c);
    // The first page is as full as the bulk insert left it; three updates of its rows.
    let first: Vec<i64> = before
        .iter()
        .filter(|p| p.page == 0)
        .map(|p| p.id)
        .take(3)
        .collect();
    assert_eq!(first.len(), 3);
    assert!(before.iter().any(|p| p.page > 0), "more than one page");
    for id in first.clone() {
        let counted = node
            .state
            .store
            .write(move |c| Ok::<_, StoreError>(c.user_fail(id, Factor::Otp, 1)?))
            .await
            .unwrap();
        assert_eq!(counted, Some(1));
    }
    let after = placed(&mut c);
    for id in first {
        let page = after.iter().find(|p| p.id == id).unwrap().page;
        assert_eq!(page, 0, "user {id} was moved to page {page}");
    }
}
