use super::*;

#[test]
fn azimuth_labels_replace_the_given_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // The VeRi-style file comes first and has no azimuths: views.csv is read instead.
    std::fs::write(
        root.join("keypoint_train.txt"),
        "a.jpg 0\nb.jpg 0\nc.jpg 3\n",
    )
    .expect("write");
    std::fs::write(
        root.join("views.csv"),
        "image,id,camera,view,orientation,azimuth_deg\n\
         image_train/a.jpg,1,1,0,0,20.0\n\
         image_train/b.jpg,1,1,0,0,3.5\n\
         image_train/c.jpg,1,1,3,3,40.0\n",
    )
    .expect("write");
    let given = dataset_view_labels(root, &ViewLabels::default()).expect("reads");
    assert_eq!(given.len(), 3);
    assert_eq!(given["a.jpg"], View::Front);
    let az = dataset_view_labels(root, &ViewLabels::azimuth_authors_mix()).expect("reads");
    assert_eq!(az.len(), 2, "the 20° image is ambiguous: {az:?}");
    assert_eq!(az["b.jpg"], View::Front);
    assert_eq!(az["c.jpg"], View::FrontSide);

    std::fs::write(root.join("views.csv"), "image,azimuth_deg\na.jpg,north\n").expect("write");
    let err = dataset_view_labels(root, &ViewLabels::azimuth_authors_mix()).expect_err("bad");
    assert!(err.to_string().contains("views.csv:2"), "{err}");
    std::fs::remove_file(root.join("views.csv")).expect("rm");
    let err = dataset_view_labels(root, &ViewLabels::azimuth_authors_mix()).expect_err("none");
    assert!(err.to_string().contains("azimuth_deg"), "{err}");
}

#[test]
fn facings_come_from_azimuths_else_from_orientation_classes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    assert!(dataset_facings(root).expect("no files").is_empty());
    // Orientation classes: 3 left-front, 7 right-rear, 0 front (no side seen).
    std::fs::write(
        root.join("keypoint_train.txt"),
        "a.jpg 0\nimage_train/b.jpg 3\nc.jpg 7\n",
    )
    .expect("write");
    let f = dataset_facings(root).expect("reads");
    assert_eq!(f.len(), 2);
    assert_eq!((f["b.jpg"], f["c.jpg"]), (Facing::Left, Facing::Right));
    // Azimuths win: 300° is the vehicle's right side, 2° shows no side.
    std::fs::write(
        root.join("views.csv"),
        "image,view,azimuth_deg\nimage_train/b.jpg,3,300.0\nc.jpg,0,2.0\n",
    )
    .expect("write");
    let f = dataset_facings(root).expect("reads");
    assert_eq!(f.len(), 1);
    assert_eq!(f["b.jpg"], Facing::Right);
}

#[test]
fn held_out_labels_come_from_every_label_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    assert_eq!(all_view_labels(root).expect("no files"), None);
    std::fs::write(root.join("keypoint_train.txt"), "a.jpg 0\n").expect("write");
    std::fs::write(root.join("keypoint_test.txt"), "b.jpg 7\n").expect("write");
    let all = all_view_labels(root).expect("reads").expect("some");
    assert_eq!(all.len(), 2);
    assert_eq!(all["b.jpg"], View::RearSide);
}

#[test]
fn scan_reports_missing_pieces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let err = scan(root, None, &ViewLabels::default()).expect_err("no image dir");
    assert!(err.to_string().contains("image_train/"), "{err}");

    std::fs::create_dir(root.join(IMAGE_DIR)).expect("mkdir");
    std::fs::write(root.join(IMAGE_DIR).join("a.jpg"), b"").expect("write");
    assert!(matches!(
        scan(root, None, &ViewLabels::default()),
        Err(DataError::NoViewFile { .. })
    ));

    std::fs::write(root.join("views_train.txt"), "a.jpg side\n").expect("write");
    let err = scan(root, None, &ViewLabels::default()).expect_err("no mask");
    assert!(err.to_string().contains("mask_fg/a.png"), "{err}");

    std::fs::create_dir(root.join(FG_DIR)).expect("mkdir");
    std::fs::write(root.join(FG_DIR).join("a.png"), b"").expect("write");
    let samples = scan(root, None, &ViewLabels::default()).expect("scans");
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].view, View::Side);
    assert_eq!(samples[0].part_mask, None);

    // Masks from elsewhere, e.g. `trainer foreground`'s output.
    let other = dir.path().join("fg");
    let err = scan(root, Some(&other), &ViewLabels::default()).expect_err("no mask there");
    assert!(err.to_string().contains("fg/a.png"), "{err}");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(other.join("a.png"), b"").expect("write");
    let samples = scan(root, Some(&other), &ViewLabels::default()).expect("scans");
    assert_eq!(samples[0].fg_mask, other.join("a.png"));
}
