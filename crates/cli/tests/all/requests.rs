//! Requests to the customer and their deadlines (issue 3; SEC-14, SEC-15, SLA-2), end to end
//! through the API.

use crate::common::*;
use custos_app::model::{DecisionRequest, Scope};
use custos_domain::access::Role;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

fn order_body(email: &str) -> Value {
    json!({"customer_email": email,
           "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000000"},
           "receive": {"network": "bitcoin", "asset": "BTC", "amount": "100", "address": CLEAN_BTC}})
}

/// An order of `email` held by a gambling deposit; returns (order id, case id).
async fn held(c: &Client, base: &str, key: &str, email: &str) -> (String, String) {
    let (status, order) = post(c, format!("{base}/api/v1/orders"), key, order_body(email)).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let address = order["deposit"]["address"].as_str().unwrap();
    let (_, dep) = post(
        c,
        format!("{base}/api/v1/deposits"),
        key,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "index": 0, "amount": "1000000",
               "txid": format!("0x{}", custos_crypto::sha256_hex(address.as_bytes())), "sources": [GAMBLING_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer");
    (order["id"].as_str().unwrap().to_owned(), dep["case"]["id"].as_str().unwrap().to_owned())
}

both!(risk_2_a_held_order_is_released_after_kyc_and_source_of_funds_with_four_eyes, |t: TestApp| async move {
    let (base, officer_a) = t.serve().await;
    let (site, _) =
        t.app.api_keys().create("site", vec![Scope::RequestsAnswer, Scope::OrdersRead], "test").await.unwrap();
    let c = Client::new();
    let (order, case) = held(&c, &base, &officer_a, "carol@example.com").await;
    let carol = customer_actor(&t, "carol@example.com").await;
    let requests = format!("{base}/api/v1/cases/{case}/requests");
    let (status, kyc) = post(
        &c,
        requests.clone(),
        &officer_a,
        json!({"kind": "kyc", "message": "Passport, selfie with the order number"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{kyc}");
    assert_eq!(kyc["due_at"], "2026-01-02T00:00:00Z", "SEC-15: 24 h");
    let (_, sof) =
        post(&c, requests, &officer_a, json!({"kind": "source_of_funds", "message": "Where did the 1 ETH come from?"}))
            .await;
    let questions = sof["message"].as_str().unwrap();
    assert!(
        questions.contains("(0.000000000001 ETH)")
            && !questions.contains("base units")
            && questions.contains("supporting")
            && questions.ends_with("Where did the 1 ETH come from?"),
        "the Source-of-Funds questionnaire: {questions}"
    );
    // The customer sees what is asked, through the integrator.
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &site).await;
    assert_eq!(view["requests"].as_array().unwrap().len(), 2);
    for r in [&kyc, &sof] {
        // The customer answers in the cabinet; the integration's key may not (no integration mode).
        let (status, p) = post(
            &c,
            format!("{base}/api/v1/requests/{}/answer", r["id"].as_str().unwrap()),
            &site,
            json!({"answer": "Salary from ACME, statement attached (doc-123)"}),
        )
        .await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("answers_by_key_disabled")), "{p}");
        let id = r["id"].as_str().unwrap().parse().unwrap();
        let answered = t
            .app
            .requests()
            .answer_request(id, "Salary from ACME, statement attached (doc-123)", &carol)
            .await
            .unwrap();
        assert_eq!(answered.review_due_at_ms, Some(START_MS + 48 * 3_600_000), "SLA-2: review within 48 h");
    }
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT answer_enc FROM customer_requests").fetch_all(t.store.pool()).await.unwrap();
    assert!(stored.iter().all(|a| !a.contains("ACME")), "answers are encrypted at rest");
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &site).await;
    assert_eq!(view["status"], "under_review");
    // A high-risk release is two officers' work, never a key's.
    let (status, p) = post(
        &c,
        format!("{base}/api/v1/cases/{case}/decisions"),
        &officer_a,
        json!({"rationale": WHY, "decision": "release"}),
    )
    .await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("four_eyes_needs_staff")), "{p}");
    let (officer, mlro) = officers(&t).await;
    let d =
        t.app.cases().decide(case.parse().unwrap(), DecisionRequest::Release, &why(), &officer.actor()).await.unwrap();
    assert_eq!(d.status.as_str(), "pending");
    assert_eq!(t.app.cases().approve_decision(d.id, &mlro).await.unwrap().status.as_str(), "executed");
    let (_, payout) = post(&c, format!("{base}/api/v1/orders/{order}/payout"), &officer_a, json!({})).await;
    assert_eq!(payout["order"]["status"], "payout_pending");
});

both!(sec_14_sec_15_a_missed_kyc_deadline_restricts_then_suspends_the_customer, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (_, case) = held(&c, &base, &key, "dave@example.com").await;
    let (_, kyc) =
        post(&c, format!("{base}/api/v1/cases/{case}/requests"), &key, json!({"kind": "kyc", "message": "ID please"}))
            .await;
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().requests_escalated, 0, "not yet due");
    t.clock.advance_ms(24 * 3_600_000 + 1);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().requests_escalated, 1);
    let (status, p) = post(&c, format!("{base}/api/v1/orders"), &key, order_body("Dave@Example.com")).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("customer_restricted")), "SEC-14: {p}");
    assert!(p["detail"].as_str().unwrap().contains("restricted"));
    assert_eq!(
        t.app.deadline_job().enforce_deadlines().await.unwrap().requests_escalated,
        0,
        "escalated once per step"
    );
    t.clock.advance_ms(24 * 3_600_000);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().requests_escalated, 1);
    let (_, p) = post(&c, format!("{base}/api/v1/orders"), &key, order_body("dave@example.com")).await;
    assert!(p["detail"].as_str().unwrap().contains("suspended"), "SEC-15: {p}");
    let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'alert.kyc_overdue'")
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(alerts, 2, "officers are alerted at each step");
    // Another customer is not affected.
    let (status, _) = post(&c, format!("{base}/api/v1/orders"), &key, order_body("erin@example.com")).await;
    assert_eq!(status, StatusCode::CREATED);
    let view: Value = get(&c, format!("{base}/api/v1/orders/{}", kyc["order_id"].as_str().unwrap()), &key).await;
    assert_eq!(view["requests"][0]["overdue"], true);
});

/// An officer, and a senior officer to approve what the first decides.
async fn officers(t: &TestApp) -> (custos_app::accounts::Authenticated, custos_app::accounts::Authenticated) {
    (officer(t, "officer@example.com", Role::Officer).await, officer(t, "mlro@example.com", Role::SeniorOfficer).await)
}

/// The officer asks for KYC and Source of Funds through the API; the customer answers both.
async fn answer_kyc_and_sof(t: &TestApp, c: &Client, base: &str, key: &str, customer: &str, case: &str) {
    let customer = customer_actor(t, customer).await;
    for kind in ["kyc", "source_of_funds"] {
        let (_, r) =
            post(c, format!("{base}/api/v1/cases/{case}/requests"), key, json!({"kind": kind, "message": "please"}))
                .await;
        t.app.requests().answer_request(r["id"].as_str().unwrap().parse().unwrap(), "docs", &customer).await.unwrap();
    }
}

/// Refund of `order`'s deposit to `source`, by one officer and approved by another; returns
/// the order's status afterwards.
async fn refund_with_four_eyes(
    t: &TestApp,
    c: &Client,
    base: &str,
    key: &str,
    order: &str,
    case: &str,
    source: &str,
) -> Value {
    let (officer, mlro) = officers(t).await;
    let refund = DecisionRequest::Refund { to_address: source.into(), network_fee: custos_domain::Amount(1000) };
    let d = t.app.cases().decide(case.parse().unwrap(), refund, &why(), &officer.actor()).await.unwrap();
    assert_eq!(d.status.as_str(), "pending");
    assert_eq!(t.app.cases().approve_decision(d.id, &mlro).await.unwrap().status.as_str(), "executed");
    get(c, format!("{base}/api/v1/orders/{order}"), key).await
}

both!(ref_2_a_held_order_is_refunded_after_kyc_and_source_of_funds, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (order, case) = held(&c, &base, &key, "fay@example.com").await;
    answer_kyc_and_sof(&t, &c, &base, &key, "fay@example.com", &case).await;
    let view = refund_with_four_eyes(&t, &c, &base, &key, &order, &case, GAMBLING_ETH).await;
    assert_eq!(view["status"], "refund_pending");
    let amount: String = sqlx::query_scalar("SELECT amount FROM refunds").fetch_one(t.store.pool()).await.unwrap();
    assert_eq!(amount, "999000", "deposit 1000000 less the network fee 1000");
});

async fn critical_but_clean_funds_are_refunded(backend: Backend) {
    // A policy under which direct scam exposure rejects (critical), and a scam-labelled source:
    // rejected, but not funds that must be frozen.
    let mut policy = custos_domain::Policy::default();
    policy.categories.get_mut(&custos_domain::RiskCategory::Scam).unwrap().direct = custos_domain::Action::Reject;
    let Some(t) = TestApp::with(backend, Options { policy, ..Options::default() }).await else { return };
    add_labels(
        t.store.as_ref(),
        "scam-list",
        &[(custos_domain::Network::Ethereum, CLEAN_ETH, custos_domain::RiskCategory::Scam)],
        START_MS,
    )
    .await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let (base, officer_a) = t.serve().await;
    let c = Client::new();
    let (_, order) = post(&c, format!("{base}/api/v1/orders"), &officer_a, order_body("gus@example.com")).await;
    let address = order["deposit"]["address"].as_str().unwrap();
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &officer_a,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "index": 0, "amount": "1000000",
               "txid": format!("0x{}", "9".repeat(64)), "sources": [CLEAN_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "rejected");
    let case = dep["case"]["id"].as_str().unwrap().to_owned();
    answer_kyc_and_sof(&t, &c, &base, &officer_a, "gus@example.com", &case).await;
    let order = order["id"].as_str().unwrap();
    let view = refund_with_four_eyes(&t, &c, &base, &officer_a, order, &case, CLEAN_ETH).await;
    assert_eq!(view["status"], "refund_pending", "critical → rejected → KYC → refund");
}

mod ref_2_a_rejected_deposit_without_tainted_funds_is_refunded_after_kyc {
    use super::*;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        critical_but_clean_funds_are_refunded(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        critical_but_clean_funds_are_refunded(Backend::Postgres).await;
    }
}
