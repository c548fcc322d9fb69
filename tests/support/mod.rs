//! Real servers for integration tests: Dovecot (IMAP + LMTP), an SMTP server
//! (aiosmtpd delivering into Dovecot over LMTP) and a database (a SQLite file,
//! or a fresh database on the PostgreSQL cluster `scripts/test.sh` starts),
//! each in a temp dir on free loopback ports, torn down on drop.
//!
//! Tests read cfpd's replies over IMAP from the recipient's mailbox, the way
//! a speaker would. When the servers are not installed the tests say so and
//! skip, unless `CFPD_REQUIRE_SERVERS=1` (set by `scripts/test.sh` and CI),
//! where a missing server is a failure.

#![allow(dead_code)]

pub mod clients;
pub mod mailtext;
pub mod metrics;
pub mod review;
pub mod servers;
pub mod world;

pub use mailtext::*;
pub use servers::*;
pub use world::*;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Skip the test (return) when the servers are not installed; see [`servers_available`].
#[macro_export]
macro_rules! need_servers {
    () => {
        if !$crate::support::servers_available() {
            return;
        }
    };
}

/// Path of the shared folder (`../shared`), if present.
/// The random source of a fault test: seeded from `CFPD_FAULT_SEED` when set,
/// else at random; the seed is printed so a failing run can be replayed.
pub fn fault_rng() -> (u64, rand::rngs::StdRng) {
    use rand::SeedableRng;
    let seed: u64 = std::env::var("CFPD_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("fault seed: {seed} (rerun with CFPD_FAULT_SEED={seed})");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

pub fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var("CFPD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    p.is_dir().then_some(p)
}

/// A `cfpd run` child that is killed when dropped, so a failing test never
/// leaves a daemon running (holding the test's output pipe open).
pub struct Daemon(pub Child);

impl std::ops::Deref for Daemon {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Daemon {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Send SIGTERM to a daemon and wait (up to 20 s) until it has exited.
pub fn sigterm(d: &mut std::process::Child) {
    std::process::Command::new("kill")
        .args(["-TERM", &d.id().to_string()])
        .status()
        .unwrap();
    let start = Instant::now();
    while d.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
