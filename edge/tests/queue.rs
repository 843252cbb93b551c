//! The on-disk queue: durability across reopen, torn tails, capacity drops.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::fs::OpenOptions;
use std::io::Write;

use spanreid_edge::queue::{DiskQueue, QueueSettings};

fn settings(capacity: usize) -> QueueSettings {
    QueueSettings {
        capacity,
        segment_records: 4,
        ..QueueSettings::default()
    }
}

fn payloads(q: &DiskQueue) -> Vec<Vec<u8>> {
    q.peek_after(None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn records_survive_reopen_and_acked_ones_stay_gone() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<u64> = {
        let (mut q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
        assert_eq!(rec.pending, 0);
        let ids = (0..10u8)
            .map(|i| q.push(&[i; 5]).unwrap())
            .collect::<Vec<_>>();
        assert!(q.ack(ids[0]).unwrap());
        assert!(q.ack(ids[5]).unwrap());
        assert!(!q.ack(ids[5]).unwrap());
        ids
    };
    let (mut q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    assert_eq!(rec.pending, 8);
    assert_eq!(rec.torn_files, 0);
    let expect: Vec<Vec<u8>> = [1u8, 2, 3, 4, 6, 7, 8, 9]
        .iter()
        .map(|&i| vec![i; 5])
        .collect();
    assert_eq!(payloads(&q), expect);
    // paging after an id
    let page = q.peek_after(Some(ids[4]), 2).unwrap();
    assert_eq!(
        page.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![ids[6], ids[7]]
    );
    // new ids never reuse old ones while old acks are on disk
    let new = q.push(b"x").unwrap();
    assert!(new > ids[9]);
    // acking everything deletes every full segment
    for (id, _) in q.peek_after(None, usize::MAX).unwrap() {
        assert!(q.ack(id).unwrap());
    }
    assert!(q.is_empty());
    let segs = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("seg-")
        })
        .count();
    assert!(segs <= 1, "{segs} segment files left");
    drop(q);
    let (q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    assert_eq!(rec.pending, 0);
    assert!(q.is_empty());
}

fn newest_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seg-"))
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

#[test]
fn a_torn_last_record_is_cut_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut q, _) = DiskQueue::open(dir.path(), settings(100)).unwrap();
        for i in 0..6u8 {
            q.push(&[i; 100]).unwrap();
        }
    }
    // A power cut in the middle of the 7th append: header and half the payload.
    let seg = newest_segment(dir.path());
    let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&108u32.to_le_bytes()).unwrap();
    f.write_all(&0xdead_beefu32.to_le_bytes()).unwrap();
    f.write_all(&[7; 50]).unwrap();
    drop(f);
    let before = std::fs::metadata(&seg).unwrap().len();
    let (mut q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    assert_eq!(rec.pending, 6);
    assert_eq!(rec.torn_files, 1);
    assert_eq!(rec.torn_bytes, 58);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), before - 58);
    assert_eq!(payloads(&q).last().unwrap(), &vec![5u8; 100]);
    // and the queue keeps working after recovery
    q.push(&[8; 3]).unwrap();
    drop(q);
    let (q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    assert_eq!((rec.pending, rec.torn_files), (7, 0));
    assert_eq!(payloads(&q).last().unwrap(), &vec![8u8; 3]);
}

#[test]
fn a_flipped_bit_in_the_last_record_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut q, _) = DiskQueue::open(dir.path(), settings(100)).unwrap();
        q.push(b"first").unwrap();
        q.push(b"second").unwrap();
    }
    let seg = newest_segment(dir.path());
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let (q, rec) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    assert_eq!(rec.torn_files, 1);
    assert_eq!(payloads(&q), vec![b"first".to_vec()]);
}

#[test]
fn beyond_capacity_the_oldest_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut q, _) = DiskQueue::open(dir.path(), settings(3)).unwrap();
    for i in 0..7u8 {
        q.push(&[i]).unwrap();
    }
    assert_eq!(q.len(), 3);
    assert_eq!(q.dropped(), 4);
    assert_eq!(payloads(&q), vec![vec![4], vec![5], vec![6]]);
    drop(q);
    let (q, rec) = DiskQueue::open(dir.path(), settings(3)).unwrap();
    assert_eq!(rec.pending, 3);
    assert_eq!(payloads(&q), vec![vec![4], vec![5], vec![6]]);
}

#[test]
fn beyond_max_bytes_the_oldest_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    // A 1,000-byte record takes 1,016 bytes framed (length, checksum, id): three fit.
    let limits = QueueSettings {
        max_bytes: 3 * 1016,
        ..settings(100)
    };
    let (mut q, _) = DiskQueue::open(dir.path(), limits).unwrap();
    for i in 0..5u8 {
        q.push(&[i; 1000]).unwrap();
    }
    assert_eq!(q.len(), 3);
    assert_eq!(q.dropped(), 2);
    let firsts: Vec<u8> = payloads(&q).iter().map(|p| p[0]).collect();
    assert_eq!(firsts, [2, 3, 4]);
    // A smaller record makes room for itself only.
    q.push(&[9; 10]).unwrap();
    assert_eq!(q.len(), 3);
    drop(q);
    let (q, rec) = DiskQueue::open(dir.path(), limits).unwrap();
    assert_eq!(rec.pending, 3);
    assert_eq!(q.counts().dropped, 0, "counts are per open");
}

#[test]
fn a_closed_segment_with_nothing_waiting_is_deleted_when_the_next_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut q, _) = DiskQueue::open(dir.path(), settings(100)).unwrap();
    let ids: Vec<u64> = (0..4u8).map(|i| q.push(&[i]).unwrap()).collect();
    assert_eq!(q.ack_many(&ids).unwrap(), 4);
    let segments = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("seg-")
            })
            .count()
    };
    assert_eq!(segments(), 1, "the segment being written stays");
    q.push(&[9]).unwrap();
    assert_eq!(segments(), 1, "the emptied one went when the next started");
    assert_eq!(payloads(&q), [vec![9]]);
}

#[test]
fn oversized_records_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut q, _) = DiskQueue::open(dir.path(), settings(3)).unwrap();
    let big = vec![0u8; spanreid_edge::queue::MAX_RECORD + 1];
    assert!(q.push(&big).is_err());
    assert!(q.is_empty());
}

#[test]
fn a_second_opener_of_the_same_directory_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut q, _) = DiskQueue::open(dir.path(), settings(10)).unwrap();
    q.push(b"kept").unwrap();
    let err = DiskQueue::open(dir.path(), settings(10)).unwrap_err();
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
    drop(q);
    let (q, rec) = DiskQueue::open(dir.path(), settings(10)).unwrap();
    assert_eq!(rec.pending, 1);
    assert_eq!(payloads(&q), [b"kept".to_vec()]);
}
