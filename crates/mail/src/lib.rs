//! Mailers: SMTP for production (by `lettre`: STARTTLS required or implicit TLS, AUTH PLAIN), a
//! folder of `.eml` files for development. Mail content is personal data: nothing of it is logged.

mod folder;
mod smtp;

pub use folder::FolderMailer;
pub use smtp::{SmtpMailer, SmtpSettings, SmtpSetupError, TlsMode};
