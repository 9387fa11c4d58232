//! The traits adapters implement: storage, analyzers, address derivation.

use async_trait::async_trait;
use custos_domain::risk::RiskReport;
use custos_domain::{Address, Amount, Asset, Network};
use serde::{Deserialize, Serialize};

pub use crate::repos::{Store, StoreError, StoreResult};

/// Why a call to an outside system failed: a chain node, a mail server, the KYC provider, a
/// signer's node. Each adapter keeps its own error type and says which of these a failure is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// Not reachable, timed out, or a server-side failure: a later try may work.
    #[error("{0}")]
    Unavailable(String),
    /// This request was refused (an HTTP 4xx, an SMTP 5xx reply, a transaction the node
    /// rejects): the same request will fail again.
    #[error("refused: {0}")]
    Refused(String),
    /// The answer did not make sense: malformed, or not what the protocol promises.
    #[error("unexpected answer: {0}")]
    Malformed(String),
}

/// Why a deposit address could not be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {index} cannot be derived: {reason}")]
pub struct DeriveError {
    pub index: u32,
    pub reason: String,
}

/// Why a provider's webhook was refused before it was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRefusal {
    /// The signature is missing, of an unknown algorithm, or does not match.
    #[error("{0}")]
    Signature(String),
    /// Signed, but not an event the contract describes.
    #[error("{0}")]
    Malformed(String),
}

/// Which way a transfer moves, seen from the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A deposit: funds arrive at our address.
    Incoming,
    /// A payout or refund: funds leave to the customer's address.
    Outgoing,
}

/// One on-chain transfer to screen (RISK-1, ADDR-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub network: Network,
    pub asset: Asset,
    /// Normalised transaction id.
    pub txid: String,
    /// Output index (Bitcoin) or log index (token transfers).
    pub index: u32,
    pub amount: Amount,
    pub direction: Direction,
    /// Our side of it: the deposit address (incoming) or the destination (outgoing).
    pub address: Address,
    /// The other side, when known (the sources of a deposit).
    pub counterparties: Vec<Address>,
    /// An opaque, stable reference of the customer for vendors that profile users; never
    /// personal data.
    pub customer_ref: Option<String>,
}

/// An AML analyzer: the built-in label index or a vendor.
#[async_trait]
pub trait Analyzer: Send + Sync {
    fn name(&self) -> &str;
    /// Screens one address. Never fails: a failure is a report with `Failed` status.
    async fn screen_address(&self, address: &Address) -> RiskReport;
    /// Whether [`Analyzer::screen_transfer`] is supported; analyzers that only know addresses
    /// screen a transfer's addresses instead.
    fn screens_transfers(&self) -> bool {
        false
    }
    /// Screens one transfer (the transaction and its counterparty). Never fails either.
    async fn screen_transfer(&self, transfer: &Transfer) -> RiskReport {
        RiskReport::failed(self.name().to_owned(), &transfer.address, "this analyzer does not screen transfers")
    }
}

/// How one webhook delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// 5xx, 408, 429 or a network error: try again later.
    Retryable(String),
    /// Refused for good (another 4xx, a forbidden destination): dead-letter it.
    Permanent(String),
}

/// Sends webhook bodies to the operator's receiver.
#[async_trait]
pub trait WebhookSender: Send + Sync {
    async fn send(&self, event_id: &str, body: &str) -> SendOutcome;
}

/// Derives deposit addresses of one network from the configured extended public key.
pub trait AddressDeriver: Send + Sync {
    fn network(&self) -> Network;
    /// A short non-secret id of the key, stored with the addresses it derived.
    fn fingerprint(&self) -> &str;
    fn derive(&self, index: u32) -> Result<Address, DeriveError>;
}

/// An e-mail to a person. Its content is personal data: never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Sends e-mail (SMTP in production, a folder or memory in development and tests).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &Mail) -> Result<(), RemoteError>;
}

/// A provider's webhook event, verified and read by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycEvent {
    /// Deliveries with the same key are one event.
    pub dedup_key: String,
    pub kind: String,
    pub applicant_id: String,
    /// Our opaque customer reference, as the provider echoes it.
    pub customer_ref: Option<String>,
    /// The state it reports, when it is one Custos acts on.
    pub state: Option<custos_domain::kyc::VerificationState>,
    pub reject_labels: Vec<String>,
    /// What the customer may be told (never the provider's internal comment).
    pub customer_comment: Option<String>,
    /// The provider's time of the event (sortable text).
    pub at: String,
}

/// A KYC provider (SumSub), which verifies identities in its own systems (PD-1, SEC-13).
#[async_trait]
pub trait KycProvider: Send + Sync {
    fn name(&self) -> &str;
    /// Registers the customer (by the opaque reference) for a level; returns the applicant id.
    async fn create_applicant(&self, customer_ref: &str, level: &str) -> Result<String, RemoteError>;
    /// A short-lived token for the provider's widget in the cabinet.
    async fn sdk_token(&self, customer_ref: &str, level: &str) -> Result<String, RemoteError>;
    /// The name on the customer's verified identity document, if the provider extracted one
    /// (KYC-4 compares card holders with it; only its keyed hash is kept).
    async fn identity_name(&self, customer_ref: &str) -> Result<Option<String>, RemoteError>;
    /// Verifies a webhook's signature before reading it; a refusal says why.
    fn read_webhook(&self, body: &[u8], digest: Option<&str>, alg: Option<&str>) -> Result<KycEvent, WebhookRefusal>;
}
