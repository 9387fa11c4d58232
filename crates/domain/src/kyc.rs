//! Verifying customers (KYC-1..KYC-4, SEC-13..SEC-16): the levels an officer can request, the
//! rules a submission must meet, the verification states and how a provider's verdict maps onto
//! them, and bank cards kept as no more than the law allows.

use serde::{Deserialize, Serialize};
use std::fmt;

/// KYC-1: the identity documents accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityDocument {
    NationalPassport,
    InternationalPassport,
    IdCard,
}

/// KYC-3: the proofs of address accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressDocument {
    BankStatement,
    UtilityBill,
    TaxDocument,
    GovernmentDocument,
}

impl IdentityDocument {
    pub const ALL: [IdentityDocument; 3] =
        [IdentityDocument::NationalPassport, IdentityDocument::InternationalPassport, IdentityDocument::IdCard];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityDocument::NationalPassport => "national_passport",
            IdentityDocument::InternationalPassport => "international_passport",
            IdentityDocument::IdCard => "id_card",
        }
    }
}

impl AddressDocument {
    pub const ALL: [AddressDocument; 4] = [
        AddressDocument::BankStatement,
        AddressDocument::UtilityBill,
        AddressDocument::TaxDocument,
        AddressDocument::GovernmentDocument,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AddressDocument::BankStatement => "bank_statement",
            AddressDocument::UtilityBill => "utility_bill",
            AddressDocument::TaxDocument => "tax_document",
            AddressDocument::GovernmentDocument => "government_document",
        }
    }
}

/// One thing a customer provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// KYC-1: one of [`IdentityDocument`].
    Identity,
    /// KYC-2: a selfie holding the document and an A4 sheet with the date, the order number and
    /// the site name.
    Selfie,
    /// KYC-3: one of [`AddressDocument`], issued at most three months before submission.
    ProofOfAddress,
    /// KYC-4: the bank card paying for the exchange.
    BankCard,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Identity, Step::Selfie, Step::ProofOfAddress, Step::BankCard];

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Identity => "identity",
            Step::Selfie => "selfie",
            Step::ProofOfAddress => "proof_of_address",
            Step::BankCard => "bank_card",
        }
    }

    /// The kinds of document this step accepts, one of which the customer names (KYC-1,
    /// KYC-3); empty when there is only one kind.
    pub fn document_kinds(self) -> Vec<&'static str> {
        match self {
            Step::Identity => IdentityDocument::ALL.iter().map(|d| d.as_str()).collect(),
            Step::ProofOfAddress => AddressDocument::ALL.iter().map(|d| d.as_str()).collect(),
            Step::Selfie | Step::BankCard => Vec::new(),
        }
    }

    /// Checks the kind a customer named for a document of this step.
    pub fn check_document_kind(self, kind: Option<&str>) -> Result<Option<&'static str>, DocumentKindError> {
        let kinds = self.document_kinds();
        match kind.map(str::trim).filter(|k| !k.is_empty()) {
            None if kinds.is_empty() => Ok(None),
            None => Err(DocumentKindError::Missing { accepted: kinds.join(", ") }),
            Some(k) => match kinds.iter().find(|x| **x == k) {
                Some(x) => Ok(Some(*x)),
                None if kinds.is_empty() => Err(DocumentKindError::NoneTaken { step: self.as_str() }),
                None => Err(DocumentKindError::NotAccepted { kind: k.to_owned(), accepted: kinds.join(", ") }),
            },
        }
    }
}

/// A person's name reduced for comparison (KYC-4: the card holder against the verified
/// identity): letters only, upper case, words in order, so that "Ivanov  Ivan" and "IVAN IVANOV"
/// agree. `None` when no letters are left.
pub fn person_name_key(name: &str) -> Option<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_uppercase).map(|c| if c == 'Ё' { 'Е' } else { c }).collect())
        .collect();
    words.sort();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A verification level: a named set of steps an officer can request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Level {
    /// The levels every installation has; operators may define more.
    pub fn defaults() -> Vec<Level> {
        let level = |name: &str, steps: &[Step]| Level { name: name.into(), steps: steps.to_vec() };
        vec![
            level("identity", &[Step::Identity, Step::Selfie]),
            level("full", &[Step::Identity, Step::Selfie, Step::ProofOfAddress]),
            level("card", &[Step::BankCard]),
        ]
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl Date {
    /// `YYYY-MM-DD`; `None` for anything else or a day that does not exist.
    pub fn parse(s: &str) -> Option<Date> {
        let mut parts = s.trim().splitn(3, '-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = Date { year: y.parse().ok()?, month: m.parse().ok()?, day: d.parse().ok()? };
        ((1..=12).contains(&date.month) && (1..=days_in_month(date.year, date.month)).contains(&date.day))
            .then_some(date)
    }

    /// The date of a moment (UTC).
    pub fn of_unix_ms(ms: i64) -> Date {
        let (y, m, d) = crate::time::civil_from_days(ms.div_euclid(86_400_000));
        Date { year: y as i32, month: m as u8, day: d as u8 }
    }

    /// The same day `n` calendar months earlier, or the month's last day when it is shorter
    /// (31 May − 3 months = 28 or 29 February).
    pub fn months_before(self, n: u32) -> Date {
        let total = self.year * 12 + i32::from(self.month) - 1 - n as i32;
        let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
        Date { year, month, day: self.day.min(days_in_month(year, month)) }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Why a submission or a step is refused; a reviewer picks one, the customer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    DocumentExpired,
    Unreadable,
    DataMismatch,
    A4SheetWrong,
    AddressDocumentTooOld,
    DocumentNotAccepted,
    CardHolderMismatch,
    Other,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        RejectReason::DocumentExpired,
        RejectReason::Unreadable,
        RejectReason::DataMismatch,
        RejectReason::A4SheetWrong,
        RejectReason::AddressDocumentTooOld,
        RejectReason::DocumentNotAccepted,
        RejectReason::CardHolderMismatch,
        RejectReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::DocumentExpired => "document_expired",
            RejectReason::Unreadable => "unreadable",
            RejectReason::DataMismatch => "data_mismatch",
            RejectReason::A4SheetWrong => "a4_sheet_wrong",
            RejectReason::AddressDocumentTooOld => "address_document_too_old",
            RejectReason::DocumentNotAccepted => "document_not_accepted",
            RejectReason::CardHolderMismatch => "card_holder_mismatch",
            RejectReason::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An officer's finding on one step of a verification (or, without a step, on all of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepFinding {
    pub step: Option<Step>,
    pub reason: RejectReason,
}

impl StepFinding {
    /// As kept among a verification's reject labels: `step:reason`, or `reason`.
    pub fn label(self) -> String {
        match self.step {
            Some(s) => format!("{}:{}", s.as_str(), self.reason.as_str()),
            None => self.reason.as_str().to_owned(),
        }
    }

    /// A label written by [`Self::label`]; `None` for a provider's own labels.
    pub fn parse(label: &str) -> Option<StepFinding> {
        match label.split_once(':') {
            Some((step, reason)) => {
                Some(StepFinding { step: Some(Step::parse(step)?), reason: RejectReason::parse(reason)? })
            }
            None => Some(StepFinding { step: None, reason: RejectReason::parse(label)? }),
        }
    }
}

/// KYC-3's rule, checked when the customer submits: the proof of address was issued at most
/// three calendar months before `submitted`, and not after it.
pub fn check_address_document_date(issued: Date, submitted: Date) -> Result<(), DocumentDateError> {
    let oldest = submitted.months_before(3);
    if issued > submitted {
        return Err(DocumentDateError::Future { issued, submitted });
    }
    if issued < oldest {
        return Err(DocumentDateError::TooOld { issued, oldest });
    }
    Ok(())
}

/// Why a step's document kind is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentKindError {
    #[error("say which document this is: one of {accepted}")]
    Missing { accepted: String },
    #[error("a {step} takes no document kind")]
    NoneTaken { step: &'static str },
    #[error("{kind:?} is not accepted here; one of {accepted}")]
    NotAccepted { kind: String, accepted: String },
}

/// Why a proof of address's issue date is refused (KYC-3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentDateError {
    #[error("the document's issue date {issued} is after today ({submitted})")]
    Future { issued: Date, submitted: Date },
    #[error("the proof of address was issued on {issued}; it must be issued on {oldest} or later (at most three months old)")]
    TooOld { issued: Date, oldest: Date },
}

/// KYC-2: what the A4 sheet in the selfie must show, for the reviewer's checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetChecklist {
    pub date: String,
    pub order_number: i64,
    pub site_name: String,
}

/// Where a requested verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationState {
    /// Requested; nothing submitted yet.
    Requested,
    /// Submitted; being checked by the provider.
    InProgress,
    /// A person looks at it (the provider's manual review, or ours).
    OnHold,
    /// Refused, and the customer may submit again (SEC-15's clock runs).
    Resubmission,
    /// KYC passed.
    Verified,
    /// Refused for good: SEC-16 suspends the account.
    Failed,
}

impl VerificationState {
    pub const ALL: [VerificationState; 6] = [
        VerificationState::Requested,
        VerificationState::InProgress,
        VerificationState::OnHold,
        VerificationState::Resubmission,
        VerificationState::Verified,
        VerificationState::Failed,
    ];

    pub fn parse(s: &str) -> Option<VerificationState> {
        VerificationState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerificationState::Requested => "requested",
            VerificationState::InProgress => "in_progress",
            VerificationState::OnHold => "on_hold",
            VerificationState::Resubmission => "resubmission",
            VerificationState::Verified => "verified",
            VerificationState::Failed => "failed",
        }
    }

    /// Whether nothing can change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, VerificationState::Verified | VerificationState::Failed)
    }

    /// SumSub's `reviewStatus` and `reviewResult` onto our state. The state comes from the
    /// status, never from the event type (an `applicantPrechecked` event may say `queued`).
    /// `None` for a completed review without a usable answer (the caller re-reads the status).
    pub fn from_sumsub(review_status: &str, answer: Option<&str>, reject_type: Option<&str>) -> Option<Self> {
        Some(match review_status {
            "completed" => match (answer?, reject_type) {
                ("GREEN", _) => VerificationState::Verified,
                ("RED", Some("RETRY")) => VerificationState::Resubmission,
                ("RED", Some("FINAL")) => VerificationState::Failed,
                // A rejection without its type: resubmission is the cautious reading (not final).
                ("RED", _) => VerificationState::Resubmission,
                _ => return None,
            },
            "onHold" => VerificationState::OnHold,
            "init" => VerificationState::Requested,
            _ => VerificationState::InProgress,
        })
    }
}

/// Card brands recognised by their first digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Mir,
    Amex,
    UnionPay,
    Maestro,
    Other,
}

impl CardBrand {
    pub const ALL: [CardBrand; 7] = [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Mir,
        CardBrand::Amex,
        CardBrand::UnionPay,
        CardBrand::Maestro,
        CardBrand::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Mir => "mir",
            CardBrand::Amex => "amex",
            CardBrand::UnionPay => "union_pay",
            CardBrand::Maestro => "maestro",
            CardBrand::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<CardBrand> {
        CardBrand::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// A bank card number as the customer typed it, validated. It is never stored, printed or
/// logged: keep [`CardNumber::first6`], [`CardNumber::last4`], the brand and a keyed hash.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber({})", self.masked())
    }
}

impl CardNumber {
    /// Digits with optional spaces or dashes; 12 to 19 digits with a valid Luhn check digit.
    pub fn parse(s: &str) -> Result<CardNumber, &'static str> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a card number has only digits");
        }
        if !(12..=19).contains(&digits.len()) {
            return Err("a card number has 12 to 19 digits");
        }
        let sum: u32 = digits
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    let x = d * 2;
                    if x > 9 {
                        x - 9
                    } else {
                        x
                    }
                } else {
                    d
                }
            })
            .sum();
        let remainder = sum % 10;
        if remainder != 0 {
            return Err("the card number is mistyped (its check digit is wrong)");
        }
        Ok(CardNumber(digits))
    }

    pub fn first6(&self) -> &str {
        &self.0[..6]
    }

    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// The full digits, for the keyed hash only.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `427638******1234`.
    pub fn masked(&self) -> String {
        format!("{}{}{}", self.first6(), "*".repeat(self.0.len() - 10), self.last4())
    }

    pub fn brand(&self) -> CardBrand {
        let p2: u32 = self.0[..2].parse().unwrap_or(0);
        let p4: u32 = self.0[..4].parse().unwrap_or(0);
        match () {
            _ if self.0.starts_with('4') => CardBrand::Visa,
            _ if (2200..=2204).contains(&p4) => CardBrand::Mir,
            _ if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) => CardBrand::Mastercard,
            _ if p2 == 34 || p2 == 37 => CardBrand::Amex,
            _ if p2 == 62 => CardBrand::UnionPay,
            _ if p2 == 50 || (56..=69).contains(&p2) => CardBrand::Maestro,
            _ => CardBrand::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn kyc_3_an_address_proof_three_months_old_passes_and_a_day_older_is_refused() {
        assert_eq!(check_address_document_date(d("2026-02-21"), d("2026-05-21")), Ok(()));
        let err = check_address_document_date(d("2026-02-20"), d("2026-05-21")).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("issued on 2026-02-20") && err.contains("2026-02-21 or later"), "{err}");
        assert!(check_address_document_date(d("2026-05-22"), d("2026-05-21")).is_err(), "not from the future");
        // Month ends: 31 May − 3 months is the end of February.
        assert_eq!(d("2026-05-31").months_before(3), d("2026-02-28"));
        assert_eq!(d("2028-05-31").months_before(3), d("2028-02-29"));
        assert_eq!(d("2026-01-15").months_before(3), d("2025-10-15"));
        assert!(check_address_document_date(d("2026-02-27"), d("2026-05-31")).is_err());
    }

    #[test]
    fn dates_parse_strictly_and_come_from_moments() {
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("26-01-01"), None);
        assert_eq!(Date::of_unix_ms(1_767_225_600_000), d("2026-01-01"));
        assert_eq!(d("2026-01-01").to_string(), "2026-01-01");
    }

    #[test]
    fn kyc_1_and_kyc_2_are_in_every_identity_level() {
        for level in Level::defaults().iter().filter(|l| l.steps.contains(&Step::Identity)) {
            assert!(level.steps.contains(&Step::Selfie), "{}", level.name);
        }
        assert_eq!(RejectReason::parse("a4_sheet_wrong"), Some(RejectReason::A4SheetWrong));
    }

    #[test]
    fn kyc_1_the_customer_names_one_of_the_accepted_documents() {
        assert_eq!(
            Step::Identity.document_kinds(),
            ["national_passport", "international_passport", "id_card"],
            "KYC-1's three documents"
        );
        assert_eq!(Step::Identity.check_document_kind(Some("id_card")), Ok(Some("id_card")));
        assert!(Step::Identity.check_document_kind(None).unwrap_err().to_string().contains("national_passport"));
        assert!(Step::Identity.check_document_kind(Some("driving_licence")).is_err());
        assert_eq!(Step::ProofOfAddress.check_document_kind(Some("utility_bill")), Ok(Some("utility_bill")));
        assert_eq!(Step::ProofOfAddress.document_kinds().len(), 4, "KYC-3's four documents");
        assert_eq!(Step::Selfie.check_document_kind(None), Ok(None));
        assert!(Step::Selfie.check_document_kind(Some("id_card")).is_err());
    }

    #[test]
    fn findings_per_step_survive_as_labels() {
        let f = StepFinding { step: Some(Step::Selfie), reason: RejectReason::A4SheetWrong };
        assert_eq!(f.label(), "selfie:a4_sheet_wrong");
        assert_eq!(StepFinding::parse(&f.label()), Some(f));
        assert_eq!(
            StepFinding::parse("unreadable"),
            Some(StepFinding { step: None, reason: RejectReason::Unreadable })
        );
        assert_eq!(StepFinding::parse("BAD_PHOTO"), None, "a provider's label is not ours");
        assert_eq!(StepFinding::parse("face:unreadable"), None);
    }

    #[test]
    fn kyc_4_names_compare_by_their_words() {
        assert_eq!(person_name_key("Ivanov  Ivan"), person_name_key("IVAN IVANOV"));
        assert_eq!(person_name_key("Алёна Петрова").as_deref(), Some("АЛЕНА ПЕТРОВА"));
        assert_ne!(person_name_key("IVAN IVANOV"), person_name_key("IVAN PETROV"));
        assert_eq!(person_name_key(" 12 - "), None);
    }

    #[test]
    fn sumsub_verdicts_map_onto_states() {
        use VerificationState::*;
        assert_eq!(VerificationState::from_sumsub("completed", Some("GREEN"), None), Some(Verified));
        assert_eq!(VerificationState::from_sumsub("completed", Some("RED"), Some("RETRY")), Some(Resubmission));
        assert_eq!(VerificationState::from_sumsub("completed", Some("RED"), Some("FINAL")), Some(Failed));
        assert_eq!(VerificationState::from_sumsub("onHold", None, None), Some(OnHold));
        assert_eq!(VerificationState::from_sumsub("queued", None, None), Some(InProgress));
        assert_eq!(VerificationState::from_sumsub("init", None, None), Some(Requested));
        assert_eq!(VerificationState::from_sumsub("completed", Some("YELLOW"), None), None);
        assert_eq!(VerificationState::from_sumsub("completed", None, None), None);
    }

    #[test]
    fn kyc_4_cards_are_checked_and_only_their_ends_shown() {
        let c = CardNumber::parse("4276 3800 1234 5679").unwrap();
        assert_eq!((c.first6(), c.last4(), c.brand()), ("427638", "5679", CardBrand::Visa));
        assert_eq!(c.masked(), "427638******5679");
        assert!(!format!("{c:?}").contains("00123456"), "never printed whole");
        assert!(CardNumber::parse("4276 3800 1234 5676").is_err(), "Luhn");
        assert!(CardNumber::parse("4276-3800-1234").is_err());
        assert_eq!(CardNumber::parse("2200 0000 0000 0004").unwrap().brand(), CardBrand::Mir);
        assert_eq!(CardNumber::parse("5555 5555 5555 4444").unwrap().brand(), CardBrand::Mastercard);
        assert_eq!(CardNumber::parse("3782 822463 10005").unwrap().brand(), CardBrand::Amex);
        assert!(CardNumber::parse("4111 1111 1111 111x").is_err());
        for b in CardBrand::ALL {
            assert_eq!(CardBrand::parse(b.as_str()), Some(b));
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str(), "the API shows the same names");
        }
    }
}
