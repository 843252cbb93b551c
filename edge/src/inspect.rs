//! `edge-agent inspect`: a signature file's header, and optionally its features.

use std::path::Path;

use anyhow::Context;

use crate::output;

/// The lines `inspect` prints for the encoded signature `bytes`.
fn lines(bytes: &[u8], features: bool) -> Result<Vec<String>, spanreid::signature::WireError> {
    let envelope = spanreid::signature::Envelope::decode(bytes)?;
    let sig = envelope.signature();
    let mut lines = vec![format!(
        "site={} camera={} seq={} track={} t_us={} dim={} area_ratios={:?} bytes={}",
        sig.site,
        sig.camera,
        sig.sequence,
        sig.track_id,
        sig.capture_time_us,
        sig.dim(),
        sig.area_ratios.0,
        bytes.len()
    )];
    if features {
        for part in spanreid::part::Part::ALL {
            let f = &sig.features[part.index()];
            let values: Vec<String> = (0..f.dim()).map(|k| format!("{:.5}", f.value(k))).collect();
            lines.push(format!("{}: {}", part.name(), values.join(" ")));
        }
    }
    Ok(lines)
}

/// Decodes `file` and prints it.
pub fn run(file: &Path, features: bool) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let lines = lines(&bytes, features).with_context(|| format!("decoding {}", file.display()))?;
    output::print_lines(lines)
}
