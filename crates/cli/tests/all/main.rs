//! The integration tests of Custos: one binary, so that a change links once. Each module is an
//! area (the file names the requirements it proves); `common` is the harness they share, and
//! `both!` runs a test on SQLite and on PostgreSQL.

#[macro_use]
mod common;

mod accounts;
mod api;
mod attacks;
mod bitcoin;
mod browser;
mod cli;
mod crash;
mod decisions;
mod disclosures;
mod evm;
mod flow;
mod graphsense;
mod keys;
mod kyc;
mod logs;
mod monitoring;
mod office;
mod pages;
mod payouts;
mod requests;
mod rescreen;
mod schema;
mod tls;
mod tron;
mod vendors;
mod webhooks;
