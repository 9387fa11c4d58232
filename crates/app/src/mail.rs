//! A mailer that keeps what it sends in memory, for tests.

use crate::ports::{Mail, Mailer, RemoteError};
use async_trait::async_trait;
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
    async fn send(&self, mail: &Mail) -> Result<(), RemoteError> {
        self.sent.lock().expect("not poisoned").push(mail.clone());
        Ok(())
    }
}
