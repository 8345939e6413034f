//! Two halves of one kernel call on two cores, without a thread wake-up per call.
//!
//! A training step calls the fused kernels a few hundred times a second, each call a few
//! hundred microseconds of work. Handing half of it to a thread pool costs more than it saves
//! on small machines: a sleeping worker is woken by an inter-processor interrupt (tens of
//! microseconds in a VM) and the caller sleeps until the result comes back. Here one partner
//! thread takes the second half while the caller runs the first; after each job it keeps
//! polling for [`STAY_AWAKE`] before it parks, so back-to-back calls (the layers of one step,
//! the steps of one epoch) never wait for a wake-up. A caller that finishes its half before
//! the partner has even taken the other (its core busy elsewhere) takes that half back and runs
//! it itself, so a loaded machine costs at most the serial time, not a scheduler time slice.

use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError, TryLockError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long the partner polls for the next job before it parks.
const STAY_AWAKE: Duration = Duration::from_millis(2);

/// A job as the partner sees it: a borrowed closure that lives on the caller's stack.
type Job<'a> = dyn Fn() + Sync + 'a;

/// The partner thread's mailbox.
struct Partner {
    /// One caller at a time; a second one runs both halves itself.
    caller: Mutex<()>,
    /// The posted job, a `*const &Job` with its lifetime erased; null when there is none.
    job: AtomicPtr<()>,
    /// Set when the posted job has returned or panicked.
    done: AtomicBool,
    /// The partner, for `unpark`.
    thread: OnceLock<Thread>,
}

/// The partner, started on first use; `None` when Burn's thread pool has one thread (one core,
/// or `RAYON_NUM_THREADS=1`: a process that limits its CPU use gets no spinning thread) or if
/// the thread cannot start.
fn partner() -> Option<&'static Partner> {
    static PARTNER: OnceLock<Option<&'static Partner>> = OnceLock::new();
    *PARTNER.get_or_init(|| {
        if rayon::current_num_threads() < 2 {
            return None;
        }
        let partner: &'static Partner = Box::leak(Box::new(Partner {
            caller: Mutex::new(()),
            job: AtomicPtr::new(ptr::null_mut()),
            done: AtomicBool::new(false),
            thread: OnceLock::new(),
        }));
        let handle = thread::Builder::new()
            .name("rnnlab-scan".into())
            .spawn(move || serve(partner))
            .ok()?;
        partner.thread.set(handle.thread().clone()).ok()?;
        Some(partner)
    })
}

/// The partner's loop: run posted jobs, poll for a while after each, then park.
fn serve(partner: &'static Partner) {
    let mut idle_since = Instant::now();
    let mut polls = 0u32;
    loop {
        // Poll with loads (the cache line stays shared); take the job with a swap.
        let posted = !partner.job.load(Ordering::Relaxed).is_null();
        let job = if posted {
            partner.job.swap(ptr::null_mut(), Ordering::Acquire)
        } else {
            ptr::null_mut()
        };
        if job.is_null() {
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(64) && idle_since.elapsed() > STAY_AWAKE {
                // A job posted after the swap above comes with an `unpark`, which makes this
                // `park` return at once: no lost wake-up.
                thread::park();
                idle_since = Instant::now();
            } else {
                std::hint::spin_loop();
            }
            continue;
        }
        // SAFETY: `job` points at a `&Job` on the stack of the caller in `join`, which does not
        // return before it sees `done`, set below after the last use of the job.
        let job: &Job<'_> = unsafe { *(job as *const &Job<'_>) };
        // A panic leaves no result behind, which the caller reports; the partner lives on.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
        partner.done.store(true, Ordering::Release);
        idle_since = Instant::now();
    }
}

/// Runs `first` on this thread and `second` on the partner at the same time, and returns both
/// results when both have finished. Without a partner (one core), or while another caller holds
/// it, both run here one after the other. A panic in either is resumed here after both stopped.
pub(crate) fn join<A, B: Send>(first: impl FnOnce() -> A, second: impl FnOnce() -> B + Send) -> (A, B) {
    let Some(partner) = partner() else {
        return (first(), second());
    };
    // The lock only makes callers take turns; a panic that poisoned it broke nothing.
    let _caller = match partner.caller.try_lock() {
        Ok(guard) => guard,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return (first(), second()),
    };
    // The partner calls a shared `Fn`: it takes the `FnOnce` out of a slot and leaves its result.
    let second = Mutex::new(Some(second));
    let second_result = Mutex::new(None);
    let run_second = || {
        let f = second.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(f) = f {
            let value = f();
            *second_result.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        }
    };
    let job: &Job<'_> = &run_second;
    partner.done.store(false, Ordering::Relaxed);
    partner.job.store(&job as *const &Job<'_> as *mut (), Ordering::Release);
    if let Some(thread) = partner.thread.get() {
        thread.unpark(); // no system call while the partner is polling
    }
    let first_result = panic::catch_unwind(AssertUnwindSafe(first));
    // A partner that has not taken the job yet (its core busy with another process, say) is
    // not waited for: the job is taken back and run here. One swap wins, so it runs once.
    if !partner.job.swap(ptr::null_mut(), Ordering::Acquire).is_null() {
        let second_caught = panic::catch_unwind(AssertUnwindSafe(run_second));
        let first_value = first_result.unwrap_or_else(|payload| panic::resume_unwind(payload));
        second_caught.unwrap_or_else(|payload| panic::resume_unwind(payload));
        let second_value = second_result.into_inner().unwrap_or_else(PoisonError::into_inner);
        return (first_value, second_value.expect("the second half ran here"));
    }
    // `run_second` borrows this stack frame: wait for it even if `first` panicked.
    let mut spins = 0u32;
    while !partner.done.load(Ordering::Acquire) {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    let first_value = first_result.unwrap_or_else(|payload| panic::resume_unwind(payload));
    let second_value = second_result.into_inner().unwrap_or_else(PoisonError::into_inner);
    match second_value {
        Some(value) => (first_value, value),
        None => panic!("the second half of a split kernel call panicked (see the message above)"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::join;

    #[test]
    fn both_halves_run_and_return_their_results() {
        let data: Vec<usize> = (0..1000).collect();
        for round in 0..200 {
            let (a, b) = join(
                || data[..500].iter().sum::<usize>() + round,
                || data[500..].iter().sum::<usize>() + round,
            );
            assert_eq!((a, b), (124_750 + round, 374_750 + round));
        }
    }

    #[test]
    fn a_second_half_the_partner_has_not_taken_runs_here() {
        // A first half that returns at once finds the job still posted most of the time; either
        // way both halves run exactly once.
        for round in 0..2000 {
            let ran = AtomicUsize::new(0);
            let (a, b) = join(|| round, || ran.fetch_add(1, Ordering::Relaxed) + round);
            assert_eq!((a, b, ran.into_inner()), (round, round, 1));
        }
        let taken_back = std::panic::catch_unwind(|| join(|| 1, || -> i32 { panic!("second half") }));
        assert!(taken_back.is_err());
    }

    #[test]
    fn concurrent_callers_and_panics_are_safe() {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..100 {
                        let mut first = Vec::new();
                        let (_, second) = join(|| first.push(i), || vec![i; 2]);
                        assert_eq!((first, second), (vec![i], vec![i, i]));
                    }
                });
            }
        });
        let second = std::panic::catch_unwind(|| join(|| 1, || -> i32 { panic!("second half") }));
        assert!(second.is_err());
        let first = std::panic::catch_unwind(|| join(|| -> i32 { panic!("first half") }, || 2));
        assert!(first.is_err());
        // The partner still works after both: with two threads in the pool, a second half runs
        // on another thread. Other tests of this binary may hold the partner for a while (a
        // caller that finds it busy runs both halves itself), so keep trying for a few seconds.
        let ran = AtomicUsize::new(0);
        let both = join(
            || ran.fetch_add(1, Ordering::Relaxed),
            || ran.fetch_add(1, Ordering::Relaxed),
        );
        assert_eq!(ran.into_inner(), 2);
        assert_eq!(both.0 + both.1, 1);
        if rayon::current_num_threads() >= 2 {
            let here = std::thread::current().id();
            let start = std::time::Instant::now();
            let elsewhere = std::iter::repeat_with(|| {
                // A first half long enough for the partner to take the second (else it is
                // taken back and runs here).
                let first = || std::thread::sleep(std::time::Duration::from_millis(1));
                join(first, || std::thread::current().id()).1 != here
            })
            .take_while(|_| start.elapsed() < std::time::Duration::from_secs(5))
            .any(|moved| moved);
            assert!(elsewhere, "the partner never took a second half");
        }
    }
}
