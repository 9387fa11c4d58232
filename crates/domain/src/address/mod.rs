//! Addresses, validated fully once by [`Address::parse`] and never re-checked downstream.
//!
//! Bitcoin: base58check (P2PKH, P2SH) and bech32/bech32m segwit (P2WPKH, P2WSH, P2TR and future
//! witness versions). Ethereum: 20-byte hex with the EIP-55 checksum enforced when the letters are
//! mixed case. TRON: base58check with the 0x41 prefix.
//!
//! The normalised form ([`Address::as_str`]) is what Custos stores and matches labels on:
//! Ethereum lower-case, bech32 lower-case, base58 exactly as written.

pub mod base58;
pub mod bech32;

use crate::network::Network;
use serde::{Serialize, Serializer};
use sha3::{Digest, Keccak256};
use std::fmt;
use std::sync::Arc;

/// The script or account type an address encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKind {
    P2pkh,
    P2sh,
    P2wpkh,
    P2wsh,
    P2tr,
    /// A segwit output of a version not yet given a name (2..=16, or 1 with a non-32-byte program).
    FutureSegwit(u8),
    Evm,
    Tron,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::P2pkh => "p2pkh",
            AddressKind::P2sh => "p2sh",
            AddressKind::P2wpkh => "p2wpkh",
            AddressKind::P2wsh => "p2wsh",
            AddressKind::P2tr => "p2tr",
            AddressKind::FutureSegwit(_) => "segwit",
            AddressKind::Evm => "evm",
            AddressKind::Tron => "tron",
        }
    }
}

/// A valid address of one network, in normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    network: Network,
    kind: AddressKind,
    normalized: Arc<str>,
}

/// Why an address was refused. Each variant has a stable [`code`](AddressError::code) and a
/// plain [message](std::fmt::Display).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the address is empty")]
    Empty,
    #[error("invalid character {ch:?} at position {position}")]
    InvalidCharacter { ch: char, position: usize },
    #[error("bad checksum: the address is mistyped or corrupted")]
    BadChecksum,
    #[error("bad checksum: the mixed-case EIP-55 checksum does not match (write it all lower-case only if you are sure it is right)")]
    BadEip55Checksum,
    #[error("wrong length: expected {expected}, got {got}")]
    BadLength { expected: &'static str, got: usize },
    #[error("wrong network: this is {detected}, not a {expected} address")]
    WrongNetwork { detected: &'static str, expected: &'static str },
    #[error("unknown address prefix {prefix:?} for {network}")]
    UnknownPrefix { prefix: String, network: &'static str },
    #[error("a bech32 address must not mix upper and lower case")]
    MixedCase,
    #[error("not a bech32 address: the '1' separator or the prefix before it is missing")]
    MissingSeparator,
    #[error("invalid witness version {0}: segwit versions are 0 to 16")]
    InvalidWitnessVersion(u8),
    #[error("invalid witness program: {len} bytes is not allowed for witness version {version}")]
    InvalidWitnessProgram { version: u8, len: usize },
    #[error("wrong checksum variant: witness version {version} must use {expected}")]
    WrongChecksumVariant { version: u8, expected: &'static str },
    #[error("invalid padding in the witness program")]
    InvalidPadding,
    #[error("an Ethereum address must start with 0x")]
    MissingHexPrefix,
}

impl AddressError {
    /// The stable error code used in API errors.
    pub fn code(&self) -> &'static str {
        match self {
            AddressError::Empty => "address_empty",
            AddressError::InvalidCharacter { .. } => "address_invalid_character",
            AddressError::BadChecksum => "address_bad_checksum",
            AddressError::BadEip55Checksum => "address_bad_eip55_checksum",
            AddressError::BadLength { .. } => "address_bad_length",
            AddressError::WrongNetwork { .. } => "address_wrong_network",
            AddressError::UnknownPrefix { .. } => "address_unknown_prefix",
            AddressError::MixedCase => "address_mixed_case",
            AddressError::MissingSeparator => "address_missing_separator",
            AddressError::InvalidWitnessVersion(_) => "address_invalid_witness_version",
            AddressError::InvalidWitnessProgram { .. } => "address_invalid_witness_program",
            AddressError::WrongChecksumVariant { .. } => "address_wrong_checksum_variant",
            AddressError::InvalidPadding => "address_invalid_padding",
            AddressError::MissingHexPrefix => "address_missing_0x",
        }
    }

    /// Every code, for the API's error catalogue.
    pub const CODES: [&'static str; 14] = [
        "address_empty",
        "address_invalid_character",
        "address_bad_checksum",
        "address_bad_eip55_checksum",
        "address_bad_length",
        "address_wrong_network",
        "address_unknown_prefix",
        "address_mixed_case",
        "address_missing_separator",
        "address_invalid_witness_version",
        "address_invalid_witness_program",
        "address_wrong_checksum_variant",
        "address_invalid_padding",
        "address_missing_0x",
    ];

    /// Errors that say "this is not shaped like an address of the network", after which it is
    /// worth asking whether it is an address of another network.
    fn is_structural(&self) -> bool {
        matches!(
            self,
            AddressError::UnknownPrefix { .. }
                | AddressError::MissingHexPrefix
                | AddressError::MissingSeparator
                | AddressError::InvalidCharacter { .. }
                | AddressError::BadLength { .. }
        )
    }
}

impl Address {
    /// Parses and fully validates `input` as an address of `network`. Surrounding whitespace is
    /// not accepted: a copy-paste accident should be seen, not silently repaired.
    pub fn parse(network: Network, input: &str) -> Result<Address, AddressError> {
        match parse_exact(network, input) {
            Ok(a) => Ok(a),
            Err(e) if e.is_structural() => Err(detect_other_network(network, input).unwrap_or(e)),
            Err(e) => Err(e),
        }
    }

    pub fn network(&self) -> Network {
        self.network
    }

    pub fn kind(&self) -> AddressKind {
        self.kind
    }

    /// The normalised form: the key for storage and label matching.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The normalised form, shared rather than copied (for reports that outlive the address).
    pub fn shared(&self) -> Arc<str> {
        self.normalized.clone()
    }

    /// The form to show a person: EIP-55 checksummed for Ethereum, the normalised form otherwise.
    pub fn display(&self) -> String {
        match self.network {
            Network::Ethereum => eip55_checksum(&self.normalized[2..]),
            _ => self.normalized.to_string(),
        }
    }

    /// The output script that pays a Bitcoin address (for building transactions); `None` for
    /// other networks.
    pub fn script_pubkey(&self) -> Option<Vec<u8>> {
        match self.kind {
            AddressKind::P2pkh | AddressKind::P2sh => {
                let payload = base58::decode_check(&self.normalized).ok()?;
                let hash = payload.get(1..21)?;
                Some(match self.kind {
                    AddressKind::P2pkh => [&[0x76, 0xa9, 0x14][..], hash, &[0x88, 0xac]].concat(),
                    _ => [&[0xa9, 0x14][..], hash, &[0x87]].concat(),
                })
            }
            AddressKind::P2wpkh | AddressKind::P2wsh | AddressKind::P2tr | AddressKind::FutureSegwit(_) => {
                let d = bech32::decode(&self.normalized).ok()?;
                let (&version, program5) = d.data.split_first()?;
                let program = bech32::convert_bits(program5, 5, 8, false)?;
                let op = if version == 0 { 0 } else { 0x50 + version };
                Some([&[op, program.len() as u8][..], &program].concat())
            }
            AddressKind::Evm | AddressKind::Tron => None,
        }
    }

    /// Builds an Ethereum address from its 20 bytes.
    pub fn ethereum_from_bytes(bytes: &[u8; 20]) -> Address {
        let mut normalized = String::with_capacity(42);
        normalized.push_str("0x");
        for b in bytes {
            normalized.push_str(&format!("{b:02x}"));
        }
        Address { network: Network::Ethereum, kind: AddressKind::Evm, normalized: normalized.into() }
    }

    /// Builds a TRON address from its 20-byte account id (the 0x41 prefix is added).
    pub fn tron_from_bytes(bytes: &[u8; 20]) -> Address {
        let mut payload = Vec::with_capacity(21);
        payload.push(0x41);
        payload.extend_from_slice(bytes);
        Address { network: Network::Tron, kind: AddressKind::Tron, normalized: base58::encode_check(&payload).into() }
    }

    /// Builds a mainnet P2WPKH address from a 20-byte key hash.
    pub fn p2wpkh_from_hash(hash: &[u8; 20]) -> Address {
        Address {
            network: Network::Bitcoin,
            kind: AddressKind::P2wpkh,
            normalized: bech32::encode_segwit("bc", 0, hash).into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

fn parse_exact(network: Network, input: &str) -> Result<Address, AddressError> {
    if input.is_empty() {
        return Err(AddressError::Empty);
    }
    match network {
        Network::Bitcoin => parse_bitcoin(input),
        Network::Ethereum => parse_ethereum(input),
        Network::Tron => parse_tron(input),
    }
}

/// When an input is not shaped like an address of `network`, names the network it belongs to.
fn detect_other_network(network: Network, input: &str) -> Option<AddressError> {
    let expected = network.display_name();
    if let Some(detected) = detect_foreign_bitcoin_like(input) {
        return Some(AddressError::WrongNetwork { detected, expected });
    }
    Network::ALL.into_iter().filter(|&n| n != network).find_map(|other| {
        parse_exact(other, input).ok().map(|_| AddressError::WrongNetwork {
            detected: match other {
                Network::Bitcoin => "a Bitcoin address",
                Network::Ethereum => "an Ethereum address",
                Network::Tron => "a TRON address",
            },
            expected,
        })
    })
}

/// Recognises addresses of Bitcoin's test networks and of Bitcoin-like coins by their version
/// byte or bech32 prefix.
fn detect_foreign_bitcoin_like(input: &str) -> Option<&'static str> {
    if let Ok(payload) = base58::decode_check(input) {
        if payload.len() == 21 {
            return match payload[0] {
                0x6f | 0xc4 => Some("a Bitcoin testnet address"),
                0x30 | 0x32 => Some("a Litecoin address"),
                0x1e | 0x16 => Some("a Dogecoin address"),
                0x4c | 0x10 => Some("a Dash address"),
                _ => None,
            };
        }
    }
    if let Ok(d) = bech32::decode(input) {
        return bech32_foreign_hrp(&d.hrp.to_ascii_lowercase());
    }
    None
}

fn bech32_foreign_hrp(hrp: &str) -> Option<&'static str> {
    match hrp {
        "tb" => Some("a Bitcoin testnet address"),
        "bcrt" => Some("a Bitcoin regtest address"),
        "ltc" => Some("a Litecoin address"),
        "tltc" => Some("a Litecoin testnet address"),
        _ => None,
    }
}

fn looks_bech32(input: &str) -> bool {
    input.rfind('1').is_some_and(|i| i > 0 && input[..i].bytes().all(|b| b.is_ascii_alphabetic()))
}

fn parse_bitcoin(input: &str) -> Result<Address, AddressError> {
    if looks_bech32(input) {
        match parse_segwit(input) {
            Ok(a) => return Ok(a),
            // A base58 string can look like bech32 ("t1..."): judge it as base58 if it is one.
            Err(e) if base58::decode_check(input).is_err() => return Err(e),
            Err(_) => {}
        }
    }
    parse_bitcoin_base58(input)
}

fn base58_error(e: base58::Base58Error, expected_len: &'static str) -> AddressError {
    match e {
        base58::Base58Error::InvalidCharacter(ch, position) => AddressError::InvalidCharacter { ch, position },
        base58::Base58Error::BadChecksum => AddressError::BadChecksum,
        base58::Base58Error::TooShort => AddressError::BadLength { expected: expected_len, got: 0 },
    }
}

fn parse_bitcoin_base58(input: &str) -> Result<Address, AddressError> {
    const LEN: &str = "25 bytes (a version byte, a 20-byte hash, a checksum)";
    let payload = base58::decode_check(input).map_err(|e| base58_error(e, LEN))?;
    if payload.len() != 21 {
        return Err(AddressError::BadLength { expected: LEN, got: payload.len() + 4 });
    }
    let kind = match payload[0] {
        0x00 => AddressKind::P2pkh,
        0x05 => AddressKind::P2sh,
        v => {
            return Err(AddressError::UnknownPrefix { prefix: format!("version byte 0x{v:02x}"), network: "Bitcoin" });
        }
    };
    Ok(Address { network: Network::Bitcoin, kind, normalized: input.into() })
}

fn parse_segwit(input: &str) -> Result<Address, AddressError> {
    let d = bech32::decode(input).map_err(|e| match e {
        bech32::Bech32Error::MixedCase => AddressError::MixedCase,
        bech32::Bech32Error::MissingSeparator => AddressError::MissingSeparator,
        bech32::Bech32Error::InvalidCharacter(ch, position) => AddressError::InvalidCharacter { ch, position },
        bech32::Bech32Error::TooLong(got) => AddressError::BadLength { expected: "at most 90 characters", got },
        bech32::Bech32Error::TooShort => {
            AddressError::BadLength { expected: "at least 6 characters after the separator", got: input.len() }
        }
        bech32::Bech32Error::BadChecksum => AddressError::BadChecksum,
    })?;
    if !d.hrp.eq_ignore_ascii_case("bc") {
        let hrp = d.hrp.to_ascii_lowercase();
        if let Some(detected) = bech32_foreign_hrp(&hrp) {
            return Err(AddressError::WrongNetwork { detected, expected: "Bitcoin" });
        }
        return Err(AddressError::UnknownPrefix { prefix: hrp, network: "Bitcoin" });
    }
    let (&version, program5) =
        d.data.split_first().ok_or(AddressError::InvalidWitnessProgram { version: 0, len: 0 })?;
    if version > 16 {
        return Err(AddressError::InvalidWitnessVersion(version));
    }
    let program = bech32::convert_bits(program5, 5, 8, false).ok_or(AddressError::InvalidPadding)?;
    let len = program.len();
    if !(2..=40).contains(&len) || (version == 0 && len != 20 && len != 32) {
        return Err(AddressError::InvalidWitnessProgram { version, len });
    }
    match (version, d.variant) {
        (0, bech32::Variant::Bech32m) => {
            return Err(AddressError::WrongChecksumVariant { version, expected: "bech32 (BIP-173)" });
        }
        (1.., bech32::Variant::Bech32) => {
            return Err(AddressError::WrongChecksumVariant { version, expected: "bech32m (BIP-350)" });
        }
        _ => {}
    }
    let kind = match (version, len) {
        (0, 20) => AddressKind::P2wpkh,
        (0, _) => AddressKind::P2wsh,
        (1, 32) => AddressKind::P2tr,
        (v, _) => AddressKind::FutureSegwit(v),
    };
    let normalized: Arc<str> =
        if input.bytes().any(|b| b.is_ascii_uppercase()) { input.to_ascii_lowercase().into() } else { input.into() };
    Ok(Address { network: Network::Bitcoin, kind, normalized })
}

fn parse_ethereum(input: &str) -> Result<Address, AddressError> {
    let hex = input.strip_prefix("0x").ok_or(AddressError::MissingHexPrefix)?;
    if let Some((position, ch)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(AddressError::InvalidCharacter { ch, position: position + 2 });
    }
    if hex.len() != 40 {
        return Err(AddressError::BadLength { expected: "40 hex digits after 0x", got: hex.len() });
    }
    let mut lower = [0u8; 42];
    lower[..2].copy_from_slice(b"0x");
    for (dst, src) in lower[2..].iter_mut().zip(hex.bytes()) {
        *dst = src.to_ascii_lowercase();
    }
    let normalized = std::str::from_utf8(&lower).expect("ASCII hex");
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        // EIP-55: a letter is upper-case exactly where its nibble of the hash is 8 or more.
        let hash = Keccak256::digest(&normalized.as_bytes()[2..]);
        let valid = hex.bytes().enumerate().all(|(i, c)| {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
            !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
        });
        if !valid {
            return Err(AddressError::BadEip55Checksum);
        }
    }
    Ok(Address { network: Network::Ethereum, kind: AddressKind::Evm, normalized: normalized.into() })
}

/// The EIP-55 mixed-case form of 40 hex digits, with its 0x prefix.
pub fn eip55_checksum(hex40: &str) -> String {
    let lower = hex40.to_ascii_lowercase();
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = Vec::with_capacity(42);
    out.extend_from_slice(b"0x");
    for (i, c) in lower.bytes().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0xf;
        out.push(if c.is_ascii_alphabetic() && nibble >= 8 { c.to_ascii_uppercase() } else { c });
    }
    String::from_utf8(out).expect("ASCII")
}

fn parse_tron(input: &str) -> Result<Address, AddressError> {
    const LEN: &str = "25 bytes (0x41, a 20-byte account id, a checksum)";
    let payload = base58::decode_check(input).map_err(|e| base58_error(e, LEN))?;
    if payload.len() != 21 {
        return Err(AddressError::BadLength { expected: LEN, got: payload.len() + 4 });
    }
    if payload[0] != 0x41 {
        return Err(AddressError::UnknownPrefix {
            prefix: format!("version byte 0x{:02x}", payload[0]),
            network: "TRON",
        });
    }
    Ok(Address { network: Network::Tron, kind: AddressKind::Tron, normalized: input.into() })
}

#[cfg(test)]
mod tests;
