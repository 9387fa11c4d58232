//! The rules for free text and e-mail addresses people send, in one place, so that the API, the
//! pages and the OpenAPI document (whose patterns mirror these) agree exactly.
//!
//! Lengths count characters (Unicode scalar values), as JSON Schema's `maxLength` does, never
//! bytes; blank means only `char::is_whitespace` characters.

/// The characters [`char::is_whitespace`] calls white space, as the body of a regex character
/// class (ECMA-262 and Python alike), for the OpenAPI document.
pub const WHITESPACE_CLASS: &str = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// White space and control characters (`is_whitespace` or `is_control`), as a class body.
pub const BLANK_OR_CONTROL_CLASS: &str =
    "\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

/// Free text that is blank or longer than its field takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: 1 to {max} characters, not only spaces")]
pub struct TextError {
    pub field: String,
    pub max: usize,
}

/// Free text of at most `max` characters with something in it besides white space.
pub fn check_text(field: &str, s: &str, max: usize) -> Result<(), TextError> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(TextError { field: field.to_owned(), max });
    }
    Ok(())
}

/// The longest e-mail address taken, in characters.
pub const EMAIL_MAX: usize = 254;

/// An e-mail address as Custos takes it: one `@` with something before it, a domain with a dot
/// that neither starts nor ends it, no white space or control characters, at most 254
/// characters. (Whether mail arrives is for the confirmation link to show.)
pub fn is_email(s: &str) -> bool {
    s.chars().count() <= EMAIL_MAX
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

/// [`is_email`] as a regex, for the OpenAPI document (the length is `maxLength`): the domain's
/// first and last characters are not dots, and a dot lies between them.
pub fn email_pattern() -> String {
    let any = format!("[^@{BLANK_OR_CONTROL_CLASS}]");
    let edge = format!("[^@.{BLANK_OR_CONTROL_CLASS}]");
    format!("^{any}+@{edge}{any}*\\.{any}*{edge}$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_and_refuses_blank() {
        assert!(check_text("m", "x", 1).is_ok());
        assert!(check_text("m", "яя", 2).is_ok(), "characters, not bytes");
        assert!(check_text("m", "яяя", 2).is_err());
        assert!(check_text("m", " \u{3000}\t", 10).is_err(), "only white space");
        assert!(check_text("m", "", 10).is_err());
        assert!(check_text("m", "\u{1c}", 10).is_ok(), "a control character is not white space");
    }

    #[test]
    fn e_mail_addresses() {
        for ok in ["a@b.c", "first.last+tag@example.co.uk", "ю@пример.рф", "a@b.c.d"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in ["", "@b.c", "a@", "a@b", "a@.b", "a@b.", "a b@c.d", "a@b@c.d", "a\u{0}@b.c", "a@b\u{a0}.c"] {
            assert!(!is_email(bad), "{bad:?}");
        }
        assert!(!is_email(&format!("{}@b.c", "a".repeat(251))));
    }
}
