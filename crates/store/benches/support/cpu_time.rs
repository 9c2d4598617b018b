//! CPU time as a criterion measurement, shared by the benchmarks: user + system time of
//! every thread of a process (or of a PostgreSQL cluster), from
//! `/proc/<pid>/task/<tid>/schedstat`. A busy machine inflates wall time but not CPU time,
//! and CPU time is what the measured work takes away from the rest of the server.

use std::path::Path;

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Nanoseconds one thread or process has spent on a CPU (first field of `schedstat`).
pub(crate) fn schedstat_ns(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of every thread of this process.
pub(crate) fn this_process_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .map(|task| schedstat_ns(&task.path().join("schedstat")))
        .sum()
}

/// The parent pid field of `/proc/<pid>/stat`.
pub(crate) fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields resume after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of a postmaster and every process it started (processes are single-threaded).
pub(crate) fn cluster_ns(postmaster: u32) -> u64 {
    let children: u64 = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_pid(pid) == Some(postmaster))
        .map(|pid| schedstat_ns(Path::new(&format!("/proc/{pid}/schedstat"))))
        .sum();
    children + schedstat_ns(Path::new(&format!("/proc/{postmaster}/schedstat")))
}

/// Whose CPU time a [`CpuTime`] measures.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Every thread of this process.
    ThisProcess,
    /// A local PostgreSQL cluster, by its postmaster's pid.
    Cluster(u32),
}

/// Criterion measurement: CPU time of [`Scope`] in nanoseconds.
#[derive(Debug)]
pub(crate) struct CpuTime(pub(crate) Scope);

static WALL: WallTime = WallTime;

impl CpuTime {
    fn now(&self) -> u64 {
        match self.0 {
            Scope::ThisProcess => this_process_ns(),
            Scope::Cluster(postmaster) => cluster_ns(postmaster),
        }
    }
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.now()
    }

    fn end(&self, start: u64) -> u64 {
        self.now().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    #[expect(clippy::cast_precision_loss, reason = "nanoseconds of a benchmark run")]
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, printed like wall time.
        WALL.formatter()
    }
}
