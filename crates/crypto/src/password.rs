//! Passwords: Argon2id hashes with OWASP's parameters, and the rules a new password must meet
//! (length, and a strength estimate that refuses common and guessable ones).

use crate::random_bytes;
use argon2::password_hash::SaltString;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use std::sync::OnceLock;

/// Fewer characters than this are refused.
pub const MIN_CHARS: usize = 12;
/// More than this are refused too: hashing unbounded input is a denial-of-service lever.
pub const MAX_CHARS: usize = 128;
/// The lowest acceptable zxcvbn score (0–4): 3 is "safely unguessable".
const MIN_SCORE: u8 = 3;

/// Why a new password was refused. The message is for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    #[error("a password needs at least {MIN_CHARS} characters")]
    TooShort,
    #[error("a password may have at most {MAX_CHARS} characters")]
    TooLong,
    #[error("this password is too easy to guess{0}")]
    TooWeak(String),
}

/// Checks a new password. `related` are words an attacker would try first for this account
/// (the e-mail address, the service's name).
pub fn check_strength(password: &str, related: &[&str]) -> Result<(), PasswordRejected> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordRejected::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordRejected::TooLong);
    }
    let estimate = zxcvbn::zxcvbn(password, related);
    if u8::from(estimate.score()) < MIN_SCORE {
        let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(": {w}")).unwrap_or_default();
        return Err(PasswordRejected::TooWeak(hint));
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // OWASP's recommendation: 19 MiB, two passes, one lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of an Argon2id hash of `password` with a fresh salt. CPU-heavy (tens of
/// milliseconds): call it off the async executor.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt");
    argon2().hash_password(password.as_bytes(), &salt).expect("hashing in memory cannot fail").to_string()
}

/// Whether `password` matches the PHC string `hash`. A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the time of one verification without an account, so that an unknown e-mail cannot be
/// told from a wrong password by timing.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("custos dummy password, never matches"));
    let _ = verify_password(password, hash);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_common_and_personal_passwords_are_refused() {
        assert_eq!(check_strength("Tr0ub4dor&3", &[]), Err(PasswordRejected::TooShort));
        assert_eq!(check_strength(&"x".repeat(129), &[]), Err(PasswordRejected::TooLong));
        assert!(matches!(check_strength("password1234", &[]), Err(PasswordRejected::TooWeak(_))));
        assert!(matches!(check_strength("qwertyuiop123", &[]), Err(PasswordRejected::TooWeak(_))));
        assert!(matches!(check_strength("aaaaaaaaaaaaaaaa", &[]), Err(PasswordRejected::TooWeak(_))));
        assert!(matches!(
            check_strength("alice.smith1990", &["alice.smith1990@example.com", "alice.smith1990"]),
            Err(PasswordRejected::TooWeak(_))
        ));
        assert_eq!(check_strength("correct horse battery staple", &[]), Ok(()));
        assert_eq!(check_strength("Vx7#kq2!Lm9@pR", &[]), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify_only_the_password() {
        let a = hash_password("correct horse battery staple");
        let b = hash_password("correct horse battery staple");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery staple", &a));
        assert!(!verify_password("correct horse battery stapl", &a));
        assert!(!verify_password("anything", "not a hash"));
    }
}
