//! The vendors behind the screener: fail closed on slow, failing and garbage answers, the
//! circuit breaker, the cache, and conservative aggregation of several vendors.

use crate::fake::*;
use custos_analyzers::bitok::{Bitok, BitokConfig, TransferMode};
use custos_analyzers::coinkyt::{Coinkyt, CoinkytConfig};
use custos_analyzers::Secret;
use custos_app::clock::ManualClock;
use custos_app::ports::Analyzer;
use custos_app::screening::{BreakerSettings, CallSettings, Occasion, RunRule, ScreenRequest, Screener, SecondOpinion};
use custos_domain::risk::RiskBand;
use custos_domain::{Action, Policy};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn coinkyt() -> (FakeVendor, Arc<dyn Analyzer>) {
    coinkyt_polling(quick_poll()).await
}

async fn coinkyt_polling(poll: custos_analyzers::PollSettings) -> (FakeVendor, Arc<dyn Analyzer>) {
    let fake = FakeVendor::start(Auth::None).await;
    let c = Coinkyt::new(CoinkytConfig {
        name: "coinkyt".into(),
        base_url: fake.base_url.clone(),
        api_key: Secret::literal("k"),
        poll,
        transfer_check: false,
    })
    .unwrap();
    (fake, Arc::new(c))
}

fn grade(g: &str, score: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&fixture("coinkyt", "transaction_response_synthetic")).unwrap();
    v["risk_score_grade"] = g.into();
    v["risk_score"] = score.into();
    v["indirects"] = serde_json::json!([]);
    v["from_entity"] = serde_json::json!([]);
    v.to_string()
}

fn settings(timeout_ms: u64) -> CallSettings {
    CallSettings {
        timeout: Duration::from_millis(timeout_ms),
        cost_micros: 250_000,
        breaker: BreakerSettings { failures: 2, open_for: Duration::from_secs(30) },
        cache_ttl: Duration::from_secs(900),
    }
}

async fn decide(screener: &Screener, t: &custos_app::ports::Transfer) -> custos_domain::Decision {
    let reports =
        screener.screen(ScreenRequest { occasion: Occasion::Deposit, addresses: &[], transfer: Some(t) }).await;
    Policy::default().decide(&reports)
}

#[tokio::test]
async fn sla_1_a_vendor_slower_than_its_budget_sends_the_deposit_to_review() {
    let (fake, c) = coinkyt().await;
    fake.on("GET", "/v1/transaction", vec![Canned::ok(grade("low", "0.01")).slow(Duration::from_secs(5))]);
    let screener = Screener::new(Arc::new(ManualClock::new(0)), vec![(c, settings(300), RunRule::default())]).unwrap();
    let d = decide(&screener, &eth_deposit("0x01")).await;
    assert_eq!(d.action, Action::Review);
    assert!(d.explanation().contains("no answer within 0.3 s"), "{}", d.explanation());
}

#[tokio::test]
async fn fail_closed_500s_and_malformed_json_review_open_the_breaker_and_it_closes_again() {
    // A budget too short for a retry, so the 500 is this check's last word.
    let (fake, c) = coinkyt_polling(custos_analyzers::PollSettings { budget: Duration::ZERO, ..quick_poll() }).await;
    let clock = Arc::new(ManualClock::new(0));
    fake.on(
        "GET",
        "/v1/transaction",
        vec![Canned::json(500, "oops"), Canned::json(200, "{not json"), Canned::ok(grade("low", "0.02"))],
    );
    let screener = Screener::new(clock.clone(), vec![(c, settings(2_000), RunRule::default())]).unwrap();
    let first = decide(&screener, &eth_deposit("0x02")).await;
    assert_eq!(first.action, Action::Review, "{}", first.explanation());
    assert!(first.explanation().contains("HTTP 500"), "{}", first.explanation());
    // Malformed JSON is not retried: it is garbage, and garbage never proceeds.
    let second = decide(&screener, &eth_deposit("0x03")).await;
    assert_eq!(second.action, Action::Review);
    assert!(second.explanation().contains("malformed JSON"), "{}", second.explanation());
    let m = &screener.metrics()[0];
    assert!(m.breaker_open && m.errors == 2, "{m:?}");
    let calls = fake.log().len();
    let open = decide(&screener, &eth_deposit("0x04")).await;
    assert!(open.explanation().contains("circuit open"), "{}", open.explanation());
    assert_eq!(fake.log().len(), calls, "an open breaker does not call the vendor");
    clock.advance_ms(30_000);
    let healed = decide(&screener, &eth_deposit("0x05")).await;
    assert_eq!(healed.action, Action::Proceed, "{}", healed.explanation());
    assert!(!screener.metrics()[0].breaker_open);
}

#[tokio::test]
async fn caching_avoids_a_second_paid_vendor_call_for_the_same_transfer() {
    let (fake, c) = coinkyt().await;
    fake.on("GET", "/v1/transaction", vec![Canned::ok(grade("moderate", "0.3"))]);
    let screener =
        Screener::new(Arc::new(ManualClock::new(0)), vec![(c, settings(2_000), RunRule::default())]).unwrap();
    let t = eth_deposit("0x06");
    decide(&screener, &t).await;
    decide(&screener, &t).await;
    assert_eq!(fake.calls_to("/v1/transaction"), 1);
    let m = &screener.metrics()[0];
    assert_eq!((m.calls, m.cache_hits, m.cost_micros_total), (1, 1, 250_000));
}

async fn bitok_saying(level: &str, exposure: &str) -> (FakeVendor, Arc<dyn Analyzer>) {
    let v = bitok_vectors();
    let secret = v["api_secret"].as_str().unwrap().to_owned();
    let fake = FakeVendor::start(Auth::Bitok {
        key_id: v["api_key_id"].as_str().unwrap().into(),
        secret: Arc::new(Mutex::new(secret.clone())),
    })
    .await;
    let id = "cdc3fd93-c975-4b79-beb7-4ad058078b48";
    let mut checked: serde_json::Value =
        serde_json::from_str(&fixture("bitok", "get_transfer_response_checked")).unwrap();
    checked["risk_level"] = level.into();
    fake.on(
        "POST",
        "/v1/transfers/register/",
        vec![Canned::json(201, fixture("bitok", "register_transfer_response_queued"))],
    )
    .on("GET", &format!("/v1/transfers/{id}/"), vec![Canned::ok(checked.to_string())])
    .on("GET", &format!("/v1/transfers/{id}/exposure/"), vec![Canned::ok(exposure)])
    .on("GET", &format!("/v1/transfers/{id}/risks/"), vec![Canned::ok(r#"{"count":0,"results":[]}"#)]);
    let b = Bitok::new(BitokConfig {
        name: "bitok".into(),
        base_url: fake.base_url.clone(),
        key_id: v["api_key_id"].as_str().unwrap().into(),
        secret: Secret::literal(secret),
        poll: quick_poll(),
        transfer_mode: TransferMode::Register,
    })
    .unwrap();
    (fake, Arc::new(b))
}

#[tokio::test]
async fn risk_3_a_stop_category_from_one_vendor_rejects_although_the_other_says_low() {
    let (_b, bitok) = bitok_saying(
        "low",
        r#"{"direct_interaction":{"entity_category":"sanctions","entity_name":"OFAC SDN Garantex"}}"#,
    )
    .await;
    let (ck, coinkyt) = coinkyt().await;
    ck.on("GET", "/v1/transaction", vec![Canned::ok(grade("low", "0.01"))]);
    let screener = Screener::new(
        Arc::new(ManualClock::new(0)),
        vec![(bitok, settings(2_000), RunRule::default()), (coinkyt, settings(2_000), RunRule::default())],
    )
    .unwrap();
    let d = decide(&screener, &eth_deposit("0x07")).await;
    assert_eq!(d.action, Action::Reject);
    assert!(d.explanation().contains("OFAC SDN Garantex"), "{}", d.explanation());
}

#[tokio::test]
async fn risk_1_worst_band_wins_and_a_disagreement_is_shown_with_both_verdicts() {
    let (_b, bitok) = bitok_saying("high", r#"{"direct_interaction":null,"indirect_interaction":[]}"#).await;
    let (ck, coinkyt) = coinkyt().await;
    ck.on("GET", "/v1/transaction", vec![Canned::ok(grade("low", "0.05"))]);
    let second = RunRule {
        second_opinion: Some(SecondOpinion { after: "bitok".into(), band_at_least: RiskBand::Medium }),
        ..RunRule::default()
    };
    let screener = Screener::new(
        Arc::new(ManualClock::new(0)),
        vec![(bitok, settings(2_000), RunRule::default()), (coinkyt, settings(2_000), second)],
    )
    .unwrap();
    let d = decide(&screener, &eth_deposit("0x08")).await;
    assert_eq!((d.band, d.action), (RiskBand::High, Action::Hold), "{}", d.explanation());
    assert!(d
        .reasons
        .iter()
        .any(|r| r.describe().contains("bitok says high") && r.describe().contains("coinkyt says low")));
    assert_eq!(ck.calls_to("/v1/transaction"), 1, "BitOK said high, so CoinKYT gave a second opinion");
}
