use super::*;

const KEY: &str = "0101010101010101010101010101010101010101010101010101010101010101";

#[test]
fn file_values_override_defaults_and_flags_override_the_file() {
    let text = format!(
        "db = \"a.sqlite\"\n[mqtt]\nport = 1999\n[model]\nid = \"{}\"\ndim = 8\n\
         [[cameras]]\nsite = \"s\"\ncamera = \"c1\"\nkey = \"{KEY}\"\n",
        "ab".repeat(16)
    );
    let cfg = HubConfig::from_toml(&text, "test").unwrap();
    assert_eq!(cfg.mqtt.port, 1999);
    assert_eq!(cfg.mqtt.host, "127.0.0.1");
    assert_eq!(cfg.matching, MatchingConfig::default());
    let cfg = cfg.with_overrides(&Overrides {
        db: Some("b.sqlite".into()),
        embedded_broker: true,
        broker_port: None,
        http_listen: None,
    });
    let settings = cfg.validate().unwrap();
    assert_eq!(settings.config.db, PathBuf::from("b.sqlite"));
    assert_eq!(settings.model_id, [0xab; 16]);
    assert_eq!(
        settings.embedded_listen,
        Some("127.0.0.1:1999".parse().unwrap())
    );
    assert!(settings.keys.contains_key(&("s".into(), "c1".into())));
}

#[test]
fn rejects_unknown_fields_bad_keys_and_bad_links() {
    assert!(HubConfig::from_toml("colour = 1", "t").is_err());
    let mut cfg = HubConfig::default();
    cfg.cameras.push(CameraConfig {
        site: "s".into(),
        camera: "c".into(),
        key: "00".into(),
    });
    assert!(cfg.clone().validate().is_err());
    cfg.cameras[0].key = KEY.into();
    assert!(cfg.clone().validate().is_ok());
    cfg.links.push(LinkConfig {
        from: "s/c".into(),
        to: "s/x".into(),
        min_s: 1.0,
        max_s: 2.0,
    });
    assert!(cfg.clone().validate().is_err());
    cfg.links[0].to = "s/c".into();
    cfg.links[0].min_s = 3.0;
    assert!(cfg.validate().is_err());
}

#[test]
fn the_example_file_is_valid() {
    let cfg = HubConfig::from_toml(include_str!("../../hub.example.toml"), "example").unwrap();
    let settings = cfg.validate().unwrap();
    assert_eq!(settings.keys.len(), 2);
    assert_eq!(settings.config.links.len(), 1);
    assert_eq!(settings.config.model.dim, 256);
}

#[test]
fn model_id_and_camera_refs_parse_strictly() {
    assert!(parse_model_id(&"0".repeat(31)).is_err());
    assert!(parse_model_id(&"é".repeat(16)).is_err());
    assert_eq!(
        to_hex(&parse_model_id(&"0F".repeat(16)).unwrap()),
        "0f".repeat(16)
    );
    assert!(parse_camera_ref("a/b/c").is_err());
    assert!(parse_camera_ref("/b").is_err());
    assert_eq!(parse_camera_ref("a/b").unwrap(), ("a".into(), "b".into()));
}

#[test]
fn debug_never_shows_a_camera_key() {
    let secret_key = "5e".repeat(32);
    let text = format!("[[cameras]]\nsite = \"s\"\ncamera = \"c\"\nkey = \"{secret_key}\"\n");
    let cfg = HubConfig::from_toml(&text, "test").unwrap();
    assert_eq!(cfg.cameras[0].key.expose(), secret_key);
    let settings = cfg.validate().unwrap();
    for shown in [format!("{settings:?}"), format!("{:#?}", settings.config)] {
        assert!(!shown.contains(&secret_key), "{shown}");
        assert!(
            shown.contains(spanreid_service::secret::REDACTED),
            "{shown}"
        );
    }
}

#[test]
fn a_calibrated_manifest_gives_id_threshold_and_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let sha = "ab".repeat(32);
    let manifest = format!(
        "[[model]]\nname = \"m\"\nfile = \"m.onnx\"\nsha256 = \"{sha}\"\ninput = \"image\"\n\
         height = 128\nwidth = 128\nmean = [0.5, 0.5, 0.5]\nstd = [0.2, 0.2, 0.2]\n\
         masks = \"masks\"\nfeatures = [\"global\", \"front\", \"rear\", \"side\"]\n\
         [model.matching]\nthreshold = 6.5\ntarget_precision = 0.9\n\
         confidence = [[6.0, 0.9], [9.0, 0.1]]\nsamples = 100\ncalibrated_on = \"test\"\n"
    );
    let path = dir.path().join("manifest.toml");
    std::fs::write(&path, manifest).unwrap();
    let text = format!(
        "[model]\nmanifest = {:?}\nname = \"m\"\n",
        path.display().to_string()
    );
    let settings = HubConfig::from_toml(&text, "t")
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(to_hex(&settings.model_id), "ab".repeat(16));
    assert_eq!(settings.max_distance, 6.5);
    let c = settings.calibration.as_ref().unwrap();
    assert!((c.confidence(7.5) - 0.5).abs() < 1e-6);

    let own = format!("{text}[matching]\nmax_distance = 8.0\n");
    let settings = HubConfig::from_toml(&own, "t").unwrap().validate().unwrap();
    assert_eq!(settings.max_distance, 8.0, "the config wins");

    let half = "[model]\nname = \"m\"\n";
    let err = HubConfig::from_toml(half, "t")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("go together"), "{err}");
    let missing = "[model]\nmanifest = \"/nowhere/manifest.toml\"\nname = \"m\"\n";
    let err = HubConfig::from_toml(missing, "t")
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("/nowhere/manifest.toml"), "{err}");
    let plain = HubConfig::default().validate().unwrap();
    assert_eq!(plain.max_distance, f32::MAX, "no calibration, no limit");
}

#[test]
fn http_off_the_loopback_needs_a_long_token() {
    let with = |extra: &str| HubConfig::from_toml(&format!("[http]\n{extra}"), "test").unwrap();
    let err = |cfg: HubConfig| cfg.validate().unwrap_err().to_string();
    assert!(with("listen = \"127.0.0.1:0\"").validate().is_ok());
    let e = err(with("listen = \"0.0.0.0:8480\""));
    assert!(e.contains("is not loopback: set http.token"), "{e}");
    let e = err(with("listen = \"0.0.0.0:8480\"\ntoken = \"short\""));
    assert!(e.contains("at least 16 characters"), "{e}");
    let ok = with("listen = \"0.0.0.0:8480\"\ntoken = \"0123456789abcdef\"");
    assert!(
        !format!("{ok:?}").contains("0123456789abcdef"),
        "the token never shows"
    );
    assert!(ok.validate().is_ok());
    assert!(HubConfig::from_toml("[http]\nlisten = \"nowhere\"", "test").is_err());
}
