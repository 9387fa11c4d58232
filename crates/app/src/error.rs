//! Errors of the use cases, each with a stable code the API exposes.

use crate::ports::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but its content is not acceptable (HTTP 422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Something referred to does not exist (HTTP 404).
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    /// The caller may not do this, whatever its content (HTTP 403): e.g. an API key where a
    /// named member of staff must act.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// The request conflicts with the current state (HTTP 409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A dependency (the database) is unavailable; retry later (HTTP 503).
    #[error("service temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; details are logged, not shown (HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid { code, message: message.into() }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        AppError::NotFound { code, message: message.into() }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Forbidden { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into() }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. }
            | AppError::NotFound { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. } => code,
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Conflict(m) => AppError::conflict("conflict", m),
            StoreError::Other(m) => AppError::Internal(m),
        }
    }
}
