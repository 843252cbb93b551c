//! Bookkeeping of one connection (no I/O): which queued record each packet id carries, in
//! two lanes — signatures, and thumbnails that only go out when no signature is waiting.

use std::collections::{HashMap, VecDeque};

/// A queued record handed to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A signature of the signature queue.
    Signature(u64),
    /// A thumbnail of the thumbnail queue.
    Thumbnail(u64),
}

/// Which queue record each packet id carries.
#[derive(Debug, Default)]
pub struct Inflight {
    /// Requests handed to the client, not yet seen going out (`None` for status messages).
    order: VecDeque<Option<Record>>,
    by_pkid: HashMap<u16, Record>,
    /// Highest signature record id handed to the client on this connection.
    pub cursor: Option<u64>,
    /// Highest thumbnail record id handed to the client on this connection.
    pub thumbnail_cursor: Option<u64>,
}

impl Inflight {
    /// A request was handed to the client.
    pub fn sent(&mut self, record: Option<Record>) {
        let cursor = match record {
            Some(Record::Signature(id)) => Some((&mut self.cursor, id)),
            Some(Record::Thumbnail(id)) => Some((&mut self.thumbnail_cursor, id)),
            None => None,
        };
        if let Some((c, id)) = cursor {
            *c = Some(c.map_or(id, |c| c.max(id)));
        }
        self.order.push_back(record);
    }

    /// The client sent a PUBLISH with packet id `pkid` (0 for QoS 0).
    pub fn went_out(&mut self, pkid: u16) {
        if let Some(Some(record)) = self.order.pop_front()
            && pkid != 0
        {
            self.by_pkid.insert(pkid, record);
        }
    }

    /// A PUBACK arrived; the record it acknowledges.
    pub fn acked(&mut self, pkid: u16) -> Option<Record> {
        self.by_pkid.remove(&pkid)
    }

    fn count(&self, lane: impl Fn(&Record) -> bool) -> usize {
        self.by_pkid.values().filter(|r| lane(r)).count()
            + self.order.iter().flatten().filter(|r| lane(r)).count()
    }

    /// Signatures handed over and not yet acknowledged.
    pub fn pending(&self) -> usize {
        self.count(|r| matches!(r, Record::Signature(_)))
    }

    /// Thumbnails handed over and not yet acknowledged.
    pub fn pending_thumbnails(&self) -> usize {
        self.count(|r| matches!(r, Record::Thumbnail(_)))
    }
}
