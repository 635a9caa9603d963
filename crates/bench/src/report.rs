//! What a run measured and how it is shown: latency histograms, the per-scenario report, the
//! aligned table and the JSON line; plus the `10s`/`1m` duration syntax of the options.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

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
        })
    }
}

fn per_second(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The reports as an aligned table, one row per scenario, then a line per error kind and
/// per throttling answer.
pub fn table(reports: &[Report]) -> String {
    let header = [
        "scenario", "conc", "secs", "ok", "req/s", "res/s", "p50 ms", "p99 ms", "max ms", "errors",
        "429/503",
    ];
    let rows: Vec<[String; 11]> = reports
        .iter()
        .map(|r| {
            [
                r.scenario.name().to_owned(),
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
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (n, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if n == 0 {
                let _ = write!(text, "{cell:<w$}");
            } else {
                let _ = write!(text, "  {cell:>w$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    for r in reports {
        if let Some(m) = r.match_latency {
            let _ = writeln!(
                out,
                "{}: match GET before each POST: p50 {} ms, p99 {} ms, max {} ms",
                r.scenario,
                ms(m.p50),
                ms(m.p99),
                ms(m.max)
            );
        }
        for (kind, n) in &r.errors {
            let _ = writeln!(out, "{}: error {kind}: {n}", r.scenario);
        }
        for (retry_after, n) in &r.throttled {
            let _ = writeln!(
                out,
                "{}: throttled, Retry-After {retry_after}: {n}",
                r.scenario
            );
        }
    }
    out
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
