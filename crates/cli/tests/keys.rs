//! SEC-6 key rotation on SQLite and PostgreSQL: after a new master key, every sealed value is
//! sealed again under it, lookups by blind index keep working, and the old key can go.

mod common;

use common::*;
use custos_app::accounts::records::AccountKind;
use custos_crypto::MasterKey;
use custos_domain::kyc::Step;

const PASSWORD: &str = "violet tractor 42 umbrella";
const CARD: &str = "4276 3800 1234 5679";

both!(sec6_a_rotation_reseals_every_value_and_the_old_key_can_go, |t: TestApp| async move {
    // Personal data in several tables, sealed under the first key.
    t.app.accounts().register_customer("ada@example.com", PASSWORD, "en").await.unwrap();
    enrol(&t, AccountKind::Customer, "ada@example.com", PASSWORD, "127.0.0.1").await;
    let order = t
        .app
        .create_order(
            custos_app::model::NewOrder {
                external_id: None,
                customer_email: Some("ada@example.com".into()),
                pay_network: custos_domain::Network::Ethereum,
                pay_asset: custos_domain::Asset::Eth,
                pay_amount: custos_domain::Amount(1000),
                receive_network: custos_domain::Network::Bitcoin,
                receive_asset: custos_domain::Asset::Btc,
                receive_amount: custos_domain::Amount(10),
                receive_address: custos_domain::Address::parse(custos_domain::Network::Bitcoin, CLEAN_BTC).unwrap(),
            },
            "test",
        )
        .await
        .unwrap();
    let index = order.customer_email_index.clone().unwrap();
    let (card, _) = t.app.register_card(order.id, CARD, Some("Ada Example"), "test").await.unwrap();
    let v = t.app.request_verification(&index, Some(order.id), "full", "staff:test").await.unwrap();
    let photo = png_with_text();
    let upload = custos_app::kyc::VerificationUpload {
        step: Step::Identity,
        kind: Some("id_card"),
        bytes: &photo,
        issued_on: None,
    };
    let file = t.app.submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap();
    let old = t.master_key.clone();

    // Rotate: a new current key, the old one still configured; re-seal in small batches.
    let new = MasterKey::generate();
    let t = t.restart_with_keys(new.clone(), vec![old.clone()]).await;
    let before = t.app.sealed_key_ids().await.unwrap();
    assert!(before.iter().all(|(_, id, _)| id == old.id()), "all under the old key: {before:?}");
    let columns: Vec<&str> = before.iter().map(|(c, _, _)| c.as_str()).collect();
    for c in [
        "data_keys.wrapped",
        "accounts.email_enc",
        "accounts.totp_secret_enc",
        "orders.customer_email_enc",
        "cards.holder_enc",
        "verification_files.content_enc",
    ] {
        assert!(columns.contains(&c), "{c} is sealed and counted: {columns:?}");
    }
    let sealed: u64 = before.iter().map(|(_, _, n)| n).sum();
    let seen = std::sync::Mutex::new(0u64);
    let report = t.app.reseal_all(3, &|n| *seen.lock().unwrap() = n).await.unwrap();
    assert_eq!((report.resealed, report.raced, report.unreadable.len()), (sealed, 0, 0), "{report:?}");
    assert!(*seen.lock().unwrap() >= sealed, "progress is reported");
    let after = t.app.sealed_key_ids().await.unwrap();
    assert!(after.iter().all(|(_, id, _)| id == new.id()), "nothing left under the old key: {after:?}");
    assert_eq!(t.app.reseal_all(3, &|_| {}).await.unwrap().resealed, 0, "a second pass has nothing to do");
    let audit = t.app.store().audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "keys.resealed"), "the rotation is in the audit log");

    // The old key leaves the configuration: everything still opens and every lookup still finds.
    let t = t.restart_with_keys(new, vec![]).await;
    let accounts = t.app.accounts();
    let (token, _) =
        accounts.login(AccountKind::Customer, "ada@example.com", PASSWORD, "127.0.0.1", None).await.unwrap();
    assert!(!token.is_empty(), "the e-mail's blind index survived the rotation");
    let account = t.app.store().list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap();
    assert_eq!(accounts.email_of(&account).unwrap(), "ada@example.com");
    let (_, bytes) = t.app.open_verification_file(file.id, "staff:test").await.unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("passport pixels"));
    let (again, _) = t.app.register_card(order.id, CARD, None, "test").await.unwrap();
    assert_eq!(again.id, card.id, "the card's keyed hash survived the rotation");
});

both!(sec6_a_master_key_that_cannot_open_the_index_key_stops_the_start, |t: TestApp| async move {
    t.app.accounts().register_customer("bea@example.com", PASSWORD, "en").await.unwrap();
    let err = t.try_restart_with_keys(MasterKey::generate(), vec![]).await.err().expect("a wrong key must not start");
    assert!(err.contains("master key it was sealed with"), "the cure is named: {err}");
});
