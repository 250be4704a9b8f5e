//! Failed sign-in attempts, counted per user name and per client address over a sliding window,
//! so a password cannot be guessed at speed. Argon2 already makes each guess cost the server
//! about a quarter of a second; this caps how many guesses one name or one address gets.
//!
//! The counts live in this process's memory: a second server node keeps its own, and a restart
//! forgets them (acceptable for a brake on guessing; an account lock-out that survives restarts
//! would let anyone lock out a colleague by mistyping on purpose). The map is bounded: when it
//! is full, windows that have expired are dropped first, then the oldest.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Failed attempts allowed per user name within [`WINDOW_MS`].
pub const PER_NAME: usize = 5;
/// Failed attempts allowed per client address within [`WINDOW_MS`] (a council office may put
/// many people behind one address).
pub const PER_ADDRESS: usize = 30;
/// The window failures are counted over: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// The most keys remembered.
const MAX_KEYS: usize = 100_000;

/// The failure counts. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Attempts {
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

/// What an attempt is counted under.
#[derive(Debug, Clone)]
pub struct Keys {
    name: String,
    address: Option<String>,
}

impl Keys {
    /// A user name (case-insensitive) and, when known, the client's address.
    pub fn new(name: &str, address: Option<std::net::IpAddr>) -> Keys {
        Keys {
            name: format!("name:{}", name.trim().to_lowercase()),
            address: address.map(|a| format!("addr:{a}")),
        }
    }

    fn all(&self) -> impl Iterator<Item = (&str, usize)> {
        std::iter::once((self.name.as_str(), PER_NAME))
            .chain(self.address.as_deref().map(|a| (a, PER_ADDRESS)))
    }
}

impl Attempts {
    /// `Err(seconds)` when any key has used up its failures: try again after that long.
    pub fn check(&self, keys: &Keys, now: i64) -> Result<(), u64> {
        let mut map = self.lock();
        let mut wait = 0i64;
        for (key, limit) in keys.all() {
            if let Some(times) = map.get_mut(key) {
                prune(times, now);
                if times.len() >= limit
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(oldest + WINDOW_MS - now);
                }
            }
        }
        if wait > 0 {
            Err(u64::try_from(wait).unwrap_or(0).div_ceil(1000))
        } else {
            Ok(())
        }
    }

    /// Counts a failed attempt under every key.
    pub fn failed(&self, keys: &Keys, now: i64) {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for (key, _) in keys.all() {
            let times = map.entry(key.to_string()).or_default();
            prune(times, now);
            times.push_back(now);
        }
    }

    /// A correct password clears the name's failures (not the address's).
    pub fn succeeded(&self, keys: &Keys) {
        self.lock().remove(&keys.name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<i64>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn prune(times: &mut VecDeque<i64>, now: i64) {
    while times.front().is_some_and(|t| *t + WINDOW_MS <= now) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_gets_five_failures_per_window_then_waits_for_the_oldest_to_expire() {
        let a = Attempts::default();
        let keys = Keys::new("Olive", None);
        for i in 0..PER_NAME as i64 {
            assert_eq!(a.check(&keys, 1000 + i), Ok(()));
            a.failed(&keys, 1000 + i);
        }
        assert_eq!(a.check(&keys, 2000), Err(900 - 1));
        // Case and spaces do not make a new name.
        assert!(a.check(&Keys::new(" OLIVE ", None), 2000).is_err());
        // Another name is unaffected.
        assert_eq!(a.check(&Keys::new("owen", None), 2000), Ok(()));
        // Once the oldest failure is out of the window, one more try is allowed.
        assert_eq!(a.check(&keys, 1000 + WINDOW_MS), Ok(()));
    }

    #[test]
    fn an_address_is_limited_across_names_and_success_clears_only_the_name() {
        let a = Attempts::default();
        let ip: std::net::IpAddr = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
        for i in 0..PER_ADDRESS {
            a.failed(&Keys::new(&format!("user{i}"), Some(ip)), 10);
        }
        assert!(a.check(&Keys::new("someone", Some(ip)), 20).is_err());
        assert_eq!(a.check(&Keys::new("someone", None), 20), Ok(()));

        let keys = Keys::new("lena", None);
        for _ in 0..PER_NAME {
            a.failed(&keys, 10);
        }
        a.succeeded(&keys);
        assert_eq!(a.check(&keys, 20), Ok(()));
    }
}
