//! Mailers that keep what they send: in memory (tests) or as files in a folder (development).

use crate::ports::{Mail, Mailer};
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::Mutex;

/// Keeps every mail in memory; tests read them back.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    sent: Mutex<Vec<Mail>>,
}

impl MemoryMailer {
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().expect("not poisoned").clone()
    }

    /// The last mail sent to `to`.
    pub fn last_to(&self, to: &str) -> Option<Mail> {
        self.sent().into_iter().rev().find(|m| m.to == to)
    }
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        self.sent.lock().expect("not poisoned").push(mail.clone());
        Ok(())
    }
}

/// Writes each mail as an `.eml` file into a folder (the data folder's `mail/` by default), for
/// a development machine without SMTP. The folder is private to the operator.
#[derive(Debug)]
pub struct DirectoryMailer {
    dir: PathBuf,
}

impl DirectoryMailer {
    pub fn new(dir: PathBuf) -> DirectoryMailer {
        DirectoryMailer { dir }
    }
}

#[async_trait]
impl Mailer for DirectoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| format!("cannot create the mail folder: {e}"))?;
        let name = format!("{}.eml", uuid::Uuid::now_v7());
        let text = format!("To: {}\r\nSubject: {}\r\n\r\n{}\r\n", mail.to, mail.subject, mail.body);
        tokio::fs::write(self.dir.join(name), text).await.map_err(|e| format!("cannot write a mail: {e}"))
    }
}
