//! [`SqliteStore`]: the gallery in one SQLite file (WAL, `synchronous = FULL`; see the
//! parent module for why).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::schema::SCHEMA;
use super::{InsertOutcome, MatchRecord, NewSignature, Store, StoreStats, StoredSignature};
use crate::error::StoreError;
use spanreid::signature::Envelope;

/// The gallery in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Highest evicted sequence per camera: anything at or below it is a replay.
    evicted_through: HashMap<(String, String), u64>,
}

// SQLite integers are i64; sequence numbers and times are stored bit-cast.
pub(super) fn to_sql(v: u64) -> i64 {
    v as i64
}
pub(super) fn from_sql(v: i64) -> u64 {
    v as u64
}

impl SqliteStore {
    /// Match records of a `SELECT query_id, rank, candidate_id, distance …` query.
    fn read_matches(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<MatchRecord>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.err("read matches"))?;
        let rows = stmt
            .query_map(params, |r| {
                Ok(MatchRecord {
                    query_id: r.get(0)?,
                    rank: r.get(1)?,
                    candidate_id: r.get(2)?,
                    distance: r.get::<_, f64>(3)? as f32,
                })
            })
            .map_err(self.err("read matches"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read matches"))
    }
    /// Open (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = sqlite_err(path, "open");
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            // Truncated, or made by hand: either way the gallery starts empty.
            tracing::warn!(
                db = %path.display(),
                "the database file is empty (0 bytes): starting with an empty gallery"
            );
        }
        let conn = Connection::open(path).map_err(err)?;
        // Readers (`hub stats`, `hub query`) may open the file while the hub writes.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite_err(path, "set busy timeout"))?;
        enable_wal(&conn, path)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite_err(path, "set synchronous"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sqlite_err(path, "create schema"))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            evicted_through: HashMap::new(),
        };
        store.evicted_through = store.load_evicted_through()?;
        Ok(store)
    }

    /// Database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        sqlite_err(&self.path, context)
    }

    fn load_evicted_through(&self) -> Result<HashMap<(String, String), u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT site, camera, sequence FROM evicted_through")
            .map_err(self.err("read eviction marks"))?;
        let rows = stmt
            .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), from_sql(r.get(2)?))))
            .map_err(self.err("read eviction marks"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read eviction marks"))
    }
}

pub(super) fn sqlite_err(
    path: &Path,
    context: &'static str,
) -> impl Fn(rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::Sqlite {
        path: path.clone(),
        context,
        source,
    }
}

fn insert_match_rows(
    tx: &rusqlite::Transaction<'_>,
    matches: &[MatchRecord],
    path: &Path,
) -> Result<(), StoreError> {
    let e = |c| sqlite_err(path, c);
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO matches (query_id, rank, candidate_id, distance) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(e("insert match"))?;
    for m in matches {
        insert
            .execute(params![
                m.query_id,
                m.rank,
                m.candidate_id,
                f64::from(m.distance)
            ])
            .map_err(e("insert match"))?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn insert_batch(
        &mut self,
        batch: &[NewSignature<'_>],
        counters: &[(&str, u64)],
        matches: &mut dyn FnMut(&[InsertOutcome]) -> Vec<MatchRecord>,
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        let path = self.path.clone();
        let e = |c| sqlite_err(&path, c);
        let tx = self.conn.transaction().map_err(e("begin"))?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT id, payload FROM signatures WHERE site=?1 AND camera=?2 AND sequence=?3",
                )
                .map_err(e("look up sequence"))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO signatures (site, camera, sequence, capture_time_us, track_id, \
                     received_us, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(e("insert signature"))?;
            for new in batch {
                let sig = new.signature;
                let (site, camera) = (sig.site.as_str(), sig.camera.as_str());
                let seq = to_sql(sig.sequence);
                let existing: Option<(i64, Vec<u8>)> = find
                    .query_row(params![site, camera, seq], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(e("look up sequence"))?;
                let floor = self
                    .evicted_through
                    .get(&(site.to_owned(), camera.to_owned()));
                let outcome = match existing {
                    Some((id, payload)) if payload == new.payload => InsertOutcome::Duplicate(id),
                    Some(_) => InsertOutcome::Replay,
                    None if floor.is_some_and(|&f| sig.sequence <= f) => InsertOutcome::Replay,
                    None => {
                        insert
                            .execute(params![
                                site,
                                camera,
                                seq,
                                to_sql(sig.capture_time_us),
                                sig.track_id,
                                to_sql(new.received_us),
                                new.payload
                            ])
                            .map_err(e("insert signature"))?;
                        InsertOutcome::Inserted(tx.last_insert_rowid())
                    }
                };
                outcomes.push(outcome);
            }
            let mut tally: Vec<(&str, u64)> = counters.to_vec();
            for o in &outcomes {
                tally.push(match o {
                    InsertOutcome::Inserted(_) => ("accepted", 1),
                    InsertOutcome::Duplicate(_) => ("duplicate", 1),
                    InsertOutcome::Replay => ("replay", 1),
                });
            }
            for (name, count) in tally {
                super::thumbnails::bump(&tx, name, count, &path)?;
            }
        }
        insert_match_rows(&tx, &matches(&outcomes), &path)?;
        tx.commit().map_err(e("commit signatures"))?;
        Ok(outcomes)
    }

    fn insert_thumbnails(
        &mut self,
        thumbnails: &[crate::thumbnails::NewThumbnail<'_>],
        rejected: &[(&str, u64)],
        received_us: u64,
        max_bytes: u64,
    ) -> Result<crate::thumbnails::ThumbnailCounts, StoreError> {
        super::thumbnails::insert(
            &mut self.conn,
            &self.path,
            thumbnails,
            rejected,
            received_us,
            max_bytes,
        )
    }

    fn insert_matches(&mut self, matches: &[MatchRecord]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(sqlite_err(&path, "begin"))?;
        insert_match_rows(&tx, matches, &path)?;
        tx.commit().map_err(sqlite_err(&path, "commit matches"))
    }

    fn load_all(&self) -> Result<Vec<StoredSignature>, StoreError> {
        load_signatures(&self.conn, &self.path)
    }

    fn get(&self, id: i64) -> Result<Option<StoredSignature>, StoreError> {
        let payload: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT payload FROM signatures WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("read signature"))?;
        payload.map(|p| decode_row(&self.path, id, &p)).transpose()
    }

    fn evict(&mut self, older_than_us: u64, max_count: usize) -> Result<Vec<i64>, StoreError> {
        let path = self.path.clone();
        let e = |c| sqlite_err(&path, c);
        let tx = self.conn.transaction().map_err(e("begin"))?;
        let count: i64 = tx
            .query_row("SELECT count(*) FROM signatures", [], |r| r.get(0))
            .map_err(e("count"))?;
        let excess = usize::try_from(count)
            .unwrap_or(0)
            .saturating_sub(max_count);
        let victims: Vec<(i64, String, String, u64)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id, site, camera, sequence FROM signatures WHERE capture_time_us < ?1 \
                     UNION SELECT * FROM (SELECT id, site, camera, sequence FROM signatures \
                     ORDER BY capture_time_us, id LIMIT ?2)",
                )
                .map_err(e("select evictions"))?;
            let rows = stmt
                .query_map(params![to_sql(older_than_us), excess as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, from_sql(r.get(3)?)))
                })
                .map_err(e("select evictions"))?;
            rows.collect::<Result<_, _>>()
                .map_err(e("select evictions"))?
        };
        if victims.is_empty() {
            return Ok(Vec::new());
        }
        let mut marks = self.evicted_through.clone();
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM signatures WHERE id = ?1")
                .map_err(e("evict"))?;
            let mut delete_matches = tx
                .prepare_cached("DELETE FROM matches WHERE query_id = ?1 OR candidate_id = ?1")
                .map_err(e("evict matches"))?;
            let mut delete_thumbnail = tx
                .prepare_cached("DELETE FROM thumbnails WHERE signature_id = ?1")
                .map_err(e("evict thumbnails"))?;
            for (id, site, camera, seq) in &victims {
                delete.execute([id]).map_err(e("evict"))?;
                delete_matches.execute([id]).map_err(e("evict matches"))?;
                delete_thumbnail
                    .execute([id])
                    .map_err(e("evict thumbnails"))?;
                let mark = marks.entry((site.clone(), camera.clone())).or_insert(*seq);
                *mark = (*mark).max(*seq);
            }
            let mut save = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO evicted_through (site, camera, sequence) \
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(e("save eviction marks"))?;
            for ((site, camera), seq) in &marks {
                save.execute(params![site, camera, to_sql(*seq)])
                    .map_err(e("save eviction marks"))?;
            }
        }
        tx.commit().map_err(e("commit evictions"))?;
        self.evicted_through = marks;
        let mut ids: Vec<i64> = victims.into_iter().map(|v| v.0).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn matches_of(&self, query_id: i64) -> Result<Vec<MatchRecord>, StoreError> {
        self.read_matches(
            "SELECT query_id, rank, candidate_id, distance FROM matches \
             WHERE query_id = ?1 ORDER BY rank",
            [query_id],
        )
    }

    fn all_matches(&self) -> Result<Vec<MatchRecord>, StoreError> {
        // `matches` is a rowid table: rowids grow with each insert (a replaced row is
        // inserted anew), so they give the order of storing.
        self.read_matches(
            "SELECT query_id, rank, candidate_id, distance FROM matches ORDER BY rowid",
            [],
        )
    }

    fn count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM signatures", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(from_sql)
            .map_err(self.err("count signatures"))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        super::reader::read_stats(&self.conn, &self.path)
    }
}

/// The stored signature of row `id` of the database at `path`.
fn decode_row(path: &Path, id: i64, payload: &[u8]) -> Result<StoredSignature, StoreError> {
    let corrupt = |source| StoreError::Corrupt {
        path: path.to_owned(),
        id,
        source,
    };
    let envelope = Envelope::decode(payload).map_err(corrupt)?;
    Ok(StoredSignature {
        id,
        signature: envelope.signature().clone(),
    })
}

/// Every stored signature of `conn` (the database at `path`), by increasing id; a row that
/// no longer decodes is logged and left out (it stays in the database for an audit).
pub(super) fn load_signatures(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<StoredSignature>, StoreError> {
    let err = || sqlite_err(path, "load gallery");
    let mut stmt = conn
        .prepare("SELECT id, payload FROM signatures ORDER BY id")
        .map_err(err())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(err())?;
    let mut out = Vec::new();
    for row in rows {
        let (id, payload) = row.map_err(err())?;
        match decode_row(path, id, &payload) {
            Ok(stored) => out.push(stored),
            Err(e) => tracing::error!(id, error = %e, "stored row does not decode; skipped"),
        }
    }
    Ok(out)
}

/// Switches the database to WAL mode. A connection opening the same new file at the same
/// moment (a reader, a second process) can make SQLite answer busy at once, without
/// waiting out the busy timeout: try again for up to ten seconds.
fn enable_wal(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other.map_err(sqlite_err(path, "enable WAL")),
        }
    }
}
