//! Chainalysis KYT, address screening and sanctions contract tests against a local server.

use crate::fake::*;
use custos_analyzers::chainalysis::{Chainalysis, ChainalysisConfig};
use custos_analyzers::sanctions::{ChainalysisSanctions, SanctionsConfig};
use custos_analyzers::Secret;
use custos_app::ports::Analyzer;
use custos_domain::risk::RiskBand;
use custos_domain::{Action, Network, Policy};
use std::sync::{Arc, Mutex};

const KEY: &str = "kyt-test-key";
const PENDING_ID: &str = "fc8e053e-8833-344d-b025-40559eafd16f";

async fn kyt() -> (FakeVendor, Chainalysis) {
    let fake = FakeVendor::start(Auth::Header { name: "Token", value: Arc::new(Mutex::new(KEY.into())) }).await;
    let c = Chainalysis::new(ChainalysisConfig {
        name: "chainalysis".into(),
        base_url: fake.base_url.clone(),
        api_key: Secret::literal(KEY),
        poll: quick_poll(),
        register_addresses: false,
    })
    .unwrap();
    (fake, c)
}

fn btc_deposit() -> custos_app::ports::Transfer {
    let mut t = eth_deposit("2d9bfc3a47c2c9cfd0170198782979ed327442e5ed1c8a752bced24d490347d4");
    t.network = Network::Bitcoin;
    t.asset = custos_domain::Asset::Btc;
    t.address = address(Network::Bitcoin, "1H7aVb2RZiBmdbnzazQgVj2hWR3eEZPg6v");
    t.counterparties = vec![];
    t
}

fn serve(fake: &FakeVendor, alerts: &str) {
    let user = "c0ffee00c0ffee00c0ffee00c0ffee00";
    fake.on(
        "POST",
        &format!("/api/kyt/v2/users/{user}/transfers"),
        vec![Canned::json(202, fixture("chainalysis", "kyt_v2_register_transfer_response_pending"))],
    )
    .on(
        "GET",
        &format!("/api/kyt/v2/transfers/{PENDING_ID}"),
        vec![
            Canned::ok(fixture("chainalysis", "kyt_v2_register_transfer_response_pending")),
            Canned::ok(fixture("chainalysis", "kyt_v2_transfer_summary_processed")),
        ],
    )
    .on("GET", &format!("/api/kyt/v2/transfers/{PENDING_ID}/alerts"), vec![Canned::ok(alerts)]);
}

#[tokio::test]
async fn risk_1_chainalysis_transfer_is_registered_polled_until_updated_and_its_alerts_read() {
    let (fake, c) = kyt().await;
    serve(&fake, &fixture("chainalysis", "kyt_v2_transfer_alerts_severe_sanctions"));
    let r = c.screen_transfer(&btc_deposit()).await;
    assert!(r.is_completed(), "{r:?}");
    assert_eq!(r.band, Some(RiskBand::Critical), "alert level Severe (mixed case)");
    assert_eq!(findings(&r), vec![("sanctions".into(), 100.0, true, "3:sanctions".into())]);
    assert_eq!(r.categories[0].label.as_deref(), Some("OFAC SDN Blender.io 2022-05-06"));
    assert_eq!(fake.calls_to(&format!("/api/kyt/v2/transfers/{PENDING_ID}")), 3, "two polls and the alerts");
    let sent: serde_json::Value = serde_json::from_str(&fake.log()[0].body).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&fixture("chainalysis", "kyt_v2_register_transfer_request_btc")).unwrap();
    assert_eq!(sent, expected, "the documented request body");
    assert_eq!(Policy::default().decide(&[r]).action, Action::Reject);
}

#[tokio::test]
async fn chainalysis_alert_levels_map_to_bands_and_no_alerts_is_low() {
    for (alerts, band, category) in [
        (fixture("chainalysis", "kyt_v2_transfer_alerts_high_custom_address"), RiskBand::High, Some("other")),
        (fixture("chainalysis", "kyt_v2_transfer_alerts_empty_synthetic"), RiskBand::Low, None),
        (r#"{"alerts":[{"alertLevel":"MEDIUM","category":"no kyc exchange","exposureType":"INDIRECT","alertAmount":72209.175}]}"#.into(), RiskBand::Medium, Some("high_risk_exchange")),
        (r#"{"alerts":[{"alertLevel":"low","category":"high risk exchange","exposureType":"INDIRECT"}]}"#.into(), RiskBand::Low, Some("high_risk_exchange")),
    ] {
        let (fake, c) = kyt().await;
        serve(&fake, &alerts);
        let r = c.screen_transfer(&btc_deposit()).await;
        assert_eq!(r.band, Some(band), "{alerts}");
        assert_eq!(r.categories.first().map(|f| f.category.as_str()), category);
    }
    // An indirect alert's share is its amount over the transfer's (722,091.75 USD).
    let (fake, c) = kyt().await;
    serve(
        &fake,
        r#"{"alerts":[{"alertLevel":"MEDIUM","category":"mixing","categoryId":13,"exposureType":"INDIRECT","alertAmount":72209.175}]}"#,
    );
    let r = c.screen_transfer(&btc_deposit()).await;
    assert_eq!(findings(&r), vec![("mixing_service".into(), 10.0, false, "13:mixing".into())]);
}

#[tokio::test]
async fn chainalysis_a_new_category_is_unmapped_and_an_unknown_level_fails_closed() {
    let (fake, c) = kyt().await;
    serve(
        &fake,
        r#"{"alerts":[{"alertLevel":"HIGH","category":"orbital laundering","categoryId":77,"exposureType":"DIRECT"}]}"#,
    );
    let r = c.screen_transfer(&btc_deposit()).await;
    assert_eq!(findings(&r), vec![("unmapped".into(), 100.0, true, "77:orbital laundering".into())]);

    let (fake, c) = kyt().await;
    serve(&fake, r#"{"alerts":[{"alertLevel":"APOCALYPTIC","category":"scam"}]}"#);
    let r = c.screen_transfer(&btc_deposit()).await;
    assert!(error_of(&r).contains("APOCALYPTIC"), "{r:?}");
}

#[tokio::test]
async fn pre_1_chainalysis_address_screening_reads_risk_and_exposures() {
    let (fake, c) = kyt().await;
    let a = address(Network::Ethereum, "0x00000000000000000000000000000000000000aa");
    let path = format!("/api/risk/v2/entities/{}", a.display());
    let mut pending: serde_json::Value =
        serde_json::from_str(&fixture("chainalysis", "entities_v2_address_response_low")).unwrap();
    pending["status"] = "PENDING".into();
    fake.on(
        "GET",
        &path,
        vec![Canned::ok(pending.to_string()), Canned::ok(fixture("chainalysis", "entities_v2_address_response_low"))],
    );
    let r = c.screen_address(&a).await;
    assert!(r.is_completed(), "{r:?}");
    assert_eq!(r.band, Some(RiskBand::Low));
    let f = findings(&r);
    assert!(
        f.iter().any(|(c, share, direct, _)| c == "unnamed_service" && (*share - 89.45).abs() < 0.01 && !direct),
        "{f:?}"
    );
    assert_eq!(fake.calls_to(&path), 2);
}

async fn sanctions(answer: &str) -> (FakeVendor, ChainalysisSanctions) {
    let fake =
        FakeVendor::start(Auth::Header { name: "X-API-Key", value: Arc::new(Mutex::new("free-key".into())) }).await;
    let a = address(Network::Ethereum, "0x00000000000000000000000000000000000000aa");
    fake.on("GET", &format!("/api/v1/address/{}", a.display()), vec![Canned::ok(answer)]);
    let s = ChainalysisSanctions::new(SanctionsConfig {
        name: "chainalysis-sanctions".into(),
        base_url: fake.base_url.clone(),
        api_key: Secret::literal("free-key"),
        poll: quick_poll(),
    })
    .unwrap();
    (fake, s)
}

#[tokio::test]
async fn risk_3_the_free_sanctions_api_is_a_sanctions_only_analyzer() {
    let a = address(Network::Ethereum, "0x00000000000000000000000000000000000000aa");
    let (_fake, s) = sanctions(&fixture("chainalysis", "sanctions_api_address_response_match")).await;
    let hit = s.screen_address(&a).await;
    assert!(hit.sanctions_only);
    assert_eq!(hit.band, Some(RiskBand::Critical));
    assert_eq!(findings(&hit), vec![("sanctions".into(), 100.0, true, "sanctions".into())]);
    assert_eq!(Policy::default().decide(&[hit]).action, Action::Reject);

    let (_fake, s) = sanctions(&fixture("chainalysis", "sanctions_api_address_response_no_match_synthetic")).await;
    let clean = s.screen_address(&a).await;
    assert!(clean.is_completed() && clean.sanctions_only && clean.band.is_none());
    // No match alone is no verdict on other risks, but it is no failure either.
    let d = Policy::default().decide(&[clean]);
    assert!(!d.reasons.iter().any(|r| matches!(r, custos_domain::policy::Reason::AnalyzerFailed { .. })));
}
