//! `hub bench`'s report as text.

use super::BenchReport;

/// The report as text (Markdown table for the README).
pub fn render(r: &BenchReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    // Ingest without its own reference is compared with the first one measured.
    let first_reference = r.ingest.iter().find_map(|i| {
        i.delivery_seconds
            .map(|d| i.signatures as f64 / d.max(1e-9))
    });
    for i in &r.ingest {
        let _ = writeln!(
            out,
            "ingest through {}, {}: {} signatures (dim {}) in {:.2} s = {:.0} signatures/s; \
             {} match records; database {:.0} bytes/signature",
            i.broker,
            i.scenario,
            i.signatures,
            r.dim,
            i.seconds,
            i.rate(),
            i.matches,
            i.db_bytes_per_signature
        );
        let own = i
            .delivery_seconds
            .map(|d| i.signatures as f64 / d.max(1e-9));
        if let Some(reference) = own.or(first_reference) {
            let which = if own.is_some() {
                "the same messages"
            } else {
                "the first measurement's messages"
            };
            let _ = writeln!(
                out,
                "  reference, same run: the broker alone delivers {which} to a QoS 1 \
                 subscriber that only counts at {reference:.0}/s; ingest = {:.2}× of it",
                i.rate() / reference
            );
        }
    }
    if let Some(api) = &r.api {
        let _ = writeln!(
            out,
            "HTTP API on the city's database ({} passages, {} match records), one request at a \
             time, fresh connection each:",
            api.passages, api.matches
        );
        let _ = writeln!(out, "| request | count | p50 | p99 |\n|---|---:|---:|---:|");
        for q in &api.requests {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} ms | {:.2} ms |",
                q.request,
                q.count,
                q.p50_s * 1e3,
                q.p99_s * 1e3
            );
        }
    }
    let _ = writeln!(
        out,
        "read bandwidth (all cores, same run): {:.1} GB/s",
        r.read_bandwidth / 1e9
    );
    let _ = writeln!(
        out,
        "| gallery | one query (median) | bytes scanned | bandwidth bound | ratio | \
         per query in a batch | index bytes/entry (layout / resident) |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    for q in &r.queries {
        let _ = writeln!(
            out,
            "| {} | {:.2} ms | {:.1} MB | {:.2} ms | {:.2}× | {:.3} ms | {} / {} |",
            q.gallery,
            q.median_s * 1e3,
            q.bytes_scanned / 1e6,
            q.bound_s * 1e3,
            q.median_s / q.bound_s.max(1e-12),
            q.batched_s * 1e3,
            q.bytes_per_entry,
            q.measured_bytes_per_entry
                .map_or("n/a".into(), |b| format!("{b:.0}"))
        );
    }
    out
}
