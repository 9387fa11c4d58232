//! Issue 3 paths through the API: low → accepted → paid out; a payout to a sanctioned
//! destination is blocked (ADDR-4, ADDR-5); the lifecycle refuses what it does not allow.

use crate::common::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// On the OFAC SDN list (bundled).
const SANCTIONED_BTC: &str = "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX";

/// An order paying ETH and receiving BTC at `receive`, with a clean deposit: accepted.
async fn accepted_order(c: &Client, base: &str, key: &str, receive: &str) -> Value {
    let (status, order) = post(
        c,
        format!("{base}/api/v1/orders"),
        key,
        json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "50000", "address": receive}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let address = order["deposit"]["address"].as_str().unwrap();
    let txid = format!("0x{}", custos_crypto::sha256_hex(address.as_bytes()));
    let (_, dep) = post(
        c,
        format!("{base}/api/v1/deposits"),
        key,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "txid": txid, "index": 0,
               "amount": "1000", "sources": [CLEAN_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "accepted", "{dep}");
    order
}

both!(addr_4_a_low_risk_order_is_accepted_then_paid_out, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let order = accepted_order(&c, &base, &key, CLEAN_BTC).await;
    let id = order["id"].as_str().unwrap();
    let (status, payout) = post(&c, format!("{base}/api/v1/orders/{id}/payout"), &key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{payout}");
    assert_eq!(payout["order"]["status"], "payout_pending");
    assert_eq!(payout["screening"]["decision"], "proceed", "the destination is screened first");
    assert_eq!(payout["case"], Value::Null);
    let txid = "a".repeat(64);
    let (status, done) =
        post(&c, format!("{base}/api/v1/orders/{id}/payout/complete"), &key, json!({"txid": txid})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    // A completed order takes no more payouts.
    let (status, p) = post(&c, format!("{base}/api/v1/orders/{id}/payout"), &key, json!({})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("order_not_payable")));
    let view: Value = get(&c, format!("{base}/api/v1/orders/{id}"), &key).await;
    assert_eq!(view["screenings"].as_array().unwrap().len(), 2, "deposit and payout screenings");
    let changes: Vec<i64> = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'order.status_changed'")
        .fetch_all(t.store.pool())
        .await
        .unwrap();
    assert_eq!(changes[0], 2, "a webhook for each change");
    assert!(t.app.verify_audit().await.unwrap().is_ok());
});

both!(addr_5_a_payout_to_a_sanctioned_destination_is_blocked_and_opens_a_case, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let order = accepted_order(&c, &base, &key, SANCTIONED_BTC).await;
    let id = order["id"].as_str().unwrap();
    let (status, payout) = post(&c, format!("{base}/api/v1/orders/{id}/payout"), &key, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{payout}");
    assert_eq!(payout["screening"]["decision"], "reject");
    assert_eq!(payout["order"]["status"], "in_review", "blocked: the funds stay");
    assert_eq!(payout["case"]["deadline"]["kind"], "review");
    assert!(payout["screening"]["explanation"].as_str().unwrap().contains("sanctions"));
    let opened: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'case.opened'")
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(opened, 1, "an opened case is a webhook of its own");
    let (status, p) =
        post(&c, format!("{base}/api/v1/orders/{id}/payout/complete"), &key, json!({"txid": "b".repeat(64)})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")));
    assert!(p["detail"].as_str().unwrap().contains("in_review"), "{p}");
});

both!(the_lifecycle_refuses_a_payout_of_a_held_order, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (_, order) = post(
        &c,
        format!("{base}/api/v1/orders"),
        &key,
        json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "1", "address": CLEAN_BTC}}),
    )
    .await;
    let address = order["deposit"]["address"].as_str().unwrap();
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "txid": format!("0x{}", "c".repeat(64)),
               "index": 0, "amount": "1000", "sources": [GAMBLING_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer");
    let id = order["id"].as_str().unwrap();
    let (status, p) = post(&c, format!("{base}/api/v1/orders/{id}/payout"), &key, json!({})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("order_not_payable")));
    let (status, _) = post(&c, format!("{base}/api/v1/orders/{id}/payout/complete"), &key, json!({"txid": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a malformed txid is refused first");
});
