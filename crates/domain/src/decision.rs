//! Officers' decisions on a case and the four-eyes rule (REF-2, SEC-3): which decisions need a
//! second officer, and who may be that second officer.

use crate::policy::Action;
use serde::{Deserialize, Serialize};

/// What an officer decides on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Release,
    Refund,
    Freeze,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Release => "release",
            DecisionKind::Refund => "refund",
            DecisionKind::Freeze => "freeze",
        }
    }

    /// Four-eyes: every refund, and a release of funds the policy held or rejected, waits for a
    /// second officer. Freezing, and releasing a deposit sent to review, take effect at once.
    pub fn needs_second_officer(self, case_opened_because: Action) -> bool {
        match self {
            DecisionKind::Refund => true,
            DecisionKind::Release => case_opened_because >= Action::Hold,
            DecisionKind::Freeze => false,
        }
    }
}

/// Who asks to approve a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approver {
    /// A named member of staff (not an API key, not a customer).
    pub is_staff: bool,
    /// Their role has the permission to approve.
    pub may_approve: bool,
    /// They entered their code again within the step-up window.
    pub stepped_up: bool,
}

/// Why an approval is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRefusal {
    /// Not staff, or a role that does not approve.
    NotPermitted,
    /// No fresh step-up.
    StepUpRequired,
    /// The same person who asked for it: four eyes are two people.
    SamePerson,
    /// A decision a key asked for (before keys were kept from four-eyes decisions): one person
    /// alone would decide it.
    NotDecidedByStaff,
}

impl Approver {
    /// Whether this person may approve anything at all: staff, with the permission, freshly
    /// stepped up.
    pub fn check(self) -> Result<(), ApprovalRefusal> {
        if !self.is_staff || !self.may_approve {
            return Err(ApprovalRefusal::NotPermitted);
        }
        if !self.stepped_up {
            return Err(ApprovalRefusal::StepUpRequired);
        }
        Ok(())
    }

    /// Four eyes are two people: an approver who may approve, who is not the one who decided,
    /// approving what a member of staff decided.
    pub fn check_for(self, approver_decided: bool, decided_by_staff: bool) -> Result<(), ApprovalRefusal> {
        self.check()?;
        if approver_decided {
            return Err(ApprovalRefusal::SamePerson);
        }
        if !decided_by_staff {
            return Err(ApprovalRefusal::NotDecidedByStaff);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_2_refunds_and_releases_of_held_or_rejected_funds_need_a_second_officer() {
        for action in [Action::Proceed, Action::Review, Action::Hold, Action::Reject] {
            assert!(DecisionKind::Refund.needs_second_officer(action));
            assert!(!DecisionKind::Freeze.needs_second_officer(action));
            assert_eq!(DecisionKind::Release.needs_second_officer(action), action >= Action::Hold);
        }
    }

    #[test]
    fn sec_3_four_eyes_are_two_people_each_condition_refused_on_its_own() {
        let ok = Approver { is_staff: true, may_approve: true, stepped_up: true };
        assert_eq!(ok.check_for(false, true), Ok(()));
        let cases = [
            (Approver { is_staff: false, ..ok }, false, true, ApprovalRefusal::NotPermitted),
            (Approver { may_approve: false, ..ok }, false, true, ApprovalRefusal::NotPermitted),
            (Approver { stepped_up: false, ..ok }, false, true, ApprovalRefusal::StepUpRequired),
            (ok, true, true, ApprovalRefusal::SamePerson),
            (ok, false, false, ApprovalRefusal::NotDecidedByStaff),
        ];
        for (approver, decided, by_staff, refusal) in cases {
            assert_eq!(approver.check_for(decided, by_staff), Err(refusal), "{approver:?} {decided} {by_staff}");
        }
    }
}
