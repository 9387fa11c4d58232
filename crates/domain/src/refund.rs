//! Refund rules (REF-2, REF-3): where a refund may go and how much it is.

use crate::network::Amount;
use crate::policy::CategorySummary;
use crate::request::RequestKind;
use crate::taxonomy::RiskCategory;

/// Categories whose funds are never refunded: they are frozen and reported instead.
pub const NEVER_REFUNDED: [RiskCategory; 4] = [
    RiskCategory::Sanctions,
    RiskCategory::TerrorismFinancing,
    RiskCategory::ChildExploitation,
    RiskCategory::StolenCoins,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundRefused {
    #[error("the funds have {0} exposure: they are never refunded, freeze and report them instead")]
    Tainted(RiskCategory),
    #[error("a refund goes only to an address the deposit came from")]
    NotASource,
    #[error("the network fee ({fee}) is not less than the deposit ({amount})")]
    FeeTooHigh { amount: Amount, fee: Amount },
}

/// The first category found whose funds are never refunded (they are frozen instead).
pub fn never_refunded(categories: &[CategorySummary]) -> Option<RiskCategory> {
    categories.iter().map(|c| c.category).find(|c| NEVER_REFUNDED.contains(c))
}

/// The refund of `deposited` to `to`: checks that `to` is one of the deposit's `sources`, that
/// no category found forbids a refund, and returns the amount, the deposit less only the network
/// fee (no service fee, REF-3).
pub fn refund_amount(
    deposited: Amount,
    network_fee: Amount,
    to: &str,
    sources: &[String],
    categories: &[CategorySummary],
) -> Result<Amount, RefundRefused> {
    if let Some(c) = never_refunded(categories) {
        return Err(RefundRefused::Tainted(c));
    }
    if !sources.iter().any(|s| s == to) {
        return Err(RefundRefused::NotASource);
    }
    deposited
        .checked_sub(network_fee)
        .filter(|a| a.0 > 0)
        .ok_or(RefundRefused::FeeTooHigh { amount: deposited, fee: network_fee })
}

/// REF-2: what the customer must have answered on the case, themselves, before a refund.
pub const ANSWERS_BEFORE_REFUND: [RequestKind; 2] = [RequestKind::Kyc, RequestKind::SourceOfFunds];

/// The first answer REF-2 still waits for, if any; `answered` says whether the customer
/// answered a request of that kind on the case.
pub fn missing_answer(answered: impl Fn(RequestKind) -> bool) -> Option<RequestKind> {
    ANSWERS_BEFORE_REFUND.into_iter().find(|k| !answered(*k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::Exposure;

    fn summary(c: RiskCategory) -> CategorySummary {
        CategorySummary { category: c, exposure: Exposure::FULL, direct: true }
    }

    #[test]
    fn ref_3_the_refund_is_the_deposit_less_only_the_network_fee() {
        let sources = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(refund_amount(Amount(1_000_000), Amount(2_500), "b", &sources, &[]), Ok(Amount(997_500)));
        assert_eq!(
            refund_amount(Amount(1_000), Amount(1_000), "a", &sources, &[]),
            Err(RefundRefused::FeeTooHigh { amount: Amount(1_000), fee: Amount(1_000) })
        );
    }

    #[test]
    fn ref_2_only_to_a_source_address_and_never_tainted_funds() {
        let sources = vec!["a".to_owned()];
        assert_eq!(refund_amount(Amount(10), Amount(1), "elsewhere", &sources, &[]), Err(RefundRefused::NotASource));
        for c in NEVER_REFUNDED {
            assert_eq!(
                refund_amount(Amount(10), Amount(1), "a", &sources, &[summary(c)]),
                Err(RefundRefused::Tainted(c))
            );
        }
        assert!(refund_amount(Amount(10), Amount(1), "a", &sources, &[summary(RiskCategory::Gambling)]).is_ok());
    }

    #[test]
    fn ref_2_a_refund_waits_for_the_customers_kyc_and_source_of_funds() {
        assert_eq!(missing_answer(|_| false), Some(RequestKind::Kyc));
        assert_eq!(missing_answer(|k| k == RequestKind::Kyc), Some(RequestKind::SourceOfFunds));
        assert_eq!(missing_answer(|k| k == RequestKind::Information), Some(RequestKind::Kyc));
        assert_eq!(missing_answer(|k| k != RequestKind::Information), None);
    }
}
