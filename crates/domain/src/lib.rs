//! The pure domain of Custos: networks and assets, validated addresses, the risk taxonomy, risk
//! scores and bands, the policy engine, order statuses and the audit hash chain.
//!
//! Nothing here does IO, reads a clock or is async; every function is deterministic.

pub mod access;
pub mod address;
pub mod audit;
pub mod consolidation;
pub mod deadline;
pub mod decision;
pub mod disclosure;
pub mod figures;
pub mod kyc;
pub mod network;
pub mod notice;
pub mod order;
pub mod payment;
pub mod policy;
pub mod refund;
pub mod request;
pub mod risk;
pub mod status;
pub mod taxonomy;
pub mod text;
pub mod time;

pub use address::{Address, AddressError, AddressKind};
pub use network::{Amount, Asset, Network};
pub use order::OrderStatus;
pub use policy::{Action, Decision, Policy};
pub use risk::{CategoryFinding, Exposure, RiskBand, RiskReport, RiskScore};
pub use taxonomy::RiskCategory;
