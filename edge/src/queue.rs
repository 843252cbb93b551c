//! Store-and-forward queue on disk: every signature is appended here (fsync'd) before it is
//! published, and removed only once the broker acknowledged it.
//!
//! Layout of the queue directory:
//! - `seg-<first id>.log`: append-only segments; a record is `len: u32 LE`, `crc32: u32 LE`
//!   of the payload, then the payload `id: u64 LE` + data. Ids are consecutive.
//! - `acks.log`: append-only log of removals, same framing, payload `kind: u8` (1 acked,
//!   2 dropped for capacity) + `id: u64 LE`.
//!
//! Recovery reads every segment and the removal log, stops each file at its first record
//! that is cut short or fails its checksum (a write torn by a power cut), truncates it there,
//! and keeps the records not removed. A segment whose records are all removed is deleted,
//! and the removal log is rewritten (temp file + rename) without entries for deleted segments.

use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub use crate::record::MAX_RECORD;
use crate::record::{HEADER, frame, scan, u64_at};

mod files;
use files::{io_err, lock_dir, read_valid, segment_path, sync_dir};

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
    /// Records per segment file before a new one is started.
    pub segment_records: u64,
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
    segments: BTreeMap<u64, Segment>,
    active: Option<(u64, File, u64)>,
    acks: File,
    acks_entries: usize,
    next_id: u64,
    dropped: u64,
    /// Held (an exclusive `flock`) while the queue is open.
    _lock: File,
}

impl DiskQueue {
    /// Opens (creating if needed) the queue in `dir` and recovers its records.
    pub fn open(dir: &Path, settings: QueueSettings) -> Result<(Self, Recovery), QueueError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = lock_dir(dir)?;
        let mut rec = Recovery::default();
        let acks_path = dir.join("acks.log");
        let mut removed = HashSet::new();
        let mut next_id = 0;
        if acks_path.exists() {
            let bytes = read_valid(&acks_path, &mut rec)?;
            for (_, p) in scan(&bytes).0 {
                if p.len() == 9 {
                    let id = u64_at(&p[1..]);
                    removed.insert(id);
                    next_id = next_id.max(id + 1);
                }
            }
        }
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("seg-") && n.ends_with(".log"))
            })
            .collect();
        names.sort();
        let mut live = BTreeMap::new();
        let mut segments = BTreeMap::new();
        for path in names {
            let bytes = read_valid(&path, &mut rec)?;
            let records = scan(&bytes).0;
            let Some(first) = records
                .first()
                .filter(|(_, p)| p.len() >= 8)
                .map(|(_, p)| u64_at(p))
            else {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
                continue;
            };
            let mut seg = Segment {
                last: first,
                live: 0,
            };
            for (offset, p) in records.iter().filter(|(_, p)| p.len() >= 8) {
                let id = u64_at(p);
                seg.last = seg.last.max(id);
                next_id = next_id.max(id + 1);
                if !removed.contains(&id) {
                    seg.live += 1;
                    live.insert(
                        id,
                        Loc {
                            segment: first,
                            offset: *offset,
                            len: p.len() as u32,
                        },
                    );
                }
            }
            if seg.live == 0 {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            } else {
                segments.insert(first, seg);
            }
        }
        let acks_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&acks_path)
            .map_err(io_err(&acks_path))?;
        rec.pending = live.len();
        let mut q = DiskQueue {
            dir: dir.to_path_buf(),
            settings,
            live,
            segments,
            active: None,
            acks: acks_file,
            acks_entries: 0,
            next_id,
            dropped: 0,
            _lock: lock,
        };
        q.compact()?;
        Ok((q, rec))
    }

    /// Rewrites the removal log (temp file, fsync, rename) with only the entries for
    /// records still in a segment file.
    fn compact(&mut self) -> Result<(), QueueError> {
        let acks_path = self.dir.join("acks.log");
        let tmp = self.dir.join("acks.log.tmp");
        let mut log = Vec::new();
        let mut entries = 0;
        for (first, seg) in &self.segments {
            for id in *first..=seg.last {
                if !self.live.contains_key(&id) {
                    let mut p = vec![ACKED];
                    p.extend_from_slice(&id.to_le_bytes());
                    log.extend(frame(&p));
                    entries += 1;
                }
            }
        }
        File::create(&tmp)
            .and_then(|mut f| f.write_all(&log).and_then(|()| f.sync_all()))
            .map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &acks_path).map_err(io_err(&acks_path))?;
        sync_dir(&self.dir)?;
        self.acks = OpenOptions::new()
            .append(true)
            .open(&acks_path)
            .map_err(io_err(&acks_path))?;
        self.acks_entries = entries;
        Ok(())
    }

    /// Records waiting for an acknowledgement.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Records dropped for capacity since open.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Appends a record durably (fsync'd before returning) and returns its id. When the
    /// queue is full the oldest record is dropped first.
    pub fn push(&mut self, data: &[u8]) -> Result<u64, QueueError> {
        if data.len() > MAX_RECORD {
            return Err(QueueError::TooLarge(data.len()));
        }
        while self.live.len() >= self.settings.capacity.max(1) {
            if let Some((&oldest, _)) = self.live.iter().next() {
                self.remove(oldest, DROPPED)?;
                self.dropped += 1;
                tracing::warn!(id = oldest, "queue full: dropped the oldest signature");
            }
        }
        let id = self.next_id;
        let roll = self
            .active
            .as_ref()
            .is_none_or(|(first, _, _)| id - first >= self.settings.segment_records.max(1));
        if roll {
            let path = segment_path(&self.dir, id);
            let f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            sync_dir(&self.dir)?;
            self.active = Some((id, f, 0));
            self.segments.insert(id, Segment { last: id, live: 0 });
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
        file.write_all(&rec)
            .and_then(|()| file.sync_data())
            .map_err(io_err(&path))?;
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

    fn remove(&mut self, id: u64, kind: u8) -> Result<(), QueueError> {
        self.remove_many(&[id], kind)
    }

    fn remove_many(&mut self, ids: &[u64], kind: u8) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut log = Vec::with_capacity(ids.len() * (HEADER + 9));
        for id in ids {
            let mut p = vec![kind];
            p.extend_from_slice(&id.to_le_bytes());
            log.extend(frame(&p));
        }
        let path = self.dir.join("acks.log");
        self.acks
            .write_all(&log)
            .and_then(|()| self.acks.sync_data())
            .map_err(io_err(&path))?;
        self.acks_entries += ids.len();
        for &id in ids {
            self.forget(id)?;
        }
        if self.acks_entries > 2 * self.settings.capacity.max(1024) {
            self.compact()?;
        }
        Ok(())
    }

    fn forget(&mut self, id: u64) -> Result<(), QueueError> {
        let Some(loc) = self.live.remove(&id) else {
            return Ok(());
        };
        let active = self.active.as_ref().map(|a| a.0);
        if let Some(seg) = self.segments.get_mut(&loc.segment) {
            seg.live -= 1;
            if seg.live == 0 && active != Some(loc.segment) {
                self.segments.remove(&loc.segment);
                let seg_path = segment_path(&self.dir, loc.segment);
                std::fs::remove_file(&seg_path).map_err(io_err(&seg_path))?;
            }
        }
        Ok(())
    }
}
