//! What the store keeps of accounts and sessions.

use custos_domain::access::Role;
use uuid::Uuid;

/// Staff log in to the back-office; customers to their personal cabinet. The two never share
/// an account, a session or a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    Staff,
    Customer,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Staff => "staff",
            AccountKind::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        match s {
            "staff" => Some(AccountKind::Staff),
            "customer" => Some(AccountKind::Customer),
            _ => None,
        }
    }
}

/// One account. The e-mail is kept encrypted, with a blind index to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: Uuid,
    pub kind: AccountKind,
    pub email_index: String,
    pub email_enc: String,
    /// Staff only.
    pub role: Option<Role>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Encrypted base32 TOTP secret, once set up (also while being confirmed).
    pub totp_secret_enc: Option<String>,
    pub mfa_enabled: bool,
    /// The last TOTP step accepted: a code of this step or an earlier one is refused.
    pub totp_last_step: i64,
    pub email_confirmed: bool,
    /// "en" or "ru".
    pub locale: String,
    pub disabled: bool,
    pub failed_logins: i64,
    pub locked_until_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The customer's time zone for e-mails: minutes east of UTC.
    pub utc_offset_minutes: i32,
}

/// How far a login has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; a TOTP code is still due.
    Password,
    /// Fully authenticated.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStage::Password => "password",
            SessionStage::Full => "full",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStage> {
        match s {
            "password" => Some(SessionStage::Password),
            "full" => Some(SessionStage::Full),
            _ => None,
        }
    }
}

/// A server-side session; the browser holds only the random token, the store only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub account_id: Uuid,
    pub stage: SessionStage,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    /// The absolute end, whatever the activity.
    pub expires_at_ms: i64,
    /// The last time the TOTP code was entered again for a sensitive action.
    pub step_up_at_ms: i64,
    pub revoked: bool,
}

/// What a single-use e-mail token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPurpose {
    Confirm,
    /// Confirms a new e-mail address (kept encrypted with the token).
    ChangeEmail,
    /// Sets a new password ("forgot password", or a reset an admin sent a member of staff).
    ResetPassword,
}

impl EmailPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailPurpose::Confirm => "confirm",
            EmailPurpose::ChangeEmail => "change_email",
            EmailPurpose::ResetPassword => "reset_password",
        }
    }
}
