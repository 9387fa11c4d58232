//! Webhooks: signed delivery to a local receiver, retries with backoff, dead letters and
//! replay, and delivery surviving a `kill -9` between commit and delivery.

use crate::common::*;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use custos_app::model::{DeliveryStatus, NewOrder};
use custos_app::webhooks::Deliverer;
use custos_domain::{Address, Amount, Asset, Network};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRETS: [&str; 2] = ["whsec_current_0123456789", "whsec_previous_987654321"];

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    /// Statuses to answer, in order; then 200.
    script: Arc<Mutex<VecDeque<u16>>>,
    /// Requests to leave hanging before answering.
    hang: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    r.got.lock().unwrap().push((headers, body));
    let hang = {
        let mut h = r.hang.lock().unwrap();
        let now = *h > 0;
        *h = h.saturating_sub(1);
        now
    };
    if hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    let code = r.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(code).unwrap()
}

async fn start_receiver(r: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/hook", post(receive)).with_state(r)).await
    });
    format!("http://{addr}/hook")
}

fn deliverer(t: &TestApp, url: &str) -> Deliverer {
    let secrets = SECRETS.iter().map(|s| s.to_string()).collect();
    let sender = custos_webhook::HttpWebhookSender::new(url, secrets, true, Duration::from_secs(5)).unwrap();
    Deliverer::new(t.store.clone(), Arc::new(sender), t.clock.clone())
}

async fn one_order(t: &TestApp) {
    let order = NewOrder {
        external_id: None,
        customer_email: None,
        pay_network: Network::Ethereum,
        pay_asset: Asset::Eth,
        pay_amount: Amount(1000),
        receive_network: Network::Bitcoin,
        receive_asset: Asset::Btc,
        receive_amount: Amount(1),
        receive_address: Address::parse(Network::Bitcoin, CLEAN_BTC).unwrap(),
    };
    t.app.intake().create_order(order, "test").await.unwrap();
}

fn verify(headers: &HeaderMap, body: &str) {
    let sig = headers["custos-signature"].to_str().unwrap();
    let mut parts = sig.split(',');
    let t = parts.next().unwrap().strip_prefix("t=").unwrap();
    let v1: Vec<&str> = parts.map(|p| p.strip_prefix("v1=").unwrap()).collect();
    assert_eq!(v1.len(), SECRETS.len(), "one signature per live secret");
    for (secret, got) in SECRETS.iter().zip(v1) {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        assert_eq!(got, hex::encode(mac.finalize().into_bytes()));
    }
}

both!(webhooks_are_delivered_with_valid_signatures, |t: TestApp| async move {
    let r = Receiver::default();
    let url = start_receiver(r.clone()).await;
    one_order(&t).await;
    let pass = deliverer(&t, &url).deliver_due().await.unwrap();
    assert_eq!(pass.delivered, 1);
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    verify(headers, body);
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["type"], "order.created");
    assert_eq!(event["created_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!(event["data"]["status"], "awaiting_deposit");
    assert_eq!(headers["custos-event-id"], event["id"].as_str().unwrap());
    let id = event["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(t.store.outbox_get(id).await.unwrap().unwrap().status, DeliveryStatus::Delivered);
    assert_eq!(deliverer(&t, &url).deliver_due().await.unwrap().delivered, 0, "delivered once");
});

both!(a_receiver_that_fails_five_times_then_succeeds_gets_the_event_exactly_as_first_built, |t: TestApp| async move {
    let r = Receiver::default();
    r.script.lock().unwrap().extend([500, 503, 429, 408, 502]);
    let url = start_receiver(r.clone()).await;
    one_order(&t).await;
    let d = deliverer(&t, &url);
    let mut passes = 0;
    loop {
        let pass = d.deliver_due().await.unwrap();
        passes += 1;
        if pass.delivered == 1 {
            break;
        }
        assert!(passes < 20, "never delivered");
        // Nothing is resent before its retry time.
        assert_eq!(d.deliver_due().await.unwrap(), Default::default());
        t.clock.advance_ms(600_000);
    }
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|(_, body)| body == &got[0].1), "the same bytes every time");
    for (headers, body) in &got {
        verify(headers, body);
    }
    let id = serde_json::from_str::<serde_json::Value>(&got[0].1).unwrap()["id"].as_str().unwrap().parse().unwrap();
    let stored = t.store.outbox_get(id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (DeliveryStatus::Delivered, 6));
});

both!(a_refused_event_is_dead_lettered_and_can_be_replayed_by_id, |t: TestApp| async move {
    let r = Receiver::default();
    r.script.lock().unwrap().push_back(400);
    let url = start_receiver(r.clone()).await;
    one_order(&t).await;
    let d = deliverer(&t, &url);
    assert_eq!(d.deliver_due().await.unwrap().dead, 1);
    let body = r.got.lock().unwrap()[0].1.clone();
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_str().unwrap().to_owned();
    let (base, key) = t.serve().await;
    let c = reqwest::Client::new();
    let ev: serde_json::Value = get(&c, format!("{base}/api/v1/webhooks/events/{id}"), &key).await;
    assert_eq!(ev["status"], "dead");
    assert!(ev["last_error"].as_str().unwrap().contains("400"));
    let r2 = c.post(format!("{base}/api/v1/webhooks/events/{id}/replay")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r2.status(), reqwest::StatusCode::ACCEPTED);
    assert_eq!(d.deliver_due().await.unwrap().delivered, 1);
    assert_eq!(r.got.lock().unwrap()[1].1, body, "replayed as first built");
    let entries = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(entries.iter().any(|e| e.action == "webhook.replayed"), "a replay is an audited action");
});

both!(webhook_retries_give_up_after_the_schedule, |t: TestApp| async move {
    let r = Receiver::default();
    r.script.lock().unwrap().extend(std::iter::repeat_n(500, 20));
    let url = start_receiver(r.clone()).await;
    one_order(&t).await;
    let d = deliverer(&t, &url);
    let mut dead = 0;
    for _ in 0..12 {
        dead += d.deliver_due().await.unwrap().dead;
        t.clock.advance_ms(600_000);
    }
    assert_eq!(dead, 1);
    assert_eq!(r.got.lock().unwrap().len(), 9, "the first attempt and eight retries");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_survives_kill_9_between_commit_and_delivery() {
    let r = Receiver::default();
    *r.hang.lock().unwrap() = 1;
    let url = start_receiver(r.clone()).await;
    let dir = std::env::temp_dir().join(format!("custos-hook-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let master = custos_crypto::MasterKey::generate().to_base64();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["apikey", "create", "--name", "hook", "--scope", "orders:create", "--scope", "webhooks:manage"])
        .env("CUSTOS_DATA_DIR", &dir)
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_custos"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("CUSTOS_DATA_DIR", &dir)
            .env("CUSTOS_MASTER_KEY", &master)
            .env("CUSTOS_XPUB_ETHEREUM", custos_chain::demo::ETHEREUM_XPUB)
            .env("CUSTOS_WEBHOOK_URL", &url)
            .env("CUSTOS_WEBHOOK_SECRETS", SECRETS.join(","))
            .env("CUSTOS_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("CUSTOS_LOG", "warn")
            .env_remove("CUSTOS_DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(KillOnDrop)
            .unwrap()
    };
    let c = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let wait = |cond: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !cond() {
            assert!(std::time::Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut server = start();
    let mut ready = false;
    for _ in 0..200 {
        if c.get(format!("{base}/healthz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready);
    let created = c
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
            "receive": {"network": "bitcoin", "asset": "BTC", "amount": "1", "address": CLEAN_BTC}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    // The event is committed and its delivery is in flight (the receiver holds it): kill -9.
    let got = r.got.clone();
    tokio::task::spawn_blocking(move || wait(&|| !got.lock().unwrap().is_empty())).await.unwrap();
    server.kill();
    let mut server = start();
    let got = r.got.clone();
    tokio::task::spawn_blocking(move || wait(&|| got.lock().unwrap().len() >= 2)).await.unwrap();
    server.kill();
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got[0].1, got[1].1, "the same event, delivered after the restart");
    verify(&got[1].0, &got[1].1);
    let _ = std::fs::remove_dir_all(&dir);
}
