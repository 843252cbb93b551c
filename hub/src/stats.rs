//! Reports for `hub stats` and `hub query`, built from the database (values in, text out).

use std::fmt::Write as _;

use super::events::SignatureRef;
use super::store::StoreStats;

/// The answer to `hub query`: a stored signature and its nearest gallery entries from other
/// cameras, computed now, beside the candidates stored when it arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryReport {
    /// The signature asked about.
    pub query: SignatureRef,
    /// Nearest entries from other cameras now: (signature, CPDM distance).
    pub nearest: Vec<(SignatureRef, f32)>,
    /// Candidates recorded at ingest: (rank, candidate id, distance).
    pub recorded: Vec<(u32, i64, f32)>,
}

/// Text for `hub stats`.
pub fn render_stats(s: &StoreStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "signatures  {}", s.signatures);
    let _ = writeln!(out, "matches     {}", s.matches);
    if let Some((a, b)) = s.capture_range_us {
        let _ = writeln!(
            out,
            "captured    {a} .. {b} µs ({:.1} h)",
            (b - a) as f64 / 3.6e9
        );
    }
    if !s.per_camera.is_empty() {
        let _ = writeln!(out, "per camera");
        for (cam, n) in &s.per_camera {
            let _ = writeln!(out, "  {cam:<24} {n}");
        }
    }
    if !s.counters.is_empty() {
        let _ = writeln!(out, "ingest counters");
        for (name, n) in &s.counters {
            let _ = writeln!(out, "  {name:<24} {n}");
        }
    }
    out
}

fn describe(r: &SignatureRef) -> String {
    format!(
        "#{} {}/{} track {} seq {} t={}µs",
        r.id, r.site, r.camera, r.track_id, r.sequence, r.capture_time_us
    )
}

/// Text for `hub query`.
pub fn render_query(q: &QueryReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "query      {}", describe(&q.query));
    let _ = writeln!(out, "nearest from other cameras (CPDM):");
    if q.nearest.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for (rank, (r, d)) in (1..).zip(&q.nearest) {
        let _ = writeln!(out, "  {rank:>3}. {d:.4}  {}", describe(r));
    }
    let _ = writeln!(out, "recorded at ingest:");
    if q.recorded.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for (rank, id, d) in &q.recorded {
        let _ = writeln!(out, "  {rank:>3}. {d:.4}  #{id}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_list_every_counter() {
        let s = StoreStats {
            signatures: 3,
            per_camera: vec![("s/c1".into(), 2), ("s/c2".into(), 1)],
            matches: 1,
            counters: vec![("accepted".into(), 3), ("bad_tag".into(), 2)],
            capture_range_us: Some((0, 3_600_000_000)),
        };
        let text = render_stats(&s);
        assert!(text.contains("signatures  3"));
        assert!(text.contains("(1.0 h)"));
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("bad_tag") && l.ends_with(" 2"))
        );
    }
}
