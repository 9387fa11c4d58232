//! The Ethereum watcher against a real local node (anvil, from the npm package
//! @foundry-rs/anvil; scripts/install-test-tools), on SQLite and PostgreSQL: ETH and ERC-20
//! deposits to derived addresses are seen, counted until their depth, credited and screened; a
//! reorganisation drops what was not credited yet and reverts what was (with a case), and what
//! the new chain adds is credited; after a restart the watcher catches up without duplicates.

use crate::common::*;
use custos_app::watch::{WatchReport, WatchSettings};
use custos_chain::evm::{EvmRpc, Token};
use custos_domain::{Address, Amount, Asset, Network, OrderStatus, RiskCategory};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// anvil's first two accounts (its default mnemonic): unlocked, funded.
const ALICE: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const CASINO: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
/// Three more of its accounts: one sender funding many customers is a monitoring rule of its own.
const DORA: &str = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const EVAN: &str = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
const FRED: &str = "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65";
const ETHER: u128 = 1_000_000_000_000_000_000;

/// A local Ethereum node for one test; stopped when dropped.
pub struct Anvil {
    child: Child,
    pub url: String,
    pub rpc: EvmRpc,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Anvil {
    /// `None` (the test skipped) without anvil, unless CUSTOS_REQUIRE_ANVIL=1.
    pub async fn start() -> Option<Anvil> {
        let Some(bin) = std::env::var("CUSTOS_ANVIL").ok().filter(|b| std::path::Path::new(b).is_file()) else {
            assert!(
                std::env::var("CUSTOS_REQUIRE_ANVIL").map_or(true, |v| v != "1"),
                "CUSTOS_REQUIRE_ANVIL=1 but CUSTOS_ANVIL names no anvil (scripts/install-test-tools)"
            );
            eprintln!("SKIPPED: anvil is not installed (scripts/install-test-tools)");
            return None;
        };
        // A chain id of its own tells this node from another test's on a reused port.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let chain_id = 1_000 + u64::from(rand_u16());
            let child = Command::new(&bin)
                .args(["--port", &port.to_string(), "--host", "127.0.0.1", "--silent"])
                .args(["--chain-id", &chain_id.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("anvil starts");
            let url = format!("http://127.0.0.1:{port}");
            let rpc = EvmRpc::new(&url, vec![], Duration::from_secs(10)).unwrap();
            let mut anvil = Anvil { child, url, rpc };
            for _ in 0..100 {
                if anvil.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if let Ok(id) = anvil.rpc.call("eth_chainId", json!([])).await {
                    if custos_chain::evm::quantity(&id).ok() == Some(u128::from(chain_id)) {
                        return Some(anvil);
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        panic!("anvil did not start");
    }

    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.rpc.call(method, params).await.unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// Sends a transaction from an unlocked account and waits until it is mined; returns its hash.
    pub async fn send(&self, from: &str, to: Option<&str>, value: u128, data: Option<String>) -> String {
        let mut tx = json!({"from": from, "value": format!("0x{value:x}")});
        if let Some(to) = to {
            tx["to"] = to.into();
        }
        if let Some(d) = data {
            tx["data"] = d.into();
        }
        let hash = self.call("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_owned();
        self.receipt(&hash).await;
        hash
    }

    /// The transaction's receipt, once it is mined.
    pub async fn receipt(&self, hash: &str) -> Value {
        for _ in 0..100 {
            let r = self.call("eth_getTransactionReceipt", json!([hash])).await;
            if !r.is_null() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("transaction {hash} was not mined");
    }

    pub async fn mine(&self, blocks: u64) {
        self.call("anvil_mine", json!([format!("0x{blocks:x}")])).await;
    }

    pub async fn snapshot(&self) -> Value {
        self.call("evm_snapshot", json!([])).await
    }

    pub async fn revert(&self, id: Value) {
        assert_eq!(self.call("evm_revert", json!([id])).await, json!(true));
    }

    /// Deploys TestToken (crates/chain/tests/evm) with `supply` for `from`; returns its address.
    pub async fn deploy_token(&self, from: &str, supply: u128) -> Address {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../chain/tests/evm/TestToken.json");
        let artifact: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let code = format!("{}{supply:064x}", artifact["bytecode"].as_str().unwrap());
        let hash = self.send(from, None, 0, Some(code)).await;
        let receipt = self.receipt(&hash).await;
        let contract = receipt["contractAddress"].as_str().unwrap_or_else(|| panic!("no contract: {receipt}"));
        Address::parse(Network::Ethereum, contract).unwrap()
    }

    /// `transfer(to, amount)` on a token.
    pub async fn token_transfer(&self, token: &Address, from: &str, to: &str, amount: u128) -> String {
        let data = format!("0xa9059cbb{:0>64}{amount:064x}", &to[2..]);
        self.send(from, Some(token.as_str()), 0, Some(data)).await
    }
}

fn rand_u16() -> u16 {
    u16::from_le_bytes(custos_crypto::random_bytes::<2>())
}

async fn order_paid_in(t: &TestApp, email: &str, asset: Asset) -> custos_app::model::OrderRecord {
    let mut o = new_order(email);
    o.pay_asset = asset;
    t.app.intake().create_order(o, "test").await.unwrap()
}

fn settings(start: u64) -> WatchSettings {
    WatchSettings { default_depth: 5, start_block: Some(start), ..WatchSettings::default() }
}

async fn step(t: &TestApp, rpc: &EvmRpc, s: &WatchSettings) -> WatchReport {
    t.app.intake().watch_step(rpc, s).await.unwrap()
}

async fn status(t: &TestApp, id: uuid::Uuid) -> OrderStatus {
    t.app.queries().order(id).await.unwrap().order.status
}

both!(risk_1_eth_and_token_deposits_are_seen_confirmed_screened_and_follow_reorgs, |t: TestApp| async move {
    let Some(node) = Anvil::start().await else { return };
    // The sender of one deposit is a known casino.
    add_labels(t.store.as_ref(), "test-desk", &[(Network::Ethereum, CASINO, RiskCategory::Gambling)], 0).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let token = node.deploy_token(ALICE, 1_000_000_000_000).await;
    let rpc =
        EvmRpc::new(&node.url, vec![Token { contract: token.clone(), asset: Asset::Usdt }], Duration::from_secs(10))
            .unwrap();
    let s = settings(
        node.rpc.call("eth_blockNumber", json!([])).await.map(|v| custos_chain::evm::quantity(&v).unwrap()).unwrap()
            as u64,
    );

    let eth = order_paid_in(&t, "ann@example.com", Asset::Eth).await;
    let usdt = order_paid_in(&t, "ben@example.com", Asset::Usdt).await;
    let held = order_paid_in(&t, "cat@example.com", Asset::Eth).await;
    node.send(ALICE, Some(&eth.deposit_address), ETHER, None).await;
    let token_tx = node.token_transfer(&token, ALICE, &usdt.deposit_address, 5_000_000).await;
    node.send(CASINO, Some(&held.deposit_address), ETHER / 2, None).await;

    // Seen, not deep enough yet: nothing credited, the orders still wait.
    let r = step(&t, &rpc, &s).await;
    assert_eq!((r.seen, r.credited), (3, 0), "{r:?}");
    assert_eq!(status(&t, eth.id).await, OrderStatus::AwaitingDeposit);
    node.mine(5).await;
    let r = step(&t, &rpc, &s).await;
    assert_eq!((r.seen, r.credited), (0, 3), "{r:?}");
    let view = t.app.queries().order(eth.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::Accepted);
    assert_eq!(view.deposits[0].amount, Amount(ETHER));
    assert_eq!(view.deposits[0].sources, [ALICE], "the sender is the source");
    let view = t.app.queries().order(usdt.id).await.unwrap();
    assert_eq!((view.order.status, view.deposits[0].amount), (OrderStatus::Accepted, Amount(5_000_000)));
    assert_eq!(view.deposits[0].sources, [ALICE], "the token's sender, not the contract");
    assert_eq!(view.deposits[0].txid, token_tx);
    let view = t.app.queries().order(held.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::OnHoldAwaitingCustomer, "the casino's ether is held");
    assert!(view.deposits[0].confirmations.is_some_and(|c| c >= 5));
    assert_eq!(step(&t, &rpc, &s).await.credited, 0, "credited once");

    // A shallow reorganisation: the transfer had not reached its depth; it is dropped.
    let late = order_paid_in(&t, "dan@example.com", Asset::Eth).await;
    let snap = node.snapshot().await;
    node.send(DORA, Some(&late.deposit_address), ETHER / 5, None).await;
    assert_eq!(step(&t, &rpc, &s).await.seen, 1);
    node.revert(snap).await;
    node.mine(2).await;
    let r = step(&t, &rpc, &s).await;
    assert_eq!((r.dropped, r.credited), (1, 0), "{r:?}");
    // What the new chain adds is credited as usual.
    node.send(DORA, Some(&late.deposit_address), ETHER / 10 * 3, None).await;
    node.mine(5).await;
    let r = step(&t, &rpc, &s).await;
    assert_eq!(r.credited, 1, "{r:?}");
    let view = t.app.queries().order(late.id).await.unwrap();
    assert_eq!(view.deposits.len(), 1);
    assert_eq!(view.deposits[0].amount, Amount(ETHER / 10 * 3), "only the transfer on the chain counts");

    // A deep one: the deposit was credited; it is reverted and officers get a case.
    let deep = order_paid_in(&t, "eve@example.com", Asset::Eth).await;
    let snap = node.snapshot().await;
    node.send(EVAN, Some(&deep.deposit_address), ETHER / 10, None).await;
    node.mine(5).await;
    assert_eq!(step(&t, &rpc, &s).await.credited, 1);
    let view = t.app.queries().order(deep.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::Accepted, "{:?}", view.cases);
    node.revert(snap).await;
    node.mine(8).await;
    let r = step(&t, &rpc, &s).await;
    assert_eq!(r.reverted, 1, "{r:?}");
    let view = t.app.queries().order(deep.id).await.unwrap();
    let reasons = serde_json::to_string(&view.cases.iter().map(|c| &c.reasons).collect::<Vec<_>>()).unwrap();
    assert!(reasons.contains("deposit_reorged"), "{reasons}");
    let reverted: Option<i64> = sqlx::query_scalar("SELECT reverted_at_ms FROM deposits WHERE order_id = $1")
        .bind(deep.id.to_string())
        .fetch_one(t.store.pool())
        .await
        .unwrap();
    assert!(reverted.is_some(), "the deposit no longer counts");

    // Officers see what the watcher saw.
    let base = t.serve_only().await;
    let accounts = t.app.accounts();
    let password = "violet tractor 42 umbrella";
    accounts.create_staff("ops@example.com", password, custos_domain::access::Role::Support, None).await.unwrap();
    let (session, _) =
        enrol(&t, custos_app::accounts::records::AccountKind::Staff, "ops@example.com", password, "127.0.0.1").await;
    let page = reqwest::Client::new()
        .get(format!("{base}/office/chains"))
        .header("cookie", format!("__Host-custos_staff={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for seen in ["Credited and screened", "Dropped by a reorganisation", "Reverted by a reorganisation", &token_tx] {
        assert!(page.contains(seen), "the chains page shows {seen}");
    }

    // Downtime: blocks pass while no watcher runs; after a restart it catches up, once.
    let after = order_paid_in(&t, "fay@example.com", Asset::Eth).await;
    node.send(FRED, Some(&after.deposit_address), ETHER / 4, None).await;
    node.mine(6).await;
    let deposits = |t: &TestApp| {
        let pool = t.store.pool().clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM deposits").fetch_one(&pool).await.unwrap() }
    };
    let before = deposits(&t).await;
    let t = t.restart(Options::default()).await;
    let r = step(&t, &rpc, &s).await;
    assert_eq!((r.credited, r.scanned > 0), (1, true), "{r:?}");
    assert_eq!(deposits(&t).await, before + 1, "no duplicates after the restart");
    assert_eq!(step(&t, &rpc, &s).await.credited, 0);
    let view = t.app.queries().order(after.id).await.unwrap();
    assert_eq!(view.order.status, OrderStatus::Accepted, "{:?}", view.cases);
});

/// Orders expire without a deposit, their addresses stay watched, and a late deposit is
/// credited, screened and given a case instead of being lost.
async fn late_deposits_to_expired_orders(backend: Backend) {
    let deadlines = custos_app::service::Deadlines { order_expiry_ms: Some(2 * 3_600_000), ..Default::default() };
    let Some(t) = TestApp::with(backend, Options { deadlines, ..Options::default() }).await else { return };
    let Some(node) = Anvil::start().await else { return };
    let order = order_paid_in(&t, "gus@example.com", Asset::Eth).await;
    t.clock.advance_ms(3 * 3_600_000);
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().orders_expired, 1);
    assert_eq!(status(&t, order.id).await, OrderStatus::Expired);
    let start = custos_chain::evm::quantity(&node.call("eth_blockNumber", json!([])).await).unwrap() as u64;
    node.send(ALICE, Some(&order.deposit_address), ETHER, None).await;
    node.mine(5).await;
    let r = step(&t, &node.rpc, &settings(start)).await;
    assert_eq!(r.credited, 1, "the expired order's address is still watched: {r:?}");
    let view = t.app.queries().order(order.id).await.unwrap();
    assert_eq!((view.order.status, view.deposits.len()), (OrderStatus::Expired, 1));
    let reasons = serde_json::to_string(&view.cases.iter().map(|c| &c.reasons).collect::<Vec<_>>()).unwrap();
    assert!(reasons.contains("late_deposit"), "officers get a case: {reasons}");
    assert_eq!(t.app.deadline_job().enforce_deadlines().await.unwrap().orders_expired, 0, "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_1_late_deposits_to_expired_orders_are_screened_with_a_case_sqlite() {
    late_deposits_to_expired_orders(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_1_late_deposits_to_expired_orders_are_screened_with_a_case_postgres() {
    late_deposits_to_expired_orders(Backend::Postgres).await;
}

// ADDR-2, ADDR-5: the plan sweeps only cleared deposits into the verified wallet; held and
// refused funds stay at their addresses. anvil's impersonation stands in for the operator's
// signer, so the sweep runs for real.
both!(addr_2_addr_5_consolidation_sweeps_only_cleared_deposits, |t: TestApp| async move {
    use custos_app::consolidation::EvmFees;
    let Some(node) = Anvil::start().await else { return };
    add_labels(t.store.as_ref(), "test-desk", &[(Network::Ethereum, CASINO, RiskCategory::Gambling)], 0).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let token = node.deploy_token(ALICE, 1_000_000_000_000).await;
    let rpc =
        EvmRpc::new(&node.url, vec![Token { contract: token.clone(), asset: Asset::Usdt }], Duration::from_secs(10))
            .unwrap();
    let start = custos_chain::evm::quantity(&node.call("eth_blockNumber", json!([])).await).unwrap() as u64;
    let s = WatchSettings { default_depth: 1, start_block: Some(start), ..WatchSettings::default() };
    let clean = order_paid_in(&t, "hal@example.com", Asset::Eth).await;
    let tokens = order_paid_in(&t, "ida@example.com", Asset::Usdt).await;
    let held = order_paid_in(&t, "jon@example.com", Asset::Eth).await;
    let refused = order_paid_in(&t, "kim@example.com", Asset::Eth).await;
    node.send(ALICE, Some(&clean.deposit_address), ETHER, None).await;
    node.token_transfer(&token, ALICE, &tokens.deposit_address, 5_000_000).await;
    node.send(CASINO, Some(&held.deposit_address), ETHER, None).await;
    let sanctioned = SANCTIONED_ETH.to_lowercase();
    node.call("anvil_setBalance", json!([sanctioned, "0x56bc75e2d63100000"])).await;
    node.call("anvil_impersonateAccount", json!([sanctioned])).await;
    node.send(&sanctioned, Some(&refused.deposit_address), ETHER, None).await;
    assert_eq!(step(&t, &rpc, &s).await.credited, 4);
    assert_ne!(status(&t, held.id).await, OrderStatus::Accepted);
    assert_ne!(status(&t, refused.id).await, OrderStatus::Accepted);

    let wallet = Address::parse(Network::Ethereum, "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f").unwrap();
    let gas_wallet = Address::parse(Network::Ethereum, ALICE).unwrap();
    let fees = EvmFees::default();
    let contracts = [(Asset::Usdt, token.clone())].into_iter().collect();
    let plan = t.app.payouts().plan_evm_consolidation(&wallet, &gas_wallet, &fees, &contracts).await.unwrap();
    let mut swept_from: Vec<&str> =
        plan.requests.iter().filter(|r| r.purpose == "sweep").map(|r| r.from.as_str()).collect();
    swept_from.sort();
    let mut cleared = vec![clean.deposit_address.as_str(), tokens.deposit_address.as_str()];
    cleared.sort();
    assert_eq!(swept_from, cleared, "only the cleared deposits are swept");
    let left: Vec<&str> = plan.excluded.iter().map(|e| e.address.as_str()).collect();
    assert!(
        left.contains(&held.deposit_address.as_str()) && left.contains(&refused.deposit_address.as_str()),
        "{left:?}"
    );
    assert_eq!(plan.requests.iter().filter(|r| r.purpose == "gas_top_up").count(), 1, "the token sweep needs gas");

    // The signer (here: anvil impersonating the addresses) sends them; Custos records them.
    let balance = |a: String| {
        let node = &node;
        async move { custos_chain::evm::quantity(&node.call("eth_getBalance", json!([a, "latest"])).await).unwrap() }
    };
    let wallet_before = balance(wallet.as_str().to_owned()).await;
    for r in &plan.requests {
        node.call("anvil_impersonateAccount", json!([r.from])).await;
        let mut tx = json!({"from": r.from, "to": r.to, "value": format!("0x{:x}", r.value.parse::<u128>().unwrap()),
                            "gas": format!("0x{:x}", r.gas), "gasPrice": format!("0x{:x}", r.gas_price.parse::<u128>().unwrap())});
        if let Some(d) = &r.data {
            tx["data"] = d.clone().into();
        }
        let hash = node.call("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_owned();
        assert_eq!(node.receipt(&hash).await["status"], "0x1", "{r:?}");
        for d in &r.deposits {
            assert!(t.app.payouts().record_sweep(*d, &hash, "signer").await.unwrap());
        }
    }
    let fee = 21_000 * fees.gas_price_wei;
    assert_eq!(balance(wallet.as_str().to_owned()).await - wallet_before, ETHER - fee, "the ether, less the fee");
    assert_eq!(balance(clean.deposit_address.clone()).await, 0);
    let call = json!({"to": token.as_str(), "data": format!("0x70a08231{:0>64}", &wallet.as_str()[2..])});
    let held_tokens = custos_chain::evm::quantity(&node.call("eth_call", json!([call, "latest"])).await).unwrap();
    assert_eq!(held_tokens, 5_000_000, "the tokens reached the wallet");
    assert_eq!(balance(held.deposit_address.clone()).await, ETHER, "held funds stay put");
    assert_eq!(balance(refused.deposit_address.clone()).await, ETHER, "refused funds stay put, for their refund");

    // Swept once: the next plan has nothing left but the excluded.
    let again = t.app.payouts().plan_evm_consolidation(&wallet, &gas_wallet, &fees, &contracts).await.unwrap();
    assert!(again.requests.is_empty(), "{:?}", again.requests);
    assert_eq!(again.excluded.len(), 2);
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "deposit.swept").count(), 2);
});

/// BIP-39's seed of a mnemonic (PBKDF2-HMAC-SHA512, 2048 rounds, empty passphrase).
fn bip39_seed(mnemonic: &str) -> [u8; 64] {
    use hmac::{Hmac, Mac};
    let prf = || <Hmac<sha2::Sha512> as Mac>::new_from_slice(mnemonic.as_bytes()).unwrap();
    let mut mac = prf();
    mac.update(b"mnemonic\x00\x00\x00\x01");
    let mut u: [u8; 64] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..2048 {
        let mut mac = prf();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        out.iter_mut().zip(u.iter()).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// The signer of the demo deposit key's wallet: the account m/44'/60'/0' of the public test
/// mnemonic, its gas wallet at 0/1000.
fn demo_signer(node: &Anvil) -> custos_chain::signer::EvmSigner {
    use custos_chain::signer::{EvmSigner, ExtendedPrivateKey};
    let seed =
        bip39_seed("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
    let h = 0x8000_0000;
    let account = ExtendedPrivateKey::from_seed(&seed)
        .and_then(|m| m.derive_child(h + 44))
        .and_then(|k| k.derive_child(h + 60))
        .and_then(|k| k.derive_child(h))
        .unwrap();
    EvmSigner::new(account, 1_000, EvmRpc::new(&node.url, vec![], Duration::from_secs(10)).unwrap())
}

// ADDR-2 with Custos's optional signer: the account key (here of the public test mnemonic the
// demo deposit key comes from) signs the plan's transactions, which the node mines.
both!(addr_2_the_optional_signer_sweeps_cleared_deposits, |t: TestApp| async move {
    let Some(node) = Anvil::start().await else { return };
    let signer = demo_signer(&node);
    let token = node.deploy_token(ALICE, 1_000_000_000_000).await;
    let rpc =
        EvmRpc::new(&node.url, vec![Token { contract: token.clone(), asset: Asset::Usdt }], Duration::from_secs(10))
            .unwrap();
    add_labels(t.store.as_ref(), "test-desk", &[(Network::Ethereum, CASINO, RiskCategory::Gambling)], 0).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let start = custos_chain::evm::quantity(&node.call("eth_blockNumber", json!([])).await).unwrap() as u64;
    let s = WatchSettings { default_depth: 1, start_block: Some(start), ..WatchSettings::default() };
    let clean = order_paid_in(&t, "lea@example.com", Asset::Eth).await;
    let tokens = order_paid_in(&t, "max@example.com", Asset::Usdt).await;
    let held = order_paid_in(&t, "ned@example.com", Asset::Eth).await;
    node.send(ALICE, Some(&clean.deposit_address), ETHER, None).await;
    node.token_transfer(&token, ALICE, &tokens.deposit_address, 7_000_000).await;
    node.send(CASINO, Some(&held.deposit_address), ETHER, None).await;
    let gas_wallet = signer.gas_wallet().unwrap();
    node.send(ALICE, Some(gas_wallet.as_str()), ETHER, None).await;
    assert_eq!(step(&t, &rpc, &s).await.credited, 3);

    let wallet = Address::parse(Network::Ethereum, "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f").unwrap();
    let fees = custos_app::consolidation::EvmFees::default();
    let contracts = [(Asset::Usdt, token.clone())].into_iter().collect();
    let plan = t.app.payouts().plan_evm_consolidation(&wallet, &gas_wallet, &fees, &contracts).await.unwrap();
    let balance = |a: String| {
        let node = &node;
        async move { custos_chain::evm::quantity(&node.call("eth_getBalance", json!([a, "latest"])).await).unwrap() }
    };
    let before = balance(wallet.as_str().to_owned()).await;
    let sent = t.app.payouts().execute_evm_plan(&plan, &signer, "signer").await.unwrap();
    assert_eq!(sent.len(), 3, "an ether sweep, a gas top-up and a token sweep");
    for hash in &sent {
        assert_eq!(node.receipt(hash).await["status"], "0x1", "signed, sent and mined: {hash}");
    }
    assert_eq!(balance(wallet.as_str().to_owned()).await - before, ETHER - 21_000 * fees.gas_price_wei);
    let call = json!({"to": token.as_str(), "data": format!("0x70a08231{:0>64}", &wallet.as_str()[2..])});
    assert_eq!(custos_chain::evm::quantity(&node.call("eth_call", json!([call, "latest"])).await).unwrap(), 7_000_000);
    assert_eq!(balance(held.deposit_address.clone()).await, ETHER, "held funds stay put");
    // A request naming an address the key does not own is refused, before anything is signed.
    let mut forged = plan.requests.iter().find(|r| r.purpose == "sweep").unwrap().clone();
    forged.from = held.deposit_address.clone();
    let refused = signer.send(&forged).await.unwrap_err();
    assert!(matches!(&refused, custos_chain::ChainError::Refused(m) if m.contains("is not the key of")), "{refused:?}");
});

// REF-2, REF-3 through the same signer: an approved refund leaves the deposit's own address for
// the chosen source, less only the network fee, and is recorded as sent.
both!(ref_2_a_refund_goes_through_the_signer, |t: TestApp| async move {
    use custos_app::model::{DecisionRequest, RequestKind};
    let Some(node) = Anvil::start().await else { return };
    let signer = demo_signer(&node);
    add_labels(t.store.as_ref(), "test-desk", &[(Network::Ethereum, CASINO, RiskCategory::Gambling)], 0).await;
    t.builtin.replace(custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap());
    let start = custos_chain::evm::quantity(&node.call("eth_blockNumber", json!([])).await).unwrap() as u64;
    let s = WatchSettings { default_depth: 1, start_block: Some(start), ..WatchSettings::default() };
    let order = order_paid_in(&t, "ola@example.com", Asset::Eth).await;
    node.send(CASINO, Some(&order.deposit_address), ETHER, None).await;
    assert_eq!(step(&t, &node.rpc, &s).await.credited, 1);
    let view = t.app.queries().order(order.id).await.unwrap();
    let case = view.cases[0].id;
    let customer = customer_actor(&t, "ola@example.com").await;
    for kind in [RequestKind::Kyc, RequestKind::SourceOfFunds] {
        let r = t.app.requests().request_from_customer(case, kind, "please", "staff:a").await.unwrap();
        t.app.requests().answer_request(r.id, "done", &customer).await.unwrap();
    }
    let fee = 21_000 * 1_000_000_000u128;
    let refund = DecisionRequest::Refund { to_address: CASINO.into(), network_fee: Amount(fee) };
    let decider = officer(&t, "officer@example.com", custos_domain::access::Role::Officer).await;
    let mlro = officer(&t, "mlro@example.com", custos_domain::access::Role::SeniorOfficer).await;
    let d = t.app.cases().decide(case, refund, &why(), &decider.actor()).await.unwrap();
    t.app.cases().approve_decision(d.id, &mlro).await.unwrap();
    let refund_id: String = sqlx::query_scalar("SELECT id FROM refunds").fetch_one(t.store.pool()).await.unwrap();
    let refund_id = uuid::Uuid::parse_str(&refund_id).unwrap();
    let balance = |a: &str| {
        let (node, a) = (&node, a.to_owned());
        async move { custos_chain::evm::quantity(&node.call("eth_getBalance", json!([a, "latest"])).await).unwrap() }
    };
    let before = balance(CASINO).await;
    let sent = t.app.payouts().send_refund(refund_id, &signer, "signer").await.unwrap();
    assert_eq!(sent.status.as_str(), "sent");
    assert_eq!(node.receipt(sent.txid.as_deref().unwrap()).await["status"], "0x1");
    assert_eq!(balance(CASINO).await - before, ETHER - fee, "the amount less only the network fee");
    assert_eq!(balance(&order.deposit_address).await, 0, "nothing left behind");
    assert_eq!(status(&t, order.id).await, OrderStatus::Refunded);
    assert_eq!(
        t.app.payouts().send_refund(refund_id, &signer, "signer").await.unwrap_err().code(),
        "refund_sent",
        "once"
    );
});

// ADDR-3: a payout through the same signer leaves from the service's hot wallet to the screened
// destination, and completes the order.
both!(addr_3_a_payout_goes_through_the_signer_from_the_hot_wallet, |t: TestApp| async move {
    let Some(node) = Anvil::start().await else { return };
    let signer = demo_signer(&node);
    let start = custos_chain::evm::quantity(&node.call("eth_blockNumber", json!([])).await).unwrap() as u64;
    let s = WatchSettings { default_depth: 1, start_block: Some(start), ..WatchSettings::default() };
    let mut o = new_order("pat@example.com");
    o.receive_network = Network::Ethereum;
    o.receive_asset = Asset::Eth;
    o.receive_amount = Amount(ETHER / 2);
    o.receive_address = Address::parse(Network::Ethereum, DORA).unwrap();
    let order = t.app.intake().create_order(o, "test").await.unwrap();
    node.send(ALICE, Some(&order.deposit_address), ETHER, None).await;
    assert_eq!(step(&t, &node.rpc, &s).await.credited, 1);
    let fees = custos_app::consolidation::EvmFees::default();
    let refused = t.app.payouts().send_payout(order.id, &signer, &fees, "signer").await.unwrap_err();
    assert_eq!(refused.code(), "order_not_payable", "not before the destination is screened");
    t.app.payouts().request_payout(order.id, "test").await.unwrap();
    let hot = signer.gas_wallet().unwrap();
    node.send(ALICE, Some(hot.as_str()), ETHER, None).await;
    let balance = |a: &str| {
        let (node, a) = (&node, a.to_owned());
        async move { custos_chain::evm::quantity(&node.call("eth_getBalance", json!([a, "latest"])).await).unwrap() }
    };
    let before = balance(DORA).await;
    let done = t.app.payouts().send_payout(order.id, &signer, &fees, "signer").await.unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(balance(DORA).await - before, ETHER / 2, "the receive amount, from the hot wallet");
    assert_eq!(balance(hot.as_str()).await, ETHER - ETHER / 2 - 21_000 * fees.gas_price_wei);
});
