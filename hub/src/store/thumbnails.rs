//! The SQLite side of thumbnails: stored by signature id, capped in total bytes.

use std::path::Path;

use rusqlite::{Connection, Transaction, params};

use super::sqlite::{sqlite_err, to_sql};
use crate::error::StoreError;
use crate::thumbnails::{NewThumbnail, ThumbnailCounts};

/// Adds `count` to counter `name` inside `tx`.
pub(super) fn bump(
    tx: &Transaction<'_>,
    name: &str,
    count: u64,
    path: &Path,
) -> Result<(), StoreError> {
    if count == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO counters (name, count) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET count = count + excluded.count",
    )
    .and_then(|mut s| s.execute(params![name, to_sql(count)]))
    .map(|_| ())
    .map_err(sqlite_err(path, "update counters"))
}

/// See [`super::Store::insert_thumbnails`].
pub(super) fn insert(
    conn: &mut Connection,
    path: &Path,
    thumbnails: &[NewThumbnail<'_>],
    rejected: &[(&str, u64)],
    received_us: u64,
    max_bytes: u64,
) -> Result<ThumbnailCounts, StoreError> {
    let e = |c| sqlite_err(path, c);
    let tx = conn.transaction().map_err(e("begin"))?;
    let mut counts = ThumbnailCounts {
        rejected: rejected.iter().map(|r| r.1).sum(),
        ..ThumbnailCounts::default()
    };
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO thumbnails (signature_id, jpeg, received_us) \
                 SELECT id, ?4, ?5 FROM signatures WHERE site = ?1 AND camera = ?2 AND sequence = ?3",
            )
            .map_err(e("insert thumbnail"))?;
        for t in thumbnails {
            let n = insert
                .execute(params![
                    t.site,
                    t.camera,
                    to_sql(t.sequence),
                    t.jpeg,
                    to_sql(received_us)
                ])
                .map_err(e("insert thumbnail"))?;
            if n == 0 {
                counts.without_passage += 1;
            } else {
                counts.stored += 1;
            }
        }
        let total: i64 = tx
            .query_row(
                "SELECT coalesce(sum(length(jpeg)), 0) FROM thumbnails",
                [],
                |r| r.get(0),
            )
            .map_err(e("size thumbnails"))?;
        let mut excess = u64::try_from(total).unwrap_or(0).saturating_sub(max_bytes);
        if excess > 0 {
            let mut oldest = tx
                .prepare_cached(
                    "SELECT signature_id, length(jpeg) FROM thumbnails ORDER BY signature_id",
                )
                .map_err(e("evict thumbnails"))?;
            let mut victims = Vec::new();
            let mut rows = oldest.query([]).map_err(e("evict thumbnails"))?;
            while excess > 0 {
                let Some(row) = rows.next().map_err(e("evict thumbnails"))? else {
                    break;
                };
                let (id, len): (i64, i64) = (
                    row.get(0).map_err(e("evict thumbnails"))?,
                    row.get(1).map_err(e("evict thumbnails"))?,
                );
                victims.push(id);
                excess = excess.saturating_sub(u64::try_from(len).unwrap_or(0));
            }
            drop(rows);
            let mut delete = tx
                .prepare_cached("DELETE FROM thumbnails WHERE signature_id = ?1")
                .map_err(e("evict thumbnails"))?;
            for id in &victims {
                delete.execute([id]).map_err(e("evict thumbnails"))?;
            }
            counts.evicted = victims.len() as u64;
        }
    }
    for (name, count) in rejected {
        bump(&tx, name, *count, path)?;
    }
    bump(&tx, "thumbnail_stored", counts.stored, path)?;
    bump(
        &tx,
        "thumbnail_without_passage",
        counts.without_passage,
        path,
    )?;
    bump(&tx, "thumbnail_evicted", counts.evicted, path)?;
    tx.commit().map_err(e("commit thumbnails"))?;
    Ok(counts)
}
