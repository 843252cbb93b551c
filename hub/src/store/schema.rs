//! The SQLite store's tables: signatures (unique per camera and sequence, indexed by
//! capture time), the highest evicted sequence per camera (replay protection after
//! eviction), match records, thumbnails (by signature id) and reject counters.

/// Created on open when missing.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS signatures (
    id              INTEGER PRIMARY KEY,
    site            TEXT    NOT NULL,
    camera          TEXT    NOT NULL,
    sequence        INTEGER NOT NULL,
    capture_time_us INTEGER NOT NULL,
    track_id        INTEGER NOT NULL,
    received_us     INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    UNIQUE (site, camera, sequence)
);
CREATE INDEX IF NOT EXISTS signatures_by_time ON signatures (capture_time_us);
CREATE TABLE IF NOT EXISTS evicted_through (
    site     TEXT    NOT NULL,
    camera   TEXT    NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (site, camera)
);
CREATE TABLE IF NOT EXISTS matches (
    query_id     INTEGER NOT NULL,
    rank         INTEGER NOT NULL,
    candidate_id INTEGER NOT NULL,
    distance     REAL    NOT NULL,
    PRIMARY KEY (query_id, rank)
);
CREATE INDEX IF NOT EXISTS matches_by_candidate ON matches (candidate_id);
CREATE TABLE IF NOT EXISTS thumbnails (
    signature_id INTEGER PRIMARY KEY,
    jpeg         BLOB    NOT NULL,
    received_us  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name  TEXT    PRIMARY KEY,
    count INTEGER NOT NULL
);
";
