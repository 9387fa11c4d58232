//! MON-1: monitoring rules beside the analyzers, on both databases.

use crate::common::*;
use custos_app::model::{NewDeposit, NewOrder};
use custos_app::monitoring::MonitoringRules;
use custos_domain::policy::{Action, Reason};
use custos_domain::{Address, Amount, Asset, Network, OrderStatus};

fn eth(a: &str) -> Address {
    Address::parse(Network::Ethereum, a).unwrap()
}

async fn deposit_from(
    t: &TestApp,
    email: Option<&str>,
    source: &str,
    amount: u128,
    seed: &str,
) -> custos_app::model::DepositOutcome {
    let order = t
        .app
        .intake()
        .create_order(
            NewOrder {
                external_id: None,
                customer_email: email.map(str::to_owned),
                pay_network: Network::Ethereum,
                pay_asset: Asset::Eth,
                pay_amount: Amount(amount),
                receive_network: Network::Bitcoin,
                receive_asset: Asset::Btc,
                receive_amount: Amount(1),
                receive_address: Address::parse(Network::Bitcoin, CLEAN_BTC).unwrap(),
            },
            "test",
        )
        .await
        .unwrap();
    let d = NewDeposit {
        network: Network::Ethereum,
        asset: Asset::Eth,
        address: eth(&order.deposit_address),
        txid: format!("0x{}", custos_crypto::sha256_hex(seed.as_bytes())),
        index: 0,
        amount: Amount(amount),
        sources: vec![eth(source)],
        confirmations: None,
    };
    t.app.intake().report_deposit(d, "test").await.unwrap()
}

fn rules_hit(out: &custos_app::model::DepositOutcome) -> Vec<String> {
    out.screening
        .decision
        .reasons
        .iter()
        .filter_map(|r| if let Reason::Rule { rule, .. } = r { Some(rule.clone()) } else { None })
        .collect()
}

async fn with_rules(backend: Backend, monitoring: MonitoringRules) -> Option<TestApp> {
    TestApp::with(backend, Options { monitoring, ..Options::default() }).await
}

macro_rules! both_with {
    ($name:ident, $rules:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = with_rules(Backend::Sqlite, $rules).await.unwrap();
                let db = t.db.clone();
                ($body)(t).await;
                drop(db);
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(t) = with_rules(Backend::Postgres, $rules).await {
                    let db = t.db.clone();
                    ($body)(t).await;
                    drop(db);
                }
            }
        }
    };
}

both_with!(
    mon_1_velocity_many_deposits_by_one_customer_in_24_hours,
    MonitoringRules {
        max_deposits_per_customer_24h: Some(2),
        shared_source_customers: None,
        flag_customers_under_investigation: false,
        ..Default::default()
    },
    |t: TestApp| async move {
        for i in 0..2 {
            let out = deposit_from(&t, Some("vic@example.com"), CLEAN_ETH, 1000, &format!("v{i}")).await;
            assert_eq!(out.order.status, OrderStatus::Accepted);
        }
        let third = deposit_from(&t, Some("Vic@Example.com"), CLEAN_ETH, 1000, "v2").await;
        assert_eq!(third.screening.decision.action, Action::Review);
        assert_eq!(rules_hit(&third), ["velocity"]);
        assert_eq!(third.order.status, OrderStatus::InReview);
        assert!(third.case.is_some(), "a hit opens a review case");
        // Another customer is not affected; 24 h later the count starts again.
        assert_eq!(
            deposit_from(&t, Some("wendy@example.com"), CLEAN_ETH, 1000, "w").await.order.status,
            OrderStatus::Accepted
        );
        t.clock.advance_ms(25 * 3_600_000);
        assert_eq!(
            deposit_from(&t, Some("vic@example.com"), CLEAN_ETH, 1000, "v3").await.order.status,
            OrderStatus::Accepted
        );
    }
);

both_with!(
    mon_1_structuring_amounts_just_under_a_threshold_repeated,
    MonitoringRules {
        structuring_thresholds: [(Asset::Eth, Amount(1_000_000))].into(),
        shared_source_customers: None,
        flag_customers_under_investigation: false,
        ..Default::default()
    },
    |t: TestApp| async move {
        let a = deposit_from(&t, Some("sam@example.com"), CLEAN_ETH, 950_000, "s0").await;
        let b = deposit_from(&t, Some("sam@example.com"), CLEAN_ETH, 990_000, "s1").await;
        assert!(rules_hit(&a).is_empty() && rules_hit(&b).is_empty());
        let c = deposit_from(&t, Some("sam@example.com"), CLEAN_ETH, 960_000, "s2").await;
        assert_eq!(rules_hit(&c), ["structuring"]);
        // At or over the threshold is not structuring.
        let d = deposit_from(&t, Some("sam@example.com"), CLEAN_ETH, 1_000_000, "s3").await;
        assert!(rules_hit(&d).is_empty(), "{:?}", rules_hit(&d));
    }
);

both_with!(
    mon_1_one_source_funding_several_customers_but_not_an_exchange_wallet,
    MonitoringRules { max_deposits_per_customer_24h: None, ..Default::default() },
    |t: TestApp| async move {
        for (i, who) in ["a@x.io", "b@x.io"].iter().enumerate() {
            assert!(rules_hit(&deposit_from(&t, Some(who), CLEAN_ETH, 10, &format!("f{i}")).await).is_empty());
        }
        let third = deposit_from(&t, Some("c@x.io"), CLEAN_ETH, 10, "f2").await;
        assert_eq!(rules_hit(&third), ["shared_source"]);
        for (i, who) in ["k@x.io", "l@x.io", "m@x.io", "n@x.io"].iter().enumerate() {
            let out = deposit_from(&t, Some(who), EXCHANGE_ETH, 10, &format!("e{i}")).await;
            assert!(rules_hit(&out).is_empty(), "an exchange's hot wallet funds many customers: {:?}", rules_hit(&out));
        }
    }
);

both_with!(
    mon_1_a_customer_already_under_investigation,
    MonitoringRules { shared_source_customers: None, ..Default::default() },
    |t: TestApp| async move {
        let held = deposit_from(&t, Some("ivan@example.com"), GAMBLING_ETH, 10, "h").await;
        assert_eq!(held.order.status, OrderStatus::OnHoldAwaitingCustomer);
        let next = deposit_from(&t, Some("ivan@example.com"), CLEAN_ETH, 10, "n").await;
        assert_eq!(rules_hit(&next), ["customer_under_investigation"]);
        assert_eq!(next.order.status, OrderStatus::InReview);
        assert!(rules_hit(&deposit_from(&t, None, CLEAN_ETH, 10, "anon").await).is_empty());
    }
);
