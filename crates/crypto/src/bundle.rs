//! Disclosure bundles: BagIt bags (RFC 8493) whose tag manifest is signed with Ed25519, built and
//! checked in memory (no files here: the callers write or read them).
//!
//! A bag holds `bagit.txt`, the payload under `data/`, `manifest-sha256.txt` (every payload file's
//! SHA-256), `bag-info.txt` (with `Payload-Oxum`), `tagmanifest-sha256.txt` (the SHA-256 of those
//! three) and `tagmanifest-sha256.txt.sig`: the Ed25519 signature over the tag manifest's bytes
//! and the public key, in hex. Changing any byte of any file breaks a hash or the signature.

pub use ed25519_dalek::SigningKey;
use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use std::collections::BTreeMap;

/// One file of a bag: its path inside the bag (`/`-separated) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Why a bag does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BagError {
    #[error("{0} is missing")]
    Missing(String),
    #[error("{0} does not match its manifest")]
    Altered(String),
    #[error("{0} is in the bag but in no manifest")]
    Unlisted(String),
    #[error("{0} is listed but not in the bag")]
    Gone(String),
    #[error("Payload-Oxum says {said}, the payload is {is}")]
    Oxum { said: String, is: String },
    #[error("the signature is malformed")]
    BadSignatureFile,
    #[error("the signature does not verify: the tag manifest was changed or signed by another key")]
    Signature,
    #[error("signed by key {found}, not by the expected {expected}")]
    WrongKey { found: String, expected: String },
}

const SIGNATURE_FILE: &str = "tagmanifest-sha256.txt.sig";

fn sha256_hex(bytes: &[u8]) -> String {
    crate::sha256_hex(bytes)
}

/// A manifest's lines (`<sha256>  <path>`), sorted by path.
fn manifest<'a>(files: impl Iterator<Item = &'a BagFile>) -> String {
    let mut lines: Vec<(String, String)> = files.map(|f| (f.path.clone(), sha256_hex(&f.bytes))).collect();
    lines.sort();
    lines.into_iter().map(|(path, hash)| format!("{hash}  {path}\n")).collect()
}

/// The Ed25519 key a master key signs bundles with, derived from it (never stored).
pub fn signing_key(seed: [u8; 32]) -> SigningKey {
    SigningKey::from_bytes(&seed)
}

/// The public key of `key`, in hex: what the receiver checks the bundle against.
pub fn public_key_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// A bag of `payload` (paths relative to `data/`) with `info` in `bag-info.txt`, signed with
/// `key`. Returns every file of the bag and the SHA-256 of its tag manifest, which names the bag.
pub fn make_bag(payload: Vec<BagFile>, info: &[(&str, String)], key: &SigningKey) -> (Vec<BagFile>, String) {
    let payload: Vec<BagFile> =
        payload.into_iter().map(|f| BagFile { path: format!("data/{}", f.path), bytes: f.bytes }).collect();
    let octets: usize = payload.iter().map(|f| f.bytes.len()).sum();
    let mut bag_info: String = info.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
    bag_info.push_str(&format!("Payload-Oxum: {octets}.{}\n", payload.len()));
    let tags = vec![
        BagFile {
            path: "bagit.txt".into(),
            bytes: b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".to_vec(),
        },
        BagFile { path: "bag-info.txt".into(), bytes: bag_info.into_bytes() },
        BagFile { path: "manifest-sha256.txt".into(), bytes: manifest(payload.iter()).into_bytes() },
    ];
    let tag_manifest = manifest(tags.iter()).into_bytes();
    let signature = key.sign(&tag_manifest);
    let sig = format!("Public-Key: {}\nSignature: {}\n", public_key_hex(key), hex::encode(signature.to_bytes()));
    let name = sha256_hex(&tag_manifest);
    let mut files = tags;
    files.push(BagFile { path: "tagmanifest-sha256.txt".into(), bytes: tag_manifest });
    files.push(BagFile { path: SIGNATURE_FILE.into(), bytes: sig.into_bytes() });
    files.extend(payload);
    (files, name)
}

/// What a verified bag says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signer's public key, in hex.
    pub public_key: String,
    /// The SHA-256 of the tag manifest.
    pub name: String,
    pub payload_files: usize,
    /// `bag-info.txt`'s fields.
    pub info: BTreeMap<String, String>,
}

/// Checks a bag: every payload file against the manifest and none unlisted, the tag files against
/// the tag manifest, the Payload-Oxum, and the signature — by `expected` (hex) when given, else
/// by the key the bag names (which the caller must then compare with one it trusts).
pub fn verify_bag(files: &[BagFile], expected: Option<&str>) -> Result<Verified, BagError> {
    let by_path: BTreeMap<&str, &[u8]> = files.iter().map(|f| (f.path.as_str(), f.bytes.as_slice())).collect();
    let get = |p: &str| by_path.get(p).copied().ok_or_else(|| BagError::Missing(p.to_owned()));
    get("bagit.txt")?;
    let check = |manifest_name: &str| -> Result<Vec<String>, BagError> {
        let text = String::from_utf8_lossy(get(manifest_name)?).into_owned();
        let mut listed = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (hash, path) =
                line.split_once(char::is_whitespace).ok_or_else(|| BagError::Altered(manifest_name.into()))?;
            let path = path.trim();
            let bytes = by_path.get(path).ok_or_else(|| BagError::Gone(path.to_owned()))?;
            if sha256_hex(bytes) != hash.to_ascii_lowercase() {
                return Err(BagError::Altered(path.to_owned()));
            }
            listed.push(path.to_owned());
        }
        Ok(listed)
    };
    let payload = check("manifest-sha256.txt")?;
    if let Some(extra) = files.iter().find(|f| f.path.starts_with("data/") && !payload.contains(&f.path)) {
        return Err(BagError::Unlisted(extra.path.clone()));
    }
    check("tagmanifest-sha256.txt")?;
    let info: BTreeMap<String, String> = String::from_utf8_lossy(get("bag-info.txt")?)
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let octets: usize = payload.iter().filter_map(|p| by_path.get(p.as_str())).map(|b| b.len()).sum();
    let is = format!("{octets}.{}", payload.len());
    match info.get("Payload-Oxum") {
        Some(said) if *said == is => {}
        said => return Err(BagError::Oxum { said: said.cloned().unwrap_or_default(), is }),
    }
    // The signature over the tag manifest.
    let sig_text = String::from_utf8_lossy(get(SIGNATURE_FILE)?).into_owned();
    let field = |name: &str| {
        sig_text
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .ok_or(BagError::BadSignatureFile)
    };
    let (public_key, signature) = (field("Public-Key:")?, field("Signature:")?);
    if let Some(expected) = expected.filter(|e| !e.eq_ignore_ascii_case(&public_key)) {
        return Err(BagError::WrongKey { found: public_key, expected: expected.to_owned() });
    }
    let key_bytes: [u8; 32] =
        hex::decode(&public_key).ok().and_then(|b| b.try_into().ok()).ok_or(BagError::BadSignatureFile)?;
    let sig_bytes: [u8; 64] =
        hex::decode(&signature).ok().and_then(|b| b.try_into().ok()).ok_or(BagError::BadSignatureFile)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| BagError::BadSignatureFile)?;
    let tag_manifest = get("tagmanifest-sha256.txt")?;
    key.verify(tag_manifest, &Signature::from_bytes(&sig_bytes)).map_err(|_| BagError::Signature)?;
    Ok(Verified { public_key, name: sha256_hex(tag_manifest), payload_files: payload.len(), info })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag() -> (Vec<BagFile>, String, SigningKey) {
        let key = signing_key([7; 32]);
        let payload = vec![
            BagFile { path: "records.json".into(), bytes: b"{\"customers\": []}".to_vec() },
            BagFile { path: "orders.csv".into(), bytes: b"number\n100001\n".to_vec() },
        ];
        let (files, name) = make_bag(payload, &[("External-Identifier", "request-1".into())], &key);
        (files, name, key)
    }

    #[test]
    fn disc_1_a_bag_verifies_and_names_itself() {
        let (files, name, key) = bag();
        let v = verify_bag(&files, Some(&public_key_hex(&key))).unwrap();
        assert_eq!((v.name.as_str(), v.payload_files), (name.as_str(), 2));
        assert_eq!(v.info["External-Identifier"], "request-1");
        assert_eq!(v.info["Payload-Oxum"], "31.2");
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"bagit.txt") && paths.contains(&"data/records.json"), "{paths:?}");
    }

    #[test]
    fn disc_1_one_flipped_byte_anywhere_fails() {
        let (files, _, key) = bag();
        let expected = public_key_hex(&key);
        for i in 0..files.len() {
            let mut altered = files.clone();
            let at = altered[i].bytes.len() / 2;
            altered[i].bytes[at] ^= 0x01;
            assert!(verify_bag(&altered, Some(&expected)).is_err(), "{} changed, still verifies", files[i].path);
        }
        let mut extra = files.clone();
        extra.push(BagFile { path: "data/smuggled.txt".into(), bytes: b"x".to_vec() });
        assert_eq!(verify_bag(&extra, None), Err(BagError::Unlisted("data/smuggled.txt".into())));
        let other = public_key_hex(&signing_key([8; 32]));
        assert!(matches!(verify_bag(&files, Some(&other)), Err(BagError::WrongKey { .. })));
    }
}
