//! `[mail]`: SMTP for production, or a folder of `.eml` files when no server is configured.

use custos_app::Mailer;
use custos_mail::{FolderMailer, SmtpMailer, SmtpSettings, TlsMode};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The sender address.
    pub from: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// "starttls" (default), "implicit" or "none" (a relay on this machine only).
    pub tls: Option<String>,
    pub username: Option<String>,
    /// The password, from a file (trailing newline ignored) or an environment variable.
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// Extra CA certificates (PEM) for a relay with a private CA.
    pub ca_file: Option<PathBuf>,
    pub timeout_seconds: Option<u64>,
}

impl MailConfig {
    /// The mailer: SMTP when `smtp_host` is set, else `<data_dir>/mail`.
    pub fn build(&self, data_dir: &Path) -> Result<(Arc<dyn Mailer>, String), String> {
        let Some(host) = self.smtp_host.clone().filter(|h| !h.trim().is_empty()) else {
            let dir = data_dir.join("mail");
            let what = format!("mail is written to {} (no [mail] smtp_host)", dir.display());
            return Ok((Arc::new(FolderMailer::new(dir)), what));
        };
        let tls = match self.tls.as_deref().unwrap_or("starttls") {
            "starttls" => TlsMode::StartTls,
            "implicit" => TlsMode::Implicit,
            "none" => TlsMode::None,
            other => return Err(format!("mail.tls must be starttls, implicit or none, not {other:?}")),
        };
        let port = self.smtp_port.unwrap_or(if tls == TlsMode::Implicit { 465 } else { 587 });
        let password = match (&self.password_file, &self.password_env) {
            (Some(f), None) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("mail.password_file {}: {e}", f.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
            ),
            (None, Some(v)) => Some(std::env::var(v).map_err(|_| format!("mail.password_env: {v} is not set"))?),
            (None, None) => None,
            (Some(_), Some(_)) => return Err("mail: set password_file or password_env, not both".into()),
        };
        if self.username.is_some() != password.is_some() {
            return Err("mail: set both username and a password, or neither".into());
        }
        let from = self.from.clone().ok_or("mail.from is required with smtp_host")?;
        let timeout = Duration::from_secs(self.timeout_seconds.unwrap_or(30).clamp(1, 300));
        let settings = SmtpSettings {
            host: host.clone(),
            port,
            tls,
            username: self.username.clone(),
            password,
            from,
            ca_file: self.ca_file.clone(),
            timeout,
        };
        Ok((
            Arc::new(SmtpMailer::new(settings).map_err(|e| e.to_string())?),
            format!("mail goes through {host}:{port}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> MailConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn no_server_writes_to_the_data_folder_and_bad_settings_are_refused() {
        let (_, what) = MailConfig::default().build(Path::new("/tmp/custos-x")).unwrap();
        assert!(what.contains("/tmp/custos-x/mail"));
        let err = |t: &str| parse(t).build(Path::new("/tmp")).err().unwrap();
        assert!(err("smtp_host = \"smtp.example.com\"").contains("mail.from"));
        assert!(err("smtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"\ntls = \"ssl\"").contains("starttls"));
        assert!(
            err("smtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"\ntls = \"none\"").contains("this machine")
        );
        assert!(err("smtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"\nusername = \"u\"").contains("both"));
        assert!(err(
            "smtp_host = \"h\"\nfrom = \"a@example.com\"\nusername = \"u\"\npassword_env = \"CUSTOS_TEST_NO_SUCH\""
        )
        .contains("not set"));
        let (_, what) =
            parse("smtp_host = \"smtp.example.com\"\nfrom = \"a@example.com\"").build(Path::new("/tmp")).unwrap();
        assert_eq!(what, "mail goes through smtp.example.com:587");
    }
}
