//! The TRON watcher through a full node's HTTP API and TronGrid's event API, on SQLite and
//! PostgreSQL, against a local server answering in their documented formats (no TRON node can
//! run here): TRX and TRC-20 (USDT) transfers to derived addresses, the sender as the source,
//! failed transactions and other contracts ignored, and a reorganisation.

use crate::common::*;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Json;
use custos_app::watch::WatchSettings;
use custos_chain::tron::{Trc20, TronGrid};
use custos_domain::{Address, Amount, Asset, Network, OrderStatus};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const USDT: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

#[derive(Clone, Default)]
struct Block {
    id: String,
    parent: String,
    txs: Vec<Value>,
    events: Vec<Value>,
}

type Chain = Arc<Mutex<Vec<Block>>>;

fn id_of(seed: &str) -> String {
    custos_crypto::sha256_hex(seed.as_bytes())
}

/// A TRON account's address from a seed, and its hex form (41…).
fn account(seed: u8) -> (Address, String) {
    let bytes = [seed; 20];
    (Address::tron_from_bytes(&bytes), format!("41{}", hex::encode(bytes)))
}

fn hex_of(a: &Address) -> String {
    // The 20 bytes behind a base58 T-address, as TronGrid's event results write them (0x…).
    let raw = bs58_decode(a.as_str());
    format!("0x{}", hex::encode(&raw[1..21]))
}

fn bs58_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut out: Vec<u8> = vec![0];
    for c in s.bytes() {
        let mut carry = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        for b in out.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut v = vec![0u8; zeros];
    v.extend(out.into_iter().skip_while(|&b| b == 0));
    v
}

fn trx_transfer(seed: &str, from_hex: &str, to: &Address, amount: u64, ret: &str) -> Value {
    json!({"ret": [{"contractRet": ret}], "txID": id_of(seed), "raw_data": {"contract": [{"type": "TransferContract",
           "parameter": {"type_url": "type.googleapis.com/protocol.TransferContract",
                         "value": {"owner_address": from_hex, "to_address": format!("41{}", &hex_of(to)[2..]), "amount": amount}}}],
           "timestamp": 1767225600000u64}})
}

fn trc20_event(seed: &str, contract: &str, from: &Address, to: &Address, value: u128, index: u32) -> Value {
    json!({"block_number": 0, "block_timestamp": 1767225600000u64, "caller_contract_address": contract,
           "contract_address": contract, "event_index": index, "event_name": "Transfer",
           "result": {"0": hex_of(from), "1": hex_of(to), "2": value.to_string(), "from": hex_of(from), "to": hex_of(to), "value": value.to_string()},
           "result_type": {"from": "address", "to": "address", "value": "uint256"}, "event": "Transfer(address indexed from, address indexed to, uint256 value)",
           "transaction_id": id_of(seed)})
}

fn block_json(n: usize, b: &Block) -> Value {
    json!({"blockID": b.id, "block_header": {"raw_data": {"number": n, "txTrieRoot": "0", "witness_address": "41", "parentHash": b.parent, "version": 30, "timestamp": 1767225600000u64 + n as u64 * 3000}, "witness_signature": "00"},
           "transactions": b.txs})
}

async fn now_block(State(c): State<Chain>) -> Json<Value> {
    let c = c.lock().unwrap();
    Json(block_json(c.len() - 1, c.last().unwrap()))
}

async fn by_num(State(c): State<Chain>, Json(body): Json<Value>) -> Json<Value> {
    let n = body["num"].as_u64().unwrap() as usize;
    Json(c.lock().unwrap().get(n).map(|b| block_json(n, b)).unwrap_or(json!({})))
}

async fn events(State(c): State<Chain>, Path(n): Path<usize>) -> Json<Value> {
    let data: Vec<Value> = c
        .lock()
        .unwrap()
        .get(n)
        .map(|b| {
            b.events
                .iter()
                .map(|e| {
                    let mut e = e.clone();
                    e["block_number"] = n.into();
                    e
                })
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"data": data, "success": true, "meta": {"at": 1767225600000u64, "page_size": 200}}))
}

async fn trongrid(chain: Chain) -> String {
    let app = axum::Router::new()
        .route("/wallet/getnowblock", post(now_block))
        .route("/wallet/getblockbynum", post(by_num))
        .route("/v1/blocks/{n}/events", get(events))
        .with_state(chain);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn push(chain: &Chain, seed: &str, txs: Vec<Value>, events: Vec<Value>) {
    let mut c = chain.lock().unwrap();
    let parent = c.last().map(|b| b.id.clone()).unwrap_or_default();
    c.push(Block { id: id_of(seed), parent, txs, events });
}

both!(risk_1_tron_trx_and_trc20_deposits_with_a_reorg, |t: TestApp| async move {
    let chain: Chain = Arc::default();
    for i in 0..50 {
        push(&chain, &format!("b-{i}"), vec![], vec![]);
    }
    let usdt = Address::parse(Network::Tron, USDT).unwrap();
    let source = TronGrid::new(
        &trongrid(chain.clone()).await,
        None,
        vec![Trc20 { contract: usdt.clone(), asset: Asset::Usdt }],
        Duration::from_secs(5),
    )
    .unwrap();
    let s = WatchSettings { default_depth: 2, start_block: Some(50), ..WatchSettings::default() };
    let order = |email: &'static str, asset: Asset| {
        let app = t.app.clone();
        async move {
            let mut o = new_order(email);
            o.pay_network = Network::Tron;
            o.pay_asset = asset;
            app.intake().create_order(o, "test").await.unwrap()
        }
    };
    let trx = order("t@example.com", Asset::Trx).await;
    let tether = order("u@example.com", Asset::Usdt).await;
    let later = order("v@example.com", Asset::Usdt).await;
    let (sender, sender_hex) = account(7);
    let to = |o: &custos_app::model::OrderRecord| Address::parse(Network::Tron, &o.deposit_address).unwrap();
    let other_contract = account(9).0;

    push(
        &chain,
        "b-50",
        vec![
            trx_transfer("trx-ok", &sender_hex, &to(&trx), 25_000_000, "SUCCESS"),
            trx_transfer("trx-failed", &sender_hex, &to(&trx), 99_000_000, "REVERT"),
        ],
        vec![
            trc20_event("usdt-ok", USDT, &sender, &to(&tether), 5_000_000, 0),
            trc20_event("fake-token", other_contract.as_str(), &sender, &to(&tether), 9_000_000, 0),
        ],
    );
    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!((r.seen, r.credited), (2, 0), "the failed TRX and the other contract are ignored: {r:?}");
    push(&chain, "b-51", vec![], vec![]);
    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!(r.credited, 2, "{r:?}");
    let view = t.app.queries().order(trx.id).await.unwrap();
    assert_eq!((view.order.status, view.deposits.len()), (OrderStatus::Accepted, 1));
    assert_eq!(
        (view.deposits[0].amount, view.deposits[0].sources.clone()),
        (Amount(25_000_000), vec![sender.as_str().to_owned()])
    );
    let view = t.app.queries().order(tether.id).await.unwrap();
    assert_eq!(view.deposits[0].amount, Amount(5_000_000));
    assert_eq!(view.deposits[0].sources, [sender.as_str()], "the sender, not the contract");
    assert_eq!((view.deposits[0].txid.clone(), view.deposits[0].index), (id_of("usdt-ok"), 1));

    // A reorganisation before the depth: the transfer is dropped.
    push(&chain, "b-52", vec![], vec![trc20_event("usdt-late", USDT, &sender, &to(&later), 1_000_000, 0)]);
    assert_eq!(t.app.intake().watch_step(&source, &s).await.unwrap().seen, 1);
    chain.lock().unwrap().pop();
    push(&chain, "b-52-b", vec![], vec![]);
    push(&chain, "b-53-b", vec![], vec![]);
    let r = t.app.intake().watch_step(&source, &s).await.unwrap();
    assert_eq!((r.dropped, r.credited), (1, 0), "{r:?}");
    assert!(t.app.queries().order(later.id).await.unwrap().deposits.is_empty());
});
