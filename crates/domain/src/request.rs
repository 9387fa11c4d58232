//! What officers ask of a customer.

use serde::{Deserialize, Serialize};

/// What is asked of the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Identity verification (SEC-14, SEC-15).
    Kyc,
    /// Source of Funds: the order's amount, the origin of the funds, supporting documents.
    SourceOfFunds,
    /// Anything else an officer needs.
    Information,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [RequestKind::Kyc, RequestKind::SourceOfFunds, RequestKind::Information];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Kyc => "kyc",
            RequestKind::SourceOfFunds => "source_of_funds",
            RequestKind::Information => "information",
        }
    }

    pub fn parse(s: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}
