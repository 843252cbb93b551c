//! Removing records: the removal log (appends, compaction) and deleting segments whose
//! records are all gone, with the full-disk paths described in the queue's docs.

use std::fs::{File, OpenOptions};
use std::io::Write;

use super::files::{io_err, is_full, segment_path, sync_dir};
use super::recover::framed_len;
use super::{ACKED, DiskQueue, QueueError};
use crate::record::{HEADER, frame};

impl DiskQueue {
    /// Rewrites the removal log (temp file, fsync, rename) with only the entries for
    /// records still in a segment file. On failure the old log stays in place.
    pub(super) fn compact(&mut self) -> Result<(), QueueError> {
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
        self.compact_after = self.acks_entries + self.settings.capacity.max(1024);
        let written =
            File::create(&tmp).and_then(|mut f| f.write_all(&log).and_then(|()| f.sync_all()));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(QueueError::Io { path: tmp, source });
        }
        std::fs::rename(&tmp, &acks_path).map_err(io_err(&acks_path))?;
        sync_dir(&self.dir)?;
        self.acks = OpenOptions::new()
            .append(true)
            .open(&acks_path)
            .map_err(io_err(&acks_path))?;
        self.acks_entries = entries;
        self.compact_after = 2 * self.settings.capacity.max(1024);
        self.unlogged.clear();
        Ok(())
    }

    pub(super) fn remove_many(&mut self, ids: &[u64], kind: u8) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut entries: Vec<(u8, u64)> = self.unlogged.iter().map(|&id| (ACKED, id)).collect();
        entries.extend(ids.iter().map(|&id| (kind, id)));
        match self.log_removals(&entries) {
            Ok(()) => self.unlogged.clear(),
            Err(QueueError::Io { source, .. }) if is_full(&source) => {
                self.counts.removals_deferred += 1;
                if self.unlogged.is_empty() {
                    tracing::warn!(
                        "disk full: queue removals applied in memory, written once there is room"
                    );
                }
                self.unlogged.extend(ids);
                for &id in ids {
                    self.forget(id)?;
                }
                // Deleting emptied segments may have made room.
                let entries: Vec<(u8, u64)> = self.unlogged.iter().map(|&id| (ACKED, id)).collect();
                if self.log_removals(&entries).is_ok() {
                    self.unlogged.clear();
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        for &id in ids {
            self.forget(id)?;
        }
        if self.acks_entries > self.compact_after
            && let Err(e) = self.compact()
        {
            tracing::warn!(error = %e, "removal log not compacted (kept as it was)");
        }
        Ok(())
    }

    /// Appends removal entries to the log with one fsync; on failure the log is cut back
    /// to where it was.
    fn log_removals(&mut self, entries: &[(u8, u64)]) -> Result<(), QueueError> {
        if entries.is_empty() {
            return Ok(());
        }
        let path = self.dir.join("acks.log");
        let mut log = Vec::with_capacity(entries.len() * (HEADER + 9));
        for &(kind, id) in entries {
            let mut p = vec![kind];
            p.extend_from_slice(&id.to_le_bytes());
            log.extend(frame(&p));
        }
        let len = self.acks.metadata().map_err(io_err(&path))?.len();
        if let Err(source) = self
            .acks
            .write_all(&log)
            .and_then(|()| self.acks.sync_data())
        {
            let _ = self.acks.set_len(len);
            return Err(QueueError::Io { path, source });
        }
        self.acks_entries += entries.len();
        Ok(())
    }

    fn forget(&mut self, id: u64) -> Result<(), QueueError> {
        let Some(loc) = self.live.remove(&id) else {
            return Ok(());
        };
        self.live_bytes -= framed_len(loc.len as usize);
        let active = self.active.as_ref().map(|a| a.0);
        if let Some(seg) = self.segments.get_mut(&loc.segment) {
            seg.live -= 1;
            if seg.live == 0 && active != Some(loc.segment) {
                self.delete_segment(loc.segment)?;
            }
        }
        Ok(())
    }

    /// Drops every waiting record of the oldest segment and deletes its file; returns how
    /// many were waiting.
    pub(super) fn drop_oldest_segment(&mut self) -> Result<u64, QueueError> {
        let Some((&first, seg)) = self.segments.iter().next() else {
            return Ok(0);
        };
        let ids: Vec<u64> = self
            .live
            .range(first..=seg.last)
            .map(|(&id, _)| id)
            .collect();
        for id in &ids {
            if let Some(loc) = self.live.remove(id) {
                self.live_bytes -= framed_len(loc.len as usize);
            }
        }
        if self.active.as_ref().is_some_and(|a| a.0 == first) {
            self.active = None;
        }
        self.delete_segment(first)?;
        Ok(ids.len() as u64)
    }

    /// Deletes a segment file whose records are all gone from memory: no log entry is
    /// needed for them any more.
    pub(super) fn delete_segment(&mut self, first: u64) -> Result<(), QueueError> {
        if let Some(seg) = self.segments.remove(&first) {
            let last = seg.last;
            self.unlogged.retain(|id| !(first..=last).contains(id));
        }
        let path = segment_path(&self.dir, first);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(QueueError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }
}
