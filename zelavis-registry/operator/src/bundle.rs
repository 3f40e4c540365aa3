//! Plugin bundles: a `.tar.gz` holding [`MANIFEST_FILE`], [`MODULE_FILE`] and optional files
//! under [`ASSETS_DIR`]`/`.
//!
//! [`Bundle::read`] never unpacks to disk. It walks the archive entry by entry through a meter
//! that counts inflated bytes, accepts plain relative files with known names only, and stops at
//! the first limit crossed, so a hostile upload costs at most the limits in memory and CPU.
//! [`pack`] writes bundles reproducibly: the same contents give the same bytes and digest.
//!
//! ```
//! # use zelavis_operator::bundle::{pack, Bundle, BundleContents, BundleLimits};
//! let contents = BundleContents {
//!     manifest: br#"{"name":"hello","version":"1.0.0"}"#.to_vec(),
//!     module: b"\0asm\x01\0\0\0".to_vec(),
//!     assets: [("logo.svg".to_owned(), b"<svg/>".to_vec())].into(),
//! };
//! let bytes = pack(&contents)?;
//! let bundle = Bundle::read(&bytes, &BundleLimits::default())?;
//! assert_eq!(bundle.manifest()["name"], "hello");
//! assert_eq!(bundle.asset("logo.svg"), Some(&b"<svg/>"[..]));
//! assert_eq!(pack(&contents)?, bytes);
//! # Ok::<(), zelavis_operator::bundle::BundleError>(())
//! ```

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};

use flate2::bufread::GzDecoder;
use flate2::{Compression, GzBuilder};
use serde_json::Value;
use tar::{EntryType, Header};
use thiserror::Error;

use crate::digest::Digest;

/// The manifest's path inside a bundle.
pub const MANIFEST_FILE: &str = "zelavis.plugin.json";
/// The WebAssembly module's path inside a bundle.
pub const MODULE_FILE: &str = "plugin.wasm";
/// The folder that holds a bundle's optional assets.
pub const ASSETS_DIR: &str = "assets";
/// Inflated bytes allowed before [`BundleLimits::max_ratio`] applies: small bundles of text
/// compress well and are no danger.
pub const RATIO_GRACE_BYTES: u64 = MIB;
/// The gzip compression level [`pack`] uses.
pub const PACK_COMPRESSION_LEVEL: u32 = 9;

const MIB: u64 = 1024 * 1024;
/// Tar overhead allowed per entry (its header, padding, and any PAX or GNU long-name record).
const OVERHEAD_PER_ENTRY: u64 = 4096;
/// Longest path quoted back in an error.
const SHOWN_PATH_LEN: usize = 256;

/// How much a bundle may hold. Every limit is checked while reading, before it is exceeded by
/// more than one read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Largest `.tar.gz`, checked before any decompression. Default 32 MiB.
    pub max_bundle_bytes: u64,
    /// Most archive entries. Default 256.
    pub max_entries: usize,
    /// Largest single file, from its tar header, checked before reading it. Default 16 MiB.
    pub max_file_bytes: u64,
    /// Largest sum of all file sizes. Default 64 MiB. The inflated tar stream may exceed it only
    /// by 4 KiB of headers per entry and 1 MiB of end padding.
    pub max_total_bytes: u64,
    /// Largest ratio of inflated tar bytes to `.tar.gz` bytes, once past [`RATIO_GRACE_BYTES`]:
    /// a compression bomb is stopped as soon as it crosses this line. Default 100.
    pub max_ratio: u64,
    /// Longest entry path, in bytes. Default 200.
    pub max_path_len: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        Self {
            max_bundle_bytes: 32 * MIB,
            max_entries: 256,
            max_file_bytes: 16 * MIB,
            max_total_bytes: 64 * MIB,
            max_ratio: 100,
            max_path_len: 200,
        }
    }
}

impl BundleLimits {
    fn stream_limit(&self) -> u64 {
        let entries = u64::try_from(self.max_entries).unwrap_or(u64::MAX).saturating_add(1);
        self.max_total_bytes
            .saturating_add(entries.saturating_mul(OVERHEAD_PER_ENTRY))
            .saturating_add(MIB)
    }
}

/// Why a bundle is refused or cannot be packed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The `.tar.gz` is over [`BundleLimits::max_bundle_bytes`].
    #[error("bundle is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The gzip layer is corrupt, truncated, or its CRC or length trailer does not match.
    #[error("bundle is not valid gzip{}: {reason}", near(.entry.as_ref()))]
    CorruptGzip {
        /// The last entry read before the fault, if any.
        entry: Option<String>,
        /// What the decoder said.
        reason: String,
    },
    /// Bytes follow the gzip stream.
    #[error("bundle has {bytes} bytes after the end of its gzip stream")]
    TrailingData {
        /// How many.
        bytes: usize,
    },
    /// The tar layer is corrupt (bad header checksum, truncated entry, …).
    #[error("bundle is not a valid tar archive{}: {reason}", near(.entry.as_ref()))]
    CorruptTar {
        /// The entry being read, or the last one before the fault.
        entry: Option<String>,
        /// What the reader said.
        reason: String,
    },
    /// Inflating crossed [`BundleLimits::max_ratio`]: a compression bomb.
    #[error(
        "bundle inflates {decompressed} bytes from {compressed}, over the ratio limit of {limit}{}",
        near(.entry.as_ref())
    )]
    CompressionBomb {
        /// The entry being read, or the last one before.
        entry: Option<String>,
        /// Inflated bytes when reading stopped.
        decompressed: u64,
        /// Size of the `.tar.gz`.
        compressed: u64,
        /// The ratio limit.
        limit: u64,
    },
    /// The inflated tar stream grew past what the limits allow (files plus tar overhead).
    #[error("bundle inflates past {limit} bytes{}", near(.entry.as_ref()))]
    StreamTooLarge {
        /// The entry being read, or the last one before.
        entry: Option<String>,
        /// The limit on the inflated stream.
        limit: u64,
    },
    /// An entry path starts with `/`.
    #[error("bundle entry {path:?} is an absolute path")]
    AbsolutePath {
        /// The path.
        path: String,
    },
    /// An entry path has a `.` or `..` segment.
    #[error("bundle entry {path:?} has a `.` or `..` segment")]
    DotSegment {
        /// The path.
        path: String,
    },
    /// An entry path is empty, has an empty segment, a backslash, or a byte that is not printable
    /// ASCII (NUL included).
    #[error("bundle entry {path:?} is not a valid path: {reason}")]
    BadPath {
        /// The path (lossy UTF-8, cut to 256 characters).
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry path is over [`BundleLimits::max_path_len`].
    #[error("bundle entry {path:?} has a path of {len} bytes, over the limit of {limit}")]
    PathTooLong {
        /// The path (cut to 256 characters).
        path: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An entry is a symbolic or hard link.
    #[error("bundle entry {path:?} is a link to {target:?}")]
    Link {
        /// The path.
        path: String,
        /// Where it points.
        target: String,
    },
    /// An entry is neither a regular file nor a link (a directory, device, FIFO, sparse file…).
    #[error("bundle entry {path:?} is not a regular file but {kind}")]
    NotAFile {
        /// The path.
        path: String,
        /// The tar entry type.
        kind: String,
    },
    /// Two entries share a path.
    #[error("bundle entry {path:?} appears twice")]
    DuplicateEntry {
        /// The path.
        path: String,
    },
    /// An entry is not the manifest, the module, or under `assets/`.
    #[error("bundle entry {path:?} is not expected: only {MANIFEST_FILE:?}, {MODULE_FILE:?} and \"{ASSETS_DIR}/…\"")]
    UnexpectedFile {
        /// The path.
        path: String,
    },
    /// More entries than [`BundleLimits::max_entries`].
    #[error("bundle entry {path:?} is over the limit of {limit} entries")]
    TooManyEntries {
        /// The first entry over the limit.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// A file is over [`BundleLimits::max_file_bytes`].
    #[error("bundle entry {path:?} is {size} bytes, over the limit of {limit}")]
    FileTooLarge {
        /// The path.
        path: String,
        /// Its size from the tar header.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The files add up to more than [`BundleLimits::max_total_bytes`].
    #[error("bundle entry {path:?} brings the total to {total} bytes, over the limit of {limit}")]
    TotalTooLarge {
        /// The entry that crossed the limit.
        path: String,
        /// The total with it.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// No [`MANIFEST_FILE`].
    #[error("bundle has no {MANIFEST_FILE:?}")]
    MissingManifest,
    /// No [`MODULE_FILE`].
    #[error("bundle has no {MODULE_FILE:?}")]
    MissingModule,
    /// The manifest is not UTF-8.
    #[error("bundle entry {MANIFEST_FILE:?} is not utf-8: {reason}")]
    ManifestNotUtf8 {
        /// What the decoder said.
        reason: String,
    },
    /// The manifest is not JSON.
    #[error("bundle entry {MANIFEST_FILE:?} is not json: {reason}")]
    ManifestNotJson {
        /// What the parser said.
        reason: String,
    },
    /// The manifest is JSON but not an object.
    #[error("bundle entry {MANIFEST_FILE:?} is a json {found}, not an object")]
    ManifestNotObject {
        /// What kind of JSON value it is.
        found: &'static str,
    },
    /// Writing the archive failed.
    #[error("cannot pack bundle entry {path:?}: {reason}")]
    PackFailed {
        /// The entry being written, or empty for the archive's end.
        path: String,
        /// What the writer said.
        reason: String,
    },
}

fn near(entry: Option<&String>) -> String {
    entry.as_ref().map_or_else(
        || " before its first entry".to_owned(),
        |e| format!(" at or after entry {e:?}"),
    )
}

/// What a bundle holds. Asset keys are paths under `assets/` (`"css/site.css"` is stored as
/// `assets/css/site.css`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BundleContents {
    /// The bytes of [`MANIFEST_FILE`], a UTF-8 JSON object.
    pub manifest: Vec<u8>,
    /// The bytes of [`MODULE_FILE`].
    pub module: Vec<u8>,
    /// The assets, by path under `assets/`.
    pub assets: BTreeMap<String, Vec<u8>>,
}

/// A bundle that passed every check of [`Bundle::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    digest: Digest,
    manifest: Value,
    manifest_digest: Digest,
    contents: BundleContents,
}

impl Bundle {
    /// Reads and checks a `.tar.gz` bundle; see the module docs and [`BundleError`] for what is
    /// refused.
    pub fn read(bytes: &[u8], limits: &BundleLimits) -> Result<Self, BundleError> {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size > limits.max_bundle_bytes {
            return Err(BundleError::TooLarge {
                size,
                limit: limits.max_bundle_bytes,
            });
        }
        let state = Cell::new(MeterState::default());
        let meter = Meter {
            inner: GzDecoder::new(bytes),
            state: &state,
            compressed: size,
            limits,
        };
        let mut walk = Walk {
            limits,
            contents: BundleContents::default(),
            seen: BTreeSet::new(),
            entries: 0,
            total: 0,
        };
        let fail = |e: io::Error, entry: Option<String>| stream_error(&state, &e, entry, size, limits);

        let mut archive = tar::Archive::new(meter);
        let mut last: Option<String> = None;
        for entry in archive.entries().map_err(|e| fail(e, None))? {
            let mut entry = entry.map_err(|e| fail(e, last.clone()))?;
            let path = walk.admit(&entry)?;
            last = Some(path.clone());
            walk.take(&mut entry, &path).map_err(|e| fail(e, Some(path.clone())))?;
        }
        // Drain to the end so that gzip's CRC and length trailer are checked, then refuse
        // anything glued after the gzip stream.
        let mut meter = archive.into_inner();
        io::copy(&mut meter, &mut io::sink()).map_err(|e| fail(e, last.clone()))?;
        let trailing = meter.inner.get_ref().len();
        if trailing > 0 {
            return Err(BundleError::TrailingData { bytes: trailing });
        }

        let contents = walk.finish()?;
        let manifest = parse_manifest(&contents.manifest)?;
        Ok(Self {
            digest: Digest::of(bytes),
            manifest,
            manifest_digest: Digest::of(&contents.manifest),
            contents,
        })
    }

    /// SHA-256 of the exact `.tar.gz` bytes read.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The manifest, parsed (always a JSON object).
    pub fn manifest(&self) -> &Value {
        &self.manifest
    }

    /// The manifest file's bytes.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.contents.manifest
    }

    /// SHA-256 of the manifest file's bytes.
    pub fn manifest_digest(&self) -> Digest {
        self.manifest_digest
    }

    /// The WebAssembly module's bytes.
    pub fn module(&self) -> &[u8] {
        &self.contents.module
    }

    /// An asset by its path under `assets/`.
    pub fn asset(&self, path: &str) -> Option<&[u8]> {
        self.contents.assets.get(path).map(Vec::as_slice)
    }

    /// All assets by path under `assets/`, in path order.
    pub fn assets(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.contents.assets
    }

    /// Everything the bundle holds.
    pub fn contents(&self) -> &BundleContents {
        &self.contents
    }

    /// Everything the bundle holds, by value.
    pub fn into_contents(self) -> BundleContents {
        self.contents
    }
}

/// Packs contents as a reproducible `.tar.gz`: entries in path order, ustar headers, mode 0644,
/// uid/gid 0, empty owner names, mtime 0, gzip mtime 0 and OS byte 255 (unknown), compression
/// level [`PACK_COMPRESSION_LEVEL`]. Refuses asset paths that [`Bundle::read`] would refuse and a
/// manifest that is not a UTF-8 JSON object. Limits are the reader's business and not checked.
pub fn pack(contents: &BundleContents) -> Result<Vec<u8>, BundleError> {
    parse_manifest(&contents.manifest)?;
    let mut files: Vec<(String, &[u8])> = vec![
        (MANIFEST_FILE.to_owned(), &contents.manifest),
        (MODULE_FILE.to_owned(), &contents.module),
    ];
    for (name, data) in &contents.assets {
        let path = format!("{ASSETS_DIR}/{name}");
        check_path(path.as_bytes(), usize::MAX)?;
        files.push((path, data));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let failed = |path: &str, e: &io::Error| BundleError::PackFailed {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(PACK_COMPRESSION_LEVEL));
    let mut builder = tar::Builder::new(gzip);
    for (path, data) in files {
        let mut header = Header::new_ustar();
        header.set_path(&path).map_err(|e| failed(&path, &e))?;
        if header.path_bytes().as_ref() != path.as_bytes() {
            return Err(BundleError::BadPath {
                path,
                reason: "does not fit a ustar header unchanged",
            });
        }
        header.set_entry_type(EntryType::Regular);
        header.set_size(u64::try_from(data.len()).unwrap_or(u64::MAX));
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_username("").map_err(|e| failed(&path, &e))?;
        header.set_groupname("").map_err(|e| failed(&path, &e))?;
        header.set_cksum();
        builder.append(&header, data).map_err(|e| failed(&path, &e))?;
    }
    let gzip = builder.into_inner().map_err(|e| failed("", &e))?;
    gzip.finish().map_err(|e| failed("", &e))
}

fn parse_manifest(bytes: &[u8]) -> Result<Value, BundleError> {
    let text = std::str::from_utf8(bytes).map_err(|e| BundleError::ManifestNotUtf8 { reason: e.to_string() })?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| BundleError::ManifestNotJson { reason: e.to_string() })?;
    let found = match &value {
        Value::Object(_) => return Ok(value),
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
    };
    Err(BundleError::ManifestNotObject { found })
}

/// The path for messages: lossy UTF-8, cut to [`SHOWN_PATH_LEN`] characters.
fn shown(path: &[u8]) -> String {
    String::from_utf8_lossy(path).chars().take(SHOWN_PATH_LEN).collect()
}

/// Checks an entry path's syntax and returns it as a string.
fn check_path(path: &[u8], max_len: usize) -> Result<String, BundleError> {
    let bad = |reason| BundleError::BadPath {
        path: shown(path),
        reason,
    };
    if path.len() > max_len {
        return Err(BundleError::PathTooLong {
            path: shown(path),
            len: path.len(),
            limit: max_len,
        });
    }
    if path.is_empty() {
        return Err(bad("it is empty"));
    }
    if path[0] == b'/' {
        return Err(BundleError::AbsolutePath { path: shown(path) });
    }
    if path.contains(&b'\\') {
        return Err(bad("it has a backslash"));
    }
    if !path.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(bad("it has a byte that is not printable ascii"));
    }
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" => return Err(bad("it has an empty segment")),
            b"." | b".." => return Err(BundleError::DotSegment { path: shown(path) }),
            _ => {}
        }
    }
    // Every byte is printable ASCII, so this is valid UTF-8.
    String::from_utf8(path.to_vec()).map_err(|_| bad("it is not utf-8"))
}

/// What the meter saw; shared with the reader through a `Cell` so that errors can be told apart
/// after the tar reader has wrapped them.
#[derive(Debug, Clone, Copy, Default)]
struct MeterState {
    inflated: u64,
    tripped: Option<Trip>,
    gzip_failed: bool,
}

#[derive(Debug, Clone, Copy)]
enum Trip {
    Ratio,
    Stream,
}

/// Counts inflated bytes and fails the stream as soon as a limit is crossed.
struct Meter<'a, R> {
    inner: R,
    state: &'a Cell<MeterState>,
    compressed: u64,
    limits: &'a BundleLimits,
}

/// Largest single inflate step, so a limit is overshot by at most this much.
const METER_STEP: usize = 64 * 1024;

impl<R: Read> Read for Meter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state.get();
        if state.tripped.is_some() {
            return Err(io::Error::other("bundle limit crossed"));
        }
        let step = buf.len().min(METER_STEP);
        let n = match self.inner.read(&mut buf[..step]) {
            Ok(n) => n,
            Err(e) => {
                state.gzip_failed = true;
                self.state.set(state);
                return Err(e);
            }
        };
        state.inflated = state.inflated.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        if state.inflated > self.limits.stream_limit() {
            state.tripped = Some(Trip::Stream);
        } else if state.inflated > RATIO_GRACE_BYTES
            && state.inflated > self.compressed.saturating_mul(self.limits.max_ratio)
        {
            state.tripped = Some(Trip::Ratio);
        }
        self.state.set(state);
        if state.tripped.is_some() {
            return Err(io::Error::other("bundle limit crossed"));
        }
        Ok(n)
    }
}

fn stream_error(
    state: &Cell<MeterState>,
    error: &io::Error,
    entry: Option<String>,
    compressed: u64,
    limits: &BundleLimits,
) -> BundleError {
    let state = state.get();
    match state.tripped {
        Some(Trip::Ratio) => BundleError::CompressionBomb {
            entry,
            decompressed: state.inflated,
            compressed,
            limit: limits.max_ratio,
        },
        Some(Trip::Stream) => BundleError::StreamTooLarge {
            entry,
            limit: limits.stream_limit(),
        },
        None if state.gzip_failed => BundleError::CorruptGzip {
            entry,
            reason: error.to_string(),
        },
        None => BundleError::CorruptTar {
            entry,
            reason: error.to_string(),
        },
    }
}

enum Slot {
    Manifest,
    Module,
    Asset(String),
}

struct Walk<'a> {
    limits: &'a BundleLimits,
    contents: BundleContents,
    seen: BTreeSet<String>,
    entries: usize,
    total: u64,
}

impl Walk<'_> {
    /// Checks an entry's header: count, path, type, name, duplicates, sizes. Returns its path.
    fn admit<R: Read>(&mut self, entry: &tar::Entry<'_, R>) -> Result<String, BundleError> {
        let raw = entry.path_bytes();
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(BundleError::TooManyEntries {
                path: shown(&raw),
                limit: self.limits.max_entries,
            });
        }
        let path = check_path(&raw, self.limits.max_path_len)?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name_bytes().map(|t| shown(&t)).unwrap_or_default();
            return Err(BundleError::Link { path, target });
        }
        if !kind.is_file() {
            return Err(BundleError::NotAFile {
                path,
                kind: entry_kind(kind),
            });
        }
        if slot(&path).is_none() {
            return Err(BundleError::UnexpectedFile { path });
        }
        if !self.seen.insert(path.clone()) {
            return Err(BundleError::DuplicateEntry { path });
        }
        let size = entry.size();
        if size > self.limits.max_file_bytes {
            return Err(BundleError::FileTooLarge {
                path,
                size,
                limit: self.limits.max_file_bytes,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.limits.max_total_bytes {
            return Err(BundleError::TotalTooLarge {
                path,
                total: self.total,
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(path)
    }

    /// Reads an admitted entry's bytes into its slot.
    fn take<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, path: &str) -> io::Result<()> {
        let size = entry.size();
        // `admit` capped `size` at `max_file_bytes`, so reserving it is bounded.
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry.take(size).read_to_end(&mut data)?;
        if u64::try_from(data.len()).ok() != Some(size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "entry is shorter than its header says",
            ));
        }
        match slot(path) {
            Some(Slot::Manifest) => self.contents.manifest = data,
            Some(Slot::Module) => self.contents.module = data,
            Some(Slot::Asset(name)) => {
                self.contents.assets.insert(name, data);
            }
            None => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<BundleContents, BundleError> {
        if !self.seen.contains(MANIFEST_FILE) {
            return Err(BundleError::MissingManifest);
        }
        if !self.seen.contains(MODULE_FILE) {
            return Err(BundleError::MissingModule);
        }
        Ok(self.contents)
    }
}

fn slot(path: &str) -> Option<Slot> {
    match path {
        MANIFEST_FILE => Some(Slot::Manifest),
        MODULE_FILE => Some(Slot::Module),
        _ => path
            .strip_prefix(ASSETS_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|name| !name.is_empty())
            .map(|name| Slot::Asset(name.to_owned())),
    }
}

fn entry_kind(kind: EntryType) -> String {
    match kind {
        EntryType::Directory => "a directory".to_owned(),
        EntryType::Char => "a character device".to_owned(),
        EntryType::Block => "a block device".to_owned(),
        EntryType::Fifo => "a fifo".to_owned(),
        EntryType::Continuous => "a contiguous file".to_owned(),
        EntryType::GNUSparse => "a sparse file".to_owned(),
        EntryType::XGlobalHeader => "a pax global header".to_owned(),
        other => format!("tar entry type {:?}", char::from(other.as_byte())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;
    use std::io::Write as _;

    fn contents() -> BundleContents {
        BundleContents {
            manifest: br#"{"name":"hello","version":"1.2.3"}"#.to_vec(),
            module: b"\0asm\x01\0\0\0 module bytes".to_vec(),
            assets: [
                ("logo.svg".to_owned(), b"<svg/>".to_vec()),
                ("css/site.css".to_owned(), b"body{}".to_vec()),
            ]
            .into(),
        }
    }

    fn read(bytes: &[u8]) -> Result<Bundle, BundleError> {
        Bundle::read(bytes, &BundleLimits::default())
    }

    /// One hand-made tar entry: a header (path bytes written raw, so anything goes) and data.
    struct Raw {
        header: Header,
        data: Vec<u8>,
    }

    fn raw(path: &[u8], kind: EntryType, data: &[u8]) -> Raw {
        let mut header = Header::new_ustar();
        header.as_old_mut().name[..path.len()].copy_from_slice(path);
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        Raw {
            header,
            data: data.to_vec(),
        }
    }

    fn file(path: &str, data: &[u8]) -> Raw {
        raw(path.as_bytes(), EntryType::Regular, data)
    }

    fn base() -> Vec<Raw> {
        vec![file(MANIFEST_FILE, br#"{"name":"x"}"#), file(MODULE_FILE, b"\0asm")]
    }

    fn tar_of(entries: &[Raw]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for e in entries {
            builder.append(&e.header, e.data.as_slice()).expect("append");
        }
        builder.into_inner().expect("finish tar")
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).expect("compress");
        enc.finish().expect("finish gzip")
    }

    fn bundle_of(entries: &[Raw]) -> Vec<u8> {
        gz(&tar_of(entries))
    }

    fn with(extra: Raw) -> Vec<u8> {
        let mut entries = base();
        entries.push(extra);
        bundle_of(&entries)
    }

    #[test]
    fn pack_then_read_round_trips() {
        let bytes = pack(&contents()).expect("pack");
        let bundle = read(&bytes).expect("read");
        assert_eq!(bundle.contents(), &contents());
        assert_eq!(bundle.digest(), Digest::of(&bytes));
        assert_eq!(bundle.manifest_digest(), Digest::of(&contents().manifest));
        assert_eq!(bundle.manifest()["version"], "1.2.3");
        assert_eq!(bundle.module(), contents().module.as_slice());
        assert_eq!(bundle.asset("css/site.css"), Some(&b"body{}"[..]));
        assert_eq!(bundle.asset("nope"), None);
        assert_eq!(bundle.assets().len(), 2);
        assert_eq!(bundle.into_contents(), contents());
    }

    #[test]
    fn pack_is_reproducible() {
        let a = pack(&contents()).expect("pack");
        let b = pack(&contents().clone()).expect("pack");
        assert_eq!(Digest::of(&a), Digest::of(&b));
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0], "gzip magic, deflate, no flags");
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip mtime 0");
        assert_eq!(a[9], 255, "gzip os unknown");

        let mut tar = Vec::new();
        GzDecoder::new(a.as_slice()).read_to_end(&mut tar).expect("inflate");
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut paths = Vec::new();
        for entry in archive.entries().expect("entries") {
            let entry = entry.expect("entry");
            let h = entry.header();
            assert!(h.as_ustar().is_some());
            assert_eq!(h.mode().expect("mode"), 0o644);
            assert_eq!(
                (h.uid().expect("uid"), h.gid().expect("gid"), h.mtime().expect("mtime")),
                (0, 0, 0)
            );
            assert_eq!(h.username_bytes(), Some(&b""[..]));
            assert_eq!(h.groupname_bytes(), Some(&b""[..]));
            paths.push(String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8"));
        }
        assert_eq!(
            paths,
            [
                "assets/css/site.css",
                "assets/logo.svg",
                "plugin.wasm",
                "zelavis.plugin.json"
            ]
        );
    }

    #[test]
    fn pack_refuses_what_read_would() {
        let mut c = contents();
        c.assets.insert("../escape".into(), vec![]);
        assert!(matches!(pack(&c), Err(BundleError::DotSegment { .. })));
        let mut c = contents();
        c.assets.insert("a//b".into(), vec![]);
        assert!(matches!(pack(&c), Err(BundleError::BadPath { .. })));
        let mut c = contents();
        c.assets.insert(String::new(), vec![]);
        assert!(matches!(pack(&c), Err(BundleError::BadPath { .. })));
        let mut c = contents();
        c.assets.insert("x".repeat(300), vec![]);
        assert!(pack(&c).is_err());
        let mut c = contents();
        c.manifest = b"[1]".to_vec();
        assert_eq!(pack(&c), Err(BundleError::ManifestNotObject { found: "array" }));
    }

    #[test]
    fn long_paths_up_to_the_limit_round_trip() {
        let mut c = contents();
        let name = format!("{}/{}", "d".repeat(100), "f".repeat(98 - ASSETS_DIR.len()));
        assert_eq!(ASSETS_DIR.len() + 1 + name.len(), 200);
        c.assets.insert(name.clone(), b"deep".to_vec());
        let bundle = read(&pack(&c).expect("pack")).expect("read");
        assert_eq!(bundle.asset(&name), Some(&b"deep"[..]));
    }

    #[test]
    fn a_hand_made_minimal_bundle_reads() {
        let bundle = read(&bundle_of(&base())).expect("read");
        assert_eq!(bundle.module(), b"\0asm");
        assert!(bundle.assets().is_empty());
    }

    #[test]
    fn refuses_oversized_bundles_before_decompressing() {
        let limits = BundleLimits {
            max_bundle_bytes: 10,
            ..BundleLimits::default()
        };
        let garbage = vec![0xff; 11];
        assert_eq!(
            Bundle::read(&garbage, &limits),
            Err(BundleError::TooLarge { size: 11, limit: 10 })
        );
    }

    #[test]
    fn refuses_corrupt_gzip() {
        assert!(matches!(
            read(b"not gzip at all"),
            Err(BundleError::CorruptGzip { entry: None, .. })
        ));
        let good = pack(&contents()).expect("pack");
        let truncated = &good[..good.len() - 20];
        assert!(
            matches!(read(truncated), Err(BundleError::CorruptGzip { .. })),
            "{:?}",
            read(truncated)
        );
        assert!(matches!(
            read(&good[..good.len() - 4]),
            Err(BundleError::CorruptGzip { .. })
        ));
    }

    #[test]
    fn refuses_a_bad_crc_found_only_at_the_end() {
        let mut bytes = pack(&contents()).expect("pack");
        let crc = bytes.len() - 8;
        bytes[crc] ^= 0x01;
        let err = read(&bytes).expect_err("bad crc");
        assert!(matches!(err, BundleError::CorruptGzip { entry: Some(_), .. }), "{err}");
        let mut bytes = pack(&contents()).expect("pack");
        let isize_field = bytes.len() - 1;
        bytes[isize_field] ^= 0x01;
        assert!(matches!(read(&bytes), Err(BundleError::CorruptGzip { .. })));
    }

    #[test]
    fn refuses_trailing_data_and_second_gzip_members() {
        let mut bytes = pack(&contents()).expect("pack");
        bytes.extend_from_slice(b"junk");
        assert_eq!(read(&bytes), Err(BundleError::TrailingData { bytes: 4 }));
        let mut two = pack(&contents()).expect("pack");
        two.extend(gz(b"more"));
        assert!(matches!(read(&two), Err(BundleError::TrailingData { .. })));
    }

    #[test]
    fn refuses_corrupt_tar() {
        let err = read(&gz(&[0x41; 2048])).expect_err("not tar");
        assert!(matches!(err, BundleError::CorruptTar { entry: None, .. }), "{err}");
        // A header that promises more data than the archive holds.
        let mut tar = tar_of(&base());
        tar.truncate(512 + 100);
        let err = read(&gz(&tar)).expect_err("truncated entry");
        assert!(
            matches!(&err, BundleError::CorruptTar { entry: Some(p), .. } if p == MANIFEST_FILE),
            "{err}"
        );
    }

    type Expect = fn(&BundleError) -> bool;

    #[test]
    fn refuses_bad_paths() {
        let cases: &[(&[u8], Expect)] = &[
            (
                b"/abs",
                |e| matches!(e, BundleError::AbsolutePath { path } if path == "/abs"),
            ),
            (b"/etc/passwd", |e| matches!(e, BundleError::AbsolutePath { .. })),
            (
                b"../x",
                |e| matches!(e, BundleError::DotSegment { path } if path == "../x"),
            ),
            (b"assets/../../x", |e| matches!(e, BundleError::DotSegment { .. })),
            (b"./plugin.wasm", |e| matches!(e, BundleError::DotSegment { .. })),
            (b"assets/./x", |e| matches!(e, BundleError::DotSegment { .. })),
            (b"assets//x", |e| matches!(e, BundleError::BadPath { .. })),
            (b"assets/x/", |e| matches!(e, BundleError::BadPath { .. })),
            (b"assets\\x", |e| matches!(e, BundleError::BadPath { .. })),
            (b"assets/x\x01", |e| matches!(e, BundleError::BadPath { .. })),
            (b"assets/\x7f", |e| matches!(e, BundleError::BadPath { .. })),
            ("assets/é".as_bytes(), |e| matches!(e, BundleError::BadPath { .. })),
        ];
        for (path, ok) in cases {
            let err = read(&with(raw(path, EntryType::Regular, b"x"))).expect_err("refused");
            assert!(ok(&err), "{:?}: {err}", String::from_utf8_lossy(path));
            assert!(err.to_string().contains('"'), "quotes the path: {err}");
        }
    }

    #[test]
    fn refuses_nul_in_a_pax_path() {
        let mut builder = tar::Builder::new(Vec::new());
        for e in base() {
            builder.append(&e.header, e.data.as_slice()).expect("append");
        }
        builder
            .append_pax_extensions([("path", &b"assets/a\0b"[..])])
            .expect("pax");
        let e = file("assets/placeholder", b"x");
        builder.append(&e.header, e.data.as_slice()).expect("append");
        let bytes = gz(&builder.into_inner().expect("tar"));
        assert!(
            matches!(read(&bytes), Err(BundleError::BadPath { .. })),
            "{:?}",
            read(&bytes)
        );
    }

    #[test]
    fn refuses_paths_over_the_limit() {
        let long = format!("assets/{}", "a".repeat(194));
        assert_eq!(long.len(), 201);
        let mut builder = tar::Builder::new(Vec::new());
        for e in base() {
            builder.append(&e.header, e.data.as_slice()).expect("append");
        }
        let mut header = Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, &long, &b"x"[..])
            .expect("gnu long name");
        let err = read(&gz(&builder.into_inner().expect("tar"))).expect_err("too long");
        assert!(
            matches!(
                err,
                BundleError::PathTooLong {
                    len: 201,
                    limit: 200,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refuses_links() {
        let mut symlink = raw(b"assets/passwd", EntryType::Symlink, b"");
        symlink.header.set_link_name("/etc/passwd").expect("link name");
        symlink.header.set_cksum();
        let err = read(&with(symlink)).expect_err("symlink");
        assert_eq!(
            err,
            BundleError::Link {
                path: "assets/passwd".into(),
                target: "/etc/passwd".into()
            }
        );

        let mut hardlink = raw(b"assets/wasm", EntryType::Link, b"");
        hardlink.header.set_link_name(MODULE_FILE).expect("link name");
        hardlink.header.set_cksum();
        assert!(matches!(read(&with(hardlink)), Err(BundleError::Link { .. })));
    }

    #[test]
    fn refuses_other_entry_types() {
        for kind in [
            EntryType::Directory,
            EntryType::Fifo,
            EntryType::Char,
            EntryType::Block,
            EntryType::XGlobalHeader,
        ] {
            let err = read(&with(raw(b"assets/d", kind, b""))).expect_err("not a file");
            assert!(matches!(err, BundleError::NotAFile { .. }), "{kind:?}: {err}");
        }
    }

    #[test]
    fn refuses_duplicates_and_unexpected_files() {
        let dup = with(file(MANIFEST_FILE, b"{}"));
        assert_eq!(
            read(&dup),
            Err(BundleError::DuplicateEntry {
                path: MANIFEST_FILE.into()
            })
        );
        for path in ["README.md", "assets", "plugin.wasm.bak", "Assets/x", "x/assets/y"] {
            let err = read(&with(file(path, b"x"))).expect_err("unexpected");
            assert_eq!(err, BundleError::UnexpectedFile { path: path.into() });
        }
    }

    #[test]
    fn refuses_too_many_entries() {
        let limits = BundleLimits {
            max_entries: 3,
            ..BundleLimits::default()
        };
        let mut entries = base();
        entries.push(file("assets/1", b""));
        entries.push(file("assets/2", b""));
        let err = Bundle::read(&bundle_of(&entries), &limits).expect_err("too many");
        assert_eq!(
            err,
            BundleError::TooManyEntries {
                path: "assets/2".into(),
                limit: 3
            }
        );
        entries.pop();
        assert!(Bundle::read(&bundle_of(&entries), &limits).is_ok());
    }

    #[test]
    fn refuses_large_files_and_totals() {
        let limits = BundleLimits {
            max_file_bytes: 12,
            max_total_bytes: 25,
            ..BundleLimits::default()
        };
        let err = Bundle::read(&with(file("assets/big", &[1; 13])), &limits).expect_err("big");
        assert_eq!(
            err,
            BundleError::FileTooLarge {
                path: "assets/big".into(),
                size: 13,
                limit: 12
            }
        );
        let mut entries = base(); // 12 + 4 bytes
        entries.push(file("assets/a", &[1; 9]));
        entries.push(file("assets/b", &[1; 1]));
        let err = Bundle::read(&bundle_of(&entries), &limits).expect_err("total");
        assert_eq!(
            err,
            BundleError::TotalTooLarge {
                path: "assets/b".into(),
                total: 26,
                limit: 25
            }
        );
    }

    #[test]
    fn stops_a_compression_bomb_early() {
        // 16 MiB of zeros fits max_file_bytes but deflates about a thousandfold.
        let zeros = vec![0_u8; 16 * 1024 * 1024];
        let bomb = with(file("assets/zeros", &zeros));
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        let err = read(&bomb).expect_err("bomb");
        let BundleError::CompressionBomb {
            entry,
            decompressed,
            compressed,
            limit,
        } = &err
        else {
            panic!("expected a bomb, got {err}");
        };
        assert_eq!(entry.as_deref(), Some("assets/zeros"));
        assert_eq!((*compressed, *limit), (bomb.len() as u64, 100));
        assert!(
            *decompressed <= compressed * 100 + METER_STEP as u64 + RATIO_GRACE_BYTES,
            "stopped early: {decompressed}"
        );
        assert!(err.to_string().contains("\"assets/zeros\""), "{err}");
    }

    #[test]
    fn stops_zeros_after_the_archive_end() {
        // A valid archive followed by a long run of zeros inside the gzip stream.
        let mut tar = tar_of(&base());
        tar.resize(tar.len() + 8 * 1024 * 1024, 0);
        let err = read(&gz(&tar)).expect_err("bomb in padding");
        assert!(matches!(err, BundleError::CompressionBomb { .. }), "{err}");
        let limits = BundleLimits {
            max_total_bytes: 16,
            max_entries: 2,
            max_ratio: u64::MAX,
            ..BundleLimits::default()
        };
        let err = Bundle::read(&gz(&tar), &limits).expect_err("stream too large");
        assert!(matches!(err, BundleError::StreamTooLarge { .. }), "{err}");
    }

    #[test]
    fn refuses_missing_or_bad_manifests() {
        assert_eq!(
            read(&bundle_of(&[file(MODULE_FILE, b"")])),
            Err(BundleError::MissingManifest)
        );
        assert_eq!(
            read(&bundle_of(&[file(MANIFEST_FILE, b"{}")])),
            Err(BundleError::MissingModule)
        );
        assert_eq!(read(&bundle_of(&[])), Err(BundleError::MissingManifest));
        let manifest = |bytes: &[u8]| read(&bundle_of(&[file(MANIFEST_FILE, bytes), file(MODULE_FILE, b"")]));
        assert!(matches!(
            manifest(b"{\"a\":\"\xff\"}"),
            Err(BundleError::ManifestNotUtf8 { .. })
        ));
        assert!(matches!(manifest(b"{"), Err(BundleError::ManifestNotJson { .. })));
        assert_eq!(
            manifest(b"\"text\""),
            Err(BundleError::ManifestNotObject { found: "string" })
        );
        assert!(manifest(b" {} ").is_ok());
    }

    #[test]
    fn any_tampered_byte_is_refused_or_changes_the_digest() {
        let good = pack(&contents()).expect("pack");
        let digest = Digest::of(&good);
        for i in 0..good.len() {
            for flip in [0x01, 0x10, 0x80] {
                let mut bytes = good.clone();
                bytes[i] ^= flip;
                if let Ok(bundle) = read(&bytes) {
                    assert_ne!(bundle.digest(), digest, "byte {i}");
                    // What slips through (gzip mtime/xfl/os, deflate padding bits, a back-reference
                    // to another run of zeros) inflates to the same archive: the CRC saw to that.
                    assert_eq!(bundle.contents(), &contents(), "byte {i}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = read(&bytes);
        }

        #[test]
        fn reading_arbitrary_gzip_never_panics(tar in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let _ = read(&gz(&tar));
        }

        #[test]
        fn reading_mutated_bundles_never_panics(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
        ) {
            let mut tar = tar_of(&base());
            for (at, byte) in edits {
                let at = at % tar.len();
                tar[at] = byte;
            }
            let _ = read(&gz(&tar));
        }

        #[test]
        fn pack_read_round_trips_any_contents(
            module in proptest::collection::vec(any::<u8>(), 0..512),
            assets in proptest::collection::btree_map("[a-z0-9_.-]{1,12}(/[a-z0-9_-]{1,12}){0,2}", proptest::collection::vec(any::<u8>(), 0..64), 0..5),
        ) {
            prop_assume!(assets.keys().all(|k| k.split('/').all(|s| s != "." && s != "..")));
            let c = BundleContents { manifest: b"{}".to_vec(), module, assets };
            let bytes = pack(&c).expect("pack");
            prop_assert_eq!(read(&bytes).expect("read").into_contents(), c);
        }
    }
}
