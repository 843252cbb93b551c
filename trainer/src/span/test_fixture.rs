//! A small hand-made dataset in the layout `train-span` and `eval-span` read.

use std::path::Path;

use crate::train::data;
use spanreid::View;

/// Writes `n` training and 3 test images of 64×64: a box on a textured background whose
/// left half is the "front" (red) and right half the "side" (green), as the view says;
/// with foreground masks, part masks and a view-label file.
pub fn write_dataset(root: &Path, n: u32) {
    for d in [data::IMAGE_DIR, "image_test", data::FG_DIR, data::PARTS_DIR] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    let mut labels = String::from("image,view\n");
    for i in 0..n + 3 {
        let view = [View::Front, View::Side, View::FrontSide][(i % 3) as usize];
        let (x0, x1) = (8 + i % 5, 56 - i % 7);
        let mid = (x0 + x1) / 2;
        let inside = |x: u32, y: u32| (x0..x1).contains(&x) && (20..48).contains(&y);
        let front = |x: u32| match view {
            View::Front => true,
            View::Side => false,
            _ => x < mid,
        };
        let img = image::RgbImage::from_fn(64, 64, |x, y| {
            if !inside(x, y) {
                let g = ((x * 7 + y * 13 + i * 5) % 64) as u8;
                image::Rgb([g, g, g + 40])
            } else if front(x) {
                image::Rgb([220, 30, 30])
            } else {
                image::Rgb([30, 200, 40])
            }
        });
        let fg = image::GrayImage::from_fn(64, 64, |x, y| {
            image::Luma([if inside(x, y) { 255 } else { 0 }])
        });
        let parts = image::GrayImage::from_fn(64, 64, |x, y| {
            image::Luma([match (inside(x, y), front(x)) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => 3,
            }])
        });
        let name = format!("{:04}_c001_{i}_0", i / 3);
        let dir = if i < n { data::IMAGE_DIR } else { "image_test" };
        img.save(root.join(dir).join(format!("{name}.png")))
            .expect("save");
        fg.save(root.join(data::FG_DIR).join(format!("{name}.png")))
            .expect("save");
        parts
            .save(root.join(data::PARTS_DIR).join(format!("{name}.png")))
            .expect("save");
        // Test images are labelled too (eval-span's breakdown reads them); training
        // lists only image_train's files.
        labels.push_str(&format!("{name}.png,{view}\n"));
    }
    std::fs::write(root.join("views_train.txt"), labels).expect("write");
}
