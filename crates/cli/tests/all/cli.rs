//! The `custos` binary as an operator runs it.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn custos(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(args)
        .env("CUSTOS_DATA_DIR", dir)
        .env_remove("CUSTOS_DATABASE_URL")
        .env_remove("CUSTOS_MASTER_KEY")
        .env_remove("CUSTOS_CONFIG")
        .env("CUSTOS_LOG", "warn")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("custos-cli-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_explains_every_command() {
    let d = scratch("help");
    let out = custos(&["--help"], &d);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for cmd in ["serve", "demo", "migrate", "screen", "labels", "apikey", "audit", "bench"] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let out = custos(&["labels", "import", "--help"], &d);
    assert!(text(&out.stdout).contains("network,address,category,label,source,confidence"));
}

#[test]
fn pre_1_screen_prints_the_decision_and_the_same_json_as_the_api() {
    let d = scratch("screen");
    let out = custos(&["screen", "ethereum", SANCTIONED_ETH], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for needle in [
        "band         critical",
        "score        100.00",
        "decision     reject (KYC required)",
        "sanctions (direct, 100%)",
        "OFAC SDN",
    ] {
        assert!(s.contains(needle), "{needle:?} not in\n{s}");
    }
    let out = custos(&["screen", "--json", "bitcoin", CLEAN_BTC], &d);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "proceed");
    for field in
        ["id", "network", "address", "risk_score", "band", "categories", "analyzers", "policy_version", "explanation"]
    {
        assert!(v.get(field).is_some(), "{field}");
    }
    let out = custos(&["screen", "bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"], &d);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("bad checksum"), "{}", text(&out.stderr));
    let out = custos(&["screen", "litecoin", "x"], &d);
    assert!(text(&out.stderr).contains("unknown network"));
}

#[test]
fn apikey_create_prints_the_key_alone_on_the_last_line() {
    let d = scratch("key");
    let out =
        custos(&["apikey", "create", "--name", "site", "--scope", "orders:read", "--scope", "deposits:create"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("ck_") && !last.contains(' '), "{last}");
    let out = custos(&["apikey", "create", "--name", "x", "--scope", "everything"], &d);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("unknown scope"));
}

// Issue 13, item 13: a key without --scope used to get all nine scopes, payouts:manage included.
#[test]
fn fix_13_an_api_key_gets_only_the_scopes_named() {
    let d = scratch("scopes");
    let out = custos(&["apikey", "create", "--name", "site"], &d);
    assert!(!out.status.success(), "no key without a scope: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("--scope"), "{}", text(&out.stderr));
    let out = custos(&["apikey", "create", "--name", "site", "--scope", "metrics:read"], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("with scopes metrics:read;"), "{}", text(&out.stdout));
    let help = text(&custos(&["apikey", "create", "--help"], &d).stdout);
    for scope in custos_app::model::Scope::ALL {
        assert!(help.contains(scope.as_str()), "--help names {}", scope.as_str());
    }
}

#[test]
fn labels_import_csv_then_stats() {
    let d = scratch("labels");
    let csv = d.join("desk.csv");
    std::fs::write(&csv, format!("network,address,category,label,source,confidence\nethereum,{CLEAN_ETH},scam,reported,desk,70\nbitcoin,nonsense,scam,x,desk,1\n")).unwrap();
    let out = custos(&["labels", "import", csv.to_str().unwrap()], &d);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("imported 1 labels"));
    assert!(text(&out.stderr).contains("desk.csv:3:"), "bad rows are named by line: {}", text(&out.stderr));
    let out = custos(&["labels", "stats"], &d);
    let s = text(&out.stdout);
    assert!(s.contains("desk") && s.contains("ofac-sdn"), "{s}");
    let out = custos(&["screen", "ethereum", CLEAN_ETH], &d);
    assert!(text(&out.stdout).contains("decision     hold"), "{}", text(&out.stdout));
}

#[test]
fn audit_verify_exits_non_zero_naming_the_tampered_entry() {
    let d = scratch("audit");
    assert!(custos(&["apikey", "create", "--name", "a", "--scope", "orders:read"], &d).status.success());
    assert!(custos(&["apikey", "create", "--name", "b", "--scope", "orders:read"], &d).status.success());
    let out = custos(&["audit", "verify"], &d);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("audit log intact"));
    let url = custos_cli::bootstrap::default_database_url(&d);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = custos_store::SqlStore::connect(&url, &Default::default()).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_update").execute(store.pool()).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 2").execute(store.pool()).await.unwrap();
        store.close().await;
    });
    let out = custos(&["audit", "verify"], &d);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("entry 2"), "{}", text(&out.stdout));
}

/// `custos serve` with the configuration `toml` in the data folder `d` and a fresh master key.
fn serve_with_config(d: &std::path::Path, toml: &str) -> Output {
    let cfg = d.join("custos.toml");
    std::fs::write(&cfg, toml).unwrap();
    Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["--config", cfg.to_str().unwrap(), "serve"])
        .env("CUSTOS_DATA_DIR", d)
        .env("CUSTOS_MASTER_KEY", custos_crypto::MasterKey::generate().to_base64())
        .output()
        .unwrap()
}

#[test]
fn invariant_2_fix_12_serve_refuses_to_start_without_a_real_master_key_or_with_an_unsafe_policy() {
    let d = scratch("serve");
    let out = custos(&["serve", "--listen", "127.0.0.1:0"], &d);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("CUSTOS_MASTER_KEY"), "{}", text(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("CUSTOS_DATA_DIR", &d)
        .env("CUSTOS_MASTER_KEY", custos_crypto::EXAMPLE_KEY)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("well-known"), "{}", text(&out.stderr));
    let out = serve_with_config(&d, "[policy]\nanalyzer_failure = \"proceed\"\n");
    assert!(!out.status.success(), "an unsafe policy is refused");
    assert!(text(&out.stderr).contains("policy"), "{}", text(&out.stderr));
    // Issue 13, item 12: RISK-2 lets only medium proceed; the setting is named.
    for (setting, named) in [
        ("[policy.band_actions]\nhigh = \"proceed\"\n", "policy.band_actions.high"),
        ("[policy.band_actions]\ncritical = \"proceed\"\n", "policy.band_actions.critical"),
        (
            "[policy.categories.scam]\ndirect = \"proceed\"\nindirect = \"hold\"\nindirect_min_percent = 1.0\n",
            "policy.categories.scam.direct",
        ),
    ] {
        let out = serve_with_config(&d, setting);
        assert!(!out.status.success(), "{setting} is refused");
        assert!(text(&out.stderr).contains(named), "{named}: {}", text(&out.stderr));
    }
    let out = serve_with_config(&d, "[analyzers]\ntimeout_seconds = 600\n");
    assert!(text(&out.stderr).contains("SLA-1"), "SLA-1: an analyzer may not take longer than the primary check");
}

#[test]
fn demo_prints_an_api_key_that_works_and_fix_15_its_mails_link_to_it_dated_now() {
    let d = scratch("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("CUSTOS_DATA_DIR", &d)
        .env("CUSTOS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut key, mut banner) = (String::new(), String::new(), false);
    let mut admin = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner |= line.contains("DEMO ONLY");
        if let Some(rest) = line.strip_prefix("staff:     admin@demo.example  password: ") {
            let quoted = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
            admin = Some(quoted.expect("the password is printed quoted").to_owned());
        }
        if let Some(rest) = line.strip_prefix("listening: ") {
            base = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(k) = line.strip_prefix("api key: ") {
            key = k.to_owned();
            break;
        }
    }
    assert!(banner, "the demo says loudly it is a demo");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/api/v1/screenings"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"network": "tron", "address": "TDvr6Jpwfp1wDiV7PhaB19YMsMHRSXmY7p"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    // The demo's admin logs in to the back-office and is sent to set up TOTP first.
    let admin = admin.expect("the demo prints its staff accounts");
    let pre = "p".repeat(43);
    let login = rt.block_on(async {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(format!("{base}/office/login"))
            .header("cookie", format!("__Host-custos_pre={pre}"))
            .form(&[("csrf", pre.as_str()), ("email", "admin@demo.example"), ("password", admin.as_str())])
            .send()
            .await
            .unwrap()
    });
    // Issue 13, item 15: the demo's mails linked to 127.0.0.1:8080 whatever --listen said, and
    // were dated 1970-01-01.
    let registered = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{base}/cabinet/register"))
            .header("cookie", format!("__Host-custos_pre={pre}"))
            .form(&[
                ("csrf", pre.as_str()),
                ("email", "newcomer@example.com"),
                ("password", "violet tractor 42 umbrella"),
            ])
            .send()
            .await
            .unwrap()
            .status()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, reqwest::StatusCode::CREATED);
    assert_eq!(login.headers()["location"], "/office/mfa");
    assert_eq!(registered, reqwest::StatusCode::OK);
    let mail = std::fs::read_dir(d.join("mail")).unwrap().next().expect("a confirmation mail").unwrap().path();
    let text = std::fs::read_to_string(mail).unwrap();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap();
    let date = headers.lines().find_map(|l| l.strip_prefix("Date: ")).unwrap();
    assert!(!date.contains("1970"), "dated now: {date}");
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.decode(body.replace("\r\n", "")).unwrap();
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains(&format!("{base}/cabinet/")), "the link points where the demo listens: {body}");

    // Issue 15, item 15: a restart keeps the same key (no pile of "demo" keys) ...
    let second = demo_until_key(&d, "127.0.0.1:0");
    assert_eq!(second.1, key, "the demo's key is kept across restarts");
    drop(second);
    // ... and with the port busy, it says which and creates nothing.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().to_string();
    let fresh = scratch("demo-busy");
    let out = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["demo", "--listen", &port])
        .env("CUSTOS_DATA_DIR", &fresh)
        .env("CUSTOS_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {port}: the port is in use")), "{stderr}");
    assert!(std::fs::read_dir(&fresh).map_or(true, |mut d| d.next().is_none()), "nothing created");
}

/// A running demo (killed when dropped) and the API key it printed.
struct Demo(std::process::Child, String);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo_until_key(dir: &std::path::Path, listen: &str) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["demo", "--listen", listen])
        .env("CUSTOS_DATA_DIR", dir)
        .env("CUSTOS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let key = lines.map_while(Result::ok).find_map(|l| l.strip_prefix("api key: ").map(str::to_owned));
    Demo(child, key.expect("the demo prints its key"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_works_on_postgres_too() {
    let Some(db) = TestDb::new(Backend::Postgres).await else { return };
    let d = scratch("pg");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .args(args)
            .env("CUSTOS_DATA_DIR", &d)
            .env("CUSTOS_DATABASE_URL", &db.url)
            .env("CUSTOS_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    let out = run(&["screen", "ethereum", SANCTIONED_ETH]);
    assert!(text(&out.stdout).contains("decision     reject"), "{}", text(&out.stderr));
    assert!(run(&["apikey", "create", "--name", "pg", "--scope", "orders:read"]).status.success());
    let out = run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(!d.join("custos.db").exists(), "nothing written to SQLite");
}
