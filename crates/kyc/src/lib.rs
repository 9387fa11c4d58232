//! KYC providers. SumSub (PD-1) verifies identities in its own systems; Custos keeps only the
//! results and audit data (SEC-13): no document image passes through this crate.

pub mod sumsub;
