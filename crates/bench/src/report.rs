//! What a run measured and how it is shown: latency histograms, the per-scenario report, the
//! aligned table and the JSON line; plus the `10s`/`1m` duration syntax of the options.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use crate::footprint::ProcMemory;
use crate::scenario::Scenario;

/// Longest latency the histogram tells apart (longer ones count as this), in microseconds.
const MAX_LATENCY_US: u64 = 600_000_000;

/// A latency histogram in microseconds, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Latencies {
    /// An empty histogram (fails only if hdrhistogram refused its own constant bounds).
    pub fn new() -> Result<Self, hdrhistogram::CreationError> {
        Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).map(Latencies)
    }

    /// Records one request's latency (sub-microsecond counts as 1 µs).
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us.max(1));
    }

    /// Adds another worker's histogram to this one.
    pub fn merge(&mut self, other: &Latencies) {
        // Both have the same bounds, so adding cannot go out of range; a failure would
        // only lose samples, never corrupt the counts.
        let _ = self.0.add(&other.0);
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// p50, p99 and max.
    pub fn summary(&self) -> LatencySummary {
        if self.0.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.0.len(),
            p50: Duration::from_micros(self.0.value_at_quantile(0.50)),
            p99: Duration::from_micros(self.0.value_at_quantile(0.99)),
            max: Duration::from_micros(self.0.max()),
        }
    }
}

/// The percentiles a report shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencySummary {
    fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "p50_us": micros(self.p50),
            "p99_us": micros(self.p99),
            "max_us": micros(self.max),
        })
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What one scenario measured (after the warm-up).
#[derive(Debug, Clone)]
pub struct Report {
    pub scenario: Scenario,
    pub concurrency: usize,
    /// From the end of the warm-up to the last measured answer.
    pub elapsed: Duration,
    /// Operations attempted (a create with its match GET counts once).
    pub requests: u64,
    /// Operations that succeeded.
    pub ok: u64,
    /// Resources the successful operations handled (a Bulk request counts its operations).
    pub resources: u64,
    /// Latency of the successful operations (the POST of a create).
    pub latency: LatencySummary,
    /// Latency of the match GET before each create, when sent.
    pub match_latency: Option<LatencySummary>,
    /// Failures by kind: an HTTP status (`"500"`), `"transport"`, or a failed check.
    pub errors: BTreeMap<String, u64>,
    /// 429 and 503 answers by the `Retry-After` they carried (`"none"` without one).
    pub throttled: BTreeMap<String, u64>,
    /// Measured against the built-in reference server (`--reference`), not the real one.
    pub reference: bool,
    /// This rate over the reference's for the same scenario, when one was measured.
    pub ratio_to_reference: Option<f64>,
}

impl Report {
    /// Successful operations per second.
    pub fn rate(&self) -> f64 {
        per_second(self.ok, self.elapsed)
    }

    /// Resources per second (differs from [`Report::rate`] for Bulk).
    pub fn resource_rate(&self) -> f64 {
        per_second(self.resources, self.elapsed)
    }

    /// All failures, throttling excluded.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// All 429 and 503 answers.
    pub fn throttled_count(&self) -> u64 {
        self.throttled.values().sum()
    }

    /// The machine-readable form (`--json`), one object.
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario.name(),
            "concurrency": self.concurrency,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "requests": self.requests,
            "ok": self.ok,
            "resources": self.resources,
            "rate": round1(self.rate()),
            "resource_rate": round1(self.resource_rate()),
            "latency": self.latency.to_json(),
            "match_latency": self.match_latency.map(LatencySummary::to_json),
            "errors": self.errors,
            "throttled": self.throttled,
            "reference": self.reference,
            "ratio_to_reference": self.ratio_to_reference.map(round3),
        })
    }

    /// The scenario's name, marked when measured against the reference server.
    pub fn label(&self) -> String {
        if self.reference {
            format!("{} (reference)", self.scenario)
        } else {
            self.scenario.to_string()
        }
    }

    /// Sets [`Report::ratio_to_reference`] from the reference report of the same scenario
    /// in `references`, if there is one.
    pub fn compare_to(&mut self, references: &[Report]) {
        let reference = references
            .iter()
            .find(|r| r.reference && r.scenario == self.scenario);
        self.ratio_to_reference = reference.and_then(|r| {
            let base = r.rate();
            (base > 0.0).then(|| self.rate() / base)
        });
    }
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The reports as an aligned table, one row per scenario, then a line per error kind and
/// per throttling answer. With a reference measured, a last column gives each rate over the
/// reference's.
pub fn table(reports: &[Report]) -> String {
    let compared = reports
        .iter()
        .any(|r| r.reference || r.ratio_to_reference.is_some());
    let mut header = vec![
        "scenario", "conc", "secs", "ok", "req/s", "res/s", "p50 ms", "p99 ms", "max ms", "errors",
        "429/503",
    ];
    if compared {
        header.push("vs ref");
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let mut row = vec![
                r.label(),
                r.concurrency.to_string(),
                format!("{:.2}", r.elapsed.as_secs_f64()),
                r.ok.to_string(),
                format!("{:.0}", r.rate()),
                format!("{:.0}", r.resource_rate()),
                ms(r.latency.p50),
                ms(r.latency.p99),
                ms(r.latency.max),
                r.error_count().to_string(),
                r.throttled_count().to_string(),
            ];
            if compared {
                row.push(match r.ratio_to_reference {
                    Some(x) => format!("{x:.3}"),
                    None => "-".to_owned(),
                });
            }
            row
        })
        .collect();
    let mut out = aligned(&header, &rows);
    for r in reports {
        let label = r.label();
        if let Some(m) = r.match_latency {
            let _ = writeln!(
                out,
                "{label}: match GET before each POST: p50 {} ms, p99 {} ms, max {} ms",
                ms(m.p50),
                ms(m.p99),
                ms(m.max)
            );
        }
        for (kind, n) in &r.errors {
            let _ = writeln!(out, "{label}: error {kind}: {n}");
        }
        for (retry_after, n) in &r.throttled {
            let _ = writeln!(out, "{label}: throttled, Retry-After {retry_after}: {n}");
        }
    }
    out
}

/// Rows under a header, the first column left-aligned and the others right-aligned.
fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (n, (cell, &w)) in cells.zip(&widths).enumerate() {
            if n == 0 {
                let _ = write!(text, "{cell:<w$}");
            } else {
                let _ = write!(text, "  {cell:>w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// The latency of the growing PATCHes while the group was within one size band.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeBand {
    /// `1000..9900` (members before the first and the last batch), or `last 100: …`.
    pub name: String,
    /// Members in the group before the band's first batch.
    pub from: u64,
    /// Members in the group before the band's last batch.
    pub to: u64,
    pub latency: LatencySummary,
}

/// One kind of operation timed at full size (`add_member`, `probe_member`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationLatency {
    pub name: &'static str,
    pub latency: LatencySummary,
}

/// A reading before the groups scenario's work and one after it (before the delete).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeforeAfter<T> {
    pub before: T,
    pub after: T,
}

/// What the groups scenario measured.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupsReport {
    /// Members the group grew to.
    pub group_size: u64,
    /// Members per growing PATCH.
    pub batch_size: u64,
    /// Growing PATCHes sent.
    pub batches: u64,
    /// Wall time of all the growing PATCHes.
    pub build: Duration,
    /// The growing PATCHes' latency by group size, then that of the last tenth.
    pub bands: Vec<SizeBand>,
    /// Each operation timed at full size.
    pub operations: Vec<OperationLatency>,
    /// Members the last full GET listed.
    pub full_get_members: Option<u64>,
    /// Body size of the last full GET.
    pub full_get_bytes: Option<u64>,
    /// The store's files in bytes (`--store-path`).
    pub store_bytes: Option<BeforeAfter<u64>>,
    /// The process whose memory was read (`--pid`).
    pub pid: Option<u32>,
    pub memory: Option<BeforeAfter<ProcMemory>>,
}

impl GroupsReport {
    /// The human-readable form: the build, a table per phase, then the footprint.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let secs = self.build.as_secs_f64();
        let _ = writeln!(
            out,
            "groups: {} members in {} PATCHes of {} in {secs:.2} s ({:.0} members/s)",
            self.group_size,
            self.batches,
            self.batch_size,
            if secs > 0.0 {
                self.group_size as f64 / secs
            } else {
                0.0
            },
        );
        let summary_cells =
            |l: &LatencySummary| [l.count.to_string(), ms(l.p50), ms(l.p99), ms(l.max)];
        let header = [
            "members before PATCH",
            "count",
            "p50 ms",
            "p99 ms",
            "max ms",
        ];
        let rows: Vec<Vec<String>> = self
            .bands
            .iter()
            .map(|b| {
                let mut row = vec![b.name.clone()];
                row.extend(summary_cells(&b.latency));
                row
            })
            .collect();
        out.push_str(&aligned(&header, &rows));
        out.push('\n');
        let first = format!("at {} members", self.group_size);
        let header = [first.as_str(), "count", "p50 ms", "p99 ms", "max ms"];
        let rows: Vec<Vec<String>> = self
            .operations
            .iter()
            .map(|o| {
                let mut row = vec![o.name.to_owned()];
                row.extend(summary_cells(&o.latency));
                row
            })
            .collect();
        out.push_str(&aligned(&header, &rows));
        out.push('\n');
        if let Some(bytes) = self.full_get_bytes {
            let members = self
                .full_get_members
                .map_or_else(|| "? (not a group)".to_owned(), |m| m.to_string());
            let _ = writeln!(out, "full GET: {members} members, {}", mib(bytes));
        }
        if let Some(s) = self.store_bytes {
            let _ = writeln!(
                out,
                "store: {} before, {} after ({})",
                mib(s.before),
                mib(s.after),
                signed_mib(s.before, s.after)
            );
        }
        if let Some(m) = self.memory {
            let pid = self.pid.map_or_else(String::new, |p| format!(" {p}"));
            for (name, before, after) in [
                ("RssAnon", m.before.rss_anon_kb, m.after.rss_anon_kb),
                ("RssFile", m.before.rss_file_kb, m.after.rss_file_kb),
            ] {
                let _ = writeln!(
                    out,
                    "process{pid} {name}: {} before, {} after ({})",
                    mib(before * 1024),
                    mib(after * 1024),
                    signed_mib(before * 1024, after * 1024)
                );
            }
        }
        out
    }

    /// The machine-readable form (`--json`), one object.
    pub fn to_json(&self) -> Value {
        let operations: serde_json::Map<String, Value> = self
            .operations
            .iter()
            .map(|o| (o.name.to_owned(), o.latency.to_json()))
            .collect();
        let bands: Vec<Value> = self
            .bands
            .iter()
            .map(|b| json!({"band": b.name, "from": b.from, "to": b.to, "latency": b.latency.to_json()}))
            .collect();
        let memory =
            |m: ProcMemory| json!({"rss_anon_kb": m.rss_anon_kb, "rss_file_kb": m.rss_file_kb});
        json!({
            "scenario": Scenario::Groups.name(),
            "group_size": self.group_size,
            "batch_size": self.batch_size,
            "batches": self.batches,
            "build_s": self.build.as_secs_f64(),
            "build_bands": bands,
            "operations": operations,
            "full_get_members": self.full_get_members,
            "full_get_bytes": self.full_get_bytes,
            "store_bytes": self.store_bytes.map(|s| json!({"before": s.before, "after": s.after})),
            "pid": self.pid,
            "memory": self.memory.map(|m| json!({"before": memory(m.before), "after": memory(m.after)})),
        })
    }
}

/// A size in KiB, MiB or GiB, whichever reads best.
fn human(bytes: f64) -> String {
    let units = [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in units {
        if bytes.abs() >= size as f64 {
            return format!("{:.1} {unit}", bytes / size as f64);
        }
    }
    format!("{bytes:.0} B")
}

fn mib(bytes: u64) -> String {
    human(bytes as f64)
}

fn signed_mib(before: u64, after: u64) -> String {
    let delta = after as f64 - before as f64;
    let sign = if delta < 0.0 { "-" } else { "+" };
    format!("{sign}{}", human(delta.abs()))
}

/// A duration option that is not `10s`, `500ms`, `1m`, `1h` or plain seconds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {0:?}: write 10s, 500ms, 1m, 1h or plain seconds")]
pub struct BadDuration(pub String);

/// Parses `10s`, `500ms`, `1.5m`, `1h`, or plain (possibly fractional) seconds.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    let bad = || BadDuration(text.to_owned());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(number * scale).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 2h "), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "s", "10x", "-1s", "1.2.3s", "ten"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percentiles_from_the_histogram() {
        let mut a = Latencies::new().unwrap();
        let mut b = Latencies::new().unwrap();
        for ms in 1..=98 {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_millis(99));
        b.record(Duration::from_secs(3));
        a.merge(&b);
        let s = a.summary();
        assert_eq!(s.count, 100);
        // hdrhistogram reports the highest value equivalent to the bucket, within 0.1%.
        let close = |d: Duration, ms: f64| (d.as_secs_f64() * 1000.0 - ms).abs() <= ms * 0.001;
        assert!(close(s.p50, 50.0), "{:?}", s.p50);
        assert!(close(s.p99, 99.0), "{:?}", s.p99);
        assert!(close(s.max, 3000.0), "{:?}", s.max);
        assert_eq!(
            Latencies::new().unwrap().summary(),
            LatencySummary::default()
        );
    }

    fn sample() -> Report {
        Report {
            scenario: Scenario::Create,
            concurrency: 32,
            elapsed: Duration::from_secs(2),
            requests: 1003,
            ok: 1000,
            resources: 1000,
            latency: LatencySummary {
                count: 1000,
                p50: Duration::from_micros(1500),
                p99: Duration::from_micros(4250),
                max: Duration::from_millis(12),
            },
            match_latency: Some(LatencySummary {
                count: 1000,
                p50: Duration::from_micros(500),
                p99: Duration::from_micros(900),
                max: Duration::from_millis(2),
            }),
            errors: BTreeMap::from([("500".to_owned(), 2), ("transport".to_owned(), 1)]),
            throttled: BTreeMap::from([("1".to_owned(), 4)]),
            reference: false,
            ratio_to_reference: None,
        }
    }

    #[test]
    fn rates_and_counts() {
        let r = sample();
        assert_eq!(r.rate(), 500.0);
        assert_eq!(r.error_count(), 3);
        assert_eq!(r.throttled_count(), 4);
        let zero = Report {
            elapsed: Duration::ZERO,
            ..sample()
        };
        assert_eq!(zero.rate(), 0.0);
    }

    #[test]
    fn table_is_aligned_and_lists_errors() {
        let text = table(&[sample()]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("scenario"), "{text}");
        assert!(lines[1].starts_with("create"), "{text}");
        // Right-aligned columns end at the same place in the header and the row.
        assert_eq!(lines[0].len(), lines[1].len(), "{text}");
        assert!(
            lines[1].contains("1.50") && lines[1].contains("4.25") && lines[1].contains("12.00")
        );
        assert!(text.contains("create: error 500: 2"), "{text}");
        assert!(
            text.contains("create: throttled, Retry-After 1: 4"),
            "{text}"
        );
        assert!(
            text.contains("match GET before each POST: p50 0.50 ms"),
            "{text}"
        );
    }

    #[test]
    fn ratios_to_the_reference_of_the_same_scenario() {
        let reference = Report {
            scenario: Scenario::Get,
            ok: 4000,
            reference: true,
            ..sample()
        };
        let mut get = Report {
            scenario: Scenario::Get,
            ok: 1000,
            ..sample()
        };
        let mut create = sample();
        get.compare_to(std::slice::from_ref(&reference));
        create.compare_to(std::slice::from_ref(&reference));
        assert_eq!(get.ratio_to_reference, Some(0.25));
        assert_eq!(create.ratio_to_reference, None, "no reference for create");
        // A reference that served nothing gives no ratio rather than infinity.
        let idle = Report {
            ok: 0,
            ..reference.clone()
        };
        get.compare_to(&[idle]);
        assert_eq!(get.ratio_to_reference, None);
        get.compare_to(std::slice::from_ref(&reference));

        let text = table(&[reference.clone(), get.clone(), create]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("vs ref"), "{text}");
        assert!(lines[1].starts_with("get (reference)"), "{text}");
        assert!(lines[1].ends_with(" -"), "{text}");
        assert!(
            lines[2].starts_with("get ") && lines[2].ends_with("0.250"),
            "{text}"
        );
        assert!(lines[3].ends_with(" -"), "{text}");
        assert_eq!(lines[0].len(), lines[2].len(), "{text}");
        assert!(text.contains("get (reference): error 500: 2"), "{text}");
        // Without a reference the table has no such column.
        assert!(!table(&[sample()]).contains("vs ref"));

        let v = get.to_json();
        assert_eq!(v["ratio_to_reference"], 0.25);
        assert_eq!(v["reference"], false);
        assert_eq!(reference.to_json()["reference"], true);
        assert!(reference.to_json()["ratio_to_reference"].is_null());
    }

    #[test]
    fn sizes_read_in_the_best_unit() {
        assert_eq!(mib(512), "512 B");
        assert_eq!(mib(1536), "1.5 KiB");
        assert_eq!(mib(5 << 20), "5.0 MiB");
        assert_eq!(mib(3 << 30), "3.0 GiB");
        assert_eq!(signed_mib(2048, 1024), "-1.0 KiB");
        assert_eq!(signed_mib(0, 1 << 20), "+1.0 MiB");
        assert_eq!(signed_mib(7, 7), "+0 B");
    }

    #[test]
    fn json_line() {
        let v = sample().to_json();
        assert_eq!(v["scenario"], "create");
        assert_eq!(v["rate"], 500.0);
        assert_eq!(v["latency"]["p99_us"], 4250);
        assert_eq!(v["match_latency"]["p50_us"], 500);
        assert_eq!(v["errors"]["500"], 2);
        assert_eq!(v["throttled"]["1"], 4);
        assert!(!v.to_string().contains('\n'));
    }
}
