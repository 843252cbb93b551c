//! The operator's HTTP API against a real hub, a real mosquitto and real sockets: the token
//! guards everything but the health check, passages and matches page and filter, bad
//! requests get JSON errors naming the parameter, camera statuses show, and a match made
//! after a client connected to the live stream arrives on it.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::Value;
use spanreid_hub::synthetic::IdentityBank;

const TOKEN: &str = "test-token-0123456789";

/// GET `path` with the token when `auth`: status and JSON body (or the text as a string).
fn get(port: u16, path: &str, auth: bool) -> (u16, Value) {
    let mut req = ureq::get(&format!("http://127.0.0.1:{port}{path}"));
    if auth {
        req = req.set("Authorization", &format!("Bearer {TOKEN}"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

fn ok(port: u16, path: &str) -> Value {
    let (status, body) = get(port, path, true);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

#[test]
fn the_api_pages_filters_guards_and_streams() {
    let broker = Mosquitto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), broker.port, "hub-http");
    let port = free_port();
    settings.config.http.listen = Some(format!("127.0.0.1:{port}").parse().unwrap());
    settings.config.http.token = Some(TOKEN.into());
    let hub = RunningHub::start(&settings);
    wait_for(&settings.config.db, "hub database", |_| true);
    testkit_wait(|| TcpStream::connect(("127.0.0.1", port)).is_ok());

    // The token guards everything but the health check.
    assert_eq!(
        get(port, "/healthz", false),
        (200, Value::String("ok".into()))
    );
    let (status, body) = get(port, "/api/v1/stats", false);
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401);
    assert!(
        body["error"].as_str().unwrap().contains("access token"),
        "{body}"
    );
    assert_eq!(get(port, "/", false).0, 401);
    let (status, page) = get(port, &format!("/?token={TOKEN}"), false);
    assert_eq!(status, 200);
    assert!(page.as_str().unwrap().contains("Live matches"));

    // A retained status from camera c1 (not authenticated, shown as a hint).
    let (online, retained) = (br#"{"online":true,"frames":42}"#.to_vec(), true);
    publish_retained(broker.port, "spanreid/v1/s/c1/status", online, retained);

    // Six identities pass c1 then c2 then c3, 60 s apart.
    let identities = 6;
    let bank = IdentityBank::new(identities, DIM, 3);
    let t0 = now_us() - 600_000_000;
    let mut messages = Vec::new();
    let mut seq = HashMap::new();
    for cam in 0..2 {
        for id in 0..identities {
            let n = seq.entry(cam).or_insert(0u64);
            *n += 1;
            let t = t0 + (cam as u64 * 60 + id as u64) * 1_000_000;
            let sig = sighting(&bank, &settings, id, cam, *n, t);
            messages.push(signed(&sig, cam));
        }
    }
    publish(broker.port, messages);
    wait_for(&settings.config.db, "12 passages", |s| s.signatures == 12);

    let stats = ok(port, "/api/v1/stats");
    assert_eq!(stats["passages"], 12);
    assert_eq!(stats["model_id"], "5a".repeat(16));
    assert_eq!(stats["calibrated"], false);

    let cams = ok(port, "/api/v1/cameras");
    let cams = cams.as_array().unwrap();
    assert_eq!(cams.len(), 3, "{cams:?}");
    let c1 = cams.iter().find(|c| c["camera"] == "c1").unwrap();
    assert_eq!(c1["passages"], 6);
    assert_eq!(c1["status"]["frames"], 42, "{c1}");
    let c3 = cams.iter().find(|c| c["camera"] == "c3").unwrap();
    assert_eq!(
        (c3["passages"].clone(), c3["status"].clone()),
        (Value::from(0), Value::Null)
    );

    // Passages of one camera, two pages of four then the rest.
    let first = ok(port, "/api/v1/passages?camera=s/c1&limit=4");
    let rows = first["passages"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|p| p["camera"] == "c1"));
    let next = first["next"].as_i64().unwrap();
    let second = ok(
        port,
        &format!("/api/v1/passages?camera=s/c1&limit=4&before={next}"),
    );
    let rest = second["passages"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert!(rest.iter().all(|p| p["id"].as_i64().unwrap() < next));
    assert_eq!(second["next"], Value::Null);
    let window = ok(
        port,
        &format!(
            "/api/v1/passages?from_us={}&to_us={}",
            t0 + 60_000_000,
            t0 + 62_000_000
        ),
    );
    assert_eq!(window["passages"].as_array().unwrap().len(), 2, "{window}");

    // Every c2 passage found its identity's c1 passage first.
    let matches = ok(port, "/api/v1/matches?best_only=true&camera=s/c2");
    let pairs = matches["matches"].as_array().unwrap();
    assert_eq!(pairs.len(), identities, "{matches}");
    for m in pairs {
        assert_eq!(m["rank"], 1);
        assert_eq!(
            (
                m["query"]["camera"].clone(),
                m["candidate"]["camera"].clone()
            ),
            ("c2".into(), "c1".into())
        );
        let dt = m["query"]["capture_time_us"].as_u64().unwrap()
            - m["candidate"]["capture_time_us"].as_u64().unwrap();
        assert_eq!(dt, 60_000_000, "the same identity, a minute earlier: {m}");
        assert_eq!(m["travel_time_s"], 60.0);
    }
    let one = ok(port, "/api/v1/matches?best_only=true&limit=1");
    let after = one["next"].as_str().unwrap().to_owned();
    let more = ok(
        port,
        &format!("/api/v1/matches?best_only=true&limit=100&after={after}"),
    );
    assert_eq!(more["matches"].as_array().unwrap().len(), identities - 1);

    let id = pairs[0]["query"]["id"].as_i64().unwrap();
    let detail = ok(port, &format!("/api/v1/passages/{id}"));
    assert_eq!(detail["passage"]["id"], id);
    assert_eq!(detail["candidates"][0]["candidate"], pairs[0]["candidate"]);
    let back = pairs[0]["candidate"]["id"].as_i64().unwrap();
    let found = ok(port, &format!("/api/v1/passages/{back}"));
    assert_eq!(found["found_by"][0]["query"]["id"], id);

    // Thumbnails: one for c1's first passage, one tagged with another camera's key, one
    // for a sequence nobody stored.
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(24, 16, image::Rgb([200, 40, 40]))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let thumb = |seq: u64, camera_key: usize| {
        let mut buf = vec![0u8; spanreid::signature::thumbnail::MAX_THUMBNAIL_LEN];
        let t = spanreid::signature::Thumbnail {
            sequence: seq,
            jpeg: &jpeg,
        };
        let n = t.encode(&key(camera_key), &mut buf).unwrap();
        buf.truncate(n);
        ("spanreid/v1/s/c1/thumbnail".to_owned(), buf)
    };
    publish(broker.port, vec![thumb(1, 0), thumb(2, 1), thumb(99, 0)]);
    wait_for(&settings.config.db, "three thumbnails counted", |s| {
        [
            "thumbnail_stored",
            "thumbnail_bad_tag",
            "thumbnail_without_passage",
        ]
        .iter()
        .all(|c| counter(s, c) == 1)
    });
    let c1 = ok(port, "/api/v1/passages?camera=s/c1");
    let by_seq = |seq: u64| {
        c1["passages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sequence"] == seq)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let resp = ureq::get(&format!(
        "http://127.0.0.1:{port}/api/v1/passages/{}/thumbnail",
        by_seq(1)
    ))
    .set("Authorization", &format!("Bearer {TOKEN}"))
    .call()
    .unwrap();
    assert_eq!(resp.content_type(), "image/jpeg");
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut got).unwrap();
    assert_eq!(got, jpeg);
    let (status, body) = get(
        port,
        &format!("/api/v1/passages/{}/thumbnail", by_seq(2)),
        true,
    );
    assert_eq!(status, 404, "the badly tagged one was not stored: {body}");

    // Bad requests: JSON errors naming what is wrong.
    for (path, status, says) in [
        ("/api/v1/passages?limit=0", 400, "limit 0"),
        ("/api/v1/passages?camera=c1", 400, "site/camera"),
        (
            "/api/v1/passages?from_us=5&to_us=4",
            400,
            "from_us 5 is after to_us 4",
        ),
        (
            "/api/v1/passages?before=x",
            400,
            "before = \"x\" is not a passage id",
        ),
        ("/api/v1/passages?from=1", 400, "unknown parameter \"from\""),
        ("/api/v1/passages/abc", 400, "passage id"),
        ("/api/v1/passages/999999", 404, "no passage 999999"),
        ("/api/v1/matches?after=7", 400, "<query id>.<rank>"),
        (
            "/api/v1/matches?min_confidence=0.5",
            400,
            "calibrated model",
        ),
        ("/api/v1/nothing", 404, "no such path /api/v1/nothing"),
    ] {
        let (got, body) = get(port, path, true);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["status"], status, "{path}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    // No model configured: search by image says so.
    let resp = ureq::post(&format!("http://127.0.0.1:{port}/api/v1/search"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .send_bytes(b"not an image");
    let Err(ureq::Error::Status(503, r)) = resp else {
        panic!("expected 503")
    };
    assert!(r.into_string().unwrap().contains("[model] manifest"));

    // The live stream: a c3 passage published after connecting arrives as a match event.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /api/v1/matches/live?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let sig = sighting(&bank, &settings, 4, 2, 1, t0 + 130_000_000);
    publish(broker.port, vec![signed(&sig, 2)]);
    let event = loop {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            break serde_json::from_str::<Value>(data).unwrap();
        }
    };
    assert_eq!(event["query"]["camera"], "c3");
    // Identity 4 passed c1 at t0 + 4 s and c2 at t0 + 64 s.
    let found = event["candidates"][0]["signature"]["capture_time_us"].as_u64();
    let theirs = [t0 + 4_000_000, t0 + 64_000_000].map(Some);
    assert!(theirs.contains(&found), "{event}");
    drop(reader);
    hub.stop();
}

fn testkit_wait(cond: impl FnMut() -> bool) {
    spanreid_testkit::wait_for("the HTTP server", Duration::from_secs(10), cond);
}

/// Publish one message, retained or not, at QoS 1.
fn publish_retained(port: u16, topic: &str, payload: Vec<u8>, retain: bool) {
    let mut opts = rumqttc::MqttOptions::new(format!("status-{}", free_port()), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut conn) = rumqttc::Client::new(opts, 10);
    client
        .publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload)
        .unwrap();
    for event in conn.iter() {
        if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) = event {
            break;
        }
        event.unwrap();
    }
    let _ = client.disconnect();
    thread::sleep(Duration::from_millis(50));
}
