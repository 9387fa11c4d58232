//! Write transactions as a few scripts of statements.
//!
//! SQLite runs each connection on a worker thread, so every statement sent separately costs a
//! round trip between threads. A script goes to SQLite as one multi-statement query (sqlx binds
//! `$N` across its statements and reports each statement's rows and changes), with `BEGIN
//! IMMEDIATE` folded into the first script and `COMMIT` into the last: a typical transaction is
//! two round trips. PostgreSQL accepts one statement per prepared query, so there the statements
//! run one after another inside an ordinary transaction. Each statement is written with its own
//! `$1..$n`, once, for both.

use crate::{map_err, Backend};
use custos_app::StoreError;
use futures_util::TryStreamExt;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Either, Transaction};
use std::borrow::Cow;

/// A value to bind.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, v: &Value) -> Query<'q, Any, AnyArguments<'q>> {
    match v {
        Value::Int(i) => q.bind(*i),
        Value::Text(t) => q.bind(t.clone()),
    }
}

/// Builds the value list of a statement: `values![a, b, c]`.
macro_rules! values {
    ($($v:expr),* $(,)?) => { vec![$($crate::script::Value::from($v)),*] };
}
pub(crate) use values;

/// What one statement returned.
#[derive(Default)]
pub(crate) struct Outcome {
    pub rows: Vec<AnyRow>,
    pub affected: u64,
}

/// Statements sent together.
#[derive(Debug, Default)]
pub(crate) struct Script {
    statements: Vec<(Cow<'static, str>, Vec<Value>)>,
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

/// Collects the rows and the change count of each statement of a (multi-statement) query.
async fn outcomes<'e, 'v, E>(executor: E, sql: &str, values: impl Iterator<Item = &'v Value>) -> Result<Vec<Outcome>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let mut q = sqlx::query(sql);
    for v in values {
        q = bind(q, v);
    }
    // `fetch_many` is deprecated in sqlx 0.8 because only SQLite runs several statements in one
    // prepared query; that is exactly what this module relies on, for SQLite only (PostgreSQL
    // gets one statement per call). The store's tests exercise it on every run; an sqlx upgrade
    // that removes it fails to compile here rather than misbehaving.
    #[allow(deprecated)]
    let mut stream = q.fetch_many(executor);
    let mut all = Vec::new();
    let mut current = Outcome::default();
    while let Some(item) = stream.try_next().await.map_err(map_err)? {
        match item {
            Either::Right(row) => current.rows.push(row),
            Either::Left(done) => {
                current.affected = done.rows_affected();
                all.push(std::mem::take(&mut current));
            }
        }
    }
    Ok(all)
}

/// A write transaction.
pub(crate) enum Session {
    Sqlite { conn: Option<PoolConnection<Any>>, open: bool },
    Postgres(Option<Transaction<'static, Any>>),
}

impl Session {
    pub async fn begin(pool: &AnyPool, backend: Backend) -> Result<Session, StoreError> {
        Ok(match backend {
            Backend::Sqlite => Session::Sqlite { conn: Some(pool.acquire().await.map_err(map_err)?), open: false },
            Backend::Postgres => Session::Postgres(Some(pool.begin().await.map_err(map_err)?)),
        })
    }

    /// Runs `script` in the transaction; one outcome per statement.
    pub async fn run(&mut self, script: &Script) -> Result<Vec<Outcome>, StoreError> {
        self.send(script, false).await
    }

    /// Runs `script` and commits.
    pub async fn commit(mut self, script: &Script) -> Result<Vec<Outcome>, StoreError> {
        let out = self.send(script, true).await?;
        if let Session::Postgres(tx) = &mut self {
            tx.take().expect("open").commit().await.map_err(map_err)?;
        }
        Ok(out)
    }

    pub async fn rollback(mut self) -> Result<(), StoreError> {
        match &mut self {
            Session::Sqlite { conn, open } => {
                if *open {
                    let c = conn.as_mut().expect("connection");
                    sqlx::query("ROLLBACK").execute(&mut **c).await.map_err(map_err)?;
                    *open = false;
                }
            }
            Session::Postgres(tx) => tx.take().expect("open").rollback().await.map_err(map_err)?,
        }
        Ok(())
    }

    async fn send(&mut self, script: &Script, commit: bool) -> Result<Vec<Outcome>, StoreError> {
        match self {
            Session::Sqlite { conn, open } => {
                let begin = !*open;
                let mut sql = String::with_capacity(256 * (script.statements.len() + 1));
                if begin {
                    sql.push_str("BEGIN IMMEDIATE;\n");
                }
                let mut offset = 0;
                for (statement, values) in &script.statements {
                    sql.push_str(&renumber(statement, offset));
                    sql.push_str(";\n");
                    offset += values.len();
                }
                if commit {
                    sql.push_str("COMMIT;\n");
                }
                // From here a failure may leave the transaction open: the connection is then
                // closed (see Drop), which rolls it back.
                *open = true;
                let c = conn.as_mut().expect("connection");
                let values = script.statements.iter().flat_map(|(_, v)| v.iter());
                let mut out = outcomes(&mut **c, &sql, values).await?;
                if begin {
                    out.remove(0);
                }
                if commit {
                    out.pop();
                    *open = false;
                }
                Ok(out)
            }
            Session::Postgres(tx) => {
                let tx = tx.as_mut().expect("open");
                let mut out = Vec::with_capacity(script.statements.len());
                for (statement, values) in &script.statements {
                    out.extend(outcomes(&mut **tx, statement, values.iter()).await?);
                }
                Ok(out)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // An unfinished SQLite transaction (an error, or the request was cancelled): close the
        // connection rather than return it to the pool inside the transaction.
        if let Session::Sqlite { conn: Some(c), open: true } = self {
            c.close_on_drop();
        }
    }
}

/// Shifts every `$n` placeholder of `sql` by `offset`.
fn renumber(sql: &str, offset: usize) -> Cow<'_, str> {
    if offset == 0 {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut n = 0usize;
            let mut digits = false;
            while let Some(v) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + v as usize;
                digits = true;
                chars.next();
            }
            if digits {
                out.push_str(&(n + offset).to_string());
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_shifted() {
        assert_eq!(super::renumber("INSERT INTO t (a, b) VALUES ($1, $12)", 3), "INSERT INTO t (a, b) VALUES ($4, $15)");
        assert_eq!(super::renumber("UPDATE t SET a = $1", 0), "UPDATE t SET a = $1");
    }
}
