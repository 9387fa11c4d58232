//! SEC-6 key rotation on SQLite and PostgreSQL: after a new master key, every sealed value is
//! sealed again under it, lookups by blind index keep working, and the old key can go.

use crate::common::*;
use custos_app::accounts::records::AccountKind;
use custos_crypto::MasterKey;
use custos_domain::kyc::Step;

const PASSWORD: &str = "violet tractor 42 umbrella";
const CARD: &str = "4276 3800 1234 5679";

both!(sec6_a_rotation_reseals_every_value_and_the_old_key_can_go, |t: TestApp| async move {
    // Personal data in several tables, sealed under the first key.
    t.app.accounts().register_customer("ada@example.com", PASSWORD, "en").await.unwrap();
    enrol(&t, AccountKind::Customer, "ada@example.com", PASSWORD, "127.0.0.1").await;
    let order = t.app.intake().create_order(new_order("ada@example.com"), "test").await.unwrap();
    let index = order.customer_email_index.clone().unwrap();
    let (card, _) = t.app.kyc().register_card(order.id, CARD, Some("Ada Example"), "test").await.unwrap();
    let v = t.app.kyc().request_verification(&index, Some(order.id), "full", "staff:test").await.unwrap();
    let photo = png_with_text();
    let upload = custos_app::kyc::VerificationUpload {
        step: Step::Identity,
        kind: Some("id_card"),
        bytes: &photo,
        issued_on: None,
    };
    let file = t.app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap();
    let old = t.master_key.clone();

    // Rotate: a new current key, the old one still configured; re-seal in small batches.
    let new = MasterKey::generate();
    let t = t.restart_with_keys(new.clone(), vec![old.clone()]).await;
    let before = t.app.keys().sealed_key_ids().await.unwrap();
    let customers = "customer data keys";
    assert!(before.iter().all(|(_, id, _)| id == old.id() || id == customers), "{before:?}");
    let under =
        |id: &str| -> Vec<String> { before.iter().filter(|(_, k, _)| k == id).map(|(c, _, _)| c.clone()).collect() };
    assert_eq!(under(old.id()), ["accounts.totp_secret_enc", "data_keys.wrapped"], "under the master key");
    assert_eq!(
        under(customers),
        ["accounts.email_enc", "cards.holder_enc", "orders.customer_email_enc", "verification_files.content_enc"],
        "the customer's personal data, under their data key"
    );
    let sealed: u64 = before.iter().filter(|(_, k, _)| k == old.id()).map(|(_, _, n)| n).sum();
    let seen = std::sync::Mutex::new(0u64);
    let report = t.app.keys().reseal_all(3, &|n| *seen.lock().unwrap() = n).await.unwrap();
    assert_eq!((report.resealed, report.raced, report.unreadable.len()), (sealed, 0, 0), "{report:?}");
    assert!(*seen.lock().unwrap() >= sealed, "progress is reported");
    let after = t.app.keys().sealed_key_ids().await.unwrap();
    assert!(after.iter().all(|(_, id, _)| id == new.id() || id == customers), "none under the old key: {after:?}");
    assert_eq!(t.app.keys().reseal_all(3, &|_| {}).await.unwrap().resealed, 0, "a second pass has nothing to do");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "keys.resealed"), "the rotation is in the audit log");

    // The old key leaves the configuration: everything still opens and every lookup still finds.
    let t = t.restart_with_keys(new, vec![]).await;
    let accounts = t.app.accounts();
    let (token, _) =
        accounts.login(AccountKind::Customer, "ada@example.com", PASSWORD, "127.0.0.1", None).await.unwrap();
    assert!(!token.is_empty(), "the e-mail's blind index survived the rotation");
    let account = t.store.list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap();
    assert_eq!(accounts.email_of(&account).unwrap(), "ada@example.com");
    let (_, bytes) = t.app.kyc().open_verification_file(file.id, "staff:test").await.unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("passport pixels"));
    let (again, _) = t.app.kyc().register_card(order.id, CARD, None, "test").await.unwrap();
    assert_eq!(again.id, card.id, "the card's keyed hash survived the rotation");
});

both!(sec6_a_master_key_that_cannot_open_the_index_key_stops_the_start, |t: TestApp| async move {
    t.app.accounts().register_customer("bea@example.com", PASSWORD, "en").await.unwrap();
    let err = t.try_restart_with_keys(MasterKey::generate(), vec![]).await.err().expect("a wrong key must not start");
    assert!(err.contains("master key it was sealed with"), "the cure is named: {err}");
});

both!(sec6_erasing_a_customer_deletes_their_data_key_once_the_law_allows, |t: TestApp| async move {
    use custos_app::keys::ErasureRules;
    use custos_app::Clock;
    use serde_json::json;
    let (base, key) = t.serve().await;
    let c = reqwest::Client::new();
    let accounts = t.app.accounts();
    for email in ["cleo@example.com", "dan@example.com"] {
        accounts.register_customer(email, PASSWORD, "en").await.unwrap();
    }
    let order_of = |email: &'static str| {
        let (c, base, key) = (c.clone(), base.clone(), key.clone());
        async move {
            let (_, o) = post(
                &c,
                format!("{base}/api/v1/orders"),
                &key,
                json!({"customer_email": email, "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
                       "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
            )
            .await;
            o
        }
    };
    let (cleo, _dan) = (order_of("cleo@example.com").await, order_of("dan@example.com").await);
    let id = uuid::Uuid::parse_str(cleo["id"].as_str().unwrap()).unwrap();
    let index = t.app.queries().order(id).await.unwrap().order.customer_email_index.unwrap();
    t.app.kyc().register_card(id, CARD, Some("Cleo Example"), "test").await.unwrap();
    let rules = ErasureRules::default();
    let err = t.app.keys().erase_customer("cleo@example.com", &rules, "staff:dpo").await.unwrap_err();
    assert!(err.code() == "erasure_not_allowed" && err.to_string().contains("awaiting_deposit"), "{err}");

    // KYC, a clean deposit, the payout: the business is done.
    let v = t.app.kyc().request_verification(&index, Some(id), "identity", "staff:test").await.unwrap();
    let photo = png_with_text();
    let upload = custos_app::kyc::VerificationUpload {
        step: Step::Identity,
        kind: Some("id_card"),
        bytes: &photo,
        issued_on: None,
    };
    t.app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap();
    let approve = custos_app::kyc::ReviewDecision::Approve { identity_name: Some("Cleo Example".into()) };
    t.app.kyc().review_verification(v.id, &index, approve, "staff:test").await.unwrap();
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH", "address": cleo["deposit"]["address"], "index": 0,
               "amount": "1000", "txid": format!("0x{}", "c1".repeat(32)), "sources": [CLEAN_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "accepted", "{dep}");
    post(&c, format!("{base}/api/v1/orders/{id}/payout"), &key, json!({})).await;
    let (_, done) =
        post(&c, format!("{base}/api/v1/orders/{id}/payout/complete"), &key, json!({"txid": "b".repeat(64)})).await;
    assert_eq!(done["status"], "completed");
    let err = t.app.keys().erase_customer("cleo@example.com", &rules, "staff:dpo").await.unwrap_err();
    assert!(err.to_string().contains("AML records are kept until 2030-12-31"), "{err}");

    // Five years and a day later the data may go.
    // What a backup taken now would hold of her: her account's sealed e-mail.
    let (cleo_id, backup): (String, String) =
        sqlx::query_as("SELECT id, email_enc FROM accounts WHERE email_index = $1")
            .bind(&index)
            .fetch_one(t.store.pool())
            .await
            .unwrap();
    t.clock.advance_ms(rules.retention_ms + 86_400_000);
    let erased = t.app.keys().erase_customer("Cleo@Example.com ", &rules, "staff:dpo").await.unwrap();
    assert_eq!(erased, 1, "her data key");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "customer.erased").expect("audited");
    assert!(!entry.data.to_string().contains(&index) && !entry.data.to_string().contains("cleo"));

    // Nothing of hers can be read any more, even after a restart with the same master key;
    // the order stays, unlinked; Dan is untouched.
    let login = accounts.login(
        custos_app::accounts::records::AccountKind::Customer,
        "cleo@example.com",
        PASSWORD,
        "127.0.0.1",
        None,
    );
    assert!(login.await.is_err(), "she can no longer sign in");
    assert!(t.store.orders_of_customer(&index, 10).await.unwrap().is_empty());
    let order = t.app.queries().order(id).await.unwrap().order;
    assert!(order.customer_email_index.as_deref().is_some_and(|i| i.starts_with("erased:")));
    let master = t.master_key.clone();
    let t = t.restart_with_keys(master, vec![]).await;
    let all = t.store.list_accounts(custos_app::accounts::records::AccountKind::Customer).await.unwrap();
    let opened: Vec<bool> = all.iter().map(|a| t.app.accounts().email_of(a).is_ok()).collect();
    assert_eq!(opened.iter().filter(|ok| **ok).count(), 1, "only Dan's e-mail still opens");
    let wrapped: Option<String> = sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE id = $1")
        .bind(custos_crypto::FieldCipher::data_key_id(&backup).unwrap())
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(wrapped, None, "the key itself is gone, not just hidden");
    let email: Option<String> = sqlx::query_scalar("SELECT customer_email_enc FROM orders WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(email, None, "and the sealed values with it");
    let holders: Vec<Option<String>> =
        sqlx::query_scalar("SELECT holder_enc FROM cards").fetch_all(t.store.pool()).await.unwrap();
    assert_eq!(holders, [None]);
    // Restoring the backup's ciphertext brings nothing back: its key is gone.
    sqlx::query("UPDATE accounts SET email_enc = $1 WHERE id = $2")
        .bind(&backup)
        .bind(&cleo_id)
        .execute(t.store.pool())
        .await
        .unwrap();
    let restored = t.store.get_account(uuid::Uuid::parse_str(&cleo_id).unwrap()).await.unwrap().unwrap();
    let err = t.app.accounts().email_of(&restored).unwrap_err();
    assert!(err.to_string().contains("erased") || err.to_string().contains("not configured"), "{err}");
    let err = t.app.keys().erase_customer("cleo@example.com", &rules, "staff:dpo").await.unwrap_err();
    assert_eq!(err.code(), "customer_not_found", "nothing is left to find her by");
    let _ = t.clock.now_ms();
});
