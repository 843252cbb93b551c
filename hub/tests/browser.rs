//! The operator's page in a real headless Chromium (WebDriver), against a real hub, a real
//! mosquitto and a real ONNX model (the stand-in fixture, run by tract like the shipped
//! one): the page loads with the token, matches published after it loaded appear in the
//! live feed without a reload, the camera list shows every camera, search by image puts
//! the uploaded vehicle first, and the API refuses a request without the token.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::Value;
use spanreid_hub::config::{CameraConfig, HubConfig, Settings};
use spanreid_hub::ingest::signature_topic;
use spanreid_infer::fixture::{self, FixtureShape};
use spanreid_infer::sign::{PassageMeta, Signer, ident};
use spanreid_infer::tract::TractEmbedder;
use spanreid_infer::{Crop, Embedder};
use spanreid_testkit::Browser;

const TOKEN: &str = "browser-token-0123456789";
const VEHICLES: usize = 5;
const WAIT: Duration = Duration::from_secs(30);

/// A 64×48 stand-in vehicle: a coloured body with a window band, `tweak` adding a faint
/// change (the same vehicle at another camera).
fn vehicle(i: usize, tweak: u8) -> image::RgbImage {
    let hue = [
        [200, 30, 30],
        [30, 160, 40],
        [40, 60, 210],
        [220, 200, 40],
        [20, 20, 20],
    ][i];
    image::RgbImage::from_fn(64, 48, |x, y| {
        let body = (8..56).contains(&x) && (14..40).contains(&y);
        let window = body && (18..24).contains(&y) && (x / 8) % 2 == i as u32 % 2;
        let px = if window {
            [180, 200, 220]
        } else if body {
            hue
        } else {
            [90, 90, 95]
        };
        image::Rgb(px.map(|c: u8| c.saturating_add(if (x + y) % 7 == 0 { tweak } else { 0 })))
    })
}

fn settings(dir: &Path, broker: u16, http: u16, manifest: &Path) -> Settings {
    let mut cfg = HubConfig {
        db: dir.join("hub.sqlite"),
        ..HubConfig::default()
    };
    cfg.mqtt.port = broker;
    cfg.mqtt.client_id = "hub-browser".into();
    cfg.model.dim = 16;
    cfg.model.manifest = Some(manifest.to_owned());
    cfg.model.name = Some("fixture".into());
    cfg.matching.top_k = 3;
    for (i, cam) in CAMERAS.iter().enumerate() {
        cfg.cameras.push(CameraConfig {
            site: SITE.into(),
            camera: (*cam).into(),
            key: key_hex(i).into(),
        });
    }
    cfg.http.listen = Some(format!("127.0.0.1:{http}").parse().unwrap());
    cfg.http.token = Some(TOKEN.into());
    cfg.validate().unwrap()
}

/// Signed signatures of `images` seen by camera index `camera`, sequences from 1.
fn passages(
    model: &mut TractEmbedder,
    camera: usize,
    images: &[image::RgbImage],
) -> Vec<(String, Vec<u8>)> {
    let signer = Signer {
        site: ident(SITE).unwrap(),
        camera: ident(CAMERAS[camera]).unwrap(),
        key: key(camera),
        model_id: model.model_id(),
    };
    let t0 = now_us() - 300_000_000 + camera as u64 * 60_000_000;
    images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let crop = Crop {
                width: img.width(),
                height: img.height(),
                rgb: img.as_raw().clone(),
            };
            let e = model.embed(&[crop]).unwrap().pop().unwrap();
            let meta = PassageMeta {
                track_id: i as u32,
                capture_time_us: t0 + i as u64 * 1_000_000,
                sequence: i as u64 + 1,
            };
            (
                signature_topic(SITE, CAMERAS[camera]),
                signer.encode(meta, &e).unwrap(),
            )
        })
        .collect()
}

/// Hub ids of camera `camera`'s passages by sequence.
fn ids_by_sequence(http: u16, camera: &str) -> Vec<i64> {
    let url =
        format!("http://127.0.0.1:{http}/api/v1/passages?camera={SITE}/{camera}&token={TOKEN}");
    let page: Value = ureq::get(&url).call().unwrap().into_json().unwrap();
    let mut rows: Vec<(u64, i64)> = page["passages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sequence"].as_u64().unwrap(), p["id"].as_i64().unwrap()))
        .collect();
    rows.sort();
    rows.into_iter().map(|r| r.1).collect()
}

#[test]
fn the_page_shows_live_matches_cameras_and_searches_by_image() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = fixture::write(
        &dir.path().join("model"),
        FixtureShape {
            height: 32,
            width: 32,
            dim: 16,
        },
    )
    .unwrap();
    let mut model =
        TractEmbedder::load(spanreid_infer::manifest::load(&manifest, "fixture").unwrap()).unwrap();
    let broker = Mosquitto::start();
    let http = free_port();
    let settings = settings(dir.path(), broker.port, http, &manifest);
    let hub = RunningHub::start(&settings);
    spanreid_testkit::wait_for("the HTTP server", WAIT, || {
        std::net::TcpStream::connect(("127.0.0.1", http)).is_ok()
    });

    let originals: Vec<_> = (0..VEHICLES).map(|i| vehicle(i, 0)).collect();
    let again: Vec<_> = (0..VEHICLES).map(|i| vehicle(i, 4)).collect();
    publish(broker.port, passages(&mut model, 0, &originals));
    wait_for(&settings.config.db, "the first camera's passages", |s| {
        s.signatures == VEHICLES as u64
    });

    let browser = Browser::start();
    let page = format!("http://127.0.0.1:{http}/");
    browser.goto(&format!("{page}?token={TOKEN}"));
    browser.wait_until(
        "the live stream",
        WAIT,
        "return document.querySelector('#live-state').textContent;",
        |v| v == "live",
    );
    assert!(browser.body_text().contains("No matches yet."));

    // The second camera sees the same vehicles: the feed fills without a reload.
    publish(broker.port, passages(&mut model, 1, &again));
    let rows = browser.wait_until(
        "the matches in the live feed",
        WAIT,
        "return [...document.querySelectorAll('#feed .match')].map(r => [Number(r.dataset.query), Number(r.dataset.candidate)]);",
        |v| v.as_array().is_some_and(|a| a.len() == VEHICLES),
    );
    let (first, second) = (ids_by_sequence(http, "c1"), ids_by_sequence(http, "c2"));
    for (q, c) in second.iter().zip(&first) {
        let row = Value::from(vec![*q, *c]);
        assert!(
            rows.as_array().unwrap().contains(&row),
            "{q} ↔ {c} not in the feed: {rows}"
        );
    }
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hub-live-page.png");
    browser.screenshot(&shot);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot with content"
    );

    // The page's own links change the address's fragment, without loading it again.
    browser.execute("location.hash = '#/cameras';", serde_json::json!([]));
    let cams = browser.wait_until(
        "the camera list",
        WAIT,
        "return [...document.querySelectorAll('#cameras tbody tr')].map(r => r.dataset.camera);",
        |v| v.as_array().is_some_and(|a| a.len() == CAMERAS.len()),
    );
    assert_eq!(cams, serde_json::json!(["s/c1", "s/c2", "s/c3"]));

    // Search with the photograph of vehicle 3: one of its two passages comes first.
    let upload = dir.path().join("vehicle-3.png");
    originals[3].save(&upload).unwrap();
    browser.execute("location.hash = '#/search';", serde_json::json!([]));
    browser.choose_file("#file", &upload);
    let hits = browser.wait_until(
        "search results",
        WAIT,
        "return [...document.querySelectorAll('#results li')].map(r => Number(r.dataset.passage));",
        |v| v.as_array().is_some_and(|a| !a.is_empty()),
    );
    let best = hits[0].as_i64().unwrap();
    assert!(
        best == first[3] || best == second[3],
        "vehicle 3 is {} / {}; results {hits}",
        first[3],
        second[3]
    );

    // Without the token the API refuses, and says why.
    browser.goto(&format!("http://127.0.0.1:{http}/api/v1/stats"));
    let text = browser.body_text();
    assert!(
        text.contains("\"status\":401") && text.contains("access token"),
        "{text}"
    );
    drop(browser);
    hub.stop();
}
