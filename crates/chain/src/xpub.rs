//! BIP32 extended public keys: parsing and public child derivation.

use custos_domain::address::base58;
use hmac::{Hmac, Mac};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::PrimeField;
use k256::{ProjectivePoint, PublicKey, Scalar};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256, Sha512};

/// A parsed extended public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedPublicKey {
    pub depth: u8,
    pub child_number: u32,
    pub chain_code: [u8; 32],
    key: PublicKey,
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

const MAINNET_PUBLIC: [u32; 3] = [0x0488_b21e, 0x049d_7cb2, 0x04b2_4746]; // xpub, ypub, zpub
const MAINNET_PRIVATE: [u32; 3] = [0x0488_ade4, 0x049d_7878, 0x04b2_430c]; // xprv, yprv, zprv
const TESTNET: [u32; 6] = [0x0435_87cf, 0x044a_5262, 0x045f_1cf6, 0x0435_8394, 0x044a_4e28, 0x045f_18bc];

impl ExtendedPublicKey {
    pub fn parse(encoded: &str) -> Result<Self, KeyError> {
        let raw = base58::decode_check(encoded.trim()).map_err(|e| match e {
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
        let depth = raw[4];
        let child_number = u32::from_be_bytes(raw[9..13].try_into().expect("4 bytes"));
        let chain_code: [u8; 32] = raw[13..45].try_into().expect("32 bytes");
        if depth == 0 && (raw[5..9] != [0; 4] || child_number != 0) {
            return Err(KeyError::Encoding("a master key must have a zero parent fingerprint and index"));
        }
        let key = PublicKey::from_sec1_bytes(&raw[45..78]).map_err(|_| KeyError::InvalidPoint)?;
        if raw[45] != 2 && raw[45] != 3 {
            return Err(KeyError::InvalidPoint);
        }
        Ok(ExtendedPublicKey { depth, child_number, chain_code, key })
    }

    /// CKDpub: the non-hardened child at `index`.
    pub fn derive_child(&self, index: u32) -> Result<Self, DeriveError> {
        if index >= 0x8000_0000 {
            return Err(DeriveError::Hardened(index));
        }
        let mut mac = Hmac::<Sha512>::new_from_slice(&self.chain_code).expect("any key length");
        mac.update(&self.compressed());
        mac.update(&index.to_be_bytes());
        let i = mac.finalize().into_bytes();
        let il: [u8; 32] = i[..32].try_into().expect("32 bytes");
        let tweak = Option::<Scalar>::from(Scalar::from_repr(il.into())).ok_or(DeriveError::InvalidChild(index))?;
        let point = ProjectivePoint::GENERATOR * tweak + self.key.to_projective();
        let key = PublicKey::from_affine(point.to_affine()).map_err(|_| DeriveError::InvalidChild(index))?;
        Ok(ExtendedPublicKey {
            depth: self.depth.saturating_add(1),
            child_number: index,
            chain_code: i[32..].try_into().expect("32 bytes"),
            key,
        })
    }

    pub fn compressed(&self) -> [u8; 33] {
        self.key.to_encoded_point(true).as_bytes().try_into().expect("33 bytes")
    }

    pub fn uncompressed(&self) -> [u8; 65] {
        self.key.to_encoded_point(false).as_bytes().try_into().expect("65 bytes")
    }

    /// HASH160 of the compressed key.
    pub fn hash160(&self) -> [u8; 20] {
        Ripemd160::digest(Sha256::digest(self.compressed())).into()
    }

    /// The key identifier (BIP32): HASH160 of the compressed key.
    pub fn identifier(&self) -> [u8; 20] {
        self.hash160()
    }

    /// Serialises as an `xpub` (parent fingerprint not kept, so zeroed).
    #[cfg(test)]
    pub(crate) fn chain_code_hex(&self) -> String {
        super::hex(&self.chain_code)
    }
}
