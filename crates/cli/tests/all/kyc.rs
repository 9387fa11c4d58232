//! KYC with SumSub (issue 6) on SQLite and PostgreSQL: webhooks through HTTP, verified by their
//! digest before anything else, stored once, applied in order; the states' consequences.

use crate::common::*;
use custos_app::kyc::{VerificationUpload, WebhookOutcome};
use custos_domain::kyc::VerificationState;
use custos_kyc::sumsub::{ClientSettings, DigestAlg, SumsubProvider, WebhookSettings};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "test-webhook-secret";
const APPLICANT: &str = "67c70000f61f6b0000000042";

/// A local SumSub answering applicant creation (the real one cannot be reached from here).
async fn fake_sumsub() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path().starts_with("/resources/accessTokens") {
            axum::Json(json!({"token": "_act-sbx-jwt-test-token", "userId": "x"}))
        } else if uri.path().ends_with("/one") {
            // The reviewed applicant with what SumSub read from the document.
            axum::Json(json!({"id": APPLICANT, "externalUserId": "x", "review": {"reviewStatus": "completed"},
                              "info": {"firstName": "Катя", "lastName": "Пример", "firstNameEn": "Kate", "lastNameEn": "Example"}}))
        } else {
            axum::Json(json!({"id": APPLICANT, "externalUserId": "x", "review": {"reviewStatus": "init"}}))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn with_sumsub(backend: Backend) -> Option<TestApp> {
    let mut webhook = WebhookSettings::new(SECRET);
    webhook.allowed = vec![DigestAlg::Sha256, DigestAlg::Sha512];
    let provider = SumsubProvider::new(
        ClientSettings {
            base_url: fake_sumsub().await,
            app_token: "sbx:test-token".into(),
            secret_key: "test-secret".into(),
            sandbox: true,
            timeout: Duration::from_secs(5),
        },
        webhook,
    )
    .unwrap();
    TestApp::with(backend, Options { kyc: Some(Arc::new(provider)), ..Options::default() }).await
}

fn digest(body: &str) -> String {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn deliver(c: &reqwest::Client, base: &str, body: &str, sig: Option<String>, alg: &str) -> (StatusCode, Value) {
    let mut r =
        c.post(format!("{base}/api/v1/kyc/sumsub/webhook")).header("x-payload-digest-alg", alg).body(body.to_owned());
    if let Some(s) = sig {
        r = r.header("x-payload-digest", s);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn reviewed(customer_ref: &str, at: &str, answer: &str, reject: Option<&str>) -> String {
    let mut result = json!({"reviewAnswer": answer});
    if let Some(r) = reject {
        result["reviewRejectType"] = r.into();
        result["rejectLabels"] = json!(["BAD_PHOTO"]);
        result["moderationComment"] = "Please take a sharper photo of your passport".into();
        result["clientComment"] = "internal: looks edited".into();
    }
    json!({"type": "applicantReviewed", "applicantId": APPLICANT, "externalUserId": customer_ref,
           "reviewStatus": "completed", "reviewResult": result, "createdAtMs": at, "sandboxMode": "true"})
    .to_string()
}

async fn run(backend: Backend) {
    let Some(t) = with_sumsub(backend).await else { return };
    let (base, _) = t.serve().await;
    let c = reqwest::Client::new();
    t.app.accounts().register_customer("kate@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
    let index = t.store.list_accounts(custos_app::accounts::records::AccountKind::Customer).await.unwrap()[0]
        .email_index
        .clone();
    let v = t.app.kyc().request_verification(&index, None, "full", "staff:test").await.unwrap();
    assert_eq!((v.provider.as_str(), v.applicant_id.as_deref()), ("sumsub", Some(APPLICANT)));
    assert!(v.customer_ref.starts_with("c-") && !v.customer_ref.contains("kate"), "no personal data to SumSub");
    let state = |t: &TestApp| {
        let index = index.clone();
        let app = t.app.clone();
        async move { app.kyc().verifications_of(&index).await.unwrap()[0].state }
    };

    // The cabinet embeds SumSub's widget with a token for this customer and level; only that
    // page lets SumSub's script and frame in.
    let (session, _) = t
        .app
        .accounts()
        .login(
            custos_app::accounts::records::AccountKind::Customer,
            "kate@example.com",
            "violet tractor 42 umbrella",
            "127.0.0.1",
            None,
        )
        .await
        .unwrap();
    let cookie = format!("__Host-custos_customer={session}");
    let cabinet =
        c.get(format!("{base}/cabinet")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(cabinet.contains(&format!("/cabinet/kyc/{}", v.id)), "the customer is offered the check");
    let r = c.get(format!("{base}/cabinet/kyc/{}", v.id)).header("cookie", &cookie).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("https://static.sumsub.com") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(r.text().await.unwrap().contains("data-token=\"_act-sbx-jwt-test-token\""));
    let other = c.get(format!("{base}/cabinet")).header("cookie", &cookie).send().await.unwrap();
    assert!(
        !other.headers()["content-security-policy"].to_str().unwrap().contains("sumsub"),
        "other pages stay strict"
    );

    // A bad signature: refused, audited, nothing stored or changed.
    let retry = reviewed(&v.customer_ref, "2026-01-01 00:10:00.000", "RED", Some("RETRY"));
    let (status, problem) = deliver(&c, &base, &retry, Some(digest("something else")), "HMAC_SHA256_HEX").await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_signature")));
    let (status, _) = deliver(&c, &base, &retry, None, "HMAC_SHA256_HEX").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no digest");
    let (status, _) = deliver(&c, &base, &retry, Some(digest(&retry)), "HMAC_SHA1_HEX").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no downgrade to SHA-1");
    assert_eq!(state(&t).await, VerificationState::Requested);
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "kyc.webhook_refused").count(), 3);

    // RED + RETRY: the customer may resubmit and sees the moderation comment, never the internal one.
    let (status, body) = deliver(&c, &base, &retry, Some(digest(&retry)), "HMAC_SHA256_HEX").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("applied")));
    let now = t.app.kyc().verifications_of(&index).await.unwrap().remove(0);
    assert_eq!(now.state, VerificationState::Resubmission);
    assert_eq!(t.app.kyc().verification_comment(&now).as_deref(), Some("Please take a sharper photo of your passport"));
    // The same delivery again changes nothing.
    let (_, body) = deliver(&c, &base, &retry, Some(digest(&retry)), "HMAC_SHA256_HEX").await;
    assert_eq!(body["status"], "duplicate");
    // An unknown type is acknowledged and ignored.
    let unknown =
        json!({"type": "kytCaseReviewed", "applicantId": APPLICANT, "createdAtMs": "2026-01-01 00:11:00.000"})
            .to_string();
    let (status, body) = deliver(&c, &base, &unknown, Some(digest(&unknown)), "HMAC_SHA256_HEX").await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ignored")));

    // GREEN: verified (SHA-512 works too); an older event arriving late does not undo it.
    let green = reviewed(&v.customer_ref, "2026-01-01 00:20:00.000", "GREEN", None);
    let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(green.as_bytes());
    let (_, body) = deliver(&c, &base, &green, Some(hex::encode(mac.finalize().into_bytes())), "HMAC_SHA512_HEX").await;
    assert_eq!(body["status"], "applied");
    assert_eq!(state(&t).await, VerificationState::Verified);
    assert!(t.app.kyc().kyc_passed(&index).await.unwrap());
    let late = reviewed(&v.customer_ref, "2026-01-01 00:15:00.000", "RED", Some("RETRY"));
    let (_, body) = deliver(&c, &base, &late, Some(digest(&late)), "HMAC_SHA256_HEX").await;
    assert_eq!(body["status"], "stale");
    assert_eq!(state(&t).await, VerificationState::Verified);

    // KYC-4: the verified name comes from SumSub, is kept only as a keyed hash, and a card's
    // holder is compared with it; a stranger's name on the card opens a case.
    let verified = t.app.kyc().verifications_of(&index).await.unwrap().remove(0);
    assert!(verified.identity_name_hash.as_deref().is_some_and(|h| !h.to_uppercase().contains("KATE")));
    let order = t.app.intake().create_order(new_order("kate@example.com"), "test").await.unwrap();
    let (card, opened) = t.app.kyc().register_card(order.id, CARD, Some("EXAMPLE KATE"), "test").await.unwrap();
    assert_eq!((card.holder_check.as_str(), opened), ("match", false));
    let (card, opened) =
        t.app.kyc().register_card(order.id, "5555 5555 5555 4444", Some("Bob Other"), "test").await.unwrap();
    assert_eq!((card.holder_check.as_str(), opened), ("mismatch", true));
    let reasons = serde_json::to_string(&t.app.queries().order(order.id).await.unwrap().cases[0].reasons).unwrap();
    assert!(reasons.contains("card_holder_name_mismatch"), "{reasons}");

    // Stored encrypted: no verdict, comment or reference in the clear.
    let inbox: Vec<String> =
        sqlx::query_scalar("SELECT body_enc FROM kyc_inbox").fetch_all(t.store.pool()).await.unwrap();
    assert_eq!(inbox.len(), 4, "retry, unknown, green, late");
    assert!(inbox.iter().all(|b| !b.contains("GREEN") && !b.contains("sharper") && !b.contains(&v.customer_ref)));

    // RED + FINAL for another customer: suspended (SEC-16) and the officers alerted.
    t.app.accounts().register_customer("leo@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
    let leo = t.store.list_accounts(custos_app::accounts::records::AccountKind::Customer).await.unwrap();
    let leo_index = leo.iter().find(|a| a.email_index != index).unwrap().email_index.clone();
    let w = t.app.kyc().request_verification(&leo_index, None, "identity", "staff:test").await.unwrap();
    let final_red = reviewed(&w.customer_ref, "2026-01-01 00:30:00.000", "RED", Some("FINAL"))
        .replace(APPLICANT, "67c70000f61f6b0000000043");
    // Routed by the customer reference when the applicant id is new to us.
    let (_, body) = deliver(&c, &base, &final_red, Some(digest(&final_red)), "HMAC_SHA256_HEX").await;
    assert_eq!(body["status"], "applied", "{body}");
    let failed = t.app.kyc().verifications_of(&leo_index).await.unwrap().remove(0);
    assert_eq!(failed.state, VerificationState::Failed);
    let standing = t.store.customer_status(&leo_index).await.unwrap().unwrap().1;
    assert_eq!(standing, custos_app::model::CustomerStatus::Suspended);
    let alerts = t.store.outbox_due(i64::MAX, 10_000).await.unwrap();
    assert!(alerts.iter().any(|e| e.event_type == "alert.kyc_failed"));
    let _ = WebhookOutcome::Ignored;

    // SEC-13: after the whole SumSub flow, no image is anywhere Custos writes: the database
    // files, the data folder and the temporary folder of this test.
    assert_no_document_on_disk(&t, &[]);
}

/// SEC-13, PD-3: no image or document in clear in the SQLite files (WAL included) and their
/// folder, nor any of `markers`.
fn assert_no_document_on_disk(t: &TestApp, markers: &[&[u8]]) {
    if t.backend != Backend::Sqlite {
        return;
    }
    let dir = std::path::Path::new(t.db.url.trim_start_matches("sqlite://").split('?').next().unwrap())
        .parent()
        .unwrap()
        .to_owned();
    let mut files = vec![dir];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for magic in [&b"\x89PNG\r\n\x1a\n"[..], &[0xFF, 0xD8, 0xFF][..], &b"%PDF-"[..]].iter().chain(markers) {
            assert!(!bytes.windows(magic.len()).any(|w| w == *magic), "an image or document in {}", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sumsub_webhooks_are_verified_stored_once_and_applied_in_order_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sumsub_webhooks_are_verified_stored_once_and_applied_in_order_postgres() {
    run(Backend::Postgres).await;
}

/// An officer's approval naming the person on the identity document.
fn approve(name: &str) -> custos_app::kyc::ReviewDecision {
    custos_app::kyc::ReviewDecision::Approve { identity_name: Some(name.into()) }
}

both!(sec14_sec15_an_open_verification_restricts_and_a_missed_deadline_suspends, |t: TestApp| async move {
    use custos_app::Clock;
    let accounts = t.app.accounts();
    let kinds = custos_app::accounts::records::AccountKind::Customer;
    accounts.register_customer("nina@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
    accounts.register_customer("omar@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
    let all = t.store.list_accounts(kinds).await.unwrap();
    let index_of = |email: &str| {
        let i = t.app.accounts().email_of(&all[0]).unwrap() == email;
        if i {
            all[0].email_index.clone()
        } else {
            all[1].email_index.clone()
        }
    };
    let (nina, omar) = (index_of("nina@example.com"), index_of("omar@example.com"));
    t.app.intake().create_order(new_order("nina@example.com"), "test").await.unwrap();
    let v = t.app.kyc().request_verification(&nina, None, "identity", "staff:test").await.unwrap();
    let refused = t.app.intake().create_order(new_order("nina@example.com"), "test").await.unwrap_err();
    assert_eq!(refused.code(), "kyc_pending", "SEC-14: no new exchange while the verification is open");
    t.app.kyc().review_verification(v.id, &nina, approve("Nina Example"), "staff:test").await.unwrap();
    t.app.intake().create_order(new_order("nina@example.com"), "test").await.unwrap();

    // Omar does not complete his verification in 24 hours: suspended once, officers alerted.
    t.app.kyc().request_verification(&omar, None, "full", "staff:test").await.unwrap();
    t.clock.advance_ms(23 * 3_600_000);
    t.app.deadline_job().enforce_deadlines().await.unwrap();
    assert_eq!(t.store.customer_status(&omar).await.unwrap(), None, "not yet");
    t.clock.advance_ms(2 * 3_600_000);
    t.app.deadline_job().enforce_deadlines().await.unwrap();
    t.app.deadline_job().enforce_deadlines().await.unwrap();
    let standing = t.store.customer_status(&omar).await.unwrap().unwrap().1;
    assert_eq!(standing, custos_app::model::CustomerStatus::Suspended);
    let refused = t.app.appeals().appeal_standing(&omar, "please reinstate me", "customer:test").await.unwrap_err();
    assert_eq!(refused.code(), "kyc_required", "SEC-17: no appeal of the suspension before KYC");
    let refused = t.app.appeals().appeal_standing(&nina, "why?", "customer:test").await.unwrap_err();
    assert_eq!(refused.code(), "not_appealable", "nothing to appeal while active");
    let alerts = t.store.outbox_due(i64::MAX, 10_000).await.unwrap();
    assert_eq!(alerts.iter().filter(|e| e.event_type == "alert.kyc_overdue").count(), 1, "alerted once");
    assert_eq!(t.store.customer_status(&nina).await.unwrap().unwrap().1, custos_app::model::CustomerStatus::Active);
    let _ = t.clock.now_ms();
});

const CARD: &str = "4276 3800 1234 5679";

both!(kyc_4_a_card_is_kept_by_its_ends_and_a_card_of_another_customer_opens_a_case, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = reqwest::Client::new();
    let order_of = |email: &'static str| {
        let (c, base, key) = (c.clone(), base.clone(), key.clone());
        async move {
            let (_, o) = post(
                &c,
                format!("{base}/api/v1/orders"),
                &key,
                json!({"customer_email": email,
                "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
                "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
            )
            .await;
            o["id"].as_str().unwrap().to_owned()
        }
    };
    let first = order_of("pia@example.com").await;
    let (status, problem) =
        post(&c, format!("{base}/api/v1/orders/{first}/card"), &key, json!({"number": "4276 3800 1234 5670"})).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_card")));
    let (status, body) = post(
        &c,
        format!("{base}/api/v1/orders/{first}/card"),
        &key,
        json!({"number": CARD, "holder_name": "PIA PETROVA"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["card"]["first6"].as_str(), body["card"]["last4"].as_str()), (Some("427638"), Some("5679")));
    assert_eq!(body["card"]["brand"], "visa");
    assert_eq!(body["case_opened"], false);
    // The same card again for the same customer is the same card.
    let (_, again) = post(&c, format!("{base}/api/v1/orders/{first}/card"), &key, json!({"number": CARD})).await;
    assert_eq!(again["card"]["id"], body["card"]["id"]);
    // Another customer presents it: a review case on that order.
    let second = order_of("quinn@example.com").await;
    let (_, shared) = post(&c, format!("{base}/api/v1/orders/{second}/card"), &key, json!({"number": CARD})).await;
    assert_eq!(shared["case_opened"], true, "{shared}");
    let view = t.app.queries().order(uuid::Uuid::parse_str(&second).unwrap()).await.unwrap();
    let reasons = serde_json::to_string(&view.cases[0].reasons).unwrap();
    assert!(reasons.contains("card_of_another_customer") && reasons.contains("427638******5679"), "{reasons}");
    // Never the full number, anywhere: cards, audit log, webhooks.
    let full = CARD.replace(' ', "");
    let cards: Vec<String> =
        sqlx::query_scalar("SELECT first6 || last4 || number_hash || COALESCE(holder_enc, '') FROM cards")
            .fetch_all(t.store.pool())
            .await
            .unwrap();
    assert!(cards.iter().all(|r| !r.contains(&full) && !r.contains("PIA PETROVA")));
    let audit = serde_json::to_string(
        &t.store.audit_entries(0, 10_000).await.unwrap().iter().map(|e| &e.data).collect::<Vec<_>>(),
    )
    .unwrap();
    let outbox = serde_json::to_string(
        &t.store.outbox_due(i64::MAX, 10_000).await.unwrap().iter().map(|e| e.payload.to_string()).collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!audit.contains(&full) && !outbox.contains(&full));
    if t.backend == Backend::Sqlite {
        // The database files themselves, WAL included.
        for entry in std::fs::read_dir(
            std::path::Path::new(&t.db.url.trim_start_matches("sqlite://").split('?').next().unwrap())
                .parent()
                .unwrap(),
        )
        .unwrap()
        {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!bytes.windows(full.len()).any(|w| w == full.as_bytes()), "the card number is in a database file");
        }
    }
});

both!(
    kyc_4_the_card_holder_is_compared_with_the_verified_identity_and_a_card_photo_reviewed,
    |t: TestApp| async move {
        use custos_domain::kyc::Step;
        t.app.accounts().register_customer("tom@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
        let order = t.app.intake().create_order(new_order("tom@example.com"), "test").await.unwrap();
        let index = order.customer_email_index.clone().unwrap();
        // Before any verified identity the holder cannot be compared yet.
        let (early, _) =
            t.app.kyc().register_card(order.id, "2200 0000 0000 0004", Some("Tom Example"), "test").await.unwrap();
        assert_eq!(early.holder_check, custos_domain::status::HolderCheck::Unverified);
        let id = t.app.kyc().request_verification(&index, Some(order.id), "identity", "staff:test").await.unwrap();
        t.app.kyc().review_verification(id.id, &index, approve("Tom  EXAMPLE"), "staff:test").await.unwrap();
        let (card, opened) = t.app.kyc().register_card(order.id, CARD, Some("EXAMPLE TOM"), "test").await.unwrap();
        assert_eq!((card.holder_check.as_str(), opened), ("match", false));

        // The card level: a photo of the card with the middle digits covered, reviewed by hand.
        let level = t.app.kyc().request_verification(&index, Some(order.id), "card", "staff:test").await.unwrap();
        let photo = png_with_text();
        let upload = VerificationUpload { step: Step::BankCard, kind: None, bytes: &photo, issued_on: None };
        t.app.kyc().submit_verification_file(&index, level.id, upload, "customer:test").await.unwrap();
        t.app.kyc().review_verification(level.id, &index, approve_card(), "staff:test").await.unwrap();
        let cards = t.store.cards_of(&index).await.unwrap();
        assert!(
            cards.iter().all(|c| c.state == custos_domain::status::CardState::Verified),
            "the card level verifies the customer's cards"
        );

        // A card in a stranger's name: a case, and the card level cannot be approved.
        let (stranger, opened) =
            t.app.kyc().register_card(order.id, "5555 5555 5555 4444", Some("Jane Doe"), "test").await.unwrap();
        assert_eq!((stranger.holder_check.as_str(), opened), ("mismatch", true));
        let again = t.app.kyc().request_verification(&index, Some(order.id), "card", "staff:test").await.unwrap();
        let err = t.app.kyc().review_verification(again.id, &index, approve_card(), "staff:test").await.unwrap_err();
        assert_eq!(err.code(), "card_holder_mismatch");
        let reject = custos_app::kyc::ReviewDecision::Reject(vec![custos_domain::kyc::StepFinding {
            step: Some(Step::BankCard),
            reason: custos_domain::kyc::RejectReason::CardHolderMismatch,
        }]);
        assert_eq!(
            t.app.kyc().review_verification(again.id, &index, reject, "staff:test").await.unwrap(),
            VerificationState::Failed
        );
        let holders: Vec<Option<String>> =
            sqlx::query_scalar("SELECT holder_enc FROM cards").fetch_all(t.store.pool()).await.unwrap();
        assert!(holders.iter().flatten().all(|h| !h.contains("Jane") && !h.contains("Tom")), "holders encrypted");
        let hashes: Vec<Option<String>> =
            sqlx::query_scalar("SELECT identity_name_hash FROM verifications").fetch_all(t.store.pool()).await.unwrap();
        assert!(hashes.iter().flatten().all(|h| !h.to_uppercase().contains("TOM")), "only a keyed hash of the name");
    }
);

fn approve_card() -> custos_app::kyc::ReviewDecision {
    custos_app::kyc::ReviewDecision::Approve { identity_name: None }
}

both!(
    kyc_manual_review_documents_are_checked_stripped_encrypted_and_deleted_after_the_decision,
    |t: TestApp| async move {
        use custos_domain::kyc::Step;
        t.app.accounts().register_customer("rita@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
        let order = t.app.intake().create_order(new_order("rita@example.com"), "test").await.unwrap();
        let index = order.customer_email_index.clone().unwrap();
        let v = t.app.kyc().request_verification(&index, Some(order.id), "full", "staff:test").await.unwrap();
        let submit = |step: Step, bytes: Vec<u8>, issued: Option<&'static str>| {
            let (app, index) = (t.app.clone(), index.clone());
            // KYC-1/KYC-3: the customer names the document.
            let kind = match step {
                Step::Identity => Some("international_passport"),
                Step::ProofOfAddress => Some("utility_bill"),
                _ => None,
            };
            async move {
                let upload = VerificationUpload { step, kind, bytes: &bytes, issued_on: issued };
                app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await
            }
        };
        // KYC-3: today is 2026-01-01; a proof issued 2025-09-30 is three months and a day old.
        let pdf = b"%PDF-1.4 utility bill".to_vec();
        let err = submit(Step::ProofOfAddress, pdf.clone(), Some("2025-09-30")).await.unwrap_err();
        assert_eq!(err.code(), "address_document_too_old");
        assert!(err.to_string().contains("2025-10-01 or later"), "{err}");
        assert_eq!(submit(Step::ProofOfAddress, pdf.clone(), None).await.unwrap_err().code(), "issue_date_required");
        submit(Step::ProofOfAddress, pdf, Some("2025-10-01")).await.unwrap();
        assert_eq!(submit(Step::Identity, b"GIF89a".to_vec(), None).await.unwrap_err().code(), "unsupported_file");
        let photo = png_with_text();
        // KYC-1: an identity document must be one of the three accepted, and named.
        for kind in [None, Some("driving_licence")] {
            let upload = VerificationUpload { step: Step::Identity, kind, bytes: &photo, issued_on: None };
            let err = t.app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap_err();
            assert_eq!(err.code(), "document_kind");
            assert!(err.to_string().contains("national_passport, international_passport, id_card"), "{err}");
        }
        let card_photo = VerificationUpload { step: Step::BankCard, kind: None, bytes: &photo, issued_on: None };
        let err = t.app.kyc().submit_verification_file(&index, v.id, card_photo, "customer:test").await.unwrap_err();
        assert_eq!(err.code(), "step_not_requested", "the full level asks for no card");
        let file = submit(Step::Identity, photo.clone(), None).await.unwrap();
        assert_eq!(
            (file.content_type.as_str(), file.document_kind.as_deref()),
            ("image/png", Some("international_passport"))
        );
        assert_eq!(
            t.app.kyc().verifications_of(&index).await.unwrap()[0].state,
            VerificationState::OnHold,
            "an officer looks at it"
        );
        // Stored encrypted and without its metadata.
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT content_enc FROM verification_files").fetch_all(t.store.pool()).await.unwrap();
        assert!(stored.iter().all(|c| !c.contains("IHDR") && !c.contains("Ivanova")));
        let (_, opened) = t.app.kyc().open_verification_file(file.id, "staff:test").await.unwrap();
        assert!(
            !String::from_utf8_lossy(&opened).contains("Ivanova")
                && String::from_utf8_lossy(&opened).contains("passport pixels")
        );
        // KYC-2: the reviewer's checklist.
        let checklist = t.app.kyc().sheet_checklist(&v).await.unwrap();
        assert_eq!((checklist.date.as_str(), checklist.order_number), ("2026-01-01", order.number));
        // Per step: the address proof is unreadable; only it goes and is asked again.
        let finding = custos_domain::kyc::StepFinding {
            step: Some(Step::ProofOfAddress),
            reason: custos_domain::kyc::RejectReason::Unreadable,
        };
        let retry = custos_app::kyc::ReviewDecision::Retry(vec![finding]);
        t.app.kyc().review_verification(v.id, &index, retry, "staff:test").await.unwrap();
        let now = t.app.kyc().verifications_of(&index).await.unwrap().remove(0);
        assert_eq!((now.state, now.reject_labels.clone()), (VerificationState::Resubmission, vec![finding.label()]));
        let left: Vec<Step> = t.app.kyc().verification_files(v.id).await.unwrap().iter().map(|f| f.step).collect();
        assert_eq!(left, [Step::Identity], "the passport stays for the review");
        let empty = custos_app::kyc::ReviewDecision::Retry(vec![]);
        assert_eq!(
            t.app.kyc().review_verification(v.id, &index, empty, "staff:test").await.unwrap_err().code(),
            "reason_required"
        );
        submit(Step::ProofOfAddress, b"%PDF-1.4 utility bill".to_vec(), Some("2025-12-01")).await.unwrap();
        // An identity is approved with the name the document shows (KYC-4 compares with it).
        let unnamed = custos_app::kyc::ReviewDecision::Approve { identity_name: None };
        let err = t.app.kyc().review_verification(v.id, &index, unnamed, "staff:test").await.unwrap_err();
        assert_eq!(err.code(), "identity_name_required");
        assert_eq!(
            t.app.kyc().verification_files(v.id).await.unwrap().len(),
            2,
            "nothing deleted by a refused decision"
        );
        // The decision ends the review: the documents are gone, and nothing is left to open.
        t.app.kyc().review_verification(v.id, &index, approve("Rita Example"), "staff:test").await.unwrap();
        assert!(t.app.kyc().verification_files(v.id).await.unwrap().is_empty());
        let left: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM verification_files").fetch_one(t.store.pool()).await.unwrap();
        assert_eq!(left, 0, "retention: nothing kept after the review");
        assert_eq!(
            t.app.kyc().open_verification_file(file.id, "staff:test").await.unwrap_err().code(),
            "document_not_found"
        );
        assert_no_document_on_disk(&t, &[b"passport pixels", b"utility bill"]);

        // The retention job: a decision written but its documents not deleted (a crash between
        // the two) is caught; documents under review stay.
        let decided = t.app.kyc().request_verification(&index, Some(order.id), "identity", "staff:test").await.unwrap();
        let open = t.app.kyc().request_verification(&index, Some(order.id), "identity", "staff:test").await.unwrap();
        for v in [&decided, &open] {
            let upload = VerificationUpload { step: Step::Selfie, kind: None, bytes: &photo, issued_on: None };
            t.app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap();
        }
        sqlx::query("UPDATE verifications SET state = 'verified' WHERE id = $1")
            .bind(decided.id.to_string())
            .execute(t.store.pool())
            .await
            .unwrap();
        assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().documents_purged, 1);
        assert!(t.app.kyc().verification_files(decided.id).await.unwrap().is_empty(), "nothing kept after a decision");
        assert_eq!(t.app.kyc().verification_files(open.id).await.unwrap().len(), 1, "under review: kept");
        assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().documents_purged, 0);
        let audit = t.store.audit_entries(0, 10_000).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "kyc.documents_purged"));
        let audit = t.store.audit_entries(0, 10_000).await.unwrap();
        assert!(audit.iter().any(|e| e.action == "kyc.documents_deleted" && e.entity_id == v.id.to_string()));
        assert_eq!(submit(Step::Selfie, photo, None).await.unwrap_err().code(), "verification_closed");
    }
);

both!(kyc_manual_review_through_the_pages, |t: TestApp| async move {
    use custos_app::accounts::records::AccountKind;
    let base = t.serve_only().await;
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let accounts = t.app.accounts();
    accounts.register_customer("sara@example.com", "violet tractor 42 umbrella", "en").await.unwrap();
    let order = t.app.intake().create_order(new_order("sara@example.com"), "test").await.unwrap();
    let index = order.customer_email_index.clone().unwrap();
    let v = t.app.kyc().request_verification(&index, Some(order.id), "full", "staff:test").await.unwrap();
    let (token, _) = accounts
        .login(AccountKind::Customer, "sara@example.com", "violet tractor 42 umbrella", "127.0.0.1", None)
        .await
        .unwrap();
    let cookie = format!("__Host-custos_customer={token}");
    let page = c
        .get(format!("{base}/cabinet/kyc/{}", v.id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("2026-01-01") && page.contains(&format!("№ {}", order.number)), "the A4 sheet's values");
    assert!(page.contains("value=\"national_passport\"") && page.contains("value=\"utility_bill\""), "KYC-1, KYC-3");
    let send = |step: &'static str, bytes: Vec<u8>, issued: &'static str| {
        let kind = if step == "proof_of_address" { "bank_statement" } else { "" };
        let form = reqwest::multipart::Form::new()
            .text("csrf", custos_crypto::derive_token(&token, "csrf"))
            .text("step", step)
            .text("kind", kind)
            .text("issued_on", issued)
            .part("document", reqwest::multipart::Part::bytes(bytes).file_name("x"));
        c.post(format!("{base}/cabinet/kyc/{}/documents", v.id)).header("cookie", &cookie).multipart(form).send()
    };
    let r = send("proof_of_address", b"%PDF-1.4 bill".to_vec(), "2025-09-30").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("2025-10-01 or later"), "KYC-3's reason");
    assert!(send("proof_of_address", b"%PDF-1.4 bill".to_vec(), "2025-12-15").await.unwrap().status().is_redirection());
    assert!(send("selfie", png_with_text(), "").await.unwrap().status().is_redirection());

    let (officer, _) = {
        accounts
            .create_staff("olga@example.com", "violet tractor 42 umbrella", custos_domain::access::Role::Officer, None)
            .await
            .unwrap();
        enrol(&t, AccountKind::Staff, "olga@example.com", "violet tractor 42 umbrella", "127.0.0.1").await
    };
    let (support, _) = {
        accounts
            .create_staff("sam@example.com", "violet tractor 42 umbrella", custos_domain::access::Role::Support, None)
            .await
            .unwrap();
        enrol(&t, AccountKind::Staff, "sam@example.com", "violet tractor 42 umbrella", "127.0.0.1").await
    };
    let customer = t.store.list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap();
    let page = c
        .get(format!("{base}/office/customers/{}", customer.id))
        .header("cookie", format!("__Host-custos_staff={officer}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("a4-checklist") && page.contains(&format!("№ {}", order.number)));
    let link = page.split("href=\"/office/verification-files/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let get = |who: &str| {
        c.get(format!("{base}/office/verification-files/{link}"))
            .header("cookie", format!("__Host-custos_staff={who}"))
            .send()
    };
    assert_eq!(get(&support).await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = get(&officer).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox"));
    t.app.kyc().review_verification(v.id, &index, approve("Rita Example"), "staff:test").await.unwrap();
    assert_eq!(get(&officer).await.unwrap().status(), StatusCode::NOT_FOUND, "deleted with the decision");
});
