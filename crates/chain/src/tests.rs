//! Derivation against the BIP32, BIP44 and BIP84 vectors of testdata/vectors.

use super::*;
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = format!("{}/../../testdata/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

#[test]
fn addr_1_bip84_bitcoin_receive_addresses_match_the_vectors() {
    let v = vectors("bip84");
    let case = v["TEST_VECT"].as_array().unwrap().iter().find(|c| c["coin"] == "Bip84Coins.BITCOIN").unwrap();
    let key = DepositKey::parse(Network::Bitcoin, case["account"]["ex_pub"].as_str().unwrap()).unwrap();
    for (i, want) in case["addresses"].as_array().unwrap().iter().enumerate() {
        assert_eq!(key.address(i as u32).unwrap().as_str(), want.as_str().unwrap());
    }
    assert_eq!(
        key.address(0).unwrap().as_str(),
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "the official BIP-84 vector"
    );
    // The receive-chain key (depth 4) gives the same addresses.
    let chain = DepositKey::parse(Network::Bitcoin, case["chain_ext"]["ex_pub"].as_str().unwrap()).unwrap();
    assert_eq!(chain.address(3).unwrap(), key.address(3).unwrap());
}

#[test]
fn addr_1_bip44_ethereum_and_tron_receive_addresses_match_the_vectors() {
    let v = vectors("bip44");
    for (coin, network) in [("Bip44Coins.ETHEREUM", Network::Ethereum), ("Bip44Coins.TRON", Network::Tron)] {
        let case = v["TEST_VECT"].as_array().unwrap().iter().find(|c| c["coin"] == coin).unwrap();
        let key = DepositKey::parse(network, case["account"]["ex_pub"].as_str().unwrap()).unwrap();
        for (i, want) in case["addresses"].as_array().unwrap().iter().enumerate() {
            let got = key.address(i as u32).unwrap();
            assert_eq!(got.display(), want.as_str().unwrap(), "{coin} #{i}");
            assert_eq!(Address::parse(network, want.as_str().unwrap()).unwrap(), got);
        }
    }
}

#[test]
fn the_demo_keys_are_the_test_mnemonic_accounts() {
    assert_eq!(
        DepositKey::parse(Network::Bitcoin, demo::BITCOIN_ZPUB).unwrap().address(0).unwrap().as_str(),
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    );
    assert_eq!(
        DepositKey::parse(Network::Ethereum, demo::ETHEREUM_XPUB).unwrap().address(0).unwrap().display(),
        "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    );
    assert_eq!(
        DepositKey::parse(Network::Tron, demo::TRON_XPUB).unwrap().address(0).unwrap().as_str(),
        "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
    );
}

#[test]
fn bip32_public_derivation_vectors() {
    let v = vectors("bip32_secp256k1");
    let case = &v["TEST_VECT_PUBLIC_DER_EX_KEY"];
    let mut key = ExtendedPublicKey::parse(case["ex_pub"].as_str().unwrap()).unwrap();
    for step in case["der_paths"].as_array().unwrap() {
        let index = step["index"].as_u64().unwrap() as u32;
        match step["ex_pub"].as_str() {
            Some(want) => {
                let child = key.derive_child(index).unwrap();
                let want = ExtendedPublicKey::parse(want).unwrap();
                assert_eq!(child.compressed(), want.compressed());
                assert_eq!(child.chain_code_hex(), want.chain_code_hex());
                key = child;
            }
            None => assert_eq!(key.derive_child(index), Err(DeriveError::Hardened(index))),
        }
    }
}

#[test]
fn private_malformed_and_testnet_keys_are_refused_with_a_reason() {
    let v = vectors("bip32_secp256k1");
    for bad in v["TEST_VECT_EX_KEY_ERR"].as_array().unwrap() {
        assert!(ExtendedPublicKey::parse(bad.as_str().unwrap()).is_err(), "{bad}");
    }
    let xprv = v["TEST_VECT_PUBLIC_DER_EX_KEY"]["ex_priv"].as_str().unwrap();
    assert_eq!(ExtendedPublicKey::parse(xprv), Err(KeyError::PrivateKey));
    let master = v["TEST_VECT_PUBLIC_DER_EX_KEY"]["ex_pub"].as_str().unwrap();
    assert_eq!(DepositKey::parse(Network::Bitcoin, master).unwrap_err(), KeyError::WrongDepth(0));
    let tpub = "tpubD6NzVbkrYhZ4XgiXtGrdW5XDAPFCL9h7we1vwNCpn8tGbBcgfVYjXyhWo4E1xkh56hjod1RhGjxbaTLV3X4FyWuejifB9jusQ46QzG87VKp";
    assert_eq!(ExtendedPublicKey::parse(tpub), Err(KeyError::Testnet));
}
