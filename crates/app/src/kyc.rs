//! Verifying customers (KYC): requests by level, the provider's webhooks (verified, stored once,
//! applied in order), the states and their consequences (SEC-14..SEC-16), and the officer's
//! decision when no provider decides.

use crate::accounts::Accounts;
use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::events::{KycFailed, WebhookEvent};
use crate::model::{CardRecord, VerificationFile, VerificationRecord};
use crate::ports::KycEvent;
use crate::ports::KycProvider;
use crate::queries::Queries;
use crate::repos::VerificationRepo;
use crate::repos::{CardRepo, OrderRepo, Store};
use custos_crypto::Aad;
use custos_domain::audit::AuditEvent;
use custos_domain::kyc::{
    check_address_document_date, person_name_key, CardNumber, Date, Level, SheetChecklist, Step, StepFinding,
    VerificationState,
};
use custos_domain::status::{CardState, HolderCheck};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

/// SEC-14: what a customer may not do while a requested verification is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycRules {
    pub block_orders: bool,
    pub block_payouts: bool,
}

impl Default for KycRules {
    fn default() -> Self {
        KycRules { block_orders: true, block_payouts: true }
    }
}

/// What became of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The verification moved to this state.
    Applied(VerificationState),
    /// The same delivery was seen before: nothing changed.
    Duplicate,
    /// A type Custos does not act on: stored, acknowledged.
    Ignored,
    /// Older than what is known: the later state stands.
    Stale,
    /// No verification of ours has this applicant.
    Unmatched,
}

impl WebhookOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            WebhookOutcome::Applied(_) => "applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Stale => "stale",
            WebhookOutcome::Unmatched => "unmatched",
        }
    }
}

/// An officer's decision on a verification without a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    /// Approved; a level with an identity document needs the name as the document shows it
    /// (in the letters a bank card would use), kept only as a keyed hash for KYC-4.
    Approve { identity_name: Option<String> },
    /// The customer sends again what the findings name (per step, or everything); the other
    /// steps' documents stay for the review.
    Retry(Vec<StepFinding>),
    /// Refused for good (SEC-16: the account is suspended).
    Reject(Vec<StepFinding>),
}

/// The steps of a level by its name (none for an unknown one).
pub fn level_steps(level: &str) -> Vec<Step> {
    Level::defaults().into_iter().find(|l| l.name == level).map(|l| l.steps).unwrap_or_default()
}

/// The keyed hash a name is compared by (KYC-4); `None` when it has no letters.
fn name_hash(cipher: &custos_crypto::FieldCipher, name: &str) -> Option<String> {
    person_name_key(name).map(|k| cipher.blind_index("person_name", &k))
}

fn event(actor: &str, action: &str, id: Uuid, data: serde_json::Value) -> AuditEvent {
    AuditEvent::new(actor, action, "verification", id, data)
}

/// One document a customer sends for a step of a verification.
#[derive(Debug, Clone, Copy)]
pub struct VerificationUpload<'a> {
    pub step: Step,
    /// Which accepted document it is, for steps with a choice ([`Step::document_kinds`]).
    pub kind: Option<&'a str>,
    pub bytes: &'a [u8],
    /// The proof of address's issue date (YYYY-MM-DD).
    pub issued_on: Option<&'a str>,
}

/// Whether the customer passed an identity verification (SEC-17 asks it before an appeal).
pub(crate) async fn kyc_passed(verifications: &dyn VerificationRepo, email_index: &str) -> Result<bool, AppError> {
    Ok(verifications.verifications_of(email_index).await?.iter().any(|v| v.state == VerificationState::Verified))
}

/// SEC-14: refuses a new order or a payout while the customer has a requested verification
/// open, as the rules say.
#[derive(Clone)]
pub struct KycGate {
    verifications: Arc<dyn VerificationRepo>,
    rules: KycRules,
}

impl KycGate {
    pub fn new(verifications: Arc<dyn VerificationRepo>, rules: KycRules) -> KycGate {
        KycGate { verifications, rules }
    }

    pub(crate) async fn check(&self, email_index: Option<&str>, payout: bool) -> Result<(), AppError> {
        let Some(index) = email_index else { return Ok(()) };
        let blocked = if payout { self.rules.block_payouts } else { self.rules.block_orders };
        if !blocked {
            return Ok(());
        }
        let open = self.verifications.verifications_of(index).await?.into_iter().any(|v| !v.state.is_final());
        if open {
            let what = if payout { "paid out" } else { "started" };
            return Err(AppError::conflict(
                ErrorCode::KycPending,
                format!(
                    "no exchange can be {what} for this customer until the requested verification is complete (SEC-14)"
                ),
            ));
        }
        Ok(())
    }
}

/// The repositories verification needs.
pub struct KycRepos {
    pub verifications: Arc<dyn VerificationRepo>,
    pub cards: Arc<dyn CardRepo>,
    pub orders: Arc<dyn OrderRepo>,
}

impl KycRepos {
    /// Each repository of `store`.
    pub fn of(store: &Arc<dyn Store>) -> KycRepos {
        KycRepos { verifications: store.clone(), cards: store.clone(), orders: store.clone() }
    }
}

/// The level a customer starts on their own: identity document and selfie.
pub const SELF_STARTED_LEVEL: &str = "identity";

/// Verifying customers: requests, the provider's webhooks, documents, cards and reviews.
pub struct Kyc {
    repos: KycRepos,
    /// The KYC provider; without one, officers review verifications themselves.
    provider: Option<Arc<dyn KycProvider>>,
    rules: KycRules,
    queries: Arc<Queries>,
    /// The site's name, for the A4 sheet (KYC-2).
    accounts: Arc<Accounts>,
    cx: Context,
}

impl Kyc {
    pub fn new(
        repos: KycRepos,
        provider: Option<Arc<dyn KycProvider>>,
        rules: KycRules,
        queries: Arc<Queries>,
        accounts: Arc<Accounts>,
        cx: Context,
    ) -> Kyc {
        Kyc { repos, provider, rules, queries, accounts, cx }
    }

    /// The gate orders and payouts pass (SEC-14).
    pub fn gate(&self) -> KycGate {
        KycGate::new(self.repos.verifications.clone(), self.rules)
    }

    /// What the provider knows a customer by: stable, opaque, not personal data.
    pub fn kyc_customer_ref(&self, email_index: &str) -> String {
        format!("c-{}", &self.cx.cipher.blind_index("kyc_customer_ref", email_index)[..32])
    }

    /// An officer requests a verification level of a customer (due in the KYC deadline).
    pub async fn request_verification(
        &self,
        email_index: &str,
        order_id: Option<Uuid>,
        level: &str,
        actor: &str,
    ) -> Result<VerificationRecord, AppError> {
        if !Level::defaults().iter().any(|l| l.name == level) {
            return Err(AppError::invalid(ErrorCode::UnknownLevel, format!("no verification level {level:?}")));
        }
        let customer_ref = self.kyc_customer_ref(email_index);
        let (provider, applicant_id) = match &self.provider {
            Some(p) => {
                let id = p.create_applicant(&customer_ref, level).await.map_err(AppError::from)?;
                (p.name().to_owned(), Some(id))
            }
            None => ("manual".to_owned(), None),
        };
        let now = self.cx.now_ms();
        let v = VerificationRecord {
            id: Uuid::now_v7(),
            email_index: email_index.to_owned(),
            customer_ref,
            order_id,
            level: level.to_owned(),
            provider,
            state: VerificationState::Requested,
            applicant_id,
            reject_labels: Vec::new(),
            comment_enc: None,
            last_event_at: String::new(),
            created_at_ms: now,
            updated_at_ms: now,
            due_at_ms: now + self.cx.deadlines.kyc_ms,
            identity_name_hash: None,
        };
        self.repos.verifications.insert_verification(&v, actor).await?;
        Ok(v)
    }

    /// The customer starts a verification themselves (to appeal, say): the open one they have,
    /// or a new identity verification. One open verification at a time, so repeating it makes
    /// nothing new.
    pub async fn start_own_verification(&self, email_index: &str, actor: &str) -> Result<VerificationRecord, AppError> {
        let list = self.verifications_of(email_index).await?;
        if let Some(open) = list.into_iter().find(|v| !v.state.is_final()) {
            return Ok(open);
        }
        self.request_verification(email_index, None, SELF_STARTED_LEVEL, actor).await
    }

    pub async fn verifications_of(&self, email_index: &str) -> Result<Vec<VerificationRecord>, AppError> {
        Ok(self.repos.verifications.verifications_of(email_index).await?)
    }

    /// What an open verification restricts (SEC-14).
    pub fn kyc_rules(&self) -> KycRules {
        self.rules
    }

    /// Whether the customer has passed a verification (SEC-17's precondition).
    pub async fn kyc_passed(&self, email_index: &str) -> Result<bool, AppError> {
        kyc_passed(self.repos.verifications.as_ref(), email_index).await
    }

    /// The reason the customer is shown for a resubmission, decrypted.
    pub fn verification_comment(&self, v: &VerificationRecord) -> Option<String> {
        let row = v.id.to_string();
        v.comment_enc
            .as_deref()
            .and_then(|c| self.cx.cipher.decrypt(c, Aad { table: "verifications", column: "comment", row: &row }).ok())
    }

    /// A webhook from the provider: refused unless its signature holds (nothing is stored or
    /// changed then); otherwise stored once, encrypted, and applied if it is news.
    pub async fn kyc_webhook(
        &self,
        body: &[u8],
        digest: Option<&str>,
        alg: Option<&str>,
    ) -> Result<WebhookOutcome, AppError> {
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| AppError::not_found(ErrorCode::NoKycProvider, "no KYC provider is configured"))?;
        let ev = match provider.read_webhook(body, digest, alg) {
            Ok(ev) => ev,
            Err(why) => {
                tracing::warn!(provider = provider.name(), reason = %why, "a KYC webhook was refused");
                let actor = format!("provider:{}", provider.name());
                let data = json!({"reason": why.to_string()});
                self.cx.audit(&actor, "kyc.webhook_refused", "kyc_webhook", "-", data).await?;
                return Err(AppError::invalid(ErrorCode::BadSignature, why.to_string()));
            }
        };
        let now = self.cx.now_ms();
        let handled = ev.state.is_some();
        let sealed = self
            .cx
            .cipher
            .encrypt(&String::from_utf8_lossy(body), Aad { table: "kyc_inbox", column: "body", row: &ev.dedup_key });
        let outcome = if handled { "received" } else { "ignored" };
        if !self
            .repos
            .verifications
            .kyc_inbox_insert(&ev.dedup_key, provider.name(), &ev.kind, &sealed, outcome, now)
            .await?
        {
            return Ok(WebhookOutcome::Duplicate);
        }
        if !handled {
            tracing::info!(provider = provider.name(), kind = %ev.kind, "a KYC webhook of a type Custos does not act on");
            return Ok(WebhookOutcome::Ignored);
        }
        self.apply_kyc_event(&format!("provider:{}", provider.name()), ev).await
    }

    async fn apply_kyc_event(&self, actor: &str, ev: KycEvent) -> Result<WebhookOutcome, AppError> {
        let customer_ref = ev.customer_ref.clone().unwrap_or_default();
        let Some(mut v) = self.repos.verifications.find_verification(&ev.applicant_id, &customer_ref).await? else {
            tracing::warn!(kind = %ev.kind, "a KYC webhook for an applicant Custos does not know");
            return Ok(WebhookOutcome::Unmatched);
        };
        if !v.last_event_at.is_empty() && ev.at < v.last_event_at {
            return Ok(WebhookOutcome::Stale);
        }
        let state = ev.state.expect("handled events carry a state");
        let row = v.id.to_string();
        v.applicant_id = Some(ev.applicant_id.clone());
        v.last_event_at = ev.at.clone();
        v.reject_labels = ev.reject_labels.clone();
        let sealer = self.cx.sealer_for(Some(&v.email_index)).await?;
        v.comment_enc = ev
            .customer_comment
            .as_deref()
            .map(|c| sealer.seal_str(c, Aad { table: "verifications", column: "comment", row: &row }));
        if state == VerificationState::Verified && level_steps(&v.level).contains(&Step::Identity) {
            v.identity_name_hash = self.provider_identity_name_hash(&v.customer_ref).await;
        }
        self.set_state(v, state, actor).await?;
        Ok(WebhookOutcome::Applied(state))
    }

    /// The provider's verified name as the keyed hash KYC-4 compares with; without it a card's
    /// holder stays "unverified" and the officer compares by eye.
    async fn provider_identity_name_hash(&self, customer_ref: &str) -> Option<String> {
        let provider = self.provider.as_ref()?;
        match provider.identity_name(customer_ref).await {
            Ok(name) => name.and_then(|n| name_hash(&self.cx.cipher, &n)),
            Err(e) => {
                tracing::warn!(error = %e, "the provider's verified name could not be read; card holders stay unverified");
                None
            }
        }
    }

    /// Moves a verification to `state` with its consequences: a final rejection suspends the
    /// customer and alerts the officers (SEC-16).
    async fn set_state(
        &self,
        mut v: VerificationRecord,
        state: VerificationState,
        actor: &str,
    ) -> Result<(), AppError> {
        let from = v.state;
        v.state = state;
        let failed = state == VerificationState::Failed && from != VerificationState::Failed;
        let events = vec![event(
            actor,
            "kyc.state_changed",
            v.id,
            json!({"from": from.as_str(), "to": state.as_str(), "labels": v.reject_labels}),
        )];
        let alert = failed
            .then(|| WebhookEvent::KycFailed(KycFailed { verification_id: v.id, labels: v.reject_labels.clone() }));
        let verify_cards = state == VerificationState::Verified && level_steps(&v.level).contains(&Step::BankCard);
        self.repos
            .verifications
            .update_verification(&v, &events, failed, alert.as_ref(), verify_cards, self.cx.now_ms())
            .await?;
        Ok(())
    }

    /// A token for the provider's widget, bound to this customer and level.
    pub async fn kyc_sdk_token(&self, v: &VerificationRecord) -> Result<String, AppError> {
        let provider = self
            .provider
            .as_ref()
            .ok_or_else(|| AppError::conflict(ErrorCode::NoKycProvider, "officers review this verification"))?;
        provider.sdk_token(&v.customer_ref, &v.level).await.map_err(AppError::from)
    }

    /// A customer submits a document for a verification an officer reviews: which step it
    /// is for and which accepted document it is (KYC-1, KYC-3). It is accepted by its content
    /// (PNG or JPEG within the pixel limit, metadata stripped; or PDF), at most 5 MB; a proof of
    /// address needs its issue date and at most three months' age (KYC-3); a card is a photo
    /// with its middle digits covered (KYC-4). Encrypted and bound to its row; deleted when the
    /// review ends.
    pub async fn submit_verification_file(
        &self,
        email_index: &str,
        verification_id: Uuid,
        upload: VerificationUpload<'_>,
        actor: &str,
    ) -> Result<VerificationFile, AppError> {
        let VerificationUpload { step, kind, bytes, issued_on } = upload;
        let v = self.verifications_of(email_index).await?.into_iter().find(|v| v.id == verification_id).ok_or_else(
            || AppError::not_found(ErrorCode::VerificationNotFound, format!("no verification {verification_id}")),
        )?;
        if v.provider != "manual" || v.state.is_final() {
            return Err(AppError::conflict(ErrorCode::VerificationClosed, "this verification takes no documents"));
        }
        if !level_steps(&v.level).contains(&step) {
            return Err(AppError::invalid(
                ErrorCode::StepNotRequested,
                format!("the {} level does not ask for a {}", v.level, step.as_str()),
            ));
        }
        let document_kind =
            step.check_document_kind(kind).map_err(|e| AppError::invalid(ErrorCode::DocumentKind, e))?;
        if bytes.len() > crate::documents::MAX_FILE_BYTES {
            return Err(AppError::invalid(ErrorCode::FileTooLarge, "a document may have at most 5 MB"));
        }
        let (content, content_type) = if bytes.starts_with(b"%PDF-") {
            (bytes.to_vec(), "application/pdf")
        } else {
            let info = crate::images::inspect(bytes).map_err(|e| AppError::invalid(ErrorCode::UnsupportedFile, e))?;
            (
                crate::images::strip_metadata(bytes).map_err(|e| AppError::invalid(ErrorCode::UnsupportedFile, e))?,
                info.content_type,
            )
        };
        let now = self.cx.now_ms();
        let issued_on = match step {
            Step::ProofOfAddress => {
                let issued = issued_on.and_then(Date::parse).ok_or_else(|| {
                    AppError::invalid(
                        ErrorCode::IssueDateRequired,
                        "give the proof of address's issue date (YYYY-MM-DD)",
                    )
                })?;
                check_address_document_date(issued, Date::of_unix_ms(now))
                    .map_err(|e| AppError::invalid(ErrorCode::AddressDocumentTooOld, e))?;
                Some(issued.to_string())
            }
            _ => None,
        };
        let id = Uuid::now_v7();
        let record = VerificationFile {
            id,
            verification_id,
            step,
            content_type: content_type.into(),
            size_bytes: content.len() as i64,
            sha256: custos_crypto::sha256_hex(&content),
            issued_on,
            document_kind: document_kind.map(str::to_owned),
            created_at_ms: now,
        };
        let sealed = self
            .cx
            .sealer_for(Some(email_index))
            .await?
            .seal(&content, Aad { table: "verification_files", column: "content", row: &id.to_string() });
        self.repos.verifications.insert_verification_file(&record, &sealed, actor).await?;
        if v.state != VerificationState::OnHold {
            self.set_state(v, VerificationState::OnHold, actor).await?;
        }
        Ok(record)
    }

    pub async fn verification_files(&self, verification_id: Uuid) -> Result<Vec<VerificationFile>, AppError> {
        Ok(self.repos.verifications.verification_files(verification_id).await?)
    }

    /// A submitted document for the reviewing officer; each opening is audited.
    pub async fn open_verification_file(&self, id: Uuid, actor: &str) -> Result<(VerificationFile, Vec<u8>), AppError> {
        let (record, sealed) = self
            .repos
            .verifications
            .verification_file(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::DocumentNotFound, format!("no document {id}")))?;
        let row = id.to_string();
        let aad = Aad { table: "verification_files", column: "content", row: &row };
        let bytes =
            self.cx.open_for(actor, &sealed, aad, "verification_file", json!({"sha256": record.sha256})).await?;
        Ok((record, bytes))
    }

    /// KYC-2: what the A4 sheet in the selfie must show for this verification.
    pub async fn sheet_checklist(&self, v: &VerificationRecord) -> Result<SheetChecklist, AppError> {
        let order_number = match v.order_id {
            Some(o) => self.queries.order(o).await?.order.number,
            None => 0,
        };
        Ok(SheetChecklist {
            date: Date::of_unix_ms(v.created_at_ms).to_string(),
            order_number,
            site_name: self.accounts.settings().issuer.clone(),
        })
    }

    /// KYC-4: the card paying for `order_id`. Custos keeps its first 6 and last 4 digits, its
    /// brand and a keyed hash, never the number. The holder's name is compared with the
    /// customer's verified identity. A card another customer registered, or a holder who is not
    /// the verified customer, opens a review case on this order. Returns the card and whether a
    /// case was opened.
    pub async fn register_card(
        &self,
        order_id: Uuid,
        number: &str,
        holder: Option<&str>,
        actor: &str,
    ) -> Result<(CardRecord, bool), AppError> {
        let order = self.queries.order(order_id).await?.order;
        let index = order.customer_email_index.clone().ok_or_else(|| {
            AppError::conflict(
                ErrorCode::CustomerRequired,
                "a card can be verified only for an order with a customer e-mail",
            )
        })?;
        let card = CardNumber::parse(number).map_err(|e| AppError::invalid(ErrorCode::InvalidCard, e))?;
        let hash = self.cx.cipher.blind_index("card_number", card.digits());
        let now = self.cx.now_ms();
        let id = Uuid::now_v7();
        let holder = holder.map(str::trim).filter(|h| !h.is_empty());
        let holder_check = match holder.and_then(|h| name_hash(&self.cx.cipher, h)) {
            None => HolderCheck::NotGiven,
            Some(h) => match self.repos.verifications.verified_identity_name_hash(&index).await? {
                None => HolderCheck::Unverified,
                Some(verified) if verified == h => HolderCheck::Match,
                Some(_) => HolderCheck::Mismatch,
            },
        };
        let sealer = self.cx.sealer_for(Some(&index)).await?;
        let holder_enc =
            holder.map(|h| sealer.seal_str(h, Aad { table: "cards", column: "holder", row: &id.to_string() }));
        let record = CardRecord {
            id,
            email_index: index.clone(),
            first6: card.first6().to_owned(),
            last4: card.last4().to_owned(),
            brand: card.brand(),
            order_id: Some(order_id),
            state: CardState::Pending,
            holder_check,
            created_at_ms: now,
        };
        let record = self.repos.cards.insert_card(&record, &hash, holder_enc.as_deref(), actor).await?;
        let mut reasons = Vec::new();
        if !self.repos.cards.card_owners(&hash, &index).await?.is_empty() {
            reasons.push((
                "card_of_another_customer",
                format!("card {} is registered by another customer", card.masked()),
            ));
        }
        if holder_check == HolderCheck::Mismatch {
            reasons.push((
                "card_holder_name_mismatch",
                format!("the holder of card {} is not the customer whose identity was verified", card.masked()),
            ));
        }
        if reasons.is_empty() {
            return Ok((record, false));
        }
        let rules: Vec<&str> = reasons.iter().map(|r| r.0).collect();
        let data = json!({"card_id": record.id, "rules": rules});
        crate::cases::open_rule_case(self.repos.orders.as_ref(), &self.cx, order_id, None, reasons, data, actor)
            .await?;
        Ok((record, true))
    }

    /// An officer decides a verification that no provider decides (manual review).
    pub async fn review_verification(
        &self,
        id: Uuid,
        email_index: &str,
        decision: ReviewDecision,
        actor: &str,
    ) -> Result<VerificationState, AppError> {
        let v = self
            .verifications_of(email_index)
            .await?
            .into_iter()
            .find(|v| v.id == id)
            .ok_or_else(|| AppError::not_found(ErrorCode::VerificationNotFound, format!("no verification {id}")))?;
        if v.provider != "manual" {
            return Err(AppError::conflict(
                ErrorCode::ProviderDecides,
                format!("{} decides this verification", v.provider),
            ));
        }
        if v.state.is_final() {
            return Err(AppError::conflict(
                ErrorCode::VerificationFinal,
                format!("the verification is already {}", v.state.as_str()),
            ));
        }
        let mut v = v;
        let steps = level_steps(&v.level);
        let (state, findings) = match decision {
            ReviewDecision::Approve { identity_name } => {
                if steps.contains(&Step::Identity) {
                    let hash =
                        identity_name.as_deref().and_then(|n| name_hash(&self.cx.cipher, n)).ok_or_else(|| {
                            AppError::invalid(
                                ErrorCode::IdentityNameRequired,
                                "give the name as the identity document shows it; cards are compared with it (KYC-4)",
                            )
                        })?;
                    v.identity_name_hash = Some(hash);
                }
                if steps.contains(&Step::BankCard) {
                    let cards = self.repos.cards.cards_of(email_index).await?;
                    if cards.is_empty() {
                        return Err(AppError::conflict(ErrorCode::NoCard, "the customer has not entered the card yet"));
                    }
                    if cards.iter().any(|c| c.state == CardState::Pending && c.holder_check == HolderCheck::Mismatch) {
                        return Err(AppError::conflict(
                            ErrorCode::CardHolderMismatch,
                            "the card's holder is not the verified customer; ask again or refuse (KYC-4)",
                        ));
                    }
                }
                (VerificationState::Verified, vec![])
            }
            ReviewDecision::Retry(f) | ReviewDecision::Reject(f) if f.is_empty() => {
                return Err(AppError::invalid(
                    ErrorCode::ReasonRequired,
                    "name what is wrong: a reason, for a step or for all",
                ));
            }
            ReviewDecision::Retry(f) => (VerificationState::Resubmission, f),
            ReviewDecision::Reject(f) => (VerificationState::Failed, f),
        };
        if let Some(f) = findings.iter().find(|f| f.step.is_some_and(|s| !steps.contains(&s))) {
            return Err(AppError::invalid(
                ErrorCode::StepNotRequested,
                format!("the {} level has no {}", v.level, f.label()),
            ));
        }
        v.reject_labels = findings.iter().map(|f| f.label()).collect();
        let id = v.id;
        self.set_state(v, state, actor).await?;
        // The documents go when the review ends (PD-3, SEC-13); a resubmission removes those
        // of the steps to send again (all, if no step is named).
        let redo: Vec<Step> = findings.iter().filter_map(|f| f.step).collect();
        let only = (state == VerificationState::Resubmission && findings.iter().all(|f| f.step.is_some()))
            .then_some(redo.as_slice());
        self.repos.verifications.delete_verification_files(id, only, actor, self.cx.now_ms()).await?;
        Ok(state)
    }
}
