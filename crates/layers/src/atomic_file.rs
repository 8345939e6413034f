//! Files written whole or not at all, and durably.
//!
//! Every file rnnlab writes (weights, checkpoints, results, plots) goes through this module:
//! the bytes go to a temporary file beside the target (`.<name>.tmp-<pid>`), the temporary file
//! is synced to disk, renamed over the target, and then the directory is synced so the rename
//! itself is on disk. A crash or power cut at any point leaves either the old file or the new
//! one under the target's name, never an empty or half-written one; at worst a stray
//! `.tmp-` file remains beside it.
//!
//! ```
//! use rnnlab_layers::atomic_file;
//! let dir = std::env::temp_dir().join(format!("rnnlab-atomic-doc-{}", std::process::id()));
//! let path = dir.join("results.json");
//! atomic_file::write(&path, b"{\"val_mse\": 0.003}")?;
//! assert_eq!(std::fs::read(&path)?, b"{\"val_mse\": 0.003}");
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The directory `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// The temporary name beside `path` that [`commit`] renames from: `.<name>.tmp-<pid>` in the
/// same directory (a rename is only atomic within one file system).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Makes a finished temporary file the file at `path`: syncs `tmp`, renames it over `path`,
/// then syncs the directory. On failure the temporary file is removed and `path` is untouched.
pub fn commit(tmp: &Path, path: &Path) -> std::io::Result<()> {
    let result = File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(tmp, path));
    if let Err(e) = result {
        std::fs::remove_file(tmp).ok();
        return Err(e);
    }
    sync_dir(parent_dir(path))
}

/// Writes `bytes` to `path` atomically and durably (see the module docs); creates the directory.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(parent_dir(path))?;
    let tmp = temp_path(path);
    let written = File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(e) = written {
        std::fs::remove_file(&tmp).ok();
        return Err(e);
    }
    commit(&tmp, path)
}

/// Syncs a directory's entries (the rename). Only Unix can open a directory for that; elsewhere
/// the rename's own guarantees apply.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rnnlab-atomic-{tag}-{}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        dir
    }

    #[test]
    fn write_replaces_the_old_file_and_leaves_no_temporary() {
        let dir = scratch("replace");
        let path = dir.join("a.txt");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_failed_commit_keeps_the_old_file_and_removes_the_temporary() {
        let dir = scratch("fail");
        let path = dir.join("a.txt");
        write(&path, b"old").unwrap();
        // The temporary file does not exist: nothing may change.
        let tmp = temp_path(&path);
        assert!(commit(&tmp, &path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        // A target that is a directory cannot be replaced by a file.
        let target = dir.join("sub");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        assert!(write(&target, b"x").is_err());
        assert!(!temp_path(&target).exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
