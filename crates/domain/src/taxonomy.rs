//! The normalised risk taxonomy (`shared/vendor-apis/taxonomy.md` §1): the 16 seed categories of
//! policy RISK-3, the elevated and benign ones, and the two fallbacks. Stored as its snake_case
//! name, so adding a value needs no migration.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How much a category matters to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Named by RISK-3: the operation may be refused.
    Seed,
    /// Not in RISK-3 but policy-relevant (review, thresholds).
    Elevated,
    /// Informational.
    Benign,
    /// `unknown` and `unmapped`.
    Fallback,
}

macro_rules! categories {
    ($( $variant:ident = $name:literal, $tier:ident, $title:literal; )*) => {
        /// A normalised risk category.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum RiskCategory { $( $variant, )* }

        impl RiskCategory {
            pub const ALL: &'static [RiskCategory] = &[ $( RiskCategory::$variant, )* ];

            /// The snake_case name used in the API and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $( RiskCategory::$variant => $name, )* }
            }

            pub fn tier(self) -> Tier {
                match self { $( RiskCategory::$variant => Tier::$tier, )* }
            }

            /// The wording a person reads (RISK-3's wording for the seed categories).
            pub fn title(self) -> &'static str {
                match self { $( RiskCategory::$variant => $title, )* }
            }
        }

        impl FromStr for RiskCategory {
            type Err = UnknownCategory;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(RiskCategory::$variant), )*
                    other => Err(UnknownCategory(other.to_owned())),
                }
            }
        }
    };
}

categories! {
    IllegalService = "illegal_service", Seed, "Illegal Service";
    MixingService = "mixing_service", Seed, "Mixing Service";
    FraudulentExchange = "fraudulent_exchange", Seed, "Fraudulent Exchange";
    DarknetMarketplace = "darknet_marketplace", Seed, "Darknet Marketplace";
    DarknetService = "darknet_service", Seed, "Darknet Service";
    Ransom = "ransom", Seed, "Ransom";
    Scam = "scam", Seed, "Scam";
    StolenCoins = "stolen_coins", Seed, "Stolen Coins";
    TerrorismFinancing = "terrorism_financing", Seed, "Terrorism Financing";
    Sanctions = "sanctions", Seed, "Sanctions";
    IllicitActorOrganization = "illicit_actor_organization", Seed, "Illicit Actor / Organization";
    HighRiskJurisdiction = "high_risk_jurisdiction", Seed, "High-Risk Jurisdiction";
    Gambling = "gambling", Seed, "Gambling";
    FraudShop = "fraud_shop", Seed, "Fraud Shop";
    EnforcementAction = "enforcement_action", Seed, "Enforcement Action";
    ChildExploitation = "child_exploitation", Seed, "Child Exploitation";
    HighRiskExchange = "high_risk_exchange", Elevated, "High-risk exchange (no KYC, unlicensed)";
    P2pExchangeUnlicensed = "p2p_exchange_unlicensed", Elevated, "Unlicensed P2P exchange";
    PrivacyProtocol = "privacy_protocol", Elevated, "Privacy protocol";
    Atm = "atm", Elevated, "Crypto ATM";
    Exchange = "exchange", Benign, "Exchange";
    P2pExchange = "p2p_exchange", Benign, "P2P exchange";
    DecentralizedExchange = "decentralized_exchange", Benign, "Decentralized exchange";
    Bridge = "bridge", Benign, "Bridge";
    Defi = "defi", Benign, "DeFi protocol";
    Mining = "mining", Benign, "Mining";
    MerchantServices = "merchant_services", Benign, "Merchant services";
    HostedWallet = "hosted_wallet", Benign, "Hosted wallet";
    PersonalWallet = "personal_wallet", Benign, "Personal wallet";
    Marketplace = "marketplace", Benign, "Marketplace";
    SmartContract = "smart_contract", Benign, "Smart contract";
    Infrastructure = "infrastructure", Benign, "Infrastructure";
    Fees = "fees", Benign, "Fees";
    SeizedFunds = "seized_funds", Benign, "Seized funds";
    InstitutionalPlatform = "institutional_platform", Benign, "Institutional platform";
    UnnamedService = "unnamed_service", Benign, "Unnamed service";
    Other = "other", Benign, "Other";
    Unknown = "unknown", Fallback, "Unknown";
    Unmapped = "unmapped", Fallback, "Unmapped vendor category";
}

impl RiskCategory {
    /// The three categories that stop an operation on any direct exposure, whatever the score,
    /// and that are never refunded (frozen and reported instead).
    pub const STOP: [RiskCategory; 3] =
        [RiskCategory::Sanctions, RiskCategory::TerrorismFinancing, RiskCategory::ChildExploitation];

    pub fn is_seed(self) -> bool {
        self.tier() == Tier::Seed
    }
}

impl fmt::Display for RiskCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown risk category {0:?}")]
pub struct UnknownCategory(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixteen_seed_categories_of_risk_3() {
        let seed: Vec<_> = RiskCategory::ALL.iter().filter(|c| c.is_seed()).map(|c| c.title()).collect();
        assert_eq!(
            seed,
            [
                "Illegal Service",
                "Mixing Service",
                "Fraudulent Exchange",
                "Darknet Marketplace",
                "Darknet Service",
                "Ransom",
                "Scam",
                "Stolen Coins",
                "Terrorism Financing",
                "Sanctions",
                "Illicit Actor / Organization",
                "High-Risk Jurisdiction",
                "Gambling",
                "Fraud Shop",
                "Enforcement Action",
                "Child Exploitation"
            ]
        );
    }

    #[test]
    fn names_match_the_shared_taxonomy_and_round_trip() {
        // A copy of shared/vendor-apis/taxonomy_mapping.json.
        let path = format!("{}/../../testdata/taxonomy_mapping.json", env!("CARGO_MANIFEST_DIR"));
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["categories"].as_array().unwrap().len(), RiskCategory::ALL.len());
        {
            for c in doc["categories"].as_array().unwrap() {
                let name = c["name"].as_str().unwrap();
                let cat: RiskCategory = name.parse().unwrap();
                let tier = match c["tier"].as_str().unwrap() {
                    "seed" => Tier::Seed,
                    "elevated" => Tier::Elevated,
                    "benign" => Tier::Benign,
                    _ => Tier::Fallback,
                };
                assert_eq!(cat.tier(), tier, "{name}");
            }
        }
        for &c in RiskCategory::ALL {
            assert_eq!(c.as_str().parse::<RiskCategory>().unwrap(), c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
