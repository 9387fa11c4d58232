//! Order statuses and the transitions screening can cause.
//!
//! The full lifecycle (payouts, refunds, releases) is completed by the compliance workflow; here
//! are all the states and the step from "deposit screened" to the decision's status.

use crate::policy::Action;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    AwaitingDeposit,
    Confirming,
    Screening,
    Accepted,
    PayoutPending,
    Completed,
    InReview,
    OnHoldAwaitingCustomer,
    UnderReview,
    Released,
    RefundPending,
    Refunded,
    Frozen,
    Rejected,
    Expired,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 15] = [
        OrderStatus::AwaitingDeposit,
        OrderStatus::Confirming,
        OrderStatus::Screening,
        OrderStatus::Accepted,
        OrderStatus::PayoutPending,
        OrderStatus::Completed,
        OrderStatus::InReview,
        OrderStatus::OnHoldAwaitingCustomer,
        OrderStatus::UnderReview,
        OrderStatus::Released,
        OrderStatus::RefundPending,
        OrderStatus::Refunded,
        OrderStatus::Frozen,
        OrderStatus::Rejected,
        OrderStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingDeposit => "awaiting_deposit",
            OrderStatus::Confirming => "confirming",
            OrderStatus::Screening => "screening",
            OrderStatus::Accepted => "accepted",
            OrderStatus::PayoutPending => "payout_pending",
            OrderStatus::Completed => "completed",
            OrderStatus::InReview => "in_review",
            OrderStatus::OnHoldAwaitingCustomer => "on_hold_awaiting_customer",
            OrderStatus::UnderReview => "under_review",
            OrderStatus::Released => "released",
            OrderStatus::RefundPending => "refund_pending",
            OrderStatus::Refunded => "refunded",
            OrderStatus::Frozen => "frozen",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Expired => "expired",
        }
    }

    /// The status a screening decision sends an order to.
    pub fn for_action(action: Action) -> OrderStatus {
        match action {
            Action::Proceed => OrderStatus::Accepted,
            Action::Review => OrderStatus::InReview,
            Action::Hold => OrderStatus::OnHoldAwaitingCustomer,
            Action::Reject => OrderStatus::Rejected,
        }
    }

    /// How severe a post-screening status is; `None` for states screening does not set.
    fn screening_severity(self) -> Option<Action> {
        match self {
            OrderStatus::Accepted => Some(Action::Proceed),
            OrderStatus::InReview => Some(Action::Review),
            OrderStatus::OnHoldAwaitingCustomer => Some(Action::Hold),
            OrderStatus::Rejected => Some(Action::Reject),
            _ => None,
        }
    }

    /// The order's status after one of its deposits was screened with `action`.
    ///
    /// Before any decision the decision sets the status. After one, a later deposit can only make
    /// it more severe (a clean second deposit does not clear a held first one). Orders already
    /// past screening (in the officer's or payout's hands, or closed) keep their status; the
    /// deposit and its decision are still recorded.
    pub fn after_screening(self, action: Action) -> OrderStatus {
        match self {
            OrderStatus::AwaitingDeposit | OrderStatus::Confirming | OrderStatus::Screening => Self::for_action(action),
            current => match current.screening_severity() {
                Some(severity) if action > severity => Self::for_action(action),
                _ => current,
            },
        }
    }

    /// Whether the order still waits for funds.
    pub fn accepts_deposits(self) -> bool {
        !matches!(self, OrderStatus::Expired)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| format!("unknown order status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 4] = [Action::Proceed, Action::Review, Action::Hold, Action::Reject];

    #[test]
    fn flow_1_a_first_decision_sets_the_status() {
        for (action, status) in ACTIONS.into_iter().zip([
            OrderStatus::Accepted,
            OrderStatus::InReview,
            OrderStatus::OnHoldAwaitingCustomer,
            OrderStatus::Rejected,
        ]) {
            assert_eq!(OrderStatus::AwaitingDeposit.after_screening(action), status);
        }
    }

    #[test]
    fn a_later_deposit_only_makes_the_status_more_severe() {
        assert_eq!(
            OrderStatus::OnHoldAwaitingCustomer.after_screening(Action::Proceed),
            OrderStatus::OnHoldAwaitingCustomer
        );
        assert_eq!(OrderStatus::Accepted.after_screening(Action::Hold), OrderStatus::OnHoldAwaitingCustomer);
        assert_eq!(OrderStatus::InReview.after_screening(Action::Reject), OrderStatus::Rejected);
        assert_eq!(OrderStatus::Rejected.after_screening(Action::Review), OrderStatus::Rejected);
    }

    #[test]
    fn every_status_and_action_has_an_outcome_and_closed_orders_stay_closed() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
            for a in ACTIONS {
                let next = s.after_screening(a);
                if matches!(
                    s,
                    OrderStatus::Completed | OrderStatus::Refunded | OrderStatus::Frozen | OrderStatus::Expired
                ) {
                    assert_eq!(next, s);
                }
            }
        }
    }
}
