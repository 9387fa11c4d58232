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

pub fn migrations() -> &'static [Migration] {
    &[
        Migration {
            version: 1,
            name: "foundation",
            sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
            postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
        },
        Migration {
            version: 2,
            name: "webhook_delivery",
            sqlite: include_str!("../migrations/sqlite/0002_webhook_delivery.sql"),
            postgres: include_str!("../migrations/postgres/0002_webhook_delivery.sql"),
        },
        Migration {
            version: 3,
            name: "decisions_refunds",
            sqlite: include_str!("../migrations/sqlite/0003_decisions_refunds.sql"),
            postgres: include_str!("../migrations/postgres/0003_decisions_refunds.sql"),
        },
        Migration {
            version: 4,
            name: "customers_requests",
            sqlite: include_str!("../migrations/sqlite/0004_customers_requests.sql"),
            postgres: include_str!("../migrations/postgres/0004_customers_requests.sql"),
        },
        Migration {
            version: 5,
            name: "case_work",
            sqlite: include_str!("../migrations/sqlite/0005_case_work.sql"),
            postgres: include_str!("../migrations/postgres/0005_case_work.sql"),
        },
        Migration {
            version: 6,
            name: "deposit_sources",
            sqlite: include_str!("../migrations/sqlite/0006_deposit_sources.sql"),
            postgres: include_str!("../migrations/postgres/0006_deposit_sources.sql"),
        },
        Migration {
            version: 7,
            name: "refund_alerts",
            sqlite: include_str!("../migrations/sqlite/0007_refund_alerts.sql"),
            postgres: include_str!("../migrations/postgres/0007_refund_alerts.sql"),
        },
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
