use super::*;
use crate::events::SignatureRef;

fn event(camera: &str) -> MatchEvent {
    let r = SignatureRef {
        id: 2,
        site: "a9".into(),
        camera: camera.into(),
        track_id: 7,
        sequence: 3,
        capture_time_us: 10,
    };
    MatchEvent::new(r, &[0xab; 16], vec![])
}

#[test]
fn a_key_is_created_once_private_and_reloaded() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys/hub.events-key");
    let first = EventSigner::load_or_create(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = EventSigner::load_or_create(&path).unwrap();
    assert_eq!(first.public(), again.public());
    assert!(!format!("{first:?}").contains(std::fs::read_to_string(&path).unwrap().trim()));
    std::fs::write(&path, "not hex\n").unwrap();
    let err = EventSigner::load_or_create(&path).unwrap_err();
    assert!(err.to_string().contains("hub.events-key"), "{err}");
}

#[test]
fn only_the_hubs_unaltered_events_verify() {
    let dir = tempfile::tempdir().unwrap();
    let hub = EventSigner::load_or_create(&dir.path().join("hub")).unwrap();
    let other = EventSigner::load_or_create(&dir.path().join("other")).unwrap();
    let key = hub.public();
    let signed = hub.sign(&event("north")).unwrap();
    assert_eq!(key.verify(&signed).unwrap(), event("north"));
    // The event is a string: its bytes are what was signed.
    let v: serde_json::Value = serde_json::from_slice(&signed).unwrap();
    assert!(
        v["event"]
            .as_str()
            .unwrap()
            .contains("\"camera\":\"north\"")
    );

    let forged = other.sign(&event("north")).unwrap();
    assert!(matches!(
        key.verify(&forged),
        Err(EventAuthError::OtherKey(_))
    ));
    // Another key's signature under the hub's name.
    let mut env: serde_json::Value = serde_json::from_slice(&forged).unwrap();
    env["signed_by"] = key.to_hex().into();
    let claimed = serde_json::to_vec(&env).unwrap();
    assert_eq!(key.verify(&claimed), Err(EventAuthError::BadSignature));
    // The hub's signature over an altered event.
    let mut env: serde_json::Value = serde_json::from_slice(&signed).unwrap();
    let altered = env["event"].as_str().unwrap().replace("north", "south");
    env["event"] = altered.into();
    let altered = serde_json::to_vec(&env).unwrap();
    assert_eq!(key.verify(&altered), Err(EventAuthError::BadSignature));
    // A bare, unsigned event.
    let bare = event("north").to_json().unwrap();
    assert!(matches!(
        key.verify(&bare),
        Err(EventAuthError::Malformed(_))
    ));
    assert_eq!(EventKey::from_hex(&key.to_hex()), Some(key));
}

#[test]
fn a_batch_signed_on_every_core_keeps_its_order() {
    let dir = tempfile::tempdir().unwrap();
    let hub = EventSigner::load_or_create(&dir.path().join("hub")).unwrap();
    let cameras: Vec<String> = (0..40).map(|i| format!("cam{i}")).collect();
    let events: Vec<MatchEvent> = cameras.iter().map(|c| event(c)).collect();
    let signed = hub.sign_all(&events).unwrap();
    assert_eq!(signed.len(), events.len());
    for (s, e) in signed.iter().zip(&events) {
        assert_eq!(&hub.public().verify(s).unwrap(), e);
    }
}
