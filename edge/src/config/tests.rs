use super::*;

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn parse(extra: &str) -> Result<Validated, ConfigError> {
    Config::from_toml(
        &format!("[camera]\nkey_hex = \"{KEY}\"\n{extra}"),
        Path::new("edge.toml"),
    )?
    .validate()
}

#[test]
fn defaults_plus_a_key_are_valid() {
    let v = parse("").unwrap();
    assert_eq!(v.policy, CropPolicy::MeanTopK(crate::config::DEFAULT_CROPS));
    assert_eq!(v.config.camera.source, SourceKind::Replay);
    assert_eq!(v.config.camera.pixel_format, PixelFormat::Yuyv);
    assert_eq!(v.config.mqtt.port, 1883);
    assert!(v.metrics_listen.is_none());
}

#[test]
fn errors_name_the_key_or_the_line() {
    let err = Config::from_toml("[camera]\nfps = \"x\"\n", Path::new("edge.toml")).unwrap_err();
    assert!(err.to_string().starts_with("edge.toml:"), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    let err = Config::from_toml("[camra]\n", Path::new("edge.toml")).unwrap_err();
    assert!(err.to_string().contains("camra"), "{err}");
    let err = Config::default().validate().unwrap_err();
    assert!(
        err.to_string().starts_with("config camera.key_hex"),
        "{err}"
    );
    let err = parse("id = \"a/b\"\n").unwrap_err();
    assert!(err.to_string().contains("camera.id"), "{err}");
    let err = parse("[detect]\ncrop_policy = \"mean\"\ntop_k = 0\n").unwrap_err();
    assert!(err.to_string().contains("detect.top_k"), "{err}");
    let err = parse("[detect]\nroi = [[0.0, 0.0], [1.0, 1.0]]\n").unwrap_err();
    assert!(err.to_string().contains("detect.roi"), "{err}");
    let err = parse("[mqtt]\ntls_client_cert = \"c.pem\"\n").unwrap_err();
    assert!(err.to_string().contains("tls_client_cert"), "{err}");
    let err = parse("[queue]\nmax_bytes = 4096\n").unwrap_err();
    assert!(err.to_string().contains("queue.max_bytes"), "{err}");
}

#[test]
fn every_spelling_of_the_option_sets_parses() {
    for (line, source) in [
        ("source = \"replay\"", SourceKind::Replay),
        ("source = \"video\"", SourceKind::Video),
        ("source = \"v4l2\"", SourceKind::V4l2),
    ] {
        assert_eq!(parse(line).unwrap().config.camera.source, source, "{line}");
    }
    for (line, format) in [
        ("pixel_format = \"yuyv\"", PixelFormat::Yuyv),
        ("pixel_format = \"mjpeg\"", PixelFormat::Mjpeg),
    ] {
        let v = parse(line).unwrap();
        assert_eq!(v.config.camera.pixel_format, format, "{line}");
    }
    for (line, policy) in [
        ("crop_policy = \"first\"", CropPolicy::First),
        ("crop_policy = \"best\"", CropPolicy::Best),
        ("crop_policy = \"mean\"\ntop_k = 4", CropPolicy::MeanTopK(4)),
    ] {
        assert_eq!(parse(&format!("[detect]\n{line}")).unwrap().policy, policy);
    }
}

#[test]
fn a_bad_option_names_its_key_and_the_allowed_values() {
    for (extra, key, allowed) in [
        (
            "source = \"usb\"",
            "camera.source",
            "`replay`, `video`, `v4l2`",
        ),
        (
            "pixel_format = \"rgb\"",
            "camera.pixel_format",
            "`yuyv` or `mjpeg`",
        ),
        (
            "[detect]\ndetector = \"yolo\"",
            "detect.detector",
            "`motion` or `onnx`",
        ),
        (
            "[detect]\ncrop_policy = \"worst\"",
            "detect.crop_policy",
            "`first`, `best`, `mean`",
        ),
        (
            "[detect.onnx]\nlayout = \"yolov7\"",
            "detect.onnx.layout",
            "`yolov5` or `yolov8`",
        ),
    ] {
        let text = format!("[camera]\nkey_hex = \"{KEY}\"\n{extra}\n");
        let err = Config::from_toml(&text, Path::new("edge.toml"))
            .unwrap_err()
            .to_string();
        let line = 2 + extra.lines().count();
        assert!(err.starts_with("edge.toml:"), "{err}");
        assert!(err.contains(&format!("line {line},")), "{err}");
        assert!(err.contains(&format!("{key}: unknown variant")), "{err}");
        assert!(err.contains(allowed), "{err}");
    }
}

#[test]
fn debug_never_shows_the_secrets() {
    let password = "hunter2-very-secret";
    let v = parse(&format!(
        "[mqtt]\nusername = \"u\"\npassword = \"{password}\"\n"
    ))
    .unwrap();
    assert_eq!(v.config.camera.key_hex.expose(), KEY);
    assert_eq!(v.config.mqtt.password.expose(), password);
    for text in [format!("{v:?}"), format!("{:#?}", v.config)] {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains(password), "{text}");
        assert!(text.contains(spanreid_service::secret::REDACTED), "{text}");
    }
}

#[test]
fn the_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("edge-agent.example.toml");
    let v = Config::load(&path).unwrap().validate().unwrap();
    assert_eq!(v.policy, CropPolicy::MeanTopK(6));
}
