//! What a wallet reads from the QR code of an order's deposit address: a payment URI with the
//! address, the asset and the amount. BIP21 for Bitcoin, EIP-681 for ether and Ethereum tokens;
//! TRON wallets have no common URI scheme, so they get the plain address.

use crate::address::Address;
use crate::network::{Amount, Asset, Network, NumberStyle};

/// The payment URI for sending `amount` of `asset` to `to`. A token needs its contract on the
/// network (`token_contract`); without one the URI is the plain checksummed address, never a
/// URI that would send ether instead of the token.
pub fn payment_uri(to: &Address, asset: Asset, amount: Amount, token_contract: Option<&Address>) -> String {
    match (to.network(), asset) {
        // BIP21: the amount in whole bitcoins, a plain decimal.
        (Network::Bitcoin, _) => {
            format!("bitcoin:{}?amount={}", to.display(), amount.whole_units(asset, NumberStyle::PLAIN))
        }
        // EIP-681: ether's value in wei.
        (Network::Ethereum, Asset::Eth) => format!("ethereum:{}?value={}", to.display(), amount.0),
        // EIP-681: a call of the token contract's `transfer(address,uint256)`, in base units.
        (Network::Ethereum, _) => match token_contract {
            Some(contract) => {
                format!("ethereum:{}/transfer?address={}&uint256={}", contract.display(), to.display(), amount.0)
            }
            None => to.display(),
        },
        (Network::Tron, _) => to.display(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
    const USDT: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";

    fn at(network: Network, s: &str) -> Address {
        Address::parse(network, s).unwrap()
    }

    #[test]
    fn bitcoin_uses_bip21_with_the_amount_in_bitcoins() {
        let a = at(Network::Bitcoin, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq");
        assert_eq!(
            payment_uri(&a, Asset::Btc, Amount(25_000_000), None),
            "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.25"
        );
    }

    #[test]
    fn ethereum_uses_eip681_checksummed_with_wei_or_a_token_transfer() {
        let a = at(Network::Ethereum, ETH);
        assert_eq!(
            payment_uri(&a, Asset::Eth, Amount(1_500_000_000_000_000_000), None),
            "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed?value=1500000000000000000"
        );
        let usdt = at(Network::Ethereum, USDT);
        assert_eq!(
            payment_uri(&a, Asset::Usdt, Amount(3_000_000_000), Some(&usdt)),
            "ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7/transfer\
             ?address=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed&uint256=3000000000"
        );
        // No contract known: never a URI that would send ether.
        assert_eq!(payment_uri(&a, Asset::Usdt, Amount(1), None), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    }

    #[test]
    fn tron_gets_the_plain_address() {
        let a = at(Network::Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!(payment_uri(&a, Asset::Usdt, Amount(5), None), "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
    }
}
