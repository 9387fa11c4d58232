//! The attacks of the security review (issue 13), each reproduced against a real Custos on
//! SQLite and PostgreSQL: `fix_N_*` is item N of the issue, and docs/security.md lists them.

mod common;

use common::*;
use custos_app::model::{DecisionRequest, RequestKind, Scope};
use custos_domain::access::Role;
use custos_domain::Amount;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// A held order (gambling source) of `email`; returns (order id, case id).
async fn held(c: &Client, base: &str, key: &str, email: &str) -> (String, uuid::Uuid) {
    let (_, dep) = order_with_deposit(c, base, key, Some(email), GAMBLING_ETH, 0x13).await;
    assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer", "{dep}");
    (dep["order"]["id"].as_str().unwrap().to_owned(), dep["case"]["id"].as_str().unwrap().parse().unwrap())
}

// 1. Two keys with cases:manage + requests:answer used to ask for KYC and SoF, answer them,
// decide "release" and approve it: a held order released with no officer involved.
both!(fix_1_four_eyes_is_two_people_not_two_keys, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = Client::new();
    let all =
        vec![Scope::OrdersCreate, Scope::DepositsCreate, Scope::OrdersRead, Scope::CasesManage, Scope::RequestsAnswer];
    let (a, _) = t.app.create_api_key("key a", all.clone(), "cli").await.unwrap();
    let (b, _) = t.app.create_api_key("key b", all, "cli").await.unwrap();
    let (order, case) = held(&c, &base, &a, "mallory@example.com").await;
    for kind in ["kyc", "source_of_funds"] {
        let (status, r) =
            post(&c, format!("{base}/api/v1/cases/{case}/requests"), &a, json!({"kind": kind, "message": "x"})).await;
        assert_eq!(status, StatusCode::CREATED, "{r}");
        let (status, p) = post(
            &c,
            format!("{base}/api/v1/requests/{}/answer", r["id"].as_str().unwrap()),
            &a,
            json!({"answer": "ok"}),
        )
        .await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("answers_by_key_disabled")), "{p}");
    }
    // The customer answers, in the cabinet: the order waits for an officer's review.
    let customer = customer_actor(&t, "mallory@example.com").await;
    for r in t.app.case_file(case).await.unwrap().2 {
        t.app.answer_request(r.id, "my salary", &customer).await.unwrap();
    }
    let decisions = format!("{base}/api/v1/cases/{case}/decisions");
    let refund = json!({"decision": "refund", "to_address": GAMBLING_ETH, "network_fee": "1"});
    for body in [json!({"decision": "release"}), refund] {
        let (status, p) = post(&c, decisions.clone(), &a, body).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::FORBIDDEN, Some("four_eyes_needs_staff")), "{p}");
    }
    assert!(t.app.store().decisions_of_case(case).await.unwrap().is_empty(), "no decision was recorded");
    // No key approves, whatever its scopes: there is no such route.
    let id = uuid::Uuid::now_v7();
    let (status, _) = post(&c, format!("{base}/api/v1/decisions/{id}/approve"), &b, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &b).await;
    assert_eq!(view["status"], "under_review", "not released");

    // People: an officer decides; neither an officer, nor one without a fresh step-up, nor the
    // one who decided approves; another senior officer does.
    let officer_a = officer(&t, "officer@example.com", Role::Officer).await;
    let mlro = officer(&t, "mlro@example.com", Role::SeniorOfficer).await;
    let d = t.app.decide(case, DecisionRequest::Release, &officer_a.actor()).await.unwrap();
    assert_eq!(d.status, "pending");
    assert_eq!(t.app.approve_decision(d.id, &officer_a).await.unwrap_err().code(), "approval_not_permitted");
    let mut stale = mlro.clone();
    stale.stepped_up = false;
    assert_eq!(t.app.approve_decision(d.id, &stale).await.unwrap_err().code(), "step_up_required");
    let mine = t.app.decide(case, DecisionRequest::Release, &mlro.actor()).await.unwrap();
    assert_eq!(t.app.approve_decision(mine.id, &mlro).await.unwrap_err().code(), "four_eyes");
    assert_eq!(t.app.approve_decision(d.id, &mlro).await.unwrap().status, "executed");
    let view: Value = get(&c, format!("{base}/api/v1/orders/{order}"), &b).await;
    assert_eq!(view["status"], "released");

    // The admin stays out of compliance decisions: no key that decides from the back-office.
    let admin = officer(&t, "admin@example.com", Role::Admin).await;
    for scope in [Scope::CasesManage, Scope::RequestsAnswer] {
        let err = t.app.create_api_key("sneaky", vec![Scope::OrdersRead, scope], &admin.actor()).await.unwrap_err();
        assert_eq!(err.code(), "scope_needs_operator");
    }
    assert!(t.app.create_api_key("site", vec![Scope::OrdersRead], &admin.actor()).await.is_ok());
});

// 1. The integration mode: a key may answer on the customer's behalf; the answer is labelled
// and never counts as the customer's KYC for a refund (REF-2).
both!(
    fix_1_answers_sent_by_a_key_are_labelled_and_never_count_as_the_customers,
    options = Options { answers_by_key: true, ..Options::default() },
    |t: TestApp| async move {
        let (base, key) = t.serve().await;
        let c = Client::new();
        let (_, case) = held(&c, &base, &key, "nina@example.com").await;
        let officer_a = officer(&t, "officer@example.com", Role::Officer).await;
        let mut requests = Vec::new();
        for kind in [RequestKind::Kyc, RequestKind::SourceOfFunds] {
            let r = t.app.request_from_customer(case, kind, "please", &officer_a.actor()).await.unwrap();
            let (status, answered) =
                post(&c, format!("{base}/api/v1/requests/{}/answer", r.id), &key, json!({"answer": "ok"})).await;
            assert_eq!(status, StatusCode::OK, "{answered}");
            assert_eq!(answered["answered_by"], "api_key");
            requests.push(r.id);
        }
        let refund = DecisionRequest::Refund { to_address: GAMBLING_ETH.into(), network_fee: Amount(1) };
        let err = t.app.decide(case, refund, &officer_a.actor()).await.unwrap_err();
        assert_eq!(err.code(), "kyc_sof_required", "a key's answers are not the customer's KYC");
        // The officer sees who answered.
        let case_file: Value = get(&c, format!("{base}/api/v1/cases/{case}"), &key).await;
        assert!(case_file["requests"].as_array().unwrap().iter().all(|r| r["answered_by"] == "api_key"));
        let (_, _, reqs, _) = t.app.case_file(case).await.unwrap();
        assert!(reqs.iter().all(|r| !r.answered_by_customer()));
    }
);
