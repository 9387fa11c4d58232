//! Each mail as an `.eml` file in a folder: for a development machine without SMTP.

use async_trait::async_trait;
use custos_app::ports::{Mail, Mailer};
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
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| format!("cannot create the mail folder: {e}"))?;
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let text = crate::smtp::message("custos@localhost", mail, now);
        tokio::fs::write(self.dir.join(name), text).await.map_err(|e| format!("cannot write a mail: {e}"))
    }
}
