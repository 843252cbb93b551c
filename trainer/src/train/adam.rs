//! Adam whose moments can be saved and restored, so that a resumed run continues exactly
//! where it stopped (libtorch's optimiser, as tch exposes it, keeps its state out of reach).
//!
//! The update is libtorch's `torch::optim::Adam` without weight decay or AMSGrad: per
//! parameter with a gradient, `t += 1`, `m = β₁m + (1 − β₁)g`, `v = β₂v + (1 − β₂)g²`,
//! `p −= lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)`. A test checks it step for step against
//! tch's `nn::Adam`.
//!
//! The state file is safetensors: per trainable variable `<name>.exp_avg`,
//! `<name>.exp_avg_sq` and `<name>.step` (an int64 scalar), plus `__run_step__`, the run's
//! step count when it was written, so a state that does not belong to the checkpoint is
//! noticed.

use std::collections::HashMap;
use std::path::Path;

use tch::{Kind, Tensor, nn};

use crate::train::TrainError;

/// First-moment decay β₁ (libtorch's default).
pub const BETA1: f64 = 0.9;
/// Second-moment decay β₂ (libtorch's default).
pub const BETA2: f64 = 0.999;
/// ε (libtorch's default).
pub const EPS: f64 = 1e-8;

/// Name of the run-step entry in a state file.
const RUN_STEP: &str = "__run_step__";

struct Slot {
    name: String,
    param: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    step: i64,
}

/// Adam over the trainable variables of one [`nn::VarStore`].
pub struct Adam {
    slots: Vec<Slot>,
    lr: f64,
}

fn torch_err(what: String) -> impl FnOnce(tch::TchError) -> TrainError {
    move |source| TrainError::Torch { what, source }
}

impl Adam {
    /// Adam over `vs`'s trainable variables (frozen ones are left alone), at rate `lr`.
    pub fn new(vs: &nn::VarStore, lr: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let slots = vars
            .into_iter()
            .map(|(name, param)| Slot {
                exp_avg: param.zeros_like(),
                exp_avg_sq: param.zeros_like(),
                name,
                param,
                step: 0,
            })
            .collect();
        Self { slots, lr }
    }

    /// Sets the learning rate of the next steps.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Clears the gradients, back-propagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        for s in &mut self.slots {
            s.param.zero_grad();
        }
        loss.backward();
        self.step();
    }

    /// One update from the current gradients; variables without a gradient keep their
    /// value and moments.
    pub fn step(&mut self) {
        let lr = self.lr;
        tch::no_grad(|| {
            for s in &mut self.slots {
                let g = s.param.grad();
                if !g.defined() {
                    continue;
                }
                s.step += 1;
                let _ = s.exp_avg.g_mul_scalar_(BETA1);
                let _ = s.exp_avg.g_add_(&(&g * (1.0 - BETA1)));
                let _ = s.exp_avg_sq.g_mul_scalar_(BETA2);
                let _ = s.exp_avg_sq.g_add_(&(&g * &g * (1.0 - BETA2)));
                let t = s.step as i32;
                let bias1 = 1.0 - BETA1.powi(t);
                let bias2 = 1.0 - BETA2.powi(t);
                let denom = s.exp_avg_sq.sqrt() / bias2.sqrt() + EPS;
                let _ = s.param.g_sub_(&(&s.exp_avg / denom * (lr / bias1)));
            }
        });
    }

    /// Writes the moments and step counts to `path` with the run's `run_step`.
    pub fn save(&self, path: &Path, run_step: u64) -> Result<(), TrainError> {
        let mut named: Vec<(String, Tensor)> = Vec::with_capacity(3 * self.slots.len() + 1);
        for s in &self.slots {
            named.push((format!("{}.exp_avg", s.name), s.exp_avg.shallow_clone()));
            named.push((
                format!("{}.exp_avg_sq", s.name),
                s.exp_avg_sq.shallow_clone(),
            ));
            named.push((format!("{}.step", s.name), Tensor::from(s.step)));
        }
        named.push((RUN_STEP.to_owned(), Tensor::from(run_step as i64)));
        Tensor::write_safetensors(&named, path).map_err(torch_err(format!(
            "writing optimiser state {}",
            path.display()
        )))
    }

    /// The run step a state file was written at.
    pub fn saved_step(path: &Path) -> Result<u64, TrainError> {
        let entries = read(path)?;
        run_step(path, &entries)
    }

    /// Restores the state written by [`Adam::save`] for the run at `run_step`. Fails,
    /// naming the file and the entry, when it belongs to another step or another network.
    pub fn load(&mut self, path: &Path, run_step: u64) -> Result<(), TrainError> {
        let corrupt = |reason: String| TrainError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let entries = read(path)?;
        let saved_step = self::run_step(path, &entries)?;
        if saved_step != run_step {
            return Err(corrupt(format!(
                "written at step {saved_step}, the checkpoint is at step {run_step}"
            )));
        }
        let expected = 3 * self.slots.len() + 1;
        if entries.len() != expected {
            return Err(corrupt(format!(
                "{} entries, this network needs {expected}",
                entries.len()
            )));
        }
        let mut restored = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            let moment = |suffix: &str| -> Result<Tensor, TrainError> {
                let name = format!("{}.{suffix}", s.name);
                let t = entries
                    .get(&name)
                    .ok_or_else(|| corrupt(format!("no entry {name}")))?;
                if t.size() != s.param.size() {
                    return Err(corrupt(format!(
                        "{name} has shape {:?}, the variable {:?}",
                        t.size(),
                        s.param.size()
                    )));
                }
                Ok(t.to_kind(s.param.kind()).to_device(s.param.device()))
            };
            let step = scalar(path, &entries, &format!("{}.step", s.name))?;
            restored.push((moment("exp_avg")?, moment("exp_avg_sq")?, step));
        }
        for (s, (m, v, step)) in self.slots.iter_mut().zip(restored) {
            s.exp_avg = m;
            s.exp_avg_sq = v;
            s.step = step;
        }
        Ok(())
    }
}

type Entries = HashMap<String, Tensor>;

fn read(path: &Path) -> Result<Entries, TrainError> {
    Ok(Tensor::read_safetensors(path)
        .map_err(torch_err(format!(
            "reading optimiser state {}",
            path.display()
        )))?
        .into_iter()
        .collect())
}

fn scalar(path: &Path, entries: &Entries, name: &str) -> Result<i64, TrainError> {
    let corrupt = |reason: String| TrainError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let t = entries
        .get(name)
        .ok_or_else(|| corrupt(format!("no entry {name}")))?;
    if t.numel() != 1 || t.kind() != Kind::Int64 {
        return Err(corrupt(format!("{name} is not an int64 scalar")));
    }
    Ok(t.int64_value(&[]))
}

fn run_step(path: &Path, entries: &Entries) -> Result<u64, TrainError> {
    let step = scalar(path, entries, RUN_STEP)?;
    u64::try_from(step).map_err(|_| TrainError::Corrupt {
        path: path.to_owned(),
        reason: format!("negative {RUN_STEP} {step}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;
    use tch::nn::{Module, OptimizerConfig};

    fn net(vs: &nn::VarStore) -> nn::Sequential {
        let p = vs.root();
        nn::seq()
            .add(nn::linear(&p / "a", 5, 7, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&p / "b", 7, 2, Default::default()))
    }

    fn loss(net: &nn::Sequential, seed: i64) -> Tensor {
        tch::manual_seed(seed);
        let x = Tensor::randn([8, 5], (Kind::Float, Device::Cpu));
        net.forward(&x).square().mean(Kind::Float)
    }

    fn seeded() -> (nn::VarStore, nn::Sequential) {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let n = net(&vs);
        (vs, n)
    }

    fn params(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
        let mut v: Vec<_> = vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn assert_same(a: &nn::VarStore, b: &nn::VarStore) {
        for ((na, ta), (nb, tb)) in params(a).iter().zip(params(b)) {
            assert_eq!(na, &nb);
            assert!(ta.allclose(&tb, 1e-6, 1e-7, false), "{na} differs");
        }
    }

    #[test]
    fn steps_like_libtorch_adam() {
        let (vs_ref, net_ref) = seeded();
        let mut reference = nn::Adam::default().build(&vs_ref, 1e-2).expect("adam");
        let (vs, n) = seeded();
        let mut ours = Adam::new(&vs, 1e-2);
        for step in 0..12 {
            let lr = 1e-2 * (1.0 + step as f64) / 12.0;
            reference.set_lr(lr);
            ours.set_lr(lr);
            reference.backward_step(&loss(&net_ref, step));
            ours.backward_step(&loss(&n, step));
        }
        assert_same(&vs_ref, &vs);
    }

    #[test]
    fn a_resumed_run_continues_exactly_where_it_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (vs_a, net_a) = seeded();
        let mut a = Adam::new(&vs_a, 1e-2);
        for step in 0..10 {
            a.backward_step(&loss(&net_a, step));
        }
        let (vs_b, net_b) = seeded();
        let mut b = Adam::new(&vs_b, 1e-2);
        for step in 0..5 {
            b.backward_step(&loss(&net_b, step));
        }
        let (weights, state) = (dir.path().join("w.safetensors"), dir.path().join("o.st"));
        vs_b.save(&weights).expect("weights");
        b.save(&state, 5).expect("state");

        let (mut vs_c, net_c) = seeded();
        vs_c.load(&weights).expect("weights");
        let mut c = Adam::new(&vs_c, 1e-2);
        c.load(&state, 5).expect("state");
        for step in 5..10 {
            c.backward_step(&loss(&net_c, step));
        }
        assert_same(&vs_a, &vs_c);

        // Without the moments the continuation differs: the test above can fail.
        let (mut vs_d, net_d) = seeded();
        vs_d.load(&weights).expect("weights");
        let mut d = Adam::new(&vs_d, 1e-2);
        for step in 5..10 {
            d.backward_step(&loss(&net_d, step));
        }
        let differs = params(&vs_a)
            .iter()
            .zip(params(&vs_d))
            .any(|((_, x), (_, y))| !x.allclose(&y, 1e-6, 1e-7, false));
        assert!(differs);
    }

    #[test]
    fn a_state_of_another_step_or_network_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.st");
        let (vs, n) = seeded();
        let mut a = Adam::new(&vs, 1e-2);
        a.backward_step(&loss(&n, 0));
        a.save(&path, 1).expect("state");
        let err = a.load(&path, 2).expect_err("other step");
        assert!(err.to_string().contains("o.st"), "{err}");
        assert!(format!("{err:?}").contains("step 1"), "{err:?}");

        let other = nn::VarStore::new(Device::Cpu);
        let _ = nn::linear(other.root() / "a", 5, 3, Default::default());
        let mut b = Adam::new(&other, 1e-2);
        let err = b.load(&path, 1).expect_err("other network");
        assert!(format!("{err:?}").contains("entries"), "{err:?}");

        std::fs::write(&path, b"not safetensors").expect("write");
        assert!(a.load(&path, 1).is_err());
    }
}
