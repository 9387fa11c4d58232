//! Invariant 1 under a crash: `kill -9` of the server while deposits arrive loses no
//! acknowledged deposit, double-processes none, and leaves the audit chain intact.

use crate::common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &std::path::Path, port: u16, master_key: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("CUSTOS_DATA_DIR", dir)
        .env("CUSTOS_MASTER_KEY", master_key)
        .env("CUSTOS_XPUB_ETHEREUM", custos_chain::demo::ETHEREUM_XPUB)
        .env("CUSTOS_LOG", "warn")
        .env_remove("CUSTOS_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

fn deposit(address: &str, i: usize) -> serde_json::Value {
    serde_json::json!({"network": "ethereum", "asset": "ETH", "address": address, "index": 0,
        "txid": format!("0x{}", custos_crypto::sha256_hex(format!("crash-{i}").as_bytes())),
        "amount": "1000", "sources": [CLEAN_ETH]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invariant_1_kill_9_loses_no_acknowledged_deposit() {
    let dir = std::env::temp_dir().join(format!("custos-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let master_key = custos_crypto::MasterKey::generate().to_base64();
    let out = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["apikey", "create", "--name", "crash", "--scope", "orders:create", "--scope", "orders:read"])
        .args(["--scope", "deposits:create"])
        .env("CUSTOS_DATA_DIR", &dir)
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_owned();
    let client = reqwest::Client::new();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&dir, port, &master_key);
    wait_ready(&client, &base).await;
    let order: serde_json::Value = client
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
            "receive": {"network": "bitcoin", "asset": "BTC", "amount": "1", "address": CLEAN_BTC}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let address = order["deposit"]["address"].as_str().unwrap().to_owned();

    // Four clients report deposits; the server is killed while they do.
    let mut acknowledged = Vec::new();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, base, key, address) = (client.clone(), base.clone(), key.clone(), address.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..1_000 {
                let i = worker * 1_000 + n;
                match client
                    .post(format!("{base}/api/v1/deposits"))
                    .bearer_auth(&key)
                    .json(&deposit(&address, i))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => acked.push(i),
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        acknowledged.extend(t.await.unwrap());
    }
    assert!(acknowledged.len() > 10, "the test must kill the server mid-stream ({} acknowledged)", acknowledged.len());

    let mut server = start(&dir, port, &master_key);
    wait_ready(&client, &base).await;
    for &i in &acknowledged {
        let r = client
            .post(format!("{base}/api/v1/deposits"))
            .bearer_auth(&key)
            .json(&deposit(&address, i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "acknowledged deposit {i} was lost");
    }
    let view: serde_json::Value = client
        .get(format!("{base}/api/v1/orders/{}", order["id"].as_str().unwrap()))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deposits = view["deposits"].as_array().unwrap();
    let screenings = view["screenings"].as_array().unwrap();
    assert!(deposits.len() >= acknowledged.len());
    assert_eq!(deposits.len(), screenings.len(), "every deposit has exactly one screening");
    let mut txids: Vec<&str> = deposits.iter().map(|d| d["txid"].as_str().unwrap()).collect();
    txids.sort();
    txids.dedup();
    assert_eq!(txids.len(), deposits.len(), "no deposit twice");
    server.kill().unwrap();
    server.wait().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["audit", "verify"])
        .env("CUSTOS_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}
