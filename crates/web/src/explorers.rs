//! Links from the back-office to a block explorer, per network, from URL templates the operator
//! configures (`[web.explorers.<network>]`). Public mainnet explorers are the default; an
//! operator on a testnet or with their own explorer points them elsewhere, or turns them off.

use custos_domain::Network;
use std::collections::BTreeMap;

/// The two links an explorer offers: a transaction and an address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Templates {
    /// With `{txid}`, e.g. `https://mempool.space/tx/{txid}`.
    pub tx: Option<String>,
    /// With `{address}`, e.g. `https://mempool.space/address/{address}`.
    pub address: Option<String>,
}

/// The explorers of every network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Explorers {
    by_network: BTreeMap<Network, Templates>,
}

const TXID: &str = "{txid}";
const ADDRESS: &str = "{address}";

impl Explorers {
    /// The public mainnet explorers: mempool.space, Etherscan, Tronscan.
    pub fn public_mainnets() -> Explorers {
        let t = |tx: &str, address: &str| Templates { tx: Some(tx.into()), address: Some(address.into()) };
        Explorers {
            by_network: BTreeMap::from([
                (Network::Bitcoin, t("https://mempool.space/tx/{txid}", "https://mempool.space/address/{address}")),
                (Network::Ethereum, t("https://etherscan.io/tx/{txid}", "https://etherscan.io/address/{address}")),
                (
                    Network::Tron,
                    t("https://tronscan.org/#/transaction/{txid}", "https://tronscan.org/#/address/{address}"),
                ),
            ]),
        }
    }

    /// Sets a network's templates; an empty one turns that link off. Each must be an http(s)
    /// URL that holds its placeholder once.
    pub fn set(&mut self, network: Network, tx: Option<&str>, address: Option<&str>) -> Result<(), String> {
        let check = |name: &str, placeholder: &str, template: Option<&str>| -> Result<Option<Option<String>>, String> {
            match template.map(str::trim) {
                None => Ok(None),
                Some("") => Ok(Some(None)),
                Some(t) if (t.starts_with("https://") || t.starts_with("http://"))
                    && t.matches(placeholder).count() == 1
                    && !t.chars().any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>') =>
                {
                    Ok(Some(Some(t.to_owned())))
                }
                Some(t) => Err(format!(
                    "[web.explorers.{network}] {name} = {t:?}: an http(s) URL with {placeholder} once, or \"\" for no link"
                )),
            }
        };
        let tx = check("tx", TXID, tx)?;
        let address = check("address", ADDRESS, address)?;
        let entry = self.by_network.entry(network).or_default();
        if let Some(tx) = tx {
            entry.tx = tx;
        }
        if let Some(address) = address {
            entry.address = address;
        }
        Ok(())
    }

    /// The explorer's page of a transaction, if one is configured.
    pub fn tx(&self, network: Network, txid: &str) -> Option<String> {
        fill(self.by_network.get(&network)?.tx.as_deref()?, TXID, txid)
    }

    /// The explorer's page of an address, if one is configured.
    pub fn address(&self, network: Network, address: &str) -> Option<String> {
        fill(self.by_network.get(&network)?.address.as_deref()?, ADDRESS, address)
    }
}

/// The template with the value in place; none for a value that is not a plain txid or address
/// (letters and digits only), so nothing stored can shape the link.
fn fill(template: &str, placeholder: &str, value: &str) -> Option<String> {
    let plain = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_alphanumeric());
    plain.then(|| template.replace(placeholder, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXID_HEX: &str = "4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d";

    #[test]
    fn public_explorers_link_transactions_and_addresses_per_network() {
        let e = Explorers::public_mainnets();
        assert_eq!(e.tx(Network::Bitcoin, TXID_HEX).unwrap(), format!("https://mempool.space/tx/{TXID_HEX}"));
        assert_eq!(
            e.address(Network::Ethereum, "0x00000000219ab540356cBB839Cbe05303d7705Fa").unwrap(),
            "https://etherscan.io/address/0x00000000219ab540356cBB839Cbe05303d7705Fa"
        );
        assert!(e.tx(Network::Tron, TXID_HEX).unwrap().starts_with("https://tronscan.org/#/transaction/"));
    }

    #[test]
    fn operators_point_explorers_elsewhere_or_turn_them_off() {
        let mut e = Explorers::public_mainnets();
        e.set(Network::Bitcoin, Some("https://explorer.internal/t/{txid}"), Some("")).unwrap();
        assert_eq!(e.tx(Network::Bitcoin, "ab12").unwrap(), "https://explorer.internal/t/ab12");
        assert_eq!(e.address(Network::Bitcoin, "bc1qxyz"), None, "turned off");
        assert!(e.tx(Network::Ethereum, "ab12").is_some(), "the others keep theirs");
        for bad in ["ftp://x/{txid}", "https://x/tx", "https://x/{txid}/{txid}", "https://x/{txid} \"y\""] {
            assert!(e.set(Network::Tron, Some(bad), None).is_err(), "{bad}");
        }
        assert!(Explorers::default().tx(Network::Bitcoin, "ab").is_none(), "none configured, no link");
    }

    #[test]
    fn only_plain_values_make_a_link() {
        let e = Explorers::public_mainnets();
        for odd in ["", "ab/../cd", "ab?x=1", "ab\"onclick", &"a".repeat(129)] {
            assert_eq!(e.tx(Network::Bitcoin, odd), None, "{odd}");
        }
    }
}
