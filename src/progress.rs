//! Progress of long work (`cfpd run --once` on a backlog, `cfpd reviewers
//! import`, `cfpd assign`): a bar when stderr is a terminal, plain `tracing`
//! lines otherwise (at the start, at each phase, every tenth of the total
//! or [`LOG_EVERY`], and at the end; nothing when there was nothing to do),
//! so a journal or CI log gets a few readable lines instead of control codes.
//!
//! This is the only module that draws on the terminal. The work itself knows
//! nothing of it: intake and the sender take a [`Counter`], the solver a
//! `SolveObserver`, which `cfpd assign` implements for [`Progress`] (so
//! this module knows nothing of the solver). Log lines go through
//! [`LogWriter`], which hides a drawn bar while a line is written, so bars
//! and log lines never overwrite each other.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Longest gap between two plain progress lines while work advances.
pub const LOG_EVERY: Duration = Duration::from_secs(5);

/// The terminal's bars; created with the first bar, so plain runs never touch it.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Whether progress is drawn as a bar: stderr is a terminal (`TERM=dumb` counts as none).
pub fn draws_bars() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// What long work calls with how many more items it finished. The work
/// (intake, the sender) only counts; what the count drives is the caller's.
#[derive(Clone)]
pub struct Counter(Arc<dyn Fn(u64) + Send + Sync>);

impl Counter {
    /// A counter calling `f` with each increment.
    pub fn new(f: impl Fn(u64) + Send + Sync + 'static) -> Counter {
        Counter(Arc::new(f))
    }

    /// `n` more items are done.
    pub fn add(&self, n: u64) {
        (self.0)(n);
    }
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counter")
    }
}

/// One piece of long work: a bar on a terminal, log lines elsewhere.
#[derive(Debug)]
pub struct Progress {
    /// What is being done, e.g. `intake`: the bar's prefix and the log lines' first word.
    what: &'static str,
    /// What is counted, e.g. `messages`.
    unit: &'static str,
    /// The drawn bar, when stderr is a terminal.
    bar: Option<ProgressBar>,
    /// Plain mode's state: what was last logged and when.
    log: Mutex<LogState>,
    /// When the work started (the closing line's duration).
    started: Instant,
}

/// Position and total as plain mode last saw them.
#[derive(Debug)]
struct LogState {
    /// Items done.
    pos: u64,
    /// Items expected, when known.
    total: Option<u64>,
    /// When the last line was written.
    at: Instant,
    /// Whether the "starting" line was written (only once there is work).
    announced: bool,
    /// Tenth of the total the last line reported (so each tenth is logged once).
    tenth: u64,
}

impl Progress {
    /// Start counting `unit` for `what`; `total` when known up front.
    pub fn start(what: &'static str, unit: &'static str, total: Option<u64>) -> Progress {
        Progress::with_mode(what, unit, total, draws_bars())
    }

    /// [`Progress::start`] with the mode chosen by the caller (tests).
    pub fn with_mode(
        what: &'static str,
        unit: &'static str,
        total: Option<u64>,
        bar: bool,
    ) -> Progress {
        let bar = bar.then(|| {
            let b = BARS
                .get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
                .add(ProgressBar::new(total.unwrap_or(0)));
            b.set_style(style(total.is_some()));
            b.set_prefix(what);
            b.set_message(unit);
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        let p = Progress {
            what,
            unit,
            bar,
            log: Mutex::new(LogState {
                pos: 0,
                total,
                at: Instant::now(),
                tenth: 0,
                announced: false,
            }),
            started: Instant::now(),
        };
        if total.is_some_and(|t| t > 0) {
            p.announce(&mut p.lock());
        }
        p
    }

    /// Plain mode: the "starting" line, once, when there turns out to be
    /// work (so a `run --once` from cron with nothing to do logs nothing).
    fn announce(&self, s: &mut LogState) {
        if self.bar.is_some() || s.announced {
            return;
        }
        s.announced = true;
        match s.total.filter(|t| *t > 0) {
            Some(t) => tracing::info!("{}: starting, {t} {}", self.what, self.unit),
            None => tracing::info!("{}: starting", self.what),
        }
    }

    /// The total became known or changed (e.g. a fetch stored more mail).
    pub fn set_total(&self, total: u64) {
        if let Some(b) = &self.bar {
            if b.length() == Some(0) || b.length().is_none() {
                b.set_style(style(true));
            }
            b.set_length(total);
        }
        let mut s = self.lock();
        s.total = Some(total);
        if self.bar.is_none() {
            self.maybe_log(&mut s);
        }
    }

    /// A [`Counter`] that advances this progress.
    pub fn counter(this: &Arc<Progress>) -> Counter {
        let p = this.clone();
        Counter::new(move |n| p.inc(n))
    }

    /// Items done so far.
    pub fn position(&self) -> u64 {
        self.lock().pos
    }

    /// `n` more items are done.
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
        let mut s = self.lock();
        s.pos += n;
        if self.bar.is_none() {
            self.maybe_log(&mut s);
        }
    }

    /// Plain mode: a line when the position reaches a new tenth of the total
    /// (whichever of the count and the total moved last), or after [`LOG_EVERY`].
    fn maybe_log(&self, s: &mut LogState) {
        if s.pos == 0 && s.total.is_none_or(|t| t == 0) {
            return;
        }
        self.announce(s);
        let tenth = s
            .total
            .filter(|t| *t > 0)
            .map_or(0, |t| s.pos.min(t) * 10 / t);
        if tenth > s.tenth || (s.pos > 0 && s.at.elapsed() >= LOG_EVERY) {
            s.tenth = s.tenth.max(tenth);
            s.at = Instant::now();
            self.log_position(s, None);
        }
    }

    /// A new phase of the work begins (shown next to the bar, logged in plain mode).
    pub fn phase(&self, phase: &str) {
        match &self.bar {
            Some(b) => b.set_message(format!("{} ({phase})", self.unit)),
            None => {
                let mut s = self.lock();
                self.announce(&mut s);
                s.at = Instant::now();
                self.log_position(&s, Some(phase));
            }
        }
    }

    /// The work is over: the bar stays on screen with `summary`; plain mode logs it.
    pub fn finish(&self, summary: &str) {
        match &self.bar {
            Some(b) => {
                let done = if b.length().is_some_and(|l| l > 0) {
                    "{prefix:>8} [{elapsed_precise}] {pos}/{len} {msg}"
                } else {
                    "{prefix:>8} [{elapsed_precise}] {pos} {msg}"
                };
                b.set_style(ProgressStyle::with_template(done).expect("valid progress template"));
                b.set_message(format!("{}, {summary}", self.unit));
                b.finish();
            }
            None => {
                let s = self.lock();
                if !s.announced {
                    return; // nothing was done, nothing was said
                }
                tracing::info!(
                    "{}: done, {} {} in {:.1}s: {summary}",
                    self.what,
                    s.pos,
                    self.unit,
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log_position(&self, s: &LogState, phase: Option<&str>) {
        let what = self.what;
        let phase = phase.map(|p| format!(" ({p})")).unwrap_or_default();
        match s.total {
            Some(t) if t > 0 => tracing::info!(
                "{what}: {}/{t} {} ({}%){phase}",
                s.pos,
                self.unit,
                s.pos * 100 / t
            ),
            _ => tracing::info!("{what}: {} {}{phase}", s.pos, self.unit),
        }
    }
}

fn style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix:>8} {spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg} ({eta} left)"
    } else {
        "{prefix:>8} {spinner} [{elapsed_precise}] {pos} {msg}"
    };
    ProgressStyle::with_template(template)
        .expect("valid progress template")
        .progress_chars("=> ")
}

impl Progress {
    /// One pricing round of the assignment solver: the round is the position
    /// (its total is unknown), the message says what the round did.
    pub fn pricing_round(&self, round: u32, added_arcs: usize, pivots: u64) {
        match &self.bar {
            Some(b) => {
                b.set_position(u64::from(round));
                b.set_message(format!(
                    "{} (optimizing; last added {added_arcs} pair(s), {pivots} pivot(s) so far)",
                    self.unit
                ));
            }
            None => {
                let mut s = self.lock();
                s.pos = u64::from(round);
                if s.at.elapsed() >= LOG_EVERY || round == 1 {
                    s.at = Instant::now();
                    tracing::info!(
                        "{}: pricing round {round}: {added_arcs} pair(s) added, {pivots} pivot(s) so far",
                        self.what
                    );
                }
            }
        }
    }
}

/// The `tracing` writer of the command line: each log line is written to
/// stderr with any drawn bar hidden meanwhile, then redrawn below it.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

/// One log line being formatted; written out when dropped.
#[derive(Debug)]
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let write = || {
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        match BARS.get() {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_mode_counts_and_keeps_the_total() {
        let p = Progress::with_mode("import", "reviewers", Some(20), false);
        for _ in 0..20 {
            p.inc(1);
        }
        let s = p.lock();
        assert_eq!((s.pos, s.total, s.tenth), (20, Some(20), 10));
    }

    #[test]
    fn total_can_grow_while_counting() {
        let p = Progress::with_mode("intake", "messages", None, false);
        p.inc(3);
        p.set_total(10);
        p.inc(7);
        let s = p.lock();
        assert_eq!((s.pos, s.total), (10, Some(10)));
    }
}
