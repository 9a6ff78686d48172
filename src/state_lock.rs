//! `StateLock`: one engine per database. Two engines on one database
//! would both trade its paper account and both apply its journal; the
//! second is refused at start, naming the first's pid. The lock is the
//! kernel's (`flock` on `<database>.lock`), so it goes with the process
//! however the process ends, `kill -9` included.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Held for as long as the engine runs.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum StateLockError {
    #[error("{path} is in use by another laicai engine{holder}: stop that one first, or give this one another [storage] path")]
    InUse { path: PathBuf, holder: String },
    #[error("cannot create the state directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl StateLock {
    /// Takes the lock of the database at `db`, or says who holds it.
    pub fn take(db: &Path) -> Result<StateLock, StateLockError> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let io = |source| StateLockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StateLockError::Dir {
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock takes a descriptor this function owns (open for
        // the call's length) and flags; no memory is shared.
        #[allow(
            unsafe_code,
            reason = "File::try_lock is newer than this crate's rust-version (1.85)"
        )]
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(e));
            }
            let mut pid = String::new();
            let holder = match file.read_to_string(&mut pid) {
                Ok(_) if !pid.trim().is_empty() => format!(" (pid {})", pid.trim()),
                _ => String::new(),
            };
            return Err(StateLockError::InUse {
                path: db.to_path_buf(),
                holder,
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(StateLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_until_the_first_lets_go() {
        let dir = std::env::temp_dir().join(format!("laicai-lock-{}", std::process::id()));
        let db = dir.join("laicai.db");
        let first = StateLock::take(&db).expect("the first takes it");
        match StateLock::take(&db) {
            Err(StateLockError::InUse { holder, .. }) => {
                assert_eq!(holder, format!(" (pid {})", std::process::id()));
            }
            other => panic!("a second taker got {other:?}"),
        }
        drop(first);
        StateLock::take(&db).expect("free again once dropped");
        let _ = std::fs::remove_dir_all(dir);
    }
}
