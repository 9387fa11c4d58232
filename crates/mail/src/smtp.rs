//! Notification mail over SMTP by `lettre`: one connection per message, STARTTLS required
//! (RFC 3207) or implicit TLS, AUTH PLAIN, UTF-8 text bodies in base64. Custos adds what it
//! insists on: STARTTLS is never optional, plain SMTP only to a relay on this machine, header
//! values on one line, and no server text (which may name the recipient) in its errors.

use async_trait::async_trait;
use custos_app::ports::{Mail, Mailer, RemoteError};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Message, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

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

/// Why the mail settings cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("mail.tls = \"none\" is allowed only for a relay on this machine (127.0.0.1)")]
    PlainOffMachine,
    #[error("mail.from is not an e-mail address: {0:?}")]
    From(String),
    #[error("mail.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("mail TLS settings: {0}")]
    Tls(String),
}

pub struct SmtpMailer {
    from: Mailbox,
    timeout: Duration,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    endpoint: String,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpMailer({})", self.endpoint)
    }
}

impl SmtpMailer {
    pub fn new(settings: SmtpSettings) -> Result<SmtpMailer, SmtpSetupError> {
        if settings.tls == TlsMode::None && !matches!(settings.host.as_str(), "127.0.0.1" | "::1" | "localhost") {
            return Err(SmtpSetupError::PlainOffMachine);
        }
        let from = mailbox(&settings.from).ok_or_else(|| SmtpSetupError::From(settings.from.clone()))?;
        let mut tls = TlsParameters::builder(settings.host.clone());
        if let Some(path) = &settings.ca_file {
            let ca_error = |reason: String| SmtpSetupError::CaFile { path: path.display().to_string(), reason };
            let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            tls = tls.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| ca_error(e.to_string()))?);
        }
        let tls = tls.build_rustls().map_err(|e| SmtpSetupError::Tls(e.to_string()))?;
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .hello_name(ClientId::Domain("custos".into()))
            .timeout(Some(settings.timeout))
            .tls(match settings.tls {
                TlsMode::StartTls => Tls::Required(tls),
                TlsMode::Implicit => Tls::Wrapper(tls),
                TlsMode::None => Tls::None,
            });
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            transport = transport
                .credentials(Credentials::new(user.clone(), password.clone()))
                .authentication(vec![Mechanism::Plain]);
        }
        Ok(SmtpMailer {
            from,
            timeout: settings.timeout,
            transport: transport.build(),
            endpoint: format!("{}:{}", settings.host, settings.port),
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), RemoteError> {
        let message = message(&self.from, mail)?;
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message))
            .await
            .map_err(|_| RemoteError::Unavailable("the mail server did not answer in time".to_owned()))?;
        sent.map(|_| ()).map_err(|e| smtp_error(&e))
    }
}

/// What a failed delivery says: the reply code only (the server's words may name the
/// recipient), or what went wrong with the connection.
fn smtp_error(e: &lettre::transport::smtp::Error) -> RemoteError {
    if let Some(code) = e.status() {
        let refused = format!("the mail server refused with code {code}");
        return if e.is_permanent() { RemoteError::Refused(refused) } else { RemoteError::Unavailable(refused) };
    }
    if e.is_tls() || tls_failure(e) {
        return RemoteError::Unavailable(format!("mail TLS: {e}"));
    }
    let text = e.to_string();
    if text.contains("STARTTLS") {
        return RemoteError::Refused("the mail server does not offer STARTTLS; refusing to send in the clear".into());
    }
    RemoteError::Unavailable(format!("the mail server: {text}"))
}

/// Whether a connection failed in its TLS handshake (an untrusted or wrong certificate).
fn tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        let io_inner = s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if s.is::<tokio_rustls::rustls::Error>() || io_inner.is_some_and(|i| i.is::<tokio_rustls::rustls::Error>()) {
            return true;
        }
        source = s.source();
    }
    false
}

/// An address safe to put in a command and a header: no spaces, brackets or line breaks.
fn mailbox(a: &str) -> Option<Mailbox> {
    let safe = a.len() <= 254
        && a.split_once('@').is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !a.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    safe.then(|| a.parse().ok()).flatten()
}

/// A header value on one line: control characters (CR, LF, …) become spaces.
fn one_line(v: &str) -> String {
    v.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The message: a UTF-8 text body in base64 (safe for any content), `Date` and `Message-ID` set.
pub(crate) fn message(from: &Mailbox, mail: &Mail) -> Result<Message, RemoteError> {
    let to = mailbox(&mail.to).ok_or_else(|| RemoteError::Refused("the recipient is not an e-mail address".into()))?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(one_line(&mail.subject))
        .message_id(Some(format!("<{}@{domain}>", uuid::Uuid::now_v7().simple())))
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(ContentTransferEncoding::Base64)
                .body(mail.body.clone()),
        )
        .map_err(|e| RemoteError::Refused(format!("the mail cannot be written: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn headers_cannot_be_injected_and_non_ascii_is_encoded() {
        let from = mailbox("aml@example.com").unwrap();
        let injected = Mail { to: "a@example.com".into(), subject: "a\r\nBcc: x@evil".into(), body: "b".into() };
        let written = text(&message(&from, &injected).unwrap());
        assert!(!written.contains("\r\nBcc:"), "{written}");
        let russian = Mail { to: "a@example.com".into(), subject: "Заявка".into(), body: "b".into() };
        assert!(text(&message(&from, &russian).unwrap()).to_lowercase().contains("subject: =?utf-8?b?"));
        assert!(mailbox("a@b>\r\nRCPT TO:<c@d").is_none());
        let bad_recipient = Mail { to: "a@b>\r\nRCPT TO:<c@d".into(), subject: "s".into(), body: "b".into() };
        assert!(matches!(message(&from, &bad_recipient), Err(RemoteError::Refused(_))));
        assert!(mailbox("alice@example.com").is_some());
    }

    #[test]
    fn messages_carry_the_body_in_base64_with_a_date() {
        use base64::Engine;
        let from = mailbox("aml@example.com").unwrap();
        let m = Mail { to: "a@example.com".into(), subject: "Hi".into(), body: "Привет\n.\nend".into() };
        let written = text(&message(&from, &m).unwrap());
        assert!(written.contains("Content-Transfer-Encoding: base64"), "{written}");
        let body: String = written.split("\r\n\r\n").nth(1).unwrap().lines().collect();
        let decoded = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        // Text travels with CRLF line breaks, the canonical form of text/plain (RFC 2046).
        assert_eq!(String::from_utf8(decoded).unwrap(), "Привет\r\n.\r\nend");
        assert!(written.contains("\r\nDate: "), "{written}");
        assert!(written.contains("@example.com>"), "a Message-ID of the sender's domain");
    }
}
