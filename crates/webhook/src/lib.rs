//! Delivers webhook bodies to the operator's receiver: `POST` with
//! `Custos-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (one `v1` per live
//! secret, so that secrets can be rotated without missing a delivery).
//!
//! Outgoing requests are an SSRF risk: the receiver's host is resolved first, and private,
//! loopback, link-local and other non-public addresses are refused unless the configuration
//! allows them; the request then goes to the address that was checked (no second lookup).

use async_trait::async_trait;
use custos_app::ports::{SendOutcome, WebhookSender};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SIGNATURE_HEADER: &str = "Custos-Signature";

/// The signature header value for `body` at unix time `t`.
pub fn signature(secrets: &[String], t: u64, body: &str) -> String {
    let mut out = format!("t={t}");
    for secret in secrets {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(format!("{t}.{body}").as_bytes());
        out.push_str(",v1=");
        out.push_str(&hex::encode(mac.finalize().into_bytes()));
    }
    out
}

/// Whether an address is one a webhook may not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..=127).contains(&o[1])) // carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || o[0] >= 240
        }
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            // A form that carries an IPv4 address is judged by that address.
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (s[0] & 0xfe00) == 0xfc00 // unique local
                    || (s[0] & 0xffc0) == 0xfe80 // link-local
                    || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                    || (s[0], s[1], s[2]) == (0x64, 0xff9b, 1) // local-use NAT64 (RFC 8215)
                    || (s[0], s[1]) == (0x2001, 0) // Teredo: a tunnel to an address we cannot check
                    || (s[0], s[1]) == (0x2001, 0xdb8) // documentation
                    || (s[0], s[1], s[2], s[3]) == (0x100, 0, 0, 0) // discard-only
            }
        },
    }
}

/// The IPv4 address an IPv6 address embeds: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, so `[::127.0.0.1]`), NAT64 (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_ipv4(v6: std::net::Ipv6Addr) -> Option<std::net::Ipv4Addr> {
    let low = |hi: u16, lo: u16| std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match v6.segments() {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, hi, lo] if !(hi == 0 && lo <= 1) => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Why the webhook settings cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookSetupError {
    #[error("webhook URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("webhook URL {0}: use http:// or https:// with a host")]
    Scheme(String),
    #[error("webhook secrets: at least one secret of 16 characters or more is required")]
    NoSecret,
}

/// Why an event cannot be sent to the receiver now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum DestinationError {
    /// The name does not resolve now: a later try may work.
    #[error("cannot resolve {host}: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("{0} has no address")]
    NoAddress(String),
    /// SSRF guard: refused for good.
    #[error(
        "refused: {host} resolves to the non-public address {ip}; set webhooks.allow_private_destinations to allow it"
    )]
    Private { host: String, ip: std::net::IpAddr },
}

#[derive(Debug, Clone)]
pub struct HttpWebhookSender {
    url: reqwest::Url,
    secrets: Vec<String>,
    allow_private: bool,
    timeout: Duration,
}

impl HttpWebhookSender {
    /// `secrets`: every live secret, the newest first. At least one is required.
    pub fn new(
        url: &str,
        secrets: Vec<String>,
        allow_private: bool,
        timeout: Duration,
    ) -> Result<Self, WebhookSetupError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| WebhookSetupError::Url { url: url.to_owned(), reason: e.to_string() })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(WebhookSetupError::Scheme(parsed.to_string()));
        }
        if secrets.iter().all(|s| s.trim().len() < 16) {
            return Err(WebhookSetupError::NoSecret);
        }
        let url = parsed;
        Ok(HttpWebhookSender { url, secrets, allow_private, timeout })
    }

    /// The checked address to send to.
    async fn destination(&self) -> Result<SocketAddr, DestinationError> {
        let host = self.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = self.url.port_or_known_default().unwrap_or(443);
        let looked_up = tokio::net::lookup_host((host.as_str(), port)).await.map(|a| a.collect::<Vec<SocketAddr>>());
        let addrs = match looked_up {
            Ok(addrs) => addrs,
            Err(e) => return Err(DestinationError::Unresolved { host, reason: e.to_string() }),
        };
        let Some(first) = addrs.first().copied() else { return Err(DestinationError::NoAddress(host)) };
        if !self.allow_private {
            if let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(DestinationError::Private { host, ip: bad.ip() });
            }
        }
        Ok(first)
    }
}

#[async_trait]
impl WebhookSender for HttpWebhookSender {
    async fn send(&self, event_id: &str, body: &str) -> SendOutcome {
        let addr = match self.destination().await {
            Ok(a) => a,
            Err(e @ DestinationError::Private { .. }) => return SendOutcome::Permanent(e.to_string()),
            Err(e) => return SendOutcome::Retryable(e.to_string()),
        };
        let host = self.url.host_str().unwrap_or_default();
        let client = match reqwest::Client::builder()
            .resolve(host, addr)
            .timeout(self.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => return SendOutcome::Retryable(e.to_string()),
        };
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let response = client
            .post(self.url.clone())
            .header("Content-Type", "application/json")
            .header("Custos-Event-Id", event_id)
            .header(SIGNATURE_HEADER, signature(&self.secrets, t, body))
            .body(body.to_owned())
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => SendOutcome::Delivered,
            Ok(r) => {
                let code = r.status().as_u16();
                let error = format!("the receiver answered {}", r.status());
                if code >= 500 || code == 408 || code == 429 {
                    SendOutcome::Retryable(error)
                } else {
                    SendOutcome::Permanent(error)
                }
            }
            Err(e) => SendOutcome::Retryable(format!("network error: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_11_private_loopback_and_link_local_addresses_are_recognised_in_every_ipv6_form() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            // Issue 13, item 11: IPv6 forms of private IPv4 addresses.
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1.1.1.1",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:db8::1",
            "fec0::1",
            "100::1",
            "::",
            "::ffff:0.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_body_once_per_secret() {
        let secrets = vec!["whsec_first_secret_123".to_owned(), "whsec_second_secret_45".to_owned()];
        let sig = signature(&secrets, 1_700_000_000, "{\"a\":1}");
        let parts: Vec<&str> = sig.split(',').collect();
        assert_eq!(parts[0], "t=1700000000");
        assert_eq!(parts.len(), 3);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"whsec_second_secret_45").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(parts[2], format!("v1={}", hex::encode(mac.finalize().into_bytes())));
    }

    #[test]
    fn bad_configuration_is_refused() {
        let t = Duration::from_secs(5);
        assert!(HttpWebhookSender::new("ftp://x", vec!["a".repeat(20)], false, t).is_err());
        assert!(HttpWebhookSender::new("https://example.com/hook", vec!["short".into()], false, t).is_err());
        assert!(HttpWebhookSender::new("https://example.com/hook", vec!["a".repeat(20)], false, t).is_ok());
    }

    #[tokio::test]
    async fn fix_11_private_destinations_are_refused_unless_allowed() {
        // Issue 13, item 11: the IPv6 forms of 127.0.0.1 too.
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::127.0.0.1]:9/hook",
            "http://[64:ff9b::7f00:1]:9/hook",
            "http://[2002:7f00:1::1]:9/hook",
        ] {
            let sender = HttpWebhookSender::new(url, vec!["a".repeat(20)], false, Duration::from_secs(1)).unwrap();
            match sender.send("e1", "{}").await {
                SendOutcome::Permanent(e) => assert!(e.contains("non-public address"), "{url}: {e}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        let allowed =
            HttpWebhookSender::new("http://127.0.0.1:9/hook", vec!["a".repeat(20)], true, Duration::from_secs(1))
                .unwrap();
        assert!(matches!(allowed.send("e1", "{}").await, SendOutcome::Retryable(_)), "allowed, then a network error");
    }
}
