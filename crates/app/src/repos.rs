//! The repositories: one port per aggregate, each implemented by the SQL store in a module of its
//! own. Every method that changes state writes its audit event(s) in the same transaction; none
//! leaves a partial write behind.

use crate::accounts::records::*;
use crate::effects::OrderEventWrite;
use crate::events::WebhookEvent;
use crate::model::*;
use crate::ports::DeriveError;
use async_trait::async_trait;
use custos_domain::audit::{AuditEntry, AuditEvent};
use custos_domain::{Address, Network};
use uuid::Uuid;

pub use crate::error::StoreError;

pub type StoreResult<T> = Result<T, StoreError>;

/// Staff and customer accounts: sign-in state, second factors, e-mail changes.
#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// A [`StoreError::Conflict`] when the kind already has an account with this e-mail.
    async fn insert_account(&self, account: &AccountRecord, events: &[AuditEvent]) -> StoreResult<()>;
    async fn get_account(&self, id: Uuid) -> StoreResult<Option<AccountRecord>>;
    async fn find_account(&self, kind: AccountKind, email_index: &str) -> StoreResult<Option<AccountRecord>>;
    async fn list_accounts(&self, kind: AccountKind) -> StoreResult<Vec<AccountRecord>>;
    /// Writes every mutable field of `account` (not the failure counters or the TOTP step).
    async fn update_account(&self, account: &AccountRecord, events: &[AuditEvent], at_ms: i64) -> StoreResult<()>;
    /// Counts a failed login atomically; at `limit` failures the account is locked until
    /// `lock_until_ms` and the count restarts. Returns the lock's end (0 if not locked).
    async fn account_login_failed(&self, id: Uuid, limit: i64, lock_until_ms: i64) -> StoreResult<i64>;
    async fn account_login_succeeded(&self, id: Uuid) -> StoreResult<()>;
    /// Accepts a TOTP step only if it is later than the last one accepted (atomic: a code works
    /// once even under concurrent use).
    async fn claim_totp_step(&self, id: Uuid, step: i64) -> StoreResult<bool>;
    async fn replace_recovery_codes(
        &self,
        id: Uuid,
        hashes: &[String],
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Marks an unused recovery code used; false if there is none.
    async fn use_recovery_code(&self, id: Uuid, hash: &str, at_ms: i64) -> StoreResult<bool>;
    async fn unused_recovery_codes(&self, id: Uuid) -> StoreResult<i64>;
    /// A customer's new e-mail: the account, and the orders and standing found by the old
    /// address's index, move to the new one in one transaction. A conflict if it is taken.
    async fn change_customer_email(
        &self,
        id: Uuid,
        old_index: &str,
        new_index: &str,
        new_enc: &str,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<()>;
}

/// Sessions, single-use e-mail tokens and login throttling.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Inserts `session`, revoking the session `replaces` in the same transaction (rotation).
    async fn insert_session(&self, session: &SessionRecord, replaces: Option<&str>) -> StoreResult<()>;
    async fn get_session(&self, token_hash: &str) -> StoreResult<Option<SessionRecord>>;
    async fn touch_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()>;
    async fn step_up_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()>;
    async fn revoke_session(&self, token_hash: &str, at_ms: i64) -> StoreResult<()>;
    /// Revokes every session of the account but `except`; returns how many.
    async fn revoke_sessions_of(&self, id: Uuid, except: Option<&str>, at_ms: i64) -> StoreResult<u64>;
    /// A single-use token; `data_enc` is what it carries (a new e-mail), encrypted.
    async fn insert_email_token(
        &self,
        token_hash: &str,
        id: Uuid,
        purpose: EmailPurpose,
        expires_at_ms: i64,
        data_enc: Option<&str>,
    ) -> StoreResult<()>;
    /// Uses a live token once; returns its account and what it carries.
    async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
        at_ms: i64,
    ) -> StoreResult<Option<(Uuid, Option<String>)>>;
    /// The account of a live token, without using it.
    async fn email_token_owner(&self, token_hash: &str, purpose: EmailPurpose, at_ms: i64)
        -> StoreResult<Option<Uuid>>;
    /// Counts a failure against `key` (e.g. an IP) in a window of `window_ms`; at `limit`
    /// failures the key is locked for `lock_ms`. Returns the lock's end (0 if not locked).
    async fn throttle_failure(
        &self,
        key: &str,
        at_ms: i64,
        window_ms: i64,
        limit: i64,
        lock_ms: i64,
    ) -> StoreResult<i64>;
    async fn throttle_locked_until(&self, key: &str) -> StoreResult<i64>;
}

/// Keys kept in the database (wrapped by the master key), erasure, and the sealed values a
/// rotation re-seals.
#[async_trait]
pub trait KeyRepo: Send + Sync {
    /// The keys of `owner`, newest first, erased ones included.
    async fn data_keys_of(&self, owner: &str) -> StoreResult<Vec<StoredKey>>;
    /// Stores a key unless its id exists; returns whether it was stored.
    async fn insert_data_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Keys made or erased at or after `since_ms` (another process's, for its key ring).
    async fn data_keys_changed_since(&self, since_ms: i64) -> StoreResult<Vec<StoredKey>>;
    /// Erases a customer: their data keys (so their sealed data can no longer be read), their
    /// account's sign-in and sessions, and every link from their records to the e-mail's blind
    /// index (replaced by `tombstone`), in one transaction with `events`. Returns the keys erased.
    async fn erase_customer(
        &self,
        email_index: &str,
        owner: &str,
        tombstone: &str,
        events: &[AuditEvent],
        at_ms: i64,
    ) -> StoreResult<u64>;
    /// Up to `limit` (row key, value) pairs of a sealed column with keys after `after`, in key
    /// order, skipping values that start like `skip_like` (a LIKE pattern; "" skips nothing).
    async fn sealed_values(
        &self,
        column: &SealedColumn,
        skip_like: &str,
        after: &str,
        limit: i64,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Replaces a sealed value if it is still `old`; returns whether it was replaced.
    async fn replace_sealed(&self, column: &SealedColumn, key: &str, old: &str, new: &str) -> StoreResult<bool>;
}

/// What chain watchers keep: block hashes and transfers to deposit addresses, and sweeps.
#[async_trait]
pub trait ChainRepo: Send + Sync {
    /// The newest block kept, (number, hash).
    async fn chain_head(&self, network: Network) -> StoreResult<Option<(u64, String)>>;
    async fn chain_block_hash(&self, network: Network, number: u64) -> StoreResult<Option<String>>;
    /// Keeps a block and its transfers (a transfer seen again after a reorg is pending again).
    async fn chain_add_block(
        &self,
        network: Network,
        number: u64,
        hash: &str,
        parent_hash: &str,
        transfers: &[WatchedTransfer],
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Forgets the blocks after `ancestor`: their pending transfers become dropped, their
    /// credited ones reverted (the deposit stops counting). Returns those transfers.
    async fn chain_rewind(&self, network: Network, ancestor: u64, at_ms: i64) -> StoreResult<Vec<WatchedTransfer>>;
    /// Transfers seen but not credited yet.
    async fn chain_open_transfers(&self, network: Network) -> StoreResult<Vec<WatchedTransfer>>;
    /// A transfer handed to the deposit intake (a reverted deposit counts again).
    async fn chain_credit(
        &self,
        network: Network,
        txid: &str,
        index: u32,
        deposit_id: Uuid,
        at_ms: i64,
    ) -> StoreResult<()>;
    async fn chain_refuse(&self, network: Network, txid: &str, index: u32, at_ms: i64) -> StoreResult<()>;
    /// Forgets block hashes below `number` (reorganisations that deep are not followed).
    async fn chain_prune(&self, network: Network, number: u64) -> StoreResult<()>;
    /// The deposit addresses to watch: of open orders, and of orders created since `since_ms`.
    async fn watched_addresses(&self, network: Network, since_ms: i64) -> StoreResult<Vec<String>>;
    /// Deposits of `network` not swept yet, with what decides whether they may be.
    async fn sweep_candidates(&self, network: Network) -> StoreResult<Vec<Candidate>>;
    /// The receive index of one of our deposit addresses.
    async fn derivation_index(&self, network: Network, address: &str) -> StoreResult<Option<u32>>;
    /// Records that a deposit was swept by `txid`; false if it was already.
    async fn record_sweep(&self, deposit_id: Uuid, txid: &str, actor: &str, at_ms: i64) -> StoreResult<bool>;
    /// The watcher's transfers, newest first (for the office and tests).
    async fn chain_transfers(&self, network: Network, limit: i64) -> StoreResult<Vec<WatchedTransfer>>;
}

/// Identity verifications, their documents, and the KYC provider's inbox.
#[async_trait]
pub trait VerificationRepo: Send + Sync {
    async fn insert_verification(&self, v: &VerificationRecord, actor: &str) -> StoreResult<()>;
    /// The verification of this customer reference (as the provider echoes it), or else of
    /// this applicant id; the newest first.
    async fn find_verification(
        &self,
        applicant_id: &str,
        customer_ref: &str,
    ) -> StoreResult<Option<VerificationRecord>>;
    /// A customer's verifications, newest first.
    async fn verifications_of(&self, email_index: &str) -> StoreResult<Vec<VerificationRecord>>;
    /// Writes a verification's new state with its audit events; `suspend` also suspends the
    /// customer (SEC-16), `alert` queues an alert to the officers and `verify_cards` marks the
    /// customer's pending cards verified (KYC-4), in the same transaction.
    async fn update_verification(
        &self,
        v: &VerificationRecord,
        events: &[AuditEvent],
        suspend: bool,
        alert: Option<&WebhookEvent>,
        verify_cards: bool,
        at_ms: i64,
    ) -> StoreResult<()>;
    /// Open verifications past their deadline whose customer was not yet suspended for it.
    async fn overdue_verifications(&self, now_ms: i64) -> StoreResult<Vec<VerificationRecord>>;
    /// SEC-15: suspends the customer of an overdue verification and alerts the officers, once.
    async fn suspend_for_overdue_verification(&self, v: &VerificationRecord, at_ms: i64) -> StoreResult<bool>;
    /// The name hash of the customer's latest verified identity (KYC-4's comparison).
    async fn verified_identity_name_hash(&self, email_index: &str) -> StoreResult<Option<String>>;
    async fn insert_verification_file(&self, f: &VerificationFile, content_enc: &str, actor: &str) -> StoreResult<()>;
    async fn verification_files(&self, verification_id: Uuid) -> StoreResult<Vec<VerificationFile>>;
    async fn verification_file(&self, id: Uuid) -> StoreResult<Option<(VerificationFile, String)>>;
    /// The retention job (PD-3): deletes every document whose verification is decided (verified
    /// or failed), e.g. left by a crash between the decision and the deletion; returns how many.
    async fn purge_decided_verification_files(&self, at_ms: i64) -> StoreResult<u64>;
    /// Deletes a verification's documents (the review has ended); returns how many.
    /// `steps`: only the documents of these steps.
    async fn delete_verification_files(
        &self,
        verification_id: Uuid,
        steps: Option<&[custos_domain::kyc::Step]>,
        actor: &str,
        at_ms: i64,
    ) -> StoreResult<u64>;
    /// Stores a provider's webhook once; false when this delivery was seen before.
    async fn kyc_inbox_insert(
        &self,
        dedup_key: &str,
        provider: &str,
        event_type: &str,
        body_enc: &str,
        outcome: &str,
        at_ms: i64,
    ) -> StoreResult<bool>;
}

/// Customers' payment cards (KYC-4).
#[async_trait]
pub trait CardRepo: Send + Sync {
    /// Records a customer's card (once per customer and card); returns the existing record
    /// when the customer registered it before.
    async fn insert_card(
        &self,
        card: &CardRecord,
        number_hash: &str,
        holder_enc: Option<&str>,
        actor: &str,
    ) -> StoreResult<CardRecord>;
    /// The customers (blind indexes) other than `email_index` who registered this card.
    async fn card_owners(&self, number_hash: &str, email_index: &str) -> StoreResult<Vec<String>>;
    /// A customer's cards, newest first.
    async fn cards_of(&self, email_index: &str) -> StoreResult<Vec<CardRecord>>;
}

/// A customer's standing: their status and their appeals of it.
#[async_trait]
pub trait StandingRepo: Send + Sync {
    /// The status of the customer with this e-mail blind index, if known.
    async fn customer_status(&self, email_index: &str) -> StoreResult<Option<(Uuid, CustomerStatus)>>;
    /// Records a customer's appeal of their standing; a conflict while one is open.
    async fn insert_standing_appeal(&self, a: &StandingAppealRecord, actor: &str) -> StoreResult<()>;
    async fn standing_appeals_of(&self, email_index: &str) -> StoreResult<Vec<StandingAppealRecord>>;
    async fn open_standing_appeals(&self, limit: i64) -> StoreResult<Vec<StandingAppealRecord>>;
    async fn get_standing_appeal(&self, id: Uuid) -> StoreResult<Option<StandingAppealRecord>>;
    /// Answers an open appeal; `reinstate` makes the customer active again, in the same
    /// transaction. False when it was answered already.
    async fn answer_standing_appeal(
        &self,
        a: &StandingAppealRecord,
        outcome_enc: &str,
        reinstate: bool,
        actor: &str,
        at_ms: i64,
    ) -> StoreResult<bool>;
}

/// The versions of the policy in force.
#[async_trait]
pub trait PolicyRepo: Send + Sync {
    /// Returns the version number of a policy with this fingerprint, recording it as a new
    /// version (effective now) when it differs from the latest.
    async fn ensure_policy_version(&self, fingerprint: &str, document: &str, at_ms: i64) -> StoreResult<i64>;
}

/// API keys (only their hashes are kept).
#[async_trait]
pub trait ApiKeyRepo: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKeyRecord, hash: &str, actor: &str) -> StoreResult<()>;
    async fn find_api_key(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>>;
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>>;
    /// Revokes a key; false if there is no such live key.
    async fn revoke_api_key(&self, id: Uuid, actor: &str, at_ms: i64) -> StoreResult<bool>;
}

/// Address labels by source, streamed into the in-memory index.
#[async_trait]
pub trait LabelRepo: Send + Sync {
    /// Replaces every label of `source` by `labels` in one transaction; returns the count.
    async fn replace_label_source(
        &self,
        source: &LabelSource,
        labels: &[LabelRecord],
        at_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<u64>;
    /// Streams every label to `sink` (for building the in-memory index); returns the count.
    async fn for_each_label(&self, sink: &mut (dyn FnMut(StoredLabel) + Send)) -> StoreResult<u64>;
    async fn label_stats(&self) -> StoreResult<Vec<LabelSourceStats>>;
    /// A value that changes whenever labels change (to reload the in-memory index).
    async fn labels_revision(&self) -> StoreResult<i64>;
}

/// Orders, their deposits and screenings: the intake's writes and the reads about them.
#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// Allocates the next address index of the order's pay network, derives the address with
    /// `derive`, and inserts the order, all in one transaction. No two orders share an address.
    async fn create_order(
        &self,
        order: &OrderWrite,
        derive: &(dyn Fn(u32) -> Result<Address, DeriveError> + Sync),
    ) -> StoreResult<OrderRecord>;
    async fn get_order(&self, id: Uuid) -> StoreResult<Option<OrderView>>;
    /// In one read: the order whose deposit address `address` is, and whether the transfer
    /// (network, txid, index) is recorded already.
    async fn deposit_target(
        &self,
        network: Network,
        address: &str,
        txid: &str,
        index: u32,
    ) -> StoreResult<(Option<OrderRecord>, bool)>;
    async fn find_deposit(&self, network: Network, txid: &str, index: u32) -> StoreResult<Option<DepositOutcome>>;
    /// Records a screened deposit: the deposit (unique on network+txid+index), its screening,
    /// the order's new status, the case, audit events and outbox rows. If the deposit exists
    /// already, writes nothing and returns the existing one with `created: false`.
    async fn record_deposit(&self, write: &DepositWrite) -> StoreResult<DepositOutcome>;
    /// Applies lifecycle events to an order, with the screening and case they bring, the
    /// audit entry and the webhook, atomically. An event the lifecycle refuses is a
    /// `StoreError::IllegalTransition`, and nothing is written.
    async fn apply_order_events(&self, write: &OrderEventWrite) -> StoreResult<OrderRecord>;
    /// A customer's orders (by the blind index of the e-mail), newest first.
    async fn orders_of_customer(&self, email_index: &str, limit: i64) -> StoreResult<Vec<OrderRecord>>;
    /// Orders matching `query`, the newest (highest number) first.
    async fn list_orders(&self, query: &OrderListQuery) -> StoreResult<Vec<OrderRecord>>;
    /// Orders still awaiting their deposit that were created before `before_ms`.
    async fn orders_awaiting_deposit_before(&self, before_ms: i64) -> StoreResult<Vec<Uuid>>;
    async fn get_deposit(&self, id: Uuid) -> StoreResult<Option<DepositRecord>>;
    /// The deposits of a customer's orders received at or after `since_ms`.
    async fn customer_deposits(&self, email_index: &str, since_ms: i64) -> StoreResult<Vec<DepositRecord>>;
    /// The orders (and their customers) funded by `source` since `since_ms`.
    async fn orders_funded_by(
        &self,
        network: Network,
        source: &str,
        since_ms: i64,
    ) -> StoreResult<Vec<(Uuid, Option<String>)>>;
    /// Deposits received at or after `since_ms`, oldest first.
    async fn deposits_since(&self, since_ms: i64) -> StoreResult<Vec<DepositRecord>>;
    async fn insert_screening(&self, screening: &ScreeningRecord, actor: &str) -> StoreResult<()>;
}

/// Cases, officers' decisions and refunds, and the deadline alerts on them.
#[async_trait]
pub trait CaseRepo: Send + Sync {
    async fn get_case(&self, id: Uuid) -> StoreResult<Option<CaseRecord>>;
    /// Cases matching `filter`, the earliest deadline first.
    async fn list_cases(&self, filter: &CaseFilter) -> StoreResult<Vec<CaseRecord>>;
    /// A page of the case queue: one statement, filtered, searched and sorted in the database.
    async fn queue(&self, query: &QueueQuery) -> StoreResult<QueuePage>;
    /// Open cases per queue at `now_ms`.
    async fn queue_counts(&self, now_ms: i64) -> StoreResult<QueueCounts>;
    /// The overview's raw figures: the times of the cases opened or closed since `since_ms`,
    /// the categories each open case was opened for, and what is overdue at `now_ms`.
    async fn case_figures(&self, since_ms: i64, now_ms: i64) -> StoreResult<CaseFiguresRaw>;
    /// Applies an officer's action to a case, with its audit entry and webhook.
    async fn case_action(&self, case_id: Uuid, action: &CaseAction, actor: &str, at_ms: i64) -> StoreResult<()>;
    /// Open cases past their deadline that have not been alerted yet; marks them alerted and
    /// alerts the officers (SLA-2, invariant 7). Returns them.
    async fn alert_overdue_cases(&self, now_ms: i64) -> StoreResult<Vec<Uuid>>;
    /// Open cases on the customer's orders other than `except`.
    async fn open_cases_of_customer(&self, email_index: &str, except: Uuid) -> StoreResult<i64>;
    /// Records a decision awaiting a second officer; the audit entry carries the digest of its
    /// rationale (SHA-256 of the plain text), which binds the stored text to the chain.
    async fn insert_decision(&self, decision: &DecisionRecord, rationale_sha256: &str) -> StoreResult<()>;
    async fn get_decision(&self, id: Uuid) -> StoreResult<Option<DecisionRecord>>;
    async fn decisions_of_case(&self, case_id: Uuid) -> StoreResult<Vec<DecisionRecord>>;
    async fn get_refund(&self, id: Uuid) -> StoreResult<Option<RefundRecord>>;
    /// The same for refunds not sent by their due time (REF-4).
    async fn alert_overdue_refunds(&self, now_ms: i64) -> StoreResult<Vec<Uuid>>;
}

/// Requests to customers (KYC, source of funds), their answers and documents.
#[async_trait]
pub trait RequestRepo: Send + Sync {
    async fn requests_of_order(&self, order_id: Uuid) -> StoreResult<Vec<CustomerRequest>>;
    async fn get_request(&self, id: Uuid) -> StoreResult<Option<CustomerRequest>>;
    /// The encrypted answer to a request, if answered.
    async fn request_answer(&self, id: Uuid) -> StoreResult<Option<String>>;
    async fn documents_of_request(&self, request_id: Uuid) -> StoreResult<Vec<DocumentRecord>>;
    /// A document with its encrypted content.
    async fn document(&self, id: Uuid) -> StoreResult<Option<(DocumentRecord, String)>>;
    /// Open KYC requests due before `now_ms` at escalation below `level`.
    async fn overdue_requests(&self, now_ms: i64, level: i64) -> StoreResult<Vec<CustomerRequest>>;
    /// Raises a request's escalation and the customer's status, with an audit entry and an
    /// alert to the officers (outbox).
    async fn escalate_request(
        &self,
        id: Uuid,
        level: i64,
        customer: Option<(Uuid, CustomerStatus)>,
        at_ms: i64,
    ) -> StoreResult<()>;
}

/// Customers' appeals of an order's outcome.
#[async_trait]
pub trait AppealRepo: Send + Sync {
    /// A [`StoreError::Conflict`] when the order already has an open appeal.
    async fn insert_appeal(&self, appeal: &AppealRecord, actor: &str) -> StoreResult<()>;
    async fn appeals_of_order(&self, order_id: Uuid) -> StoreResult<Vec<AppealRecord>>;
    async fn open_appeals(&self, limit: i64) -> StoreResult<Vec<AppealRecord>>;
    async fn get_appeal(&self, id: Uuid) -> StoreResult<Option<AppealRecord>>;
    /// Records the outcome of an open appeal; false if it was answered already.
    async fn answer_appeal(&self, id: Uuid, outcome_enc: &str, actor: &str, at_ms: i64) -> StoreResult<bool>;
}

/// Idempotency keys of API writes and the answers they gave.
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    async fn idempotency_begin(&self, key: &str, request_hash: &str, at_ms: i64) -> StoreResult<IdempotencyBegin>;
    async fn idempotency_complete(&self, key: &str, status: u16, body: &str) -> StoreResult<()>;
    async fn idempotency_abandon(&self, key: &str) -> StoreResult<()>;
}

/// The webhook outbox: events written with the change that caused them, delivered later.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Pending events whose next attempt is due, oldest first.
    async fn outbox_due(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxEvent>>;
    async fn outbox_get(&self, id: Uuid) -> StoreResult<Option<OutboxEvent>>;
    /// Records an attempt (and counts it).
    async fn outbox_record(&self, id: Uuid, record: &DeliveryRecord) -> StoreResult<()>;
    /// Makes an event pending again, due now; false if there is no such event.
    async fn outbox_replay(&self, id: Uuid, now_ms: i64, actor: &str) -> StoreResult<bool>;
}

/// The hash-chained audit log.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    async fn append_audit(&self, event: &AuditEvent, at_ms: i64) -> StoreResult<()>;
    /// Entries with `seq > after`, in order, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// The (seq, hash) of the last entry as recorded by the appender.
    async fn audit_head(&self) -> StoreResult<Option<(i64, String)>>;
    /// Audit entries about any of these entities, oldest first.
    async fn audit_of(&self, entity_ids: &[String], limit: i64) -> StoreResult<Vec<AuditEntry>>;
}

/// The register of authority requests (DISC-1). Every change is conditional on the state (and
/// approvals) it was read in, so two officers acting at once change it, and audit it, once.
#[async_trait]
pub trait DisclosureRepo: Send + Sync {
    /// Registers a request, numbering it; returns the number.
    async fn insert_authority_request(&self, r: &AuthorityRequestRecord, event: &AuditEvent) -> StoreResult<i64>;
    async fn authority_request(&self, id: Uuid) -> StoreResult<Option<AuthorityRequestRecord>>;
    /// The register, newest first.
    async fn authority_requests(&self, limit: i64) -> StoreResult<Vec<AuthorityRequestRecord>>;
    /// Moves a request from `from` to `to` (and writes the approvals), if it is still in `from`
    /// with the approvals `approvals_before`; false when someone else changed it first.
    async fn change_authority_request(
        &self,
        change: &AuthorityRequestChange,
        events: &[AuditEvent],
    ) -> StoreResult<bool>;
    /// Open requests whose reminder is due (due at or before `remind_before_ms`) or that are
    /// overdue (due at or before `now_ms`), and were not yet reminded or alerted.
    async fn authority_requests_on_the_clock(
        &self,
        remind_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Vec<AuthorityRequestRecord>>;
    /// Marks a request reminded (or, with `overdue`, alerted) with its audit entry, if it was not
    /// yet: true for the one caller who did it (several instances run the clock at once).
    async fn claim_authority_clock(&self, id: Uuid, overdue: bool, event: &AuditEvent, at_ms: i64)
        -> StoreResult<bool>;
    /// The orders an address (as the deposit address or a deposit's source) or a transaction
    /// (a deposit's) touches, `value` in its normalised form.
    async fn orders_touching(&self, value: &str) -> StoreResult<Vec<Uuid>>;
    /// Records the bundle handed over (its SHA-256) and marks the request produced, if it is
    /// approved or produced already.
    async fn record_bundle(&self, id: Uuid, sha256: &str, events: &[AuditEvent], at_ms: i64) -> StoreResult<bool>;
}

/// Legal holds (issue 16).
#[async_trait]
pub trait HoldRepo: Send + Sync {
    async fn insert_hold(&self, h: &LegalHoldRecord, event: &AuditEvent) -> StoreResult<()>;
    /// Every hold, active ones first, then the newest.
    async fn holds(&self, limit: i64) -> StoreResult<Vec<LegalHoldRecord>>;
    /// Releases an active hold; false when it was released already.
    async fn release_hold(
        &self,
        id: Uuid,
        by: &str,
        reason_enc: &str,
        event: &AuditEvent,
        at_ms: i64,
    ) -> StoreResult<bool>;
    /// Whether an active hold covers the customer.
    async fn held(&self, email_index: &str) -> StoreResult<bool>;
}

/// One change of an authority request, conditional on what it was read as.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorityRequestChange {
    pub id: Uuid,
    pub from: custos_domain::disclosure::DisclosureState,
    pub to: custos_domain::disclosure::DisclosureState,
    pub approvals_before: Vec<String>,
    pub approvals: Vec<String>,
    pub pending_outcome: Option<custos_domain::disclosure::DisclosureState>,
    /// Set when the requester's verification is recorded with this change.
    pub verification: Option<custos_domain::disclosure::Verification>,
    pub at_ms: i64,
}

/// The whole store, as the wiring hands it around: every repository, implemented by one adapter.
pub trait Store:
    AccountRepo
    + SessionRepo
    + KeyRepo
    + ChainRepo
    + VerificationRepo
    + CardRepo
    + StandingRepo
    + PolicyRepo
    + ApiKeyRepo
    + LabelRepo
    + OrderRepo
    + CaseRepo
    + RequestRepo
    + AppealRepo
    + DisclosureRepo
    + HoldRepo
    + IdempotencyRepo
    + OutboxRepo
    + AuditRepo
    + Send
    + Sync
{
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
}
