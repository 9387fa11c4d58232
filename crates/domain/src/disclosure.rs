//! Requests of competent authorities for what customers supplied (DISC-1): who asks, on what
//! basis, for what, the life of a request from receipt to production, and who may approve it.
//! Restricted records: only roles with the disclosure permissions see them at all.

use serde::{Deserialize, Serialize};

/// Who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityKind {
    LawEnforcement,
    CourtOrder,
    /// The financial intelligence unit.
    Fiu,
    PaymentSystem,
    CryptoPlatform,
}

impl AuthorityKind {
    pub const ALL: [AuthorityKind; 5] = [
        AuthorityKind::LawEnforcement,
        AuthorityKind::CourtOrder,
        AuthorityKind::Fiu,
        AuthorityKind::PaymentSystem,
        AuthorityKind::CryptoPlatform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityKind::LawEnforcement => "law_enforcement",
            AuthorityKind::CourtOrder => "court_order",
            AuthorityKind::Fiu => "fiu",
            AuthorityKind::PaymentSystem => "payment_system",
            AuthorityKind::CryptoPlatform => "crypto_platform",
        }
    }

    pub fn parse(s: &str) -> Option<AuthorityKind> {
        AuthorityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureState {
    Received,
    /// The requester's identity and authority are being checked.
    Verifying,
    LegalReview,
    Approved,
    PartlyApproved,
    Rejected,
    /// The bundle was handed over.
    Produced,
    Closed,
}

/// A move the life of a request does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an authority request cannot go from {from} to {to}")]
pub struct IllegalMove {
    pub from: &'static str,
    pub to: &'static str,
}

impl DisclosureState {
    pub const ALL: [DisclosureState; 8] = [
        DisclosureState::Received,
        DisclosureState::Verifying,
        DisclosureState::LegalReview,
        DisclosureState::Approved,
        DisclosureState::PartlyApproved,
        DisclosureState::Rejected,
        DisclosureState::Produced,
        DisclosureState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisclosureState::Received => "received",
            DisclosureState::Verifying => "verifying",
            DisclosureState::LegalReview => "legal_review",
            DisclosureState::Approved => "approved",
            DisclosureState::PartlyApproved => "partly_approved",
            DisclosureState::Rejected => "rejected",
            DisclosureState::Produced => "produced",
            DisclosureState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<DisclosureState> {
        DisclosureState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the request is still being worked on (its statutory clock runs).
    pub fn is_open(self) -> bool {
        !matches!(self, DisclosureState::Rejected | DisclosureState::Closed)
    }

    /// The states a request may move to from this one: received → verifying → legal review →
    /// approved, partly approved or rejected → produced → closed; a rejected request closes.
    pub fn next(self) -> &'static [DisclosureState] {
        use DisclosureState::*;
        match self {
            Received => &[Verifying],
            Verifying => &[LegalReview],
            LegalReview => &[Approved, PartlyApproved, Rejected],
            Approved | PartlyApproved => &[Produced],
            Rejected | Produced => &[Closed],
            Closed => &[],
        }
    }

    /// The move to `to`, if the life of a request allows it.
    pub fn move_to(self, to: DisclosureState) -> Result<DisclosureState, IllegalMove> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(IllegalMove { from: self.as_str(), to: to.as_str() })
        }
    }

    /// An approval (whole or in part) takes two approvers.
    pub fn needs_approvers(self) -> bool {
        matches!(self, DisclosureState::Approved | DisclosureState::PartlyApproved)
    }
}

impl std::fmt::Display for DisclosureState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a request may cover of a customer's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// The account: e-mail, language, standing.
    Account,
    /// Orders, deposits and their screenings.
    Transactions,
    /// Verifications and their documents.
    Kyc,
    /// Requests to the customer and the answers.
    Communications,
}

impl DataCategory {
    pub const ALL: [DataCategory; 4] =
        [DataCategory::Account, DataCategory::Transactions, DataCategory::Kyc, DataCategory::Communications];

    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Account => "account",
            DataCategory::Transactions => "transactions",
            DataCategory::Kyc => "kyc",
            DataCategory::Communications => "communications",
        }
    }

    pub fn parse(s: &str) -> Option<DataCategory> {
        DataCategory::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a request covers: customers (by e-mail), addresses, transactions, a period and the
/// categories of data. Kept sealed: it names customers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    pub customers: Vec<String>,
    pub addresses: Vec<String>,
    pub txids: Vec<String>,
    /// From this moment (inclusive), in ms.
    pub from_ms: Option<i64>,
    /// Up to this moment (exclusive), in ms.
    pub to_ms: Option<i64>,
    pub categories: Vec<DataCategory>,
}

/// Why a scope is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("scope: name at least one customer, address or transaction")]
    Empty,
    #[error("scope: choose at least one category of data")]
    NoCategory,
    #[error("scope: the period ends before it starts")]
    Period,
    #[error("scope: {0:?} is not an e-mail address")]
    Email(String),
    #[error("scope: at most {MAX_SCOPE_ITEMS} customers, addresses and transactions each")]
    TooMany,
}

/// The most customers, addresses or transactions one request names.
pub const MAX_SCOPE_ITEMS: usize = 1_000;

impl Scope {
    /// The scope checked: something named, a category, a period that runs forwards.
    pub fn check(&self) -> Result<(), ScopeError> {
        if self.customers.is_empty() && self.addresses.is_empty() && self.txids.is_empty() {
            return Err(ScopeError::Empty);
        }
        if self.categories.is_empty() {
            return Err(ScopeError::NoCategory);
        }
        if [&self.customers, &self.addresses, &self.txids].iter().any(|l| l.len() > MAX_SCOPE_ITEMS) {
            return Err(ScopeError::TooMany);
        }
        if let Some(bad) = self.customers.iter().find(|e| !crate::text::is_email(e)) {
            return Err(ScopeError::Email(bad.chars().take(60).collect()));
        }
        match (self.from_ms, self.to_ms) {
            (Some(from), Some(to)) if to <= from => Err(ScopeError::Period),
            _ => Ok(()),
        }
    }

    /// Whether a moment lies in the scope's period.
    pub fn covers(&self, at_ms: i64) -> bool {
        self.from_ms.is_none_or(|f| at_ms >= f) && self.to_ms.is_none_or(|t| at_ms < t)
    }
}

/// Who asks and on what basis, with the scope: the sealed part of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Details {
    /// The authority's name (a police unit, a court, the FIU, a payment system).
    pub authority: String,
    /// The law or order the request rests on.
    pub legal_basis: String,
    /// The authority's reference of the document.
    pub document_ref: String,
    pub scope: Scope,
}

/// How the requester was verified (a call back to a number from an official directory, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Phone, e-mail, portal, in person, post.
    pub channel: String,
    /// What was checked, in a few words.
    pub method: String,
    /// The member of staff who verified (`staff:<id>`).
    pub verified_by: String,
    pub verified_at_ms: i64,
}

/// Why an approval is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefusal {
    #[error("the member of staff who registered the request cannot approve it")]
    Creator,
    #[error("this member of staff has already approved the request: a second approver is needed")]
    Twice,
    #[error("the requester's identity must be verified and recorded first")]
    Unverified,
    #[error("only a request in legal review can be approved")]
    NotInReview,
    #[error("an approval is in full or in part")]
    NotAnOutcome,
    #[error("the first approver approved it {0}: approve the same, or reject the request")]
    Disagrees(&'static str),
}

/// The approvers a request needs: two different holders of the approve permission, neither
/// the one who registered it.
pub const APPROVERS: usize = 2;

/// A request as its approval sees it.
#[derive(Debug, Clone, Copy)]
pub struct Approval<'a> {
    pub state: DisclosureState,
    pub verified: bool,
    pub creator: &'a str,
    /// Who approved so far, and the outcome the first one chose.
    pub approvers: &'a [String],
    pub pending: Option<DisclosureState>,
}

impl Approval<'_> {
    /// Whether `who` may approve with `outcome` (approved or partly approved); the state the
    /// request then takes when this is the last approval needed.
    pub fn check(&self, who: &str, outcome: DisclosureState) -> Result<Option<DisclosureState>, ApprovalRefusal> {
        if !outcome.needs_approvers() {
            return Err(ApprovalRefusal::NotAnOutcome);
        }
        if self.state != DisclosureState::LegalReview {
            return Err(ApprovalRefusal::NotInReview);
        }
        if !self.verified {
            return Err(ApprovalRefusal::Unverified);
        }
        if who == self.creator {
            return Err(ApprovalRefusal::Creator);
        }
        if self.approvers.iter().any(|a| a == who) {
            return Err(ApprovalRefusal::Twice);
        }
        if let Some(p) = self.pending.filter(|p| *p != outcome) {
            return Err(ApprovalRefusal::Disagrees(if p == DisclosureState::Approved { "in full" } else { "in part" }));
        }
        Ok((self.approvers.len() + 1 >= APPROVERS).then_some(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisclosureState::*;

    #[test]
    fn disc_1_a_request_moves_only_along_its_life() {
        let path = [Received, Verifying, LegalReview, PartlyApproved, Produced, Closed];
        for w in path.windows(2) {
            assert_eq!(w[0].move_to(w[1]), Ok(w[1]));
        }
        assert_eq!(LegalReview.move_to(Rejected).and_then(|s| s.move_to(Closed)), Ok(Closed));
        for (from, to) in [(Received, Approved), (Verifying, Produced), (Rejected, Produced), (Closed, Received)] {
            let e = from.move_to(to).unwrap_err();
            assert_eq!((e.from, e.to), (from.as_str(), to.as_str()));
        }
        for s in DisclosureState::ALL {
            assert_eq!(DisclosureState::parse(s.as_str()), Some(s));
            assert!(!s.next().contains(&s), "{s} never moves to itself");
        }
    }

    #[test]
    fn disc_1_a_scope_names_something_a_category_and_a_forward_period() {
        let mut s = Scope { customers: vec!["a@example.com".into()], ..Scope::default() };
        assert_eq!(s.check(), Err(ScopeError::NoCategory));
        s.categories = vec![DataCategory::Transactions];
        assert_eq!(s.check(), Ok(()));
        s.from_ms = Some(10);
        s.to_ms = Some(10);
        assert_eq!(s.check(), Err(ScopeError::Period));
        s.to_ms = Some(20);
        assert!(s.covers(10) && s.covers(19) && !s.covers(20) && !s.covers(9));
        s.customers = vec!["not-an-address".into()];
        assert!(matches!(s.check(), Err(ScopeError::Email(_))));
        assert_eq!(Scope { categories: vec![DataCategory::Kyc], ..Scope::default() }.check(), Err(ScopeError::Empty));
    }

    #[test]
    fn disc_1_two_approvers_neither_the_creator() {
        let none: Vec<String> = vec![];
        let a = Approval { state: LegalReview, verified: true, creator: "staff:a", approvers: &none, pending: None };
        assert_eq!(a.check("staff:a", Approved), Err(ApprovalRefusal::Creator));
        assert_eq!(a.check("staff:b", Produced), Err(ApprovalRefusal::NotAnOutcome));
        assert_eq!(Approval { verified: false, ..a }.check("staff:b", Approved), Err(ApprovalRefusal::Unverified));
        assert_eq!(Approval { state: Verifying, ..a }.check("staff:b", Approved), Err(ApprovalRefusal::NotInReview));
        assert_eq!(a.check("staff:b", PartlyApproved), Ok(None), "one of two");
        let one = vec!["staff:b".to_owned()];
        let b = Approval { approvers: &one, pending: Some(PartlyApproved), ..a };
        assert_eq!(b.check("staff:b", PartlyApproved), Err(ApprovalRefusal::Twice));
        assert_eq!(b.check("staff:c", Approved), Err(ApprovalRefusal::Disagrees("in part")));
        assert_eq!(b.check("staff:c", PartlyApproved), Ok(Some(PartlyApproved)), "the second decides");
    }
}
