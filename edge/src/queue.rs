//! Store-and-forward queue on disk: every signature is appended here (fsync'd) before it is
//! published, and removed only once it was delivered (the hub's receipt, or the broker's
//! acknowledgement).
//!
//! Layout of the queue directory:
//! - `seg-<first id>.log`: append-only segments; a record is `len: u32 LE`, `crc32: u32 LE`
//!   of the payload, then the payload `id: u64 LE` + data. Ids are consecutive.
//! - `acks.log`: append-only log of removals, same framing, payload `kind: u8` (1 acked,
//!   2 dropped for capacity) + `id: u64 LE`.
//! - `lock`: held (`flock`) by the process that has the queue open.
//!
//! Recovery reads every segment and the removal log, stops each file at its first record
//! that is cut short or fails its checksum (a write torn by a power cut), truncates it there,
//! and keeps the records not removed. A segment whose records are all removed is deleted,
//! and the removal log is rewritten (temp file + rename) without entries for deleted segments.
//!
//! Limits: at most [`QueueSettings::capacity`] records and [`QueueSettings::max_bytes`]
//! bytes of waiting records; beyond either the oldest are dropped (logged, counted). A full
//! disk never stops the queue:
//! - an append that finds no room deletes the oldest segment file (its waiting records are
//!   dropped and counted: deleting a file frees room without writing anything) and tries
//!   again; with nothing left to drop the record is refused with [`QueueError::DiskFull`],
//!   counted, and the queue stays usable;
//! - a removal the log cannot take is applied in memory (so delivered records are not sent
//!   again in this run, and segments with nothing left are deleted, which frees room) and
//!   written with the next removal that fits. Until then a crash would bring those records
//!   back: sent twice, which the hub answers as a duplicate, never lost.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub use crate::record::MAX_RECORD;
use crate::record::{HEADER, frame, scan, u64_at};

mod files;
mod recover;
mod removal;
use files::{io_err, is_full, lock_dir, segment_path, sync_dir};
use recover::framed_len;

const ACKED: u8 = 1;
const DROPPED: u8 = 2;

/// Why the queue failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// A file operation failed.
    #[error("queue file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A payload is larger than [`MAX_RECORD`].
    #[error("record of {0} bytes exceeds the {MAX_RECORD}-byte limit")]
    TooLarge(usize),
    /// Another process has the queue open.
    #[error(
        "queue directory {0} is in use by another process (a second agent on the same \
         [queue] dir?); each agent needs its own"
    )]
    Locked(PathBuf),
    /// The disk is full and the queue holds nothing more to drop: the record was not kept.
    #[error("queue directory {0}: disk full with no queued record left to drop; record not kept")]
    DiskFull(PathBuf),
    /// A record read back differs from what the index expects.
    #[error("queue file {path} at offset {offset}: record damaged")]
    Damaged {
        /// The segment.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
    },
}

/// Size limits of a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    /// Records kept at most; beyond it the oldest is dropped and counted.
    pub capacity: usize,
    /// Bytes of waiting records (framing included) kept at most; beyond it the oldest are
    /// dropped and counted. The files take up to one segment and the removal log more.
    pub max_bytes: u64,
    /// Records per segment file before a new one is started.
    pub segment_records: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            capacity: 100_000,
            max_bytes: 128 << 20,
            segment_records: 4096,
        }
    }
}

/// What recovery found on open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Records waiting to be published.
    pub pending: usize,
    /// Files whose tail was cut short or failed its checksum (and was truncated).
    pub torn_files: usize,
    /// Bytes cut off those tails.
    pub torn_bytes: u64,
}

/// What the queue gave up since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Oldest records dropped to stay within `capacity` or `max_bytes`.
    pub dropped: u64,
    /// Oldest records dropped (with their segment file) to make room on a full disk.
    pub dropped_disk_full: u64,
    /// Records refused: the disk was full with nothing left to drop.
    pub lost_disk_full: u64,
    /// Removal-log writes that found the disk full (applied in memory, written later).
    pub removals_deferred: u64,
}

#[derive(Clone, Copy, Debug)]
struct Loc {
    segment: u64,
    offset: u64,
    len: u32,
}

#[derive(Debug)]
struct Segment {
    last: u64,
    live: usize,
}

/// The queue.
#[derive(Debug)]
pub struct DiskQueue {
    dir: PathBuf,
    settings: QueueSettings,
    live: BTreeMap<u64, Loc>,
    live_bytes: u64,
    segments: BTreeMap<u64, Segment>,
    active: Option<(u64, File, u64)>,
    acks: File,
    acks_entries: usize,
    compact_after: usize,
    /// Removed in memory, not yet in the removal log (the disk was full).
    unlogged: BTreeSet<u64>,
    next_id: u64,
    counts: QueueCounts,
    /// Held (an exclusive `flock`) while the queue is open.
    _lock: File,
}

impl DiskQueue {
    /// Opens (creating if needed) the queue in `dir` and recovers its records.
    pub fn open(dir: &Path, settings: QueueSettings) -> Result<(Self, Recovery), QueueError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = lock_dir(dir)?;
        let r = recover::recover(dir)?;
        let acks_path = dir.join("acks.log");
        let acks = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&acks_path)
            .map_err(io_err(&acks_path))?;
        let live_bytes = r.live.values().map(|l| framed_len(l.len as usize)).sum();
        let mut q = DiskQueue {
            dir: dir.to_path_buf(),
            settings,
            live: r.live,
            live_bytes,
            segments: r.segments,
            active: None,
            acks,
            acks_entries: r.acks_entries,
            compact_after: 0,
            unlogged: BTreeSet::new(),
            next_id: r.next_id,
            counts: QueueCounts::default(),
            _lock: lock,
        };
        if let Err(e) = q.compact() {
            tracing::warn!(error = %e, "removal log not compacted (kept as it was)");
        }
        Ok((q, r.rec))
    }

    /// Records waiting for an acknowledgement.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Records dropped to stay within the limits since open.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped
    }

    /// Everything the queue gave up since open.
    pub fn counts(&self) -> QueueCounts {
        self.counts
    }

    /// Appends a record durably (fsync'd before returning) and returns its id. Beyond the
    /// limits, or on a full disk, the oldest records are dropped first (see the module docs).
    pub fn push(&mut self, data: &[u8]) -> Result<u64, QueueError> {
        if data.len() > MAX_RECORD {
            return Err(QueueError::TooLarge(data.len()));
        }
        let need = framed_len(8 + data.len());
        let (mut n, mut bytes) = (self.live.len(), self.live_bytes);
        let mut over = Vec::new();
        for (&id, loc) in &self.live {
            if n < self.settings.capacity.max(1) && bytes + need <= self.settings.max_bytes {
                break;
            }
            over.push(id);
            n -= 1;
            bytes -= framed_len(loc.len as usize);
        }
        if !over.is_empty() {
            self.remove_many(&over, DROPPED)?;
            self.counts.dropped += over.len() as u64;
            tracing::warn!(
                dropped = over.len(),
                "queue full: dropped the oldest signatures"
            );
        }
        loop {
            match self.append(data) {
                Err(QueueError::Io { source, .. }) if is_full(&source) => {
                    if self.live.is_empty() {
                        if let Some((first, _, _)) = self.active.take() {
                            self.delete_segment(first)?;
                        }
                        self.counts.lost_disk_full += 1;
                        return Err(QueueError::DiskFull(self.dir.clone()));
                    }
                    let n = self.drop_oldest_segment()?;
                    self.counts.dropped_disk_full += n;
                    tracing::warn!(
                        dropped = n,
                        "disk full: dropped the oldest segment of the queue"
                    );
                }
                other => return other,
            }
        }
    }

    fn append(&mut self, data: &[u8]) -> Result<u64, QueueError> {
        let id = self.next_id;
        let roll = self
            .active
            .as_ref()
            .is_none_or(|(first, _, _)| id - first >= self.settings.segment_records.max(1));
        if roll {
            // The segment being closed goes now if nothing in it waits any more.
            if let Some((first, _, _)) = self.active.take()
                && self.segments.get(&first).is_some_and(|s| s.live == 0)
            {
                self.delete_segment(first)?;
            }
            let path = segment_path(&self.dir, id);
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            self.active = Some((id, f, 0));
            self.segments.insert(id, Segment { last: id, live: 0 });
            sync_dir(&self.dir)?;
        }
        let mut payload = Vec::with_capacity(8 + data.len());
        payload.extend_from_slice(&id.to_le_bytes());
        payload.extend_from_slice(data);
        let rec = frame(&payload);
        let (first, file, offset) = self
            .active
            .as_mut()
            .expect("a segment is open after the roll check");
        let path = segment_path(&self.dir, *first);
        if let Err(source) = file.write_all(&rec).and_then(|()| file.sync_data()) {
            // Whatever part of the record reached the file goes: the next append starts
            // at a record boundary.
            let _ = file.set_len(*offset);
            return Err(QueueError::Io { path, source });
        }
        let loc = Loc {
            segment: *first,
            offset: *offset,
            len: payload.len() as u32,
        };
        *offset += rec.len() as u64;
        if let Some(seg) = self.segments.get_mut(first) {
            seg.last = id;
            seg.live += 1;
        }
        self.live.insert(id, loc);
        self.live_bytes += rec.len() as u64;
        self.next_id += 1;
        Ok(id)
    }

    /// Up to `max` waiting records with ids greater than `after`, oldest first.
    pub fn peek_after(
        &self,
        after: Option<u64>,
        max: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, QueueError> {
        let start = after.map_or(0, |a| a + 1);
        let mut out = Vec::new();
        for (&id, loc) in self.live.range(start..).take(max) {
            let path = segment_path(&self.dir, loc.segment);
            let f = File::open(&path).map_err(io_err(&path))?;
            let mut buf = vec![0u8; HEADER + loc.len as usize];
            f.read_exact_at(&mut buf, loc.offset)
                .map_err(io_err(&path))?;
            let (records, _) = scan(&buf);
            match records.first() {
                Some((_, p)) if p.len() >= 8 && u64_at(p) == id => out.push((id, p[8..].to_vec())),
                _ => {
                    return Err(QueueError::Damaged {
                        path,
                        offset: loc.offset,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Removes a record after its acknowledgement, durably; `false` if it was not waiting
    /// (already removed, or dropped).
    pub fn ack(&mut self, id: u64) -> Result<bool, QueueError> {
        Ok(self.ack_many(&[id])? == 1)
    }

    /// Removes several acknowledged records with one fsync; returns how many were waiting.
    pub fn ack_many(&mut self, ids: &[u64]) -> Result<usize, QueueError> {
        let waiting: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|id| self.live.contains_key(id))
            .collect();
        self.remove_many(&waiting, ACKED)?;
        Ok(waiting.len())
    }
}
