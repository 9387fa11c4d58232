//! GraphSense TagPacks (YAML). Header fields are defaults for every tag; a tag's own fields win.
//!
//! Mapping to the Custos taxonomy (documented in docs/labels.md):
//! - the `abuse` concept decides when present, else `category`, plus any `concepts`; each distinct
//!   resulting category becomes one label of the address;
//! - tags whose `source` is a U.S. Treasury OFAC page are `sanctions` whatever their category
//!   (the public OFAC pack tags sanctioned addresses with the category `user`);
//! - a concept missing from the table becomes `unmapped` (shown to an officer, never dropped);
//!   no concept at all becomes `unknown`;
//! - `confidence` is the GraphSense level's number (confidence.csv); missing means `unknown` (5).
//!   Each pack is one label source named `graphsense:<pack path without .yaml>`.

use super::{parse_address, token_network, ImportError, ImportResult, ImportedSource, Problem};
use custos_app::model::{LabelRecord, LabelSource};
use custos_domain::{Network, RiskCategory};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};

/// GraphSense concept → Custos category.
pub fn map_concept(concept: &str) -> RiskCategory {
    use RiskCategory as C;
    match concept {
        "sanction" | "gov_black_list" => C::Sanctions,
        "terrorism" | "terrorism_financing" | "extremism" => C::TerrorismFinancing,
        "child_sexual_abuse" | "sexual_abuse" => C::ChildExploitation,
        "ransomware" => C::Ransom,
        "scam" | "phishing" | "sextortion" | "extortion" | "investment_fraud" | "ponzi_scheme" | "pyramid_scheme" => {
            C::Scam
        }
        "hacking" | "service_hack" | "account_hack" | "exploit" | "data_breach" | "social_engineering" => {
            C::StolenCoins
        }
        "malware" | "drugs" | "weapons" | "human_trafficking" | "counterfeit" | "violence" | "murder" | "torture" => {
            C::IllegalService
        }
        "payment_card_fraud" => C::FraudShop,
        "money_laundering" | "financial_crime" | "abuse" | "perpetrator" => C::IllicitActorOrganization,
        "black_list" => C::Scam,
        "dark_web" => C::DarknetService,
        "mixing_service" | "mixing" | "coinjoin" => C::MixingService,
        "gambling" => C::Gambling,
        "exchange" => C::Exchange,
        "market" | "shop" | "collectible" => C::Marketplace,
        "miner" | "mining_service" => C::Mining,
        "defi" | "defi_lending" | "defi_derivatives" | "defi_dao" | "defi_staking" | "defi_custody" => C::Defi,
        "defi_dex" | "defi_dex_pair" => C::DecentralizedExchange,
        "defi_bridge" => C::Bridge,
        "defi_token" | "ico_wallet" | "deployer" => C::SmartContract,
        "wallet_service" | "escrow_wallet" | "hot_wallet" | "cold_wallet" | "warm_wallet" | "deposit_wallet" => {
            C::HostedWallet
        }
        "user" | "victim" | "donation" => C::PersonalWallet,
        "payment_processor" => C::MerchantServices,
        "atm" => C::Atm,
        "hosting" | "vpn" | "filesharing" | "messaging_service" | "nameservice" | "search_engine" | "index" => {
            C::Infrastructure
        }
        "organization" | "entity" | "service" => C::UnnamedService,
        "faucet" | "white_list" | "gov_white_list" | "funder" | "gray_usage" | "white_usage" => C::Other,
        "unknown" => C::Unknown,
        _ => C::Unmapped,
    }
}

/// GraphSense confidence level → 0–100 (confidence.csv).
pub fn map_confidence(level: Option<&str>) -> u8 {
    match level {
        Some("override" | "ownership" | "ledger_immanent") => 100,
        Some("manual_transaction") => 90,
        Some("service_api" | "forensic_investigation") => 70,
        Some("authority_data") => 60,
        Some("trusted_provider" | "service_data" | "forensic") => 50,
        Some("untrusted_transaction") => 40,
        Some("web_crawl") => 20,
        Some("heuristic") => 10,
        _ => 5,
    }
}

/// A scalar read as text whatever its YAML type (a label may be written as a number).
#[derive(Debug, Clone, Default)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Scalar;
        impl serde::de::Visitor<'_> for Scalar {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("text, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Text, E> {
                Ok(Text(String::new()))
            }
        }
        d.deserialize_any(Scalar)
    }
}

#[derive(Debug, Default, Deserialize)]
struct Fields {
    address: Option<Text>,
    label: Option<Text>,
    source: Option<Text>,
    currency: Option<Text>,
    network: Option<Text>,
    confidence: Option<Text>,
    category: Option<Text>,
    abuse: Option<Text>,
    #[serde(default)]
    concepts: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
struct Pack {
    title: Option<Text>,
    creator: Option<Text>,
    #[serde(flatten)]
    header: Fields,
    #[serde(default)]
    tags: Vec<Fields>,
}

fn pick<'a>(tag: &'a Option<Text>, header: &'a Option<Text>) -> Option<&'a str> {
    tag.as_ref().or(header.as_ref()).map(|t| t.0.as_str()).filter(|s| !s.is_empty())
}

/// Reads a pack file, or every `.yaml` pack under a directory (recursively), in parallel.
pub fn read_path(path: &Path) -> Result<ImportResult, ImportError> {
    let files = if path.is_dir() { pack_files(path)? } else { vec![path.to_path_buf()] };
    let base =
        if path.is_dir() { path.to_path_buf() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let chunks: Vec<Vec<PathBuf>> =
        (0..threads).map(|t| files.iter().skip(t).step_by(threads).cloned().collect()).collect();
    let results: Vec<Result<ImportResult, ImportError>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let base = &base;
                s.spawn(move || {
                    let mut r = ImportResult::default();
                    for f in chunk {
                        r.merge(read_file(&f, base)?);
                    }
                    Ok(r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Err(ImportError::Thread))).collect()
    });
    let mut all = ImportResult::default();
    for r in results {
        all.merge(r?);
    }
    all.sources.sort_by(|a, b| a.source.name.cmp(&b.source.name));
    Ok(all)
}

fn pack_files(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(ImportError::io(&d))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The 1-based line of each tag of the `tags:` list, found by its leading "- ".
fn tag_lines(text: &str) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    if !lines.by_ref().any(|(_, l)| l.trim_end() == "tags:") {
        return Vec::new();
    }
    let mut indent = None;
    let mut out = Vec::new();
    for (i, l) in lines {
        let trimmed = l.trim_start();
        let this = l.len() - trimmed.len();
        if trimmed.starts_with("- ") || trimmed == "-" {
            match indent {
                None => {
                    indent = Some(this);
                    out.push(i + 1);
                }
                Some(ind) if ind == this => out.push(i + 1),
                _ => {}
            }
        } else {
            // A key back at (or left of) the list's indentation ends the list.
            let content = !trimmed.is_empty() && !trimmed.starts_with('#');
            let outdented = indent.map_or(this == 0, |ind| this < ind);
            if content && outdented {
                break;
            }
        }
    }
    out
}

fn read_file(file: &Path, base: &Path) -> Result<ImportResult, ImportError> {
    let text = std::fs::read_to_string(file).map_err(ImportError::io(file))?;
    let mut result = ImportResult::default();
    // A pack may hold as many nodes as its size allows (the largest public ones have several
    // hundred thousand); aliases stay within the library's defaults, so that a pack cannot
    // expand itself (billion laughs).
    let room = text.len() + 1024;
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_nodes: room, max_events: room, max_total_scalar_bytes: room },
    };
    let pack: Pack = match serde_saphyr::from_str_with_options(&text, options) {
        Ok(p) => p,
        Err(e) => {
            let line = e.location().and_then(|l| usize::try_from(l.line()).ok());
            result.problems.push(Problem {
                file: file.to_path_buf(),
                line,
                message: format!("not a valid TagPack: {e}"),
            });
            return Ok(result);
        }
    };
    let lines = tag_lines(&text);
    let lines_known = lines.len() == pack.tags.len();
    let rel = file.strip_prefix(base).unwrap_or(file).with_extension("");
    let name = format!("graphsense:{}", rel.to_string_lossy().replace('\\', "/"));
    let h = &pack.header;
    let mut labels = Vec::with_capacity(pack.tags.len());
    for (i, tag) in pack.tags.iter().enumerate() {
        let line = if lines_known { Some(lines[i]) } else { None };
        let problem = |message: String| Problem {
            file: file.to_path_buf(),
            line,
            message: if lines_known { message } else { format!("tag #{}: {message}", i + 1) },
        };
        let Some(raw) = pick(&tag.address, &None) else {
            result.problems.push(problem("tag has no address (transaction tags are not imported)".into()));
            continue;
        };
        let currency = pick(&tag.network, &h.network).or(pick(&tag.currency, &h.currency)).unwrap_or("").to_uppercase();
        let network = match currency.as_str() {
            "BTC" => Network::Bitcoin,
            "ETH" => Network::Ethereum,
            "TRX" => Network::Tron,
            "USDT" | "USDC" => token_network(raw),
            "" => {
                result.problems.push(problem("tag has no currency".into()));
                continue;
            }
            other => {
                *result.unsupported.entry(other.to_owned()).or_default() += 1;
                continue;
            }
        };
        let (network, address) = match parse_address(network, raw) {
            Ok(a) => a,
            Err(m) => {
                result.problems.push(problem(m.to_string()));
                continue;
            }
        };
        let label =
            pick(&tag.label, &h.label).or(pack.title.as_ref().map(|t| t.0.as_str())).unwrap_or("GraphSense tag");
        let confidence = map_confidence(pick(&tag.confidence, &h.confidence));
        let source_url = pick(&tag.source, &h.source).unwrap_or("").to_lowercase();
        let mut categories: Vec<RiskCategory> = Vec::with_capacity(2);
        if source_url.contains("treasury.gov")
            && (source_url.contains("ofac") || source_url.contains("sdn") || source_url.contains("sanction"))
        {
            categories.push(RiskCategory::Sanctions);
        }
        let concepts = tag.concepts.as_ref().or(h.concepts.as_ref());
        for concept in [pick(&tag.abuse, &h.abuse), pick(&tag.category, &h.category)]
            .into_iter()
            .flatten()
            .chain(concepts.into_iter().flatten().map(|t| t.0.as_str()))
        {
            let c = map_concept(concept);
            if !categories.contains(&c) {
                categories.push(c);
            }
        }
        if categories.is_empty() {
            categories.push(RiskCategory::Unknown);
        }
        for category in categories {
            labels.push(LabelRecord {
                network,
                address: address.clone(),
                category,
                label: label.to_owned(),
                confidence,
            });
        }
    }
    let title = pack.title.map(|t| t.0).unwrap_or_else(|| name.clone());
    let creator = pack.creator.map(|t| t.0).unwrap_or_else(|| "unknown creator".into());
    result.sources.push(ImportedSource {
        source: LabelSource {
            name,
            kind: "tagpack".into(),
            attribution: format!("GraphSense TagPack \"{title}\" by {creator} (graphsense-tagpacks, MIT)"),
        },
        labels,
    });
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("custos-tagpack-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn header_fields_are_defaults_and_abuse_decides() {
        let d = tmpdir("header");
        write(&d, "p.yaml", "title: T\ncreator: C\ncategory: exchange\nconfidence: service_data\nlabel: L\ncurrency: BTC\nsource: https://example.org\ntags:\n- address: 1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA\n- address: 1Ak8PffB2meyfYnbXZR9EGfLfFZVpzJvQP\n  abuse: ransomware\n  label: 12345\n");
        let r = read_path(&d).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let labels = &r.sources[0].labels;
        assert_eq!(r.sources[0].source.name, "graphsense:p");
        assert_eq!(labels[0].category, RiskCategory::Exchange);
        assert_eq!(labels[0].confidence, 50);
        assert_eq!(labels[1].category, RiskCategory::Ransom, "abuse first");
        assert_eq!(labels[2].category, RiskCategory::Exchange, "and the category too");
        assert_eq!(labels[1].label, "12345");
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_other_currencies_counted() {
        let d = tmpdir("bad");
        write(&d, "p.yaml", "title: T\ncreator: C\ncategory: scam\ncurrency: BTC\ntags:\n- address: 1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA\n- address: 1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabB\n  label: typo\n- address: LX4YojYdeBk3TtUcryCcgAqYxjicKfK7AD\n  currency: LTC\n- address: 0x52908400098527886E0F7030069857D2E4169EE7\n  currency: ETH\n");
        let r = read_path(&d).unwrap();
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].line, Some(7));
        assert!(r.problems[0].message.contains("bad checksum"), "{}", r.problems[0]);
        assert_eq!(r.unsupported.get("LTC"), Some(&1));
        assert_eq!(r.labels(), 2);
    }

    #[test]
    fn ofac_sourced_tags_are_sanctions() {
        let d = tmpdir("ofac");
        write(&d, "ofac.yaml", "title: OFAC\ncreator: X\ncategory: user\nsource: https://www.treasury.gov/ofac/downloads/sdnlist.txt\ncurrency: BTC\ntags:\n- address: 1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA\n");
        let r = read_path(&d).unwrap();
        let cats: Vec<_> = r.sources[0].labels.iter().map(|l| l.category).collect();
        assert_eq!(cats, [RiskCategory::Sanctions, RiskCategory::PersonalWallet]);
    }

    #[test]
    fn a_broken_pack_is_a_problem_not_a_crash() {
        let d = tmpdir("broken");
        write(&d, "p.yaml", "title: [unclosed\n");
        let r = read_path(&d).unwrap();
        assert_eq!(r.problems.len(), 1);
        assert!(r.sources.is_empty());
    }

    #[test]
    fn every_concept_of_the_graphsense_taxonomy_is_mapped() {
        let path = format!("{}/../../testdata/graphsense_concepts.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let structural = [
            "scheme",
            "concept",
            "behaviour",
            "source",
            "mention",
            "website_mention",
            "forum_mention",
            "entity",
            "item",
        ];
        for concept in text.lines().filter(|l| !l.is_empty() && !structural.contains(l)) {
            assert_ne!(map_concept(concept), RiskCategory::Unmapped, "{concept}");
        }
    }
}
