//! The OFAC SDN "Digital Currency Address" per-asset lists (`sanctioned_addresses_<ASSET>.txt`
//! with one address per line, or `.json` with an array), imported as the single source
//! `ofac-sdn`. The lists for Bitcoin, Ethereum, TRON, USDT and USDC are bundled with Custos as its
//! default sanctions list.

use super::{parse_address, token_network, ImportError, ImportResult, ImportedSource, Problem};
use custos_app::model::{LabelRecord, LabelSource};
use custos_domain::{Network, RiskCategory};
use std::path::{Path, PathBuf};

pub const SOURCE: &str = "ofac-sdn";
pub const ATTRIBUTION: &str = "OFAC SDN list (U.S. Treasury, public data), per-asset lists by 0xB10C/ofac-sanctioned-digital-currency-addresses (MIT)";
const BUNDLED_ATTRIBUTION: &str =
    "OFAC SDN list snapshot 2024-09-27 bundled with Custos (U.S. Treasury, public data; lists by 0xB10C, MIT)";

const BUNDLED: [(&str, &str); 5] = [
    ("XBT", include_str!("../../data/ofac-sdn/sanctioned_addresses_XBT.txt")),
    ("ETH", include_str!("../../data/ofac-sdn/sanctioned_addresses_ETH.txt")),
    ("USDT", include_str!("../../data/ofac-sdn/sanctioned_addresses_USDT.txt")),
    ("USDC", include_str!("../../data/ofac-sdn/sanctioned_addresses_USDC.txt")),
    ("TRX", include_str!("../../data/ofac-sdn/sanctioned_addresses_TRX.txt")),
];

/// The bundled default sanctions list.
pub fn bundled() -> ImportResult {
    let mut result = ImportResult::default();
    let mut labels = Vec::new();
    for (asset, text) in BUNDLED {
        let file = PathBuf::from(format!("(bundled) sanctioned_addresses_{asset}.txt"));
        read_lines(
            asset,
            &file,
            text.lines().enumerate().map(|(i, l)| (Some(i + 1), l.to_owned())),
            &mut labels,
            &mut result,
        );
    }
    result.sources.push(ImportedSource {
        source: LabelSource { name: SOURCE.into(), kind: "ofac".into(), attribution: BUNDLED_ATTRIBUTION.into() },
        labels,
    });
    result
}

/// The list files at `path` (a directory or a file). Where both `.txt` and `.json` exist for an
/// asset, the `.txt` is read.
pub fn list_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(ImportError::io(path))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("sanctioned_addresses_")))
        .collect();
    files.sort();
    let txt: Vec<PathBuf> = files.iter().filter(|p| p.extension().is_some_and(|e| e == "txt")).cloned().collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "txt") || !txt.contains(&p.with_extension("txt")));
    Ok(files)
}

fn asset_of(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    stem.strip_prefix("sanctioned_addresses_").map(str::to_uppercase)
}

pub fn read_files(files: &[PathBuf]) -> Result<ImportResult, ImportError> {
    let mut result = ImportResult::default();
    let mut labels = Vec::new();
    for file in files {
        let Some(asset) = asset_of(file) else {
            result.problems.push(Problem {
                file: file.clone(),
                line: None,
                message: "not an OFAC list file (sanctioned_addresses_<ASSET>.txt|.json)".into(),
            });
            continue;
        };
        let text = std::fs::read_to_string(file).map_err(ImportError::io(file))?;
        let entries: Vec<(Option<usize>, String)> = if file.extension().is_some_and(|e| e == "json") {
            match serde_json::from_str::<Vec<String>>(&text) {
                Ok(list) => list.into_iter().map(|a| (None, a)).collect(),
                Err(e) => {
                    result.problems.push(Problem {
                        file: file.clone(),
                        line: None,
                        message: format!("not a JSON array of addresses: {e}"),
                    });
                    continue;
                }
            }
        } else {
            text.lines().enumerate().map(|(i, l)| (Some(i + 1), l.to_owned())).collect()
        };
        read_lines(&asset, file, entries.into_iter(), &mut labels, &mut result);
    }
    result.sources.push(ImportedSource {
        source: LabelSource { name: SOURCE.into(), kind: "ofac".into(), attribution: ATTRIBUTION.into() },
        labels,
    });
    Ok(result)
}

fn read_lines(
    asset: &str,
    file: &Path,
    entries: impl Iterator<Item = (Option<usize>, String)>,
    labels: &mut Vec<LabelRecord>,
    result: &mut ImportResult,
) {
    for (line, raw) in entries {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let network = match asset {
            "XBT" | "BTC" => Network::Bitcoin,
            "ETH" => Network::Ethereum,
            "TRX" => Network::Tron,
            "USDT" | "USDC" => token_network(raw),
            other => {
                *result.unsupported.entry(other.to_owned()).or_default() += 1;
                continue;
            }
        };
        match parse_address(network, raw) {
            Ok((network, address)) => labels.push(LabelRecord {
                network,
                address,
                category: RiskCategory::Sanctions,
                label: format!("OFAC SDN list ({asset})"),
                confidence: 100,
            }),
            Err(refused) => {
                result.problems.push(Problem { file: file.to_path_buf(), line, message: refused.to_string() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_covers_bitcoin_ethereum_and_tron() {
        let r = bundled();
        assert_eq!(r.sources.len(), 1);
        let labels = &r.sources[0].labels;
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        for n in Network::ALL {
            assert!(labels.iter().any(|l| l.network == n), "{n}");
        }
        assert_eq!(labels.len(), 435 + 152 + 26 + 2 + 6);
        assert!(labels.iter().all(|l| l.category == RiskCategory::Sanctions));
        // Ethereum addresses are stored lower-case.
        assert!(labels
            .iter()
            .filter(|l| l.network == Network::Ethereum)
            .all(|l| l.address == l.address.to_lowercase()));
    }
}
