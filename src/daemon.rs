//! The daemon: source → intake → outbox, wired together.
//!
//! One intake loop (fetch, process, file away, wait), one sender task and
//! one reminder scheduler task, joined by a `Notify` so an acknowledgment
//! or a reminder leaves as soon as it is committed. Errors from the mail server are transient: the session is
//! dropped and re-established with capped exponential backoff and jitter.

use std::sync::Arc;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::clock::Clock;
use crate::config::{Config, MailboxConfig};
use crate::intake::Intake;
use crate::lease::{self, Ended, Lease};
use crate::metrics::Metrics;
use crate::outbox::sender::{DrainStats, Sender, Transport};
use crate::outbox::Composer;
use crate::progress::Progress;
use crate::schedule::Scheduler;
use crate::shutdown::Shutdown;
use crate::source::{imap::ImapSource, maildir::MaildirSource, MailSource};
use crate::store::Store;
use crate::topics::{Tagger, TopicSet};

/// What `run --once` did, and how long each phase took.
#[derive(Debug, Clone, Copy)]
pub struct OnceStats {
    /// Messages brought to a terminal state.
    pub processed: usize,
    /// Time to fetch, process and file them (acks queued).
    pub intake_time: Duration,
    /// Reminder mails queued (rules due at the clock's now).
    pub reminders: usize,
    /// Outbox results.
    pub sent: DrainStats,
    /// Time to drain the outbox.
    pub send_time: Duration,
}

/// Everything the daemon runs on.
#[derive(Debug)]
pub struct App {
    /// Validated configuration.
    pub cfg: Arc<Config>,
    /// The database.
    pub store: Store,
    /// Where mail comes from.
    pub source: MailSource,
    /// Message processing.
    pub intake: Intake,
    /// Outgoing mail.
    pub sender: Sender,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Reminder rules, fired at the clock's now.
    pub scheduler: Scheduler,
    /// This process's counters and health (served by `[metrics] listen`).
    pub metrics: Arc<Metrics>,
}

/// Load the topic set the config names (or the default).
pub fn load_topics(cfg: &Config) -> anyhow::Result<TopicSet> {
    Ok(match &cfg.topics_file {
        Some(p) => TopicSet::load(p)?,
        None => TopicSet::default_set(),
    })
}

impl App {
    /// Connect to the database, resolve secrets and build every stage.
    pub async fn build(cfg: Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        let cfg = Arc::new(cfg);
        let store = Store::connect(&cfg.database_url).await?;
        let tagger = Arc::new(Tagger::new(load_topics(&cfg)?));
        let composer = Composer::new(&cfg)?;
        // One token source: IMAP and SMTP share the refresh token and its cache.
        let tokens = crate::oauth2::token_source(&cfg)?;
        let source = match &cfg.mailbox {
            MailboxConfig::Maildir { path } => MailSource::Maildir(MaildirSource::new(
                path.clone(),
                cfg.mailbox.wait_interval(),
                cfg.proposals.max_message_bytes,
            )?),
            MailboxConfig::Imap(i) => MailSource::Imap(Box::new(ImapSource::new(
                (**i).clone(),
                crate::oauth2::imap_login(i, tokens.as_ref()).map_err(anyhow::Error::msg)?,
                cfg.proposals.max_message_bytes,
            ))),
        };
        let transport = Transport::from_config(&cfg.outgoing, tokens.as_ref())
            .map_err(|e| anyhow::anyhow!("outgoing password: {e}"))?;
        let metrics = Arc::new(Metrics::new());
        metrics.set_instance(&format!("cfpd run --once, pid {}", std::process::id()));
        let sender =
            Sender::new(store.clone(), transport, clock.clone()).with_metrics(metrics.clone());
        let scheduler = Scheduler::new(cfg.clone(), store.clone(), composer.clone());
        let intake = Intake::new(cfg.clone(), store.clone(), composer, tagger, clock.clone());
        Ok(App {
            cfg,
            store,
            source,
            intake,
            sender,
            clock,
            scheduler,
            metrics,
        })
    }

    /// One pass: store new mail and process it (intake starts on the first
    /// stored chunk while the rest is still being fetched), then file it away.
    /// Returns messages processed.
    ///
    /// With `shown`, its total grows with what is waiting and what the fetch stores.
    async fn cycle(&mut self, shown: Option<&Progress>) -> anyhow::Result<usize> {
        let now = crate::store::ms(self.clock.now());
        let t0 = std::time::Instant::now();
        let (progress, stored) = tokio::sync::watch::channel(0usize);
        // Done so far plus what is stored and waiting: the total before this fetch.
        let waiting = match shown {
            Some(p) => {
                let mut c = self.store.conn().await?;
                let received = crate::store::messages::count_by_state(&mut c)
                    .await?
                    .iter()
                    .find(|(state, _)| *state == crate::model::MessageState::Received)
                    .map_or(0, |(_, n)| *n as u64);
                let total = p.position() + received;
                p.set_total(total);
                total
            }
            None => 0,
        };
        let watching = {
            let mut stored = stored.clone();
            async move {
                let Some(p) = shown else { return };
                while stored.changed().await.is_ok() {
                    let n = *stored.borrow_and_update() as u64;
                    p.set_total(waiting + n);
                }
            }
        };
        let (source, store) = (&mut self.source, &self.store);
        // Fetched chunks go straight to intake, which stores each message
        // once, with its outcome (see `Intake::process_alongside`).
        let (handoff, chunks) = tokio::sync::mpsc::channel(1);
        let fetching = async move {
            let r = source.fetch(store, now, &progress, Some(&handoff)).await;
            // Dropping `progress` and `handoff` tells intake the fetch is over.
            drop(progress);
            drop(handoff);
            (r, t0.elapsed())
        };
        let ((fetched, fetch_time), processed, ()) = tokio::join!(
            fetching,
            self.intake.process_alongside(stored, chunks),
            watching
        );
        let n = processed?;
        let fetched = fetched?;
        if n > 0 {
            self.sender.notify.notify_one();
        }
        let t1 = std::time::Instant::now();
        let filed = self.source.dispose(&self.store).await?;
        if n > 0 {
            tracing::info!(
                fetched,
                fetch_ms = fetch_time.as_millis() as u64,
                processed = n,
                intake_ms = (t1 - t0).as_millis() as u64,
                filed,
                file_ms = t1.elapsed().as_millis() as u64,
                "intake cycle"
            );
        } else if fetched + filed > 0 {
            tracing::debug!(fetched, filed, "intake cycle");
        }
        self.polled(n, t0.elapsed()).await;
        Ok(n)
    }

    /// A cycle completed: count it, and record the poll in the database (for
    /// `cfpd status` and the other instances' `/metrics`). The record is one
    /// small write per cycle, outside the intake transaction; failing to
    /// write it does not fail the cycle.
    async fn polled(&self, processed: usize, took: Duration) {
        self.metrics.poll_succeeded(processed, took);
        let holder = self.metrics.instance();
        let recorded = async {
            let mut c = self.store.conn().await?;
            crate::store::status::record_poll(&mut c, self.store.backend, &holder).await
        };
        if let Err(e) = recorded.await {
            tracing::warn!(error = %e, "could not record the poll time");
        }
    }

    /// Process everything pending, drain the outbox, and return (`cfpd run --once`).
    pub async fn run_once(&mut self) -> anyhow::Result<OnceStats> {
        let recovered = self.sender.recover().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "mail left in flight by a previous run marked uncertain"
            );
        }
        let started = std::time::Instant::now();
        let mut processed = 0;
        // A bar on a terminal, log lines otherwise (crate::progress).
        let shown = Arc::new(Progress::start("intake", "messages", None));
        self.intake
            .set_batch_counter(Some(Progress::counter(&shown)));
        let result = async {
            loop {
                let n = self.cycle(Some(&shown)).await?;
                processed += n;
                if n == 0 {
                    break;
                }
            }
            anyhow::Ok(())
        }
        .await;
        self.intake.set_batch_counter(None);
        result?;
        let intake_time = started.elapsed();
        shown.set_total(processed as u64);
        shown.finish(&format!(
            "{processed} processed ({:.0}/s)",
            processed as f64 / intake_time.as_secs_f64().max(1e-9)
        ));
        if let Some(cpu) = process_cpu_ms() {
            tracing::debug!(
                processed,
                wall_ms = intake_time.as_millis() as u64,
                cpu_ms = cpu,
                "intake finished"
            );
        }
        // After intake, so a draft completed a moment ago is not reminded about.
        let reminders = self.scheduler.fire_due(self.clock.now()).await?.queued;
        let started = std::time::Instant::now();
        let queued = {
            let mut c = self.store.conn().await?;
            let by_state = crate::store::outbox::stats(&mut c).await?;
            by_state
                .iter()
                .find(|(state, _)| *state == crate::model::OutboxState::Queued)
                .map_or(0, |(_, n)| *n as u64)
        };
        let shown = Arc::new(Progress::start("send", "mails", Some(queued)));
        let sent = self
            .sender
            .drain_counted(Some(Progress::counter(&shown)))
            .await?;
        shown.set_total(shown.position());
        shown.finish(&format!(
            "{} sent, {} to retry, {} failed or uncertain",
            sent.sent,
            sent.retried,
            sent.failed + sent.uncertain
        ));
        Ok(OnceStats {
            processed,
            intake_time,
            reminders,
            sent,
            send_time: started.elapsed(),
        })
    }

    /// Run until `shutdown` fires: stand by until this instance holds the
    /// lease ([`crate::lease`]), work while it holds it, stand by again if it
    /// is lost, release it on shutdown.
    pub async fn run(
        mut self,
        shutdown_tx: tokio::sync::broadcast::Sender<()>,
    ) -> anyhow::Result<()> {
        let lease = Lease::new(self.store.clone(), lease::DAEMON, self.cfg.lease);
        self.metrics.set_instance(lease.holder());
        let server = match self.cfg.metrics.listen {
            Some(addr) => {
                let listener = crate::metrics::server::bind(addr).await?;
                let endpoint = Arc::new(crate::metrics::server::Endpoint::new(
                    self.metrics.clone(),
                    self.store.clone(),
                    self.cfg.metrics.poll_stale,
                ));
                Some(tokio::spawn(crate::metrics::server::serve(
                    listener,
                    endpoint,
                    Shutdown::new(shutdown_tx.subscribe()),
                )))
            }
            None => None,
        };
        let mut shutdown = Shutdown::new(shutdown_tx.subscribe());
        tracing::info!(conference = %self.cfg.conference.name, me = lease.holder(), "cfpd running");
        loop {
            // Subscribed before waiting, so a signal during acquisition reaches the keeper too.
            let mut keeper_shutdown = Shutdown::new(shutdown_tx.subscribe());
            let Some(generation) = lease.acquire(&mut shutdown).await else {
                break;
            };
            tracing::info!(me = lease.holder(), generation, "holding the lease; active");
            self.metrics.set_active(true);
            let (active_tx, _) = tokio::sync::broadcast::channel(1);
            let signals = [
                Shutdown::new(active_tx.subscribe()),
                Shutdown::new(active_tx.subscribe()),
                Shutdown::new(active_tx.subscribe()),
            ];
            let keeper = tokio::spawn({
                let lease = lease.clone();
                async move {
                    let ended = lease.keep(&mut keeper_shutdown).await;
                    let _ = active_tx.send(());
                    ended
                }
            });
            let worked = self.run_active(signals).await;
            self.metrics.set_active(false);
            if let Err(e) = worked {
                // The work stopped on its own, on an error: stop the keeper too.
                keeper.abort();
                let _ = lease.release().await;
                if let Some(s) = server {
                    s.abort();
                }
                self.store.close().await;
                return Err(e);
            }
            // The work stopped because the keeper signalled, so it has finished.
            let ended = keeper.await.unwrap_or(Ended::Shutdown);
            if ended == Ended::Shutdown || shutdown.poll() {
                break;
            }
            self.source.reset();
        }
        tracing::info!("shutting down");
        if let Err(e) = lease.release().await {
            tracing::warn!(error = %e, "could not release the lease; it expires by itself");
        }
        if let Some(s) = server {
            // It saw the same signal; this waits for its requests to finish.
            let _ = s.await;
        }
        self.store.close().await;
        Ok(())
    }

    /// The work of the lease holder, until one of `signals` fires (they all fire
    /// together): intake loop here, sender and scheduler as tasks.
    async fn run_active(&mut self, signals: [Shutdown; 3]) -> anyhow::Result<()> {
        let [sender_sd, scheduler_sd, mut shutdown] = signals;
        let recovered = self.sender.recover().await?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "mail left in flight by a previous run marked uncertain"
            );
        }
        let sender = self.sender.clone();
        let sender_task = tokio::spawn(sender.run(sender_sd));
        let scheduler_task = tokio::spawn(self.scheduler.clone().run(
            self.clock.clone(),
            scheduler_sd,
            self.sender.notify.clone(),
        ));
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(300));
        while !shutdown.poll() {
            let step = async {
                let n = self.cycle(None).await?;
                if n == 0 {
                    self.source.wait(&mut shutdown).await?;
                }
                anyhow::Ok(n)
            };
            match step.await {
                Ok(_) => backoff.reset(),
                Err(e) => {
                    self.source.reset();
                    self.metrics.poll_failed();
                    let d = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?d, failures = backoff.failures(), "mail source failed; reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.recv() => {}
                    }
                }
            }
        }
        let _ = sender_task.await;
        let _ = scheduler_task.await;
        Ok(())
    }
}

/// CPU time (user + system) this process has used so far, in ms (Linux; for
/// the intake benchmark's cost-per-message line).
fn process_cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration Rust supports.
    Some(ticks * 10)
}
