//! BIP32 extended public keys: parsing and public child derivation, by the `bitcoin` crate's
//! `bip32` module. Custos reads the SLIP-132 forms (`ypub`, `zpub`) as well as `xpub`, and says
//! why a key is refused (a private key, a test network, a malformed key).

use bitcoin::bip32::{ChildNumber, Xpub};
use bitcoin::secp256k1::{Secp256k1, VerifyOnly};
use custos_domain::address::base58;
use std::sync::OnceLock;

/// A parsed extended public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedPublicKey {
    pub depth: u8,
    pub child_number: u32,
    key: Xpub,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid extended public key: {0}")]
    Encoding(&'static str),
    #[error("this is an extended PRIVATE key; Custos needs only the extended public key (xpub/zpub) and must never hold a private key")]
    PrivateKey,
    #[error("this extended key is for a test network; configure a mainnet key")]
    Testnet,
    #[error("unknown extended key version {0:08x}")]
    UnknownVersion(u32),
    #[error("the public key inside the extended key is not a valid secp256k1 point")]
    InvalidPoint,
    #[error("the extended key has depth {0}; configure the account-level key (depth 3, e.g. m/84'/0'/0') or its receive chain (depth 4)")]
    WrongDepth(u8),
    #[error(transparent)]
    Derive(DeriveError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    #[error("index {0} is hardened; hardened children cannot be derived from a public key")]
    Hardened(u32),
    #[error("index {0} gives an invalid key (probability below 2^-127); skip to the next index")]
    InvalidChild(u32),
}

const XPUB: u32 = 0x0488_b21e;
const MAINNET_PUBLIC: [u32; 3] = [XPUB, 0x049d_7cb2, 0x04b2_4746]; // xpub, ypub, zpub
const MAINNET_PRIVATE: [u32; 3] = [0x0488_ade4, 0x049d_7878, 0x04b2_430c]; // xprv, yprv, zprv
const TESTNET: [u32; 6] = [0x0435_87cf, 0x044a_5262, 0x045f_1cf6, 0x0435_8394, 0x044a_4e28, 0x045f_18bc];

/// The context for public derivation, made once.
fn secp() -> &'static Secp256k1<VerifyOnly> {
    static SECP: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::verification_only)
}

impl ExtendedPublicKey {
    pub fn parse(encoded: &str) -> Result<Self, KeyError> {
        let mut raw = base58::decode_check(encoded.trim()).map_err(|e| match e {
            base58::Base58Error::BadChecksum => KeyError::Encoding("bad checksum"),
            base58::Base58Error::InvalidCharacter(..) => KeyError::Encoding("invalid base58 character"),
            base58::Base58Error::TooShort => KeyError::Encoding("too short"),
        })?;
        if raw.len() != 78 {
            return Err(KeyError::Encoding("wrong length (78 bytes expected)"));
        }
        let version = u32::from_be_bytes(raw[0..4].try_into().expect("4 bytes"));
        if MAINNET_PRIVATE.contains(&version) {
            return Err(KeyError::PrivateKey);
        }
        if TESTNET.contains(&version) {
            return Err(KeyError::Testnet);
        }
        if !MAINNET_PUBLIC.contains(&version) {
            return Err(KeyError::UnknownVersion(version));
        }
        if raw[4] == 0 && (raw[5..9] != [0; 4] || raw[9..13] != [0; 4]) {
            return Err(KeyError::Encoding("a master key must have a zero parent fingerprint and index"));
        }
        if raw[45] != 2 && raw[45] != 3 {
            return Err(KeyError::InvalidPoint);
        }
        // ypub and zpub differ from xpub only in their version (SLIP-132).
        raw[0..4].copy_from_slice(&XPUB.to_be_bytes());
        let key = Xpub::decode(&raw).map_err(|_| KeyError::InvalidPoint)?;
        Ok(ExtendedPublicKey { depth: key.depth, child_number: u32::from(key.child_number), key })
    }

    /// CKDpub: the non-hardened child at `index`.
    pub fn derive_child(&self, index: u32) -> Result<Self, DeriveError> {
        let child = ChildNumber::from_normal_idx(index).map_err(|_| DeriveError::Hardened(index))?;
        let key = self.key.ckd_pub(secp(), child).map_err(|_| DeriveError::InvalidChild(index))?;
        Ok(ExtendedPublicKey { depth: key.depth, child_number: index, key })
    }

    pub fn compressed(&self) -> [u8; 33] {
        self.key.public_key.serialize()
    }

    pub fn uncompressed(&self) -> [u8; 65] {
        self.key.public_key.serialize_uncompressed()
    }

    /// HASH160 of the compressed key, which is also the key identifier (BIP32).
    pub fn hash160(&self) -> [u8; 20] {
        use bitcoin::hashes::Hash;
        self.key.identifier().to_byte_array()
    }

    #[cfg(test)]
    pub(crate) fn chain_code_hex(&self) -> String {
        super::hex(self.key.chain_code.as_bytes())
    }
}
