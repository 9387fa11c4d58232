//! `Idempotency-Key`: a retried API write gets the first answer again, and a key is for one
//! request only.

use crate::clock::Clock;
use crate::error::AppError;
use crate::model::IdempotencyBegin;
use crate::repos::IdempotencyRepo;
use std::sync::Arc;

pub struct Idempotency {
    keys: Arc<dyn IdempotencyRepo>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    pub fn new(keys: Arc<dyn IdempotencyRepo>, clock: Arc<dyn Clock>) -> Idempotency {
        Idempotency { keys, clock }
    }

    /// Claims `key` for the request whose hash is `request_hash`, or says what it stands for
    /// already: the stored answer, a different request, or one still being processed.
    pub async fn begin(&self, key: &str, request_hash: &str) -> Result<IdempotencyBegin, AppError> {
        Ok(self.keys.idempotency_begin(key, request_hash, self.clock.now_ms()).await?)
    }

    /// Keeps the answer; a server error frees the key instead, as a retry may succeed.
    pub async fn finish(&self, key: &str, status: u16, body: &str) -> Result<(), AppError> {
        if (500..600).contains(&status) {
            Ok(self.keys.idempotency_abandon(key).await?)
        } else {
            Ok(self.keys.idempotency_complete(key, status, body).await?)
        }
    }
}
