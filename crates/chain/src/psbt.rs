//! Partially signed Bitcoin transactions (BIP 174, version 0) for the operator's signer: the
//! consolidation of deposit outputs into one output to a verified wallet. Each input carries the
//! output it spends (`PSBT_IN_WITNESS_UTXO`) and the key that can sign it
//! (`PSBT_IN_BIP32_DERIVATION`: the public key, the configured key's fingerprint, and the path
//! `0/index` below that key).

use base64::Engine;
use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint};
use bitcoin::psbt::Psbt;
use bitcoin::transaction::{OutPoint, Sequence, Transaction, TxIn, TxOut, Version};
use bitcoin::{absolute::LockTime, Amount, ScriptBuf, Txid, Witness};
use std::str::FromStr;

/// One deposit output to spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The transaction id as shown (big-endian hex).
    pub txid: String,
    pub vout: u32,
    pub value: u64,
    pub script_pubkey: Vec<u8>,
    pub public_key: [u8; 33],
    pub fingerprint: [u8; 4],
    /// The receive index below the configured key (the path is `0/index`).
    pub index: u32,
}

/// Why a consolidation cannot be written as a PSBT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsbtError {
    #[error("nothing to spend")]
    NothingToSpend,
    #[error("not a transaction id: {0}")]
    Txid(String),
    #[error("a deposit's key or path is unusable: {0}")]
    Key(String),
    #[error("the transaction cannot be a PSBT: {0}")]
    Transaction(String),
}

/// The PSBT's bytes: a version 2 transaction, each input replaceable (BIP 125), one output.
pub fn build(inputs: &[Input], output_script: &[u8], output_value: u64) -> Result<Vec<u8>, PsbtError> {
    if inputs.is_empty() {
        return Err(PsbtError::NothingToSpend);
    }
    let input = inputs
        .iter()
        .map(|i| {
            let txid = Txid::from_str(&i.txid).map_err(|_| PsbtError::Txid(i.txid.clone()))?;
            Ok(TxIn {
                previous_output: OutPoint { txid, vout: i.vout },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
        })
        .collect::<Result<Vec<_>, PsbtError>>()?;
    let output = vec![TxOut {
        value: Amount::from_sat(output_value),
        script_pubkey: ScriptBuf::from_bytes(output_script.to_vec()),
    }];
    let tx = Transaction { version: Version::TWO, lock_time: LockTime::ZERO, input, output };
    let mut psbt = Psbt::from_unsigned_tx(tx).map_err(|e| PsbtError::Transaction(e.to_string()))?;
    for (slot, i) in psbt.inputs.iter_mut().zip(inputs) {
        slot.witness_utxo = Some(TxOut {
            value: Amount::from_sat(i.value),
            script_pubkey: ScriptBuf::from_bytes(i.script_pubkey.clone()),
        });
        let key =
            bitcoin::secp256k1::PublicKey::from_slice(&i.public_key).map_err(|e| PsbtError::Key(e.to_string()))?;
        let child = ChildNumber::from_normal_idx(i.index).map_err(|e| PsbtError::Key(e.to_string()))?;
        let path = DerivationPath::from(vec![ChildNumber::from_normal_idx(0).expect("0 is normal"), child]);
        slot.bip32_derivation.insert(key, (Fingerprint::from(i.fingerprint), path));
    }
    Ok(psbt.serialize())
}

pub fn to_base64(psbt: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(psbt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DepositKey;
    use custos_domain::{Address, Network};

    #[test]
    fn addr_2_the_consolidation_psbt_holds_each_input_its_spent_output_and_key_path() {
        let key = DepositKey::parse(Network::Bitcoin, crate::demo::BITCOIN_ZPUB).unwrap();
        let wallet = Address::parse(Network::Bitcoin, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq").unwrap();
        let inputs: Vec<Input> = [(3u32, 250_000u64), (7, 99_000)]
            .iter()
            .enumerate()
            .map(|(n, &(index, value))| Input {
                txid: format!("{:064x}", 0xabc0 + n),
                vout: n as u32,
                value,
                script_pubkey: key.address(index).unwrap().script_pubkey().unwrap(),
                public_key: key.public_key(index).unwrap(),
                fingerprint: key.fingerprint_bytes(),
                index,
            })
            .collect();
        let fee = custos_domain::consolidation::p2wpkh_vsize(2) * 10;
        let bytes = build(&inputs, &wallet.script_pubkey().unwrap(), 349_000 - fee).unwrap();
        let psbt = bitcoin::psbt::Psbt::deserialize(&bytes).expect("a valid PSBT");
        let tx = &psbt.unsigned_tx;
        assert_eq!(tx.input.len(), 2);
        assert_eq!(tx.input[1].previous_output.txid.to_string(), format!("{:064x}", 0xabc1));
        assert_eq!(tx.input[1].previous_output.vout, 1);
        assert_eq!(tx.output.len(), 1);
        assert_eq!(tx.output[0].value.to_sat(), 349_000 - fee);
        assert_eq!(tx.output[0].script_pubkey.as_bytes(), wallet.script_pubkey().unwrap().as_slice());
        for (i, input) in psbt.inputs.iter().enumerate() {
            let utxo = input.witness_utxo.as_ref().expect("the output it spends");
            assert_eq!(utxo.value.to_sat(), inputs[i].value);
            let (pubkey, (fingerprint, path)) = input.bip32_derivation.iter().next().expect("the signing key");
            assert_eq!(pubkey.serialize(), inputs[i].public_key);
            assert_eq!(fingerprint.as_bytes(), &key.fingerprint_bytes());
            assert_eq!(path.to_string(), format!("0/{}", inputs[i].index));
        }
        assert!(to_base64(&bytes).starts_with("cHNidP8"), "base64 of psbt\\xff");
        // A transaction spending two P2WPKH outputs to one: 10.5 + 2 × 68 + 31 vB.
        assert_eq!(custos_domain::consolidation::p2wpkh_vsize(2), 178);
    }
}
