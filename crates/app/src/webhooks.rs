//! Delivers the outbox to the operator's webhook receiver, at least once, with a stable event
//! id: retries with backoff, then a dead-letter state from which an event can be replayed.

use crate::clock::Clock;
use crate::error::{AppError, ErrorCode};
use crate::model::{DeliveryRecord, OutboxEvent};
use crate::ports::{SendOutcome, WebhookSender};
use crate::repos::OutboxRepo;
use std::sync::Arc;
use uuid::Uuid;

/// The delay before retry number `failures` (1-based): 10 s, 1 min, then 10 min six times;
/// `None` once the retries are used up.
pub fn retry_delay_ms(failures: u32) -> Option<i64> {
    match failures {
        1 => Some(10_000),
        2 => Some(60_000),
        3..=8 => Some(600_000),
        _ => None,
    }
}

/// What one pass delivered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPass {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

pub struct Deliverer {
    outbox: Arc<dyn OutboxRepo>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
}

impl Deliverer {
    pub fn new(outbox: Arc<dyn OutboxRepo>, sender: Arc<dyn WebhookSender>, clock: Arc<dyn Clock>) -> Self {
        Deliverer { outbox, sender, clock }
    }

    /// Sends every event that is due, once.
    pub async fn deliver_due(&self) -> Result<DeliveryPass, AppError> {
        let mut pass = DeliveryPass::default();
        for event in self.outbox.outbox_due(self.clock.now_ms(), 100).await? {
            let outcome = self.sender.send(&event.id.to_string(), &event.body()).await;
            let failures = event.attempts + 1;
            let record = match outcome {
                SendOutcome::Delivered => {
                    pass.delivered += 1;
                    DeliveryRecord::Delivered { at_ms: self.clock.now_ms() }
                }
                SendOutcome::Retryable(error) => match retry_delay_ms(failures) {
                    Some(delay) => {
                        pass.retrying += 1;
                        DeliveryRecord::Retry { next_at_ms: self.clock.now_ms() + delay, error }
                    }
                    None => {
                        pass.dead += 1;
                        DeliveryRecord::Dead { error: format!("gave up after {failures} attempts: {error}") }
                    }
                },
                SendOutcome::Permanent(error) => {
                    pass.dead += 1;
                    DeliveryRecord::Dead { error }
                }
            };
            self.outbox.outbox_record(event.id, &record).await?;
        }
        Ok(pass)
    }
}

/// The outbox's events as the API shows and replays them.
pub struct WebhookEvents {
    outbox: Arc<dyn OutboxRepo>,
    clock: Arc<dyn Clock>,
}

impl WebhookEvents {
    pub fn new(outbox: Arc<dyn OutboxRepo>, clock: Arc<dyn Clock>) -> WebhookEvents {
        WebhookEvents { outbox, clock }
    }

    /// A webhook event and its delivery state.
    pub async fn get(&self, id: Uuid) -> Result<OutboxEvent, AppError> {
        self.outbox
            .outbox_get(id)
            .await?
            .ok_or_else(|| AppError::not_found(ErrorCode::EventNotFound, format!("no webhook event {id}")))
    }

    /// Sends a webhook event again (from the dead letters, or once more after delivery).
    pub async fn replay(&self, id: Uuid, actor: &str) -> Result<OutboxEvent, AppError> {
        if !self.outbox.outbox_replay(id, self.clock.now_ms(), actor).await? {
            return Err(AppError::not_found(ErrorCode::EventNotFound, format!("no webhook event {id}")));
        }
        self.get(id).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_retry_schedule_is_ten_seconds_a_minute_then_ten_minutes_six_times() {
        let delays: Vec<_> = (1..=9).map(super::retry_delay_ms).collect();
        assert_eq!(
            delays,
            [
                Some(10_000),
                Some(60_000),
                Some(600_000),
                Some(600_000),
                Some(600_000),
                Some(600_000),
                Some(600_000),
                Some(600_000),
                None
            ]
        );
    }
}
