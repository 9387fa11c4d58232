//! `custos bench watch`: the Ethereum watcher against a real local node (anvil) with many
//! watched addresses: deposits per second and the delay from a block to its screened deposits.

use crate::bootstrap::{self, Location};
use crate::config::Config;
use crate::Global;
use custos_app::watch::WatchSettings;
use custos_chain::evm::{quantity, EvmRpc};
use custos_domain::{Address, Amount, Asset, Network};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// anvil's default accounts, unlocked and funded: the senders.
const SENDERS: [&str; 10] = [
    "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
    "0x90f79bf6eb2c4f870365e785982e1f101e93b906",
    "0x15d34aaf54267db7d7c367839aaf71a00a2c6a65",
    "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc",
    "0x976ea74026e726554db657fa54763abd0c3a0aa9",
    "0x14dc79964da2c08b23698b3d3cc7ca32193d9955",
    "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f",
    "0xa0ee7a142d267c1f36714e4a8f75612f20a79720",
];

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn anvil_binary(given: Option<PathBuf>) -> Result<PathBuf, String> {
    given
        .or_else(|| std::env::var_os("CUSTOS_ANVIL").map(PathBuf::from))
        .or_else(|| Some(PathBuf::from(".tools/node_modules/.bin/anvil")))
        .filter(|p| p.is_file())
        .ok_or_else(|| "no anvil: pass --anvil PATH, set CUSTOS_ANVIL, or run scripts/install-test-tools".into())
}

pub async fn watch(
    cfg: &Config,
    g: Global,
    addresses: usize,
    per_block: usize,
    blocks: usize,
    anvil: Option<PathBuf>,
    json_out: bool,
) -> Result<ExitCode, String> {
    let bin = anvil_binary(anvil)?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    // Blocks are mined when the bench says, so that each holds `per_block` deposits.
    let child = Command::new(&bin)
        .args(["--port", &port.to_string(), "--host", "127.0.0.1", "--silent", "--no-mining"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let _node = Node(child);
    let url = format!("http://127.0.0.1:{port}");
    let rpc = EvmRpc::new(&url, vec![], Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let mut up = false;
    for _ in 0..100 {
        if rpc.call("eth_blockNumber", json!([])).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        return Err("anvil did not answer".into());
    }

    let scratch = std::env::temp_dir().join(format!("custos-bench-watch-{}", std::process::id()));
    let loc =
        Location::resolve(cfg, Some(g.data_dir.clone().unwrap_or_else(|| scratch.clone())), g.database_url.clone(), "");
    let mut bench_cfg = Config::default();
    bench_cfg.secrets.master_key = Some(custos_crypto::MasterKey::generate().to_base64());
    bench_cfg.deposit_keys.ethereum = Some(custos_chain::demo::ETHEREUM_XPUB.into());
    let rt = bootstrap::runtime(&bench_cfg, &loc, bootstrap::cipher(&bench_cfg, true)?).await?;
    let app = rt.app.clone();

    let bar = crate::progress::bar(addresses as u64, "orders", !json_out);
    let mut watched = Vec::with_capacity(addresses);
    for _ in 0..addresses {
        let order = custos_app::model::NewOrder {
            external_id: None,
            customer_email: None,
            pay_network: Network::Ethereum,
            pay_asset: Asset::Eth,
            pay_amount: Amount(1_000_000_000_000_000),
            receive_network: Network::Ethereum,
            receive_asset: Asset::Eth,
            receive_amount: Amount(1),
            receive_address: Address::parse(Network::Ethereum, SENDERS[0]).map_err(|e| e.to_string())?,
        };
        watched.push(app.intake().create_order(order, "bench").await.map_err(|e| e.to_string())?.deposit_address);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let tip = quantity(&rpc.call("eth_blockNumber", json!([])).await.map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())? as u64;
    let settings = WatchSettings { default_depth: 1, start_block: Some(tip + 1), ..WatchSettings::default() };
    let mut delays = Vec::with_capacity(blocks);
    let mut next = 0usize;
    let started = Instant::now();
    let mut credited_total = 0u64;
    for b in 0..blocks {
        for i in 0..per_block {
            let to = &watched[next % watched.len()];
            next += 1;
            let tx =
                json!({"from": SENDERS[(b * per_block + i) % SENDERS.len()], "to": to, "value": "0x38d7ea4c68000"});
            rpc.call("eth_sendTransaction", json!([tx])).await.map_err(|e| e.to_string())?;
        }
        rpc.call("evm_mine", json!([])).await.map_err(|e| e.to_string())?;
        let mined = Instant::now();
        let mut credited = 0u64;
        while credited < per_block as u64 {
            let r = app.intake().watch_step(&rpc, &settings).await.map_err(|e| e.to_string())?;
            credited += r.credited;
            if r.credited == 0 && r.scanned == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if mined.elapsed() > Duration::from_secs(120) {
                return Err(format!("block {b}: only {credited} of {per_block} deposits credited after 120 s"));
            }
        }
        credited_total += credited;
        delays.push(mined.elapsed().as_secs_f64() * 1000.0);
    }
    let busy: f64 = delays.iter().sum::<f64>() / 1000.0;
    let mut sorted = delays.clone();
    sorted.sort_by(f64::total_cmp);
    let p50 = sorted[sorted.len() / 2];
    let max = sorted[sorted.len() - 1];
    let rate = credited_total as f64 / busy.max(1e-9);
    rt.store.close().await;
    if g.data_dir.is_none() && g.database_url.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let backend = if loc.database_url.starts_with("postgres") { "postgres" } else { "sqlite" };
    if json_out {
        println!(
            "{}",
            json!({"backend": backend, "watched_addresses": addresses, "blocks": blocks, "deposits_per_block": per_block,
                   "deposits_per_second": rate, "block_to_screened_ms_p50": p50, "block_to_screened_ms_max": max,
                   "wall_seconds": started.elapsed().as_secs_f64()})
        );
    } else {
        println!("watch ({backend}): {addresses} watched addresses, {blocks} blocks of {per_block} deposits on anvil");
        println!("  deposits detected, screened and credited: {rate:.0}/s");
        println!("  block to screened deposits: p50 {p50:.0} ms, max {max:.0} ms (target: within 1 s)");
    }
    Ok(ExitCode::SUCCESS)
}
