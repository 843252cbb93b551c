//! Pretrained weights loaded into the real backbones (the `weights` module's readers on
//! torchvision's files).

use std::path::{Path, PathBuf};

use super::backbone;
use super::span::{IMAGENET_MEAN, IMAGENET_STD};
use crate::config::Backbone;
use crate::torch_env;
use crate::weights::*;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Tensor};

fn installed(pointer: &str) -> PathBuf {
    let cache = torch_env::cache_dir().expect("a cache directory");
    let text = std::fs::read_to_string(cache.join(pointer)).unwrap_or_else(|e| {
        panic!(
            "{pointer} in {}: {e}; run trainer/install-libtorch.sh",
            cache.display()
        )
    });
    PathBuf::from(text.trim())
}

/// torchvision's MobileNetV2 as one network: features, global mean, classifier.1.
fn mobilenet_v2_classifier(vs: &nn::VarStore) -> impl ModuleT + use<> {
    let root = vs.root();
    let s1 = backbone::stage1(&root, Backbone::MobilenetV2);
    let s2 = backbone::stage2(&root, Backbone::MobilenetV2, Default::default());
    let fc = nn::linear(&root / "classifier" / 1, 1280, 1000, Default::default());
    nn::func_t(move |x, train| {
        x.apply_t(&s1.net, train)
            .apply_t(&s2.net, train)
            .mean_dim([2i64, 3].as_slice(), false, Kind::Float)
            .apply(&fc)
    })
}

/// Resize the shorter side to 256, centre-crop 224, normalise: torchvision's eval
/// transform.
fn imagenet_input(path: &Path) -> Tensor {
    let img = image::open(path).expect("photo decodes").into_rgb8();
    let (w, h) = img.dimensions();
    let scale = 256.0 / w.min(h) as f32;
    let (nw, nh) = (
        (w as f32 * scale).round() as u32,
        (h as f32 * scale).round() as u32,
    );
    let img = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle);
    let crop = image::imageops::crop_imm(&img, (nw - 224) / 2, (nh - 224) / 2, 224, 224).to_image();
    let mut chw = vec![0f32; 3 * 224 * 224];
    for (i, px) in crop.pixels().enumerate() {
        for c in 0..3 {
            chw[c * 224 * 224 + i] =
                (f32::from(px[c]) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        }
    }
    Tensor::from_slice(&chw).view([1, 3, 224, 224])
}

#[test]
fn imagenet_mobilenet_v2_loads_completely_and_classifies_real_photos() {
    let weights = installed("mobilenet_v2.path");
    let photos = installed("photos.path");
    let tensors = read_pth(&weights).expect("reads the torchvision .pth");
    let mut vs = nn::VarStore::new(Device::Cpu);
    let net = mobilenet_v2_classifier(&vs);
    let report = load_into(&mut vs, &tensors, &weights, |_| false).expect("loads");

    let trainable: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    assert_eq!(
        trainable, 3_504_872,
        "torchvision MobileNetV2 parameter count"
    );
    let all: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    assert_eq!(
        report.elements, all,
        "every model variable came from the file"
    );
    assert!(
        report
            .unused
            .iter()
            .all(|n| n.ends_with("num_batches_tracked")),
        "{:?}",
        report.unused
    );

    // ImageNet classes: 281 tabby, 282 tiger cat, 285 Egyptian cat; 967 espresso,
    // 968 cup, 504 coffee mug.
    for (photo, classes) in [
        ("chelsea.png", [281, 282, 285]),
        ("coffee.png", [967, 968, 504]),
    ] {
        let logits = tch::no_grad(|| imagenet_input(&photos.join(photo)).apply_t(&net, false));
        let top = logits.argmax(1, false).int64_value(&[0]);
        assert!(classes.contains(&top), "{photo}: top-1 class {top}");
    }
}

#[test]
fn shape_mismatch_names_the_tensor() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(vs.root() / "fc", 4, 2, Default::default());
    let mut vs = vs;
    let wrong = vec![(
        "fc.weight".to_owned(),
        Tensor::zeros([3, 4], (Kind::Float, Device::Cpu)),
    )];
    let err = load_into(&mut vs, &wrong, Path::new("w.pth"), |_| false).expect_err("shape");
    let text = err.to_string();
    assert!(
        text.contains("fc.weight") && text.contains("w.pth"),
        "{text}"
    );

    let right = vec![(
        "fc.weight".to_owned(),
        Tensor::ones([2, 4], (Kind::Float, Device::Cpu)),
    )];
    let err = load_into(&mut vs, &right, Path::new("w.pth"), |_| false).expect_err("bias");
    assert!(err.to_string().contains("fc.bias"), "{err}");
    let report = load_into(&mut vs, &right, Path::new("w.pth"), |n| n == "fc.bias").expect("ok");
    assert_eq!(report.elements, 8);
    assert_eq!(
        vs.variables()["fc.weight"]
            .sum(Kind::Float)
            .double_value(&[]),
        8.0
    );
}

#[test]
fn non_archives_are_rejected_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.pth");
    std::fs::write(&bad, b"definitely not a zip").expect("write");
    let err = read_pth(&bad).expect_err("not a zip");
    assert!(err.to_string().contains("broken.pth"), "{err}");
}
