//! The labels repository.

use crate::rows::{self, get};
use crate::script::{values, Script};
use crate::{audit, map_err, SqlStore};
use async_trait::async_trait;
use custos_app::model::*;
use custos_app::repos::*;
use futures_util::TryStreamExt;
use sqlx::Row;

/// Rows per multi-row INSERT when importing labels (6 parameters each, well under SQLite's
/// limit of 32766 parameters per statement).
pub(crate) const LABEL_BATCH: usize = 500;

pub(crate) fn label_insert_sql(rows: usize) -> std::borrow::Cow<'static, str> {
    let mut sql = String::with_capacity(70 + rows * 40);
    sql.push_str("INSERT INTO labels (source, network, address, category, label, confidence) VALUES ");
    for i in 0..rows {
        let b = i * 6;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!("(${},${},${},${},${},${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6));
    }
    sql.into()
}

#[async_trait]
impl LabelRepo for SqlStore {
    async fn replace_label_source(
        &self,
        source: &LabelSource,
        labels: &[LabelRecord],
        at_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> StoreResult<u64> {
        let mut session = self.session().await?;
        let mut start = Script::one("DELETE FROM labels WHERE source = $1", values![source.name.as_str()]);
        start.push(
            "INSERT INTO label_sources (name, kind, attribution, imported_at_ms, label_count) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, attribution = excluded.attribution, \
             imported_at_ms = excluded.imported_at_ms, label_count = excluded.label_count",
            values![source.name.as_str(), source.kind.as_str(), source.attribution.as_str(), at_ms, labels.len() as i64],
        );
        session.run(start).await?;
        let full_chunk_sql = label_insert_sql(LABEL_BATCH);
        let mut done = 0u64;
        for chunk in labels.chunks(LABEL_BATCH) {
            let sql = if chunk.len() == LABEL_BATCH { full_chunk_sql.clone() } else { label_insert_sql(chunk.len()) };
            let mut values = Vec::with_capacity(chunk.len() * 6);
            for l in chunk {
                values.extend(values![
                    source.name.as_str(),
                    l.network.as_str(),
                    l.address.as_str(),
                    l.category.as_str(),
                    l.label.as_str(),
                    i64::from(l.confidence)
                ]);
            }
            session.run(Script::one(sql, values)).await?;
            done += chunk.len() as u64;
            progress(done);
        }
        // The audit head is locked only now, so that a long import does not hold up other writes.
        let mut head = Script::default();
        audit::read_head(&mut head, self.for_update());
        let head = audit::head_of(&session.run(head).await?[0])?;
        let ev = custos_app::entries::labels_imported(source, labels.len());
        let mut end = Script::default();
        audit::push(&mut end, head, &[ev], at_ms)?;
        session.commit(end).await?;
        Ok(done)
    }

    async fn for_each_label(&self, sink: &mut (dyn FnMut(StoredLabel) + Send)) -> StoreResult<u64> {
        let mut stream = sqlx::query(
            "SELECT l.source, s.imported_at_ms, l.network, l.address, l.category, l.label, l.confidence \
             FROM labels l JOIN label_sources s ON s.name = l.source",
        )
        .fetch(&self.read);
        let mut n = 0;
        while let Some(row) = stream.try_next().await.map_err(map_err)? {
            sink(StoredLabel {
                source: get(&row, "source")?,
                imported_at_ms: get(&row, "imported_at_ms")?,
                record: LabelRecord {
                    network: rows::parse(&row, "network")?,
                    address: get(&row, "address")?,
                    category: rows::parse(&row, "category")?,
                    label: get(&row, "label")?,
                    confidence: get::<i64>(&row, "confidence")?.clamp(0, 100) as u8,
                },
            });
            n += 1;
        }
        Ok(n)
    }

    async fn label_stats(&self) -> StoreResult<Vec<LabelSourceStats>> {
        let query =
            sqlx::query("SELECT name, kind, attribution, imported_at_ms, label_count FROM label_sources ORDER BY name");
        self.read_all(query, |r| {
            Ok(LabelSourceStats {
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                attribution: get(r, "attribution")?,
                imported_at_ms: get(r, "imported_at_ms")?,
                labels: get::<i64>(r, "label_count")? as u64,
            })
        })
        .await
    }

    async fn labels_revision(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(imported_at_ms), 0) FROM label_sources")
            .fetch_one(&self.read)
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }
}
