//! What the benchmarks share: the release binary they measure, and reading a process's memory.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, ensure};

/// Builds `storyline` in release mode and gives its path; `STORYLINE_BINARY` names a binary to
/// measure instead (one built elsewhere, or a debug build while working on a benchmark).
///
/// # Errors
/// When the build fails.
pub fn release_binary() -> anyhow::Result<PathBuf> {
    if let Some(binary) = std::env::var_os("STORYLINE_BINARY") {
        return Ok(PathBuf::from(binary));
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "-p", "storyline", "--bin", "storyline"])
        .current_dir(&manifest)
        .status()?;
    ensure!(status.success(), "cargo build --release failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest.join("../target"), PathBuf::from);
    Ok(target.join("release/storyline"))
}

/// A line of `/proc/PID/status` in KiB: `VmRSS` (resident now) or `VmHWM` (the peak so far).
///
/// # Errors
/// When the process is gone or the line is not there.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field).and_then(|rest| rest.strip_prefix(':')))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} for process {pid}"))
}

/// Resident memory now, in KiB.
///
/// # Errors
/// As [`status_kib`].
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// CPU time the process has used so far (user + system), from `/proc/PID/stat`.
///
/// # Errors
/// When the process is gone or the line cannot be read.
pub fn cpu_time(pid: u32) -> anyhow::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).context("no command name in stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12].iter().map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0)).sum();
    Ok(std::time::Duration::from_millis(ticks * 1000 / clock_ticks()))
}

/// The CPU time used so far by every process named `name` (as `/proc/PID/comm` has it, like
/// `postgres`): the database's share of a load, as the sum over its backends.
///
/// # Errors
/// When `/proc` cannot be read.
pub fn cpu_time_of(name: &str) -> anyhow::Result<std::time::Duration> {
    let mut total = std::time::Duration::ZERO;
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let named = std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == name);
        if named {
            // A process that ended meanwhile counts nothing.
            total += cpu_time(pid).unwrap_or_default();
        }
    }
    Ok(total)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless it says otherwise).
fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|&ticks| ticks > 0)
        .unwrap_or(100)
}

/// The `p` quantile (0 to 1) of sorted samples.
///
/// # Panics
/// When `sorted` is empty.
#[must_use]
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// A process under measurement, stopped with SIGTERM (and waited for) when dropped.
#[derive(Debug)]
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}
