//! The SQLite and PostgreSQL migrations describe the same schema.

use crate::common::*;
use sqlx::Row;
use std::collections::BTreeSet;

type Columns = BTreeSet<(String, String, String, bool)>;

async fn sqlite_schema(t: &TestApp) -> (Columns, BTreeSet<String>) {
    let pool = t.store.pool();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut cols = Columns::new();
    for table in tables {
        for r in sqlx::query(&format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"))
            .fetch_all(pool)
            .await
            .unwrap()
        {
            let not_null = r.get::<i64, _>(2) == 1 || r.get::<i64, _>(3) > 0;
            cols.insert((table.clone(), r.get::<String, _>(0), r.get::<String, _>(1).to_lowercase(), not_null));
        }
    }
    let indexes =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    (cols, indexes)
}

async fn postgres_schema(t: &TestApp) -> (Columns, BTreeSet<String>) {
    let pool = t.store.pool();
    let rows = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let cols = rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1), r.get::<String, _>(2), r.get::<String, _>(3) == "NO"))
        .collect();
    let indexes = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    (cols, indexes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_agree() {
    let Some(pg) = TestApp::new(Backend::Postgres).await else {
        eprintln!("PostgreSQL skipped (CUSTOS_TEST_POSTGRES_URL=skip)");
        return;
    };
    let lite = TestApp::new(Backend::Sqlite).await.unwrap();
    let (lite_cols, lite_idx) = sqlite_schema(&lite).await;
    let (pg_cols, pg_idx) = postgres_schema(&pg).await;
    assert!(lite_cols.len() > 80, "{}", lite_cols.len());
    let only_lite: Vec<_> = lite_cols.difference(&pg_cols).collect();
    let only_pg: Vec<_> = pg_cols.difference(&lite_cols).collect();
    assert!(
        only_lite.is_empty() && only_pg.is_empty(),
        "only in SQLite: {only_lite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
    assert_eq!(lite_idx, pg_idx);
}

both!(migrations_run_once_and_are_idempotent, |t: TestApp| async move {
    assert!(t.store.migrate().await.unwrap().is_empty(), "nothing left to apply");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(t.store.pool())
        .await
        .unwrap();
    let expected: Vec<i64> = custos_store::migrations().iter().map(|m| m.version).collect();
    assert_eq!(versions, expected);
});

both!(an_applied_migration_that_was_edited_is_refused, |t: TestApp| async move {
    sqlx::query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .execute(t.store.pool())
        .await
        .unwrap();
    let err = t.store.migrate().await.unwrap_err();
    assert!(err.to_string().contains("changed after it was applied"), "{err}");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_in_wal_mode_with_durable_commits_and_a_busy_timeout() {
    let t = TestApp::new(Backend::Sqlite).await.unwrap();
    let pool = t.store.pool();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(pool).await.unwrap();
    let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
    assert_eq!((mode.as_str(), sync, timeout), ("wal", 2, 10_000), "WAL, synchronous=FULL, 10 s busy timeout");
}
