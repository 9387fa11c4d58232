//! Officer decisions through the API (issue 3): release, refunds under four-eyes (REF-2..REF-4),
//! and freezing funds that must never be refunded.

use crate::common::*;
use custos_app::model::{DecisionRequest, RequestKind};
use custos_domain::access::Role;
use custos_domain::Amount;
use custos_domain::{Network, RiskCategory};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// An order with one deposit from `source`; returns (order id, case id, deposit).
async fn screened(c: &Client, base: &str, key: &str, source: &str) -> (String, Option<String>, Value) {
    let (_, order) = post(
        c,
        format!("{base}/api/v1/orders"),
        key,
        json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "100", "address": CLEAN_BTC}}),
    )
    .await;
    let address = order["deposit"]["address"].as_str().unwrap();
    let (status, dep) = post(
        c,
        format!("{base}/api/v1/deposits"),
        key,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "index": 0, "amount": "1000000",
               "txid": format!("0x{}", custos_crypto::sha256_hex(address.as_bytes())), "sources": [source, EXCHANGE_ETH]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dep}");
    let case = dep["case"]["id"].as_str().map(str::to_owned);
    (order["id"].as_str().unwrap().to_owned(), case, dep)
}

async fn atm_labelled(t: &TestApp) {
    add_labels(t.store.as_ref(), "atm-list", &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Atm)], START_MS).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
}

both!(sla_2_a_review_case_is_released_then_paid_out, |t: TestApp| async move {
    atm_labelled(&t).await;
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (order, case, dep) = screened(&c, &base, &key, CLEAN_ETH).await;
    assert_eq!(dep["order"]["status"], "in_review");
    let case = case.unwrap();
    let (status, d) = post(
        &c,
        format!("{base}/api/v1/cases/{case}/decisions"),
        &key,
        json!({"rationale": WHY, "decision": "release"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "a review-level release needs no second officer: {d}");
    assert_eq!(d["status"], "executed");
    let (_, payout) = post(&c, format!("{base}/api/v1/orders/{order}/payout"), &key, json!({})).await;
    assert_eq!(payout["order"]["status"], "payout_pending");
    let (_, done) =
        post(&c, format!("{base}/api/v1/orders/{order}/payout/complete"), &key, json!({"txid": "d".repeat(64)})).await;
    assert_eq!(done["status"], "completed");
    let case_now: Value = get(&c, format!("{base}/api/v1/cases/{case}"), &key).await;
    assert_eq!(case_now["status"], "closed");
    assert_eq!(case_now["decisions"][0]["decision"], "release");
    assert!(
        case_now["evidence"][0]["explanation"].as_str().unwrap().contains("atm"),
        "the screening is the case's evidence"
    );
});

both!(ref_2_to_ref_4_a_refund_goes_to_a_source_less_the_fee_after_a_second_officer, |t: TestApp| async move {
    atm_labelled(&t).await;
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (order, case, _) = screened(&c, &base, &key, CLEAN_ETH).await;
    let case: uuid::Uuid = case.unwrap().parse().unwrap();
    // Two people: the officer who decides and the MLRO who approves.
    let officer_a = officer(&t, "officer-a@example.com", Role::Officer).await;
    let mlro = officer(&t, "mlro@example.com", Role::SeniorOfficer).await;
    let refund = |to: &str| DecisionRequest::Refund { to_address: to.into(), network_fee: Amount(2100) };
    // REF-2: not before the customer's KYC and Source of Funds.
    let err = t.app.cases().decide(case, refund(EXCHANGE_ETH), &why(), &officer_a.actor()).await.unwrap_err();
    assert_eq!(err.code(), "kyc_sof_required");
    let customer = customer_actor(&t, "payer@example.com").await;
    for kind in [RequestKind::Kyc, RequestKind::SourceOfFunds] {
        let r = t.app.requests().request_from_customer(case, kind, "please", &officer_a.actor()).await.unwrap();
        t.app.requests().answer_request(r.id, "done", &customer).await.unwrap();
    }
    // Never to an arbitrary address.
    let err = t.app.cases().decide(case, refund(GAMBLING_ETH), &why(), &officer_a.actor()).await.unwrap_err();
    assert_eq!(err.code(), "refund_refused");
    let d = t.app.cases().decide(case, refund(EXCHANGE_ETH), &why(), &officer_a.actor()).await.unwrap();
    assert_eq!(d.status.as_str(), "pending");
    let err = t.app.cases().approve_decision(d.id, &officer_a).await.unwrap_err();
    assert_eq!(err.code(), "approval_not_permitted", "an officer's role does not approve");
    let d = t.app.cases().approve_decision(d.id, &mlro).await.unwrap();
    assert_eq!(d.status.as_str(), "executed");
    assert_eq!(
        t.app.cases().approve_decision(d.id, &mlro).await.unwrap_err().code(),
        "decision_not_pending",
        "executed once"
    );
    let officer_a = key.clone();
    let officer_b = key;
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &officer_a).await;
    assert_eq!(view["status"], "refund_pending");
    let refund: (String, String, String, i64, i64) =
        sqlx::query_as("SELECT id, amount, to_address, due_at_ms - created_at_ms, created_at_ms FROM refunds")
            .fetch_one(t.store.pool())
            .await
            .unwrap();
    assert_eq!(refund.1, "997900", "the deposit less only the network fee");
    assert_eq!(refund.2, EXCHANGE_ETH.to_lowercase(), "to a source of the deposit");
    assert_eq!(refund.3, 24 * 3_600_000, "due 24 h after the decision");
    // REF-4: a refund not sent within 24 h alerts the officers, once.
    t.clock.advance_ms(24 * 3_600_000 + 1);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().refunds_alerted, 1);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().refunds_alerted, 0);
    let (status, p) =
        post(&c, format!("{base}/api/v1/refunds/{}/sent", refund.0), &officer_b, json!({"txid": "nope"})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_txid")));
    let (status, sent) = post(
        &c,
        format!("{base}/api/v1/refunds/{}/sent", refund.0),
        &officer_b,
        json!({"txid": format!("0x{}", "e".repeat(64))}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &officer_a).await;
    assert_eq!(view["status"], "refunded");
    assert!(t.app.verify_audit().await.unwrap().is_ok());
});

both!(ref_2_sanctioned_funds_are_never_refunded_but_frozen, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (order, case, dep) = screened(&c, &base, &key, SANCTIONED_ETH).await;
    assert_eq!(dep["order"]["status"], "rejected");
    let decisions = format!("{base}/api/v1/cases/{}/decisions", case.unwrap());
    let (status, p) = post(
        &c,
        decisions.clone(),
        &key,
        json!({"rationale": WHY, "decision": "refund", "to_address": SANCTIONED_ETH, "network_fee": "1"}),
    )
    .await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("refund_refused")));
    assert!(p["detail"].as_str().unwrap().contains("sanctions"), "{p}");
    let (status, d) = post(&c, decisions.clone(), &key, json!({"rationale": WHY, "decision": "release"})).await;
    assert_eq!(
        (status, d["code"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition")),
        "a rejected order is never released"
    );
    let (status, d) = post(&c, decisions.clone(), &key, json!({"rationale": WHY, "decision": "freeze"})).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &key).await;
    assert_eq!(view["status"], "frozen");
    let (status, p) = post(&c, decisions, &key, json!({"rationale": WHY, "decision": "release"})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("case_closed")));
});

both!(sla_2_officers_assign_note_escalate_and_close_and_overdue_cases_alert_once, |t: TestApp| async move {
    atm_labelled(&t).await;
    let (base, key) = t.serve().await;
    let c = Client::new();
    let (_, case, _) = screened(&c, &base, &key, CLEAN_ETH).await;
    let case = case.unwrap();
    let act = format!("{base}/api/v1/cases/{case}/actions");
    let (_, assigned) = post(&c, act.clone(), &key, json!({"action": "assign", "assignee": "mlro-1"})).await;
    assert_eq!(assigned["assignee"], "mlro-1");
    let (status, _) =
        post(&c, act.clone(), &key, json!({"action": "note", "note": "Customer called: salary payment"})).await;
    assert_eq!(status, StatusCode::OK);
    let notes: Vec<String> =
        sqlx::query_scalar("SELECT body_enc FROM case_notes").fetch_all(t.store.pool()).await.unwrap();
    assert!(notes.len() == 1 && !notes[0].contains("salary"), "notes are encrypted at rest");
    let (_, escalated) = post(&c, act.clone(), &key, json!({"action": "escalate"})).await;
    assert_eq!(escalated["escalated"], true);
    let (status, p) = post(&c, act.clone(), &key, json!({"action": "dance"})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")));
    // SLA-2: more analysis is needed; the deadline moves by 24 h, with the reason on record.
    let (status, extended) = post(
        &c,
        act.clone(),
        &key,
        json!({"action": "extend", "hours": 24, "reason": "waiting for the bank's confirmation"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{extended}");
    assert_eq!(extended["deadline"]["due_at"], "2026-01-04T00:00:00Z");
    let (status, _) = post(&c, act.clone(), &key, json!({"action": "extend", "hours": 0, "reason": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    t.clock.advance_ms(24 * 3_600_000);
    // The review deadline (48 h, extended by 24) passes: the officers are alerted, once.
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().cases_alerted, 0);
    t.clock.advance_ms(48 * 3_600_000 + 1);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().cases_alerted, 1);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().cases_alerted, 0);
    let alerts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'alert.case_overdue'")
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(alerts, 1);
    let (_, closed) = post(&c, act.clone(), &key, json!({"action": "close"})).await;
    assert_eq!(closed["status"], "closed");
    let (status, p) = post(&c, act, &key, json!({"action": "escalate"})).await;
    assert_eq!((status, p["code"].as_str()), (StatusCode::CONFLICT, Some("case_closed")));
});
