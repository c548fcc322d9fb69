//! Graceful shutdown through a broadcast signal (the mini-redis pattern).
//!
//! The daemon owns a `broadcast::Sender<()>`; every long-running task holds a
//! [`Shutdown`] and checks it at its await points. SIGINT/SIGTERM fire the
//! sender; tasks finish the unit of work they are in (a committed batch, a
//! mail being sent) and return.

use tokio::sync::broadcast;

/// A task's view of the shutdown signal.
#[derive(Debug)]
pub struct Shutdown {
    /// True once the signal was received; later `recv` calls return at once.
    is_shutdown: bool,
    /// The receiving half of the broadcast channel.
    notify: broadcast::Receiver<()>,
}

impl Shutdown {
    /// Wrap a receiver.
    pub fn new(notify: broadcast::Receiver<()>) -> Shutdown {
        Shutdown {
            is_shutdown: false,
            notify,
        }
    }

    /// Whether shutdown was signalled.
    pub fn is_shutdown(&self) -> bool {
        self.is_shutdown
    }

    /// Wait for the signal (returns at once if already received).
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        let _ = self.notify.recv().await;
        self.is_shutdown = true;
    }

    /// Check for the signal without waiting (for loops that may not reach an
    /// await on [`Shutdown::recv`] while work keeps arriving).
    pub fn poll(&mut self) -> bool {
        if !self.is_shutdown {
            use broadcast::error::TryRecvError;
            match self.notify.try_recv() {
                Ok(()) | Err(TryRecvError::Lagged(_)) | Err(TryRecvError::Closed) => {
                    self.is_shutdown = true
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        self.is_shutdown
    }
}
