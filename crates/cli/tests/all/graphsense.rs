//! All 86 public GraphSense TagPacks of shared/data import, on both databases, and re-importing
//! them replaces rather than duplicates.

use crate::common::*;
use custos_app::repos::LabelRepo;
use custos_app::SystemClock;
use custos_domain::{Address, Network, RiskCategory};
use custos_screening::import::{self, Format};
use std::path::PathBuf;

fn packs_dir() -> PathBuf {
    let shared = std::env::var("CUSTOS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    // The test script sets CUSTOS_SHARED_DIR; without it, the folder beside the repository.
    let dir = shared.join("data/graphsense-tagpacks/packs");
    assert!(dir.is_dir(), "{} not found: set CUSTOS_SHARED_DIR to the shared folder", dir.display());
    dir
}

both!(all_86_graphsense_tagpacks_import_and_reimport_without_duplicates, |t: TestApp| async move {
    let dir = packs_dir();
    let result =
        tokio::task::spawn_blocking(move || import::read(&[dir], Some(Format::Tagpack))).await.unwrap().unwrap();
    assert_eq!(result.sources.len(), 86);
    assert!(result.labels() > 500_000, "{}", result.labels());
    assert!(result.problems.len() < 100, "{} problems", result.problems.len());
    assert!(result.problems.iter().all(|p| p.line.is_some()), "every bad row has its line");
    assert!(result.unsupported.contains_key("LTC"), "other currencies are counted, not dropped silently");

    let written = custos_cli::bootstrap::write_sources(t.store.as_ref(), &result, &SystemClock, false).await.unwrap();
    assert_eq!(written as usize, result.labels());
    let count = |t: &TestApp| {
        let pool = t.store.pool().clone();
        async move { sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM labels").fetch_one(&pool).await.unwrap() }
    };
    let first = count(&t).await;
    custos_cli::bootstrap::write_sources(t.store.as_ref(), &result, &SystemClock, false).await.unwrap();
    assert_eq!(count(&t).await, first, "re-importing replaces each source");
    let stats = t.store.label_stats().await.unwrap();
    assert_eq!(stats.iter().filter(|s| s.name.starts_with("graphsense:")).count(), 86);
    assert!(stats.iter().all(|s| !s.attribution.is_empty()));

    let index = custos_cli::bootstrap::load_index(t.store.as_ref()).await.unwrap();
    t.builtin.replace(index);
    // A ransomware address of the public "ransomware" pack, and a Lazarus Group (OFAC) one.
    for (raw, category) in [
        ("13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94", RiskCategory::Ransom),
        ("134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak", RiskCategory::Sanctions),
    ] {
        let report = t.builtin.screen_now(&Address::parse(Network::Bitcoin, raw).unwrap());
        assert!(report.categories.iter().any(|c| c.category == category), "{raw}: {:?}", report.categories);
    }
});
