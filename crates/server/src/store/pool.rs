//! The small connection pool both stores use: at most `max` connections, opened on demand,
//! handed out one per transaction; a caller waits for one to come back when all are in use. A
//! connection that is no longer usable (broken, or left inside a transaction) is dropped rather
//! than returned, and a new one is opened in its place when needed.

use std::sync::{Condvar, Mutex, PoisonError};

use super::Result;

#[derive(Debug)]
pub(super) struct Pool<C> {
    state: Mutex<State<C>>,
    returned: Condvar,
    max: usize,
}

#[derive(Debug)]
struct State<C> {
    idle: Vec<C>,
    open: usize,
}

impl<C> Pool<C> {
    /// A pool holding `first` (the connection that opened the store) and room for `max` in all.
    pub(super) fn new(first: C, max: usize) -> Pool<C> {
        Pool {
            state: Mutex::new(State {
                idle: vec![first],
                open: 1,
            }),
            returned: Condvar::new(),
            max,
        }
    }

    /// Runs `f` on a pooled connection, opening one with `connect` when none is idle and there is
    /// room. Afterwards the connection goes back only if `usable` says so.
    pub(super) fn with<T>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        usable: impl Fn(&C) -> bool,
        f: impl FnOnce(&mut C) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.acquire(connect, &usable)?;
        let out = f(&mut conn);
        self.release(usable(&conn).then_some(conn));
        out
    }

    fn acquire(
        &self,
        connect: impl FnOnce() -> Result<C>,
        usable: &impl Fn(&C) -> bool,
    ) -> Result<C> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = state.idle.pop() {
                if usable(&conn) {
                    return Ok(conn);
                }
                state.open -= 1;
                continue;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return connect().inspect_err(|_| self.release(None));
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Gives a connection back, or (`None`) frees its place.
    fn release(&self, conn: Option<C>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match conn {
            Some(conn) => state.idle.push(conn),
            None => state.open -= 1,
        }
        drop(state);
        self.returned.notify_one();
    }
}
