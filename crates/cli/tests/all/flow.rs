//! FLOW-1, RISK-1..3, ADDR-1 and DESIGN.md's invariants, through the use cases, on both databases.

use crate::common::*;
use custos_app::model::{NewDeposit, NewOrder, OrderRecord};
use custos_app::{AppError, Clock};
use custos_domain::policy::Action;
use custos_domain::{Address, Amount, Asset, Network, OrderStatus, RiskCategory};
use std::collections::HashSet;
use std::sync::Arc;

fn eth(a: &str) -> Address {
    Address::parse(Network::Ethereum, a).unwrap()
}

fn order_request(network: Network) -> NewOrder {
    let asset = network.native_asset();
    NewOrder {
        external_id: Some("ext-1".into()),
        customer_email: Some("Alice@Example.com".into()),
        pay_network: network,
        pay_asset: asset,
        pay_amount: Amount(1_000_000),
        receive_network: Network::Bitcoin,
        receive_asset: Asset::Btc,
        receive_amount: Amount(5_000),
        receive_address: Address::parse(Network::Bitcoin, CLEAN_BTC).unwrap(),
    }
}

async fn order(t: &TestApp) -> OrderRecord {
    t.app.intake().create_order(order_request(Network::Ethereum), "test").await.unwrap()
}

fn txid(seed: &str) -> String {
    format!("0x{}", custos_crypto::sha256_hex(seed.as_bytes()))
}

fn deposit(o: &OrderRecord, seed: &str, sources: &[&str]) -> NewDeposit {
    NewDeposit {
        network: Network::Ethereum,
        asset: Asset::Eth,
        address: eth(&o.deposit_address),
        txid: txid(seed),
        index: 0,
        amount: Amount(1_000_000),
        sources: sources.iter().map(|s| eth(s)).collect(),
        confirmations: Some(12),
    }
}

both!(flow_1_a_clean_deposit_is_accepted, |t: TestApp| async move {
    let o = order(&t).await;
    assert_eq!(o.status, OrderStatus::AwaitingDeposit);
    let out = t.app.intake().report_deposit(deposit(&o, "clean", &[CLEAN_ETH]), "test").await.unwrap();
    assert!(out.created);
    assert_eq!(out.screening.decision.action, Action::Proceed);
    assert_eq!(out.order.status, OrderStatus::Accepted);
    assert!(out.case.is_none());
    // Every source and the deposit address itself were screened.
    let screened: HashSet<&str> = out.screening.reports.iter().map(|r| &*r.address).collect();
    assert!(screened.contains(eth(CLEAN_ETH).as_str()) && screened.contains(o.deposit_address.as_str()));
    let view = t.app.queries().order(o.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::Accepted);
    assert_eq!(view.deposits.len(), 1);
    assert_eq!(view.screenings.len(), 1);
});

both!(risk_3_a_sanctioned_source_rejects_the_order_and_opens_a_case, |t: TestApp| async move {
    let o = order(&t).await;
    let out =
        t.app.intake().report_deposit(deposit(&o, "tainted", &[CLEAN_ETH, SANCTIONED_ETH]), "test").await.unwrap();
    let d = &out.screening.decision;
    assert_eq!(d.action, Action::Reject);
    assert!(d.requires_kyc);
    assert!(d.categories.iter().any(|c| c.category == RiskCategory::Sanctions && c.direct));
    assert!(d.explanation().contains("sanctions") && d.explanation().contains("OFAC SDN"), "{}", d.explanation());
    assert_eq!(out.order.status, OrderStatus::Rejected);
    let case = out.case.expect("a case is opened");
    assert_eq!(case.action, Action::Reject);
    assert_eq!(case.status.as_str(), "open");
    assert_eq!(case.due_at_ms - case.opened_at_ms, 24 * 3_600_000, "KYC deadline 24 h");
    let view = t.app.queries().order(o.id).await.unwrap();
    assert_eq!(view.cases.len(), 1);
});

both!(risk_3_a_gambling_source_holds_with_a_kyc_deadline, |t: TestApp| async move {
    let o = order(&t).await;
    let out = t.app.intake().report_deposit(deposit(&o, "gambling", &[GAMBLING_ETH]), "test").await.unwrap();
    assert_eq!(out.screening.decision.action, Action::Hold);
    assert_eq!(out.order.status, OrderStatus::OnHoldAwaitingCustomer);
    let case = out.case.unwrap();
    assert_eq!(case.deadline_kind.as_str(), "kyc");
    assert_eq!(case.due_at_ms, START_MS + 24 * 3_600_000);
});

both!(sla_2_an_elevated_category_goes_to_review_with_a_48_hour_deadline, |t: TestApp| async move {
    add_labels(t.store.as_ref(), "atm-list", &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Atm)], START_MS).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let o = order(&t).await;
    let out = t.app.intake().report_deposit(deposit(&o, "atm", &[CLEAN_ETH]), "test").await.unwrap();
    assert_eq!(out.screening.decision.action, Action::Review);
    assert_eq!(out.order.status, OrderStatus::InReview);
    let case = out.case.unwrap();
    assert_eq!(case.deadline_kind.as_str(), "review");
    assert_eq!(case.due_at_ms - case.opened_at_ms, 48 * 3_600_000);
});

both!(invariant_1_the_same_deposit_twice_is_one_deposit, |t: TestApp| async move {
    let o = order(&t).await;
    let first = t.app.intake().report_deposit(deposit(&o, "dup", &[GAMBLING_ETH]), "test").await.unwrap();
    let again = t.app.intake().report_deposit(deposit(&o, "dup", &[GAMBLING_ETH]), "test").await.unwrap();
    assert!(first.created && !again.created);
    assert_eq!(first.deposit.id, again.deposit.id);
    assert_eq!(first.case.as_ref().map(|c| c.id), again.case.as_ref().map(|c| c.id));
    let view = t.app.queries().order(o.id).await.unwrap();
    assert_eq!((view.deposits.len(), view.screenings.len(), view.cases.len()), (1, 1, 1));
});

both!(invariant_1_concurrent_duplicates_give_one_deposit, |t: TestApp| async move {
    let o = order(&t).await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (app, d) = (t.app.clone(), deposit(&o, "race", &[SANCTIONED_ETH]));
        tasks.push(tokio::spawn(async move { app.intake().report_deposit(d, "test").await.unwrap() }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let out = task.await.unwrap();
        ids.insert(out.deposit.id);
        created += usize::from(out.created);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(created, 1);
    let view = t.app.queries().order(o.id).await.unwrap();
    assert_eq!((view.deposits.len(), view.screenings.len(), view.cases.len()), (1, 1, 1));
});

both!(addr_1_a_hundred_concurrent_orders_get_a_hundred_distinct_valid_addresses, |t: TestApp| async move {
    let mut tasks = Vec::new();
    for i in 0..100 {
        let app = t.app.clone();
        let network = Network::ALL[i % 3];
        tasks.push(tokio::spawn(
            async move { app.intake().create_order(order_request(network), "test").await.unwrap() },
        ));
    }
    let mut seen = HashSet::new();
    let mut numbers = HashSet::new();
    for task in tasks {
        let o = task.await.unwrap();
        // Valid on its network, and the address of its derivation index.
        Address::parse(o.pay_network, &o.deposit_address).unwrap();
        assert_eq!(demo_key(o.pay_network).address(o.deposit_index).unwrap().as_str(), o.deposit_address);
        assert!(seen.insert((o.pay_network, o.deposit_address.clone())), "address reused");
        assert!(numbers.insert(o.number));
    }
    assert_eq!(seen.len(), 100);
});

both!(addr_1_addresses_are_never_reused_across_restarts, |t: TestApp| async move {
    let before: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(order(&t).await.deposit_address);
        }
        v
    };
    let t = t.restart(Options::default()).await;
    let after = order(&t).await;
    assert!(!before.contains(&after.deposit_address));
    assert_eq!(after.deposit_index, 3);
});

both!(bad_input_unknown_address_wrong_asset_and_unconfigured_network_are_clear_errors, |t: TestApp| async move {
    let o = order(&t).await;
    let mut stray = deposit(&o, "stray", &[]);
    stray.address = eth(CLEAN_ETH);
    let e = t.app.intake().report_deposit(stray, "test").await.unwrap_err();
    assert_eq!(e.code(), "unknown_deposit_address");
    let mut usdt = deposit(&o, "usdt", &[]);
    usdt.asset = Asset::Usdt;
    assert_eq!(t.app.intake().report_deposit(usdt, "test").await.unwrap_err().code(), "asset_mismatch");
    let t = t.restart(Options { networks: vec![Network::Bitcoin], ..Options::default() }).await;
    let e = t.app.intake().create_order(order_request(Network::Tron), "test").await.unwrap_err();
    assert!(matches!(e, AppError::Conflict { code: custos_app::ErrorCode::NetworkNotConfigured, .. }));
});

both!(invariant_5_the_audit_chain_holds_and_a_tampered_row_is_named, |t: TestApp| async move {
    let o = order(&t).await;
    t.app.intake().report_deposit(deposit(&o, "a", &[SANCTIONED_ETH]), "test").await.unwrap();
    let n = t.app.verify_audit().await.unwrap().unwrap();
    assert!(n >= 6, "order, deposit, screening, status, case, labels, policy: {n}");
    // Nothing personal in the audit log.
    let entries = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(entries.iter().all(|e| !e.data.to_lowercase().contains("alice")));
    assert!(entries.iter().any(|e| e.action == "case.opened"));
    // The log refuses changes through SQL...
    let pool = t.store.pool();
    assert!(sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 3").execute(pool).await.is_err());
    // ...so an attacker must first remove the guard; verification still names the row.
    drop_audit_guards(&t).await;
    sqlx::query("UPDATE audit_log SET data = '{\"tampered\":true}' WHERE seq = 3").execute(pool).await.unwrap();
    let broken = t.app.verify_audit().await.unwrap().unwrap_err();
    assert_eq!(broken, custos_domain::audit::ChainBreak::Altered { seq: 3 });
});

both!(invariant_5_a_removed_audit_row_is_named, |t: TestApp| async move {
    order(&t).await;
    order(&t).await;
    drop_audit_guards(&t).await;
    let last = t.store.audit_head().await.unwrap().unwrap().0;
    sqlx::query("DELETE FROM audit_log WHERE seq = 2").execute(t.store.pool()).await.unwrap();
    assert!(matches!(
        t.app.verify_audit().await.unwrap(),
        Err(custos_domain::audit::ChainBreak::Unlinked { seq: 3, .. })
    ));
    sqlx::query(&format!("DELETE FROM audit_log WHERE seq >= 2 AND seq <= {last}"))
        .execute(t.store.pool())
        .await
        .unwrap();
    assert!(matches!(t.app.verify_audit().await.unwrap(), Err(custos_domain::audit::ChainBreak::Truncated { .. })));
});

async fn drop_audit_guards(t: &TestApp) {
    let statements: &[&str] = match t.backend {
        Backend::Sqlite => &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"],
        Backend::Postgres => &["DROP TRIGGER audit_log_no_update ON audit_log"],
    };
    for s in statements {
        sqlx::query(s).execute(t.store.pool()).await.unwrap();
    }
}

both!(invariant_4_customer_email_is_encrypted_at_rest, |t: TestApp| async move {
    let o = order(&t).await;
    let row: (String, String) =
        sqlx::query_as("SELECT customer_email_enc, customer_email_index FROM orders WHERE id = $1")
            .bind(o.id.to_string())
            .fetch_one(t.store.pool())
            .await
            .unwrap();
    assert!(!row.0.to_lowercase().contains("alice"));
    // Sealed with the customer's data key, which the master key wraps.
    let cipher = custos_crypto::FieldCipher::new(t.master_key.clone(), vec![]);
    let key_id = custos_crypto::FieldCipher::data_key_id(&row.0).expect("sealed with a data key").to_owned();
    let wrapped: String = sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE id = $1 AND owner = $2")
        .bind(&key_id)
        .bind(format!("customer:{}", row.1))
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    let key =
        cipher.unwrap_key(&wrapped, custos_crypto::Aad { table: "data_keys", column: "key", row: &key_id }).unwrap();
    cipher.hold(&custos_crypto::DataKey::from_parts(&key_id, key));
    let aad = custos_crypto::Aad { table: "orders", column: "customer_email", row: &o.id.to_string() };
    assert_eq!(cipher.decrypt(&row.0, aad).unwrap(), "alice@example.com");
    assert_eq!(row.1, cipher.blind_index("customer_email", "alice@example.com"));
});

both!(labels_re_importing_a_source_replaces_it, |t: TestApp| async move {
    let stats = |t: &TestApp| {
        let store = t.store.clone();
        async move { store.label_stats().await.unwrap() }
    };
    add_labels(
        t.store.as_ref(),
        "desk2",
        &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Scam), (Network::Ethereum, GAMBLING_ETH, RiskCategory::Scam)],
        START_MS,
    )
    .await;
    add_labels(t.store.as_ref(), "desk2", &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Scam)], START_MS + 1).await;
    let s = stats(&t).await;
    let desk2 = s.iter().find(|s| s.name == "desk2").unwrap();
    assert_eq!(desk2.labels, 1);
    assert_eq!(desk2.imported_at_ms, START_MS + 1);
    let index = custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap();
    let hits = index.lookup(Network::Ethereum, eth(CLEAN_ETH).as_str());
    assert_eq!(hits.len(), 1, "no duplicates after re-import");
    assert_eq!(&*index.source(hits[0].source).name, "desk2");
    assert!(
        s.iter().any(|s| s.name == "ofac-sdn" && s.labels == 621),
        "the bundled OFAC list is loaded on first start"
    );
});

both!(policy_versions_are_recorded_and_a_change_is_a_new_version, |t: TestApp| async move {
    assert_eq!(t.app.policy_version(), 1);
    let o = order(&t).await;
    let out = t.app.intake().report_deposit(deposit(&o, "v1", &[CLEAN_ETH]), "test").await.unwrap();
    assert_eq!(out.screening.policy_version, 1);
    let mut policy = custos_domain::Policy::default();
    policy.band_actions.medium = Action::Proceed;
    let t = t.restart(Options { policy, ..Options::default() }).await;
    assert_eq!(t.app.policy_version(), 2);
    let t = t.restart(Options::default()).await;
    assert_eq!(t.app.policy_version(), 3, "going back is a change too");
    let t = t.restart(Options::default()).await;
    assert_eq!(t.app.policy_version(), 3, "no change, no new version");
});

both!(invariant_2_an_analyzer_that_times_out_sends_the_deposit_to_review, |t: TestApp| async move {
    struct Stuck;
    #[async_trait::async_trait]
    impl custos_app::Analyzer for Stuck {
        fn name(&self) -> &str {
            "stuck"
        }
        async fn screen_address(&self, _: &Address) -> custos_domain::RiskReport {
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            unreachable!()
        }
    }
    let app = custos_app::App::new(custos_app::AppParts {
        store: t.store.clone(),
        screener: custos_app::screening::Screener::simple(
            t.clock.clone(),
            vec![t.builtin.clone(), Arc::new(Stuck)],
            std::time::Duration::from_millis(50),
        ),
        policy: custos_domain::Policy::default(),
        derivers: vec![Arc::new(demo_key(Network::Ethereum))],
        cipher: custos_crypto::FieldCipher::new(t.master_key.clone(), vec![]),
        clock: t.clock.clone(),
        deadlines: Default::default(),
        monitoring: Default::default(),
        auth: Default::default(),
        mailer: t.mailer.clone(),
        kyc: None,
        kyc_rules: Default::default(),
        answers_by_key: false,
    })
    .await
    .unwrap();
    let o = app.intake().create_order(order_request(Network::Ethereum), "test").await.unwrap();
    let out = app.intake().report_deposit(deposit(&o, "stuck", &[CLEAN_ETH]), "test").await.unwrap();
    assert_eq!(out.screening.decision.action, Action::Review);
    assert!(out.screening.decision.explanation().contains("stuck"));
    assert_eq!(out.order.status, OrderStatus::InReview);
});

both!(pre_1_an_address_pre_check_is_recorded, |t: TestApp| async move {
    let s = t.app.screening().screen_address(&eth(SANCTIONED_ETH), "test").await.unwrap();
    assert_eq!(s.decision.action, Action::Reject);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM screenings WHERE id = $1")
        .bind(s.id.to_string())
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
});

both!(mon_1_a_new_label_import_flags_an_old_deposit_once, |t: TestApp| async move {
    let o = order(&t).await;
    let out = t.app.intake().report_deposit(deposit(&o, "old", &[CLEAN_ETH]), "test").await.unwrap();
    assert_eq!(out.order.status, OrderStatus::Accepted);
    t.clock.advance_ms(3 * 86_400_000);
    assert_eq!(t.app.screening().rescreen_recent(30 * 86_400_000).await.unwrap(), 0, "nothing new yet");
    add_labels(t.store.as_ref(), "new-intel", &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Scam)], t.clock.now_ms())
        .await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    assert_eq!(t.app.screening().rescreen_recent(30 * 86_400_000).await.unwrap(), 1);
    let view = t.app.queries().order(o.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::OnHoldAwaitingCustomer, "the accepted order is held now");
    assert_eq!(view.cases.len(), 1);
    assert_eq!(view.screenings.len(), 2);
    assert!(view.screenings[1].decision.explanation().contains("new-intel"));
    assert_eq!(t.app.screening().rescreen_recent(30 * 86_400_000).await.unwrap(), 0, "flagged once");
    // Outside the window, old deposits are left alone.
    t.clock.advance_ms(40 * 86_400_000);
    add_labels(
        t.store.as_ref(),
        "newer-intel",
        &[(Network::Ethereum, CLEAN_ETH, RiskCategory::Sanctions)],
        t.clock.now_ms(),
    )
    .await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    assert_eq!(t.app.screening().rescreen_recent(30 * 86_400_000).await.unwrap(), 0);
});
