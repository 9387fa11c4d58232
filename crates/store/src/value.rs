//! The values a statement binds and the rows it returns, shared by the script runner and the
//! SQLite writer.

use sqlx::any::AnyRow;
use std::sync::Arc;

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

/// Builds the value list of a statement: `values![a, b, c]`.
macro_rules! values {
    ($($v:expr),* $(,)?) => { vec![$($crate::value::Value::from($v)),*] };
}
pub(crate) use values;

/// A row read by the SQLite writer: column names and values.
pub(crate) struct LiteRow {
    pub names: Arc<[String]>,
    pub values: Vec<Value>,
}

/// A row returned by a script, from either backend.
pub(crate) enum OutRow {
    Any(AnyRow),
    Lite(LiteRow),
}

/// What one statement returned.
#[derive(Default)]
pub(crate) struct Outcome {
    pub rows: Vec<OutRow>,
    pub affected: u64,
}
