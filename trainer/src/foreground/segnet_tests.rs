use super::*;
use crate::config::Preset;
use crate::foreground::files;
use image::{GrayImage, Luma};

/// `n` images of a bright box on a dark cluttered background, with masks; the masks of the
/// first `wrong` images are empty (a GrabCut failure).
fn set(dir: &Path, n: usize, wrong: usize) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (img_dir, mask_dir) = (dir.join("img"), dir.join("mask"));
    std::fs::create_dir_all(&img_dir).expect("mkdir");
    std::fs::create_dir_all(&mask_dir).expect("mkdir");
    let mut out = (Vec::new(), Vec::new());
    for i in 0..n {
        let (x0, y0) = (4 + (i as u32 * 5) % 20, 6 + (i as u32 * 3) % 16);
        let inside = |x: u32, y: u32| (x0..x0 + 36).contains(&x) && (y0..y0 + 28).contains(&y);
        let img = image::RgbImage::from_fn(64, 64, |x, y| {
            if inside(x, y) {
                image::Rgb([220, 200, 60])
            } else {
                image::Rgb([((x * 7 + y * 3 + i as u32) % 60) as u8; 3])
            }
        });
        let mask = GrayImage::from_fn(64, 64, |x, y| {
            Luma([if i >= wrong && inside(x, y) { 255 } else { 0 }])
        });
        let (p, m) = (
            img_dir.join(format!("{i:03}.png")),
            mask_dir.join(format!("{i:03}.png")),
        );
        img.save(&p).expect("save");
        mask.save(&m).expect("save");
        out.0.push(p);
        out.1.push(m);
    }
    out
}

fn tiny(epochs: u32) -> ForegroundConfig {
    let mut c = ForegroundConfig::preset(Preset::Tiny);
    c.train.epochs = epochs;
    c.train.refine_from_epoch = epochs + 1;
    c
}

fn mse_column(run: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(run.join("loss.csv")).expect("csv");
    assert_eq!(text.lines().next(), Some(CSV_HEADER));
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(1)
                .and_then(|v| v.parse().ok())
                .expect("mse")
        })
        .collect()
}

#[test]
fn every_epoch_visits_each_image_once_and_resumed_draws_are_the_same() {
    let mut c = tiny(3);
    c.train.batch_size = 4;
    let per_epoch = steps_per_epoch(10, 4);
    assert_eq!(per_epoch, 3);
    for epoch in 0..3 {
        let mut seen: Vec<usize> = (0..per_epoch)
            .flat_map(|k| picks(epoch * per_epoch + k, 10, &c))
            .map(|(i, _)| i)
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>(), "epoch {epoch}");
    }
    assert_eq!(picks(4, 10, &c), picks(4, 10, &c));
    assert_ne!(
        picks(0, 10, &c).iter().map(|p| p.0).collect::<Vec<_>>(),
        picks(3, 10, &c).iter().map(|p| p.0).collect::<Vec<_>>(),
        "each epoch has its own order"
    );
    assert!(
        (0..9).flat_map(|s| picks(s, 10, &c)).any(|p| p.1),
        "some flips"
    );
    c.train.flip = false;
    assert!((0..9).flat_map(|s| picks(s, 10, &c)).all(|p| !p.1));
}

#[test]
fn a_replaced_target_is_stored_unflipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, masks) = set(dir.path(), 2, 0);
    let mut t = Targets::from_masks(&masks, 8).expect("targets");
    let mut plane = vec![0u8; 64];
    plane[0] = 1; // top-left in the flipped sample is top-right in the image
    t.replace(1, plane, true);
    assert_eq!(t.refined, 1);
    assert_eq!(t.plane(1)[7], 1);
    assert_eq!(t.plane(1).iter().map(|&v| u32::from(v)).sum::<u32>(), 1);
    let b = t.batch(&[(1, true), (1, false)], Device::Cpu);
    assert_eq!(b.size(), [2, 1, 8, 8]);
    assert_eq!(b.double_value(&[0, 0, 0, 0]), 1.0);
    assert_eq!(b.double_value(&[1, 0, 0, 7]), 1.0);
}

#[test]
fn training_lowers_the_loss_and_refines_the_worst_share_of_late_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (images, masks) = set(dir.path(), 8, 2);
    let mut c = tiny(6);
    c.train.refine_from_epoch = 5;
    c.train.refine_fraction = 0.25;
    let run = dir.path().join("run");
    let s = train_segnet(&images, &masks, &run, &c).expect("trains");
    assert_eq!(s.steps, 12);
    let mse = mse_column(&run);
    assert_eq!(mse.len(), 12);
    let (early, late) = (mse[..3].iter().sum::<f64>(), mse[9..].iter().sum::<f64>());
    assert!(late < early, "MSE {mse:?}");
    // Epochs 5 and 6, two batches of 4 each: one target replaced per batch.
    assert_eq!(s.refined, 4);
    assert_eq!(saved_refined(&run).expect("saved"), 4);
    assert!(run.join("loss.png").is_file());
}

#[test]
fn a_resumed_run_takes_the_same_steps_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (images, masks) = set(dir.path(), 8, 2);
    let mut c = tiny(2);
    c.train.refine_from_epoch = 2;
    c.train.checkpoint_every = 2;
    let straight = dir.path().join("straight");
    train_segnet(&images, &masks, &straight, &c).expect("trains");

    let resumed = dir.path().join("resumed");
    let mut half = c.clone();
    half.train.epochs = 1;
    train_segnet(&images, &masks, &resumed, &half).expect("first half");
    train_segnet(&images, &masks, &resumed, &c).expect("second half");
    assert_eq!(saved_refined(&resumed).ok(), saved_refined(&straight).ok());
    let load = |run: &Path| SegNet::load(run, Device::Cpu).expect("loads").1;
    let (a, b) = (load(&straight), load(&resumed));
    let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let diff = (a.forward(&x, false) - b.forward(&x, false))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-5, "outputs differ by {diff}");
}

#[test]
fn predicted_masks_have_each_image_size_and_bad_images_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = tiny(1);
    let model = SegNet::new(&c, Device::Cpu);
    let img = dir.path().join("wide.jpg");
    image::RgbImage::from_pixel(90, 40, image::Rgb([10, 200, 30]))
        .save(&img)
        .expect("save");
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"not a jpeg").expect("write");
    let out = dir.path().join("masks");
    let (written, failed) =
        crate::foreground::predict::predict_masks(&model, &c, &[img.clone(), bad.clone()], &out)
            .expect("predicts");
    assert_eq!(written, 1);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, bad);
    let mask = files::open_mask(&out.join("wide.png")).expect("mask");
    assert_eq!(mask.dimensions(), (90, 40));
    assert!(mask.pixels().all(|p| p[0] == 0 || p[0] == 255));
    assert!(!out.join("bad.png").exists());
}

#[test]
fn mismatched_saved_targets_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, masks) = set(dir.path(), 3, 0);
    let t = Targets::from_masks(&masks, 8).expect("targets");
    let path = dir.path().join(TARGETS_FILE);
    t.save(&path, 5).expect("save");
    let mut other = Targets::from_masks(&masks[..2], 8).expect("targets");
    let err = other.load(&path, 5).expect_err("3 planes for 2 images");
    assert!(err.to_string().contains(TARGETS_FILE), "{err}");
}
