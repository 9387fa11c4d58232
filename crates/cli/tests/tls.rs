//! SEC-5 as an operator meets it: built-in TLS with HSTS, no plain HTTP off loopback; and
//! `custos user create` (staff accounts, passwords from standard input only).

mod common;

use common::KillOnDrop;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("custos-tls-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The binary on the data folder `dir`, with the folder's master key (made on first use).
fn custos(dir: &Path) -> Command {
    let key_file = dir.join("test-master.key");
    if !key_file.exists() {
        std::fs::write(&key_file, custos_crypto::MasterKey::generate().to_base64()).unwrap();
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_custos"));
    c.env("CUSTOS_DATA_DIR", dir)
        .env_remove("CUSTOS_DATABASE_URL")
        .env_remove("CUSTOS_CONFIG")
        .env("CUSTOS_MASTER_KEY", std::fs::read_to_string(&key_file).unwrap())
        .env("CUSTOS_LOG", "warn");
    c
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A throw-away CA and a certificate for 127.0.0.1 it signed, made by openssl for this test
/// only; returns (CA, certificate, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "1", "-subj", "/CN=custos-test-ca", "-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
        dir,
    );
    openssl(&[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]].concat(), dir);
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(
        &["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"]
            .into_iter()
            .chain(["-extfile", "leaf.ext", "-out", "cert.pem"])
            .collect::<Vec<_>>(),
        dir,
    );
    (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"))
}

#[test]
fn sec5_plain_http_is_refused_off_loopback() {
    let d = scratch("plain");
    let out = custos(&d).args(["serve", "--listen", "0.0.0.0:0"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SEC-5") && err.contains("tls_cert"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec5_built_in_tls_serves_https_with_hsts() {
    let d = scratch("https");
    let (ca, cert, key) = certificate(&d);
    let cfg = d.join("custos.toml");
    std::fs::write(&cfg, format!("[web]\ntls_cert = {:?}\ntls_key = {:?}\n", cert.display(), key.display())).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _server = KillOnDrop(
        custos(&d)
            .args(["--config", cfg.to_str().unwrap(), "serve", "--listen", &format!("0.0.0.0:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let root = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(root).build().unwrap();
    let url = format!("https://127.0.0.1:{port}/cabinet/login");
    let mut response = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(&url).send().await {
            response = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = response.expect("the HTTPS server answers");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    // The same port does not speak plain HTTP.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/cabinet/login")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[test]
fn user_create_makes_a_staff_account_from_a_password_on_stdin() {
    let d = scratch("user");
    let run = |role: &str, password: &str| {
        let mut child = custos(&d)
            .args(["user", "create", "--email", "ops@example.com", "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("root", "violet tractor 42 umbrella");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
    let out = run("admin", "password1234");
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("too easy to guess"));
    let out = run("admin", "violet tractor 42 umbrella");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin account"));
    let out = run("admin", "violet tractor 42 umbrella");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists"), "one account per e-mail");
}

#[test]
fn sec6_keys_new_rotate_and_status_through_the_binary() {
    let d = scratch("keys");
    let out = |c: &mut Command| {
        let o = c.output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    let mut create = custos(&d);
    create
        .args(["user", "create", "--email", "ops@example.com", "--role", "admin"])
        .env("CUSTOS_USER_PASSWORD", "violet tractor 42 umbrella");
    assert!(out(&mut create).0);
    let old = std::fs::read_to_string(d.join("test-master.key")).unwrap();
    let old_id = custos_crypto::MasterKey::from_base64(&old).unwrap().id().to_owned();
    let (ok, status) = out(custos(&d).args(["keys", "status"]));
    assert!(ok && status.contains(&old_id) && status.contains("current"), "{status}");

    let (ok, new) = out(custos(&d).args(["keys", "new"]));
    let new = new.trim().to_owned();
    assert!(ok && custos_crypto::MasterKey::from_base64(&new).is_ok(), "a usable key: {new}");
    let rotated = |c: &mut Command| {
        c.env("CUSTOS_MASTER_KEY", &new).env("CUSTOS_PREVIOUS_KEYS", &old);
    };
    let mut status = custos(&d);
    rotated(status.args(["keys", "status"]));
    let (_, before) = out(&mut status);
    assert!(before.contains("previous: run `custos keys rotate`"), "{before}");
    let mut rotate = custos(&d);
    rotated(rotate.args(["keys", "rotate"]));
    let (ok, report) = out(&mut rotate);
    assert!(ok && report.contains("re-sealed") && report.contains("0 unreadable"), "{report}");
    let mut status = custos(&d);
    status.args(["keys", "status"]).env("CUSTOS_MASTER_KEY", &new);
    let (ok, after) = out(&mut status);
    assert!(ok && !after.contains(&old_id) && !after.contains("UNKNOWN"), "only the new key seals: {after}");

    let mut erase = custos(&d);
    erase.args(["customer", "erase", "--email", "nobody@example.com"]).env("CUSTOS_MASTER_KEY", &new);
    let (ok, said) = out(&mut erase);
    assert!(!ok && said.contains("--yes"), "irreversible needs a confirmation: {said}");
}

#[test]
fn addr_2_consolidation_goes_only_to_a_verified_wallet() {
    let d = scratch("consolidate");
    let (ok, said) = {
        let o = custos(&d).args(["consolidate", "plan"]).output().unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert!(!ok && said.contains("[consolidation.ethereum]"), "{said}");
    let config = d.join("custos.toml");
    std::fs::write(
        &config,
        "[consolidation.ethereum]\nwallets = [\"0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f\"]\n\
         gas_wallet = \"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266\"\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = custos(&d).env("CUSTOS_CONFIG", &config).args(args).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&["consolidate", "plan", "--wallet", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"]);
    assert!(!ok && err.contains("not one of the verified wallets"), "{err}");
    let (ok, out, err) = run(&["consolidate", "plan"]);
    assert!(ok, "{err}");
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["wallet"], "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f");
    assert_eq!(plan["requests"], serde_json::json!([]));
    let (ok, _, err) = run(&["consolidate", "plan", "--network", "bitcoin"]);
    assert!(!ok && err.contains("[consolidation.bitcoin]"), "{err}");
    let (_, out, _) = run(&["consolidate", "record", "--deposit", &uuid::Uuid::nil().to_string(), "--txid", "0xab"]);
    assert!(out.contains("nothing recorded"), "an unknown deposit: {out}");
}

#[test]
fn addr_2_the_signer_key_is_read_from_stdin_and_sealed_at_rest() {
    let d = scratch("signer");
    let out = d.join("ethereum-signer.key");
    let import = |key: &str| {
        let mut child = custos(&d)
            .args(["signer", "import", "--out", out.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{key}").unwrap();
        child.wait_with_output().unwrap()
    };
    let refused = import("not a key");
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("extended private key"));
    // BIP-32's test vector 1 master key (public test data).
    let xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
    let done = import(xprv);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("first deposit address (0/0) is 0x"));
    let sealed = std::fs::read_to_string(&out).unwrap();
    assert!(
        sealed.starts_with("v1.") && !sealed.contains("xprv") && !sealed.contains(&xprv[4..40]),
        "sealed: {sealed}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
