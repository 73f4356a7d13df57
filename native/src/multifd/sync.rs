//! A barrier for multifd channels that can be cancelled and that channels can leave.
//!
//! QEMU's destination stops each channel at a SYNC packet until every channel has reached
//! its own SYNC (`multifd_recv_sync_main`); its source does the same before a flush. That
//! is what keeps a page re-sent in a later round from being overwritten by its older copy
//! still queued on another channel. Unlike `std::sync::Barrier`, this one lets a channel
//! that ended leave (so the rest are not stuck) and wakes everyone on cancellation.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Debug)]
struct State {
    participants: usize,
    arrived: usize,
    generation: u64,
    cancelled: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct SyncPoint {
    state: Mutex<State>,
    changed: Condvar,
}

/// Why [`SyncPoint::wait`] returned without a completed round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncFailed {
    /// [`SyncPoint::cancel`] was called.
    Cancelled,
    /// No round completed within the timeout.
    TimedOut,
}

impl SyncPoint {
    /// A barrier for `participants` channels.
    pub fn new(participants: usize) -> Self {
        Self {
            state: Mutex::new(State {
                participants,
                arrived: 0,
                generation: 0,
                cancelled: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a participant (a channel that connected late, when the count was not fixed).
    pub fn join(&self) {
        self.lock().participants += 1;
    }

    /// Remove a participant (its channel ended); may complete the current round.
    pub fn leave(&self) {
        let mut s = self.lock();
        s.participants = s.participants.saturating_sub(1);
        Self::complete_if_all(&mut s);
        self.changed.notify_all();
    }

    /// Wake every waiter with [`SyncFailed::Cancelled`], now and from now on.
    pub fn cancel(&self) {
        self.lock().cancelled = true;
        self.changed.notify_all();
    }

    fn complete_if_all(s: &mut State) {
        if s.arrived > 0 && s.arrived >= s.participants {
            s.arrived = 0;
            s.generation += 1;
        }
    }

    /// Wait until every participant has arrived at this round.
    pub fn wait(&self, timeout: Duration) -> Result<(), SyncFailed> {
        let mut s = self.lock();
        if s.cancelled {
            return Err(SyncFailed::Cancelled);
        }
        let generation = s.generation;
        s.arrived += 1;
        Self::complete_if_all(&mut s);
        if s.generation != generation {
            self.changed.notify_all();
            return Ok(());
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let now = std::time::Instant::now();
            if now >= deadline {
                s.arrived -= 1;
                return Err(SyncFailed::TimedOut);
            }
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            if s.generation != generation {
                return Ok(());
            }
            if s.cancelled {
                return Err(SyncFailed::Cancelled);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn releases_when_all_arrive_or_others_leave() {
        let p = Arc::new(SyncPoint::new(3));
        let a = {
            let p = p.clone();
            std::thread::spawn(move || p.wait(Duration::from_secs(10)))
        };
        let b = {
            let p = p.clone();
            std::thread::spawn(move || p.wait(Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(50));
        p.leave();
        assert_eq!(a.join().unwrap(), Ok(()));
        assert_eq!(b.join().unwrap(), Ok(()));
    }

    #[test]
    fn cancel_and_timeout_wake_waiters() {
        let p = Arc::new(SyncPoint::new(2));
        assert_eq!(p.wait(Duration::from_millis(20)), Err(SyncFailed::TimedOut));
        let w = {
            let p = p.clone();
            std::thread::spawn(move || p.wait(Duration::from_secs(10)))
        };
        std::thread::sleep(Duration::from_millis(50));
        p.cancel();
        assert_eq!(w.join().unwrap(), Err(SyncFailed::Cancelled));
    }
}
