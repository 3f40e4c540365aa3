//! `zelavis bundle ...`: packing a plugin directory reproducibly, signing a bundle, verifying a signed bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zelavis_operator::bundle::{ASSETS_DIR, Bundle, BundleContents, BundleLimits, MANIFEST_FILE, MODULE_FILE, pack};
use zelavis_operator::digest::Digest;
use zelavis_operator::keyring::{MAX_KID_LEN, signing_key_from_pem};
use zelavis_operator::signature::{ReleaseRecord, SignedRelease, verify};
use zelavis_operator::time::{Clock as _, SystemClock, Timestamp};
use zelavis_plugin::manifest::PluginManifest;

use super::args::BundleCommand;
use super::exit::{Failure, REFUSED};
use super::input::{read_bytes, read_input, signature_path, write_atomically};
use super::licenses::load_keyring;
use super::output::{Output, fields, list};

/// Runs a `bundle` command; `keyring` is `--keyring` (needed by `verify`).
pub(crate) fn run(out: Output, command: &BundleCommand, keyring: Option<&Path>) -> Result<(), Failure> {
    match command {
        BundleCommand::Pack { dir, out: file } => pack_dir(out, dir, file),
        BundleCommand::Sign {
            bundle,
            key,
            kid,
            publisher,
            out: file,
        } => sign(out, bundle, key, kid, publisher, file.as_deref()),
        BundleCommand::Verify { bundle, sig } => {
            let Some(keyring) = keyring else {
                return Err(Failure::usage(
                    "no_keyring",
                    "bundle verify needs the keyring to verify against: pass --keyring <file> or set ZELAVIS_KEYRING",
                ));
            };
            verify_bundle(out, bundle, sig.as_deref(), keyring)
        }
    }
}

/// What `bundle pack --json` prints.
#[derive(Debug, Serialize)]
struct Packed<'a> {
    bundle: &'a Path,
    sha256: Digest,
    bytes: usize,
    plugin: String,
    version: String,
    /// Every file, by its path in the bundle.
    files: Vec<String>,
    /// What the directory held that a bundle does not (left out).
    skipped: Vec<String>,
}

/// `bundle pack`.
fn pack_dir(out: Output, dir: &Path, file: &Path) -> Result<(), Failure> {
    let limits = BundleLimits::default();
    let (contents, skipped) = read_dir(dir, &limits)?;
    let manifest = manifest_of(&contents.manifest, &dir.join(MANIFEST_FILE))?;
    let bytes = pack(&contents).map_err(|e| invalid_bundle(format!("cannot pack {}: {e}", dir.display())))?;
    // Refuse now what every host would refuse later.
    let bundle = Bundle::read(&bytes, &limits).map_err(|e| {
        invalid_bundle(format!(
            "the bundle packed from {} would be refused: {e}",
            dir.display()
        ))
    })?;
    write_atomically(file, &bytes)?;
    let mut files = vec![MANIFEST_FILE.to_owned(), MODULE_FILE.to_owned()];
    files.extend(contents.assets.keys().map(|k| format!("{ASSETS_DIR}/{k}")));
    files.sort();
    let packed = Packed {
        bundle: file,
        sha256: bundle.digest(),
        bytes: bytes.len(),
        plugin: manifest.name.to_string(),
        version: manifest.version.to_string(),
        files,
        skipped,
    };
    if out.quiet() && !out.json() {
        out.data(&packed, || packed.sha256.to_string());
        return Ok(());
    }
    out.data(&packed, || {
        fields(&[
            ("bundle", file.display().to_string()),
            ("plugin", format!("{}@{}", packed.plugin, packed.version)),
            ("files", list(&packed.files)),
            ("skipped", list(&packed.skipped)),
            ("bytes", packed.bytes.to_string()),
            ("sha256", packed.sha256.to_string()),
        ])
    });
    Ok(())
}

fn invalid_bundle(message: String) -> Failure {
    Failure::usage("invalid_bundle", message)
}

/// The manifest, which must be a valid plugin manifest.
fn manifest_of(bytes: &[u8], path: &Path) -> Result<PluginManifest, Failure> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Failure::usage("invalid_manifest", format!("{} is not UTF-8", path.display())))?;
    PluginManifest::from_json(text).map_err(|e| {
        Failure::usage(
            "invalid_manifest",
            format!("{} is not a valid manifest: {e}", path.display()),
        )
    })
}

/// The files of a plugin directory: the manifest, the module, `assets/**` (plain files only), and the names of
/// what else it holds.
fn read_dir(dir: &Path, limits: &BundleLimits) -> Result<(BundleContents, Vec<String>), Failure> {
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| {
        Failure::usage("file_unreadable", format!("cannot read {}: {e}", path.display()))
    };
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, &e))?;
    let mut skipped = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != MANIFEST_FILE && name != MODULE_FILE && name != ASSETS_DIR {
            skipped.push(name);
        }
    }
    skipped.sort();
    let manifest = plain_file(&dir.join(MANIFEST_FILE), limits)?;
    let module = plain_file(&dir.join(MODULE_FILE), limits)?;
    let mut assets = BTreeMap::new();
    let assets_dir = dir.join(ASSETS_DIR);
    match std::fs::symlink_metadata(&assets_dir) {
        Ok(meta) if meta.is_dir() => walk_assets(&assets_dir, "", limits, &mut assets)?,
        Ok(_) => {
            return Err(invalid_bundle(format!("{} is not a directory", assets_dir.display())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(unreadable(&assets_dir, &e)),
    }
    Ok((
        BundleContents {
            manifest,
            module,
            assets,
        },
        skipped,
    ))
}

/// A regular file (not a link) of at most the bundle's file limit.
fn plain_file(path: &Path, limits: &BundleLimits) -> Result<Vec<u8>, Failure> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(invalid_bundle(format!(
                "{} is a symbolic link; a bundle holds plain files",
                path.display()
            )));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(invalid_bundle(format!(
                "{} is missing: a plugin directory holds {MANIFEST_FILE}, {MODULE_FILE} and optional {ASSETS_DIR}/",
                path.display()
            )));
        }
        Err(e) => {
            return Err(Failure::usage(
                "file_unreadable",
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
    read_bytes(path, "the file", limits.max_file_bytes, |_| {})
}

fn walk_assets(
    dir: &Path,
    prefix: &str,
    limits: &BundleLimits,
    assets: &mut BTreeMap<String, Vec<u8>>,
) -> Result<(), Failure> {
    let unreadable =
        |e: &dyn std::fmt::Display| Failure::usage("file_unreadable", format!("cannot read {}: {e}", dir.display()));
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| unreadable(&e))? {
        entries.push(entry.map_err(|e| unreadable(&e))?);
    }
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(invalid_bundle(format!("{} is not a UTF-8 file name", path.display())));
        };
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry.file_type().map_err(|e| unreadable(&e))?;
        if kind.is_dir() {
            walk_assets(&path, &key, limits, assets)?;
        } else if kind.is_file() {
            if assets.len() >= limits.max_entries {
                return Err(invalid_bundle(format!(
                    "{} holds more than {} files",
                    dir.display(),
                    limits.max_entries
                )));
            }
            let bytes = read_bytes(&path, "the asset", limits.max_file_bytes, |_| {})?;
            assets.insert(key, bytes);
        } else {
            return Err(invalid_bundle(format!(
                "{} is not a plain file or directory (a link?); a bundle holds plain files",
                path.display()
            )));
        }
    }
    Ok(())
}

/// What `bundle sign --json` prints.
#[derive(Debug, Serialize)]
struct Signed<'a> {
    signature_file: &'a Path,
    record: &'a ReleaseRecord,
}

/// `bundle sign`.
fn sign(
    out: Output,
    bundle_path: &Path,
    key: &Path,
    kid: &str,
    publisher: &str,
    file: Option<&Path>,
) -> Result<(), Failure> {
    let kid = kid.trim();
    if kid.is_empty() || kid.len() > MAX_KID_LEN || !kid.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Failure::usage(
            "invalid_kid",
            format!("--kid must be 1 to {MAX_KID_LEN} printable ASCII characters without blanks"),
        ));
    }
    let publisher = publisher.trim();
    if publisher.is_empty() || publisher.len() > 256 || publisher.chars().any(char::is_control) {
        return Err(Failure::usage(
            "invalid_publisher",
            "--publisher must be 1 to 256 bytes without control characters",
        ));
    }
    let limits = BundleLimits::default();
    let bytes = read_bytes(bundle_path, "the bundle", limits.max_bundle_bytes, |_| {})?;
    let bundle = Bundle::read(&bytes, &limits)
        .map_err(|e| invalid_bundle(format!("the bundle {} is refused: {e}", bundle_path.display())))?;
    let pem = read_input(key, "the private key")?;
    let signing = signing_key_from_pem(&pem).map_err(|e| {
        Failure::usage(
            "invalid_key",
            format!("the private key {} is refused: {e}", key.display()),
        )
    })?;
    let record = ReleaseRecord::for_bundle(&bundle, publisher, kid, SystemClock.now())
        .map_err(|e| invalid_bundle(format!("the bundle {} cannot be signed: {e}", bundle_path.display())))?;
    let signed = record.sign(&signing);
    let file = file.map_or_else(|| signature_path(bundle_path), Path::to_path_buf);
    write_atomically(&file, (signed.to_json() + "\n").as_bytes())?;
    let shown = Signed {
        signature_file: &file,
        record: &signed.record,
    };
    out.done(&shown, || {
        format!(
            "signed {}@{}\n{}",
            record.plugin,
            record.version,
            record_fields(&record, &[("signature", file.display().to_string())])
        )
    });
    Ok(())
}

fn record_fields(record: &ReleaseRecord, more: &[(&str, String)]) -> String {
    let mut pairs = vec![
        ("plugin", record.plugin.clone()),
        ("version", record.version.to_string()),
        ("publisher", record.publisher.clone()),
        ("kid", record.kid.clone()),
        ("published", record.published_at.to_string()),
        ("bundle sha256", record.bundle_sha256.to_string()),
        ("manifest sha256", record.manifest_sha256.to_string()),
    ];
    pairs.extend(more.iter().cloned());
    fields(&pairs)
}

/// What `bundle verify --json` prints.
#[derive(Debug, Serialize)]
struct VerifyReport<'a> {
    verified: bool,
    #[serde(flatten)]
    record: &'a ReleaseRecord,
    /// When it was verified.
    at: Timestamp,
    /// The files the bundle holds.
    files: Vec<String>,
}

/// Reads a signature file (`<bundle>.sig` by default).
pub(crate) fn read_signature(bundle: &Path, sig: Option<&Path>) -> Result<SignedRelease, Failure> {
    let path: PathBuf = sig.map_or_else(|| signature_path(bundle), Path::to_path_buf);
    let text = read_input(&path, "the signature file")?;
    SignedRelease::from_json(text.trim()).map_err(Failure::Signature)
}

/// `bundle verify`.
fn verify_bundle(out: Output, bundle_path: &Path, sig: Option<&Path>, keyring: &Path) -> Result<(), Failure> {
    let keyring = load_keyring(keyring)?;
    let limits = BundleLimits::default();
    let signed = read_signature(bundle_path, sig)?;
    let bytes = read_bytes(bundle_path, "the bundle", limits.max_bundle_bytes, |_| {})?;
    let now = SystemClock.now();
    let verified = verify(&signed, &bytes, &keyring, &limits, now).map_err(Failure::Signature)?;
    let text = std::str::from_utf8(verified.bundle.manifest_bytes()).unwrap_or_default();
    PluginManifest::from_json(text).map_err(|e| {
        Failure::refused(
            "bad_manifest",
            REFUSED,
            format!("the bundle's {MANIFEST_FILE} is not a valid manifest: {e}"),
        )
    })?;
    let mut files = vec![MANIFEST_FILE.to_owned(), MODULE_FILE.to_owned()];
    files.extend(verified.bundle.assets().keys().map(|k| format!("{ASSETS_DIR}/{k}")));
    files.sort();
    let record = &verified.record;
    let shown = VerifyReport {
        verified: true,
        record,
        at: now,
        files,
    };
    out.data(&shown, || {
        format!(
            "verified {}@{}: signed by key {:?}, bundle and manifest intact\n{}",
            record.plugin,
            record.version,
            record.kid,
            record_fields(record, &[("files", list(&shown.files))])
        )
    });
    Ok(())
}
