//! The account use cases.

use super::mails::{Letter, Reader};
use super::records::*;
use crate::clock::Clock;
use crate::error::{AppError, ErrorCode};
use crate::ports::{Mail, Mailer, Store, StoreError};
use crate::repos::{AccountRepo, AuditRepo, KeyRepo, SessionRepo};
use custos_crypto::password::{self, PasswordRejected};
use custos_crypto::{api_key_hash, derive_token, new_token, totp, Aad, FieldCipher};
use custos_domain::access::{Permission, Role};
use custos_domain::audit::AuditEvent;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// How long a password-reset link works.
const RESET_LINK_MS: i64 = HOUR;

/// Timeouts and limits of authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// The name authenticator apps show.
    pub issuer: String,
    /// The address in e-mail links, e.g. `https://aml.example.com`.
    pub public_url: String,
    pub staff_idle_ms: i64,
    pub staff_absolute_ms: i64,
    pub customer_idle_ms: i64,
    pub customer_absolute_ms: i64,
    /// How long a step-up (TOTP entered again) covers sensitive actions.
    pub step_up_ms: i64,
    /// Failed logins (password or code) before an account is locked, and for how long.
    pub account_failures: i64,
    pub account_lock_ms: i64,
    /// Failed logins from one IP within the window before the IP is locked, and for how long.
    pub ip_failures: i64,
    pub ip_window_ms: i64,
    pub ip_lock_ms: i64,
    /// How long an e-mail confirmation link works.
    pub email_token_ms: i64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            issuer: "Custos".into(),
            public_url: "http://127.0.0.1:8080".into(),
            staff_idle_ms: 15 * MINUTE,
            staff_absolute_ms: 8 * HOUR,
            customer_idle_ms: 30 * MINUTE,
            customer_absolute_ms: 24 * HOUR,
            step_up_ms: 5 * MINUTE,
            account_failures: 5,
            account_lock_ms: 15 * MINUTE,
            ip_failures: 20,
            ip_window_ms: 15 * MINUTE,
            ip_lock_ms: 15 * MINUTE,
            email_token_ms: 24 * HOUR,
        }
    }
}

/// Why authentication failed. The messages never say whether an e-mail has an account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the e-mail or the password is wrong")]
    BadCredentials,
    #[error("the code is wrong, expired or already used")]
    BadCode,
    #[error("too many failed attempts: try again after {until_ms}")]
    Locked { until_ms: i64 },
    #[error("the session has ended: log in again")]
    NoSession,
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::App(e.into())
    }
}

impl From<PasswordRejected> for AuthError {
    fn from(e: PasswordRejected) -> Self {
        AuthError::Rejected(e.to_string())
    }
}

/// What the login needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginStep {
    /// Logged in.
    Done,
    /// Enter the TOTP code (or a recovery code).
    Code,
    /// Staff without MFA: set it up before anything else.
    EnrolMfa,
}

/// A live session with its account, as a request sees it.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub session: SessionRecord,
    pub account: AccountRecord,
    /// The token that proves a form came from this session's pages.
    pub csrf: String,
    /// Whether a step-up covers sensitive actions now.
    pub stepped_up: bool,
}

impl Authenticated {
    pub fn is_full(&self) -> bool {
        self.session.stage == SessionStage::Full
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.is_full() && self.account.role.is_some_and(|r| r.can(permission))
    }

    /// The audit actor: the kind and id, never the e-mail.
    pub fn actor(&self) -> String {
        actor_of(&self.account)
    }
}

/// What failed, for the lock-out.
#[derive(Debug, Clone, Copy)]
enum Failure<'a> {
    /// A password at the login form, counted against the e-mail typed (registered or not).
    Password { email_key: &'a str },
    /// A password asked again inside a session (e.g. to change the e-mail).
    Reauthentication,
    /// A TOTP or recovery code.
    Code,
}

/// A TOTP secret being set up.
#[derive(Debug, Clone)]
pub struct MfaSetup {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

fn actor_of(a: &AccountRecord) -> String {
    format!("{}:{}", a.kind.as_str(), a.id)
}

fn event(actor: &str, action: &str, id: Uuid, data: serde_json::Value) -> AuditEvent {
    AuditEvent::new(actor, action, "account", id, data)
}

/// The form of an e-mail that is indexed: trimmed and lower case.
pub fn normalise_email(email: &str) -> Result<String, AuthError> {
    let e = email.trim().to_lowercase();
    if custos_domain::text::is_email(&e) {
        Ok(e)
    } else {
        Err(AuthError::Rejected("enter a valid e-mail address".into()))
    }
}

/// The repositories accounts need.
pub struct AccountRepos {
    pub accounts: Arc<dyn AccountRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub keys: Arc<dyn KeyRepo>,
    pub audit: Arc<dyn AuditRepo>,
}

impl AccountRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> AccountRepos {
        AccountRepos { accounts: store.clone(), sessions: store.clone(), keys: store.clone(), audit: store.clone() }
    }
}

pub struct Accounts {
    repos: AccountRepos,
    cipher: FieldCipher,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    settings: AuthSettings,
}

impl Accounts {
    pub fn new(
        repos: AccountRepos,
        cipher: FieldCipher,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        settings: AuthSettings,
    ) -> Accounts {
        Accounts { repos, cipher, clock, mailer, settings }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    fn email_index(&self, kind: AccountKind, email: &str) -> String {
        // Customers share the orders' index, so that an account finds its orders.
        let purpose = match kind {
            AccountKind::Customer => "customer_email",
            AccountKind::Staff => "staff_email",
        };
        self.cipher.blind_index(purpose, email)
    }

    fn aad<'a>(column: &'a str, id: &'a str) -> Aad<'a> {
        Aad { table: "accounts", column, row: id }
    }

    /// The account's e-mail, decrypted: personal data. Callers audit staff views of it.
    pub fn email_of(&self, account: &AccountRecord) -> Result<String, AppError> {
        self.open_email(account.id, &account.email_enc)
    }

    /// An account's sealed e-mail (from a listing that carries only it), decrypted.
    pub fn open_email(&self, id: Uuid, email_enc: &str) -> Result<String, AppError> {
        let id = id.to_string();
        self.cipher.decrypt(email_enc, Self::aad("email", &id)).map_err(|e| AppError::Internal(e.to_string()))
    }

    fn totp_secret(&self, account: &AccountRecord) -> Result<Option<Vec<u8>>, AppError> {
        let Some(enc) = &account.totp_secret_enc else { return Ok(None) };
        let id = account.id.to_string();
        let b32 =
            self.cipher.decrypt(enc, Self::aad("totp_secret", &id)).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(totp::base32_decode(&b32))
    }

    /// Checks a new password's strength and hashes it, off the async executor.
    async fn new_password_hash(password: &str, email: &str) -> Result<String, AuthError> {
        let local = email.split('@').next().unwrap_or_default();
        password::check_strength(password, &[email, local, "custos"])?;
        let p = password.to_owned();
        tokio::task::spawn_blocking(move || password::hash_password(&p))
            .await
            .map_err(|e| AppError::Internal(e.to_string()).into())
    }

    async fn verify_password(password: &str, hash: Option<&str>) -> bool {
        let p = password.to_owned();
        let h = hash.map(str::to_owned);
        tokio::task::spawn_blocking(move || match h {
            Some(h) => password::verify_password(&p, &h),
            None => {
                password::verify_nothing(&p);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    async fn new_account(
        &self,
        kind: AccountKind,
        email: &str,
        password: &str,
        role: Option<Role>,
        locale: &str,
    ) -> Result<AccountRecord, AuthError> {
        let email = normalise_email(email)?;
        let password_hash = Self::new_password_hash(password, &email).await?;
        let id = Uuid::now_v7();
        let now = self.clock.now_ms();
        let email_index = self.email_index(kind, &email);
        // A customer's e-mail is sealed with their own data key (erasable); staff's with the master key.
        let owner = (kind == AccountKind::Customer).then_some(email_index.as_str());
        let sealer = crate::keys::sealer(self.repos.keys.as_ref(), &self.cipher, owner, now).await?;
        Ok(AccountRecord {
            id,
            kind,
            email_enc: sealer.seal_str(&email, Self::aad("email", &id.to_string())),
            email_index,
            role,
            password_hash,
            totp_secret_enc: None,
            mfa_enabled: false,
            totp_last_step: 0,
            email_confirmed: kind == AccountKind::Staff,
            locale: if locale == "ru" { "ru" } else { "en" }.into(),
            disabled: false,
            failed_logins: 0,
            locked_until_ms: 0,
            created_at_ms: now,
            updated_at_ms: now,
            utc_offset_minutes: 0,
        })
    }

    /// A staff account, made by an admin (`by`) or by the `custos user create` command
    /// (`by` = None, actor "cli"). A lower role cannot make a higher one.
    pub async fn create_staff(
        &self,
        email: &str,
        password: &str,
        role: Role,
        by: Option<&AccountRecord>,
    ) -> Result<AccountRecord, AuthError> {
        if let Some(admin) = by {
            if !admin.role.is_some_and(|r| r.may_manage(role)) {
                return Err(AuthError::Rejected("your role may not create this role".into()));
            }
        }
        let account = self.new_account(AccountKind::Staff, email, password, Some(role), "en").await?;
        let actor = by.map(actor_of).unwrap_or_else(|| "cli".into());
        let ev = event(&actor, "staff.created", account.id, json!({"role": role.as_str()}));
        match self.repos.accounts.insert_account(&account, &[ev]).await {
            Err(StoreError::Conflict(_)) => Err(AuthError::Rejected("a staff account with this e-mail exists".into())),
            other => Ok(other.map(|_| account)?),
        }
    }

    /// Self-registration. Whether or not the e-mail already has an account, the answer is the
    /// same and a mail goes to the address (a confirmation link, or a note that an account
    /// exists), so that registration cannot be used to find out who is a customer.
    pub async fn register_customer(&self, email: &str, password: &str, locale: &str) -> Result<(), AuthError> {
        let account = self.new_account(AccountKind::Customer, email, password, None, locale).await?;
        let email = normalise_email(email)?;
        let ev = event(&actor_of(&account), "customer.registered", account.id, json!({}));
        match self.repos.accounts.insert_account(&account, &[ev]).await {
            Ok(()) => self.send_confirmation(&account, &email).await,
            Err(StoreError::Conflict(_)) => {
                let existing = self.repos.accounts.find_account(AccountKind::Customer, &account.email_index).await?;
                let reader = existing.as_ref().map_or_else(|| reader_of(&account), reader_of);
                self.send(&email, &Letter::AccountExists, reader).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends `letter` to `to`, in the reader's language and time zone, under the brand's name.
    async fn send(&self, to: &str, letter: &Letter, reader: Reader) -> Result<(), AuthError> {
        let r = letter.render(reader, &self.settings.public_url, &self.settings.issuer);
        let mail = Mail { to: to.into(), subject: r.subject, body: r.body };
        self.mailer.send(&mail).await.map_err(|e| AuthError::App(e.into()))
    }

    async fn send_confirmation(&self, account: &AccountRecord, email: &str) -> Result<(), AuthError> {
        let token = new_token();
        let expires = self.clock.now_ms() + self.settings.email_token_ms;
        self.repos
            .sessions
            .insert_email_token(&api_key_hash(&token), account.id, EmailPurpose::Confirm, expires, None)
            .await?;
        self.send(email, &Letter::Confirm { token }, reader_of(account)).await
    }

    /// Confirms an e-mail with the token from the link.
    pub async fn confirm_email(&self, token: &str) -> Result<AccountRecord, AuthError> {
        let now = self.clock.now_ms();
        let (id, _) = self
            .repos
            .sessions
            .take_email_token(&api_key_hash(token), EmailPurpose::Confirm, now)
            .await?
            .ok_or_else(|| AuthError::Rejected("this link is invalid, used or expired".into()))?;
        let mut account = self.repos.accounts.get_account(id).await?.ok_or(AuthError::NoSession)?;
        account.email_confirmed = true;
        let ev = event(&actor_of(&account), "account.email_confirmed", id, json!({}));
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        Ok(account)
    }

    fn ip_key(&self, ip: &str) -> String {
        format!("ip:{}", &self.cipher.blind_index("login_ip", ip)[..32])
    }

    /// Password login. On success a new session is made (any session the browser presented,
    /// `previous`, is revoked: a session id is never carried across a login) and the step
    /// that remains is returned with the session's token.
    pub async fn login(
        &self,
        kind: AccountKind,
        email: &str,
        password: &str,
        ip: &str,
        previous: Option<&str>,
    ) -> Result<(String, LoginStep), AuthError> {
        let now = self.clock.now_ms();
        let ip_key = self.ip_key(ip);
        let ip_locked = self.repos.sessions.throttle_locked_until(&ip_key).await?;
        if ip_locked > now {
            return Err(AuthError::Locked { until_ms: ip_locked });
        }
        // Failed passwords are counted per e-mail, whether or not an account has it, so that the
        // lock-out answers alike for both and does not tell which e-mails are registered.
        let (index, valid) = match normalise_email(email) {
            Ok(e) => (self.email_index(kind, &e), true),
            Err(_) => (self.email_index(kind, &email.trim().to_lowercase()), false),
        };
        let account = if valid { self.repos.accounts.find_account(kind, &index).await? } else { None };
        let email_key = format!("email:{}", &index[..32]);
        let email_locked = self.repos.sessions.throttle_locked_until(&email_key).await?;
        let locked = email_locked.max(account.as_ref().map_or(0, |a| a.locked_until_ms));
        if locked > now {
            let id = account.as_ref().map(|a| a.id).unwrap_or_default();
            self.repos
                .audit
                .append_audit(&event("anonymous", "auth.login_refused_locked", id, json!({"ip": ip_key})), now)
                .await?;
            return Err(AuthError::Locked { until_ms: locked });
        }
        let ok = Self::verify_password(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            other => {
                self.login_failed(other.as_ref(), &ip_key, Failure::Password { email_key: &email_key }).await?;
                return Err(AuthError::BadCredentials);
            }
        };
        self.repos.accounts.account_login_succeeded(account.id).await?;
        let step = match (account.kind, account.mfa_enabled) {
            (_, true) => LoginStep::Code,
            (AccountKind::Staff, false) => LoginStep::EnrolMfa,
            (AccountKind::Customer, false) => LoginStep::Done,
        };
        let stage = if step == LoginStep::Done { SessionStage::Full } else { SessionStage::Password };
        let token = self.start_session(&account, stage, previous).await?;
        let action = if stage == SessionStage::Full { "auth.login" } else { "auth.password_accepted" };
        self.repos
            .audit
            .append_audit(&event(&actor_of(&account), action, account.id, json!({"ip": ip_key})), now)
            .await?;
        Ok((token, step))
    }

    /// Counts a failure against the e-mail at the login form (or, once past it, the account)
    /// and the IP, locking either at its limit.
    async fn login_failed(
        &self,
        account: Option<&AccountRecord>,
        ip_key: &str,
        failure: Failure<'_>,
    ) -> Result<(), AuthError> {
        let s = &self.settings;
        let now = self.clock.now_ms();
        let id = account.map(|a| a.id).unwrap_or_default();
        let factor = match failure {
            Failure::Password { .. } | Failure::Reauthentication => "password",
            Failure::Code => "code",
        };
        let mut events = vec![event(
            "anonymous",
            "auth.login_failed",
            id,
            json!({"ip": ip_key, "factor": factor, "known": account.is_some()}),
        )];
        let locked = match (failure, account) {
            (Failure::Password { email_key }, _) => {
                let window = s.account_lock_ms;
                self.repos
                    .sessions
                    .throttle_failure(email_key, now, window, s.account_failures, s.account_lock_ms)
                    .await?
            }
            (_, Some(a)) => {
                self.repos.accounts.account_login_failed(a.id, s.account_failures, now + s.account_lock_ms).await?
            }
            (_, None) => 0,
        };
        if locked > 0 {
            events.push(event(
                "system",
                "auth.account_locked",
                id,
                json!({"until_ms": locked, "known": account.is_some()}),
            ));
        }
        let ip_locked =
            self.repos.sessions.throttle_failure(ip_key, now, s.ip_window_ms, s.ip_failures, s.ip_lock_ms).await?;
        if ip_locked > 0 {
            events.push(event("system", "auth.ip_locked", id, json!({"ip": ip_key, "until_ms": ip_locked})));
        }
        for e in &events {
            self.repos.audit.append_audit(e, now).await?;
        }
        Ok(())
    }

    async fn start_session(
        &self,
        account: &AccountRecord,
        stage: SessionStage,
        replaces: Option<&str>,
    ) -> Result<String, AuthError> {
        let now = self.clock.now_ms();
        let absolute = match account.kind {
            AccountKind::Staff => self.settings.staff_absolute_ms,
            AccountKind::Customer => self.settings.customer_absolute_ms,
        };
        let token = new_token();
        let session = SessionRecord {
            token_hash: api_key_hash(&token),
            account_id: account.id,
            stage,
            created_at_ms: now,
            last_seen_ms: now,
            expires_at_ms: now + absolute,
            step_up_at_ms: 0,
            revoked: false,
        };
        self.repos.sessions.insert_session(&session, replaces.map(api_key_hash).as_deref()).await?;
        Ok(token)
    }

    /// The live session of `token`, if any: not revoked, within its absolute lifetime and not
    /// idle for longer than its kind allows. Refreshes its last-seen time.
    pub async fn session(&self, token: &str) -> Result<Option<Authenticated>, AppError> {
        let now = self.clock.now_ms();
        let hash = api_key_hash(token);
        let Some(session) = self.repos.sessions.get_session(&hash).await? else { return Ok(None) };
        let Some(account) = self.repos.accounts.get_account(session.account_id).await? else { return Ok(None) };
        let idle = match account.kind {
            AccountKind::Staff => self.settings.staff_idle_ms,
            AccountKind::Customer => self.settings.customer_idle_ms,
        };
        if session.revoked || account.disabled || now >= session.expires_at_ms || now - session.last_seen_ms > idle {
            return Ok(None);
        }
        // One write a minute at most per session.
        if now - session.last_seen_ms >= MINUTE {
            self.repos.sessions.touch_session(&hash, now).await?;
        }
        let stepped_up = session.step_up_at_ms > 0 && now - session.step_up_at_ms <= self.settings.step_up_ms;
        Ok(Some(Authenticated { csrf: derive_token(token, "csrf"), stepped_up, session, account }))
    }

    /// Checks a TOTP code, or a recovery code, and uses it up. Failures count like failed logins.
    async fn check_code(&self, account: &AccountRecord, code: &str, ip: &str) -> Result<(), AuthError> {
        let now = self.clock.now_ms();
        let locked = self.repos.accounts.get_account(account.id).await?.map_or(0, |a| a.locked_until_ms);
        if locked > now {
            return Err(AuthError::Locked { until_ms: locked });
        }
        let secret = self.totp_secret(account)?.ok_or(AuthError::BadCode)?;
        let accepted = match totp::matching_step(&secret, code, now) {
            Some(step) => self.repos.accounts.claim_totp_step(account.id, step).await?,
            None => {
                let normal = totp::normalise_recovery_code(code);
                if account.mfa_enabled && normal.len() == 10 {
                    let used = self.repos.accounts.use_recovery_code(account.id, &api_key_hash(&normal), now).await?;
                    if used {
                        let ev = event(&actor_of(account), "auth.recovery_code_used", account.id, json!({}));
                        self.repos.audit.append_audit(&ev, now).await?;
                    }
                    used
                } else {
                    false
                }
            }
        };
        if !accepted {
            self.login_failed(Some(account), &self.ip_key(ip), Failure::Code).await?;
            return Err(AuthError::BadCode);
        }
        Ok(())
    }

    /// The second factor of a login: a code turns the password-stage session into a full one,
    /// under a new token.
    pub async fn complete_login(
        &self,
        auth: &Authenticated,
        token: &str,
        code: &str,
        ip: &str,
    ) -> Result<String, AuthError> {
        if auth.session.stage != SessionStage::Password || !auth.account.mfa_enabled {
            return Err(AuthError::NoSession);
        }
        self.check_code(&auth.account, code, ip).await?;
        self.repos.accounts.account_login_succeeded(auth.account.id).await?;
        let new = self.start_session(&auth.account, SessionStage::Full, Some(token)).await?;
        let ev = event(&auth.actor(), "auth.login", auth.account.id, json!({"ip": self.ip_key(ip), "mfa": true}));
        self.repos.audit.append_audit(&ev, self.clock.now_ms()).await?;
        Ok(new)
    }

    /// Starts (or restarts) TOTP setup: a new secret, kept encrypted until confirmed.
    pub async fn begin_mfa(&self, auth: &Authenticated) -> Result<MfaSetup, AuthError> {
        if auth.account.mfa_enabled {
            return Err(AuthError::Rejected("MFA is already on; turn it off first to set up a new device".into()));
        }
        let secret = totp::new_secret();
        let b32 = totp::base32_encode(&secret);
        let mut account = auth.account.clone();
        let id = account.id.to_string();
        account.totp_secret_enc = Some(self.cipher.encrypt(&b32, Self::aad("totp_secret", &id)));
        self.repos.accounts.update_account(&account, &[], self.clock.now_ms()).await?;
        let email = self.email_of(&account)?;
        Ok(MfaSetup { otpauth_uri: totp::otpauth_uri(&self.settings.issuer, &email, &secret), secret_base32: b32 })
    }

    /// The secret being set up, if setup has begun and is not confirmed yet.
    pub fn pending_mfa(&self, account: &AccountRecord) -> Result<Option<MfaSetup>, AppError> {
        if account.mfa_enabled {
            return Ok(None);
        }
        let Some(secret) = self.totp_secret(account)? else { return Ok(None) };
        let email = self.email_of(account)?;
        Ok(Some(MfaSetup {
            otpauth_uri: totp::otpauth_uri(&self.settings.issuer, &email, &secret),
            secret_base32: totp::base32_encode(&secret),
        }))
    }

    /// Confirms TOTP setup with a first code: MFA is on, ten recovery codes are returned (shown
    /// once, stored hashed), and the session is rotated (a privilege change) and made full.
    pub async fn confirm_mfa(
        &self,
        auth: &Authenticated,
        token: &str,
        code: &str,
        ip: &str,
    ) -> Result<(String, Vec<String>), AuthError> {
        let account = self.repos.accounts.get_account(auth.account.id).await?.ok_or(AuthError::NoSession)?;
        if account.mfa_enabled {
            return Err(AuthError::Rejected("MFA is already on".into()));
        }
        self.check_code(&account, code, ip).await?;
        let mut account = account;
        account.mfa_enabled = true;
        let now = self.clock.now_ms();
        self.repos
            .accounts
            .update_account(&account, &[event(&actor_of(&account), "auth.mfa_enabled", account.id, json!({}))], now)
            .await?;
        let codes = self.new_recovery_codes(&account).await?;
        let new = self.start_session(&account, SessionStage::Full, Some(token)).await?;
        Ok((new, codes))
    }

    async fn new_recovery_codes(&self, account: &AccountRecord) -> Result<Vec<String>, AuthError> {
        let codes: Vec<String> = (0..10).map(|_| totp::new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| api_key_hash(&totp::normalise_recovery_code(c))).collect();
        let ev = event(&actor_of(account), "auth.recovery_codes_issued", account.id, json!({"count": codes.len()}));
        self.repos.accounts.replace_recovery_codes(account.id, &hashes, &[ev], self.clock.now_ms()).await?;
        Ok(codes)
    }

    pub async fn unused_recovery_codes(&self, auth: &Authenticated) -> Result<i64, AppError> {
        Ok(self.repos.accounts.unused_recovery_codes(auth.account.id).await?)
    }

    /// Step-up: the TOTP code again, before a sensitive action.
    pub async fn step_up(&self, auth: &Authenticated, token: &str, code: &str, ip: &str) -> Result<(), AuthError> {
        if !auth.is_full() || !auth.account.mfa_enabled {
            return Err(AuthError::Rejected("set up MFA first".into()));
        }
        self.check_code(&auth.account, code, ip).await?;
        let now = self.clock.now_ms();
        self.repos.sessions.step_up_session(&api_key_hash(token), now).await?;
        self.repos.audit.append_audit(&event(&auth.actor(), "auth.step_up", auth.account.id, json!({})), now).await?;
        Ok(())
    }

    pub async fn logout(&self, auth: &Authenticated, token: &str) -> Result<(), AppError> {
        let now = self.clock.now_ms();
        self.repos.sessions.revoke_session(&api_key_hash(token), now).await?;
        self.repos.audit.append_audit(&event(&auth.actor(), "auth.logout", auth.account.id, json!({})), now).await?;
        Ok(())
    }

    /// Changes the password (the current one is required); every other session is revoked.
    pub async fn change_password(
        &self,
        auth: &Authenticated,
        token: &str,
        current: &str,
        new: &str,
    ) -> Result<(), AuthError> {
        if !Self::verify_password(current, Some(&auth.account.password_hash)).await {
            return Err(AuthError::BadCredentials);
        }
        let email = self.email_of(&auth.account)?;
        let mut account = auth.account.clone();
        account.password_hash = Self::new_password_hash(new, &email).await?;
        let now = self.clock.now_ms();
        let ev = event(&auth.actor(), "auth.password_changed", account.id, json!({}));
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        self.repos.sessions.revoke_sessions_of(account.id, Some(&api_key_hash(token)), now).await?;
        Ok(())
    }

    /// Turns MFA off (a customer changing devices) with a current code; the recovery codes go
    /// and every other session ends. Staff cannot: MFA is mandatory for them.
    pub async fn disable_mfa(&self, auth: &Authenticated, token: &str, code: &str, ip: &str) -> Result<(), AuthError> {
        if auth.account.kind == AccountKind::Staff {
            return Err(AuthError::Rejected("staff accounts keep MFA on; an admin can reset it".into()));
        }
        if !auth.account.mfa_enabled {
            return Ok(());
        }
        self.check_code(&auth.account, code, ip).await?;
        let now = self.clock.now_ms();
        let mut account = auth.account.clone();
        account.mfa_enabled = false;
        account.totp_secret_enc = None;
        let ev = event(&auth.actor(), "auth.mfa_disabled", account.id, json!({}));
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        self.repos.accounts.replace_recovery_codes(account.id, &[], &[], now).await?;
        self.repos.sessions.revoke_sessions_of(account.id, Some(&api_key_hash(token)), now).await?;
        Ok(())
    }

    /// A customer asks to change their e-mail: the password, and the TOTP code when MFA is on
    /// (step-up), are checked; a link goes to the new address and a warning to the old one.
    pub async fn request_email_change(
        &self,
        auth: &Authenticated,
        password: &str,
        code: &str,
        new_email: &str,
        ip: &str,
    ) -> Result<(), AuthError> {
        if auth.account.kind != AccountKind::Customer {
            return Err(AuthError::Rejected("staff e-mails are changed by an admin".into()));
        }
        if !Self::verify_password(password, Some(&auth.account.password_hash)).await {
            self.login_failed(Some(&auth.account), &self.ip_key(ip), Failure::Reauthentication).await?;
            return Err(AuthError::BadCredentials);
        }
        if auth.account.mfa_enabled {
            self.check_code(&auth.account, code, ip).await?;
        }
        let new_email = normalise_email(new_email)?;
        let old_email = self.email_of(&auth.account)?;
        if new_email == old_email {
            return Err(AuthError::Rejected("this is already your e-mail".into()));
        }
        let token = new_token();
        let hash = api_key_hash(&token);
        let sealed = self.cipher.encrypt(&new_email, Aad { table: "email_tokens", column: "data", row: &hash });
        let expires = self.clock.now_ms() + self.settings.email_token_ms;
        self.repos
            .sessions
            .insert_email_token(&hash, auth.account.id, EmailPurpose::ChangeEmail, expires, Some(&sealed))
            .await?;
        let ev = event(&auth.actor(), "account.email_change_requested", auth.account.id, json!({}));
        self.repos.audit.append_audit(&ev, self.clock.now_ms()).await?;
        let reader = reader_of(&auth.account);
        self.send(&new_email, &Letter::ConfirmNewEmail { token }, reader).await?;
        self.send(&old_email, &Letter::EmailChangeRequested, reader).await
    }

    /// Confirms a new e-mail with the link's token; the orders follow the account.
    pub async fn confirm_email_change(&self, token: &str) -> Result<AccountRecord, AuthError> {
        let now = self.clock.now_ms();
        let hash = api_key_hash(token);
        let invalid = || AuthError::Rejected("this link is invalid, used or expired".into());
        let (id, sealed) =
            self.repos.sessions.take_email_token(&hash, EmailPurpose::ChangeEmail, now).await?.ok_or_else(invalid)?;
        let new_email = sealed
            .and_then(|s| self.cipher.decrypt(&s, Aad { table: "email_tokens", column: "data", row: &hash }).ok())
            .ok_or_else(invalid)?;
        let account = self.repos.accounts.get_account(id).await?.ok_or_else(invalid)?;
        let new_index = self.email_index(AccountKind::Customer, &new_email);
        // Sealed with the customer's data key, which moves with them to the new address.
        let sealer =
            crate::keys::sealer(self.repos.keys.as_ref(), &self.cipher, Some(&account.email_index), now).await?;
        let new_enc = sealer.seal_str(&new_email, Self::aad("email", &id.to_string()));
        let ev = event(&actor_of(&account), "account.email_changed", id, json!({}));
        match self
            .repos
            .accounts
            .change_customer_email(id, &account.email_index, &new_index, &new_enc, &[ev], now)
            .await
        {
            Err(StoreError::Conflict(_)) => return Err(AuthError::Rejected("another account uses this e-mail".into())),
            other => other?,
        }
        self.repos.accounts.get_account(id).await?.ok_or_else(invalid)
    }

    /// Sends a customer an e-mail (a new request, a decision), if they have an account.
    pub async fn notify_customer(&self, email_index: &str, letter: &Letter) -> Result<bool, AppError> {
        let Some(account) = self.repos.accounts.find_account(AccountKind::Customer, email_index).await? else {
            return Ok(false);
        };
        if account.disabled || !account.email_confirmed {
            return Ok(false);
        }
        let email = self.email_of(&account)?;
        match self.send(&email, letter, reader_of(&account)).await {
            Ok(()) => Ok(true),
            Err(AuthError::App(e)) => Err(e),
            Err(e) => Err(AppError::Internal(e.to_string())),
        }
    }

    pub async fn set_locale(&self, auth: &Authenticated, locale: &str) -> Result<(), AppError> {
        let mut account = auth.account.clone();
        account.locale = if locale == "ru" { "ru" } else { "en" }.into();
        Ok(self.repos.accounts.update_account(&account, &[], self.clock.now_ms()).await?)
    }

    /// The customer's time zone for e-mails, minutes east of UTC (quarter hours, UTC−12 to +14).
    pub async fn set_utc_offset(&self, auth: &Authenticated, minutes: i32) -> Result<(), AppError> {
        if !super::mails::valid_utc_offset(minutes) {
            return Err(AppError::invalid(
                ErrorCode::InvalidField,
                "a time zone is UTC−12:00 to UTC+14:00, in quarter hours",
            ));
        }
        let mut account = auth.account.clone();
        account.utc_offset_minutes = minutes;
        Ok(self.repos.accounts.update_account(&account, &[], self.clock.now_ms()).await?)
    }

    /// Changes a staff member's role or disables the account. A lower role cannot touch a
    /// higher one's account or grant a role above its own; the target's sessions are revoked.
    pub async fn manage_staff(
        &self,
        admin: &Authenticated,
        target: Uuid,
        role: Role,
        disabled: bool,
    ) -> Result<AccountRecord, AuthError> {
        let by = admin.account.role.filter(|_| admin.is_full());
        let mut account = self.staff_account(target).await?;
        let current = account.role.unwrap_or(Role::Support);
        if !by.is_some_and(|r| r.may_manage(current) && r.may_manage(role)) {
            return Err(AuthError::Rejected("your role may not change this account".into()));
        }
        if account.id == admin.account.id {
            return Err(AuthError::Rejected("you cannot change your own role or disable yourself".into()));
        }
        account.role = Some(role);
        account.disabled = disabled;
        let now = self.clock.now_ms();
        let ev = event(
            &admin.actor(),
            "staff.changed",
            account.id,
            json!({"from": current.as_str(), "role": role.as_str(), "disabled": disabled}),
        );
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        self.repos.sessions.revoke_sessions_of(account.id, None, now).await?;
        Ok(account)
    }

    /// An admin resets a staff member's MFA (a lost device): the secret and recovery codes go,
    /// the sessions end, and enrolment is due at the next login.
    pub async fn reset_staff_mfa(&self, admin: &Authenticated, target: Uuid) -> Result<(), AuthError> {
        let mut account = self.staff_account(target).await?;
        let by = admin.account.role.filter(|_| admin.is_full());
        if account.id == admin.account.id || !by.is_some_and(|r| r.may_manage(account.role.unwrap_or(Role::Support))) {
            return Err(AuthError::Rejected("your role may not reset this account's MFA".into()));
        }
        account.mfa_enabled = false;
        account.totp_secret_enc = None;
        let now = self.clock.now_ms();
        let ev = event(&admin.actor(), "auth.mfa_reset", account.id, json!({}));
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        self.repos.accounts.replace_recovery_codes(account.id, &[], &[], now).await?;
        self.repos.sessions.revoke_sessions_of(account.id, None, now).await?;
        Ok(())
    }

    /// "Forgot password" and "resend confirmation" are limited: 5 an hour from one address and
    /// 3 an hour for one e-mail, so that neither floods a mailbox nor probes for accounts. Known
    /// and unknown addresses count the same.
    pub async fn mail_link_allowed(&self, ip: &str, email: &str) -> Result<(), AuthError> {
        let now = self.clock.now_ms();
        let by_ip = format!("mail-link-ip:{}", &self.cipher.blind_index("login_ip", ip)[..32]);
        let by_email =
            format!("mail-link:{}", &self.cipher.blind_index("login_ip", &email.trim().to_lowercase())[..32]);
        for (key, limit) in [(by_ip, 6), (by_email, 4)] {
            let locked = self.repos.sessions.throttle_failure(&key, now, HOUR, limit, HOUR).await?;
            if locked > 0 {
                return Err(AuthError::Locked { until_ms: locked });
            }
        }
        Ok(())
    }

    /// Mails a single-use link to set a new password, valid for an hour, if `email` has an
    /// account of `kind` that is not disabled. Nothing tells the caller whether it had one.
    pub async fn request_password_reset(&self, kind: AccountKind, email: &str) -> Result<(), AuthError> {
        let Ok(email) = normalise_email(email) else { return Ok(()) };
        let index = self.email_index(kind, &email);
        let Some(account) = self.repos.accounts.find_account(kind, &index).await?.filter(|a| !a.disabled) else {
            return Ok(());
        };
        self.send_reset_link(&account, &email, &actor_of(&account)).await
    }

    async fn send_reset_link(&self, account: &AccountRecord, email: &str, actor: &str) -> Result<(), AuthError> {
        let token = new_token();
        let now = self.clock.now_ms();
        self.repos
            .sessions
            .insert_email_token(
                &api_key_hash(&token),
                account.id,
                EmailPurpose::ResetPassword,
                now + RESET_LINK_MS,
                None,
            )
            .await?;
        let ev = event(actor, "auth.password_reset_requested", account.id, json!({}));
        self.repos.audit.append_audit(&ev, now).await?;
        let letter = Letter::ResetPassword { token, staff: account.kind == AccountKind::Staff };
        self.send(email, &letter, reader_of(account)).await
    }

    /// Sets a new password with the token of a reset link (once, before it expires): every
    /// session of the account ends, a customer's e-mail counts as confirmed (the link proved
    /// the mailbox), and a mail says the password was changed.
    pub async fn reset_password(&self, kind: AccountKind, token: &str, new: &str) -> Result<(), AuthError> {
        let now = self.clock.now_ms();
        let invalid = || AuthError::Rejected("this link is invalid, used or expired".into());
        let mut account = self.peek_reset(kind, token).await?.ok_or_else(invalid)?;
        let email = self.email_of(&account)?;
        // The password is checked before the link is used up, so a weak one can be retried.
        let hash = Self::new_password_hash(new, &email).await?;
        let (id, _) = self
            .repos
            .sessions
            .take_email_token(&api_key_hash(token), EmailPurpose::ResetPassword, now)
            .await?
            .ok_or_else(invalid)?;
        if id != account.id {
            return Err(invalid());
        }
        account.password_hash = hash;
        account.email_confirmed = true;
        let ev = event(&actor_of(&account), "auth.password_reset", account.id, json!({}));
        self.repos.accounts.update_account(&account, &[ev], now).await?;
        self.repos.sessions.revoke_sessions_of(account.id, None, now).await?;
        self.send(&email, &Letter::PasswordChanged, reader_of(&account)).await
    }

    /// The account a reset link is for, if the link is still good (without using it up).
    pub async fn peek_reset(&self, kind: AccountKind, token: &str) -> Result<Option<AccountRecord>, AuthError> {
        let now = self.clock.now_ms();
        let Some(id) =
            self.repos.sessions.email_token_owner(&api_key_hash(token), EmailPurpose::ResetPassword, now).await?
        else {
            return Ok(None);
        };
        Ok(self.repos.accounts.get_account(id).await?.filter(|a| a.kind == kind && !a.disabled))
    }

    /// Mails the confirmation link again to a customer whose e-mail is not confirmed yet; the
    /// same (silent) answer for every other address.
    pub async fn resend_confirmation(&self, email: &str) -> Result<(), AuthError> {
        let Ok(email) = normalise_email(email) else { return Ok(()) };
        let index = self.email_index(AccountKind::Customer, &email);
        match self.repos.accounts.find_account(AccountKind::Customer, &index).await? {
            Some(a) if !a.email_confirmed && !a.disabled => self.send_confirmation(&a, &email).await,
            _ => Ok(()),
        }
    }

    /// An admin sends a member of staff a link to set a new password (a forgotten one). The
    /// same rule as for roles: only an account of the admin's rank or below, never their own.
    pub async fn send_staff_password_reset(&self, admin: &Authenticated, target: Uuid) -> Result<(), AuthError> {
        let account = self.staff_account(target).await?;
        let by = admin.account.role.filter(|_| admin.is_full());
        if account.id == admin.account.id || !by.is_some_and(|r| r.may_manage(account.role.unwrap_or(Role::Support))) {
            return Err(AuthError::Rejected("your role may not reset this account's password".into()));
        }
        let email = self.email_of(&account)?;
        self.send_reset_link(&account, &email, &admin.actor()).await
    }

    /// Self-registrations from one address are limited (10 an hour), against sign-up floods.
    pub async fn registration_allowed(&self, ip: &str) -> Result<(), AuthError> {
        let key = format!("register:{}", &self.cipher.blind_index("login_ip", ip)[..32]);
        let now = self.clock.now_ms();
        let locked = self.repos.sessions.throttle_failure(&key, now, HOUR, 11, HOUR).await?;
        if locked > 0 {
            return Err(AuthError::Locked { until_ms: locked });
        }
        Ok(())
    }

    async fn staff_account(&self, id: Uuid) -> Result<AccountRecord, AuthError> {
        self.repos
            .accounts
            .get_account(id)
            .await?
            .filter(|a| a.kind == AccountKind::Staff)
            .ok_or(AuthError::App(AppError::not_found(ErrorCode::AccountNotFound, "no such staff account")))
    }

    /// Mails `letter` to every enabled member of staff whose role has `permission`, each in
    /// their language; how many were sent.
    pub async fn notify_staff_with(&self, permission: Permission, letter: &Letter) -> Result<usize, AppError> {
        let mut sent = 0;
        for a in self.staff().await? {
            if a.disabled || !a.role.is_some_and(|r| r.can(permission)) {
                continue;
            }
            let email = self.email_of(&a)?;
            match self.send(&email, letter, reader_of(&a)).await {
                Ok(()) => sent += 1,
                Err(e) => tracing::warn!(error = %e, "a staff notice could not be sent"),
            }
        }
        Ok(sent)
    }

    pub async fn staff(&self) -> Result<Vec<AccountRecord>, AppError> {
        Ok(self.repos.accounts.list_accounts(AccountKind::Staff).await?)
    }

    /// Reveals an account's e-mail to a member of staff: needs the permission and a step-up,
    /// and is an audit event.
    pub async fn reveal_email(&self, staff: &Authenticated, account: &AccountRecord) -> Result<String, AuthError> {
        if !staff.can(Permission::PersonalDataReveal) {
            return Err(AuthError::Rejected("your role may not reveal personal data".into()));
        }
        if !staff.stepped_up {
            return Err(AuthError::Rejected("enter your code again to reveal personal data".into()));
        }
        let ev = event(&staff.actor(), "personal_data.revealed", account.id, json!({"field": "email"}));
        self.repos.audit.append_audit(&ev, self.clock.now_ms()).await?;
        Ok(self.email_of(account)?)
    }

    /// The customer account with this blind index of an e-mail.
    pub async fn customer_by_index(&self, email_index: &str) -> Result<Option<AccountRecord>, AppError> {
        Ok(self.repos.accounts.find_account(AccountKind::Customer, email_index).await?)
    }
}

/// How an account reads its mails.
fn reader_of(account: &AccountRecord) -> Reader {
    Reader::new(&account.locale, account.utc_offset_minutes)
}
