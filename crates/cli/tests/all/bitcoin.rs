//! The Bitcoin watcher through an Esplora-compatible API, on SQLite and PostgreSQL. No Bitcoin
//! node can run here, so a local server answers the documented endpoints (`/blocks/tip/height`,
//! `/block-height/:h`, `/block/:hash`, `/block/:hash/txs/:start`) in the documented formats from
//! a chain the test shapes: a payment with several inputs (several sources, all screened), a
//! block of more than one page, a replaced (RBF) transaction, and a reorganisation.

use crate::common::*;
use axum::extract::{Path, State};
use axum::routing::get;
use custos_app::watch::WatchSettings;
use custos_chain::esplora::Esplora;
use custos_domain::{Amount, Asset, OrderStatus};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const OTHER_BTC: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

#[derive(Clone)]
struct Block {
    hash: String,
    prev: String,
    txs: Vec<Value>,
}

type Chain = Arc<Mutex<Vec<Block>>>;

fn hash_of(seed: &str) -> String {
    custos_crypto::sha256_hex(seed.as_bytes())
}

fn output(address: &str, value: u64) -> Value {
    json!({"scriptpubkey": "0014", "scriptpubkey_asm": "OP_0", "scriptpubkey_type": "v0_p2wpkh",
           "scriptpubkey_address": address, "value": value})
}

/// A transaction in Esplora's format: inputs spending from `from`, outputs `to`.
fn tx(seed: &str, from: &[&str], to: &[(&str, u64)]) -> Value {
    let vin: Vec<Value> = from
        .iter()
        .enumerate()
        .map(|(i, a)| {
            json!({"txid": hash_of(&format!("{seed}-prev-{i}")), "vout": 0, "prevout": output(a, 1_000_000),
                   "scriptsig": "", "scriptsig_asm": "", "is_coinbase": false, "sequence": 4294967293u64})
        })
        .collect();
    let vout: Vec<Value> = to.iter().map(|(a, v)| output(a, *v)).collect();
    json!({"txid": hash_of(seed), "version": 2, "locktime": 0, "vin": vin, "vout": vout, "size": 222, "weight": 561,
           "fee": 1000, "status": {"confirmed": true}})
}

fn coinbase(seed: &str) -> Value {
    json!({"txid": hash_of(seed), "version": 2, "locktime": 0,
           "vin": [{"txid": "0".repeat(64), "vout": 4294967295u64, "prevout": null, "scriptsig": "03", "scriptsig_asm": "",
                    "is_coinbase": true, "sequence": 4294967295u64}],
           "vout": [output(OTHER_BTC, 312_500_000)], "status": {"confirmed": true}})
}

async fn tip(State(c): State<Chain>) -> String {
    (c.lock().unwrap().len() - 1).to_string()
}

async fn height(State(c): State<Chain>, Path(h): Path<usize>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match c.lock().unwrap().get(h) {
        Some(b) => b.hash.clone().into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "Block not found").into_response(),
    }
}

fn find(c: &Chain, hash: &str) -> Option<(usize, Block)> {
    c.lock().unwrap().iter().enumerate().find(|(_, b)| b.hash == hash).map(|(i, b)| (i, b.clone()))
}

async fn block(State(c): State<Chain>, Path(hash): Path<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match find(&c, &hash) {
        Some((h, b)) => axum::Json(json!({"id": b.hash, "height": h, "version": 536870912, "timestamp": 1767225600 + h,
            "tx_count": b.txs.len(), "size": 1000, "weight": 4000, "merkle_root": hash_of("m"), "previousblockhash": b.prev,
            "mediantime": 1767225600, "nonce": 1, "bits": 386089497, "difficulty": 1}))
        .into_response(),
        None => (axum::http::StatusCode::NOT_FOUND, "Block not found").into_response(),
    }
}

async fn txs(State(c): State<Chain>, Path((hash, start)): Path<(String, usize)>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match find(&c, &hash) {
        Some((h, b)) => {
            let page: Vec<Value> = b
                .txs
                .iter()
                .skip(start)
                .take(25)
                .map(|t| {
                    let mut t = t.clone();
                    t["status"] = json!({"confirmed": true, "block_height": h, "block_hash": b.hash});
                    t
                })
                .collect();
            axum::Json(page).into_response()
        }
        None => (axum::http::StatusCode::NOT_FOUND, "Block not found").into_response(),
    }
}

async fn esplora(chain: Chain) -> String {
    let app = axum::Router::new()
        .route("/blocks/tip/height", get(tip))
        .route("/block-height/{h}", get(height))
        .route("/block/{hash}", get(block))
        .route("/block/{hash}/txs/{start}", get(txs))
        .with_state(chain);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn push(chain: &Chain, seed: &str, txs: Vec<Value>) {
    let mut c = chain.lock().unwrap();
    let prev = c.last().map(|b| b.hash.clone()).unwrap_or_default();
    c.push(Block { hash: hash_of(seed), prev, txs });
}

both!(risk_1_bitcoin_deposits_by_esplora_with_several_sources_rbf_and_a_reorg, |t: TestApp| async move {
    let chain: Chain = Arc::default();
    for i in 0..100 {
        push(&chain, &format!("genesis-{i}"), vec![coinbase(&format!("cb-{i}"))]);
    }
    let source = Esplora::new(&esplora(chain.clone()).await, Duration::from_secs(5)).unwrap();
    let s = WatchSettings { default_depth: 2, start_block: Some(100), ..WatchSettings::default() };
    let order = |email: &'static str| {
        let app = t.app.clone();
        async move {
            let mut o = new_order(email);
            o.pay_network = custos_domain::Network::Bitcoin;
            o.pay_asset = Asset::Btc;
            o.receive_network = custos_domain::Network::Ethereum;
            o.receive_asset = Asset::Eth;
            o.receive_address = custos_domain::Address::parse(custos_domain::Network::Ethereum, CLEAN_ETH).unwrap();
            app.intake().create_order(o, "test").await.unwrap()
        }
    };
    let (one, two, three) = (order("a@example.com").await, order("b@example.com").await, order("c@example.com").await);

    // Block 100: a payment with two inputs, one of them from a mixer, after 28 others (the
    // block takes two pages).
    let mut txs = vec![coinbase("cb-100")];
    txs.extend((0..28).map(|i| tx(&format!("filler-{i}"), &[OTHER_BTC], &[(OTHER_BTC, 5_000)])));
    txs.push(tx("pay-one", &[OTHER_BTC, MIXER_BTC], &[(OTHER_BTC, 40_000), (&one.deposit_address, 250_000)]));
    push(&chain, "block-100", txs);
    // The payment to order two was first broadcast from the mixer, then replaced (RBF) by one
    // from a clean address; only the replacement is mined (block 101).
    let _replaced = tx("pay-two-original", &[MIXER_BTC], &[(&two.deposit_address, 100_000)]);
    push(
        &chain,
        "block-101",
        vec![coinbase("cb-101"), tx("pay-two-replacement", &[CLEAN_BTC], &[(&two.deposit_address, 99_000)])],
    );

    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!((r.seen, r.credited), (2, 1), "{r:?}");
    let view = t.app.queries().order(one.id).await.unwrap();
    let d = &view.deposits[0];
    assert_eq!((d.txid.as_str(), d.index, d.amount), (hash_of("pay-one").as_str(), 1, Amount(250_000)));
    let mut sources = d.sources.clone();
    sources.sort();
    let mut expected = vec![OTHER_BTC.to_owned(), MIXER_BTC.to_owned()];
    expected.sort();
    assert_eq!(sources, expected, "every input's address is a source");
    assert_ne!(view.order.status, OrderStatus::Accepted, "the mixer input is screened too");
    assert!(!view.cases.is_empty());

    push(&chain, "block-102", vec![coinbase("cb-102")]);
    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!(r.credited, 1, "{r:?}");
    let view = t.app.queries().order(two.id).await.unwrap();
    assert_eq!(view.deposits.len(), 1, "the replaced transaction never counts");
    assert_eq!(
        (view.deposits[0].txid.clone(), view.deposits[0].amount),
        (hash_of("pay-two-replacement"), Amount(99_000))
    );
    assert_eq!(view.order.status, OrderStatus::Accepted, "the mined replacement is clean");

    // A reorganisation: block 103 with the payment to order three is replaced before its depth.
    push(
        &chain,
        "block-103",
        vec![coinbase("cb-103"), tx("pay-three", &[CLEAN_BTC], &[(&three.deposit_address, 70_000)])],
    );
    assert_eq!(t.app.intake().watch_step(&source, &s).await.unwrap().seen, 1);
    {
        let mut c = chain.lock().unwrap();
        c.pop();
    }
    push(&chain, "block-103-b", vec![coinbase("cb-103-b")]);
    push(&chain, "block-104-b", vec![coinbase("cb-104-b")]);
    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!((r.dropped, r.credited), (1, 0), "{r:?}");
    assert!(t.app.queries().order(three.id).await.unwrap().deposits.is_empty());
    let kept = t.store.chain_transfers(custos_domain::Network::Bitcoin, 10).await.unwrap();
    assert!(kept.iter().any(|k| k.txid == hash_of("pay-three") && k.status.as_str() == "dropped"));

    // ADDR-2, ADDR-5: consolidation spends the cleared output only; the mixer's stays.
    let wallet = custos_domain::Address::parse(custos_domain::Network::Bitcoin, OTHER_BTC).unwrap();
    let plan = t.app.payouts().plan_bitcoin_consolidation(&wallet, 10).await.unwrap();
    let spent: Vec<(String, u32, u64)> = plan.inputs.iter().map(|i| (i.txid.clone(), i.vout, i.value)).collect();
    assert_eq!(spent, [(hash_of("pay-two-replacement"), 0, 99_000)]);
    assert_eq!(plan.fee, custos_domain::consolidation::p2wpkh_vsize(1) * 10);
    assert_eq!(plan.output_value, 99_000 - plan.fee);
    assert!(plan.excluded.iter().any(|e| e.address == one.deposit_address), "{:?}", plan.excluded);
    assert!(t.app.payouts().record_sweep(plan.inputs[0].deposit_id, &hash_of("sweep"), "signer").await.unwrap());
    assert!(t.app.payouts().plan_bitcoin_consolidation(&wallet, 10).await.unwrap().inputs.is_empty(), "swept once");
});

/// A transaction as `getblock <hash> 3` shows it: amounts in BTC, inputs with their prevouts.
fn core_tx(t: &Value) -> Value {
    let out = |o: &Value, n: Option<usize>| {
        let mut v = json!({"value": o["value"].as_u64().unwrap() as f64 / 1e8,
                           "scriptPubKey": {"hex": o["scriptpubkey"], "type": "witness_v0_keyhash", "address": o["scriptpubkey_address"]}});
        if let Some(n) = n {
            v["n"] = n.into();
        }
        v
    };
    let vin: Vec<Value> = t["vin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            if i["is_coinbase"] == true {
                json!({"coinbase": "03", "sequence": 4294967295u64})
            } else {
                json!({"txid": i["txid"], "vout": i["vout"], "prevout": out(&i["prevout"], None), "sequence": i["sequence"]})
            }
        })
        .collect();
    let vout: Vec<Value> = t["vout"].as_array().unwrap().iter().enumerate().map(|(n, o)| out(o, Some(n))).collect();
    json!({"txid": t["txid"], "hash": t["txid"], "version": 2, "vin": vin, "vout": vout})
}

async fn core_rpc(
    State(c): State<Chain>,
    headers: axum::http::HeaderMap,
    axum::Json(req): axum::Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // rpcuser custos, rpcpassword hunter2
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Basic Y3VzdG9zOmh1bnRlcjI=") {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    let chain = c.lock().unwrap().clone();
    let ok = |v: Value| axum::Json(json!({"result": v, "error": null, "id": req["id"]})).into_response();
    let out_of_range = || {
        axum::Json(
            json!({"result": null, "error": {"code": -8, "message": "Block height out of range"}, "id": req["id"]}),
        )
        .into_response()
    };
    match req["method"].as_str().unwrap() {
        "getblockcount" => ok(json!(chain.len() - 1)),
        "getblockhash" => match chain.get(req["params"][0].as_u64().unwrap() as usize) {
            Some(b) => ok(json!(b.hash)),
            None => out_of_range(),
        },
        "getblock" => {
            let hash = req["params"][0].as_str().unwrap();
            match chain.iter().enumerate().find(|(_, b)| b.hash == hash) {
                Some((h, b)) => ok(json!({"hash": b.hash, "height": h, "previousblockhash": b.prev,
                                          "tx": b.txs.iter().map(core_tx).collect::<Vec<_>>()})),
                None => out_of_range(),
            }
        }
        m => {
            axum::Json(json!({"result": null, "error": {"code": -32601, "message": format!("Method not found: {m}")}}))
                .into_response()
        }
    }
}

both!(risk_1_bitcoin_core_json_rpc_gives_the_same_deposits, |t: TestApp| async move {
    use custos_chain::bitcoind::BitcoinCore;
    let chain: Chain = Arc::default();
    for i in 0..10 {
        push(&chain, &format!("core-genesis-{i}"), vec![coinbase(&format!("core-cb-{i}"))]);
    }
    let app = axum::Router::new().route("/", axum::routing::post(core_rpc)).with_state(chain.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let wrong = BitcoinCore::new(&url, "custos", "wrong", Duration::from_secs(5)).unwrap();
    let refused = custos_app::watch::ChainSource::tip(&wrong).await.unwrap_err();
    assert!(matches!(&refused, custos_app::ports::RemoteError::Refused(m) if m.contains("credentials")), "{refused:?}");
    let source = BitcoinCore::new(&url, "custos", "hunter2", Duration::from_secs(5)).unwrap();
    let s = WatchSettings { default_depth: 2, start_block: Some(10), ..WatchSettings::default() };
    let mut o = new_order("core@example.com");
    o.pay_network = custos_domain::Network::Bitcoin;
    o.pay_asset = Asset::Btc;
    o.receive_network = custos_domain::Network::Ethereum;
    o.receive_asset = Asset::Eth;
    o.receive_address = custos_domain::Address::parse(custos_domain::Network::Ethereum, CLEAN_ETH).unwrap();
    let order = t.app.intake().create_order(o, "test").await.unwrap();
    push(
        &chain,
        "core-10",
        vec![coinbase("core-cb-10"), tx("core-pay", &[CLEAN_BTC, OTHER_BTC], &[(&order.deposit_address, 123_456)])],
    );
    assert_eq!(t.app.intake().watch_step(&source, &s).await.unwrap().seen, 1);
    push(&chain, "core-11", vec![coinbase("core-cb-11")]);
    assert_eq!(t.app.intake().watch_step(&source, &s).await.unwrap().credited, 1);
    let view = t.app.queries().order(order.id).await.unwrap();
    let d = &view.deposits[0];
    assert_eq!((d.amount, d.index, d.sources.len()), (Amount(123_456), 0, 2), "satoshis, the output, both inputs");
    assert_eq!(view.order.status, OrderStatus::Accepted);
});
