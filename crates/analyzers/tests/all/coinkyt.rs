//! CoinKYT contract tests against a local server serving CoinKYT's documented payloads.

use crate::fake::*;
use custos_analyzers::coinkyt::{Coinkyt, CoinkytConfig};
use custos_analyzers::Secret;
use custos_app::ports::Analyzer;
use custos_domain::risk::RiskBand;
use custos_domain::{Action, Network, Policy};
use std::sync::{Arc, Mutex};

const KEY: &str = "ck-test-key";

async fn server(transfer_check: bool) -> (FakeVendor, Coinkyt) {
    let fake = FakeVendor::start(Auth::Header { name: "X-API-Key", value: Arc::new(Mutex::new(KEY.into())) }).await;
    let c = Coinkyt::new(CoinkytConfig {
        name: "coinkyt".into(),
        base_url: format!("{}/openapi", fake.base_url),
        api_key: Secret::literal(KEY),
        poll: quick_poll(),
        transfer_check,
    })
    .unwrap();
    (fake, c)
}

fn with_grade(grade: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&fixture("coinkyt", "transaction_response_synthetic")).unwrap();
    v["risk_score_grade"] = grade;
    v["indirects"] = serde_json::json!([]);
    v["from_entity"] = serde_json::json!([]);
    v.to_string()
}

#[tokio::test]
async fn risk_1_coinkyt_still_calculating_404s_are_polled_until_the_answer() {
    let (fake, c) = server(false).await;
    fake.on(
        "GET",
        "/openapi/v1/transaction",
        vec![
            Canned::json(404, fixture("coinkyt", "error_404_no_data")),
            Canned::json(404, fixture("coinkyt", "error_404_transaction_not_found")),
            Canned::ok(fixture("coinkyt", "transaction_response_synthetic")),
        ],
    );
    let t = eth_deposit("0x46bf4313a1f7f22cf97859d119c609fedad81541330de661f967795cc4f46e89");
    let r = c.screen_transfer(&t).await;
    assert!(r.is_completed(), "{r:?}");
    assert_eq!(fake.calls_to("/openapi/v1/transaction?"), 3);
    assert_eq!((r.band, r.score.map(|s| s.as_f64())), (Some(RiskBand::Medium), Some(37.0)));
    assert_eq!(r.vendor.as_ref().unwrap().raw_score.as_deref(), Some("0.37"));
    assert_eq!(
        findings(&r),
        vec![
            ("exchange".into(), 55.0, false, "EXCHANGE_LICENSED".into()),
            ("gambling".into(), 30.0, false, "GAMBLING".into()),
            ("scam".into(), 15.0, false, "SCAM".into()),
            ("unknown".into(), 100.0, true, "UNKNOWN_OWNER".into()),
        ]
    );
    let q = &fake.log()[0].path_and_query;
    assert!(q.contains("blockchain=eth") && q.contains("token=USDT") && q.contains("transaction=0x46bf"), "{q}");
    // Gambling 30 % and scam 15 % indirect: hold.
    assert_eq!(Policy::default().decide(&[r]).action, Action::Hold);
}

#[tokio::test]
async fn coinkyt_every_grade_maps_to_its_band() {
    for (grade, band) in [
        (serde_json::json!("low"), Some(RiskBand::Low)),
        (serde_json::json!("moderate"), Some(RiskBand::Medium)),
        (serde_json::json!("high"), Some(RiskBand::High)),
        (serde_json::json!("severe"), Some(RiskBand::Critical)),
        (serde_json::json!("undefined"), None),
        (serde_json::Value::Null, None),
    ] {
        let (fake, c) = server(false).await;
        fake.on("GET", "/openapi/v1/transaction", vec![Canned::ok(with_grade(grade.clone()))]);
        let r = c.screen_transfer(&eth_deposit("0x01")).await;
        assert!(r.is_completed());
        assert_eq!(r.band, band, "{grade}");
    }
}

#[tokio::test]
async fn coinkyt_transfer_check_adds_the_entities_behind_our_output() {
    let (fake, c) = server(true).await;
    fake.on("GET", "/openapi/v1/transaction", vec![Canned::ok(with_grade("low".into()))]).on(
        "GET",
        "/openapi/v1/transfer",
        vec![Canned::ok(r#"{"id":"x","blockchain":"eth","token":"USDT","address":"0x98","link":"l","from_entity":[{"name":"Shady","type_label":"Mixer","type":"MIXING_SERVICE"}],"indirects":[]}"#)],
    );
    let r = c.screen_transfer(&eth_deposit("0x02")).await;
    assert!(findings(&r).contains(&("mixing_service".into(), 100.0, true, "MIXING_SERVICE".into())), "{r:?}");
    let q = &fake.log()[1].path_and_query;
    assert!(q.contains("output_address=0x98cb") && q.contains("input_address=0x56ed"), "{q}");
    assert_eq!(Policy::default().decide(&[r]).action, Action::Hold);
}

#[tokio::test]
async fn pre_1_coinkyt_address_check_and_an_empty_address_is_unknown_not_none() {
    let (fake, c) = server(false).await;
    fake.on("GET", "/openapi/v1/address", vec![Canned::ok(fixture("coinkyt", "address_response_synthetic"))]);
    let a = address(Network::Ethereum, "0x00000000000000000000000000000000000000aa");
    let r = c.screen_address(&a).await;
    assert_eq!((r.band, r.score.map(|s| s.as_f64())), (Some(RiskBand::High), Some(82.0)));
    assert!(findings(&r).contains(&("mixing_service".into(), 64.0, false, "MIXING_SERVICE".into())));

    let (fake, c) = server(false).await;
    fake.on("GET", "/openapi/v1/address", vec![Canned::json(404, fixture("coinkyt", "error_404_empty_address"))]);
    let r = c.screen_address(&a).await;
    assert!(r.is_completed());
    assert_eq!(r.band, None);
    assert_eq!(fake.log().len(), 1, "an empty address is final, not polled");
    assert_eq!(Policy::default().decide(&[r]).action, Action::Review);
}

#[tokio::test]
async fn coinkyt_quota_missing_score_and_wrong_key_fail_closed() {
    let (fake, c) = server(false).await;
    fake.on("GET", "/openapi/v1/transaction", vec![Canned::json(403, r#"{"detail":"No checks left"}"#)]);
    let r = c.screen_transfer(&eth_deposit("0x03")).await;
    assert!(error_of(&r).contains("no checks left"), "{r:?}");

    let (fake, c) = server(false).await;
    let mut body: serde_json::Value = serde_json::from_str(&with_grade("low".into())).unwrap();
    body.as_object_mut().unwrap().remove("risk_score");
    fake.on("GET", "/openapi/v1/transaction", vec![Canned::ok(body.to_string())]);
    let r = c.screen_transfer(&eth_deposit("0x04")).await;
    assert!(error_of(&r).contains("without a risk score"), "{r:?}");
    assert_eq!(Policy::default().decide(&[r]).action, Action::Review);

    let (fake, _) = server(false).await;
    fake.on("GET", "/openapi/v1/transaction", vec![Canned::ok(with_grade("low".into()))]);
    let wrong = Coinkyt::new(CoinkytConfig {
        name: "coinkyt".into(),
        base_url: format!("{}/openapi", fake.base_url),
        api_key: Secret::literal("stale"),
        poll: quick_poll(),
        transfer_check: false,
    })
    .unwrap();
    assert!(error_of(&wrong.screen_transfer(&eth_deposit("0x05")).await).contains("HTTP 401"));
}
