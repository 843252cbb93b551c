//! The production broker setup of `deploy/mosquitto` against real mosquitto: logins made by
//! `add-login.sh`, its topic rules, client ids forced to usernames. A camera's login cannot
//! take over the hub's session, read other cameras' signatures, publish for another camera
//! or forge match events; anonymous clients are refused; the hub, logged in, stores all.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use rumqttc::{Client, ConnectionError, Event, MqttOptions, Packet, QoS};
use spanreid_hub::config::BrokerLogin;
use spanreid_hub::events::MATCH_TOPIC;
use spanreid_hub::ingest::SIGNATURE_FILTER;
use spanreid_hub::synthetic::IdentityBank;

fn add_login(dir: &Path, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/mosquitto/add-login.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .env("PASSWD", dir.join("passwd"))
        .env("ACL", dir.join("acl"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Messages received: topic and payload.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A client logged in as `user` (client id `client_id`, which the broker replaces by the
/// username), collecting what arrives on `subscribe`.
struct Login {
    client: Client,
    got: Received,
    refused: Arc<Mutex<bool>>,
    /// Whether a CONNACK accepting the login ever arrived.
    connected: Arc<Mutex<bool>>,
}

impl Login {
    fn connect(port: u16, user: Option<(&str, &str)>, client_id: &str, subscribe: &[&str]) -> Self {
        let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(5));
        if let Some((u, p)) = user {
            o.set_credentials(u, p);
        }
        let (client, mut conn) = Client::new(o, 256);
        for filter in subscribe {
            client.subscribe(*filter, QoS::AtLeastOnce).unwrap();
        }
        let got: Received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(false));
        let connected = Arc::new(Mutex::new(false));
        let (sink, flag, up) = (got.clone(), refused.clone(), connected.clone());
        thread::spawn(move || {
            for ev in conn.iter() {
                match ev {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => *up.lock().unwrap() = true,
                    Ok(Event::Incoming(Packet::Publish(p))) => sink
                        .lock()
                        .unwrap()
                        .push((p.topic.clone(), p.payload.to_vec())),
                    Err(ConnectionError::ConnectionRefused(_)) => {
                        *flag.lock().unwrap() = true;
                        break;
                    }
                    Err(_) => thread::sleep(Duration::from_millis(100)),
                    Ok(_) => {}
                }
            }
        });
        thread::sleep(Duration::from_millis(300));
        Login {
            client,
            got,
            refused,
            connected,
        }
    }

    fn publish_all(&self, messages: &[(String, Vec<u8>)]) {
        for (topic, payload) in messages {
            self.client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, payload.clone())
                .unwrap();
        }
    }
}

#[test]
fn logins_and_topic_rules_keep_cameras_in_their_lane() {
    let dir = tempfile::tempdir().unwrap();
    add_login(dir.path(), &["camera", SITE, CAMERAS[0], "pw-c1"]);
    add_login(dir.path(), &["camera", SITE, CAMERAS[1], "pw-c2"]);
    add_login(dir.path(), &["hub", "hub-a", "pw-hub"]);
    add_login(dir.path(), &["consumer", "viewer", "pw-viewer"]);
    let broker = Mosquitto::start_with_logins(&dir.path().join("passwd"), &dir.path().join("acl"));

    let mut settings = settings(dir.path(), broker.port, "hub-a");
    settings.config.mqtt.username = "hub-a".into();
    settings.config.mqtt.password = "pw-hub".into();
    let hub = RunningHub::start(&settings);
    thread::sleep(Duration::from_millis(500));

    let c2_user = format!("{SITE}-{}", CAMERAS[1]);
    // Camera 2's login, asking for the hub's client id and for everything.
    let intruder = Login::connect(
        broker.port,
        Some((&c2_user, "pw-c2")),
        "hub-a",
        &[SIGNATURE_FILTER, MATCH_TOPIC, "spanreid/#"],
    );
    let viewer = Login::connect(
        broker.port,
        Some(("viewer", "pw-viewer")),
        "v",
        &[MATCH_TOPIC],
    );
    let anonymous = Login::connect(broker.port, None, "anon", &[SIGNATURE_FILTER]);
    let wrong_password = Login::connect(
        broker.port,
        Some((&c2_user, "guess")),
        "guess",
        &[SIGNATURE_FILTER],
    );

    let c1_user = format!("{SITE}-{}", CAMERAS[0]);
    let camera1 = Login::connect(broker.port, Some((&c1_user, "pw-c1")), "c1", &[]);
    let bank = IdentityBank::new(40, DIM, 3);
    let now = now_us();
    let own: Vec<_> = (0..40)
        .map(|i| signed(&sighting(&bank, &settings, i, 0, i as u64 + 1, now), 0))
        .collect();
    camera1.publish_all(&own);
    // Camera 2 publishing camera 1's next signature on camera 1's topic, and a forged
    // match event.
    let forged = signed(&sighting(&bank, &settings, 0, 0, 1000, now), 0);
    intruder.publish_all(&[forged, (MATCH_TOPIC.into(), b"{\"forged\":true}".to_vec())]);

    let stats = wait_for(&settings.config.db, "camera 1's signatures", |s| {
        s.signatures == 40
    });
    thread::sleep(Duration::from_secs(1));
    hub.stop();
    let stats_after = spanreid_hub::store::SqliteStore::open(&settings.config.db)
        .map(|s| spanreid_hub::store::Store::stats(&s).unwrap())
        .unwrap();
    assert_eq!(stats_after.signatures, 40, "nothing but camera 1's own 40");
    assert_eq!(
        total_counted(&stats),
        40,
        "no rejected message reached the hub"
    );

    let seen: Vec<String> = intruder
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    assert!(
        seen.iter()
            .all(|t| !t.ends_with("/signature") && t != MATCH_TOPIC),
        "camera 2's login read {seen:?}"
    );
    let events = viewer.got.lock().unwrap().clone();
    assert!(
        events.iter().all(|(_, p)| !p.starts_with(b"{\"forged\"")),
        "a camera's login published a match event"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(*anonymous.refused.lock().unwrap() && *wrong_password.refused.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "anonymous or wrong-password login accepted"
        );
        thread::sleep(Duration::from_millis(50));
    }
    assert!(anonymous.got.lock().unwrap().is_empty());
}

#[test]
fn the_embedded_broker_admits_only_its_logins_each_under_its_own_client_id() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let c1_user = format!("{SITE}-{}", CAMERAS[0]);
    let mut settings = settings(dir.path(), port, "hub-e");
    settings.config.mqtt.username = "hub-e".into();
    settings.config.mqtt.password = "pw-hub".into();
    settings.config.embedded_broker = true;
    for (u, p) in [("hub-e", "pw-hub"), (c1_user.as_str(), "pw-c1")] {
        settings.config.embedded_broker_logins.push(BrokerLogin {
            username: u.into(),
            password: p.into(),
        });
    }
    let settings = settings.config.validate().unwrap();
    let hub = RunningHub::start(&settings);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "embedded broker not listening");
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(500));

    let anonymous = Login::connect(port, None, "anon", &[SIGNATURE_FILTER]);
    // Camera 1's login under the hub's client id: refused, the hub keeps its session.
    let takeover = Login::connect(
        port,
        Some((&c1_user, "pw-c1")),
        "hub-e",
        &[SIGNATURE_FILTER],
    );
    let camera1 = Login::connect(port, Some((&c1_user, "pw-c1")), &c1_user, &[]);
    let bank = IdentityBank::new(10, DIM, 4);
    let now = now_us();
    let own: Vec<_> = (0..10)
        .map(|i| signed(&sighting(&bank, &settings, i, 0, i as u64 + 1, now), 0))
        .collect();
    camera1.publish_all(&own);
    wait_for(&settings.config.db, "camera 1's signatures", |s| {
        s.signatures == 10
    });
    hub.stop();
    // rumqttd closes a refused connection without a CONNACK.
    assert!(
        !*anonymous.connected.lock().unwrap(),
        "anonymous login accepted"
    );
    assert!(
        !*takeover.connected.lock().unwrap(),
        "login under another's client id accepted"
    );
    assert!(*camera1.connected.lock().unwrap());
    assert!(takeover.got.lock().unwrap().is_empty());

    // Listening beyond loopback without logins is refused by the configuration.
    let mut open = settings.config.clone();
    open.embedded_broker_logins.clear();
    open.mqtt.host = "0.0.0.0".into();
    open.mqtt.username.clear();
    open.mqtt.password = "".into();
    let err = open.validate().unwrap_err().to_string();
    assert!(err.contains("embedded_broker_logins"), "{err}");
}
