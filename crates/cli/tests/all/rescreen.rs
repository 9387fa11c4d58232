//! MON-1 end to end: an operator imports new labels with the CLI while the server runs; the
//! server reloads its index, screens recent deposits again, and the API shows the old deposit's
//! order held with a case.

use crate::common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mon_1_a_label_import_flags_an_old_deposit_through_the_running_server() {
    let dir = std::env::temp_dir().join(format!("custos-rescreen-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let custos = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .args(args)
            .env("CUSTOS_DATA_DIR", &dir)
            .env("CUSTOS_LOG", "warn")
            .output()
            .unwrap()
    };
    let key = String::from_utf8(
        custos(&[
            "apikey",
            "create",
            "--name",
            "site",
            "--scope",
            "orders:create",
            "--scope",
            "orders:read",
            "--scope",
            "deposits:create",
        ])
        .stdout,
    )
    .unwrap()
    .lines()
    .last()
    .unwrap()
    .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("CUSTOS_DATA_DIR", &dir)
            .env("CUSTOS_MASTER_KEY", custos_crypto::MasterKey::generate().to_base64())
            .env("CUSTOS_XPUB_ETHEREUM", custos_chain::demo::ETHEREUM_XPUB)
            .env("CUSTOS_LOG", "warn")
            .env_remove("CUSTOS_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let c = reqwest::Client::new();
    let started = Instant::now();
    while c.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, order) = post(
        &c,
        format!("{base}/api/v1/orders"),
        &key,
        serde_json::json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
                           "receive": {"network": "bitcoin", "asset": "BTC", "amount": "1", "address": CLEAN_BTC}}),
    )
    .await;
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        serde_json::json!({"network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0,
                           "amount": "1000", "txid": format!("0x{}", "7".repeat(64)), "sources": [CLEAN_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "accepted");
    // New intelligence: the source turns out to be a scammer's.
    let csv = dir.join("intel.csv");
    std::fs::write(
        &csv,
        format!("network,address,category,label,source,confidence\nethereum,{CLEAN_ETH},scam,reported scam,intel,90\n"),
    )
    .unwrap();
    assert!(custos(&["labels", "import", csv.to_str().unwrap()]).status.success());
    let url = format!("{base}/api/v1/orders/{}", order["id"].as_str().unwrap());
    let started = Instant::now();
    let view = loop {
        let view: serde_json::Value = get(&c, &url, &key).await;
        if view["status"] != "accepted" || started.elapsed() > Duration::from_secs(40) {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(view["status"], "on_hold_awaiting_customer", "{view}");
    assert_eq!(view["cases"].as_array().unwrap().len(), 1);
    assert!(view["screenings"][1]["explanation"].as_str().unwrap().contains("reported scam"));
    let _ = std::fs::remove_dir_all(&dir);
}
