//! The e-mails a customer gets, in their language and time zone: what each says, with a link
//! to the page it is about. Pure: the account service sends them.

use uuid::Uuid;

/// The reader of a mail: their language ("en" or "ru") and time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub russian: bool,
    /// Minutes east of UTC.
    pub utc_offset_minutes: i32,
}

impl Reader {
    pub fn new(locale: &str, utc_offset_minutes: i32) -> Reader {
        Reader { russian: locale == "ru", utc_offset_minutes }
    }
}

/// What a mail is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Letter {
    /// The link that confirms a new account's e-mail.
    Confirm { token: String },
    /// Someone registered with an address that has an account already.
    AccountExists,
    /// The link that confirms a new e-mail address.
    ConfirmNewEmail { token: String },
    /// To the old address: a change to another one was asked for.
    EmailChangeRequested,
    /// The link that sets a new password (a customer's, or a member of staff's).
    ResetPassword { token: String, staff: bool },
    /// The password was changed through a reset link.
    PasswordChanged,
    /// An officer asks for information about an order, due at a time.
    RequestOpened { order_number: i64, order_id: Uuid, due_at_ms: i64 },
    /// An appeal of an order's decision was answered.
    AppealAnswered { order_number: i64, order_id: Uuid },
    /// An appeal of the account's suspension was answered; `reinstated` when it is active again.
    StandingAppealAnswered { reinstated: bool },
    /// To the MLRO: an authority request is due soon, or overdue (DISC-1's statutory clock).
    AuthorityRequestDue { number: i64, id: Uuid, due_at_ms: i64, overdue: bool },
}

/// A rendered mail: its subject (the brand goes in front) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

impl Letter {
    /// The mail for `reader`, with links under `public_url`, signed with `brand`.
    pub fn render(&self, reader: Reader, public_url: &str, brand: &str) -> Rendered {
        let base = public_url.trim_end_matches('/');
        let ru = reader.russian;
        let pick = |en: &str, ru_text: &str| if ru { ru_text.to_owned() } else { en.to_owned() };
        let (subject, text) = match self {
            Letter::Confirm { token } => (
                pick("confirm your e-mail", "подтвердите адрес почты"),
                if ru {
                    format!("Откройте ссылку, чтобы подтвердить адрес почты:\n\n{base}/cabinet/confirm?token={token}\n\nСсылка действует один раз, 24 часа.")
                } else {
                    format!("Open this link to confirm your e-mail address:\n\n{base}/cabinet/confirm?token={token}\n\nThe link works once, for 24 hours.")
                },
            ),
            Letter::AccountExists => (
                pick("your account", "ваш аккаунт"),
                if ru {
                    format!("Кто-то пытался зарегистрироваться с этим адресом, но аккаунт с ним уже есть. Если это были вы, войдите или восстановите пароль: {base}/cabinet/login. Иначе просто не обращайте внимания на это письмо.")
                } else {
                    format!("Someone tried to register with this address, which already has an account. If it was you, log in or reset your password: {base}/cabinet/login. Otherwise ignore this message.")
                },
            ),
            Letter::ConfirmNewEmail { token } => (
                pick("confirm your new e-mail", "подтвердите новый адрес почты"),
                if ru {
                    format!("Откройте ссылку, чтобы сделать этот адрес адресом вашего аккаунта:\n\n{base}/cabinet/confirm-email?token={token}\n\nСсылка действует один раз, 24 часа.")
                } else {
                    format!("Open this link to make this your e-mail address for your account:\n\n{base}/cabinet/confirm-email?token={token}\n\nThe link works once, for 24 hours.")
                },
            ),
            Letter::EmailChangeRequested => (
                pick("e-mail change requested", "запрошена смена адреса почты"),
                pick(
                    "Someone asked to move your account to another e-mail address. If it was not you, change your password and tell our support at once.",
                    "Кто-то запросил перенос вашего аккаунта на другой адрес почты. Если это были не вы, смените пароль и сразу сообщите в поддержку.",
                ),
            ),
            Letter::ResetPassword { token, staff } => {
                let side = if *staff { "office" } else { "cabinet" };
                let link = format!("{base}/{side}/reset?token={token}");
                (
                    pick("set a new password", "новый пароль"),
                    if ru {
                        format!("Кто-то (надеемся, вы) попросил сменить пароль. Откройте ссылку, чтобы задать новый:\n\n{link}\n\nСсылка действует один раз, один час. Если вы ничего не просили, не обращайте внимания на это письмо: пароль остаётся прежним.")
                    } else {
                        format!("Someone (we hope you) asked to set a new password. Open this link to choose one:\n\n{link}\n\nThe link works once, for one hour. If you did not ask, ignore this message: your password stays as it is.")
                    },
                )
            }
            Letter::PasswordChanged => (
                pick("your password was changed", "ваш пароль изменён"),
                pick(
                    "Your password was changed with a reset link and every session was ended. If it was not you, tell our support at once.",
                    "Ваш пароль изменён по ссылке для сброса, все сеансы завершены. Если это были не вы, сразу сообщите в поддержку.",
                ),
            ),
            Letter::RequestOpened { order_number, order_id, due_at_ms } => {
                let due = in_words(*due_at_ms, reader);
                let link = format!("{base}/cabinet/orders/{order_id}");
                (
                    pick("information needed for your order", "нужна информация по вашей заявке"),
                    if ru {
                        format!("Нам нужна информация от вас по заявке № {order_number} до {due}. Запрос и форма ответа — на странице заявки:\n\n{link}")
                    } else {
                        format!("We need information from you about order № {order_number} by {due}. The request and the form to answer it are on the order's page:\n\n{link}")
                    },
                )
            }
            Letter::AuthorityRequestDue { number, id, due_at_ms, overdue } => {
                let due = in_words(*due_at_ms, reader);
                let link = format!("{base}/office/disclosures/{id}");
                match (overdue, ru) {
                    (true, true) => (
                        format!("срок ответа на запрос органа № {number} истёк"),
                        format!("Ответ на запрос органа № {number} нужно было дать до {due}.\n\n{link}"),
                    ),
                    (true, false) => (
                        format!("authority request № {number} is overdue"),
                        format!("The answer to authority request № {number} was due by {due}.\n\n{link}"),
                    ),
                    (false, true) => (
                        format!("запрос органа № {number}: срок ответа скоро"),
                        format!("Ответ на запрос органа № {number} нужно дать до {due}.\n\n{link}"),
                    ),
                    (false, false) => (
                        format!("authority request № {number} is due soon"),
                        format!("The answer to authority request № {number} is due by {due}.\n\n{link}"),
                    ),
                }
            }
            Letter::AppealAnswered { order_number, order_id } => {
                let link = format!("{base}/cabinet/orders/{order_id}");
                (
                    pick("your appeal has been answered", "на вашу апелляцию ответили"),
                    if ru {
                        format!("На вашу апелляцию по заявке № {order_number} ответили. Ответ — на странице заявки:\n\n{link}")
                    } else {
                        format!("Your appeal about order № {order_number} has been answered. The answer is on the order's page:\n\n{link}")
                    },
                )
            }
            Letter::StandingAppealAnswered { reinstated } => (
                pick("your appeal has been answered", "на вашу апелляцию ответили"),
                match (ru, reinstated) {
                    (true, true) => format!("На вашу апелляцию о приостановке аккаунта ответили, аккаунт снова активен. Ответ — в личном кабинете:\n\n{base}/cabinet"),
                    (true, false) => format!("На вашу апелляцию о приостановке аккаунта ответили. Ответ — в личном кабинете:\n\n{base}/cabinet"),
                    (false, true) => format!("Your appeal about your account's suspension has been answered and your account is active again. The answer is in your personal cabinet:\n\n{base}/cabinet"),
                    (false, false) => format!("Your appeal about your account's suspension has been answered. The answer is in your personal cabinet:\n\n{base}/cabinet"),
                },
            ),
        };
        let signature = if ru { format!("С уважением,\n{brand}") } else { format!("Kind regards,\n{brand}") };
        Rendered { subject: format!("{brand}: {subject}"), body: format!("{text}\n\n{signature}\n") }
    }
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_RU: [&str; 12] = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
];

/// A moment in words in the reader's time zone: `3 January 2026, 14:00 (UTC+02:00)`,
/// `3 января 2026 г., 14:00 (UTC+02:00)`.
pub fn in_words(ms: i64, reader: Reader) -> String {
    let local = ms + i64::from(reader.utc_offset_minutes) * 60_000;
    let (secs, day_secs) = (local.div_euclid(1000), local.div_euclid(1000).rem_euclid(86_400));
    let (year, month, day) = custos_domain::time::civil_from_days(secs.div_euclid(86_400));
    let month = usize::try_from(month - 1).unwrap_or(0).min(11);
    let (h, m) = (day_secs / 3600, day_secs % 3600 / 60);
    let offset = reader.utc_offset_minutes;
    let sign = if offset < 0 { '−' } else { '+' };
    let zone = format!("UTC{sign}{:02}:{:02}", offset.abs() / 60, offset.abs() % 60);
    if reader.russian {
        format!("{day} {} {year} г., {h:02}:{m:02} ({zone})", MONTHS_RU[month])
    } else {
        format!("{day} {} {year}, {h:02}:{m:02} ({zone})", MONTHS_EN[month])
    }
}

/// Whether `minutes` is a real time zone's offset: from UTC−12:00 to UTC+14:00, in quarter hours.
pub fn valid_utc_offset(minutes: i32) -> bool {
    (-12 * 60..=14 * 60).contains(&minutes) && minutes % 15 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-01-03T12:00:00Z
    const DUE: i64 = 1_767_441_600_000;

    #[test]
    fn deadlines_read_in_words_in_the_readers_time_zone() {
        assert_eq!(in_words(DUE, Reader::new("en", 0)), "3 January 2026, 12:00 (UTC+00:00)");
        assert_eq!(in_words(DUE, Reader::new("ru", 180)), "3 января 2026 г., 15:00 (UTC+03:00)");
        assert_eq!(in_words(DUE, Reader::new("en", -13 * 60 + 60)), "3 January 2026, 00:00 (UTC−12:00)");
        assert_eq!(in_words(DUE, Reader::new("en", -13 * 60)), "2 January 2026, 23:00 (UTC−13:00)");
    }

    #[test]
    fn a_request_mail_is_in_the_customers_language_with_a_link_to_the_order() {
        let id = Uuid::nil();
        let letter = Letter::RequestOpened { order_number: 100_001, order_id: id, due_at_ms: DUE };
        let ru = letter.render(Reader::new("ru", 180), "https://aml.example.com/", "Обменник");
        assert_eq!(ru.subject, "Обменник: нужна информация по вашей заявке");
        assert!(ru.body.contains("№ 100001 до 3 января 2026 г., 15:00 (UTC+03:00)"), "{}", ru.body);
        assert!(ru.body.contains(&format!("https://aml.example.com/cabinet/orders/{id}")), "{}", ru.body);
        assert!(ru.body.ends_with("Обменник\n"));
        let en = letter.render(Reader::new("en", 0), "https://aml.example.com", "Swap");
        assert!(en.body.contains("by 3 January 2026, 12:00 (UTC+00:00)"), "{}", en.body);
    }

    #[test]
    fn only_real_offsets_are_taken() {
        assert!(valid_utc_offset(330) && valid_utc_offset(-720) && valid_utc_offset(840) && valid_utc_offset(345));
        assert!(!valid_utc_offset(841) && !valid_utc_offset(-721) && !valid_utc_offset(10));
    }
}
