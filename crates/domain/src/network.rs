//! Networks and assets Custos handles, and amounts in base units.
//!
//! Money is integers (invariant 3): an [`Amount`] is a count of base units (satoshi, wei, sun),
//! serialised as a decimal string so that no JSON reader turns it into a float.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A blockchain network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    Bitcoin,
    Ethereum,
    Tron,
}

impl Network {
    pub const ALL: [Network; 3] = [Network::Bitcoin, Network::Ethereum, Network::Tron];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Bitcoin => "bitcoin",
            Network::Ethereum => "ethereum",
            Network::Tron => "tron",
        }
    }

    /// The name a person reads ("Bitcoin").
    pub fn display_name(self) -> &'static str {
        match self {
            Network::Bitcoin => "Bitcoin",
            Network::Ethereum => "Ethereum",
            Network::Tron => "TRON",
        }
    }

    /// The asset that pays this network's fees.
    pub fn native_asset(self) -> Asset {
        match self {
            Network::Bitcoin => Asset::Btc,
            Network::Ethereum => Asset::Eth,
            Network::Tron => Asset::Trx,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The network string is not one Custos knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: expected one of bitcoin, ethereum, tron")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bitcoin" => Ok(Network::Bitcoin),
            "ethereum" => Ok(Network::Ethereum),
            "tron" => Ok(Network::Tron),
            other => Err(UnknownNetwork(other.to_owned())),
        }
    }
}

/// An asset (coin or token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Asset {
    #[serde(rename = "BTC")]
    Btc,
    #[serde(rename = "ETH")]
    Eth,
    #[serde(rename = "TRX")]
    Trx,
    #[serde(rename = "USDT")]
    Usdt,
    #[serde(rename = "USDC")]
    Usdc,
}

impl Asset {
    pub const ALL: [Asset; 5] = [Asset::Btc, Asset::Eth, Asset::Trx, Asset::Usdt, Asset::Usdc];

    pub fn as_str(self) -> &'static str {
        match self {
            Asset::Btc => "BTC",
            Asset::Eth => "ETH",
            Asset::Trx => "TRX",
            Asset::Usdt => "USDT",
            Asset::Usdc => "USDC",
        }
    }

    /// Number of decimals of one whole unit, in base units.
    pub fn decimals(self) -> u32 {
        match self {
            Asset::Btc => 8,
            Asset::Eth => 18,
            Asset::Trx | Asset::Usdt | Asset::Usdc => 6,
        }
    }

    /// Whether this asset can move on `network` (USDT and USDC as ERC-20 and TRC-20 tokens).
    pub fn is_on(self, network: Network) -> bool {
        matches!(
            (self, network),
            (Asset::Btc, Network::Bitcoin)
                | (Asset::Eth, Network::Ethereum)
                | (Asset::Trx, Network::Tron)
                | (Asset::Usdt | Asset::Usdc, Network::Ethereum | Network::Tron)
        )
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The asset string is not one Custos knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown asset {0:?}: expected one of BTC, ETH, TRX, USDT, USDC")]
pub struct UnknownAsset(pub String);

impl FromStr for Asset {
    type Err = UnknownAsset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "BTC" => Ok(Asset::Btc),
            "ETH" => Ok(Asset::Eth),
            "TRX" => Ok(Asset::Trx),
            "USDT" => Ok(Asset::Usdt),
            "USDC" => Ok(Asset::Usdc),
            other => Err(UnknownAsset(other.to_owned())),
        }
    }
}

/// An amount in base units. Serialised as a decimal string; read from a string of digits or a
/// JSON integer, never from a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u128);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a whole number of base units written with digits only, got {0:?}")]
    NotDigits(String),
    #[error("amount is too large")]
    TooLarge,
    #[error("amount must be greater than zero")]
    Zero,
}

impl Amount {
    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotDigits(s.chars().take(40).collect()));
        }
        s.parse::<u128>().map(Amount).map_err(|_| AmountError::TooLarge)
    }

    /// Like [`Amount::parse`], and refuses zero.
    pub fn parse_positive(s: &str) -> Result<Self, AmountError> {
        let a = Self::parse(s)?;
        if a.0 == 0 {
            return Err(AmountError::Zero);
        }
        Ok(a)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number of base units, as a string of digits or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(v as u128))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                u128::try_from(v).map(Amount).map_err(|_| E::custom("amount must not be negative"))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Amount, E> {
                Err(E::custom("amount must be an integer number of base units (satoshi, wei, sun), not a decimal"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_assets_round_trip_through_their_names() {
        for n in Network::ALL {
            assert_eq!(n.as_str().parse::<Network>().unwrap(), n);
        }
        for a in Asset::ALL {
            assert_eq!(a.as_str().parse::<Asset>().unwrap(), a);
        }
        assert!("litecoin".parse::<Network>().is_err());
        assert!("btc".parse::<Asset>().is_err());
    }

    #[test]
    fn tokens_live_on_ethereum_and_tron_only() {
        assert!(Asset::Usdt.is_on(Network::Tron));
        assert!(Asset::Usdc.is_on(Network::Ethereum));
        assert!(!Asset::Usdt.is_on(Network::Bitcoin));
        assert!(!Asset::Btc.is_on(Network::Ethereum));
        assert!(Asset::Trx.is_on(Network::Tron));
    }

    #[test]
    fn amounts_are_integers_never_floats() {
        let a: Amount = serde_json::from_str("\"1000000000000000000000\"").unwrap();
        assert_eq!(a.0, 1_000_000_000_000_000_000_000);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"1000000000000000000000\"");
        let b: Amount = serde_json::from_str("125000").unwrap();
        assert_eq!(b.0, 125_000);
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
        assert!(serde_json::from_str::<Amount>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<Amount>("-3").is_err());
        assert!(serde_json::from_str::<Amount>("\"\"").is_err());
        assert_eq!(Amount::parse_positive("0"), Err(AmountError::Zero));
    }
}
