//! Whether the machine stayed quiet while a benchmark ran.
//!
//! Timings from a busy machine swing by tens of percent (PyTorch's threads most of all), and on a
//! virtual machine the hypervisor may take a core away for a while ("steal"): both have been seen
//! on the project's 2-core machines, with the same binary 20–40% slower from one run to the next.
//! Steal costs the fused scan more than its share: its two threads work in lockstep, so when
//! either loses its core the other waits (5% steal made one `bench rnn` run 40–75% slower).
//! On Linux the benches sample `/proc/stat` (all CPUs) and `/proc/self/stat` (this process and its
//! waited-for children, such as the Python benchmark) before and after, report the share of CPU
//! time stolen and the share other processes used, and warn when either is high; elsewhere, or
//! for a run too short to judge, they report nothing. `experiment all` does the same for its
//! seconds per epoch (results.json's `machine`, a line in results.md).

use serde_json::{Value, json};

/// Steal above this share of the machine's CPU time makes a run "not quiet".
const STEAL_LIMIT: f64 = 0.05;
/// Other processes' CPU time above this share makes a run "not quiet".
const OTHERS_LIMIT: f64 = 0.10;
/// Runs shorter than this many clock ticks of all CPUs together (2 s of one CPU at the usual
/// 100 ticks a second) are not judged: the machine's counters and this process's are sampled
/// tick by tick, separately, so over a fraction of a second their difference is mostly rounding
/// (a 0.3 s smoke run read as "100% other processes").
const MIN_TICKS: u64 = 200;

/// CPU time counters at one moment, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ticks {
    /// All CPUs: every state, steal included.
    total: u64,
    /// All CPUs: time the hypervisor ran something else.
    steal: u64,
    /// All CPUs: time running anything (user, system, interrupts; not idle, iowait or steal).
    busy: u64,
    /// This process and its waited-for children (user and system).
    own: u64,
}

/// A sample taken when a benchmark starts.
pub struct LoadProbe {
    start: Option<Ticks>,
}

/// How quiet the machine was between [`LoadProbe::start`] and [`LoadProbe::finish`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct MachineLoad {
    /// Share of all CPUs' time stolen by the hypervisor, 0–1.
    pub steal: f64,
    /// Share of all CPUs' time used by other processes, 0–1.
    pub other_processes: f64,
}

impl LoadProbe {
    /// Samples the counters now (nothing where `/proc` is missing).
    pub fn start() -> Self {
        Self { start: read_ticks() }
    }

    /// The load since [`start`](Self::start); `None` where `/proc` is missing or the run was too
    /// short to judge.
    pub fn finish(&self) -> Option<MachineLoad> {
        load_between(self.start?, read_ticks()?)
    }

    /// [`finish`](Self::finish), with a warning to stderr from `tool` when the machine was not
    /// quiet.
    pub fn finish_warning(&self, tool: &str) -> Option<MachineLoad> {
        let load = self.finish();
        if let Some(warning) = load.and_then(|l| l.warning()) {
            eprintln!("{tool}: warning: {warning}");
        }
        load
    }
}

impl MachineLoad {
    /// A warning to print when the machine was not quiet enough for its timings to be trusted.
    pub fn warning(&self) -> Option<String> {
        (self.steal > STEAL_LIMIT || self.other_processes > OTHERS_LIMIT).then(|| {
            format!(
                "the machine was not quiet: {:.0}% of its CPU time was stolen by the hypervisor and {:.0}% \
                 used by other processes; timings and ratios may be off by tens of percent, rerun on a quiet machine",
                100.0 * self.steal,
                100.0 * self.other_processes
            )
        })
    }
}

/// Finishes `probe` for the bench `tool`: the load goes into `report["machine"]` (`null` where
/// unknown), and a warning to stderr when the machine was not quiet.
pub fn record(probe: &LoadProbe, tool: &str, report: &mut Value) {
    report["machine"] = json!(probe.finish_warning(tool));
}

/// The load between two samples.
fn load_between(start: Ticks, end: Ticks) -> Option<MachineLoad> {
    let total = end.total.checked_sub(start.total).filter(|&t| t >= MIN_TICKS)? as f64;
    let steal = end.steal.saturating_sub(start.steal) as f64;
    let busy = end.busy.saturating_sub(start.busy);
    let own = end.own.saturating_sub(start.own);
    // The two files are read at slightly different moments: clamp to the valid range.
    let others = busy.saturating_sub(own) as f64;
    Some(MachineLoad {
        steal: (steal / total).clamp(0.0, 1.0),
        other_processes: (others / total).clamp(0.0, 1.0),
    })
}

fn read_ticks() -> Option<Ticks> {
    let (total, steal, busy) = parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let own = parse_self_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    Some(Ticks {
        total,
        steal,
        busy,
        own,
    })
}

/// `(total, steal, busy)` from the first line of `/proc/stat`:
/// `cpu user nice system idle iowait irq softirq steal [guest guest_nice]` (guest time is
/// already counted in user and nice).
fn parse_proc_stat(text: &str) -> Option<(u64, u64, u64)> {
    let fields = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = fields
        .split_whitespace()
        .take(8)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    let &[user, nice, system, idle, iowait, irq, softirq, steal] = values.as_slice() else {
        return None;
    };
    let busy = user + nice + system + irq + softirq;
    Some((busy + idle + iowait + steal, steal, busy))
}

/// `utime + stime + cutime + cstime` (fields 14–17) from `/proc/self/stat`. The command name
/// (field 2) is in parentheses and may hold spaces, so fields are counted after its last `)`.
fn parse_self_stat(text: &str) -> Option<u64> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    // `rest` starts at field 3.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    (14..=17)
        .map(|n| {
            fields
                .get(n - 3)?
                .parse::<i64>()
                .ok()
                .and_then(|v| u64::try_from(v).ok())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counters_of_proc_stat() {
        let text = "cpu  100 5 20 800 10 1 2 30 7 0\ncpu0 50 2 10 400 5 0 1 15 3 0\n";
        // busy = 100 + 5 + 20 + 1 + 2; total adds idle 800, iowait 10, steal 30.
        assert_eq!(parse_proc_stat(text), Some((968, 30, 128)));
        assert_eq!(parse_proc_stat("cpu  1 2 3\n"), None);
        assert_eq!(parse_proc_stat("intr 1 2 3 4 5 6 7 8\n"), None);
    }

    #[test]
    fn reads_own_times_after_a_command_name_with_spaces() {
        let text = "4242 (bench (x) y) R 1 4242 4242 0 -1 4194304 100 0 0 0 70 8 3 2 20 0 1 0 5 0 0";
        assert_eq!(parse_self_stat(text), Some(70 + 8 + 3 + 2));
        assert_eq!(parse_self_stat("4242 (bench) R 1"), None);
    }

    #[test]
    fn shares_of_steal_and_other_processes() {
        let start = Ticks {
            total: 1000,
            steal: 10,
            busy: 300,
            own: 200,
        };
        let end = Ticks {
            total: 2000,
            steal: 110,
            busy: 1000,
            own: 700,
        };
        let load = load_between(start, end).unwrap();
        assert!((load.steal - 0.1).abs() < 1e-12);
        assert!((load.other_processes - 0.2).abs() < 1e-12);
        assert!(load.warning().unwrap().contains("10% of its CPU time was stolen"));
        let quiet = load_between(
            start,
            Ticks {
                total: 2000,
                steal: 20,
                busy: 900,
                own: 780,
            },
        )
        .unwrap();
        assert_eq!(quiet.warning(), None);
        // Too short to judge: 199 ticks, every one of them others'.
        let short = Ticks {
            total: 1199,
            steal: 10,
            busy: 499,
            own: 200,
        };
        assert_eq!(load_between(start, short), None);
        assert_eq!(load_between(start, start), None);
    }

    #[test]
    fn this_machines_counters_are_read_where_proc_exists() {
        if !std::path::Path::new("/proc/stat").exists() {
            return;
        }
        let probe = LoadProbe::start();
        let before = read_ticks().expect("/proc/stat and /proc/self/stat parse");
        // Idle time counts too: the machine's counters move while this thread sleeps.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let after = read_ticks().expect("/proc/stat and /proc/self/stat parse");
        assert!(after.total > before.total && after.busy >= before.busy && after.own >= before.own);
        assert!(before.steal <= before.total && before.busy <= before.total);
        // Too short a run to judge gives `None`.
        if let Some(load) = probe.finish() {
            assert!((0.0..=1.0).contains(&load.steal) && (0.0..=1.0).contains(&load.other_processes));
        }
    }
}
