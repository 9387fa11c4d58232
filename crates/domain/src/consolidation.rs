//! Consolidation (ADDR-2, ADDR-5): which deposits may move from their deposit addresses to the
//! service's verified wallets. Only cleared funds move; an address that also holds funds under
//! review, held, frozen or refused is left whole, so tainted funds never mix with clean ones.

use crate::order::OrderStatus;

/// A deposit not swept yet, with what decides whether it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepCandidate {
    pub order_status: OrderStatus,
    /// Its block left the chain.
    pub reverted: bool,
    /// Cases about it still open.
    pub open_cases: u32,
}

/// Why a deposit may not be swept now; `None` when it may.
pub fn sweep_blocker(c: &SweepCandidate) -> Option<&'static str> {
    if c.reverted {
        return Some("its transaction left the chain");
    }
    if c.open_cases > 0 {
        return Some("a case about it is open");
    }
    match c.order_status {
        OrderStatus::Accepted | OrderStatus::Released | OrderStatus::PayoutPending | OrderStatus::Completed => None,
        OrderStatus::Frozen => Some("the funds are frozen"),
        OrderStatus::Rejected | OrderStatus::RefundPending | OrderStatus::Refunded => {
            Some("the funds were refused and go back to their source")
        }
        OrderStatus::OnHoldAwaitingCustomer | OrderStatus::UnderReview | OrderStatus::InReview => {
            Some("the order is held or under review")
        }
        OrderStatus::AwaitingDeposit | OrderStatus::Confirming | OrderStatus::Screening => {
            Some("the deposit is not cleared yet")
        }
        OrderStatus::Expired => Some("the order expired; an officer decides about late funds"),
    }
}

/// The virtual size of a transaction spending `inputs` P2WPKH outputs to one P2WPKH output:
/// 10.5 vB of header, 68 vB per input, 31 vB for the output (rounded up).
pub fn p2wpkh_vsize(inputs: usize) -> u64 {
    (42 + 272 * inputs as u64 + 124).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: OrderStatus) -> SweepCandidate {
        SweepCandidate { order_status: status, reverted: false, open_cases: 0 }
    }

    #[test]
    fn addr_5_only_cleared_funds_are_swept() {
        for ok in [OrderStatus::Accepted, OrderStatus::Released, OrderStatus::PayoutPending, OrderStatus::Completed] {
            assert_eq!(sweep_blocker(&c(ok)), None, "{ok:?}");
        }
        for blocked in OrderStatus::ALL.into_iter().filter(|s| {
            !matches!(
                s,
                OrderStatus::Accepted | OrderStatus::Released | OrderStatus::PayoutPending | OrderStatus::Completed
            )
        }) {
            assert!(sweep_blocker(&c(blocked)).is_some(), "{blocked:?}");
        }
        assert!(sweep_blocker(&SweepCandidate { open_cases: 1, ..c(OrderStatus::Accepted) }).is_some());
        assert!(sweep_blocker(&SweepCandidate { reverted: true, ..c(OrderStatus::Completed) }).is_some());
    }
}
