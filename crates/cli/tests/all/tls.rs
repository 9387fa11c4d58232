//! SEC-5 as an operator meets it: built-in TLS with HSTS, no plain HTTP off loopback; and
//! `custos user create` (staff accounts, passwords from standard input only).

use crate::common::KillOnDrop;
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

/// A Custos served in this process with `limits` (over TLS with `tls`); returns its port.
async fn in_process(limits: custos_web::Limits, tls: Option<custos_web::TlsAcceptor>) -> (u16, crate::common::TestApp) {
    let t = crate::common::TestApp::new(crate::common::Backend::Sqlite).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = custos_web::AppState::new(t.app.clone());
    tokio::spawn(custos_web::serve(listener, state, limits, tls, std::future::pending()));
    (port, t)
}

/// Reads until the peer closes the connection or `within` passes; returns what came and
/// whether it was closed.
async fn read_until_closed<R: tokio::io::AsyncRead + Unpin>(r: &mut R, within: Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let end = tokio::time::Instant::now() + within;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(end, r.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

fn https_client(ca: &Path) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder().add_root_certificate(root).timeout(Duration::from_secs(3)).build().unwrap()
}

// Issue 13, item 2: the TLS listener waited up to 10 s for each handshake inside the accept
// loop, so five idle TCP connections made https://…/healthz time out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_2_idle_tls_connections_do_not_hold_up_the_others_and_handshakes_are_bounded() {
    let d = scratch("handshakes");
    let (ca, cert, key) = certificate(&d);
    let acceptor = custos_web::tls::acceptor(&cert, &key).unwrap();
    let limits = custos_web::Limits {
        handshake_timeout: Duration::from_secs(2),
        max_handshakes: 40,
        max_connections_per_ip: 0,
        ..Default::default()
    };
    let (port, _t) = in_process(limits, Some(acceptor)).await;
    let idle: Vec<tokio::net::TcpStream> = {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        v
    };
    let started = std::time::Instant::now();
    let r = https_client(&ca).get(format!("https://127.0.0.1:{port}/healthz")).send().await;
    assert_eq!(r.expect("answers beside 20 idle handshakes").status(), reqwest::StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2), "not after their timeouts: {:?}", started.elapsed());
    // A silent client is dropped at its own handshake deadline.
    let mut silent = idle.into_iter().next().unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "the handshake deadline closes a silent client");
    // Beyond max_handshakes, a new connection is closed at once rather than queued.
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (_, closed) = read_until_closed(&mut extra, Duration::from_millis(1500)).await;
    assert!(closed, "the 41st handshake is refused");
}

/// Opens a TLS connection to 127.0.0.1:`port`, trusting `ca`.
async fn tls_connect(ca: &Path, port: u16) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(ca).unwrap()).unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    connector.connect(rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap()
}

// Issue 13, item 3: 1,000 half-sent requests stayed open indefinitely. Headers have a deadline,
// idle keep-alive connections close, and one address holds only so many connections; on plain
// HTTP and TLS alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_3_slow_headers_idle_connections_and_greedy_addresses_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let limits = custos_web::Limits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        max_connections_per_ip: 0,
        ..Default::default()
    };
    let (port, _t) = in_process(limits, None).await;
    // Half-sent requests: all closed by the header deadline, none left open.
    let mut half = Vec::new();
    for _ in 0..200 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: custos\r\nX-Slow: ").await.unwrap();
        half.push(s);
    }
    // The deadlines run on the server at once: reading them one after another takes about one.
    let started = std::time::Instant::now();
    for s in &mut half {
        assert!(read_until_closed(s, Duration::from_secs(6)).await.1, "every half-sent request is cut off");
    }
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    // Keep-alive: a request is answered, then the idle connection closes.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: custos\r\n\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let (got, closed) = read_until_closed(&mut s, Duration::from_secs(8)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&got));
    assert!(closed && started.elapsed() >= Duration::from_millis(900), "closed after idling: {:?}", started.elapsed());

    // One address may hold only so many connections.
    let capped = custos_web::Limits { max_connections_per_ip: 3, ..Default::default() };
    let (port, _t2) = in_process(capped, None).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (_, closed) = read_until_closed(&mut fourth, Duration::from_secs(2)).await;
    assert!(closed, "the fourth connection from one address is closed");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    again.write_all(b"GET /healthz HTTP/1.1\r\nHost: custos\r\nConnection: close\r\n\r\n").await.unwrap();
    let (got, _) = read_until_closed(&mut again, Duration::from_secs(3)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"), "a freed slot serves again");

    // The same deadline over TLS, after the handshake.
    let d = scratch("slow-tls");
    let (ca, cert, key) = certificate(&d);
    let (port, _t3) = in_process(limits, Some(custos_web::tls::acceptor(&cert, &key).unwrap())).await;
    let mut tls = tls_connect(&ca, port).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: custos\r\n").await.unwrap();
    tls.flush().await.unwrap();
    let (_, closed) = read_until_closed(&mut tls, Duration::from_secs(6)).await;
    assert!(closed, "a half-sent request over TLS is cut off too");
}
