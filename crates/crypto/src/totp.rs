//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the format
//! every authenticator app reads, and one-time recovery codes.

use crate::random_bytes;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of now, for clocks that drift.
pub const WINDOW: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new 160-bit secret (RFC 4226's recommended length).
pub fn new_secret() -> Vec<u8> {
    random_bytes::<20>().to_vec()
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes base32 (any case, spaces and padding ignored); `None` on another character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32.iter().position(|&b| b as char == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// The HOTP value (RFC 4226) of `secret` at counter `step`, with `digits` digits.
pub fn code_at(secret: &[u8], step: i64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    value % 10u32.pow(digits)
}

/// The time step of a moment.
pub fn step_of(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(1000 * STEP_SECONDS)
}

/// The step `code` matches within [`WINDOW`] of `unix_ms`, if any. The caller must refuse a step
/// at or before the last one accepted for the account: a code works once.
pub fn matching_step(secret: &[u8], code: &str, unix_ms: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let now = step_of(unix_ms);
    (now - WINDOW..=now + WINDOW).find(|&s| code_at(secret, s, DIGITS) == wanted)
}

/// The `otpauth://` URI an authenticator app imports (usually from a QR code).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        enc(issuer),
        enc(account),
        base32_encode(secret),
        enc(issuer)
    )
}

/// A recovery code: ten base32 characters (50 bits) shown as `xxxxx-xxxxx`.
pub fn new_recovery_code() -> String {
    let raw = base32_encode(&random_bytes::<7>()).to_ascii_lowercase();
    format!("{}-{}", &raw[..5], &raw[5..10])
}

/// The form of a recovery code that is hashed: lower case, without the dash and spaces.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits, seed "12345678901234567890").
    #[test]
    fn rfc6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (t, expected) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_at(seed, t / 30, 8), expected, "T={t}");
        }
    }

    #[test]
    fn codes_match_within_one_step_only() {
        let secret = new_secret();
        let now = 1_767_225_600_000;
        let code = format!("{:06}", code_at(&secret, step_of(now), DIGITS));
        assert_eq!(matching_step(&secret, &code, now), Some(step_of(now)));
        assert_eq!(matching_step(&secret, &code, now + 30_000), Some(step_of(now)));
        assert_eq!(matching_step(&secret, &code, now + 90_000), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        let s = new_secret();
        assert_eq!(base32_decode(&base32_encode(&s)).unwrap(), s);
        assert_eq!(base32_decode("MZ1"), None);
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_secret() {
        let uri = otpauth_uri("Custos Exchange", "alice@example.com", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Custos%20Exchange:alice@example.com?secret=MZXW6YTBOI&issuer=Custos%20Exchange\
             &algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 11);
        assert_ne!(a, new_recovery_code());
        assert_eq!(normalise_recovery_code(&a.to_uppercase()), a.replace('-', ""));
    }
}
