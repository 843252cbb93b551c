//! Recovery on open: read the removal log and every segment, cut torn tails, keep the
//! records not removed, delete segments with none left.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::files::{io_err, read_valid};
use super::{Loc, QueueError, Recovery, Segment};
use crate::record::{HEADER, scan, u64_at};

/// What the files hold.
pub(super) struct Recovered {
    pub live: BTreeMap<u64, Loc>,
    pub segments: BTreeMap<u64, Segment>,
    pub next_id: u64,
    /// Entries in the removal log as found.
    pub acks_entries: usize,
    pub rec: Recovery,
}

pub(super) fn recover(dir: &Path) -> Result<Recovered, QueueError> {
    let mut rec = Recovery::default();
    let acks_path = dir.join("acks.log");
    let mut removed = HashSet::new();
    let mut next_id = 0;
    let mut acks_entries = 0;
    if acks_path.exists() {
        let bytes = read_valid(&acks_path, &mut rec)?;
        for (_, p) in scan(&bytes).0 {
            acks_entries += 1;
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
    rec.pending = live.len();
    Ok(Recovered {
        live,
        segments,
        next_id,
        acks_entries,
        rec,
    })
}

/// Bytes a record of `payload` bytes (id included) takes in a segment.
pub(super) fn framed_len(payload: usize) -> u64 {
    (HEADER + payload) as u64
}
