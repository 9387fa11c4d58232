//! BitOK contract tests against a local server serving BitOK's documented payloads.

use crate::fake::*;
use custos_analyzers::bitok::{sign, Bitok, BitokConfig, TransferMode};
use custos_analyzers::Secret;
use custos_app::ports::Analyzer;
use custos_domain::risk::RiskBand;
use custos_domain::{Action, Network, Policy};
use std::sync::{Arc, Mutex};

const TRANSFER: &str = "cdc3fd93-c975-4b79-beb7-4ad058078b48";
const CHECK: &str = "15b9bf78-a814-4b8e-9dbd-09f2596a6b00";

#[test]
fn bitok_signing_passes_the_official_vector_and_the_no_body_vectors() {
    let v = bitok_vectors();
    let secret = v["api_secret"].as_str().unwrap();
    for vector in v["vectors"].as_array().unwrap() {
        let body = vector["body"].as_str().map(str::as_bytes);
        let got = sign(
            secret,
            vector["method"].as_str().unwrap(),
            vector["path_with_query"].as_str().unwrap(),
            vector["api_timestamp_ms"].as_str().unwrap(),
            body,
        );
        assert_eq!(got, vector["headers"]["API-SIGNATURE"].as_str().unwrap(), "{}", vector["name"]);
    }
}

async fn server() -> (FakeVendor, Bitok) {
    let v = bitok_vectors();
    let key_id = v["api_key_id"].as_str().unwrap().to_owned();
    let secret = v["api_secret"].as_str().unwrap().to_owned();
    let fake =
        FakeVendor::start(Auth::Bitok { key_id: key_id.clone(), secret: Arc::new(Mutex::new(secret.clone())) }).await;
    let bitok = bitok(&fake, TransferMode::Register, Secret::literal(secret));
    (fake, bitok)
}

fn bitok(fake: &FakeVendor, mode: TransferMode, secret: Secret) -> Bitok {
    let key_id = bitok_vectors()["api_key_id"].as_str().unwrap().to_owned();
    Bitok::new(BitokConfig {
        name: "bitok".into(),
        base_url: fake.base_url.clone(),
        key_id,
        secret,
        poll: quick_poll(),
        transfer_mode: mode,
    })
    .unwrap()
}

/// A registered transfer, checked with the given level.
fn checked_transfer(level: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&fixture("bitok", "get_transfer_response_checked")).unwrap();
    v["risk_level"] = level.into();
    v.to_string()
}

fn serve_transfer(fake: &FakeVendor, level: &str, exposure: &str) {
    fake.on(
        "POST",
        "/v1/transfers/register/",
        vec![Canned::json(201, fixture("bitok", "register_transfer_response_queued"))],
    )
    .on(
        "GET",
        &format!("/v1/transfers/{TRANSFER}/"),
        vec![Canned::ok(fixture("bitok", "register_transfer_response_queued")), Canned::ok(checked_transfer(level))],
    )
    .on("GET", &format!("/v1/transfers/{TRANSFER}/exposure/"), vec![Canned::ok(exposure)])
    .on("GET", &format!("/v1/transfers/{TRANSFER}/risks/"), vec![Canned::ok("[]")]);
}

#[tokio::test]
async fn risk_1_bitok_deposit_is_registered_polled_and_its_exposure_read() {
    let (fake, bitok) = server().await;
    serve_transfer(&fake, "medium", &fixture("bitok", "transfer_exposure_indirect_synthetic"));
    let t = eth_deposit("0x46bf4313a1f7f22cf97859d119c609fedad81541330de661f967795cc4f46e89");
    let r = bitok.screen_transfer(&t).await;
    assert!(r.is_completed(), "{r:?}");
    assert_eq!(r.band, Some(RiskBand::Medium));
    assert_eq!(r.txid.as_deref(), Some(t.txid.as_str()));
    assert_eq!(
        findings(&r),
        vec![
            ("exchange".into(), 62.0, false, "exchange".into()),
            ("mixing_service".into(), 27.0, false, "mixer".into()),
            ("sanctions".into(), 11.0, false, "exchange_sanctioned_us".into()),
        ]
    );
    let vendor = r.vendor.as_ref().unwrap();
    assert_eq!(vendor.reference.as_deref(), Some(TRANSFER));
    assert!(vendor.raw_payload.as_ref().unwrap().contains("exchange_sanctioned_us"), "raw answers are kept");
    // What was sent: the documented body, our contract id for USDT, an opaque client id.
    let register = fake.log().into_iter().find(|l| l.method == "POST").unwrap();
    let body: serde_json::Value = serde_json::from_str(&register.body).unwrap();
    assert_eq!(body["token_id"], "0xdac17f958d2ee523a2206206994597c13d831ec7");
    assert_eq!(body["network"], "ETH");
    assert_eq!(body["direction"], "incoming");
    assert_eq!(body["output_address"], "0x98cb5718876aab18e3a8429a18ad543f6369a6f3");
    assert_eq!(body["client_id"], "c0ffee00c0ffee00c0ffee00c0ffee00");
    assert_eq!(fake.calls_to(&format!("/v1/transfers/{TRANSFER}/risks/?page=1")), 1);
    // 11 % indirect sanctions exposure holds the deposit (RISK-3).
    assert_eq!(Policy::default().decide(&[r]).action, Action::Hold);
}

#[tokio::test]
async fn bitok_every_risk_level_maps_to_its_band_and_undefined_is_reviewed() {
    for (level, band, action) in [
        ("none", Some(RiskBand::Low), Action::Proceed),
        ("low", Some(RiskBand::Low), Action::Proceed),
        ("medium", Some(RiskBand::Medium), Action::Review),
        ("high", Some(RiskBand::High), Action::Hold),
        ("severe", Some(RiskBand::Critical), Action::Reject),
        ("undefined", None, Action::Review),
    ] {
        let (fake, bitok) = server().await;
        serve_transfer(&fake, level, r#"{"direct_interaction":null,"indirect_interaction":[],"fiat_currency":"USD"}"#);
        let r = bitok.screen_transfer(&eth_deposit("0xaa")).await;
        assert_eq!(r.band, band, "{level}");
        assert_eq!(Policy::default().decide(&[r]).action, action, "{level}");
    }
}

#[tokio::test]
async fn bitok_direct_interaction_as_object_and_as_array_both_count_and_risk_score_may_be_missing() {
    for exposure in [
        "manual_check_transfer_exposure_direct_object_synthetic",
        "manual_check_transfer_exposure_direct_array_synthetic",
    ] {
        let (fake, _) = server().await;
        let secret = bitok_vectors()["api_secret"].as_str().unwrap().to_owned();
        let bitok = bitok(&fake, TransferMode::Manual, Secret::literal(secret));
        let created = fixture("bitok", "manual_check_transfer_response");
        let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"].as_str().unwrap().to_owned();
        let mut checked: serde_json::Value =
            serde_json::from_str(&fixture("bitok", "manual_check_status_checked")).unwrap();
        checked["risk_level"] = "high".into();
        checked.as_object_mut().unwrap().remove("risk_score"); // B2: absent in the guide's examples
        fake.on("POST", "/v1/manual-checks/check-transfer/", vec![Canned::json(201, created)])
            .on(
                "GET",
                &format!("/v1/manual-checks/{id}/"),
                vec![Canned::ok(fixture("bitok", "manual_check_status_checking")), Canned::ok(checked.to_string())],
            )
            .on(
                "GET",
                &format!("/v1/manual-checks/{id}/transfer-exposure/"),
                vec![Canned::ok(fixture("bitok", exposure))],
            );
        let r = bitok.screen_transfer(&eth_deposit("0xbb")).await;
        assert!(r.is_completed(), "{exposure}: {r:?}");
        assert_eq!(r.score, None);
        let f = findings(&r);
        assert!(
            f.iter().any(|(c, share, direct, _)| c == "darknet_marketplace" && *share == 100.0 && *direct),
            "{exposure}: {f:?}"
        );
        assert_eq!(Policy::default().decide(&[r]).action, Action::Hold);
    }
}

#[tokio::test]
async fn pre_1_bitok_address_check_polls_until_checked_and_reads_the_entity() {
    let (fake, bitok) = server().await;
    fake.on(
        "POST",
        "/v1/manual-checks/check-address/",
        vec![Canned::json(201, fixture("bitok", "manual_check_address_response"))],
    )
    .on(
        "GET",
        &format!("/v1/manual-checks/{CHECK}/"),
        vec![
            Canned::ok(fixture("bitok", "manual_check_status_checking")),
            Canned::ok(fixture("bitok", "manual_check_status_checking")),
            Canned::ok(fixture("bitok", "manual_check_status_checked")),
        ],
    )
    .on(
        "GET",
        &format!("/v1/manual-checks/{CHECK}/address-exposure/"),
        vec![Canned::ok(fixture("bitok", "manual_check_address_exposure_identified_synthetic"))],
    );
    let a = address(Network::Ethereum, "0x98f79674d5f2f777d44e253bfaf905d7491e8cef");
    let r = bitok.screen_address(&a).await;
    assert!(r.is_completed(), "{r:?}");
    assert_eq!((r.band, r.score.map(|s| s.as_f64())), (Some(RiskBand::Low), Some(0.0)));
    assert_eq!(findings(&r), vec![("exchange".into(), 100.0, true, "exchange".into())]);
    assert_eq!(r.categories[0].label.as_deref(), Some("Example Exchange"));
    assert_eq!(fake.calls_to(&format!("/v1/manual-checks/{CHECK}/")), 4, "three polls and the exposure");
}

#[tokio::test]
async fn bitok_a_category_added_tomorrow_is_unmapped_and_visible_and_reviewed() {
    let (fake, bitok) = server().await;
    serve_transfer(
        &fake,
        "low",
        r#"{"direct_interaction":null,"indirect_interaction":[{"entity_category":"quantum_tumbler","value_share":0.4}],"fiat_currency":"USD"}"#,
    );
    let r = bitok.screen_transfer(&eth_deposit("0xcc")).await;
    assert_eq!(findings(&r), vec![("unmapped".into(), 40.0, false, "quantum_tumbler".into())]);
    let d = Policy::default().decide(&[r]);
    assert_eq!(d.action, Action::Review);
    assert!(d.explanation().contains("unmapped"), "{}", d.explanation());
}

#[tokio::test]
async fn bitok_refused_signature_and_unbindable_transactions_fail_closed() {
    let (fake, _) = server().await;
    serve_transfer(&fake, "low", "{}");
    let wrong = bitok(&fake, TransferMode::Register, Secret::literal("not-the-secret"));
    let r = wrong.screen_transfer(&eth_deposit("0xdd")).await;
    assert!(error_of(&r).contains("HTTP 401"), "{r:?}");
    assert_eq!(Policy::default().decide(&[r]).action, Action::Review);

    let (fake, bitok) = server().await;
    let mut lost: serde_json::Value = serde_json::from_str(&checked_transfer("undefined")).unwrap();
    lost["tx_status"] = "not_found".into();
    fake.on(
        "POST",
        "/v1/transfers/register/",
        vec![Canned::json(201, fixture("bitok", "register_transfer_response_queued"))],
    )
    .on("GET", &format!("/v1/transfers/{TRANSFER}/"), vec![Canned::ok(lost.to_string())]);
    let r = bitok.screen_transfer(&eth_deposit("0xee")).await;
    assert!(error_of(&r).contains("tx_status not_found"), "{r:?}");
}

#[tokio::test]
async fn bitok_credentials_rotate_without_restart() {
    let v = bitok_vectors();
    let fake = FakeVendor::start(Auth::Bitok {
        key_id: v["api_key_id"].as_str().unwrap().into(),
        secret: Arc::new(Mutex::new("old-secret".into())),
    })
    .await;
    serve_transfer(&fake, "low", r#"{"direct_interaction":null,"indirect_interaction":null}"#);
    let dir = std::env::temp_dir().join(format!("custos-bitok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bitok.secret");
    std::fs::write(&file, "old-secret\n").unwrap();
    let bitok = bitok(&fake, TransferMode::Register, Secret::file(&file));
    assert!(bitok.screen_transfer(&eth_deposit("0x01")).await.is_completed());
    fake.rotate("new-secret");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&file, "new-secret\n").unwrap();
    let r = bitok.screen_transfer(&eth_deposit("0x02")).await;
    assert!(r.is_completed(), "the new key is used without a restart: {r:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
