//! Timing rows: each parser's median and minimum over the same number of iterations, and the
//! ratio to bpfkit's median.

use std::time::{Duration, Instant};

/// One measurement across parsers.
pub struct Row {
    title: String,
    results: Vec<(&'static str, Duration, Duration)>,
    notes: Vec<String>,
}

impl Row {
    pub fn new(title: String) -> Row {
        Row { title, results: Vec::new(), notes: Vec::new() }
    }

    /// Runs `f` once to warm up, then `iters` times; `f` must return true (a sanity check that
    /// the work was done).
    pub fn time(mut self, who: &'static str, iters: usize, mut f: impl FnMut() -> bool) -> Row {
        assert!(f(), "{who}: {} failed", self.title);
        let mut samples: Vec<Duration> = (0..iters.max(1))
            .map(|_| {
                let t = Instant::now();
                let ok = std::hint::black_box(f());
                let d = t.elapsed();
                assert!(ok, "{who}: {} failed", self.title);
                d
            })
            .collect();
        samples.sort();
        self.results.push((who, samples[samples.len() / 2], samples[0]));
        self
    }

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
    }
}

/// Rows printed together.
#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn print(&self) {
        for row in &self.rows {
            println!("{}", row.title);
            let ours = row.results.iter().find(|r| r.0 == "bpfkit").map(|r| r.1);
            for (who, median, min) in &row.results {
                let ratio = match ours {
                    Some(o) if *who != "bpfkit" => {
                        format!("  {:.1}x bpfkit's time", median.as_secs_f64() / o.as_secs_f64().max(1e-9))
                    }
                    _ => String::new(),
                };
                println!(
                    "    {who:<7} {:>9.3} ms  (min {:>8.3}){ratio}",
                    median.as_secs_f64() * 1e3,
                    min.as_secs_f64() * 1e3
                );
            }
            for note in &row.notes {
                println!("    {note}");
            }
        }
    }
}
