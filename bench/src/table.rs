//! Plain-text tables: one per measurement, a row per input, a column per parser plus the
//! ratios to bpfkit.

use std::time::Duration;

use crate::timing::Sample;

pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Prints the table: first column left-aligned, the others right-aligned.
    pub fn print(&self) {
        let columns = self.rows.iter().map(Vec::len).chain([self.header.len()]).max().unwrap_or(0);
        let width = |c: usize| {
            self.rows
                .iter()
                .chain([&self.header])
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..columns).map(width).collect();
        let line = |cells: &[String]| {
            let mut out = String::from("  ");
            for (c, w) in widths.iter().enumerate() {
                let cell = cells.get(c).map_or("", String::as_str);
                if c == 0 {
                    out.push_str(&format!("{cell:<w$}"));
                } else {
                    out.push_str(&format!("   {cell:>w$}"));
                }
            }
            println!("{}", out.trim_end());
        };
        println!("{}", self.title);
        line(&self.header);
        for row in &self.rows {
            line(row);
        }
        for note in &self.notes {
            println!("  {note}");
        }
        println!();
    }
}

/// `median (min)` in milliseconds.
pub fn ms(sample: &Sample) -> String {
    format!("{:.3} ({:.3})", millis(sample.median), millis(sample.min))
}

/// How many times bpfkit's median is smaller than `other`'s: `other / bpfkit`.
pub fn ratio(other: Duration, bpfkit: Duration) -> String {
    times(other.as_secs_f64(), bpfkit.as_secs_f64())
}

/// `other / ours` as `12.3x`.
pub fn times(other: f64, ours: f64) -> String {
    if ours <= 0.0 { "inf".to_string() } else { format!("{:.1}x", other / ours) }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
