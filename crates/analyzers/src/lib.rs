//! Vendor AML analyzers behind the one analyzer port: BitOK, CoinKYT, Chainalysis KYT (with its
//! address screening) and the free Chainalysis sanctions screening. Each follows
//! `shared/vendor-apis/<vendor>.md`, accepts both shapes where the vendor's documents and real
//! clients disagree, maps vendor codes to our taxonomy (unknown codes become a visible
//! `unmapped` finding), keeps the vendor's raw answers as evidence, and never fails: a failure
//! is a failed report, which the policy turns into review.

pub mod bitok;
pub mod chainalysis;
pub mod coinkyt;
mod common;
mod credential;
pub mod mapping;
pub mod sanctions;

pub use common::{CheckError, ConfigError, PollSettings};
pub use credential::{CredentialError, Secret};
