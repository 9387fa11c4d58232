//! Embedded migrations, one SQL file per backend per version, applied in order in a
//! transaction each, with a checksum so that an edited applied migration is refused.

use crate::{map_err, Backend, SqlStore};
use custos_app::StoreError;
use sha2::{Digest, Sha256};
use sqlx::Row;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// One migration: its version, its name, and its file (`NNNN_name.sql`) for each backend.
macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

pub fn migrations() -> &'static [Migration] {
    &[
        migration!(1, "foundation", "0001_foundation.sql"),
        migration!(2, "webhook_delivery", "0002_webhook_delivery.sql"),
        migration!(3, "decisions_refunds", "0003_decisions_refunds.sql"),
        migration!(4, "customers_requests", "0004_customers_requests.sql"),
        migration!(5, "case_work", "0005_case_work.sql"),
        migration!(6, "deposit_sources", "0006_deposit_sources.sql"),
        migration!(7, "refund_alerts", "0007_refund_alerts.sql"),
        migration!(8, "accounts", "0008_accounts.sql"),
        migration!(9, "documents_appeals", "0009_documents_appeals.sql"),
        migration!(10, "kyc", "0010_kyc.sql"),
        migration!(11, "verification_files", "0011_verification_files.sql"),
        migration!(12, "document_kinds_names", "0012_document_kinds_names.sql"),
        migration!(13, "data_keys", "0013_data_keys.sql"),
        migration!(14, "standing_appeals", "0014_standing_appeals.sql"),
        migration!(15, "chain_watch", "0015_chain_watch.sql"),
        migration!(16, "sweeps", "0016_sweeps.sql"),
        migration!(17, "answered_by", "0017_answered_by.sql"),
        migration!(18, "request_messages_sealed", "0018_request_messages_sealed.sql"),
        migration!(19, "account_utc_offset", "0019_account_utc_offset.sql"),
        migration!(20, "queue", "0020_queue.sql"),
        migration!(21, "decision_rationale", "0021_decision_rationale.sql"),
        migration!(22, "case_figures", "0022_case_figures.sql"),
        migration!(23, "authority_requests", "0023_authority_requests.sql"),
        migration!(24, "legal_holds", "0024_legal_holds.sql"),
    ]
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

pub(crate) async fn run(store: &SqlStore) -> Result<Vec<i64>, StoreError> {
    let mut conn = store.write.acquire().await.map_err(map_err)?;
    if store.backend == Backend::Postgres {
        // Two servers starting at once must not both migrate.
        sqlx::query("SELECT pg_advisory_lock(727001)").execute(&mut *conn).await.map_err(map_err)?;
    }
    let result = apply(store.backend, &mut conn).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock(727001)").execute(&mut *conn).await.map_err(map_err)?;
    }
    result
}

async fn apply(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<Vec<i64>, StoreError> {
    sqlx::query(CREATE_TABLE).execute(&mut *conn).await.map_err(map_err)?;
    let applied: Vec<(i64, String)> = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)))
        .collect();
    let mut done = Vec::new();
    for m in migrations() {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        if let Some((_, sum)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *sum != checksum {
                return Err(StoreError::Other(format!(
                    "migration {} ({}) was changed after it was applied; restore it and add a new migration instead",
                    m.version, m.name
                )));
            }
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(map_err)?;
        sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(map_err)?;
        sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(m.version)
            .bind(m.name)
            .bind(&checksum)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        done.push(m.version);
    }
    Ok(done)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
