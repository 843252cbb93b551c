//! [`SqliteReader`]: a read-only connection to the hub's SQLite file for the HTTP API.
//! WAL mode lets it read while the hub writes; each reader sees the last commit made
//! before its query started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params_from_iter};

use super::browse::{Browse, CameraActivity, Pair, PairFilter, Passage, PassageFilter};
use super::sqlite::{from_sql, sqlite_err, to_sql};
use super::{StoreStats, StoredSignature};
use crate::error::StoreError;

/// A read-only view of the database for the HTTP API.
#[derive(Debug)]
pub struct SqliteReader {
    conn: Connection,
    path: PathBuf,
}

/// Columns of a passage, `{p}` being the table alias.
fn passage_columns(p: &str) -> String {
    format!(
        "{p}.id, {p}.site, {p}.camera, {p}.track_id, {p}.sequence, {p}.capture_time_us, {p}.received_us"
    )
}

fn passage_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Passage> {
    Ok(Passage {
        id: r.get(at)?,
        site: r.get(at + 1)?,
        camera: r.get(at + 2)?,
        track_id: r.get(at + 3)?,
        sequence: from_sql(r.get(at + 4)?),
        capture_time_us: from_sql(r.get(at + 5)?),
        received_us: from_sql(r.get(at + 6)?),
    })
}

fn pair_row(r: &Row<'_>) -> rusqlite::Result<Pair> {
    Ok(Pair {
        rank: r.get(0)?,
        distance: r.get::<_, f64>(1)? as f32,
        query: passage_at(r, 2)?,
        candidate: passage_at(r, 9)?,
    })
}

/// `SELECT` of pairs with both passages; a `WHERE` clause follows.
fn pairs_select() -> String {
    format!(
        "SELECT m.rank, m.distance, {}, {} FROM matches m \
         JOIN signatures q ON q.id = m.query_id JOIN signatures c ON c.id = m.candidate_id",
        passage_columns("q"),
        passage_columns("c")
    )
}

impl SqliteReader {
    /// Open the database at `path` read-only; it must exist (the hub creates it).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(sqlite_err(path, "open for reading"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite_err(path, "set the busy timeout"))?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    /// Every stored signature with its features, by increasing id (search by image).
    pub fn signatures(&self) -> Result<Vec<StoredSignature>, StoreError> {
        super::sqlite::load_signatures(&self.conn, &self.path)
    }

    fn err(&self, context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        sqlite_err(&self.path, context)
    }

    fn read_pairs(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Pair>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.err("read pairs"))?;
        let rows = stmt
            .query_map(params, pair_row)
            .map_err(self.err("read pairs"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read pairs"))
    }
}

/// A `WHERE` clause of the conditions a request has, so that SQLite can choose an index
/// for them (`?1 IS NULL OR …` would hide every condition from its planner).
#[derive(Debug, Default)]
struct Where {
    clauses: Vec<&'static str>,
    params: Vec<Value>,
}

impl Where {
    /// One condition (with `?` placeholders) and its values, in order.
    fn add<const N: usize>(&mut self, clause: &'static str, values: [Value; N]) {
        self.clauses.push(clause);
        self.params.extend(values);
    }

    /// ` WHERE a AND b`, or nothing.
    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// SQLite's row limit for a `usize` (which may exceed `i64`).
fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Browse for SqliteReader {
    fn passages(&self, f: &PassageFilter) -> Result<Vec<Passage>, StoreError> {
        let mut w = Where::default();
        if let Some((site, camera)) = &f.camera {
            w.add("p.site = ? AND p.camera = ?", [text(site), text(camera)]);
        }
        if let Some(t) = f.from_us {
            w.add("p.capture_time_us >= ?", [Value::Integer(to_sql(t))]);
        }
        if let Some(t) = f.to_us {
            w.add("p.capture_time_us < ?", [Value::Integer(to_sql(t))]);
        }
        if let Some(id) = f.before_id {
            w.add("p.id < ?", [Value::Integer(id)]);
        }
        let sql = format!(
            "SELECT {} FROM signatures p{} ORDER BY p.id DESC LIMIT {}",
            passage_columns("p"),
            w.sql(),
            limit(f.limit)
        );
        let mut stmt = self.conn.prepare(&sql).map_err(self.err("read passages"))?;
        let rows = stmt
            .query_map(params_from_iter(&w.params), |r| passage_at(r, 0))
            .map_err(self.err("read passages"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read passages"))
    }

    fn passage(&self, id: i64) -> Result<Option<Passage>, StoreError> {
        let sql = format!(
            "SELECT {} FROM signatures p WHERE p.id = ?1",
            passage_columns("p")
        );
        self.conn
            .query_row(&sql, [id], |r| passage_at(r, 0))
            .optional()
            .map_err(self.err("read a passage"))
    }

    fn candidates_of(&self, id: i64) -> Result<Vec<Pair>, StoreError> {
        let sql = format!("{} WHERE m.query_id = ?1 ORDER BY m.rank", pairs_select());
        self.read_pairs(&sql, [id])
    }

    fn found_by(&self, id: i64) -> Result<Vec<Pair>, StoreError> {
        let sql = format!(
            "{} WHERE m.candidate_id = ?1 ORDER BY m.query_id DESC",
            pairs_select()
        );
        self.read_pairs(&sql, [id])
    }

    fn pairs(&self, f: &PairFilter) -> Result<Vec<Pair>, StoreError> {
        let mut w = Where::default();
        if let Some((site, camera)) = &f.camera {
            w.add(
                "((q.site = ? AND q.camera = ?) OR (c.site = ? AND c.camera = ?))",
                [text(site), text(camera), text(site), text(camera)],
            );
        }
        if let Some(t) = f.from_us {
            w.add("q.capture_time_us >= ?", [Value::Integer(to_sql(t))]);
        }
        if let Some(t) = f.to_us {
            w.add("q.capture_time_us < ?", [Value::Integer(to_sql(t))]);
        }
        if let Some(d) = f.max_distance {
            w.add("m.distance <= ?", [Value::Real(f64::from(d))]);
        }
        if f.best_only {
            w.add("m.rank = 1", []);
        }
        if let Some(c) = f.after {
            w.add(
                "(m.query_id < ? OR (m.query_id = ? AND m.rank > ?))",
                [
                    Value::Integer(c.query_id),
                    Value::Integer(c.query_id),
                    Value::Integer(i64::from(c.rank)),
                ],
            );
        }
        let sql = format!(
            "{}{} ORDER BY m.query_id DESC, m.rank LIMIT {}",
            pairs_select(),
            w.sql(),
            limit(f.limit)
        );
        self.read_pairs(&sql, params_from_iter(&w.params))
    }

    fn cameras(&self) -> Result<Vec<CameraActivity>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT site, camera, count(*), max(capture_time_us), max(received_us) \
                 FROM signatures GROUP BY site, camera ORDER BY site, camera",
            )
            .map_err(self.err("read cameras"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CameraActivity {
                    site: r.get(0)?,
                    camera: r.get(1)?,
                    passages: from_sql(r.get(2)?),
                    last_capture_us: from_sql(r.get(3)?),
                    last_received_us: from_sql(r.get(4)?),
                })
            })
            .map_err(self.err("read cameras"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read cameras"))
    }

    fn thumbnail(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT jpeg FROM thumbnails WHERE signature_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("read a thumbnail"))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        read_stats(&self.conn, &self.path)
    }
}

/// Counts for `hub stats` and the HTTP API, read on `conn` (the database at `path`).
pub(super) fn read_stats(conn: &Connection, path: &Path) -> Result<StoreStats, StoreError> {
    let e = || sqlite_err(path, "read stats");
    let count = |sql: &str| -> Result<u64, StoreError> {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(from_sql)
            .map_err(e())
    };
    let pairs = |sql: &str| -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = conn.prepare(sql).map_err(e())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, from_sql(r.get(1)?))))
            .map_err(e())?;
        rows.collect::<Result<_, _>>().map_err(e())
    };
    let range: (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT min(capture_time_us), max(capture_time_us) FROM signatures",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(e())?;
    Ok(StoreStats {
        signatures: count("SELECT count(*) FROM signatures")?,
        per_camera: pairs(
            "SELECT site || '/' || camera, count(*) FROM signatures GROUP BY site, camera \
             ORDER BY site, camera",
        )?,
        matches: count("SELECT count(*) FROM matches")?,
        counters: pairs("SELECT name, count FROM counters ORDER BY name")?,
        capture_range_us: match range {
            (Some(a), Some(b)) => Some((from_sql(a), from_sql(b))),
            _ => None,
        },
    })
}
