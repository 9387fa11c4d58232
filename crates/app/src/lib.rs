//! Use cases of Custos and the ports its adapters implement.
//!
//! The app orchestrates: it validates nothing twice (domain types arrive parsed), asks the
//! analyzers, applies the pure policy, and hands each state change to the store as one unit
//! (state, audit event and outbox row in one transaction).

pub mod accounts;
pub mod api_keys;
pub mod appeals;
pub mod cases;
pub mod clock;
pub mod consolidation;
pub mod context;
pub mod deadlines;
pub mod disclosures;
pub mod documents;
pub mod effects;
pub mod entries;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod images;
pub mod intake;
pub mod keys;
pub mod kyc;
pub mod mail;
pub mod model;
pub mod monitoring;
pub mod payouts;
pub mod ports;
pub mod queries;
pub mod repos;
pub mod requests;
pub mod screening;
pub mod service;
pub mod watch;
pub mod webhooks;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppError, ErrorCode};
pub use ports::{AddressDeriver, Analyzer, Mailer, Store, StoreError};
pub use service::{App, AppParts, Deadlines};
