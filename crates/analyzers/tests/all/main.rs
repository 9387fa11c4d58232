//! The vendor adapters' contract tests, one binary: each module runs an adapter against a
//! local server speaking its vendor's documented API (`fake`).

mod bitok;
mod chainalysis;
mod coinkyt;
mod fake;
mod guarded;
