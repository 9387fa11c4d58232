//! A vendor analyzer inside the whole system: a deposit screened by the built-in analyzer and by
//! BitOK (a local server speaking its API), the per-analyzer results in the API, the raw vendor
//! answers stored only encrypted, the metrics, and the configuration of `custos serve`.

#[path = "../../../analyzers/tests/all/fake/mod.rs"]
mod fake;

use crate::common::*;
use custos_analyzers::bitok::{Bitok, BitokConfig, TransferMode};
use custos_analyzers::Secret;
use custos_app::screening::{BreakerSettings, CallSettings, RunRule};
use custos_crypto::{Aad, FieldCipher};
use fake::{bitok_vectors, fixture, Auth, Canned, FakeVendor};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TRANSFER: &str = "cdc3fd93-c975-4b79-beb7-4ad058078b48";

async fn bitok_fake(level: &str) -> FakeVendor {
    let v = bitok_vectors();
    let fake = FakeVendor::start(Auth::Bitok {
        key_id: v["api_key_id"].as_str().unwrap().into(),
        secret: Arc::new(Mutex::new(v["api_secret"].as_str().unwrap().into())),
    })
    .await;
    let mut checked: serde_json::Value =
        serde_json::from_str(&fixture("bitok", "get_transfer_response_checked")).unwrap();
    checked["risk_level"] = level.into();
    fake.on(
        "POST",
        "/v1/transfers/register/",
        vec![Canned::json(201, fixture("bitok", "register_transfer_response_queued"))],
    )
    .on("GET", &format!("/v1/transfers/{TRANSFER}/"), vec![Canned::ok(checked.to_string())])
    .on(
        "GET",
        &format!("/v1/transfers/{TRANSFER}/exposure/"),
        vec![Canned::ok(fixture("bitok", "transfer_exposure_indirect_synthetic"))],
    )
    .on("GET", &format!("/v1/transfers/{TRANSFER}/risks/"), vec![Canned::ok("[]")]);
    fake
}

both!(
    risk_1_a_deposit_is_screened_by_bitok_beside_the_builtin_and_its_evidence_is_encrypted,
    |t: TestApp| async move {
        let fake = bitok_fake("high").await;
        let v = bitok_vectors();
        let bitok = Bitok::new(BitokConfig {
            name: "bitok".into(),
            base_url: fake.base_url.clone(),
            key_id: v["api_key_id"].as_str().unwrap().into(),
            secret: Secret::literal(v["api_secret"].as_str().unwrap()),
            poll: fake::quick_poll(),
            transfer_mode: TransferMode::Register,
        })
        .unwrap();
        let settings = CallSettings {
            timeout: Duration::from_secs(5),
            cost_micros: 120_000,
            breaker: BreakerSettings::default(),
            cache_ttl: Duration::from_secs(900),
        };
        let t = t
            .restart(Options { vendors: vec![(Arc::new(bitok), settings, RunRule::default())], ..Options::default() })
            .await;
        let (base, key) = t.serve().await;
        let c = reqwest::Client::new();
        let (_, order) = post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            serde_json::json!({"pay": {"network": "ethereum", "asset": "USDT", "amount": "1206000000"},
                           "receive": {"network": "bitcoin", "asset": "BTC", "amount": "1", "address": CLEAN_BTC}}),
        )
        .await;
        let txid = "0x46bf4313a1f7f22cf97859d119c609fedad81541330de661f967795cc4f46e89";
        let (status, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        serde_json::json!({"network": "ethereum", "asset": "USDT", "address": order["deposit"]["address"], "index": 0,
                           "amount": "1206000000", "txid": txid, "sources": [CLEAN_ETH]}),
    )
    .await;
        assert_eq!(status, 201, "{dep}");
        // BitOK says high and finds 11 % indirect sanctions exposure: held, with KYC.
        assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer", "{dep}");
        let analyzers = dep["screening"]["analyzers"].as_array().unwrap();
        let vendor = analyzers.iter().find(|a| a["name"] == "bitok").expect("BitOK's own result is shown");
        assert_eq!(vendor["txid"], txid);
        assert_eq!((vendor["band"].as_str(), vendor["vendor_level"].as_str()), (Some("high"), Some("high")));
        assert_eq!(vendor["vendor_reference"], TRANSFER);
        assert!(vendor["latency_ms"].is_u64() && vendor["cached"] == false);
        assert!(vendor["categories"].as_array().unwrap().iter().any(|f| f["vendor_code"] == "exchange_sanctioned_us"));
        assert_eq!(
            analyzers.iter().filter(|a| a["name"] == "builtin").count(),
            2,
            "the builtin checks source and deposit address"
        );
        assert!(dep["screening"]["explanation"].as_str().unwrap().contains("bitok"));

        // The vendor's raw answers are stored, but only encrypted.
        let screening_id = dep["screening"]["id"].as_str().unwrap();
        let stored: String = sqlx::query_scalar("SELECT reports FROM screenings WHERE id = $1")
            .bind(screening_id)
            .fetch_one(t.store.pool())
            .await
            .unwrap();
        assert!(!stored.contains("13:47:25.197606"), "no raw vendor payload in clear");
        let reports: Vec<custos_domain::RiskReport> = serde_json::from_str(&stored).unwrap();
        let (i, r) = reports.iter().enumerate().find(|(_, r)| r.analyzer == "bitok").unwrap();
        let envelope = r.vendor.as_ref().unwrap().evidence.as_ref().expect("evidence kept");
        let column = format!("evidence:{i}");
        let raw = FieldCipher::new(t.master_key.clone(), vec![])
            .decrypt(envelope, Aad { table: "screenings", column: &column, row: screening_id })
            .unwrap();
        assert!(raw.contains("13:47:25.197606") && raw.contains("/v1/transfers/register/"), "{raw}");

        // Metrics count the paid call and its cost.
        let metrics =
            c.get(format!("{base}/api/v1/metrics")).bearer_auth(&key).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("custos_analyzer_calls_total{analyzer=\"bitok\"} 1"), "{metrics}");
        assert!(metrics.contains("custos_analyzer_cost_total{analyzer=\"bitok\"} 0.12"), "{metrics}");
        assert!(metrics.contains("custos_analyzer_breaker_open{analyzer=\"bitok\"} 0"), "{metrics}");
    }
);
