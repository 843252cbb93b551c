use super::*;

#[test]
fn missing_package_root_names_the_file() {
    let err = load(&VEHICLES[0], Path::new("/nonexistent/root"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/root/usr/share/games/torcs/cars/p406/p406.acc"),
        "{err}"
    );
    let trig = VEHICLES
        .iter()
        .find(|v| v.source == Source::Trigger)
        .unwrap();
    let err = load(trig, Path::new("/nonexistent/root"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("data.zip"), "{err}");
}

#[test]
fn vehicle_keys_are_unique() {
    let mut keys: Vec<&str> = VEHICLES.iter().map(|v| v.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), VEHICLES.len());
}

#[test]
fn vehicle_attributes_parse() {
    let v = r#"<part name="body" pos="0.0, 0.0, 0.1" model="car.obj" scale="0.01">"#;
    assert_eq!(attr(v, "model"), Some("car.obj"));
    assert_eq!(attr(v, "pos").and_then(vec3), Some([0.0, 0.0, 0.1]));
    assert_eq!(attr(v, "missing"), None);
}
