//! Cryptography at the edge: field encryption with key ids (personal data at rest, invariant 4),
//! keyed hashes for matching encrypted values, API key hashing and random tokens.

pub mod bundle;
pub mod password;
pub mod totp;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A 32-byte master key with its public id.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("the master key is missing")]
    Missing,
    #[error("the master key must be 32 random bytes written in base64 (generate one with `openssl rand -base64 32`)")]
    Malformed,
    #[error("the master key is a well-known value (all one byte, or the example's); generate a random one")]
    WellKnown,
}

impl MasterKey {
    /// Reads a base64-encoded 32-byte key and refuses obviously non-random ones.
    pub fn from_base64(s: &str) -> Result<MasterKey, KeyParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyParseError::Missing);
        }
        if s == EXAMPLE_KEY {
            return Err(KeyParseError::WellKnown);
        }
        let raw = STANDARD.decode(s).map_err(|_| KeyParseError::Malformed)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| KeyParseError::Malformed)?;
        if bytes.iter().all(|&b| b == bytes[0]) {
            return Err(KeyParseError::WellKnown);
        }
        Ok(Self::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        let digest = Sha256::new().chain_update(b"custos key id\0").chain_update(bytes).finalize();
        MasterKey { id: hex::encode(&digest[..4]), bytes }
    }

    pub fn generate() -> MasterKey {
        Self::from_bytes(random_bytes())
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// A subkey for one purpose, so that one key never serves two algorithms.
    fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes).expect("any length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The value written in `custos.example.toml`; refused as a real key.
pub const EXAMPLE_KEY: &str = "REPLACE+WITH+32+RANDOM+BYTES+IN+BASE64+++++=";

/// Where an encrypted value lives; bound into the ciphertext so that it cannot be moved to
/// another row or column undetected.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        format!("{}\0{}\0{}", self.table, self.column, self.row).into_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("encrypted value is malformed")]
    Malformed,
    #[error("encrypted with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the owner's data key was erased: the value can no longer be read")]
    Erased,
    #[error("encrypted value failed authentication (wrong key, tampered, or moved from another row)")]
    Authentication,
}

/// 32 secret bytes that never print.
#[derive(Clone, PartialEq, Eq)]
struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A customer's own data key (32 random bytes): their personal data is sealed with it, and
/// deleting it erases that data everywhere at once, backups included once they age out.
#[derive(Clone, Debug)]
pub struct DataKey {
    id: String,
    key: Secret,
}

impl DataKey {
    pub fn generate() -> DataKey {
        DataKey { id: format!("d{}", hex::encode(random_bytes::<8>())), key: Secret(random_bytes()) }
    }

    pub fn from_parts(id: &str, key: [u8; 32]) -> DataKey {
        DataKey { id: id.to_owned(), key: Secret(key) }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.key.0
    }
}

/// The data keys a process holds, by id; `None` for an erased one.
type DataKeyRing = std::sync::Arc<std::sync::RwLock<std::collections::HashMap<String, Option<Secret>>>>;

/// Encrypts and decrypts personal-data fields. Envelope: `v1.<key id>.<base64(nonce ‖ ciphertext)>`
/// with XChaCha20-Poly1305. Older keys stay readable after rotation, and [`Self::reseal`] moves a
/// value to the current key. Blind indexes use a separate index key that survives rotations
/// (kept in the database wrapped by the master key; see [`Self::with_index_key`]).
///
/// A customer's personal data is sealed with their own [`DataKey`] instead
/// (`v2.<data key id>.<base64(nonce ‖ ciphertext)>`); clones share the data keys held.
#[derive(Clone, Debug)]
pub struct FieldCipher {
    current: MasterKey,
    previous: Vec<MasterKey>,
    index_key: Secret,
    ephemeral: bool,
    data_keys: DataKeyRing,
}

impl FieldCipher {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let index_key = Secret(current.subkey("blind-index-v1"));
        FieldCipher { current, previous, index_key, ephemeral: false, data_keys: DataKeyRing::default() }
    }

    /// Holds a data key for sealing and opening.
    pub fn hold(&self, key: &DataKey) {
        self.data_keys.write().unwrap_or_else(|e| e.into_inner()).insert(key.id.clone(), Some(key.key.clone()));
    }

    /// Forgets an erased data key: what it sealed reads as [`CryptoError::Erased`].
    pub fn forget(&self, id: &str) {
        self.data_keys.write().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), None);
    }

    /// Seals with a customer's data key.
    pub fn encrypt_for(&self, key: &DataKey, plaintext: &[u8], aad: Aad<'_>) -> String {
        self.hold(key);
        seal(&XChaCha20Poly1305::new(key.bytes().into()), "v2", &key.id, plaintext, aad)
    }

    /// The data key an envelope was sealed with, for one sealed by [`Self::encrypt_for`].
    pub fn data_key_id(envelope: &str) -> Option<&str> {
        envelope_parts(envelope).filter(|p| p.0 == "v2").map(|p| p.1)
    }

    /// A throw-away cipher for commands that touch no personal data: nothing it seals can be
    /// opened later, so it must not seal keys into the database.
    pub fn ephemeral() -> Self {
        FieldCipher { ephemeral: true, ..Self::new(MasterKey::generate(), vec![]) }
    }

    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    pub fn key_id(&self) -> &str {
        self.current.id()
    }

    /// The ids of every configured key, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current).chain(&self.previous).map(MasterKey::id).collect()
    }

    /// The Ed25519 key disclosure bundles are signed with: derived from the current master key,
    /// never stored.
    pub fn bundle_signing_key(&self) -> bundle::SigningKey {
        bundle::signing_key(self.current.subkey("bundle-signing-v1"))
    }

    /// The public keys of bundles signed under every configured master key (current first), in hex.
    pub fn bundle_public_keys(&self) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| bundle::public_key_hex(&bundle::signing_key(k.subkey("bundle-signing-v1"))))
            .collect()
    }

    /// The index key a new installation starts with: derived from the current master key, which
    /// is what blind indexes used before the index key was kept apart.
    pub fn index_key_seed(&self) -> [u8; 32] {
        self.current.subkey("blind-index-v1")
    }

    /// Uses `key` for blind indexes from now on.
    pub fn with_index_key(mut self, key: [u8; 32]) -> Self {
        self.index_key = Secret(key);
        self
    }

    /// Encrypts a 32-byte data key under the master key.
    pub fn wrap_key(&self, key: &[u8; 32], aad: Aad<'_>) -> String {
        self.encrypt_bytes(key, aad)
    }

    pub fn unwrap_key(&self, envelope: &str, aad: Aad<'_>) -> Result<[u8; 32], CryptoError> {
        self.decrypt_bytes(envelope, aad)?.try_into().map_err(|_| CryptoError::Malformed)
    }

    /// The id of the key an envelope was sealed with.
    pub fn envelope_key_id(envelope: &str) -> Option<&str> {
        envelope_parts(envelope).filter(|p| p.0 == "v1").map(|p| p.1)
    }

    /// The value sealed again under the current key, or `None` when it already is (or is
    /// sealed with a data key, which a master-key rotation leaves alone).
    pub fn reseal(&self, envelope: &str, aad: Aad<'_>) -> Result<Option<String>, CryptoError> {
        if Self::envelope_key_id(envelope) == Some(self.current.id()) || Self::data_key_id(envelope).is_some() {
            return Ok(None);
        }
        Ok(Some(self.encrypt_bytes(&self.decrypt_bytes(envelope, aad)?, aad)))
    }

    fn cipher(key: &MasterKey) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&key.subkey("field-encryption-v1").into())
    }

    pub fn encrypt(&self, plaintext: &str, aad: Aad<'_>) -> String {
        self.encrypt_bytes(plaintext.as_bytes(), aad)
    }

    /// [`Self::encrypt`] for binary content (uploaded documents).
    pub fn encrypt_bytes(&self, plaintext: &[u8], aad: Aad<'_>) -> String {
        seal(&Self::cipher(&self.current), "v1", self.current.id(), plaintext, aad)
    }

    pub fn decrypt(&self, envelope: &str, aad: Aad<'_>) -> Result<String, CryptoError> {
        String::from_utf8(self.decrypt_bytes(envelope, aad)?).map_err(|_| CryptoError::Malformed)
    }

    /// [`Self::decrypt`] for binary content.
    pub fn decrypt_bytes(&self, envelope: &str, aad: Aad<'_>) -> Result<Vec<u8>, CryptoError> {
        let (version, kid, body) = envelope_parts(envelope).ok_or(CryptoError::Malformed)?;
        let cipher = match version {
            "v1" => Self::cipher(
                std::iter::once(&self.current)
                    .chain(&self.previous)
                    .find(|k| k.id() == kid)
                    .ok_or_else(|| CryptoError::UnknownKey(kid.to_owned()))?,
            ),
            "v2" => {
                let ring = self.data_keys.read().unwrap_or_else(|e| e.into_inner());
                match ring.get(kid) {
                    Some(Some(key)) => XChaCha20Poly1305::new((&key.0).into()),
                    Some(None) => return Err(CryptoError::Erased),
                    None => return Err(CryptoError::UnknownKey(kid.to_owned())),
                }
            }
            _ => return Err(CryptoError::Malformed),
        };
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| CryptoError::Malformed)?;
        if blob.len() < 24 + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = blob.split_at(24);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad.bytes() })
            .map_err(|_| CryptoError::Authentication)
    }

    /// A keyed hash to find equal values without decrypting (e.g. the same customer e-mail).
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key.0).expect("any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// An envelope's version, key id and body.
fn envelope_parts(envelope: &str) -> Option<(&str, &str, &str)> {
    let mut parts = envelope.splitn(3, '.');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// An envelope `<version>.<key id>.<base64(nonce ‖ ciphertext)>` with a fresh random nonce.
fn seal(cipher: &XChaCha20Poly1305, version: &str, key_id: &str, plaintext: &[u8], aad: Aad<'_>) -> String {
    let nonce_bytes: [u8; 24] = random_bytes();
    let ct = cipher
        .encrypt(&XNonce::from(nonce_bytes), Payload { msg: plaintext, aad: &aad.bytes() })
        .expect("encryption cannot fail for in-memory sizes");
    let mut blob = nonce_bytes.to_vec();
    blob.extend(ct);
    format!("{version}.{key_id}.{}", URL_SAFE_NO_PAD.encode(blob))
}

/// API keys are random 32-byte tokens, so a plain SHA-256 is a sufficient, fast one-way hash.
pub fn api_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new API key: `ck_` and 43 URL-safe characters (256 bits).
pub fn new_api_key() -> String {
    format!("ck_{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// A new session or e-mail token: 32 random bytes, URL-safe base64 (256 bits). Stored only as
/// [`api_key_hash`].
pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A value derived from a secret token for one purpose (e.g. a session's CSRF token): knowing
/// it reveals nothing of the token.
pub fn derive_token(token: &str, purpose: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()).expect("any length");
    mac.update(purpose.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..24])
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random source is available");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: Aad = Aad { table: "orders", column: "customer_email", row: "o1" };

    #[test]
    fn encrypted_fields_round_trip_and_are_bound_to_their_row() {
        let c = FieldCipher::new(MasterKey::generate(), vec![]);
        let env = c.encrypt("alice@example.com", AAD);
        assert!(env.starts_with(&format!("v1.{}.", c.key_id())));
        assert!(!env.contains("alice"));
        assert_eq!(c.decrypt(&env, AAD).unwrap(), "alice@example.com");
        let other_row = Aad { row: "o2", ..AAD };
        assert_eq!(c.decrypt(&env, other_row), Err(CryptoError::Authentication));
        assert_ne!(c.encrypt("alice@example.com", AAD), env, "a fresh nonce each time");
    }

    #[test]
    fn rotated_keys_still_decrypt_old_values() {
        let old = MasterKey::generate();
        let env = FieldCipher::new(old.clone(), vec![]).encrypt("x", AAD);
        let rotated = FieldCipher::new(MasterKey::generate(), vec![old]);
        assert_eq!(rotated.decrypt(&env, AAD).unwrap(), "x");
        let forgot = FieldCipher::new(MasterKey::generate(), vec![]);
        assert!(matches!(forgot.decrypt(&env, AAD), Err(CryptoError::UnknownKey(_))));
    }

    #[test]
    fn sec6_resealing_moves_values_to_the_current_key_and_blind_indexes_survive() {
        let old = FieldCipher::new(MasterKey::generate(), vec![]);
        let env = old.encrypt("alice@example.com", AAD);
        let index = old.blind_index("customer_email", "alice@example.com");
        let seed = old.index_key_seed();
        let wrapped = old.wrap_key(&seed, Aad { table: "data_keys", column: "key", row: "index" });
        let old_key = MasterKey::from_bytes(old.current.bytes);
        let new = FieldCipher::new(MasterKey::generate(), vec![old_key]);
        let new = new
            .clone()
            .with_index_key(new.unwrap_key(&wrapped, Aad { table: "data_keys", column: "key", row: "index" }).unwrap());
        assert_eq!(new.blind_index("customer_email", "alice@example.com"), index, "lookups keep working");
        let moved = new.reseal(&env, AAD).unwrap().expect("sealed under the old key");
        assert_eq!(FieldCipher::envelope_key_id(&moved), Some(new.key_id()));
        assert_eq!(new.reseal(&moved, AAD).unwrap(), None, "nothing to do twice");
        let only_new = FieldCipher::new(new.current.clone(), vec![]);
        assert_eq!(only_new.decrypt(&moved, AAD).unwrap(), "alice@example.com");
        assert!(matches!(only_new.decrypt(&env, AAD), Err(CryptoError::UnknownKey(_))));
        assert!(!format!("{new:?}").contains(&format!("{:?}", seed)), "the index key never prints");
        assert_eq!(new.key_ids(), vec![new.key_id(), old.key_id()]);
    }

    #[test]
    fn sec6_a_customers_data_key_seals_their_data_and_forgetting_it_erases_it() {
        let c = FieldCipher::new(MasterKey::generate(), vec![]);
        let (ada, bob) = (DataKey::generate(), DataKey::generate());
        let a = c.encrypt_for(&ada, b"ada@example.com", AAD);
        let b = c.encrypt_for(&bob, b"bob@example.com", AAD);
        assert!(a.starts_with(&format!("v2.{}.", ada.id())) && !a.contains("ada"));
        assert_eq!(FieldCipher::data_key_id(&a), Some(ada.id()));
        let restarted = c.clone();
        assert_eq!(restarted.decrypt(&a, AAD).unwrap(), "ada@example.com", "clones share the keys held");
        assert_eq!(c.decrypt(&a, Aad { row: "o2", ..AAD }), Err(CryptoError::Authentication), "bound to its row");
        assert_eq!(c.reseal(&a, AAD).unwrap(), None, "a rotation leaves data keys alone");
        c.forget(ada.id());
        assert_eq!(restarted.decrypt(&a, AAD), Err(CryptoError::Erased));
        assert_eq!(c.decrypt(&b, AAD).unwrap(), "bob@example.com", "only that customer's data");
        let fresh = FieldCipher::new(MasterKey::generate(), vec![]);
        assert!(matches!(fresh.decrypt(&b, AAD), Err(CryptoError::UnknownKey(_))));
        assert!(!format!("{ada:?}").contains(&format!("{:?}", ada.bytes())), "a data key never prints");
    }

    #[test]
    fn weak_or_malformed_master_keys_are_refused() {
        assert_eq!(MasterKey::from_base64("").unwrap_err(), KeyParseError::Missing);
        assert_eq!(MasterKey::from_base64("c2hvcnQ=").unwrap_err(), KeyParseError::Malformed);
        assert_eq!(MasterKey::from_base64(&STANDARD.encode([7u8; 32])).unwrap_err(), KeyParseError::WellKnown);
        assert_eq!(MasterKey::from_base64(EXAMPLE_KEY).unwrap_err(), KeyParseError::WellKnown);
        let k = MasterKey::generate();
        assert_eq!(MasterKey::from_base64(&k.to_base64()).unwrap().id(), k.id());
    }

    #[test]
    fn api_keys_are_random_and_hashed() {
        let (a, b) = (new_api_key(), new_api_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 46);
        assert_eq!(api_key_hash(&a).len(), 64);
        assert_ne!(api_key_hash(&a), api_key_hash(&b));
    }
}
