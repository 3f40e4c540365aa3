//! Files the command line names (a license token, a licenses map, a settings document, keys, bundles) and the
//! files it writes.

use std::fs::File;
use std::io::{ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};

use super::exit::{CONFLICT, Failure};

/// The largest file read as input.
pub(crate) const MAX_INPUT_BYTES: u64 = 4 << 20;

/// How much one read of a binary input takes.
const CHUNK: usize = 64 * 1024;

/// Reads a file of at most [`MAX_INPUT_BYTES`] as UTF-8 text; `what` names it in the error (exit 2).
pub(crate) fn read_input(path: &Path, what: &str) -> Result<String, Failure> {
    let unreadable = |reason: String| {
        Failure::usage(
            "file_unreadable",
            format!("cannot read {what} {}: {reason}", path.display()),
        )
    };
    let metadata = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(unreadable(format!("it is larger than {MAX_INPUT_BYTES} bytes")));
    }
    std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))
}

/// Reads a regular file of at most `max` bytes; `progress` is told its size first and then each chunk read.
pub(crate) fn read_bytes(
    path: &Path,
    what: &str,
    max: u64,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<u8>, Failure> {
    let unreadable = |reason: String| {
        Failure::usage(
            "file_unreadable",
            format!("cannot read {what} {}: {reason}", path.display()),
        )
    };
    let mut file = File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let metadata = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !metadata.is_file() {
        return Err(unreadable("it is not a regular file".to_owned()));
    }
    if metadata.len() > max {
        return Err(unreadable(format!("it is larger than {max} bytes")));
    }
    progress(Progress::Size(metadata.len()));
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    let mut chunk = vec![0_u8; CHUNK];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(e.to_string())),
        };
        bytes.extend_from_slice(&chunk[..n]);
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
            // The file grew while it was read.
            return Err(unreadable(format!("it is larger than {max} bytes")));
        }
        progress(Progress::Read(n as u64));
    }
    Ok(bytes)
}

/// What [`read_bytes`] reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Progress {
    /// The file's size, before reading.
    Size(u64),
    /// Bytes read.
    Read(u64),
}

/// `<file>.sig`: the signature file that travels beside a bundle.
pub(crate) fn signature_path(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn unwritable(path: &Path, reason: &dyn std::fmt::Display) -> Failure {
    Failure::usage("file_unwritable", format!("cannot write {}: {reason}", path.display()))
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so a reader sees the old file or
/// the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    let temporary = PathBuf::from(name);
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    written.map_err(|e| {
        // The temporary file is only ours; nothing to report when it is gone already.
        let _ = std::fs::remove_file(&temporary);
        unwritable(path, &e)
    })
}

/// Creates `path` with `bytes`, refusing (exit 4, `file_exists`) when it exists; `secret` files are mode 0600
/// on Unix.
pub(crate) fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == ErrorKind::AlreadyExists {
            exists(path)
        } else {
            unwritable(path, &e)
        }
    })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| {
        // The half-written file is ours; nothing to report when it is gone already.
        let _ = std::fs::remove_file(path);
        unwritable(path, &e)
    })
}

/// The refusal to overwrite `path` (exit 4).
pub(crate) fn exists(path: &Path) -> Failure {
    Failure::refused(
        "file_exists",
        CONFLICT,
        format!("{} exists already; it is not overwritten", path.display()),
    )
}
