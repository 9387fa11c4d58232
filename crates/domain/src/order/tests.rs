//! The order lifecycle: the transition table, exhaustively, and its safety properties over
//! random event sequences (proptest).

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeSet, VecDeque};

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
        assert_eq!(OrderStatus::Screening.apply(OrderEvent::Screened(action)), Ok(status));
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
    // Past screening, a deposit is recorded but moves nothing.
    assert_eq!(OrderStatus::PayoutPending.after_screening(Action::Reject), OrderStatus::PayoutPending);
}

#[test]
fn terminal_states_refuse_every_event() {
    for s in OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
        for e in OrderEvent::ALL {
            assert_eq!(s.apply(e), Err(IllegalTransition { from: s, event: e }), "{s} {e:?}");
        }
    }
}

#[test]
fn the_transition_table_exhaustively() {
    use OrderEvent as E;
    use OrderStatus as S;
    // Every allowed (state, event) pair, and nothing else.
    let mut allowed = 0;
    for s in S::ALL {
        for e in E::ALL {
            if let Ok(next) = s.apply(e) {
                allowed += 1;
                let expected_ok = match e {
                    E::DepositDetected => s == S::AwaitingDeposit && next == S::Confirming,
                    E::DepositConfirmed => matches!(s, S::AwaitingDeposit | S::Confirming) && next == S::Screening,
                    E::Expired => s == S::AwaitingDeposit && next == S::Expired,
                    E::Screened(_) => next.screening_severity().is_some(),
                    E::CustomerAnswered => {
                        (s == S::OnHoldAwaitingCustomer && next == S::UnderReview)
                            || (s == S::Rejected && next == S::Rejected)
                    }
                    E::MoreInformationRequested => {
                        matches!(s, S::InReview | S::UnderReview) && next == S::OnHoldAwaitingCustomer
                    }
                    E::Released => matches!(s, S::InReview | S::UnderReview) && next == S::Released,
                    E::PayoutRequested => matches!(s, S::Accepted | S::Released) && next == S::PayoutPending,
                    E::PayoutBlocked => s == S::PayoutPending && next == S::InReview,
                    E::PayoutCompleted => s == S::PayoutPending && next == S::Completed,
                    E::RefundApproved => {
                        matches!(s, S::InReview | S::UnderReview | S::Rejected) && next == S::RefundPending
                    }
                    E::RefundSent => s == S::RefundPending && next == S::Refunded,
                    E::Frozen => !s.is_terminal() && next == S::Frozen,
                };
                assert!(expected_ok, "{s} --{e:?}--> {next} is not in the table");
            }
        }
    }
    // 1 + 2 + 1 expiry + 28 screenings + 2 + 1 + 1 payouts + 2 answers + 2 + 2 + 3 + 1 + 11 freezes.
    assert_eq!(allowed, 57, "the number of allowed transitions changed: update the table and this test");
}

#[test]
fn every_state_is_reachable_from_awaiting_deposit() {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([OrderStatus::AwaitingDeposit]);
    while let Some(s) = queue.pop_front() {
        if seen.insert(s.as_str()) {
            queue.extend(OrderEvent::ALL.iter().filter_map(|&e| s.apply(e).ok()));
        }
    }
    assert_eq!(seen.len(), OrderStatus::ALL.len(), "{seen:?}");
}

fn event() -> impl Strategy<Value = OrderEvent> {
    proptest::sample::select(OrderEvent::ALL.to_vec())
}

proptest! {
    /// Whatever happens, in whatever order: illegal events change nothing, a rejected or frozen
    /// order is never paid out, frozen funds are never refunded, terminal states stay, and
    /// completion and refunds only follow their pending states.
    #[test]
    fn lifecycle_safety(events in proptest::collection::vec(event(), 0..40)) {
        let mut state = OrderStatus::AwaitingDeposit;
        let mut trace = vec![state];
        for e in events {
            match state.apply(e) {
                Ok(next) => {
                    if state.is_terminal() {
                        prop_assert!(false, "{state} is terminal but took {e:?}");
                    }
                    if next == OrderStatus::Completed {
                        prop_assert_eq!(state, OrderStatus::PayoutPending);
                    }
                    if next == OrderStatus::Refunded {
                        prop_assert_eq!(state, OrderStatus::RefundPending);
                    }
                    state = next;
                    trace.push(state);
                }
                Err(err) => prop_assert_eq!(err.from, state),
            }
        }
        let after = |s: OrderStatus| trace.iter().skip_while(move |&&t| t != s).skip(1).copied().collect::<Vec<_>>();
        for t in after(OrderStatus::Rejected) {
            prop_assert!(!matches!(t, OrderStatus::Released | OrderStatus::PayoutPending | OrderStatus::Completed),
                "a rejected order was paid out: {:?}", trace);
        }
        for t in after(OrderStatus::Frozen) {
            prop_assert_eq!(t, OrderStatus::Frozen);
        }
    }
}
