//! The policy repository.

use crate::rows::get;
use crate::script::{values, Script};
use crate::{audit, SqlStore};
use async_trait::async_trait;
use custos_app::repos::*;

#[async_trait]
impl PolicyRepo for SqlStore {
    async fn ensure_policy_version(&self, fingerprint: &str, document: &str, at_ms: i64) -> StoreResult<i64> {
        let mut session = self.session().await?;
        // The head first: on PostgreSQL its lock orders concurrent servers, so the latest version
        // read next is current.
        let mut first = Script::default();
        audit::read_head(&mut first, self.for_update());
        first.push("SELECT version, fingerprint FROM policy_versions ORDER BY version DESC LIMIT 1", vec![]);
        let out = session.run(first).await?;
        let head = audit::head_of(&out[0])?;
        let next = match out[1].rows.first() {
            Some(r) if get::<String>(r, "fingerprint")? == fingerprint => {
                let version = get(r, "version")?;
                session.rollback().await?;
                return Ok(version);
            }
            Some(r) => get::<i64>(r, "version")? + 1,
            None => 1,
        };
        let mut script = Script::one(
            "INSERT INTO policy_versions (version, fingerprint, document, effective_at_ms) VALUES ($1, $2, $3, $4)",
            values![next, fingerprint, document, at_ms],
        );
        let ev = custos_app::entries::policy_version_created(next, fingerprint);
        audit::push(&mut script, head, &[ev], at_ms)?;
        session.commit(script).await?;
        Ok(next)
    }
}
