//! Vendor credentials: read from a file (re-read when it changes, so a key is rotated without a
//! restart) or from the environment; never logged, never stored.

use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

enum Source {
    File(PathBuf),
    Env(String),
    Literal(String),
}

/// Why a credential could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("environment variable {0} is not set")]
    EnvUnset(String),
    #[error("credential file {0}: {1}")]
    File(String, std::io::ErrorKind),
    #[error("{0} is empty")]
    Empty(String),
}

pub struct Secret {
    source: Source,
    /// The file's last modification time and content.
    cached: Mutex<Option<(SystemTime, String)>>,
}

impl Secret {
    /// A secret kept in a file (its whole content, trimmed).
    pub fn file(path: impl Into<PathBuf>) -> Secret {
        Secret { source: Source::File(path.into()), cached: Mutex::new(None) }
    }

    /// A secret in an environment variable.
    pub fn env(var: impl Into<String>) -> Secret {
        Secret { source: Source::Env(var.into()), cached: Mutex::new(None) }
    }

    /// A secret given directly (tests).
    pub fn literal(value: impl Into<String>) -> Secret {
        Secret { source: Source::Literal(value.into()), cached: Mutex::new(None) }
    }

    /// The current value. A file is read again whenever its modification time changes.
    pub fn read(&self) -> Result<String, CredentialError> {
        let value = match &self.source {
            Source::Literal(v) => v.clone(),
            Source::Env(var) => std::env::var(var).map_err(|_| CredentialError::EnvUnset(var.clone()))?,
            Source::File(path) => {
                let modified = std::fs::metadata(path)
                    .and_then(|m| m.modified())
                    .map_err(|e| CredentialError::File(path.display().to_string(), e.kind()))?;
                let mut cached = self.cached.lock().expect("secret lock");
                match cached.as_ref() {
                    Some((at, v)) if *at == modified => v.clone(),
                    _ => {
                        let v = std::fs::read_to_string(path)
                            .map_err(|e| CredentialError::File(path.display().to_string(), e.kind()))?
                            .trim()
                            .to_owned();
                        *cached = Some((modified, v.clone()));
                        v
                    }
                }
            }
        };
        if value.is_empty() {
            return Err(CredentialError::Empty(format!("{self:?}")));
        }
        Ok(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::File(p) => write!(f, "secret in file {}", p.display()),
            Source::Env(v) => write!(f, "secret in ${v}"),
            Source::Literal(_) => f.write_str("secret (given directly)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_secret_is_read_again_after_it_changes_and_never_printed() {
        let dir = std::env::temp_dir().join(format!("custos-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "first-key\n").unwrap();
        let s = Secret::file(&path);
        assert_eq!(s.read().unwrap(), "first-key");
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "second-key-longer").unwrap();
        assert_eq!(s.read().unwrap(), "second-key-longer");
        assert!(!format!("{s:?}").contains("second-key"));
        std::fs::write(&path, "  ").unwrap();
        let empty = s.read().unwrap_err();
        assert!(matches!(empty, CredentialError::Empty(_)) && empty.to_string().contains("is empty"));
        let unset = Secret::env("CUSTOS_TEST_SURELY_UNSET_VAR").read().unwrap_err();
        assert!(matches!(unset, CredentialError::EnvUnset(_)) && unset.to_string().contains("not set"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
