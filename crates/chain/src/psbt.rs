//! Partially signed Bitcoin transactions (BIP 174, version 0) for the operator's signer: the
//! consolidation of deposit outputs into one output to a verified wallet. Each input carries the
//! output it spends (`PSBT_IN_WITNESS_UTXO`) and the key that can sign it
//! (`PSBT_IN_BIP32_DERIVATION`: the public key, the configured key's fingerprint, and the path
//! `0/index` below that key).

use base64::Engine;

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

fn compact_size(out: &mut Vec<u8>, n: usize) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
}

fn with_len(out: &mut Vec<u8>, bytes: &[u8]) {
    compact_size(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn txid_bytes(txid: &str) -> Result<[u8; 32], String> {
    if txid.len() != 64 {
        return Err(format!("not a transaction id: {txid}"));
    }
    let mut b = [0u8; 32];
    for (i, x) in b.iter_mut().enumerate() {
        *x = u8::from_str_radix(&txid[i * 2..i * 2 + 2], 16).map_err(|_| format!("not a transaction id: {txid}"))?;
    }
    b.reverse();
    Ok(b)
}

fn tx_out(value: u64, script: &[u8]) -> Vec<u8> {
    let mut out = value.to_le_bytes().to_vec();
    with_len(&mut out, script);
    out
}

/// The unsigned transaction (no witnesses, empty scripts), as BIP 174 wants it.
fn unsigned_tx(inputs: &[Input], output_script: &[u8], output_value: u64) -> Result<Vec<u8>, String> {
    let mut tx = 2u32.to_le_bytes().to_vec();
    compact_size(&mut tx, inputs.len());
    for i in inputs {
        tx.extend_from_slice(&txid_bytes(&i.txid)?);
        tx.extend_from_slice(&i.vout.to_le_bytes());
        tx.push(0); // empty scriptSig
        tx.extend_from_slice(&0xffff_fffdu32.to_le_bytes()); // replaceable (BIP 125)
    }
    compact_size(&mut tx, 1);
    tx.extend(tx_out(output_value, output_script));
    tx.extend_from_slice(&0u32.to_le_bytes());
    Ok(tx)
}

fn pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    with_len(out, key);
    with_len(out, value);
}

/// The PSBT's bytes.
pub fn build(inputs: &[Input], output_script: &[u8], output_value: u64) -> Result<Vec<u8>, String> {
    if inputs.is_empty() {
        return Err("nothing to spend".into());
    }
    let mut out = b"psbt\xff".to_vec();
    pair(&mut out, &[0x00], &unsigned_tx(inputs, output_script, output_value)?);
    out.push(0x00);
    for i in inputs {
        pair(&mut out, &[0x01], &tx_out(i.value, &i.script_pubkey));
        let mut key = vec![0x06];
        key.extend_from_slice(&i.public_key);
        let mut origin = i.fingerprint.to_vec();
        origin.extend_from_slice(&0u32.to_le_bytes());
        origin.extend_from_slice(&i.index.to_le_bytes());
        pair(&mut out, &key, &origin);
        out.push(0x00);
    }
    out.push(0x00); // the one output's (empty) map
    Ok(out)
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
    fn addr_2_an_independent_bip174_reader_reads_the_consolidation_psbt() {
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
