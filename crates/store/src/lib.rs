//! SQLite and PostgreSQL storage, with each query written once (`$n` placeholders, which both
//! backends accept).
//!
//! SQLite runs in WAL mode with `synchronous=FULL` (durable commits) and a busy timeout. Every
//! write transaction goes through one writer thread (`sqlite_writer`: one writer, with group
//! commit); reads use a pool of sqlx connections. PostgreSQL uses one sqlx pool, and row locks
//! (`FOR UPDATE`) where SQLite relies on its single writer. Write transactions are scripts of
//! statements (`script`), so that SQLite needs two round trips per transaction.

mod accounts;
mod api_keys;
mod appeals;
mod audit;
mod audit_log;
mod base;
mod cards;
mod cases;
mod chain;
mod disclosures;
mod idempotency;
mod keys;
mod kyc;
mod labels;
mod migrate;
mod orders;
mod outbox;
mod policy;
mod queue;
mod requests;
mod rows;
mod script;
mod sessions;
mod sqlite_writer;
mod standing;

mod value;

pub use migrate::{migrations, Migration};

use custos_app::StoreError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions as _, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqlStore {
    backend: Backend,
    /// PostgreSQL: writes. SQLite: one connection, for migrations only.
    write: AnyPool,
    /// Reads. The same pool as `write` for PostgreSQL.
    read: AnyPool,
    /// SQLite: the thread that runs every write transaction.
    writer: Option<Arc<sqlite_writer::SqliteWriter>>,
}

/// Options for [`SqlStore::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { max_connections: 16, acquire_timeout: Duration::from_secs(10) }
    }
}

impl SqlStore {
    /// Connects to `sqlite://path` or `postgres://...`. Does not migrate.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Other(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                redact(url)
            )));
        };
        // Loading the label index reads half a million rows at start; that is not a slow query
        // worth a warning, so only statements over 10 s are reported.
        let connect_opts = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(e.to_string()))?
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(10));
        let pool = |max: u32| {
            AnyPoolOptions::new().max_connections(max).acquire_timeout(opts.acquire_timeout).after_connect(
                move |conn, _| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                },
            )
        };
        let writer = match backend {
            Backend::Sqlite => Some(Arc::new(sqlite_writer::SqliteWriter::open(url)?)),
            Backend::Postgres => None,
        };
        let (write, read) = match backend {
            Backend::Sqlite => {
                let write = pool(1).connect_with(connect_opts.clone()).await.map_err(map_err)?;
                let read = pool(opts.max_connections.clamp(1, 8)).connect_with(connect_opts).await.map_err(map_err)?;
                (write, read)
            }
            Backend::Postgres => {
                let p = pool(opts.max_connections).connect_with(connect_opts).await.map_err(map_err)?;
                (p.clone(), p)
            }
        };
        Ok(SqlStore { backend, write, read, writer })
    }

    pub fn backend_kind(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations; refuses if an applied one was changed.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        migrate::run(self).await
    }

    /// The pool for ad-hoc queries in tests and tools.
    pub fn pool(&self) -> &AnyPool {
        &self.write
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// " FOR UPDATE" on PostgreSQL; nothing on SQLite, whose single writer serialises.
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// Hides the password of a database URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::Database(db) if db.message().contains("database is locked") => {
            StoreError::Unavailable(db.message().to_owned())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_are_redacted() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://./x.db"), "sqlite://./x.db");
    }
}
