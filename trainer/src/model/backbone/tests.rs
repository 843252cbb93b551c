use super::*;
use tch::{Device, Kind, Tensor};

fn param_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum()
}

#[test]
fn mobilenet_v2_stages_have_torchvision_shapes() {
    let vs = nn::VarStore::new(Device::Cpu);
    let s1 = stage1(&vs.root(), Backbone::MobilenetV2);
    let s2 = stage2(&vs.root(), Backbone::MobilenetV2, Stage2Options::default());
    let x = Tensor::zeros([1, 3, 64, 96], (Kind::Float, Device::Cpu));
    let f1 = x.apply_t(&s1.net, false);
    assert_eq!(f1.size(), [1, 96, 4, 6]);
    assert_eq!(s1.out_channels, 96);
    let f2 = f1.apply_t(&s2.net, false);
    assert_eq!(f2.size(), [1, 1280, 2, 3]);
    // torchvision's MobileNetV2 features have 2,223,872 trainable parameters.
    assert_eq!(param_count(&vs), 2_223_872);
    let names = vs.variables();
    assert!(names.contains_key("features.13.conv.1.0.weight"));
    assert!(names.contains_key("features.18.1.running_var"));
}

#[test]
fn dilated_mobilenet_v2_keeps_stride_8_and_the_weights() {
    let plain = nn::VarStore::new(Device::Cpu);
    let dilated = nn::VarStore::new(Device::Cpu);
    let _ = stage1(&plain.root(), Backbone::MobilenetV2);
    let s1 = stage1(&dilated.root(), Backbone::MobilenetV2Dilated);
    let x = Tensor::zeros([1, 3, 128, 96], (Kind::Float, Device::Cpu));
    assert_eq!(x.apply_t(&s1.net, false).size(), [1, 96, 16, 12]);
    // Same parameters by name and shape: the ImageNet state_dict loads unchanged.
    let (a, b) = (plain.variables(), dilated.variables());
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        assert_eq!(b[name].size(), t.size(), "{name}");
    }
    assert_eq!(mobilenet_v2_geometry(7, 2, true), (1, 1));
    assert_eq!(mobilenet_v2_geometry(9, 1, true), (1, 2));
    assert_eq!(mobilenet_v2_geometry(14, 2, true), (2, 1));
    assert_eq!(mobilenet_v2_geometry(7, 2, false), (2, 1));
}

#[test]
fn a_split_stage_1_equals_the_whole() {
    tch::manual_seed(3);
    let whole = nn::VarStore::new(Device::Cpu);
    let s1 = stage1(&whole.root(), Backbone::MobilenetV2Dilated);
    let mut split = nn::VarStore::new(Device::Cpu);
    let (head, rest) = stage1_split(
        &split.root(),
        Backbone::MobilenetV2Dilated,
        7,
        MOBILENET_V2_SPLIT,
    )
    .expect("mobilenet");
    split.copy(&whole).expect("same variables");
    let x = Tensor::rand([2, 3, 64, 64], (Kind::Float, Device::Cpu));
    let a = x.apply_t(&s1.net, false);
    let b = x.apply_t(&head.net, false).apply_t(&rest.net, false);
    assert_eq!(head.out_channels, 32);
    assert!(a.allclose(&b, 1e-5, 1e-6, false));
    assert!(stage1_split(&split.root(), Backbone::Resnet34, 3, MOBILENET_V2_SPLIT).is_none());
}

#[test]
fn mobilenet_v2_stage2_without_head_ends_at_320_channels() {
    let vs = nn::VarStore::new(Device::Cpu);
    let no_head = Stage2Options {
        head: false,
        ..Default::default()
    };
    let s2 = stage2(&vs.root(), Backbone::MobilenetV2, no_head);
    let x = Tensor::zeros([1, 96, 4, 6], (Kind::Float, Device::Cpu));
    assert_eq!(x.apply_t(&s2.net, false).size(), [1, 320, 2, 3]);
    assert_eq!(s2.out_channels, 320);
    assert!(!vs.variables().contains_key("features.18.0.weight"));
    assert!(vs.variables().contains_key("features.17.conv.2.weight"));
}

#[test]
fn resnet34_stage1_is_stride_8_without_max_pool() {
    let vs = nn::VarStore::new(Device::Cpu);
    let s1 = stage1(&vs.root(), Backbone::Resnet34);
    let x = Tensor::zeros([1, 3, 64, 64], (Kind::Float, Device::Cpu));
    assert_eq!(x.apply_t(&s1.net, false).size(), [1, 256, 8, 8]);
    let s2 = stage2(&vs.root(), Backbone::Resnet34, Stage2Options::default());
    assert_eq!(s2.out_channels, 512);
    // torchvision's ResNet-34 without its fc layer: 21,284,672 parameters.
    assert_eq!(param_count(&vs), 21_284_672);
    assert!(vs.variables().contains_key("layer3.5.bn2.weight"));
    assert!(vs.variables().contains_key("layer2.0.downsample.0.weight"));
}
