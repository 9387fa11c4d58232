//! An operator's own list: CSV with the header `network,address,category,label,source,confidence`.
//! `category` is a taxonomy name (e.g. `scam`); `confidence` is 0–100 and may be empty (100).
//! Rows are grouped by `source`: each source is replaced as a whole when imported again.

use super::{parse_address, ImportError, ImportResult, ImportedSource, Problem};
use custos_app::model::{LabelRecord, LabelSource};
use custos_domain::{Network, RiskCategory};
use std::collections::BTreeMap;
use std::path::Path;

const HEADER: [&str; 6] = ["network", "address", "category", "label", "source", "confidence"];

pub fn read_file(path: &Path) -> Result<ImportResult, ImportError> {
    let unreadable = |e: ::csv::Error| ImportError::Unreadable { path: path.to_path_buf(), reason: e.to_string() };
    let mut reader =
        ::csv::ReaderBuilder::new().flexible(true).trim(::csv::Trim::All).from_path(path).map_err(unreadable)?;
    let header: Vec<String> = reader.headers().map_err(unreadable)?.iter().map(|h| h.to_lowercase()).collect();
    if header != HEADER {
        return Err(ImportError::Header {
            path: path.to_path_buf(),
            expected: HEADER.join(","),
            found: header.join(","),
        });
    }
    let mut result = ImportResult::default();
    let mut by_source: BTreeMap<String, Vec<LabelRecord>> = BTreeMap::new();
    for record in reader.records() {
        let (line, fields) = match record {
            Ok(r) => (r.position().map(|p| p.line() as usize), r),
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                result.problems.push(Problem { file: path.to_path_buf(), line, message: e.to_string() });
                continue;
            }
        };
        let mut problem = |message: String| result.problems.push(Problem { file: path.to_path_buf(), line, message });
        if fields.len() != HEADER.len() {
            problem(format!("expected {} fields, found {}", HEADER.len(), fields.len()));
            continue;
        }
        let network: Network = match fields[0].parse() {
            Ok(n) => n,
            Err(e) => {
                problem(format!("{e}"));
                continue;
            }
        };
        let (network, address) = match parse_address(network, &fields[1]) {
            Ok(a) => a,
            Err(m) => {
                problem(m.to_string());
                continue;
            }
        };
        let category: RiskCategory = match fields[2].parse() {
            Ok(c) => c,
            Err(e) => {
                problem(format!("{e}: use a name from the taxonomy, e.g. sanctions, scam, mixing_service"));
                continue;
            }
        };
        let source = &fields[4];
        if source.is_empty() || source.len() > 100 {
            problem("the source must be 1 to 100 characters".into());
            continue;
        }
        let confidence = if fields[5].is_empty() {
            100
        } else {
            match fields[5].parse::<u8>() {
                Ok(c) if c <= 100 => c,
                _ => {
                    problem(format!("confidence must be a whole number 0–100, found {:?}", &fields[5]));
                    continue;
                }
            }
        };
        let label = if fields[3].is_empty() { source.to_owned() } else { fields[3].to_owned() };
        by_source.entry(source.to_owned()).or_default().push(LabelRecord {
            network,
            address,
            category,
            label,
            confidence,
        });
    }
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    for (name, labels) in by_source {
        result.sources.push(ImportedSource {
            source: LabelSource { name, kind: "csv".into(), attribution: format!("operator list {file}") },
            labels,
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_grouped_by_source_and_bad_rows_named_by_line() {
        let dir = std::env::temp_dir().join(format!("custos-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("own.csv");
        std::fs::write(
            &p,
            "network,address,category,label,source,confidence\n\
             bitcoin,1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA,scam,\"Scam, reported\",desk,80\n\
             ethereum,0x52908400098527886E0F7030069857D2E4169EE7,mixing_service,,desk,\n\
             tron,TDvr6Jpwfp1wDiV7PhaB19YMsMHRSXmY7p,gambling,casino,other,\n\
             bitcoin,1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabB,scam,x,desk,1\n\
             litecoin,x,scam,x,desk,1\n\
             bitcoin,1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA,evil,x,desk,1\n\
             bitcoin,1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA,scam,x,desk,101\n\
             bitcoin,1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA\n",
        )
        .unwrap();
        let r = read_file(&p).unwrap();
        let names: Vec<_> = r.sources.iter().map(|s| s.source.name.as_str()).collect();
        assert_eq!(names, ["desk", "other"]);
        assert_eq!(r.sources[0].labels.len(), 2);
        assert_eq!(r.sources[0].labels[0].label, "Scam, reported");
        assert_eq!(r.sources[0].labels[1].address, "0x52908400098527886e0f7030069857d2e4169ee7");
        assert_eq!(r.sources[0].labels[1].confidence, 100);
        let lines: Vec<_> = r.problems.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, [5, 6, 7, 8, 9]);
    }

    #[test]
    fn a_wrong_header_is_refused() {
        let p = std::env::temp_dir().join(format!("custos-csv-h-{}.csv", std::process::id()));
        std::fs::write(&p, "address,network\n").unwrap();
        assert!(matches!(read_file(&p).unwrap_err(), ImportError::Header { .. }));
    }
}
