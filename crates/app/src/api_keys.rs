//! API keys (SEC-3): made by the operator (any scope) or an admin (integration scopes only),
//! kept as hashes, and checked on every API request through a short cache.

use crate::clock::Clock;
use crate::error::{AppError, ErrorCode};
use crate::model::{ActorKind, ApiKeyRecord, Scope};
use crate::repos::ApiKeyRepo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How long a looked-up API key is trusted without asking the database again.
const KEY_CACHE_MS: i64 = 30_000;

pub struct ApiKeys {
    keys: Arc<dyn ApiKeyRepo>,
    clock: Arc<dyn Clock>,
    /// Key hash -> (record, when it was looked up).
    cache: Mutex<HashMap<String, (ApiKeyRecord, i64)>>,
}

impl ApiKeys {
    pub fn new(keys: Arc<dyn ApiKeyRepo>, clock: Arc<dyn Clock>) -> ApiKeys {
        ApiKeys { keys, clock, cache: Mutex::new(HashMap::new()) }
    }

    /// Creates an API key; returns the key itself (shown once) and its record.
    pub async fn create(
        &self,
        name: &str,
        scopes: Vec<Scope>,
        actor: &str,
    ) -> Result<(String, ApiKeyRecord), AppError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(AppError::invalid(ErrorCode::InvalidName, "the key's name must be 1 to 100 characters"));
        }
        if scopes.is_empty() {
            return Err(AppError::invalid(ErrorCode::InvalidScope, "an API key needs at least one scope"));
        }
        if ActorKind::of(actor) != ActorKind::System {
            // The back-office (an admin) mints integration keys only (SEC-3).
            if let Some(s) = scopes.iter().find(|s| s.is_compliance()) {
                return Err(AppError::forbidden(
                    ErrorCode::ScopeNeedsOperator,
                    format!(
                        "{} acts on compliance work; only the operator can grant it (custos apikey create)",
                        s.as_str()
                    ),
                ));
            }
        }
        let key = custos_crypto::new_api_key();
        let record = ApiKeyRecord {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            scopes,
            created_at_ms: self.clock.now_ms(),
            revoked: false,
        };
        self.keys.insert_api_key(&record, &custos_crypto::api_key_hash(&key), actor).await?;
        Ok((key, record))
    }

    pub async fn list(&self) -> Result<Vec<ApiKeyRecord>, AppError> {
        Ok(self.keys.list_api_keys().await?)
    }

    /// Revokes an API key at once (the authentication cache forgets it too).
    pub async fn revoke(&self, id: Uuid, actor: &str) -> Result<(), AppError> {
        if !self.keys.revoke_api_key(id, actor, self.clock.now_ms()).await? {
            return Err(AppError::not_found(ErrorCode::ApiKeyNotFound, format!("no live API key {id}")));
        }
        self.cache.lock().expect("not poisoned").clear();
        Ok(())
    }

    /// Looks up an API key by its hash, with a short cache so that authentication is not a
    /// query per request.
    pub async fn authenticate(&self, key: &str) -> Result<Option<ApiKeyRecord>, AppError> {
        let hash = custos_crypto::api_key_hash(key);
        let now = self.clock.now_ms();
        if let Some((rec, at)) = self.cache.lock().expect("not poisoned").get(&hash) {
            if now - at < KEY_CACHE_MS {
                return Ok(Some(rec.clone()));
            }
        }
        let found = self.keys.find_api_key(&hash).await?.filter(|k| !k.revoked);
        let mut cache = self.cache.lock().expect("not poisoned");
        if let Some(rec) = &found {
            cache.insert(hash, (rec.clone(), now));
        } else {
            cache.remove(&hash);
        }
        Ok(found)
    }
}
