//! Errors of the use cases, each with a stable code the API exposes.

/// Every error code the API and the pages can answer with: the problem catalogue (and the
/// OpenAPI document's list) is this enum, so nothing can emit a code outside it.
macro_rules! error_codes {
    ($($variant:ident => $code:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    AccountNotFound => "account_not_found",
    AddressBadChecksum => "address_bad_checksum",
    AddressBadEip55Checksum => "address_bad_eip55_checksum",
    AddressBadLength => "address_bad_length",
    AddressDocumentTooOld => "address_document_too_old",
    AddressEmpty => "address_empty",
    AddressInvalidCharacter => "address_invalid_character",
    AddressInvalidPadding => "address_invalid_padding",
    AddressInvalidWitnessProgram => "address_invalid_witness_program",
    AddressInvalidWitnessVersion => "address_invalid_witness_version",
    AddressMissing0x => "address_missing_0x",
    AddressMissingSeparator => "address_missing_separator",
    AddressMixedCase => "address_mixed_case",
    AddressUnknownPrefix => "address_unknown_prefix",
    AddressWrongChecksumVariant => "address_wrong_checksum_variant",
    AddressWrongNetwork => "address_wrong_network",
    AnswerNeedsCustomer => "answer_needs_customer",
    AnswersByKeyDisabled => "answers_by_key_disabled",
    ApiKeyNotFound => "api_key_not_found",
    AppealAnswered => "appeal_answered",
    AppealNotFound => "appeal_not_found",
    AppealOpen => "appeal_open",
    ApprovalNotPermitted => "approval_not_permitted",
    AssetMismatch => "asset_mismatch",
    AssetNotOnNetwork => "asset_not_on_network",
    BadSignature => "bad_signature",
    BelowFee => "below_fee",
    BodyTooLarge => "body_too_large",
    CardHolderMismatch => "card_holder_mismatch",
    CaseClosed => "case_closed",
    CaseNotFound => "case_not_found",
    Conflict => "conflict",
    CustomerNotFound => "customer_not_found",
    CustomerRequired => "customer_required",
    CustomerRestricted => "customer_restricted",
    DecisionNotFound => "decision_not_found",
    DecisionNotPending => "decision_not_pending",
    DocumentKind => "document_kind",
    DocumentNotFound => "document_not_found",
    EmptyFile => "empty_file",
    ErasureNotAllowed => "erasure_not_allowed",
    EventNotFound => "event_not_found",
    FileTooLarge => "file_too_large",
    Forbidden => "forbidden",
    FourEyes => "four_eyes",
    FourEyesNeedsStaff => "four_eyes_needs_staff",
    IdempotencyKeyReused => "idempotency_key_reused",
    IdempotencyRequestInProgress => "idempotency_request_in_progress",
    IdentityNameRequired => "identity_name_required",
    IllegalTransition => "illegal_transition",
    InternalError => "internal_error",
    InvalidAmount => "invalid_amount",
    InvalidBody => "invalid_body",
    InvalidCard => "invalid_card",
    InvalidEmail => "invalid_email",
    InvalidField => "invalid_field",
    InvalidIdempotencyKey => "invalid_idempotency_key",
    InvalidName => "invalid_name",
    InvalidPath => "invalid_path",
    InvalidPolicy => "invalid_policy",
    InvalidQuery => "invalid_query",
    InvalidScope => "invalid_scope",
    InvalidTxid => "invalid_txid",
    IssueDateRequired => "issue_date_required",
    KycPending => "kyc_pending",
    KycRequired => "kyc_required",
    KycSofRequired => "kyc_sof_required",
    MethodNotAllowed => "method_not_allowed",
    NetworkMismatch => "network_mismatch",
    NetworkNotConfigured => "network_not_configured",
    NoCard => "no_card",
    NoDeposit => "no_deposit",
    NoKycProvider => "no_kyc_provider",
    NotAppealable => "not_appealable",
    NotFound => "not_found",
    OrderNotFound => "order_not_found",
    OrderNotPayable => "order_not_payable",
    ProviderDecides => "provider_decides",
    ReasonRequired => "reason_required",
    RefundNotFound => "refund_not_found",
    RefundRefused => "refund_refused",
    RefundSent => "refund_sent",
    RequestAnswered => "request_answered",
    RequestNotFound => "request_not_found",
    ScopeNeedsOperator => "scope_needs_operator",
    ServiceUnavailable => "service_unavailable",
    SignerUnsupported => "signer_unsupported",
    StepNotRequested => "step_not_requested",
    StepUpRequired => "step_up_required",
    TooManyFiles => "too_many_files",
    TxidNetworkMismatch => "txid_network_mismatch",
    Unauthorized => "unauthorized",
    UnknownAsset => "unknown_asset",
    UnknownDepositAddress => "unknown_deposit_address",
    UnknownLevel => "unknown_level",
    UnknownNetwork => "unknown_network",
    UnsupportedFile => "unsupported_file",
    UnsupportedMediaType => "unsupported_media_type",
    VerificationClosed => "verification_closed",
    VerificationFinal => "verification_final",
    VerificationNotFound => "verification_not_found",
}

impl ErrorCode {
    /// The code of an address the domain refused.
    pub fn of_address(e: &custos_domain::AddressError) -> ErrorCode {
        let code = e.code();
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code).unwrap_or(ErrorCode::InvalidField)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a store could not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique key is taken: an account's e-mail, an order's open appeal, a row written twice.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The order's lifecycle refuses an event; nothing was written.
    #[error("{0}")]
    IllegalTransition(#[from] custos_domain::order::IllegalTransition),
    #[error("database error: {0}")]
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but its content is not acceptable (HTTP 422).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// Something referred to does not exist (HTTP 404).
    #[error("{message}")]
    NotFound { code: ErrorCode, message: String },
    /// The caller may not do this, whatever its content (HTTP 403): e.g. an API key where a
    /// named member of staff must act.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// The request conflicts with the current state (HTTP 409).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A dependency (the database) is unavailable; retry later (HTTP 503).
    #[error("service temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state; details are logged, not shown (HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        AppError::Invalid { code, message: message.to_string() }
    }

    pub fn not_found(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        AppError::NotFound { code, message: message.to_string() }
    }

    pub fn forbidden(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        AppError::Forbidden { code, message: message.to_string() }
    }

    pub fn conflict(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        AppError::Conflict { code, message: message.to_string() }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            AppError::Invalid { code, .. }
            | AppError::NotFound { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. } => *code,
            AppError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            AppError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<crate::ports::RemoteError> for AppError {
    fn from(e: crate::ports::RemoteError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Conflict(m) => AppError::conflict(ErrorCode::Conflict, m),
            StoreError::IllegalTransition(e) => AppError::conflict(ErrorCode::IllegalTransition, e),
            StoreError::Other(m) => AppError::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_unique_snake_case_and_cover_every_address_refusal() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(c.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{c}");
        }
        for code in custos_domain::AddressError::CODES {
            assert!(ErrorCode::ALL.iter().any(|c| c.as_str() == code), "{code} is no ErrorCode");
        }
    }
}
