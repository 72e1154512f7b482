//! Progress of a long run on standard error (through the log): rows done of the total and the
//! rate, at most one line a second, whatever the terminal (no TTY-only progress bar).

use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_secs(1);

pub struct Progress {
    what: &'static str,
    total: Option<u64>,
    done: u64,
    started: Instant,
    reported: Instant,
}

impl Progress {
    pub fn new(what: &'static str, total: Option<u64>) -> Self {
        let now = Instant::now();
        Progress {
            what,
            total,
            done: 0,
            started: now,
            reported: now,
        }
    }

    pub fn advance(&mut self, rows: u64) {
        self.done += rows;
        if self.reported.elapsed() < EVERY {
            return;
        }
        self.reported = Instant::now();
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = (self.done as f64 / elapsed.max(1e-9)).round() as u64;
        let what = self.what;
        let done = self.done;
        match self.total {
            Some(total) => tracing::info!(
                done,
                total,
                rate,
                "{what}: {done} of {total} rows ({}%), {rate} rows/s",
                done * 100 / total.max(1)
            ),
            None => tracing::info!(done, rate, "{what}: {done} rows, {rate} rows/s"),
        }
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
