//! Timing one piece of work: warm-up runs, then timed iterations; median and minimum.

use std::time::{Duration, Instant};

/// Median and minimum of the timed iterations.
#[derive(Clone, Copy)]
pub struct Sample {
    pub median: Duration,
    pub min: Duration,
}

/// How many times to run each piece of work.
#[derive(Clone, Copy)]
pub struct Plan {
    pub warmup: usize,
    pub iters: usize,
}

impl Plan {
    /// Runs `work` `warmup` times, then `iters` times timed. `work` returns whether it got the
    /// expected answer: a wrong answer in any run is an error (a benchmark of broken work is
    /// worthless), reported with `what`.
    pub fn time(self, what: &str, mut work: impl FnMut() -> bool) -> Result<Sample, String> {
        let failed = || format!("{what}: wrong answer or parse failure inside the timed loop");
        for _ in 0..self.warmup {
            if !std::hint::black_box(work()) {
                return Err(failed());
            }
        }
        let mut samples = Vec::with_capacity(self.iters.max(1));
        for _ in 0..self.iters.max(1) {
            let start = Instant::now();
            let ok = std::hint::black_box(work());
            samples.push(start.elapsed());
            if !ok {
                return Err(failed());
            }
        }
        samples.sort_unstable();
        Ok(Sample { median: samples[samples.len() / 2], min: samples[0] })
    }
}
