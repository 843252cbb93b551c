//! A small hand-made re-identification set in VeRi-776 layout for the step-2 tests.
//!
//! Each identity is a vehicle-like box of 64×64 images with two colour bands (upper and
//! lower half) from a palette; images of one identity differ in box position, camera and a
//! random grey cluttered background, so that identities are told apart by the bands only.
//! The query and gallery images are fresh images of training identities (closed-set
//! retrieval): a network trained for a few dozen steps from scratch learns these five
//! colours' combinations but does not yet generalise to unseen ones, so disjoint identities,
//! as in VeRi-776, would not test that training works.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::train::data;
use crate::train::reid_data::{GALLERY_DIR, QUERY_DIR, TRAIN_DIR};

const PALETTE: [[u8; 3]; 5] = [
    [220, 40, 40],
    [40, 200, 60],
    [40, 60, 220],
    [230, 220, 40],
    [200, 60, 220],
];

fn bands(id: u32) -> ([u8; 3], [u8; 3]) {
    let n = PALETTE.len() as u32;
    (
        PALETTE[(id % n) as usize],
        PALETTE[((id / n + id) % n) as usize],
    )
}

fn write_image(root: &Path, dir: &str, name: &str, id: u32, rng: &mut ChaCha8Rng) {
    let (top, bottom) = bands(id);
    let (x0, y0) = (rng.random_range(4..16u32), rng.random_range(8..20u32));
    let (x1, y1) = (x0 + 40, y0 + 32);
    let clutter: u8 = rng.random_range(0..120);
    let mut noise = ChaCha8Rng::seed_from_u64(rng.random());
    let inside = |x: u32, y: u32| (x0..x1).contains(&x) && (y0..y1).contains(&y);
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        if inside(x, y) {
            image::Rgb(if y < (y0 + y1) / 2 { top } else { bottom })
        } else {
            let j: u8 = noise.random_range(0..80);
            image::Rgb([clutter + j; 3])
        }
    });
    img.save(root.join(dir).join(format!("{name}.png")))
        .expect("save");
    let mask = |on: u8| {
        image::GrayImage::from_fn(64, 64, |x, y| {
            image::Luma([if inside(x, y) { on } else { 0 }])
        })
    };
    mask(255)
        .save(root.join(data::FG_DIR).join(format!("{name}.png")))
        .expect("save");
    // The whole box is "side" (label 3) in the ground-truth part masks.
    mask(3)
        .save(root.join(data::PARTS_DIR).join(format!("{name}.png")))
        .expect("save");
}

/// Writes `train_ids` training identities with `per_id` images each, and `per_id` further
/// images of each of the first `test_ids` of them: the first a query (camera 1), the rest
/// gallery (cameras 2…). Training images get a foreground mask and a view label, so SPAN trains on
/// them too; every image has a ground-truth part mask (all side), so SPAN runs can be scored.
pub fn write_reid_dataset(root: &Path, train_ids: u32, test_ids: u32, per_id: u32) {
    for d in [
        TRAIN_DIR,
        QUERY_DIR,
        GALLERY_DIR,
        data::FG_DIR,
        data::PARTS_DIR,
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let mut labels = String::from("image,view\n");
    for id in 1..=train_ids {
        for k in 0..per_id {
            let name = format!("{id:04}_c{:03}_{k}_0", k + 1);
            write_image(root, TRAIN_DIR, &name, id, &mut rng);
            labels.push_str(&format!("{name}.png,side\n"));
        }
    }
    for id in 1..=test_ids.min(train_ids) {
        for k in 0..per_id {
            let name = format!("{id:04}_c{:03}_{}_0", k + 1, per_id + k);
            let dir = if k == 0 { QUERY_DIR } else { GALLERY_DIR };
            write_image(root, dir, &name, id, &mut rng);
        }
    }
    std::fs::write(root.join("views_train.txt"), labels).expect("write");
}
