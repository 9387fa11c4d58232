//! What a customer is told about an order (issue 15): the next step that matches the order's
//! real state. The words live with the pages (docs/web.md); here is which one applies.
//!
//! Never a word about a report to an authority: funds that are frozen, and rejected funds that
//! will be frozen, read the same neutral "held" whatever the reason behind them.

use crate::order::OrderStatus;

/// The next step a customer reads on an order's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing to say beyond the status.
    None,
    /// Waiting for the payment: send only this asset on this network to the address.
    Pay,
    /// Held, and a request below waits for the customer's answer before its deadline.
    AnswerRequest,
    /// Held, no request yet: the team is reviewing and will say what it needs.
    TeamWillAsk,
    /// Under review; nothing to do now.
    Reviewing,
    /// Rejected, refundable: the refund to the source follows the review; `requests_open` says
    /// whether a request below waits for an answer first.
    RefundAfterReview { requests_open: bool },
    /// The refund is approved and being sent to the address the payment came from.
    RefundOnItsWay,
    /// Frozen, or rejected with funds that are never refunded: held, in neutral words.
    FundsHeld,
}

/// The next step for an order in `status`, with `open_requests` waiting for the customer's
/// answer, whose screened funds are (`never_refunded`) of a kind that is frozen, not refunded.
pub fn next_step(status: OrderStatus, open_requests: bool, never_refunded: bool) -> NextStep {
    use OrderStatus as S;
    match status {
        S::AwaitingDeposit => NextStep::Pay,
        S::OnHoldAwaitingCustomer if open_requests => NextStep::AnswerRequest,
        S::OnHoldAwaitingCustomer => NextStep::TeamWillAsk,
        S::InReview | S::UnderReview => NextStep::Reviewing,
        S::Rejected if never_refunded => NextStep::FundsHeld,
        S::Rejected => NextStep::RefundAfterReview { requests_open: open_requests },
        S::RefundPending => NextStep::RefundOnItsWay,
        S::Frozen => NextStep::FundsHeld,
        S::Confirming | S::Screening | S::Accepted | S::PayoutPending | S::Completed => NextStep::None,
        S::Released | S::Refunded | S::Expired => NextStep::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_order_without_a_request_says_the_team_will_ask() {
        assert_eq!(next_step(OrderStatus::OnHoldAwaitingCustomer, false, false), NextStep::TeamWillAsk);
        assert_eq!(next_step(OrderStatus::OnHoldAwaitingCustomer, true, false), NextStep::AnswerRequest);
    }

    #[test]
    fn rejected_funds_that_are_frozen_are_never_promised_a_refund() {
        for open in [false, true] {
            assert_eq!(next_step(OrderStatus::Rejected, open, true), NextStep::FundsHeld);
            assert_eq!(next_step(OrderStatus::Frozen, open, false), NextStep::FundsHeld);
            assert_eq!(
                next_step(OrderStatus::Rejected, open, false),
                NextStep::RefundAfterReview { requests_open: open }
            );
        }
    }

    #[test]
    fn every_status_has_a_next_step() {
        for s in OrderStatus::ALL {
            let _ = next_step(s, false, false);
        }
        assert_eq!(next_step(OrderStatus::AwaitingDeposit, false, false), NextStep::Pay);
    }
}
