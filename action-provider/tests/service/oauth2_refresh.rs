//! OAuth2 token health in-process: tokens refreshed in the background ahead of expiry,
//! without any mail being sent, by one node of two; the token state in `/metrics`. The
//! provider is the OAuth2 peer of the delivery tests (client credentials grant); time is
//! the manual clock's.

use std::time::Duration;

use action_provider::outbox::email::Tokens;
use action_provider::service::{metrics, oauth2, oauth2_refresh};
use serde_json::json;

use super::harness::{Database, admin_caller, clock, each_backend};
use crate::mail_peers::{CLIENT_ID, CLIENT_SECRET, oauth_peer};

#[actix_web::test]
async fn tokens_are_refreshed_ahead_of_expiry_by_one_node_without_mail() {
    let Some(peer) = oauth_peer("http://127.0.0.1/v1/oauth2/callback") else {
        return;
    };
    let clock = clock();
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let (a, b) = (db.node(&clock), db.node(&clock));
        let body = serde_json::from_value(json!({
            "name": "relay", "token_url": peer.url("/token"), "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scope": "https://outlook.office365.com/.default",
            "flow": "client_credentials",
        }))
        .unwrap();
        let id = oauth2::create(&a.state, &admin_caller(), body)
            .await
            .unwrap()
            .id;
        let grants = || {
            peer.stats()["grants"]["client_credentials"]
                .as_u64()
                .unwrap()
        };
        let before = grants();
        Tokens::new(a.state.outbox())
            .unwrap()
            .access_token(id, false)
            .await
            .unwrap();
        assert_eq!(grants(), before + 1, "{backend:?}: the first token");
        // An hour to go: nothing is due.
        assert_eq!(oauth2_refresh::refresh_due(&a.state).await.unwrap(), 0);
        let metrics = metrics::render(&a.state).await.unwrap();
        assert!(
            metrics.contains("sae_oauth2_token_valid{profile=\"relay\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("sae_oauth2_token_expires_in_seconds{profile=\"relay\"} 3600"),
            "{metrics}"
        );
        // Eight minutes to go: both nodes look, one refreshes.
        clock.advance(Duration::from_secs(3600 - 480));
        let both = futures_util::future::join_all([
            oauth2_refresh::refresh_due(&a.state),
            oauth2_refresh::refresh_due(&b.state),
        ])
        .await;
        let refreshed: usize = both.into_iter().map(Result::unwrap).sum();
        assert_eq!(refreshed, 1, "{backend:?}");
        assert_eq!(grants(), before + 2, "{backend:?}: one new token");
        assert_eq!(oauth2_refresh::refresh_due(&b.state).await.unwrap(), 0);
        let metrics = metrics::render(&b.state).await.unwrap();
        assert!(
            metrics.contains("sae_oauth2_token_expires_in_seconds{profile=\"relay\"} 3600"),
            "{metrics}"
        );
        assert!(
            metrics.contains("sae_oauth2_needs_reauthorization{profile=\"relay\"} 0"),
            "{metrics}"
        );
    }
}

#[actix_web::test]
async fn a_disabled_profile_gets_no_token_and_an_expiring_secret_is_warned() {
    let Some(peer) = oauth_peer("http://127.0.0.1/v1/oauth2/callback") else {
        return;
    };
    let clock = clock();
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let a = db.node(&clock);
        let now = i64::try_from(clock.now_secs()).unwrap();
        let expires = action_provider::clock::UnixTime::from_secs(now + 10 * 86_400).rfc3339();
        let body = |enabled: bool, expires: &str| {
            serde_json::from_value(json!({
                "name": "relay", "token_url": peer.url("/token"), "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "scope": "https://outlook.office365.com/.default",
                "flow": "client_credentials", "enabled": enabled,
                "client_secret_expires_at": expires,
            }))
            .unwrap()
        };
        let e = oauth2::create(&a.state, &admin_caller(), body(true, "next week"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, action_provider::service::ServiceError::Invalid(list) if list.first().field == "client_secret_expires_at"),
            "{e:?}"
        );
        let view = oauth2::create(&a.state, &admin_caller(), body(true, &expires))
            .await
            .unwrap();
        assert!(view.enabled);
        assert_eq!(view.warnings.len(), 1, "{:?}", view.warnings);
        assert!(
            view.warnings[0].contains("in 10 days"),
            "{:?}",
            view.warnings
        );
        let metrics = metrics::render(&a.state).await.unwrap();
        assert!(
            metrics.contains(&format!(
                "sae_oauth2_client_secret_expires_in_seconds{{profile=\"relay\"}} {}",
                10 * 86_400
            )),
            "{metrics}"
        );
        let tokens = Tokens::new(a.state.outbox()).unwrap();
        tokens.access_token(view.id, false).await.unwrap();
        let off = oauth2::update(&a.state, &admin_caller(), view.id, body(false, &expires))
            .await
            .unwrap();
        assert!(!off.enabled);
        let refused = tokens.access_token(view.id, true).await.unwrap_err();
        assert!(refused.to_string().contains("disabled"), "{refused}");
        // Off profiles are not refreshed in the background either, even when due.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(oauth2_refresh::refresh_due(&a.state).await.unwrap(), 0);
        let metrics = metrics::render(&a.state).await.unwrap();
        assert!(
            metrics.contains("sae_oauth2_enabled{profile=\"relay\"} 0"),
            "{metrics}"
        );
        // Past the expiry the warning says so.
        clock.advance(Duration::from_secs(10 * 86_400));
        let shown = oauth2::read(&a.state, &admin_caller(), view.id)
            .await
            .unwrap();
        assert!(
            shown.warnings[0].contains("expired"),
            "{:?}",
            shown.warnings
        );
    }
}
