//! Deposit address derivation from extended public keys (ADDR-1).
//!
//! The operator configures, per network, the account-level extended public key of the wallet
//! that receives deposits (BIP84 `m/84'/0'/0'` for Bitcoin, BIP44 `m/44'/60'/0'` for Ethereum and
//! `m/44'/195'/0'` for TRON). Custos derives the receive chain `0/i` from it with public (non-
//! hardened) BIP32 derivation. It never sees a private key, and refuses one if given.

pub mod bitcoind;
pub mod error;
pub mod esplora;
pub mod evm;
pub mod psbt;
pub mod signer;
pub mod tron;
pub mod xpub;

pub use error::ChainError;
pub use xpub::{DeriveError, ExtendedPublicKey, KeyError};

use custos_domain::{Address, Network};
use sha3::{Digest, Keccak256};

/// Derives deposit addresses of one network.
#[derive(Clone, Debug)]
pub struct DepositKey {
    network: Network,
    /// The key of the receive chain (…/0), derived once.
    chain: ExtendedPublicKey,
    /// A short, non-secret id of the configured key, stored with each address it derived.
    fingerprint: String,
}

impl DepositKey {
    /// Reads an account-level (depth 3) or receive-chain-level (depth 4) extended public key.
    pub fn parse(network: Network, encoded: &str) -> Result<DepositKey, KeyError> {
        let key = ExtendedPublicKey::parse(encoded)?;
        let fingerprint = hex(&key.hash160()[..4]);
        let chain = match key.depth {
            3 => key.derive_child(0).map_err(KeyError::Derive)?,
            4 => key,
            d => return Err(KeyError::WrongDepth(d)),
        };
        Ok(DepositKey { network, chain, fingerprint })
    }

    pub fn network(&self) -> Network {
        self.network
    }

    /// The derivation path of index `i`, for display.
    pub fn path(&self, index: u32) -> String {
        let coin = match self.network {
            Network::Bitcoin => "84'/0'",
            Network::Ethereum => "44'/60'",
            Network::Tron => "44'/195'",
        };
        format!("m/{coin}/0'/0/{index}")
    }

    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The compressed public key at receive index `index` (for a signer's PSBT).
    pub fn public_key(&self, index: u32) -> Result<[u8; 33], DeriveError> {
        Ok(self.chain.derive_child(index)?.compressed())
    }

    /// The 4 bytes of [`Self::fingerprint`].
    pub fn fingerprint_bytes(&self) -> [u8; 4] {
        let mut out = [0u8; 4];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(self.fingerprint.get(i * 2..i * 2 + 2).unwrap_or("00"), 16).unwrap_or(0);
        }
        out
    }

    /// The address at receive index `index`.
    pub fn address(&self, index: u32) -> Result<Address, DeriveError> {
        let child = self.chain.derive_child(index)?;
        Ok(address_of(self.network, &child))
    }
}

impl custos_app::AddressDeriver for DepositKey {
    fn network(&self) -> Network {
        self.network
    }

    fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn derive(&self, index: u32) -> Result<Address, custos_app::ports::DeriveError> {
        self.address(index).map_err(|e| custos_app::ports::DeriveError { index, reason: e.to_string() })
    }
}

fn address_of(network: Network, key: &ExtendedPublicKey) -> Address {
    match network {
        Network::Bitcoin => Address::p2wpkh_from_hash(&key.hash160()),
        Network::Ethereum => Address::ethereum_from_bytes(&evm_account(key)),
        Network::Tron => Address::tron_from_bytes(&evm_account(key)),
    }
}

/// The 20-byte account id of Ethereum and TRON: the last 20 bytes of Keccak-256 of the
/// uncompressed public key without its 0x04 prefix.
fn evm_account(key: &ExtendedPublicKey) -> [u8; 20] {
    let uncompressed = key.uncompressed();
    let hash = Keccak256::digest(&uncompressed[1..]);
    hash[12..].try_into().expect("20 bytes")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Account-level extended public keys of the public BIP39 test mnemonic
/// "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
/// (empty passphrase). DEMO ONLY: anyone can spend what is sent to these addresses.
pub mod demo {
    pub const BITCOIN_ZPUB: &str = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";
    pub const ETHEREUM_XPUB: &str = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt";
    pub const TRON_XPUB: &str = "xpub6D1AabNHCupeiLM65ZR9UStMhJ1vCpyV4XbZdyhMZBiJXALQtmn9p42VTQckoHVn8WNqS7dqnJokZHAHcHGoaQgmv8D45oNUKx6DZMNZBCd";
}

#[cfg(test)]
mod tests;
