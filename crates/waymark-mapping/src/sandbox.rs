//! Runaway programs: every run of a mapping happens on a worker thread of its own, with an
//! explicit stack, a step budget, a stack-depth guard and a wall-clock limit.
//!
//! jaq has no fuel and no recursion limit, so the runner adds them (see `instrument.rs`): every
//! recursive definition (the mapping's own and the standard library's), every `reduce` /
//! `foreach` iteration and every `range` output first calls the native `wm_tick`, which counts a
//! **step**, checks the clock every [`CLOCK_EVERY`] steps, and measures how much of the worker's
//! stack is in use. Over a limit, `wm_tick` fails the run; the failure is sticky (a `try` that
//! catches it does not undo it), so the run ends in a typed [`Limit`] error.
//!
//! Worker threads are kept and reused between runs (starting a thread with a large stack costs
//! about as much as a small mapping run); a worker whose run exceeded a limit or panicked is
//! not reused, so the stack a runaway recursion touched is given back.
//!
//! The clock is also watched from outside: if a run has not answered [`Limits::timeout`] plus a
//! grace period after it started (a single built-in doing a long piece of work without calling
//! back, e.g. sorting a huge array), the caller gives up with `mapping.timeout` and **abandons**
//! the thread: Rust cannot stop a thread. An abandoned thread that later finishes is no longer
//! counted; while more than [`Limits::max_abandoned`] are still running, the set refuses new work
//! (`mapping.unavailable`) until they finish or the process restarts.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often (in steps) `wm_tick` reads the clock.
pub const CLOCK_EVERY: u64 = 64;

/// The bounds of one mapping run. `Default` is what the hub uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time one run may take (default 2 s).
    pub timeout: Duration,
    /// Steps one run may take (default 200,000; the NOMIS mapping takes 2).
    pub max_steps: u64,
    /// Stack size of a worker thread (default 256 MiB: address space reserved, memory used only
    /// as touched and returned when the run's thread ends).
    pub stack_bytes: usize,
    /// How much of the stack recursion may use before the run is stopped (default 128 MiB,
    /// leaving the rest for built-ins that walk deep values between two steps).
    pub max_stack_use: usize,
    /// Abandoned (stuck) runs tolerated before the set refuses new work (default 4).
    pub max_abandoned: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            max_steps: 200_000,
            stack_bytes: 256 << 20,
            max_stack_use: 128 << 20,
            max_abandoned: 4,
        }
    }
}

/// Which bound a run exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// [`Limits::timeout`] (`mapping.timeout`).
    Time,
    /// [`Limits::max_steps`] (`mapping.steps`).
    Steps,
    /// [`Limits::max_stack_use`] (`mapping.recursion`).
    Depth,
}

impl Limit {
    /// Why the run was stopped, in words (no values).
    pub(crate) fn reason(self, limits: &Limits) -> String {
        match self {
            Self::Time => format!(
                "the program ran longer than {} ms",
                limits.timeout.as_millis()
            ),
            Self::Steps => format!(
                "the program took more than {} steps (recursive calls, reduce/foreach \
                 iterations, range outputs)",
                limits.max_steps
            ),
            Self::Depth => format!(
                "the program recursed deeper than its {} MiB stack allowance",
                limits.max_stack_use >> 20
            ),
        }
    }
}

/// The per-run budget `wm_tick` spends. Lives on the worker thread.
pub(crate) struct Guard {
    steps: std::cell::Cell<u64>,
    max_steps: u64,
    deadline: Instant,
    stack_base: usize,
    max_stack_use: usize,
    tripped: std::cell::Cell<Option<Limit>>,
}

/// An address on the current stack (no unsafe code: the address is only compared).
#[inline(never)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

impl Guard {
    /// A guard whose stack base is the caller's current stack position.
    pub(crate) fn new(limits: &Limits, started: Instant) -> Self {
        Self {
            steps: std::cell::Cell::new(0),
            max_steps: limits.max_steps,
            deadline: started + limits.timeout,
            stack_base: stack_position(),
            max_stack_use: limits.max_stack_use,
            tripped: std::cell::Cell::new(None),
        }
    }

    /// One step: fails (and stays failed) when a bound is exceeded.
    pub(crate) fn tick(&self) -> Result<(), Limit> {
        if let Some(limit) = self.tripped.get() {
            return Err(limit);
        }
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        let exceeded = if steps > self.max_steps {
            Some(Limit::Steps)
        } else if stack_position().abs_diff(self.stack_base) > self.max_stack_use {
            Some(Limit::Depth)
        } else if steps.is_multiple_of(CLOCK_EVERY) && Instant::now() > self.deadline {
            Some(Limit::Time)
        } else {
            None
        };
        match exceeded {
            Some(limit) => {
                self.tripped.set(Some(limit));
                Err(limit)
            }
            None => Ok(()),
        }
    }

    /// The bound this run exceeded, if any.
    pub(crate) fn tripped(&self) -> Option<Limit> {
        self.tripped.get()
    }
}

/// Why the sandbox could not deliver a run's result.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Abort {
    /// Too many abandoned runs are still going; or no thread could be started.
    Unavailable(String),
    /// No answer within the timeout plus grace; the thread was abandoned.
    Timeout,
    /// The run panicked (a bug in jaq or a helper, never the mapping's fault alone).
    Panicked,
}

const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const ABANDONED: u8 = 2;

/// Idle workers kept for reuse (more are started when more runs happen at once).
const MAX_IDLE: usize = 16;

type Job = Box<dyn FnOnce() + Send>;

/// A worker thread waiting for jobs; dropping it lets the thread end.
struct Worker {
    jobs: mpsc::Sender<Job>,
}

/// Runs jobs on worker threads with the configured stack, keeps idle workers for reuse, and
/// keeps count of abandoned runs.
pub(crate) struct Sandbox {
    limits: Limits,
    abandoned: Arc<AtomicUsize>,
    idle: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .field("abandoned", &self.abandoned())
            .finish_non_exhaustive()
    }
}

/// Marks the run finished when the job ends, normally or by panic.
struct Finish {
    state: Arc<AtomicU8>,
    abandoned: Arc<AtomicUsize>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if self.state.swap(FINISHED, Ordering::AcqRel) == ABANDONED {
            self.abandoned.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// How long an idle worker looks for the next job before it sleeps: when messages come back to
/// back, the next one is usually there within microseconds, and waking a sleeping thread costs
/// tens of microseconds on an idle virtual machine.
const LINGER: Duration = Duration::from_micros(50);

fn next_job(jobs: &mpsc::Receiver<Job>) -> Result<Job, mpsc::RecvError> {
    let idle_since = Instant::now();
    while idle_since.elapsed() < LINGER {
        match jobs.try_recv() {
            Ok(job) => return Ok(job),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    jobs.recv()
}

impl Sandbox {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            abandoned: Arc::new(AtomicUsize::new(0)),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs that were abandoned and have not finished yet.
    pub(crate) fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::Acquire)
    }

    fn spawn(&self) -> Result<Worker, Abort> {
        let (jobs, receive) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("waymark-map".into())
            .stack_size(self.limits.stack_bytes)
            .spawn(move || {
                while let Ok(job) = next_job(&receive) {
                    job();
                }
            })
            .map_err(|e| Abort::Unavailable(format!("cannot start a mapping thread: {e}")))?;
        Ok(Worker { jobs })
    }

    /// An idle worker, or a new one.
    fn worker(&self) -> Result<Worker, Abort> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        reused.map_or_else(|| self.spawn(), Ok)
    }

    fn keep(&self, worker: Worker) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(worker);
        }
    }

    /// Runs `job` on a worker thread with the configured stack and waits for it, at most the
    /// timeout plus a grace period (a quarter of the timeout, at least 50 ms). A worker whose run
    /// exceeded a limit, panicked or was abandoned is not reused (its thread ends, and with it
    /// the stack a deep recursion touched).
    pub(crate) fn run<T, F>(&self, job: F) -> Result<T, Abort>
    where
        T: Send + 'static,
        F: FnOnce(&Guard) -> T + Send + 'static,
    {
        let abandoned = self.abandoned();
        if abandoned > self.limits.max_abandoned {
            return Err(Abort::Unavailable(format!(
                "{abandoned} runs that exceeded their time limit are still going (more than \
                 the {} tolerated); restart the process",
                self.limits.max_abandoned
            )));
        }
        let started = Instant::now();
        let (send, receive) = mpsc::sync_channel(1);
        let state = Arc::new(AtomicU8::new(RUNNING));
        let finish = Finish {
            state: Arc::clone(&state),
            abandoned: Arc::clone(&self.abandoned),
        };
        let limits = self.limits.clone();
        let job: Job = Box::new(move || {
            let _finish = finish;
            let guard = Guard::new(&limits, started);
            let result = job(&guard);
            // The receiver may be gone (abandoned run): nothing to do then.
            let _ = send.send((result, guard.tripped()));
        });
        let worker = self.worker()?;
        let worker = match worker.jobs.send(job) {
            Ok(()) => worker,
            // The idle worker's thread is gone: start a fresh one for this job.
            Err(mpsc::SendError(job)) => {
                let fresh = self.spawn()?;
                fresh
                    .jobs
                    .send(job)
                    .map_err(|_| Abort::Unavailable("a new mapping thread ended at once".into()))?;
                fresh
            }
        };
        let grace = (self.limits.timeout / 4).max(Duration::from_millis(50));
        let answer = match receive.recv_timeout(self.limits.timeout + grace) {
            Ok(answer) => answer,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Abort::Panicked),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if state
                    .compare_exchange(RUNNING, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    self.abandoned.fetch_add(1, Ordering::AcqRel);
                    return Err(Abort::Timeout);
                }
                // It finished just now.
                receive.recv().map_err(|_| Abort::Panicked)?
            }
        };
        let (result, tripped) = answer;
        if tripped.is_none() {
            self.keep(worker);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Limits {
        Limits {
            timeout: Duration::from_millis(100),
            max_abandoned: 1,
            ..Limits::default()
        }
    }

    #[test]
    fn runs_and_returns() {
        let sandbox = Sandbox::new(quick());
        assert_eq!(sandbox.run(|_| 41 + 1), Ok(42));
    }

    #[test]
    fn workers_are_reused_unless_their_run_exceeded_a_limit() {
        let sandbox = Sandbox::new(Limits {
            max_steps: 1,
            ..quick()
        });
        let id = || std::thread::current().id();
        let first = sandbox.run(move |_| id()).unwrap();
        assert_eq!(sandbox.run(move |_| id()), Ok(first));
        let tripped = sandbox
            .run(move |g| {
                let _ = (g.tick(), g.tick());
                id()
            })
            .unwrap();
        assert_eq!(
            tripped, first,
            "the run that trips still ran on the reused worker"
        );
        assert_ne!(
            sandbox.run(move |_| id()),
            Ok(first),
            "then the worker is retired"
        );
    }

    #[test]
    fn a_panic_is_an_abort_not_a_crash() {
        // Not `quick()`: the panic hook prints a symbolised backtrace first, which on a loaded
        // machine can take longer than 100 ms, and that would read as a timeout.
        let sandbox = Sandbox::new(Limits {
            timeout: Duration::from_secs(30),
            ..quick()
        });
        let result: Result<(), _> = sandbox.run(|_| panic!("boom"));
        assert_eq!(result, Err(Abort::Panicked));
        assert_eq!(sandbox.abandoned(), 0);
    }

    #[test]
    fn stuck_runs_are_abandoned_counted_and_then_refused() {
        let sandbox = Sandbox::new(quick());
        let (release, wait) = mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        for _ in 0..2 {
            let wait = Arc::clone(&wait);
            let stuck = sandbox.run(move |_| {
                let _ = wait.lock().map(|w| w.recv_timeout(Duration::from_secs(10)));
            });
            assert_eq!(stuck, Err(Abort::Timeout));
        }
        assert_eq!(sandbox.abandoned(), 2);
        assert!(matches!(sandbox.run(|_| ()), Err(Abort::Unavailable(_))));
        // Once the stuck runs end they are no longer counted.
        release.send(()).unwrap();
        release.send(()).unwrap();
        let start = Instant::now();
        while sandbox.abandoned() > 0 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sandbox.run(|_| 1), Ok(1));
    }

    #[test]
    fn the_guard_counts_steps_and_stays_tripped() {
        let limits = Limits {
            max_steps: 3,
            ..Limits::default()
        };
        let guard = Guard::new(&limits, Instant::now());
        assert!((0..3).all(|_| guard.tick().is_ok()));
        assert_eq!(guard.tick(), Err(Limit::Steps));
        assert_eq!(guard.tick(), Err(Limit::Steps));
        assert_eq!(guard.tripped(), Some(Limit::Steps));
        let late = Guard::new(&Limits::default(), Instant::now() - Duration::from_secs(3));
        let result: Result<Vec<()>, Limit> = (0..CLOCK_EVERY).map(|_| late.tick()).collect();
        assert_eq!(result, Err(Limit::Time));
    }
}
