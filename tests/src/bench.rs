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
