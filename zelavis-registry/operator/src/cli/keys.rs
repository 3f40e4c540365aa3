//! `zelavis keygen`: an Ed25519 release signing key as two PEM files OpenSSL reads, and its keyring entry.

use std::path::Path;

use serde::Serialize;
use zelavis_operator::keyring::{
    KeyEntry, KeyFileEntry, Keyring, MAX_KID_LEN, generate_signing_key, signing_key_to_pem, verifying_key_to_pem,
};
use zelavis_operator::time::{Clock as _, SystemClock};

use super::args::KeygenArgs;
use super::exit::{CONFLICT, Failure};
use super::input::{exists, write_atomically, write_new};
use super::licenses::load_keyring;
use super::output::{Output, fields};

/// What `keygen --json` prints.
#[derive(Debug, Serialize)]
struct Generated<'a> {
    kid: &'a str,
    /// The private key file (PKCS#8 PEM, mode 0600).
    private_key: &'a Path,
    /// The public key file (SPKI PEM).
    public_key: &'a Path,
    /// The keyring file the key was added to, if any.
    keyring: Option<&'a Path>,
    /// The key's keyring entry.
    entry: &'a KeyFileEntry,
}

/// Runs `keygen`. `keyring` is the keyring file to add the key to (only a `--keyring` given on the command
/// line: a keyring named by `ZELAVIS_KEYRING` is never written behind the operator's back).
pub(crate) fn keygen(out: Output, args: &KeygenArgs, keyring: Option<&Path>) -> Result<(), Failure> {
    let kid = args.kid.trim();
    check_kid(kid)?;
    let private_path = args.out.join(format!("{kid}.key.pem"));
    let public_path = args.out.join(format!("{kid}.pub.pem"));
    for path in [&private_path, &public_path] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(exists(path));
        }
    }
    // Everything is checked before anything is written.
    let mut ring = match keyring {
        Some(path) if std::fs::symlink_metadata(path).is_ok() => load_keyring(path)?,
        _ => Keyring::new(),
    };
    if let Some(path) = keyring
        && ring.get(kid).is_some()
    {
        return Err(Failure::refused(
            "kid_exists",
            CONFLICT,
            format!("the keyring {} holds a key {kid:?} already", path.display()),
        ));
    }

    let key = generate_signing_key().map_err(|e| Failure::Internal(e.to_string()))?;
    let private_pem = signing_key_to_pem(&key).map_err(|e| Failure::Internal(e.to_string()))?;
    let public_pem = verifying_key_to_pem(&key.verifying_key()).map_err(|e| Failure::Internal(e.to_string()))?;
    // Valid from a little before now, so a signer whose clock is behind by up to the accepted skew is not
    // refused with `key_not_valid`.
    let now = SystemClock
        .now()
        .add_secs(-zelavis_operator::signature::MAX_CLOCK_SKEW_SECS);
    let entry = KeyFileEntry {
        kid: kid.to_owned(),
        public_key_pem: public_pem.clone(),
        not_before: now,
        not_after: None,
        revoked_at: None,
    };
    let keyring_text = match keyring {
        Some(_) => {
            ring.insert(KeyEntry::new(kid, key.verifying_key(), now));
            Some(ring.to_json().map_err(|e| Failure::Internal(e.to_string()))? + "\n")
        }
        None => None,
    };

    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::usage("file_unwritable", format!("cannot create {}: {e}", args.out.display())))?;
    write_new(&private_path, private_pem.as_bytes(), true)?;
    let rest = write_new(&public_path, public_pem.as_bytes(), false).and_then(|()| match (keyring, &keyring_text) {
        (Some(path), Some(text)) => write_atomically(path, text.as_bytes()),
        _ => Ok(()),
    });
    if let Err(failure) = rest {
        // Nothing half-made is left: the key pair is all or nothing.
        for path in [&private_path, &public_path] {
            let _ = std::fs::remove_file(path);
        }
        return Err(failure);
    }

    let shown = Generated {
        kid,
        private_key: &private_path,
        public_key: &public_path,
        keyring,
        entry: &entry,
    };
    if out.json() {
        Output::json_value(&shown);
        return Ok(());
    }
    let written = format!(
        "wrote {} (secret, mode 0600) and {}",
        private_path.display(),
        public_path.display()
    );
    if let Some(path) = keyring {
        out.done(&shown, || {
            format!(
                "{written}\nadded key {kid:?} to the keyring {} ({} keys)\n{}",
                path.display(),
                ring.len(),
                fields(&[("kid", kid.to_owned()), ("not before", now.to_string())])
            )
        });
    } else {
        // The entry is the data (`zelavis keygen --kid k > entry.json`); the note goes to stderr.
        out.data(&entry, || serde_json::to_string_pretty(&entry).unwrap_or_default());
        if !out.quiet() {
            Output::error(&format!(
                "{written}\nadd the entry above to the hosts' keyring file (\"keys\": [...])"
            ));
        }
    }
    Ok(())
}

/// A key id that can name files: 1 to [`MAX_KID_LEN`] letters, digits, `.`, `_` and `-`, not starting with `.`
/// or `-`.
fn check_kid(kid: &str) -> Result<(), Failure> {
    let ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !kid.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(
            "invalid_kid",
            format!(
                "--kid {:?} must be 1 to {MAX_KID_LEN} letters, digits, '.', '_' or '-' (it names the key files), \
                 not starting with '.' or '-'",
                kid.chars().take(64).collect::<String>()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_name_files() {
        assert!(check_kid("acme-2026").is_ok());
        assert!(check_kid("rel_1.a").is_ok());
        for bad in ["", ".hidden", "-x", "a/b", "../x", "a b", "é"] {
            assert!(check_kid(bad).is_err(), "{bad:?}");
        }
        assert!(check_kid(&"k".repeat(MAX_KID_LEN + 1)).is_err());
    }
}
