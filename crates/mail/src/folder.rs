//! Each mail as an `.eml` file in a folder: for a development machine without SMTP.

use async_trait::async_trait;
use custos_app::ports::{Mail, Mailer, RemoteError};
use std::path::PathBuf;

#[derive(Debug)]
pub struct FolderMailer {
    dir: PathBuf,
}

impl FolderMailer {
    pub fn new(dir: PathBuf) -> FolderMailer {
        FolderMailer { dir }
    }
}

#[async_trait]
impl Mailer for FolderMailer {
    async fn send(&self, mail: &Mail) -> Result<(), RemoteError> {
        let failed = |what: &str, e: std::io::Error| RemoteError::Unavailable(format!("cannot {what}: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| failed("create the mail folder", e))?;
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let from = "custos@localhost".parse().expect("a valid address");
        let text = crate::smtp::message(&from, mail)?.formatted();
        tokio::fs::write(self.dir.join(name), text).await.map_err(|e| failed("write a mail", e))
    }
}
