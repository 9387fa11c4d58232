//! The built-in analyzer: an in-memory index of labelled addresses, loaded from the database at
//! start, so that screening an address is a hash lookup. And the importers that fill it:
//! GraphSense TagPacks, the OFAC SDN per-asset lists (bundled as the default sanctions list) and
//! an operator's own CSV.

pub mod builtin;
pub mod import;
pub mod index;

pub use builtin::BuiltinAnalyzer;
pub use index::{LabelIndex, LabelIndexBuilder};
