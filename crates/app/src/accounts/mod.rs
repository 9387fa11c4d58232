//! People who log in: staff in the back-office and customers in their personal cabinet.
//! Argon2id passwords with a strength check, TOTP MFA with single-use codes and recovery codes,
//! server-side sessions (stored hashed, rotated at login and privilege change, idle and absolute
//! timeouts), login throttling per account and per IP, and step-up before sensitive actions.
//! Every security event is written to the audit log, which names accounts by id only.

pub mod mails;
pub mod records;
mod service;

pub use service::{
    normalise_email, AccountRepos, Accounts, AuthError, AuthSettings, Authenticated, LoginStep, MfaSetup,
};
