//! The progress bar of every long job: training steps, GrabCut, mask prediction.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` units, already at `start` (a resumed run).
pub fn bar(start: u64, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total).with_position(start);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .expect("the progress template is a valid constant"),
    );
    bar
}
