//! One `haven serve` per SQLite data directory.
//!
//! Two servers on one SQLite file would each run their own single writer and group commit,
//! queueing in SQLite's busy handler instead of in Haven, and each would seal legacy
//! secrets and start its own mail worker. So `serve` takes an exclusive advisory lock on
//! `<data-dir>/haven.lock` for the life of the process (the operating system drops it when
//! the process ends, however it ends, so a crashed server leaves no stale lock). Other
//! commands (`haven keys rotate`, `haven audit verify`, …) do not take it and still run
//! beside a serving instance, as designed. PostgreSQL needs no lock: several servers share
//! one database by design.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::CliError;

/// The lock file's name in the data directory.
pub(crate) const LOCK_FILE: &str = "haven.lock";

/// Takes the data directory's lock, or says clearly that another server holds it. Keep the
/// returned file open for as long as the server runs.
// `File::try_lock` is std's own advisory lock (flock on Unix, LockFileEx on Windows), stable
// since Rust 1.89; the toolchain in use is newer than the workspace's declared 1.85, which
// should move to 1.89 (bumping it turns on newer lints elsewhere, left to that change).
#[allow(clippy::incompatible_msrv)]
pub(crate) fn lock_data_dir(data_dir: &Path) -> Result<File, CliError> {
    let path = data_dir.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).map_err(|e| {
        CliError::Failed(anyhow::anyhow!(
            "could not open the lock file {}: {e}",
            path.display()
        ))
    })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(CliError::Failed(anyhow::anyhow!(
            "another haven server is already using the data directory {} (it holds {}); \
             stop it first, or give this one another --data-dir",
            data_dir.display(),
            path.display()
        ))),
        Err(TryLockError::Error(e)) => Err(CliError::Failed(anyhow::anyhow!(
            "could not lock {}: {e}",
            path.display()
        ))),
    }
}
