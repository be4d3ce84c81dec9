//! `cargo xtask bench`: every figure side by side in one run, on the lean
//! kernel, printed as one table with ratios. Figures, not tests: nothing here
//! passes or fails on a threshold.

use std::collections::BTreeMap;
use std::fmt::Write;

/// Samples by name, in arrival order.
#[derive(Debug, Default)]
pub struct Samples(pub BTreeMap<String, Vec<f64>>);

impl Samples {
    pub fn add(&mut self, name: &str, value: f64) {
        self.0.entry(name.to_owned()).or_default().push(value);
    }

    /// (min, median, max) of `name`'s samples.
    pub fn spread(&self, name: &str) -> Option<(f64, f64, f64)> {
        let mut v = self.0.get(name)?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some((v[0], median, v[v.len() - 1]))
    }

    /// Ratio of the medians of `a` and `b`.
    pub fn ratio(&self, a: &str, b: &str) -> Option<f64> {
        let (_, ma, _) = self.spread(a)?;
        let (_, mb, _) = self.spread(b)?;
        (mb > 0.0).then(|| ma / mb)
    }
}

/// One table row: what, unit, samples name.
pub struct Row {
    pub label: &'static str,
    pub unit: &'static str,
    pub name: &'static str,
}

/// One ratio line: label, numerator, denominator, target (for the reader).
pub struct Ratio {
    pub label: &'static str,
    pub a: &'static str,
    pub b: &'static str,
    pub target: &'static str,
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A Markdown table of min/median/max per row, then the ratios of medians.
pub fn render(samples: &Samples, rows: &[Row], ratios: &[Ratio]) -> String {
    let mut out = String::from(
        "| figure | unit | n | min | median | max |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        match samples.spread(r.name) {
            Some((lo, mid, hi)) => {
                let n = samples.0.get(r.name).map_or(0, Vec::len);
                let _ = writeln!(
                    out,
                    "| {} | {} | {n} | {} | {} | {} |",
                    r.label,
                    r.unit,
                    num(lo),
                    num(mid),
                    num(hi)
                );
            }
            None => {
                let _ = writeln!(out, "| {} | {} | 0 | - | - | - |", r.label, r.unit);
            }
        }
    }
    out += "\n| ratio (of medians) | value | target |\n| --- | --- | --- |\n";
    for q in ratios {
        let value = samples
            .ratio(q.a, q.b)
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}x"));
        let _ = writeln!(out, "| {} | {value} | {} |", q.label, q.target);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_and_ratio() {
        let mut s = Samples::default();
        for v in [5.0, 1.0, 3.0] {
            s.add("a", v);
        }
        for v in [2.0, 4.0] {
            s.add("b", v);
        }
        assert_eq!(s.spread("a"), Some((1.0, 3.0, 5.0)));
        assert_eq!(s.spread("b"), Some((2.0, 3.0, 4.0)));
        assert_eq!(s.ratio("a", "b"), Some(1.0));
        assert_eq!(s.spread("c"), None);
        assert_eq!(s.ratio("a", "c"), None);
    }

    #[test]
    fn table_has_rows_and_ratios() {
        let mut s = Samples::default();
        s.add("x", 600.0);
        s.add("y", 300.0);
        let t = render(
            &s,
            &[
                Row {
                    label: "X",
                    unit: "ns",
                    name: "x",
                },
                Row {
                    label: "Z",
                    unit: "ns",
                    name: "z",
                },
            ],
            &[Ratio {
                label: "X/Y",
                a: "x",
                b: "y",
                target: "-",
            }],
        );
        assert!(t.contains("| X | ns | 1 | 600 | 600 | 600 |"), "{t}");
        assert!(t.contains("| Z | ns | 0 | - | - | - |"), "{t}");
        assert!(t.contains("| X/Y | 2.00x | - |"), "{t}");
    }
}
