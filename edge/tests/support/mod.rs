//! Helpers shared by the agent's process-level tests.

use std::path::Path;
use std::process::Command;

/// Writes the agent's stand-in model (32 px input, 16-d features) and its manifest into
/// `dir` with `edge-agent fixture`, unless they are there already.
pub fn fixture_model(agent: &str, dir: &Path) {
    if dir.join("manifest.toml").exists() {
        return;
    }
    let status = Command::new(agent)
        .arg("fixture")
        .arg(dir)
        .args(["--size", "32", "--dim", "16"])
        .status()
        .expect("running edge-agent fixture");
    assert!(status.success(), "edge-agent fixture {}", dir.display());
}
