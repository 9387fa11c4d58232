//! Label importers. Each reads a file (or a directory) into one or more label sources, reporting
//! every row it could not use with its line number; nothing is skipped silently.

pub mod csv;
pub mod graphsense;
pub mod ofac;

use custos_app::model::{LabelRecord, LabelSource};
use custos_domain::{Address, Network};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based line number, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file.display(), l, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// One source's labels, ready to replace that source in the store.
#[derive(Debug, Clone)]
pub struct ImportedSource {
    pub source: LabelSource,
    pub labels: Vec<LabelRecord>,
}

/// Everything read from the inputs.
#[derive(Debug, Default)]
pub struct ImportResult {
    pub sources: Vec<ImportedSource>,
    pub problems: Vec<Problem>,
    /// Entries for networks Custos does not screen, by currency: counted, not imported.
    pub unsupported: BTreeMap<String, u64>,
}

impl ImportResult {
    pub fn labels(&self) -> usize {
        self.sources.iter().map(|s| s.labels.len()).sum()
    }

    fn merge(&mut self, other: ImportResult) {
        self.sources.extend(other.sources);
        self.problems.extend(other.problems);
        for (k, v) in other.unsupported {
            *self.unsupported.entry(k).or_default() += v;
        }
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// GraphSense TagPack YAML: a file or a directory of packs.
    Tagpack,
    /// OFAC SDN per-asset lists `sanctioned_addresses_<ASSET>.txt|.json`: a directory or files.
    Ofac,
    /// `network,address,category,label,source,confidence`.
    Csv,
}

impl Format {
    /// Guesses the format from a path.
    pub fn detect(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        if path.is_dir() {
            let entries: Vec<_> = std::fs::read_dir(path)
                .ok()?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().to_lowercase())
                .collect();
            if entries.iter().any(|n| n.starts_with("sanctioned_addresses_")) {
                return Some(Format::Ofac);
            }
            return Some(Format::Tagpack);
        }
        if name.starts_with("sanctioned_addresses_") {
            Some(Format::Ofac)
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            Some(Format::Tagpack)
        } else if name.ends_with(".csv") {
            Some(Format::Csv)
        } else {
            None
        }
    }
}

/// Why an import stops. A bad row does not stop it: it becomes a [`Problem`] of the result.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}: no such file or directory", .0.display())]
    Missing(PathBuf),
    #[error("{}: cannot tell the format; pass --format tagpack|ofac|csv", .0.display())]
    UnknownFormat(PathBuf),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}: the header must be {expected}, found {found}", path.display())]
    Header { path: PathBuf, expected: String, found: String },
    #[error("a reader thread failed")]
    Thread,
}

impl ImportError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
        move |source| ImportError::Io { path: path.to_path_buf(), source }
    }
}

/// A row's address that no network takes: a problem of the import, not an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("address {raw:?}: {reason}")]
pub(crate) struct AddressRefused {
    raw: String,
    reason: custos_domain::AddressError,
}

/// Reads `paths` in `format` (or each path's detected format).
pub fn read(paths: &[PathBuf], format: Option<Format>) -> Result<ImportResult, ImportError> {
    let mut result = ImportResult::default();
    let mut ofac_files = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(ImportError::Missing(path.clone()));
        }
        let f = format.or_else(|| Format::detect(path)).ok_or_else(|| ImportError::UnknownFormat(path.clone()))?;
        match f {
            Format::Tagpack => result.merge(graphsense::read_path(path)?),
            Format::Csv => result.merge(csv::read_file(path)?),
            Format::Ofac => ofac_files.extend(ofac::list_files(path)?),
        }
    }
    if !ofac_files.is_empty() {
        // The OFAC list is one source, so all its files are read together.
        result.merge(ofac::read_files(&ofac_files)?);
    }
    Ok(result)
}

/// Parses an address for a label, normalising it. Lists mix chains (the OFAC USDT list holds
/// Omni addresses, which are Bitcoin addresses), and the formats of the three networks cannot be
/// confused, so an address valid on another network than `expected` is filed under that one: a
/// sanctioned address stays sanctioned whichever list named it.
pub(crate) fn parse_address(expected: Network, raw: &str) -> Result<(Network, String), AddressRefused> {
    let raw = raw.trim();
    match Address::parse(expected, raw) {
        Ok(a) => Ok((expected, a.as_str().to_owned())),
        Err(e) => Network::ALL
            .into_iter()
            .filter(|&n| n != expected)
            .find_map(|n| Address::parse(n, raw).ok())
            .map(|a| (a.network(), a.as_str().to_owned()))
            .ok_or_else(|| AddressRefused { raw: raw.to_owned(), reason: e }),
    }
}

/// The network of a token address whose list does not say (USDT, USDC): by its shape.
pub(crate) fn token_network(address: &str) -> Network {
    if address.starts_with("0x") {
        Network::Ethereum
    } else {
        Network::Tron
    }
}
