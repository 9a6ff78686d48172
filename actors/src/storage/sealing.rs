//! `SecretBox`: encrypts the secrets laicai stores (exchange API keys and
//! secrets) so the database never holds them in clear. ChaCha20-Poly1305
//! from `ring` (already the TLS provider), a fresh random nonce per value.
//!
//! The key comes from `LAICAI_SECRET_KEY` (64 hex digits, 32 bytes) or,
//! without it, from `secret.key` next to the database, generated on first
//! use and readable by its owner only (0600). Lose the key and the stored
//! secrets are lost with it: the connections must be created again.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::{Path, PathBuf};

pub const KEY_ENV: &str = "LAICAI_SECRET_KEY";
pub const KEY_FILE: &str = "secret.key";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{KEY_ENV} must be 64 hex digits (32 bytes)")]
    BadEnvKey,
    #[error("{path} must hold 64 hex digits (32 bytes); it does not")]
    BadKeyFile { path: PathBuf },
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no randomness available from the operating system")]
    Random,
    #[error("a stored secret does not open with this key (was {KEY_ENV} or {KEY_FILE} changed?)")]
    WrongKey,
}

#[derive(Debug)]
pub struct SecretBox {
    key: LessSafeKey,
    random: SystemRandom,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect()
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Result<SecretBox, SealError> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| SealError::BadEnvKey)?;
        Ok(SecretBox {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// The key from `env_key` (the value of `LAICAI_SECRET_KEY`, if set)
    /// or from `dir/secret.key`, created if missing.
    pub fn load(env_key: Option<&str>, dir: &Path) -> Result<SecretBox, SealError> {
        if let Some(text) = env_key.filter(|t| !t.trim().is_empty()) {
            let key = unhex(text)
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .ok_or(SealError::BadEnvKey)?;
            return SecretBox::new(&key);
        }
        let path = dir.join(KEY_FILE);
        let io = |source| SealError::KeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                restrict(&path).map_err(io)?;
                let key = unhex(&text)
                    .and_then(|k| <[u8; 32]>::try_from(k).ok())
                    .ok_or_else(|| SealError::BadKeyFile { path: path.clone() })?;
                SecretBox::new(&key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| SealError::Random)?;
                create_private(&path, &hex(&key)).map_err(io)?;
                tracing::info!(path = %path.display(), "generated the key that encrypts stored secrets");
                SecretBox::new(&key)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// `nonce ‖ ciphertext ‖ tag`, hex.
    pub fn seal(&self, clear: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut data = clear.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| SealError::Random)?;
        Ok(format!("{}{}", hex(&nonce), hex(&data)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        let bytes = unhex(sealed).ok_or(SealError::WrongKey)?;
        if bytes.len() < NONCE_LEN {
            return Err(SealError::WrongKey);
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::WrongKey)?;
        let mut data = data.to_vec();
        let clear = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(clear.to_vec()).map_err(|_| SealError::WrongKey)
    }
}

/// Writes a new file only its owner can read.
fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Takes back group and other access from an existing key file.
fn restrict(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the key file was readable by others; made it 0600");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(what: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "laicai-seal-{what}-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_generated_key_file_is_private_and_opens_what_it_sealed() {
        let d = dir("file");
        let a = SecretBox::load(None, &d).unwrap();
        let sealed = a.seal("my-api-secret").unwrap();
        assert!(!sealed.contains("my-api-secret"));
        assert_ne!(sealed, a.seal("my-api-secret").unwrap(), "fresh nonce");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The same file next time: the same key.
        let b = SecretBox::load(None, &d).unwrap();
        assert_eq!(b.open(&sealed).unwrap(), "my-api-secret");
        // Another key cannot open it, and tampering is caught.
        let other = SecretBox::load(Some(&"ab".repeat(32)), &d).unwrap();
        assert!(matches!(other.open(&sealed), Err(SealError::WrongKey)));
        let mut bent = sealed.clone().into_bytes();
        let last = bent.len() - 1;
        bent[last] = if bent[last] == b'0' { b'1' } else { b'0' };
        let bent = String::from_utf8(bent).unwrap();
        assert!(matches!(b.open(&bent), Err(SealError::WrongKey)));
        assert!(matches!(
            SecretBox::load(Some("not-hex"), &d),
            Err(SealError::BadEnvKey)
        ));
    }
}
