//! The authenticated API caller, as the handlers and the idempotency layer see it.

use custos_app::model::ApiKeyRecord;

/// The authenticated caller, put in the request's extensions by `auth::authenticate`.
#[derive(Debug, Clone)]
pub struct Caller(pub ApiKeyRecord);

impl Caller {
    /// The audit actor: the key's id, never the key.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.0.id)
    }
}
