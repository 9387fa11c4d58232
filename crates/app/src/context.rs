//! What the services share: the field cipher, the clock and the policy's deadlines, and the two
//! writes every service may need beside its own: sealing a customer's personal data with their
//! data key, and an audit event on its own.

use crate::clock::Clock;
use crate::error::AppError;
use crate::keys::Sealer;
use crate::repos::{AuditRepo, KeyRepo};
use custos_crypto::{Aad, FieldCipher};
use custos_domain::audit::AuditEvent;
use custos_domain::deadline::Deadlines;
use std::sync::Arc;

#[derive(Clone)]
pub struct Context {
    pub(crate) cipher: FieldCipher,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) deadlines: Deadlines,
    keys: Arc<dyn KeyRepo>,
    audit: Arc<dyn AuditRepo>,
}

impl Context {
    pub fn new(
        cipher: FieldCipher,
        clock: Arc<dyn Clock>,
        deadlines: Deadlines,
        keys: Arc<dyn KeyRepo>,
        audit: Arc<dyn AuditRepo>,
    ) -> Context {
        Context { cipher, clock, deadlines, keys, audit }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The sealer of a customer's personal data (their data key), or of no customer's.
    pub(crate) async fn sealer_for(&self, email_index: Option<&str>) -> Result<Sealer<'_>, AppError> {
        crate::keys::sealer(self.keys.as_ref(), &self.cipher, email_index, self.clock.now_ms()).await
    }

    /// Opens a sealed value of personal data for `actor`, an officer; the view is an audit
    /// event (`personal_data.viewed`) on the value's row, with `data` saying what was read.
    pub(crate) async fn open_for(
        &self,
        actor: &str,
        sealed: &str,
        aad: Aad<'_>,
        entity_type: &str,
        data: serde_json::Value,
    ) -> Result<Vec<u8>, AppError> {
        let bytes = self.cipher.decrypt_bytes(sealed, aad).map_err(|e| AppError::Internal(e.to_string()))?;
        self.audit(actor, "personal_data.viewed", entity_type, aad.row, data).await?;
        Ok(bytes)
    }

    /// Records an audit event on its own (for actions with no other state change).
    pub(crate) async fn audit(
        &self,
        actor: &str,
        action: &str,
        entity_type: &str,
        entity_id: &str,
        data: serde_json::Value,
    ) -> Result<(), AppError> {
        let event = AuditEvent::new(actor, action, entity_type, entity_id, data);
        Ok(self.audit.append_audit(&event, self.clock.now_ms()).await?)
    }
}
