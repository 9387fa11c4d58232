//! The SMTP client against a local mail sink that speaks SMTP with STARTTLS (the real relays
//! cannot be reached from here): what arrives, what is refused.

use custos_app::ports::{Mail, Mailer, RemoteError};
use custos_mail::{SmtpMailer, SmtpSettings, SmtpSetupError, TlsMode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A throw-away CA and a certificate for 127.0.0.1 signed by it: (CA, cert, key).
fn certificate() -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("custos-smtp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &["-days", "1", "-subj", "/CN=smtp-test-ca", "-keyout", "ca.key", "-out", "ca.pem"],
        ]
        .concat(),
        &dir,
    );
    openssl(&[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "leaf.csr"]].concat(), &dir);
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
        &dir,
    );
    (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"))
}

/// What the sink saw: the commands and the message.
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<(Vec<String>, String)>>);

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    seen: &Seen,
    offer_starttls: bool,
    tls_active: bool,
) -> Option<S> {
    let mut s = BufReader::new(stream);
    let mut in_data = false;
    loop {
        let mut line = String::new();
        if s.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if in_data {
            if line == "." {
                in_data = false;
                s.get_mut().write_all(b"250 queued\r\n").await.ok()?;
            } else {
                seen.0.lock().unwrap().1.push_str(&format!("{line}\n"));
            }
            continue;
        }
        seen.0.lock().unwrap().0.push(line.clone());
        let reply: &[u8] = match line.split_whitespace().next().unwrap_or("") {
            "EHLO" if offer_starttls && !tls_active => b"250-sink\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n",
            "EHLO" => b"250-sink\r\n250 AUTH PLAIN\r\n",
            "STARTTLS" => {
                s.get_mut().write_all(b"220 go ahead\r\n").await.ok()?;
                return Some(s.into_inner());
            }
            "AUTH" => b"235 ok\r\n",
            "MAIL" | "RCPT" => b"250 ok\r\n",
            "DATA" => {
                in_data = true;
                b"354 end with .\r\n"
            }
            "QUIT" => {
                s.get_mut().write_all(b"221 bye\r\n").await.ok()?;
                return None;
            }
            _ => b"500 what\r\n",
        };
        s.get_mut().write_all(reply).await.ok()?;
    }
}

/// A one-connection SMTP sink on 127.0.0.1; returns its port.
async fn sink(seen: Seen, offer_starttls: bool, cert: PathBuf, key: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        tcp.write_all(b"220 sink ready\r\n").await.unwrap();
        if let Some(tcp) = session(tcp, &seen, offer_starttls, false).await {
            let certs: Vec<CertificateDer> =
                CertificateDer::pem_file_iter(&cert).unwrap().map(|c| c.unwrap()).collect();
            let key = PrivateKeyDer::from_pem_file(&key).unwrap();
            let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
                tokio_rustls::rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
            let tls = tokio_rustls::TlsAcceptor::from(Arc::new(config)).accept(tcp).await.unwrap();
            session(tls, &seen, offer_starttls, true).await;
        }
    });
    port
}

fn settings(port: u16, ca: PathBuf) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: TlsMode::StartTls,
        username: Some("custos".into()),
        password: Some("relay secret".into()),
        from: "aml@example.com".into(),
        ca_file: Some(ca),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn mail_goes_out_over_starttls_with_auth() {
    let (ca, cert, key) = certificate();
    let seen = Seen::default();
    let port = sink(seen.clone(), true, cert, key).await;
    let mailer = SmtpMailer::new(settings(port, ca)).unwrap();
    let mail =
        Mail {
            to: "dana@example.com".into(), subject: "Заявка 100001".into(), body: "Откройте кабинет.\n.\n".into()
        };
    mailer.send(&mail).await.unwrap();
    let (commands, data) = seen.0.lock().unwrap().clone();
    let after_tls = commands.iter().position(|c| c == "STARTTLS").expect("upgraded first");
    let auth = commands.iter().position(|c| c.starts_with("AUTH PLAIN")).unwrap();
    assert!(auth > after_tls, "the password travels only inside TLS: {commands:?}");
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(b64.decode(commands[auth].trim_start_matches("AUTH PLAIN ")).unwrap(), b"\0custos\0relay secret");
    assert!(
        commands.contains(&"MAIL FROM:<aml@example.com>".to_owned())
            && commands.contains(&"RCPT TO:<dana@example.com>".to_owned())
    );
    assert!(data.contains("To: dana@example.com") && data.to_lowercase().contains("subject: =?utf-8?b?"), "{data}");
    let body: String = data.split("\n\n").nth(1).unwrap().lines().collect();
    // Text travels with CRLF line breaks, the canonical form of text/plain (RFC 2046).
    assert_eq!(String::from_utf8(b64.decode(body).unwrap()).unwrap(), "Откройте кабинет.\r\n.\r\n");
}

#[tokio::test]
async fn a_server_without_starttls_gets_nothing() {
    let (ca, cert, key) = certificate();
    let seen = Seen::default();
    let port = sink(seen.clone(), false, cert, key).await;
    let mailer = SmtpMailer::new(settings(port, ca)).unwrap();
    let mail = Mail { to: "dana@example.com".into(), subject: "s".into(), body: "b".into() };
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(&err, RemoteError::Refused(m) if m.contains("does not offer STARTTLS")), "{err}");
    assert!(seen.0.lock().unwrap().0.iter().all(|c| !c.starts_with("AUTH") && !c.starts_with("RCPT")));
}

#[tokio::test]
async fn plain_smtp_only_to_this_machine_and_a_wrong_ca_fails_the_handshake() {
    let (_, cert, key) = certificate();
    let mut s = settings(25, PathBuf::from("/nonexistent"));
    s.host = "mail.example.com".into();
    s.tls = TlsMode::None;
    s.ca_file = None;
    assert_eq!(SmtpMailer::new(s).unwrap_err(), SmtpSetupError::PlainOffMachine);
    // A server whose certificate no trusted CA signed.
    let seen = Seen::default();
    let port = sink(seen, true, cert, key).await;
    let (other_ca, _, _) = certificate();
    let mailer = SmtpMailer::new(settings(port, other_ca)).unwrap();
    let err =
        mailer.send(&Mail { to: "a@example.com".into(), subject: "s".into(), body: "b".into() }).await.unwrap_err();
    assert!(err.to_string().contains("mail TLS"), "{err}");
}
