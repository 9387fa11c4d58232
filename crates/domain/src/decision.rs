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

/// Why an officer decided as they did: required with every decision, kept encrypted, shown on
/// the case and bound into the audit chain by its digest. A few words at least (10 characters
/// besides white space), so that a reviewer months later reads a reason, not "ok".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rationale(String);

impl Rationale {
    /// The fewest characters, white space aside, a rationale has.
    pub const MIN_CHARS: usize = 10;
    /// The most characters, white space included.
    pub const MAX_CHARS: usize = 2_000;

    /// The officer's text, trimmed; `None` when it has fewer than [`Self::MIN_CHARS`] characters
    /// besides white space or more than [`Self::MAX_CHARS`] in all.
    pub fn parse(text: &str) -> Option<Rationale> {
        let words = text.chars().filter(|c| !c.is_whitespace()).count();
        (words >= Self::MIN_CHARS && text.chars().count() <= Self::MAX_CHARS).then(|| Rationale(text.trim().to_owned()))
    }

    /// [`Self::parse`]'s first rule as a regex (the length is `maxLength`), for the OpenAPI document.
    pub fn pattern() -> String {
        let ws = crate::text::WHITESPACE_CLASS;
        format!("^[{ws}]*(?:[^{ws}][{ws}]*){{{}}}", Self::MIN_CHARS)
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    fn a_rationale_is_a_few_words_at_least_and_trimmed() {
        assert_eq!(Rationale::parse("  ok  "), None);
        assert_eq!(Rationale::parse("o k o k o k o k o"), None, "nine characters besides spaces");
        assert!(Rationale::parse("o k o k o k o k o k").is_some());
        assert_eq!(Rationale::parse("          "), None);
        assert_eq!(Rationale::parse(&"x".repeat(2_001)), None);
        let r = Rationale::parse("  Source of funds documented: salary.  ").unwrap();
        assert_eq!(r.as_str(), "Source of funds documented: salary.");
        assert!(Rationale::parse(&"я".repeat(10)).is_some(), "characters, not bytes");
    }

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
