//! Networks: backbones split into two stages, and the SPAN mask network.

pub mod backbone;
pub mod features;
pub mod resnet50;
pub mod span;
#[cfg(test)]
mod weights_tests;

use std::path::Path;

use tch::Tensor;
use tch::nn::VarStore;

use crate::weights::{self, LoadReport, WeightsError};

/// Loads an ImageNet state_dict (torchvision names) into the backbone variables under
/// `prefix` in `vs`; every such variable must be provided. Other variables (the
/// generators) are left as initialised.
pub fn load_backbone_weights(
    vs: &mut VarStore,
    prefix: &str,
    path: &Path,
) -> Result<LoadReport, WeightsError> {
    load_backbone_tensors(vs, prefix, &weights::read_pth(path)?, path)
}

/// [`load_backbone_weights`] on tensors already read from `source`.
pub fn load_backbone_tensors(
    vs: &mut VarStore,
    prefix: &str,
    tensors: &[(String, Tensor)],
    source: &Path,
) -> Result<LoadReport, WeightsError> {
    let tensors: Vec<_> = tensors
        .iter()
        .map(|(name, t)| (format!("{prefix}.{name}"), t.shallow_clone()))
        .collect();
    let owned = format!("{prefix}.");
    weights::load_into(vs, &tensors, source, |var| !var.starts_with(&owned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backbone;
    use crate::config::FeatureModelConfig;
    use crate::model::features::{BRANCHES, FeatureNet, STAGE1_PREFIX, branch_backbone_prefix};
    use tch::nn;
    use tch::{Device, Kind};

    /// A torchvision-layout ResNet-50 (conv1 … layer4, fc) with random values everywhere,
    /// batch-norm statistics included, as `(name, tensor)` in a state_dict's order.
    fn random_torchvision_resnet50() -> Vec<(String, Tensor)> {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let _s1 = resnet50::stage1(&root);
        let _s2 = resnet50::stage2(&root, false);
        let _fc = nn::linear(
            &root / "fc",
            resnet50::STAGE2_CHANNELS,
            1000,
            Default::default(),
        );
        let mut all: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .map(|(name, t)| {
                let values = Tensor::rand_like(&t) + 0.5;
                (name, values)
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.push((
            "bn1.num_batches_tracked".into(),
            Tensor::from_slice(&[7i64]).view([]),
        ));
        all
    }

    #[test]
    fn a_torchvision_resnet50_state_dict_loads_into_stage1_and_every_branch() {
        let tensors = random_torchvision_resnet50();
        let mut vs = nn::VarStore::new(Device::Cpu);
        let config = FeatureModelConfig {
            backbone: Backbone::Resnet50,
            input_size: 64,
            dim: 8,
            ..Default::default()
        };
        let _net = FeatureNet::new(&vs.root(), &config, 3);
        let source = Path::new("resnet50.pth");
        let prefixes: Vec<String> = std::iter::once(STAGE1_PREFIX.to_owned())
            .chain(BRANCHES.iter().map(|b| branch_backbone_prefix(b)))
            .collect();
        for prefix in &prefixes {
            let report = load_backbone_tensors(&mut vs, prefix, &tensors, source).expect("loads");
            // 43 convolutions and 43 batch norms (4 tensors each) in stage 1, 10 and 10 in
            // layer4; the fc and the batch counter stay unused.
            let (loaded, unused) = if prefix == STAGE1_PREFIX {
                (215, 53)
            } else {
                (50, 218)
            };
            assert_eq!(
                (report.tensors, report.unused.len()),
                (loaded, unused),
                "{prefix}"
            );
            assert!(
                report.unused.contains(&format!("{prefix}.fc.weight")),
                "{prefix}"
            );
        }
        let vars = vs.variables();
        for (name, value) in &tensors {
            let (stage1, branch) = (
                vars.get(&format!("{STAGE1_PREFIX}.{name}")),
                vars.get(&format!("{}.{name}", branch_backbone_prefix("side"))),
            );
            match (stage1, branch) {
                (Some(v), None) | (None, Some(v)) => {
                    assert!(v.equal(&value.to_kind(v.kind())), "{name} copied");
                }
                (None, None) => assert!(
                    name.starts_with("fc.") || name.ends_with("num_batches_tracked"),
                    "{name} has a home"
                ),
                (Some(_), Some(_)) => panic!("{name} in both stages"),
            }
        }
        assert_eq!(
            vars["branch_front.backbone.layer4.0.downsample.1.running_var"].sum(Kind::Float),
            tensors
                .iter()
                .find(|(n, _)| n == "layer4.0.downsample.1.running_var")
                .expect("present")
                .1
                .sum(Kind::Float)
        );

        let mut wrong = tensors;
        wrong.retain(|(n, _)| n != "layer3.5.bn3.running_mean");
        let err = load_backbone_tensors(&mut vs, STAGE1_PREFIX, &wrong, source).expect_err("gap");
        assert!(
            err.to_string().contains("stage1.layer3.5.bn3.running_mean"),
            "{err}"
        );
    }
}
