//! What a node caches reaches it from the others within the advertised time: a revoked key
//! within 5 s, a configuration change within 1 s — on the clock, not by sleeping.

use std::time::Duration;

use action_provider::service::apikeys::{self, CreateKey};
use action_provider::service::{ServiceError, auth, config};
use sae_core::lockout::LockoutConfigInput;

use super::harness::{Database, admin_caller, clock, each_backend};

#[actix_web::test]
async fn a_revoked_key_stops_working_on_every_node_within_five_seconds() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let (a, b) = (db.node(&clock), db.node(&clock));
        let body: CreateKey =
            serde_json::from_value(serde_json::json!({"name": "app", "scope": "otp"})).unwrap();
        let created = apikeys::create(&a.state, &admin_caller(), body)
            .await
            .unwrap();
        let key = created.key.unwrap();
        auth::api_key(&a.state, &key, None).await.unwrap();
        apikeys::revoke(&b.state, &admin_caller(), created.id)
            .await
            .unwrap();
        assert!(
            matches!(
                auth::api_key(&b.state, &key, None).await,
                Err(ServiceError::Unauthenticated)
            ),
            "{backend:?}: the revoking node refuses at once"
        );
        clock.advance(Duration::from_millis(4_999));
        auth::api_key(&a.state, &key, None)
            .await
            .expect("node a may still trust its cache for 5 s");
        clock.advance(Duration::from_millis(1));
        assert!(
            matches!(
                auth::api_key(&a.state, &key, None).await,
                Err(ServiceError::Unauthenticated)
            ),
            "{backend:?}: node a still accepts the key after 5 s"
        );
    }
}

#[actix_web::test]
async fn a_configuration_change_reaches_other_nodes_within_a_second() {
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let (a, b) = (db.node(&clock), db.node(&clock));
        let admin = admin_caller();
        let before = config::lockout(&b.state, &admin).await.unwrap();
        let mut next: LockoutConfigInput = serde_json::from_value(serde_json::json!(
            {"enabled": true, "attempts": 3, "block_type": "permanent"}
        ))
        .unwrap();
        next = config::put_lockout(&a.state, &admin, next).await.unwrap();
        let json = |c: &LockoutConfigInput| serde_json::to_value(c).unwrap();
        assert_eq!(
            json(&config::lockout(&b.state, &admin).await.unwrap()),
            json(&before)
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            json(&config::lockout(&b.state, &admin).await.unwrap()),
            json(&next),
            "{backend:?}"
        );
    }
}

/// The SMS broker document is cached like the policies: the node that changed it uses the
/// change at once, the others within a second (without reading the document meanwhile).
#[actix_web::test]
async fn an_sms_broker_change_reaches_other_nodes_within_a_second() {
    use action_provider::service::delivery::{self, Channel};
    let broker = |path: &str| {
        serde_json::json!({"primary": {"kind": "rest", "url": format!("http://127.0.0.1:9/{path}"),
            "method": "POST", "authorization": "none", "body": "{\"to\": \"{phone}\"}",
            "timeout_ms": 3000}, "broker2": {"mode": "none"}})
        .to_string()
    };
    for backend in each_backend() {
        let db = Database::fresh(backend);
        let clock = clock();
        let (a, b) = (db.node(&clock), db.node(&clock));
        let admin = admin_caller();
        let version = |n: &super::harness::Node| {
            let state = n.state.clone();
            async move {
                let c = state.sms.current(&state.store, &state.keyring, state.now());
                c.await.unwrap().map(|c| c.version)
            }
        };
        assert_eq!(
            version(&b).await,
            None,
            "{backend:?}: nothing configured yet"
        );
        delivery::put(&a.state, &admin, Channel::Sms, broker("one").as_bytes())
            .await
            .unwrap();
        assert_eq!(version(&a).await, Some(1), "{backend:?}");
        assert_eq!(version(&b).await, Some(1), "{backend:?}");
        delivery::put(&a.state, &admin, Channel::Sms, broker("two").as_bytes())
            .await
            .unwrap();
        assert_eq!(
            version(&a).await,
            Some(2),
            "{backend:?}: the changing node at once"
        );
        assert_eq!(
            version(&b).await,
            Some(1),
            "{backend:?}: b trusts its cache"
        );
        clock.advance(Duration::from_millis(999));
        assert_eq!(version(&b).await, Some(1), "{backend:?}");
        clock.advance(Duration::from_millis(1));
        assert_eq!(version(&b).await, Some(2), "{backend:?}: within a second");
    }
}
