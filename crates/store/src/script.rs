//! Write transactions as a few scripts of statements.
//!
//! On SQLite a script is one message to the writer thread (`sqlite_writer`), with `BEGIN
//! IMMEDIATE` folded into the first script and `COMMIT` into the last: a typical transaction is
//! two round trips. On PostgreSQL the statements run one after another inside an ordinary sqlx
//! transaction. Each statement is written once, with `$1..$n`, for both.

use crate::sqlite_writer::{Durable, SqliteWriter};
pub(crate) use crate::value::{values, LiteRow, OutRow, Outcome, Value};
use crate::{map_err, Backend};
use custos_app::StoreError;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Transaction};
use std::borrow::Cow;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, v: &Value) -> Query<'q, Any, AnyArguments<'q>> {
    match v {
        Value::Int(i) => q.bind(*i),
        Value::Text(t) => q.bind(t.clone()),
    }
}

/// Statements sent together.
#[derive(Debug, Default)]
pub(crate) struct Script {
    statements: crate::sqlite_writer::Statements,
}

impl Script {
    pub fn push(&mut self, sql: impl Into<Cow<'static, str>>, values: Vec<Value>) {
        self.statements.push((sql.into(), values));
    }

    pub fn one(sql: impl Into<Cow<'static, str>>, values: Vec<Value>) -> Script {
        let mut s = Script::default();
        s.push(sql, values);
        s
    }
}

/// Whether a statement returns rows (a query, or a write with RETURNING).
fn returns_rows(sql: &str) -> bool {
    let head = sql.trim_start();
    head.get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select")) || sql.contains(" RETURNING ")
}

/// A write transaction.
pub(crate) enum Session {
    Sqlite { writer: Arc<SqliteWriter>, exclusive: Option<OwnedMutexGuard<()>>, open: bool },
    Postgres(Option<Transaction<'static, Any>>),
}

impl Session {
    pub async fn begin(
        writer: Option<&Arc<SqliteWriter>>,
        pool: &AnyPool,
        backend: Backend,
    ) -> Result<Session, StoreError> {
        Ok(match (backend, writer) {
            (Backend::Sqlite, Some(w)) => {
                Session::Sqlite { writer: w.clone(), exclusive: Some(w.lock().await), open: false }
            }
            _ => Session::Postgres(Some(pool.begin().await.map_err(map_err)?)),
        })
    }

    /// Runs `script` in the transaction; one outcome per statement.
    pub async fn run(&mut self, script: Script) -> Result<Vec<Outcome>, StoreError> {
        Ok(self.send(script, false).await?.0)
    }

    /// Runs `script` and commits; returns once the transaction is durable.
    pub async fn commit(mut self, script: Script) -> Result<Vec<Outcome>, StoreError> {
        let (out, durable) = self.send(script, true).await?;
        match &mut self {
            Session::Postgres(tx) => tx.take().expect("open").commit().await.map_err(map_err)?,
            Session::Sqlite { exclusive, .. } => {
                // Sequenced: let the next session start while this one waits for the disk.
                drop(exclusive.take());
                if let Some(durable) = durable {
                    durable.await.map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))??;
                }
            }
        }
        Ok(out)
    }

    pub async fn rollback(mut self) -> Result<(), StoreError> {
        match &mut self {
            Session::Sqlite { writer, open, .. } => {
                if *open {
                    writer.rollback();
                    *open = false;
                }
            }
            Session::Postgres(tx) => tx.take().expect("open").rollback().await.map_err(map_err)?,
        }
        Ok(())
    }

    async fn send(&mut self, script: Script, commit: bool) -> Result<(Vec<Outcome>, Option<Durable>), StoreError> {
        match self {
            Session::Sqlite { writer, open, .. } => {
                let begin = !*open;
                // Until the answer arrives the session may be open; a failed script is rolled
                // back by the writer itself.
                *open = true;
                let result = writer.run(script.statements, begin, commit).await;
                *open = result.is_ok() && !commit;
                result
            }
            Session::Postgres(tx) => {
                let tx = tx.as_mut().expect("open");
                let mut out = Vec::with_capacity(script.statements.len());
                for (statement, values) in &script.statements {
                    let mut q = sqlx::query(statement.as_ref());
                    for v in values {
                        q = bind(q, v);
                    }
                    let outcome = if returns_rows(statement) {
                        let rows: Vec<OutRow> =
                            q.fetch_all(&mut **tx).await.map_err(map_err)?.into_iter().map(OutRow::Any).collect();
                        Outcome { affected: rows.len() as u64, rows }
                    } else {
                        Outcome { affected: q.execute(&mut **tx).await.map_err(map_err)?.rows_affected(), rows: vec![] }
                    };
                    out.push(outcome);
                }
                Ok((out, None))
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Cancelled mid-transaction (the request went away): roll back before the next session,
        // which waits for the lock this session still holds.
        if let Session::Sqlite { writer, open: true, .. } = self {
            writer.rollback();
        }
    }
}
