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
    pub const fn decimals(self) -> u32 {
        match self {
            Asset::Btc => 8,
            Asset::Eth => 18,
            Asset::Trx | Asset::Usdt | Asset::Usdc => 6,
        }
    }

    /// More than this many base units of the asset cannot exist: an amount above it is refused
    /// as input. BTC's supply is fixed at 21 million; the others have no fixed cap, so the limit
    /// is far above what there is (ETH 200 million, about 120 million today; TRX 200 billion,
    /// about 95 billion; USDT and USDC a trillion each, under 200 billion today).
    pub const fn max_supply(self) -> Amount {
        let whole: u128 = match self {
            Asset::Btc => 21_000_000,
            Asset::Eth => 200_000_000,
            Asset::Trx => 200_000_000_000,
            Asset::Usdt | Asset::Usdc => 1_000_000_000_000,
        };
        Amount(whole * 10u128.pow(self.decimals()))
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

/// An amount in base units. Serialised as a decimal string and read only from one: a JSON
/// number is refused (it loses precision in most clients above 2^53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u128);

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a whole number of base units written with digits only, got {0:?}")]
    NotDigits(String),
    #[error("amount is too large")]
    TooLarge,
    #[error("write the amount in {asset} with digits and at most {decimals} after the point, e.g. 0.001")]
    NotWholeUnits { asset: Asset, decimals: u32 },
    #[error("amount must be greater than zero")]
    Zero,
}

/// How a language writes numbers: what separates groups of three digits, and what stands before
/// the fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberStyle {
    pub group: &'static str,
    pub decimal: &'static str,
}

impl NumberStyle {
    /// `3,000.25`
    pub const ENGLISH: NumberStyle = NumberStyle { group: ",", decimal: "." };
    /// `3 000,25`, with a no-break space between the groups.
    pub const RUSSIAN: NumberStyle = NumberStyle { group: "\u{a0}", decimal: "," };
    /// `3000.25`: for machines (payment URIs).
    pub const PLAIN: NumberStyle = NumberStyle { group: "", decimal: "." };
}

impl Amount {
    /// The amount in whole units of `asset` with the asset, as people read it: `1.5 ETH`,
    /// `3,000 USDT` (`3 000 USDT` in Russian). Exact: no floating point, no rounding.
    pub fn in_whole_units(self, asset: Asset, style: NumberStyle) -> String {
        format!("{} {asset}", self.whole_units(asset, style))
    }

    /// The number alone, in whole units of `asset`: `1.5`, `3,000`.
    pub fn whole_units(self, asset: Asset, style: NumberStyle) -> String {
        let d = asset.decimals() as usize;
        let raw = format!("{:0>width$}", self.0, width = d + 1);
        let (int, frac) = raw.split_at(raw.len() - d);
        let mut grouped = String::with_capacity(int.len() + int.len() / 3 * style.group.len());
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push_str(style.group);
            }
            grouped.push(c);
        }
        match frac.trim_end_matches('0') {
            "" => grouped,
            frac => format!("{grouped}{}{frac}", style.decimal),
        }
    }

    pub fn parse(s: &str) -> Result<Self, AmountError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotDigits(s.chars().take(40).collect()));
        }
        s.parse::<u128>().map(Amount).map_err(|_| AmountError::TooLarge)
    }

    /// An amount a person typed in whole units of `asset` ("0.00021", "0,00021", "1"), exact:
    /// no more fraction digits than the asset has, no grouping, no sign.
    pub fn parse_whole_units(s: &str, asset: Asset) -> Result<Self, AmountError> {
        let s = s.trim();
        let d = asset.decimals() as usize;
        let (int, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
        let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) || frac.len() > d {
            return Err(AmountError::NotWholeUnits { asset, decimals: asset.decimals() });
        }
        let raw = format!("{}{frac:0<d$}", if int.is_empty() { "0" } else { int });
        raw.parse::<u128>().map(Amount).map_err(|_| AmountError::TooLarge)
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

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    /// The sum, held at `u128::MAX` rather than wrapping: a total compared with a limit never
    /// comes out smaller than a part of it.
    pub fn saturating_sum(amounts: impl IntoIterator<Item = Amount>) -> Amount {
        Amount(amounts.into_iter().fold(0u128, |total, a| total.saturating_add(a.0)))
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
                f.write_str("a whole number of base units (satoshi, wei, sun) as a string of digits, e.g. \"1000000\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Issue 13, item 10: a sum of amounts never wraps below one of its parts, and is exact
        // whenever it fits.
        #[test]
        fn fix_10_sums_of_amounts_saturate_and_never_wrap(parts in proptest::collection::vec(any::<u128>(), 0..8)) {
            let total = Amount::saturating_sum(parts.iter().copied().map(Amount));
            for p in &parts {
                prop_assert!(total.0 >= *p);
            }
            match parts.iter().try_fold(0u128, |t, p| t.checked_add(*p)) {
                Some(exact) => prop_assert_eq!(total.0, exact),
                None => prop_assert_eq!(total.0, u128::MAX),
            }
        }

        #[test]
        fn fix_10_amounts_are_read_only_from_decimal_strings(n in any::<u64>()) {
            prop_assert!(serde_json::from_str::<Amount>(&n.to_string()).is_err(), "a JSON number");
            prop_assert_eq!(serde_json::from_str::<Amount>(&format!("\"{n}\"")).unwrap(), Amount(u128::from(n)));
        }
    }

    #[test]
    fn fix_10_each_asset_has_a_maximum_supply_in_base_units() {
        assert_eq!(Asset::Btc.max_supply(), Amount(2_100_000_000_000_000));
        assert_eq!(Asset::Eth.max_supply(), Amount(200_000_000 * 10u128.pow(18)));
        for a in Asset::ALL {
            assert!(a.max_supply().0 < u128::MAX / 1_000_000, "{a}: sums of many stay far from overflow");
        }
        for bad in ["1.5", "-1", "1e3", " 1", ""] {
            assert!(serde_json::from_str::<Amount>(&format!("\"{bad}\"")).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
    }

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
    fn amounts_are_decimal_strings_of_whole_base_units() {
        let a: Amount = serde_json::from_str("\"1000000000000000000000\"").unwrap();
        assert_eq!(a.0, 1_000_000_000_000_000_000_000);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"1000000000000000000000\"");
        assert!(serde_json::from_str::<Amount>("125000").is_err(), "a JSON number is refused");
        assert!(serde_json::from_str::<Amount>("1.5").is_err());
        assert!(serde_json::from_str::<Amount>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<Amount>("-3").is_err());
        assert!(serde_json::from_str::<Amount>("\"\"").is_err());
        assert_eq!(Amount::parse_positive("0"), Err(AmountError::Zero));
    }

    #[test]
    fn amounts_read_in_whole_units_in_each_language() {
        let en = NumberStyle::ENGLISH;
        assert_eq!(Amount(1_500_000_000_000_000_000).in_whole_units(Asset::Eth, en), "1.5 ETH");
        assert_eq!(Amount(1).in_whole_units(Asset::Btc, en), "0.00000001 BTC");
        assert_eq!(Amount(25_000_000).in_whole_units(Asset::Btc, en), "0.25 BTC");
        assert_eq!(Amount(3_000_000_000).in_whole_units(Asset::Usdt, en), "3,000 USDT");
        assert_eq!(Amount(1_234_567_890_000).in_whole_units(Asset::Usdc, en), "1,234,567.89 USDC");
        assert_eq!(Amount(999_000_000).in_whole_units(Asset::Usdt, en), "999 USDT");
        let ru = NumberStyle::RUSSIAN;
        assert_eq!(Amount(1_234_567_890_000).in_whole_units(Asset::Usdc, ru), "1\u{a0}234\u{a0}567,89 USDC");
        assert_eq!(Amount(25_000_000).in_whole_units(Asset::Btc, ru), "0,25 BTC");
        assert_eq!(Amount(1_234_567_890_000).whole_units(Asset::Usdc, NumberStyle::PLAIN), "1234567.89");
    }

    #[test]
    fn amounts_typed_in_whole_units_are_read_exactly() {
        let eth = |s| Amount::parse_whole_units(s, Asset::Eth);
        assert_eq!(eth("0.00021"), Ok(Amount(210_000_000_000_000)));
        assert_eq!(eth(" 0,00021 "), Ok(Amount(210_000_000_000_000)), "a decimal comma");
        assert_eq!(eth("1"), Ok(Amount(1_000_000_000_000_000_000)));
        assert_eq!(eth(".5"), Ok(Amount(500_000_000_000_000_000)));
        assert_eq!(Amount::parse_whole_units("0.00000001", Asset::Btc), Ok(Amount(1)));
        for bad in ["", ".", "-1", "1e3", "1,000.5", "0.000000001", "one"] {
            assert!(Amount::parse_whole_units(bad, Asset::Btc).is_err(), "{bad:?}");
        }
        let lossless = Amount(123_456_789);
        let typed = lossless.whole_units(Asset::Usdt, NumberStyle::PLAIN);
        assert_eq!(Amount::parse_whole_units(&typed, Asset::Usdt), Ok(lossless));
    }
}
