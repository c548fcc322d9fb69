//! The instance lease: with several `cfpd run` against one (PostgreSQL)
//! database, exactly one of them — the holder — reads the mailbox, runs
//! intake, fires reminders and sends the outbox. The others stand by and
//! poll the lease; when the holder dies its lease expires and a standby
//! takes over, at most `[database] lease_seconds` after the last renewal
//! (plus one poll).
//!
//! The holder renews every third of the lease's lifetime. It stops being
//! active when a renewal finds the lease taken by someone else, or when no
//! renewal has succeeded for a whole lifetime (it can then no longer know
//! that nobody else took over). On a clean shutdown it releases the lease so
//! a standby takes over at once.
//!
//! The lease is a liveness and efficiency device, not the only guard
//! against doing things twice: every effect is also claimed atomically in
//! the database (a message's terminal state, the outbox's unique dedup key
//! and conditional `queued → sending`, the reminder ledger). Two instances
//! that briefly overlap — a holder finishing its current batch after it lost
//! the lease — still cannot process a message or send a mail twice.

use std::time::{Duration, Instant};

use crate::shutdown::Shutdown;
use crate::store::{lease as sql, Store, StoreError};

/// The one lease the daemon takes: mailbox, intake, scheduler and sender.
pub const DAEMON: &str = "daemon";

/// How a period as holder ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Shutdown was requested (the lease should be released).
    Shutdown,
    /// Another instance holds the lease now, or it could not be renewed in time.
    Lost,
}

/// This instance's claim on one named lease.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Where the lease row lives.
    store: Store,
    /// Lease name ([`DAEMON`]).
    name: &'static str,
    /// Unique per process: host, pid and a random part, so a restarted
    /// process (same host, maybe the same pid) is a new holder.
    holder: String,
    /// Lifetime of one renewal.
    ttl: Duration,
}

impl Lease {
    /// A lease named `name` with lifetime `ttl` (at least 2 s).
    pub fn new(store: Store, name: &'static str, ttl: Duration) -> Lease {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let holder = format!(
            "{}:{}:{:08x}",
            local_prefix(&host),
            std::process::id(),
            rand::random::<u32>()
        );
        Lease {
            store,
            name,
            holder,
            ttl: ttl.max(Duration::from_secs(2)),
        }
    }

    /// This process's holder id (as stored in the `leases` row).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How often the holder renews and a standby polls.
    pub fn period(&self) -> Duration {
        self.ttl / 3
    }

    /// Take or renew the lease once; `Ok(Some(generation))` when this instance holds it.
    ///
    /// A holder that was a process on this very host (same host name and PID
    /// namespace) which no longer exists — killed, crashed — is released at
    /// once instead of waited out, so a restarted daemon resumes immediately.
    /// Anything less certain (another host, another namespace, a PID now used
    /// by some other process) is waited out until it expires.
    pub async fn try_acquire(&self) -> Result<Option<i64>, StoreError> {
        let mut c = self.store.conn().await?;
        let ttl_ms = self.ttl.as_millis() as i64;
        let b = self.store.backend;
        if let Some(h) = sql::acquire(&mut c, b, self.name, &self.holder, ttl_ms).await? {
            return Ok(Some(h.generation));
        }
        let Some((current, _)) = sql::holder(&mut c, b, self.name).await? else {
            return Ok(None);
        };
        if !self.is_dead_local(&current) || !sql::release(&mut c, self.name, &current).await? {
            return Ok(None);
        }
        tracing::warn!(holder = %current, "the lease holder on this host is gone; taking over");
        Ok(sql::acquire(&mut c, b, self.name, &self.holder, ttl_ms)
            .await?
            .map(|h| h.generation))
    }

    /// Whether `holder` names a process of this host and PID namespace that is not running.
    fn is_dead_local(&self, holder: &str) -> bool {
        let Some((mine, _)) = self
            .holder
            .rsplit_once(':')
            .and_then(|(p, _)| p.rsplit_once(':'))
        else {
            return false;
        };
        let Some((prefix, pid)) = holder
            .rsplit_once(':')
            .and_then(|(p, _)| p.rsplit_once(':'))
        else {
            return false;
        };
        prefix == mine
            && !mine.ends_with(":?")
            && pid
                .parse::<u32>()
                .is_ok_and(|pid| pid != std::process::id() && !pid_alive(pid))
    }

    /// Give the lease up if this instance holds it.
    pub async fn release(&self) -> Result<bool, StoreError> {
        let mut c = self.store.conn().await?;
        sql::release(&mut c, self.name, &self.holder).await
    }

    /// Wait until this instance holds the lease. Returns the lease's
    /// generation, or `None` when `shutdown` fires first.
    pub async fn acquire(&self, shutdown: &mut Shutdown) -> Option<i64> {
        let mut said = false;
        loop {
            match self.try_acquire().await {
                Ok(Some(g)) => return Some(g),
                Ok(None) if !said => {
                    said = true;
                    let current = match self.store.conn().await {
                        Ok(mut c) => sql::holder(&mut c, self.store.backend, self.name)
                            .await
                            .ok()
                            .flatten(),
                        Err(_) => None,
                    };
                    let (holder, expires_in_ms) = current.unwrap_or_else(|| ("?".into(), 0));
                    tracing::info!(
                        me = %self.holder,
                        %holder,
                        expires_in_ms,
                        "another instance holds the lease; standing by"
                    );
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the lease; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.period()) => {}
                _ = shutdown.recv() => return None,
            }
        }
    }

    /// Renew the lease every [`Lease::period`] until `shutdown` fires or the
    /// lease is lost. Call right after [`Lease::acquire`] returned.
    pub async fn keep(&self, shutdown: &mut Shutdown) -> Ended {
        let mut last_ok = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.period()) => {}
                _ = shutdown.recv() => return Ended::Shutdown,
            }
            // A renewal waiting on a busy database is not a failure; only a
            // whole lifetime without one is.
            let renewal = tokio::time::timeout(
                self.ttl.saturating_sub(last_ok.elapsed()),
                self.try_acquire(),
            );
            tokio::select! {
                r = renewal => match r {
                    Ok(Ok(Some(_))) => last_ok = Instant::now(),
                    Ok(Ok(None)) => {
                        tracing::error!(me = %self.holder, "the lease was taken over by another instance; stepping down");
                        return Ended::Lost;
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "renewing the lease failed; retrying"),
                    Err(_) => {}
                },
                _ = shutdown.recv() => return Ended::Shutdown,
            }
            if last_ok.elapsed() >= self.ttl {
                tracing::error!(me = %self.holder, "the lease could not be renewed in time; stepping down");
                return Ended::Lost;
            }
        }
    }
}

/// `host:pidns` — two holders with the same prefix see the same PIDs.
fn local_prefix(host: &str) -> String {
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|p| {
            let s = p.to_string_lossy().into_owned();
            s.strip_prefix("pid:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    format!("{host}:{ns}")
}

/// Whether a process with this PID exists (Linux `/proc`; elsewhere assume it does).
fn pid_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store(dir: &tempfile::TempDir) -> Store {
        Store::connect(&format!("sqlite://{}/l.db", dir.path().display()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_holder_steps_down_when_another_instance_has_taken_the_lease() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        let a = Lease::new(s.clone(), DAEMON, Duration::from_secs(2));
        let b = Lease::new(s.clone(), DAEMON, Duration::from_secs(2));
        assert_ne!(a.holder(), b.holder(), "every process is its own holder");
        let (tx, _) = tokio::sync::broadcast::channel(1);
        assert_eq!(a.acquire(&mut Shutdown::new(tx.subscribe())).await, Some(1));
        assert_eq!(b.try_acquire().await.unwrap(), None, "one holder at a time");
        // Someone else holds it now (as after an expiry while `a` was stalled).
        sqlx::query("UPDATE leases SET holder = $1")
            .bind(b.holder())
            .execute(&s.pool)
            .await
            .unwrap();
        let ended = a.keep(&mut Shutdown::new(tx.subscribe())).await;
        assert_eq!(ended, Ended::Lost);
    }

    #[tokio::test]
    async fn a_dead_holder_on_this_host_is_taken_over_at_once_others_are_waited_out() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        let a = Lease::new(s.clone(), DAEMON, Duration::from_secs(60));
        let (prefix, _) = a.holder().rsplit_once(':').unwrap();
        let (prefix, _) = prefix.rsplit_once(':').unwrap();
        let set_holder = |h: String| {
            let s = s.clone();
            async move {
                sqlx::query("UPDATE leases SET holder = $1")
                    .bind(h)
                    .execute(&s.pool)
                    .await
                    .unwrap();
            }
        };
        assert!(a.try_acquire().await.unwrap().is_some());
        // Held (unexpired) by a process of another host: waited out.
        set_holder("elsewhere:4026531836:1:0000abcd".into()).await;
        let b = Lease::new(s.clone(), DAEMON, Duration::from_secs(60));
        assert_eq!(b.try_acquire().await.unwrap(), None);
        // Held by a process of this host and PID namespace that no longer exists
        // (a daemon killed with -9): taken over without waiting for expiry.
        set_holder(format!("{prefix}:4294967294:0000abcd")).await;
        assert!(b.try_acquire().await.unwrap().is_some());
        // Held by a live process of this host (PID 1 always runs): waited out.
        set_holder(format!("{prefix}:1:0000beef")).await;
        let c = Lease::new(s.clone(), DAEMON, Duration::from_secs(60));
        assert_eq!(c.try_acquire().await.unwrap(), None);
    }

    #[tokio::test]
    async fn shutdown_ends_keeping_and_release_hands_over_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        let a = Lease::new(s.clone(), DAEMON, Duration::from_secs(60));
        let b = Lease::new(s.clone(), DAEMON, Duration::from_secs(60));
        let (tx, _) = tokio::sync::broadcast::channel(1);
        assert!(a.try_acquire().await.unwrap().is_some());
        let mut sd = Shutdown::new(tx.subscribe());
        tx.send(()).unwrap();
        assert_eq!(a.keep(&mut sd).await, Ended::Shutdown);
        assert!(a.release().await.unwrap());
        assert_eq!(
            b.try_acquire().await.unwrap(),
            Some(2),
            "taken over without waiting"
        );
    }
}
