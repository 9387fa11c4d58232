//! The SQLite write connection, on a thread of its own, with group commit.
//!
//! sqlx runs SQLite on a worker thread too, but answers every statement and every row with a
//! separate message, each waking the async side. Here a whole script (a transaction, or the
//! part of one before the application decides the rest) is one message in and one message out.
//! Reads stay on sqlx's pool.
//!
//! Group commit: each session is a SAVEPOINT inside a physical transaction. Committing a
//! session releases its savepoint (the session is *sequenced*; the next one may start) and waits
//! until the physical transaction commits (*durable*). The writer commits, with one fsync,
//! whenever its queue runs empty between sessions, so under load many sessions share an fsync
//! and nothing is acknowledged before it is on disk. A failed session rolls back to its own
//! savepoint and leaves the others alone.

use crate::value::{LiteRow, OutRow, Outcome, Value};
use custos_app::StoreError;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

pub(crate) type Statements = Vec<(Cow<'static, str>, Vec<Value>)>;

/// Resolves when the session's writes are on disk (or failed to get there).
pub(crate) type Durable = oneshot::Receiver<Result<(), StoreError>>;

/// The answer to a script: its outcomes, and for a commit when it becomes durable.
pub(crate) type RunResult = Result<(Vec<Outcome>, Option<Durable>), StoreError>;

pub(crate) enum Job {
    Run {
        statements: Statements,
        begin: bool,
        commit: bool,
        reply: oneshot::Sender<RunResult>,
    },
    Rollback,
    /// Answers once everything sequenced so far is durable.
    Barrier(oneshot::Sender<Result<(), StoreError>>),
}

/// The handle to the writer thread. Sessions take `lock` for the whole transaction.
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
    lock: Arc<Mutex<()>>,
    /// Sessions waiting for `lock`: while there are some, the writer holds a group open.
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(Some(i)) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(Some(t)) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn db_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// The file of a `sqlite:` URL.
fn path_of(url: &str) -> &str {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    rest.split('?').next().unwrap_or(rest)
}

impl SqliteWriter {
    pub fn open(url: &str) -> Result<SqliteWriter, StoreError> {
        let conn = Connection::open_with_flags(
            path_of(url),
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_error)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; \
             PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
        )
        .map_err(db_error)?;
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let writer_queued = queued.clone();
        std::thread::Builder::new()
            .name("custos-sqlite-writer".into())
            .spawn(move || serve(conn, rx, writer_queued))
            .map_err(|e| StoreError::Other(format!("cannot start the SQLite writer: {e}")))?;
        Ok(SqliteWriter { jobs, lock: Arc::new(Mutex::new(())), queued })
    }

    pub async fn lock(&self) -> OwnedMutexGuard<()> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let guard = self.lock.clone().lock_owned().await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        guard
    }

    /// Runs a script; when `commit`, also returns the receiver that resolves once it is durable.
    pub async fn run(&self, statements: Statements, begin: bool, commit: bool) -> RunResult {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Run { statements, begin, commit, reply })
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }

    /// Rolls back whatever transaction is open, after the jobs already sent.
    pub fn rollback(&self) {
        let _ = self.jobs.send(Job::Rollback);
    }

    /// Waits until everything other sessions have committed is durable (and so visible to
    /// the read pool).
    pub async fn barrier(&self) -> Result<(), StoreError> {
        let (done, durable) = oneshot::channel();
        self.jobs
            .send(Job::Barrier(done))
            .map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?;
        durable.await.map_err(|_| StoreError::Unavailable("the SQLite writer has stopped".into()))?
    }
}

/// The writer's state between jobs.
struct Writer {
    conn: Connection,
    /// A session's savepoint is open (its transaction is in progress).
    in_session: bool,
    /// Sessions sequenced in the open physical transaction, waiting for it to commit.
    waiting: Vec<oneshot::Sender<Result<(), StoreError>>>,
}

/// Sessions per physical transaction at most, to bound latency and the WAL's growth.
const MAX_GROUP: usize = 256;
/// How long a group is held open for sessions queued behind the current one.
const MAX_GROUP_WAIT: Duration = Duration::from_millis(2);

fn serve(conn: Connection, jobs: mpsc::Receiver<Job>, queued: Arc<AtomicUsize>) {
    let mut w = Writer { conn, in_session: false, waiting: Vec::new() };
    let mut group_started: Option<Instant> = None;
    loop {
        let job = match jobs.try_recv() {
            Ok(job) => job,
            Err(mpsc::TryRecvError::Disconnected) => break,
            Err(mpsc::TryRecvError::Empty) => {
                // Sessions are queued for the lock and the group is young: wait for the next
                // one rather than pay an fsync now.
                let started = *group_started.get_or_insert_with(Instant::now);
                let left = MAX_GROUP_WAIT.saturating_sub(started.elapsed());
                let next = if !w.waiting.is_empty() && queued.load(Ordering::SeqCst) > 0 && !left.is_zero() {
                    jobs.recv_timeout(left).ok()
                } else {
                    None
                };
                match next {
                    Some(job) => job,
                    None => {
                        // Nothing more is coming soon: make what is sequenced durable.
                        w.commit_group();
                        group_started = None;
                        match jobs.recv() {
                            Ok(job) => job,
                            Err(_) => break,
                        }
                    }
                }
            }
        };
        match job {
            Job::Rollback => w.abort_session(),
            Job::Barrier(done) => {
                if w.waiting.is_empty() {
                    let _ = done.send(Ok(()));
                } else {
                    w.waiting.push(done);
                }
            }
            Job::Run { statements, begin, commit, reply } => {
                let result = w.run(&statements, begin, commit);
                if result.is_err() {
                    // A failed script never leaves its session open.
                    w.abort_session();
                }
                let _ = reply.send(result);
                if w.waiting.len() >= MAX_GROUP {
                    w.commit_group();
                }
            }
        }
    }
    w.commit_group();
}

impl Writer {
    fn run(
        &mut self,
        statements: &Statements,
        begin: bool,
        commit: bool,
    ) -> Result<(Vec<Outcome>, Option<Durable>), StoreError> {
        if begin {
            if self.conn.is_autocommit() {
                self.conn.execute_batch("BEGIN IMMEDIATE").map_err(db_error)?;
            }
            self.conn.execute_batch("SAVEPOINT session").map_err(db_error)?;
            self.in_session = true;
        }
        let out = run(&self.conn, statements)?;
        if !commit {
            return Ok((out, None));
        }
        self.conn.execute_batch("RELEASE session").map_err(db_error)?;
        self.in_session = false;
        let (done, durable) = oneshot::channel();
        self.waiting.push(done);
        Ok((out, Some(durable)))
    }

    fn abort_session(&mut self) {
        if self.in_session {
            let _ = self.conn.execute_batch("ROLLBACK TO session; RELEASE session");
            self.in_session = false;
        }
    }

    /// Commits the physical transaction if no session is in progress, and tells the waiting
    /// sessions how it went.
    fn commit_group(&mut self) {
        if self.in_session || self.conn.is_autocommit() {
            return;
        }
        let result = self.conn.execute_batch("COMMIT").map_err(db_error);
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        for w in self.waiting.drain(..) {
            let _ = w.send(result.clone());
        }
    }
}

/// SQLite reads `$1` as a *named* parameter, numbered by first appearance, where PostgreSQL
/// numbers it by its digits; `?1` means the same on SQLite as `$1` on PostgreSQL.
fn numbered(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn run(conn: &Connection, statements: &Statements) -> Result<Vec<Outcome>, StoreError> {
    let mut out = Vec::with_capacity(statements.len());
    for (sql, values) in statements {
        let mut stmt = conn.prepare_cached(&numbered(sql)).map_err(db_error)?;
        let columns = stmt.column_count();
        let mut outcome = Outcome::default();
        if columns == 0 {
            outcome.affected = stmt.execute(rusqlite::params_from_iter(values.iter())).map_err(db_error)? as u64;
        } else {
            let names: Arc<[String]> = stmt.column_names().iter().map(|n| (*n).to_owned()).collect();
            let mut rows = stmt.query(rusqlite::params_from_iter(values.iter())).map_err(db_error)?;
            while let Some(row) = rows.next().map_err(db_error)? {
                let mut values = Vec::with_capacity(columns);
                for i in 0..columns {
                    values.push(match row.get_ref(i).map_err(db_error)? {
                        ValueRef::Integer(n) => Value::Int(Some(n)),
                        ValueRef::Null => Value::Text(None),
                        ValueRef::Real(r) => Value::Text(Some(r.to_string())),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Value::Text(Some(String::from_utf8_lossy(t).into_owned()))
                        }
                    });
                }
                outcome.rows.push(OutRow::Lite(LiteRow { names: names.clone(), values }));
            }
            drop(rows);
            outcome.affected = conn.changes();
        }
        out.push(outcome);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parameters_are_numbered_as_postgresql_numbers_them() {
        assert_eq!(super::numbered("UPDATE t SET a = $2 WHERE id = $1"), "UPDATE t SET a = ?2 WHERE id = ?1");
        assert_eq!(super::numbered("SELECT 1"), "SELECT 1");
    }
}
