use super::*;

#[test]
fn the_run_state_round_trips_through_its_byte() {
    let c = Control::default();
    assert_eq!(c.get(), RunState::Run);
    for s in [RunState::Drain, RunState::Stop, RunState::Run] {
        c.set(s);
        assert_eq!(c.get(), s);
    }
    assert_eq!(RunState::try_from(3), Err(3));
}

#[test]
fn packet_ids_map_back_to_records_in_send_order() {
    let mut f = Inflight::default();
    f.sent(Some(Record::Signature(10)));
    f.sent(None);
    f.sent(Some(Record::Thumbnail(3)));
    f.sent(Some(Record::Signature(11)));
    assert_eq!((f.pending(), f.pending_thumbnails()), (2, 1));
    assert_eq!((f.cursor, f.thumbnail_cursor), (Some(11), Some(3)));
    f.went_out(1);
    f.went_out(0);
    f.went_out(3);
    f.went_out(2);
    assert_eq!(f.acked(2), Some(Record::Signature(11)));
    assert_eq!(f.acked(2), None);
    assert_eq!(f.acked(3), Some(Record::Thumbnail(3)));
    assert_eq!(f.acked(1), Some(Record::Signature(10)));
    assert_eq!((f.pending(), f.pending_thumbnails()), (0, 0));
}
