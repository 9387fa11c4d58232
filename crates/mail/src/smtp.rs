//! A small SMTP client (RFC 5321) for notification mail: one connection per message, STARTTLS
//! (RFC 3207) or implicit TLS, AUTH PLAIN (RFC 4616), UTF-8 text bodies.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use custos_app::ports::{Mail, Mailer, RemoteError};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// No TLS: only for a relay on the same machine.
    None,
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `aml@example.com`.
    pub from: String,
    /// Extra CA certificates (PEM) to trust, for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

pub struct SmtpMailer {
    settings: SmtpSettings,
    connector: TlsConnector,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpMailer({}:{})", self.settings.host, self.settings.port)
    }
}

impl SmtpMailer {
    pub fn new(settings: SmtpSettings) -> Result<SmtpMailer, String> {
        if settings.tls == TlsMode::None && !matches!(settings.host.as_str(), "127.0.0.1" | "::1" | "localhost") {
            return Err("mail.tls = \"none\" is allowed only for a relay on this machine (127.0.0.1)".into());
        }
        if !valid_address(&settings.from) {
            return Err(format!("mail.from is not an e-mail address: {:?}", settings.from));
        }
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &settings.ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("cannot read mail.ca_file {}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("mail.ca_file {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("mail.ca_file {}: {e}", path.display()))?;
            }
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(SmtpMailer { settings, connector: TlsConnector::from(Arc::new(config)) })
    }

    async fn deliver(&self, mail: &Mail) -> Result<(), String> {
        let s = &self.settings;
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| format!("cannot reach the mail server {}:{}: {e}", s.host, s.port))?;
        match s.tls {
            TlsMode::Implicit => {
                let tls =
                    self.connector.connect(self.server_name()?, tcp).await.map_err(|e| format!("mail TLS: {e}"))?;
                let mut c = Conversation::new(tls);
                c.expect(220).await?;
                c.ehlo().await?;
                c.send_mail(s, mail).await
            }
            TlsMode::StartTls => {
                let mut c = Conversation::new(tcp);
                c.expect(220).await?;
                let features = c.ehlo().await?;
                if !features.iter().any(|f| f.eq_ignore_ascii_case("STARTTLS")) {
                    return Err("the mail server does not offer STARTTLS; refusing to send in the clear".into());
                }
                c.command("STARTTLS", 220).await?;
                let tcp = c.into_inner();
                let tls =
                    self.connector.connect(self.server_name()?, tcp).await.map_err(|e| format!("mail TLS: {e}"))?;
                let mut c = Conversation::new(tls);
                c.ehlo().await?;
                c.send_mail(s, mail).await
            }
            TlsMode::None => {
                let mut c = Conversation::new(tcp);
                c.expect(220).await?;
                c.ehlo().await?;
                c.send_mail(s, mail).await
            }
        }
    }

    fn server_name(&self) -> Result<ServerName<'static>, String> {
        ServerName::try_from(self.settings.host.clone()).map_err(|e| format!("mail.host: {e}"))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), RemoteError> {
        if !valid_address(&mail.to) {
            return Err(RemoteError::Refused("the recipient is not an e-mail address".into()));
        }
        tokio::time::timeout(self.settings.timeout, self.deliver(mail))
            .await
            .map_err(|_| RemoteError::Unavailable("the mail server did not answer in time".to_owned()))?
            .map_err(RemoteError::Unavailable)
    }
}

/// An address safe to put in a command and a header: no spaces, brackets or line breaks.
fn valid_address(a: &str) -> bool {
    a.len() <= 254
        && a.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
}

/// A header value: one line; non-ASCII encoded as RFC 2047 UTF-8 base64.
fn header_value(v: &str) -> String {
    let one_line: String = v.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.is_ascii() {
        one_line
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(one_line.as_bytes()))
    }
}

/// The message text: headers, then the body in base64 lines (safe for any content).
pub(crate) fn message(from: &str, mail: &Mail, now_unix: i64) -> String {
    let date = time::OffsetDateTime::from_unix_timestamp(now_unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let domain = from.rsplit('@').next().unwrap_or("localhost");
    let body = STANDARD.encode(mail.body.as_bytes());
    let lines: Vec<&str> = body.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
    format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}@{domain}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        header_value(&mail.to),
        header_value(&mail.subject),
        uuid::Uuid::now_v7().simple(),
        lines.join("\r\n")
    )
}

/// One SMTP exchange over a stream.
struct Conversation<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conversation<S> {
    fn new(stream: S) -> Self {
        Conversation { stream: BufReader::new(stream) }
    }

    fn into_inner(self) -> S {
        self.stream.into_inner()
    }

    /// Reads a (multi-line) reply; returns its code and lines.
    async fn reply(&mut self) -> Result<(u16, Vec<String>), String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.stream.read_line(&mut line).await.map_err(|e| format!("mail server: {e}"))?;
            if n == 0 || line.len() < 4 {
                return Err("the mail server closed the connection".into());
            }
            let code: u16 = line[..3].parse().map_err(|_| "the mail server answered nonsense".to_owned())?;
            let more = line.as_bytes()[3] == b'-';
            lines.push(line[4..].trim_end().to_owned());
            if !more {
                return Ok((code, lines));
            }
        }
    }

    async fn expect(&mut self, code: u16) -> Result<Vec<String>, String> {
        let (got, lines) = self.reply().await?;
        if got != code {
            // The server's words may name the recipient: keep only the code.
            return Err(format!("the mail server refused with code {got} (expected {code})"));
        }
        Ok(lines)
    }

    async fn command(&mut self, line: &str, code: u16) -> Result<Vec<String>, String> {
        self.stream
            .get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| format!("mail server: {e}"))?;
        self.stream.get_mut().flush().await.map_err(|e| format!("mail server: {e}"))?;
        self.expect(code).await
    }

    async fn ehlo(&mut self) -> Result<Vec<String>, String> {
        self.command("EHLO custos", 250).await
    }

    async fn send_mail(&mut self, s: &SmtpSettings, mail: &Mail) -> Result<(), String> {
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            let token = STANDARD.encode(format!("\0{user}\0{password}"));
            self.command(&format!("AUTH PLAIN {token}"), 235).await?;
        }
        self.command(&format!("MAIL FROM:<{}>", s.from), 250).await?;
        self.command(&format!("RCPT TO:<{}>", mail.to), 250).await?;
        self.command("DATA", 354).await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let text = message(&s.from, mail, now);
        // Dot-stuffing cannot be needed (base64 body), but the headers are checked anyway.
        let stuffed: String = text
            .split("\r\n")
            .map(|l| if l.starts_with('.') { format!(".{l}\r\n") } else { format!("{l}\r\n") })
            .collect();
        self.stream.get_mut().write_all(stuffed.as_bytes()).await.map_err(|e| format!("mail server: {e}"))?;
        self.command(".", 250).await?;
        let _ = self.command("QUIT", 221).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cannot_be_injected_and_non_ascii_is_encoded() {
        assert_eq!(header_value("a\r\nBcc: x@evil"), "a  Bcc: x@evil");
        assert_eq!(header_value("Заявка"), format!("=?UTF-8?B?{}?=", STANDARD.encode("Заявка")));
        assert!(!valid_address("a@b>\r\nRCPT TO:<c@d"));
        assert!(valid_address("alice@example.com"));
    }

    #[test]
    fn messages_carry_the_body_in_base64() {
        let m = Mail { to: "a@example.com".into(), subject: "Hi".into(), body: "Привет\n.\nend".into() };
        let text = message("aml@example.com", &m, 0);
        assert!(text.contains("Content-Transfer-Encoding: base64"));
        assert!(text.contains(&STANDARD.encode("Привет\n.\nend")));
        assert!(text.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"));
    }
}
