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

    /// Whether nothing can happen to the order any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Completed | OrderStatus::Refunded | OrderStatus::Frozen | OrderStatus::Expired)
    }

    /// The one way an order's status changes: the lifecycle's transition table. Anything not
    /// listed is refused, so an illegal transition cannot be written.
    ///
    /// ```text
    /// awaiting_deposit --deposit_detected--> confirming --deposit_confirmed--> screening
    /// awaiting_deposit --deposit_confirmed--> screening;  awaiting_deposit --expired--> expired
    /// screening (and awaiting/confirming) --screened(a)--> accepted | in_review | on_hold | rejected
    /// accepted | in_review | on_hold --screened(a)--> a more severe one of those (a later deposit)
    /// accepted | released --payout_requested--> payout_pending --payout_completed--> completed
    /// payout_pending --payout_blocked--> in_review   (outgoing screening hit)
    /// on_hold_awaiting_customer --customer_answered--> under_review
    /// in_review | under_review --more_information_requested--> on_hold_awaiting_customer
    /// in_review | under_review --released--> released
    /// in_review | under_review | rejected --refund_approved--> refund_pending --refund_sent--> refunded
    /// rejected --customer_answered--> rejected (KYC answered, still refused; decided by an officer)
    /// any non-terminal state --frozen--> frozen
    /// ```
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, IllegalTransition> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::AwaitingDeposit, E::DepositDetected) => Some(S::Confirming),
            (S::AwaitingDeposit | S::Confirming, E::DepositConfirmed) => Some(S::Screening),
            (S::AwaitingDeposit, E::Expired) => Some(S::Expired),
            (S::AwaitingDeposit | S::Confirming | S::Screening, E::Screened(a)) => Some(Self::for_action(a)),
            (current, E::Screened(a)) => match current.screening_severity() {
                Some(severity) if a > severity => Some(Self::for_action(a)),
                Some(_) => Some(current),
                None => None,
            },
            (S::Accepted | S::Released, E::PayoutRequested) => Some(S::PayoutPending),
            (S::PayoutPending, E::PayoutCompleted) => Some(S::Completed),
            (S::PayoutPending, E::PayoutBlocked) => Some(S::InReview),
            (S::OnHoldAwaitingCustomer, E::CustomerAnswered) => Some(S::UnderReview),
            (S::Rejected, E::CustomerAnswered) => Some(S::Rejected),
            (S::InReview | S::UnderReview, E::MoreInformationRequested) => Some(S::OnHoldAwaitingCustomer),
            (S::InReview | S::UnderReview, E::Released) => Some(S::Released),
            (S::InReview | S::UnderReview | S::Rejected, E::RefundApproved) => Some(S::RefundPending),
            (S::RefundPending, E::RefundSent) => Some(S::Refunded),
            (current, E::Frozen) if !current.is_terminal() => Some(S::Frozen),
            _ => None,
        };
        next.ok_or(IllegalTransition { from: self, event })
    }

    /// The order's status after one of its deposits was screened with `action`: before any
    /// decision the decision sets it; after one, a later deposit can only make it more severe.
    /// Orders past screening keep their status (the deposit and its decision are still recorded).
    pub fn after_screening(self, action: Action) -> OrderStatus {
        self.apply(OrderEvent::Screened(action)).unwrap_or(self)
    }

    /// Whether the order still takes deposits.
    pub fn accepts_deposits(self) -> bool {
        !matches!(self, OrderStatus::Expired)
    }
}

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", content = "action", rename_all = "snake_case")]
pub enum OrderEvent {
    /// An unconfirmed deposit was seen.
    DepositDetected,
    /// The deposit has its confirmations; screening starts.
    DepositConfirmed,
    /// The screening decided.
    Screened(Action),
    /// No deposit came in time.
    Expired,
    /// The customer answered the KYC / Source-of-Funds request.
    CustomerAnswered,
    /// An officer asked the customer for more.
    MoreInformationRequested,
    /// An officer released the funds to continue the exchange.
    Released,
    /// The payout was requested (its destination is screened first).
    PayoutRequested,
    /// The payout's destination failed screening.
    PayoutBlocked,
    /// The payout is on chain.
    PayoutCompleted,
    /// A refund was approved (by a second officer).
    RefundApproved,
    /// The refund is on chain.
    RefundSent,
    /// The funds are frozen and reported.
    Frozen,
}

impl OrderEvent {
    /// Every event, with every screening action.
    pub const ALL: [OrderEvent; 16] = [
        OrderEvent::DepositDetected,
        OrderEvent::DepositConfirmed,
        OrderEvent::Screened(Action::Proceed),
        OrderEvent::Screened(Action::Review),
        OrderEvent::Screened(Action::Hold),
        OrderEvent::Screened(Action::Reject),
        OrderEvent::Expired,
        OrderEvent::CustomerAnswered,
        OrderEvent::MoreInformationRequested,
        OrderEvent::Released,
        OrderEvent::PayoutRequested,
        OrderEvent::PayoutBlocked,
        OrderEvent::PayoutCompleted,
        OrderEvent::RefundApproved,
        OrderEvent::RefundSent,
        OrderEvent::Frozen,
    ];
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot take the event {event:?}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
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
mod tests;
