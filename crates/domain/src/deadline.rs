//! The policy's deadlines (invariant 7) and which one a case runs on.

use crate::policy::Action;
use serde::{Deserialize, Serialize};

/// Policy deadlines, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// SLA-1: the automatic check.
    pub primary_check_ms: i64,
    /// SEC-15: the customer's KYC.
    pub kyc_ms: i64,
    /// SLA-2: the officer's review.
    pub review_ms: i64,
    /// REF-4: the refund after the decision.
    pub refund_ms: i64,
    /// SEC-15: after a missed KYC deadline the customer is restricted; this much later, suspended.
    pub suspend_after_ms: i64,
    /// An order still awaiting its deposit this long after creation expires (none: never).
    /// Its address stays watched; a late deposit is screened and gets a case.
    pub order_expiry_ms: Option<i64>,
}

impl Default for Deadlines {
    fn default() -> Self {
        const H: i64 = 3_600_000;
        Deadlines {
            primary_check_ms: 5 * 60_000,
            kyc_ms: 24 * H,
            review_ms: 48 * H,
            refund_ms: 24 * H,
            suspend_after_ms: 24 * H,
            order_expiry_ms: None,
        }
    }
}

/// What a case waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The customer must complete KYC (SEC-15, 24 h).
    Kyc,
    /// An officer must review (SLA-2, 48 h).
    Review,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Kyc => "kyc",
            DeadlineKind::Review => "review",
        }
    }
}

impl Deadlines {
    /// The deadline of a case a screening opens with `action`: a review is the officer's
    /// (SLA-2); a hold or a rejection waits for the customer's KYC first (SEC-15).
    pub fn for_case(&self, action: Action) -> (DeadlineKind, i64) {
        match action {
            Action::Proceed | Action::Review => (DeadlineKind::Review, self.review_ms),
            Action::Hold | Action::Reject => (DeadlineKind::Kyc, self.kyc_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sla_2_and_sec_15_a_review_case_is_the_officers_and_a_held_one_the_customers() {
        let d = Deadlines::default();
        assert_eq!(d.for_case(Action::Review), (DeadlineKind::Review, 48 * 3_600_000));
        assert_eq!(d.for_case(Action::Hold), (DeadlineKind::Kyc, 24 * 3_600_000));
        assert_eq!(d.for_case(Action::Reject), (DeadlineKind::Kyc, 24 * 3_600_000));
    }
}
