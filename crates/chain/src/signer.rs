//! An optional signer for Ethereum (off unless configured): the operator's account-level
//! extended private key, kept sealed by the master key at rest and opened only in memory, signs
//! the plan's transactions (EIP-155) and sends them through the node. Custos's watcher and
//! planner never need it; an operator with an external signer leaves it off.

use crate::error::ChainError;
use crate::evm::{quantity, EvmRpc};
use alloy_rlp::{Encodable, Header};
use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::{ecdsa::RecoverableSignature, All, Message, Secp256k1, SecretKey};
use bitcoin::NetworkKind;
use custos_app::consolidation::EvmRequest;
use custos_app::ports::RemoteError;
use custos_domain::{Address, Network};
use serde_json::json;
use sha3::{Digest, Keccak256};
use std::str::FromStr;
use std::sync::OnceLock;

/// The context for private derivation and signing, made once.
fn secp() -> &'static Secp256k1<All> {
    static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}

/// Why the signer's key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerKeyError {
    #[error("an unusable seed")]
    Seed,
    #[error("not an extended private key (xprv)")]
    NotXprv,
    #[error("not a mainnet extended private key (xprv…)")]
    NotMainnet,
    #[error("an invalid child; use the next index")]
    InvalidChild,
}

impl From<SignerKeyError> for ChainError {
    fn from(e: SignerKeyError) -> Self {
        ChainError::Refused(e.to_string())
    }
}

/// A BIP32 extended private key (the `bitcoin` crate's `bip32::Xpriv`, mainnet only).
#[derive(Clone)]
pub struct ExtendedPrivateKey(Xpriv);

impl std::fmt::Debug for ExtendedPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExtendedPrivateKey(depth {})", self.0.depth)
    }
}

impl ExtendedPrivateKey {
    /// The master key of a BIP32 seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, SignerKeyError> {
        Xpriv::new_master(NetworkKind::Main, seed).map(ExtendedPrivateKey).map_err(|_| SignerKeyError::Seed)
    }

    pub fn parse(encoded: &str) -> Result<Self, SignerKeyError> {
        match Xpriv::from_str(encoded.trim()) {
            Ok(key) if key.network == NetworkKind::Main => Ok(ExtendedPrivateKey(key)),
            Ok(_) => Err(SignerKeyError::NotMainnet),
            Err(_) => Err(SignerKeyError::NotXprv),
        }
    }

    /// The `xprv…` form.
    pub fn encode(&self) -> String {
        self.0.to_string()
    }

    /// The child at `index` (hardened from 2^31).
    pub fn derive_child(&self, index: u32) -> Result<Self, SignerKeyError> {
        let child = ChildNumber::from(index);
        self.0.derive_priv(secp(), &[child]).map(ExtendedPrivateKey).map_err(|_| SignerKeyError::InvalidChild)
    }

    fn secret(&self) -> SecretKey {
        self.0.private_key
    }

    /// The Ethereum address of this key.
    pub fn ethereum_address(&self) -> Address {
        let point = self.secret().public_key(secp()).serialize_uncompressed();
        let hash = Keccak256::digest(&point[1..]);
        Address::ethereum_from_bytes(hash[12..].try_into().expect("20 bytes"))
    }
}

fn hex_bytes(s: &str) -> Result<Vec<u8>, ChainError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let refused = |why: &str| ChainError::Refused(format!("{why}: {s:?}"));
    if s.len() % 2 == 1 {
        return Err(refused("odd-length hex"));
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| refused("not hex"))).collect()
}

/// A legacy transaction, signed for `chain_id` (EIP-155); returns the raw bytes.
#[allow(clippy::too_many_arguments)]
pub fn sign_legacy(
    key: &SecretKey,
    chain_id: u64,
    nonce: u64,
    gas_price: u128,
    gas: u64,
    to: &Address,
    value: u128,
    data: &[u8],
) -> Result<Vec<u8>, ChainError> {
    let to = hex_bytes(to.as_str())?;
    // RLP (alloy-rlp): integers without leading zeros, r and s likewise, the whole as a list.
    let fields = |v: u128, r: &[u8], s: &[u8]| {
        let trim = |x: &[u8]| x[x.iter().position(|&b| b != 0).unwrap_or(x.len())..].to_vec();
        let mut payload = Vec::new();
        nonce.encode(&mut payload);
        gas_price.encode(&mut payload);
        gas.encode(&mut payload);
        to.as_slice().encode(&mut payload);
        value.encode(&mut payload);
        data.encode(&mut payload);
        v.encode(&mut payload);
        trim(r).as_slice().encode(&mut payload);
        trim(s).as_slice().encode(&mut payload);
        let mut out = Vec::with_capacity(payload.len() + 3);
        Header { list: true, payload_length: payload.len() }.encode(&mut out);
        out.extend_from_slice(&payload);
        out
    };
    let unsigned = fields(u128::from(chain_id), &[], &[]);
    let digest: [u8; 32] = Keccak256::digest(&unsigned).into();
    let signature: RecoverableSignature = secp().sign_ecdsa_recoverable(&Message::from_digest(digest), key);
    let (recid, rs) = signature.serialize_compact();
    let v = u128::from(recid.to_i32().unsigned_abs()) + 35 + 2 * u128::from(chain_id);
    Ok(fields(v, &rs[..32], &rs[32..]))
}

/// The signer: deposit addresses are `0/index` below the account key; the gas wallet is
/// `0/gas_index`.
pub struct EvmSigner {
    account: ExtendedPrivateKey,
    gas_index: u32,
    rpc: EvmRpc,
}

#[async_trait::async_trait]
impl custos_app::consolidation::EvmSend for EvmSigner {
    async fn send(&self, request: &EvmRequest) -> Result<String, RemoteError> {
        let hash = EvmSigner::send(self, request).await?;
        if request.purpose == "gas_top_up" {
            // The sweep that follows spends this gas: wait until it is mined.
            for _ in 0..600 {
                if !self.rpc.call("eth_getTransactionReceipt", json!([hash])).await?.is_null() {
                    return Ok(hash);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            return Err(RemoteError::Unavailable(format!("the gas top-up {hash} was not mined within 2 minutes")));
        }
        Ok(hash)
    }
}

impl EvmSigner {
    pub fn new(account: ExtendedPrivateKey, gas_index: u32, rpc: EvmRpc) -> EvmSigner {
        EvmSigner { account, gas_index, rpc }
    }

    fn key_at(&self, index: u32) -> Result<ExtendedPrivateKey, SignerKeyError> {
        self.account.derive_child(0)?.derive_child(index)
    }

    /// The gas wallet's address.
    pub fn gas_wallet(&self) -> Result<Address, SignerKeyError> {
        Ok(self.key_at(self.gas_index)?.ethereum_address())
    }

    /// Signs and sends one of the plan's requests; returns the transaction hash. The key is
    /// the one whose address the request names, or the request is refused.
    pub async fn send(&self, r: &EvmRequest) -> Result<String, ChainError> {
        // Gas top-ups and payouts leave from the service's hot wallet (0/gas_index); sweeps and
        // refunds from the deposit address the request names.
        let hot = matches!(r.purpose, "gas_top_up" | "payout");
        let index = if hot {
            self.gas_index
        } else {
            r.derivation_index.ok_or_else(|| {
                ChainError::Refused("a request from a deposit address without its derivation index".into())
            })?
        };
        let key = self.key_at(index)?;
        let from = key.ethereum_address();
        if !(r.purpose == "payout" && r.from.is_empty()) && from.as_str() != r.from.to_lowercase() {
            return Err(ChainError::Refused(format!("the key at 0/{index} is not the key of {}", r.from)));
        }
        let chain_id = quantity(&self.rpc.call("eth_chainId", json!([])).await?)? as u64;
        let nonce =
            quantity(&self.rpc.call("eth_getTransactionCount", json!([from.as_str(), "pending"])).await?)? as u64;
        let to = Address::parse(Network::Ethereum, &r.to).map_err(|e| ChainError::Refused(e.to_string()))?;
        let data = match &r.data {
            Some(d) => hex_bytes(d)?,
            None => Vec::new(),
        };
        let value: u128 = r.value.parse().map_err(|_| ChainError::Refused(format!("a bad value: {:?}", r.value)))?;
        let price: u128 =
            r.gas_price.parse().map_err(|_| ChainError::Refused(format!("a bad gas price: {:?}", r.gas_price)))?;
        let raw = sign_legacy(&key.secret(), chain_id, nonce, price, r.gas, &to, value, &data)?;
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let hash = self.rpc.call("eth_sendRawTransaction", json!([format!("0x{hex}")])).await?;
        Ok(hash.as_str().map(str::to_lowercase).ok_or("the node returned no transaction hash")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bip32_test_vector_1_private_derivation() {
        // BIP-32 test vector 1: seed 000102…0f, chain m/0'/1.
        let seed: Vec<u8> = (0u8..16).collect();
        let m = ExtendedPrivateKey::from_seed(&seed).unwrap();
        assert_eq!(
            m.encode(),
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
        );
        let child = m.derive_child(0x8000_0000).unwrap().derive_child(1).unwrap();
        assert_eq!(
            child.encode(),
            "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs"
        );
        assert_eq!(ExtendedPrivateKey::parse(&child.encode()).unwrap().encode(), child.encode());
        assert!(!format!("{child:?}").contains("xprv"), "a private key never prints");
    }

    #[test]
    fn eip155_example_transaction_signs_as_specified() {
        // EIP-155's example: nonce 9, 20 gwei, 21000 gas, 1 ether to 0x3535…35, chain 1, key 0x4646…46.
        let key = SecretKey::from_slice(&[0x46; 32]).unwrap();
        let to = Address::parse(Network::Ethereum, "0x3535353535353535353535353535353535353535").unwrap();
        let raw = sign_legacy(&key, 1, 9, 20_000_000_000, 21_000, &to, 1_000_000_000_000_000_000, &[]).unwrap();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
        );
    }
}
