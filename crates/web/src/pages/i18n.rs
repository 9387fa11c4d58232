//! The pages' words in English and Russian. A missing Russian text falls back to English.

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The text for `key`, or the key itself (visible, so a missing text is noticed).
    pub fn t(self, key: &str) -> &'static str {
        let Some(&(_, en, ru)) = TEXTS.iter().find(|(k, _, _)| *k == key) else {
            return "??";
        };
        match self {
            Lang::Ru if !ru.is_empty() => ru,
            _ => en,
        }
    }
}

/// key, English, Russian.
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("cabinet", "Personal cabinet", "Личный кабинет"),
    ("office", "Back-office", "Бэк-офис"),
    ("login", "Log in", "Войти"),
    ("logout", "Log out", "Выйти"),
    ("register", "Create an account", "Регистрация"),
    ("email", "E-mail", "Эл. почта"),
    ("password", "Password", "Пароль"),
    ("password_hint", "At least 12 characters; a passphrase of several words is best.", "Не менее 12 символов; лучше всего фраза из нескольких слов."),
    ("code", "Code from your authenticator app, or a recovery code", "Код из приложения-аутентификатора или резервный код"),
    ("continue", "Continue", "Продолжить"),
    ("check_mail", "If the address is right, a message is on its way: open the link in it to confirm your e-mail.", "Если адрес указан верно, мы отправили письмо: откройте ссылку из него, чтобы подтвердить адрес."),
    ("confirmed", "Your e-mail is confirmed. You can log in.", "Адрес подтверждён. Теперь можно войти."),
    ("mfa", "Two-factor authentication", "Двухфакторная аутентификация"),
    ("mfa_intro", "Add this key to an authenticator app (any app that supports TOTP), then enter the six-digit code it shows.", "Добавьте этот ключ в приложение-аутентификатор (любое с поддержкой TOTP) и введите шестизначный код из него."),
    ("mfa_required", "Staff accounts need two-factor authentication before anything else.", "Для сотрудников двухфакторная аутентификация обязательна."),
    ("mfa_encourage", "Protect your account: turn on two-factor authentication.", "Защитите аккаунт: включите двухфакторную аутентификацию."),
    ("mfa_on", "Two-factor authentication is on.", "Двухфакторная аутентификация включена."),
    ("recovery_codes", "Recovery codes: each works once if you lose your device. Keep them somewhere safe; they are not shown again.", "Резервные коды: каждый срабатывает один раз, если вы потеряете устройство. Сохраните их — они больше не будут показаны."),
    ("orders", "Your orders", "Ваши заявки"),
    ("no_orders", "No orders yet.", "Заявок пока нет."),
    ("order", "Order", "Заявка"),
    ("status", "Status", "Статус"),
    ("pay", "You pay", "Вы отдаёте"),
    ("receive", "You receive", "Вы получаете"),
    ("created", "Created", "Создана"),
    ("dashboard", "Case queue", "Очередь кейсов"),
    ("no_cases", "No open cases.", "Открытых кейсов нет."),
    ("case", "Case", "Кейс"),
    ("reason", "Why", "Причина"),
    ("deadline", "Deadline", "Срок"),
    ("overdue", "overdue", "просрочено"),
    ("precheck", "Address pre-check", "Предварительная проверка адреса"),
    ("precheck_intro", "Check an address before paying from it. You see the risk band and what would happen; paying without a check is allowed, at your own risk.", "Проверьте адрес до оплаты. Вы увидите уровень риска и что произойдёт; оплатить без проверки можно — на свой риск."),
    ("network", "Network", "Сеть"),
    ("address", "Address", "Адрес"),
    ("check", "Check", "Проверить"),
    ("band", "Risk", "Риск"),
    ("decision", "Outcome", "Итог"),
    ("security", "Security", "Безопасность"),
    ("staff", "Staff", "Сотрудники"),
    ("kyc_title", "Identity verification", "Проверка личности"),
    ("kyc_sumsub_intro", "The verification runs in our provider SumSub's window below; your documents go to SumSub only, we keep the result.", "Проверка проходит в окне нашего провайдера SumSub ниже; документы передаются только SumSub, мы храним лишь результат."),
    ("kyc_start", "Start the verification", "Пройти проверку"),
    ("kyc_request", "Request a verification", "Запросить проверку"),
    ("kyc_retry", "Ask to resubmit", "Запросить повторно"),
    ("kyc_requested", "Requested: please complete it before the deadline", "Запрошена: пройдите её до срока"),
    ("kyc_in_progress", "Being checked", "Проверяется"),
    ("kyc_on_hold", "Being reviewed by a person", "На ручной проверке"),
    ("kyc_resubmission", "Please submit again", "Нужно отправить заново"),
    ("kyc_verified", "Passed", "Пройдена"),
    ("kyc_failed", "Not passed", "Не пройдена"),
    ("level", "Level", "Уровень"),
    ("document_expired", "The document has expired", "Срок действия документа истёк"),
    ("unreadable", "The document cannot be read", "Документ не читается"),
    ("data_mismatch", "The data do not match", "Данные не совпадают"),
    ("a4_sheet_wrong", "The A4 sheet is missing or wrong", "Лист A4 отсутствует или заполнен неверно"),
    ("address_document_too_old", "The proof of address is older than three months", "Подтверждение адреса старше трёх месяцев"),
    ("document_not_accepted", "This document type is not accepted", "Этот вид документа не принимается"),
    ("card_holder_mismatch", "The card holder is not you", "Держатель карты — не вы"),
    ("other", "Another reason", "Другая причина"),
    ("deposits", "Deposits", "Поступления"),
    ("transaction", "Transaction", "Транзакция"),
    ("amount", "Amount", "Сумма"),
    ("sources", "Sources", "Источники"),
    ("assignee", "Assigned to", "Ответственный"),
    ("refund", "Refund", "Возврат"),
    ("refund_to", "To the source address", "На адрес отправителя"),
    ("refund_txid", "Transaction that sent the refund", "Транзакция возврата"),
    ("network_fee", "Network fee (base units)", "Комиссия сети (в минимальных единицах)"),
    ("case_work", "Work on the case", "Работа с кейсом"),
    ("action", "Action", "Действие"),
    ("op_take", "Take it (assign to me)", "Взять себе"),
    ("op_note", "Add a note", "Добавить заметку"),
    ("op_escalate", "Escalate to the MLRO", "Передать MLRO"),
    ("op_extend", "Extend the deadline", "Продлить срок"),
    ("op_close", "Close the case", "Закрыть кейс"),
    ("op_text", "Note or reason", "Заметка или причина"),
    ("op_hours", "Hours (to extend)", "Часы (для продления)"),
    ("reset_mfa", "Reset MFA", "Сбросить MFA"),
    ("appeal", "Appeal", "Апелляция"),
    ("appeals", "Open appeals", "Открытые апелляции"),
    ("your_appeal", "Why the decision should be reviewed", "Почему решение нужно пересмотреть"),
    ("appeal_intro", "You may appeal this decision once; our compliance team answers within 48 hours.", "Вы можете обжаловать это решение; служба комплаенса ответит в течение 48 часов."),
    ("appeal_pending", "Being reviewed; the answer is due by", "На рассмотрении; ответ не позднее"),
    ("answer", "Answer", "Ответить"),
    ("timeline", "Timeline", "Хронология"),
    ("too_large", "The files are too large: at most 5 files of 5 MB each.", "Файлы слишком большие: не более 5 файлов по 5 МБ."),
    ("documents", "Documents (PDF, PNG or JPEG; up to 5 files of 5 MB)", "Документы (PDF, PNG или JPEG; до 5 файлов по 5 МБ)"),
    ("back", "Back", "Назад"),
    ("change_password", "Change the password", "Смена пароля"),
    ("change_email", "Change the e-mail", "Смена адреса почты"),
    ("new_email", "New e-mail", "Новый адрес"),
    ("email_link_sent", "A link is on its way to the new address; the change takes effect when you open it.", "Ссылка отправлена на новый адрес; адрес сменится, когда вы её откроете."),
    ("email_changed", "Your e-mail is changed; your orders moved with it.", "Адрес изменён; ваши заявки остались с вами."),
    ("current_password", "Current password", "Текущий пароль"),
    ("new_password", "New password", "Новый пароль"),
    ("password_changed", "The password is changed; your other sessions were ended.", "Пароль изменён; другие сеансы завершены."),
    ("saved", "Saved.", "Сохранено."),
    ("report_hint", "Noticed something suspicious in your account? Tell our support at once.", "Заметили подозрительную активность? Сразу сообщите в поддержку."),
    ("recovery_left", "Recovery codes left", "Осталось резервных кодов"),
    ("mfa_disable", "To turn it off (for a new device), enter a current code", "Чтобы отключить (для нового устройства), введите текущий код"),
    ("turn_off", "Turn off", "Отключить"),
    ("action_needed", "action needed", "требуется действие"),
    ("customers", "Customers", "Клиенты"),
    ("audit", "Audit log", "Журнал аудита"),
    ("api_keys", "API keys", "API-ключи"),
    ("policy", "Policy", "Политика"),
    ("settings", "Settings", "Настройки"),
    ("save", "Save", "Сохранить"),
    ("create", "Create", "Создать"),
    ("new_staff", "New staff account", "Новый сотрудник"),
    ("new_key", "New API key", "Новый API-ключ"),
    ("name", "Name", "Название"),
    ("scopes", "Scopes", "Права"),
    ("revoke", "Revoke", "Отозвать"),
    ("revoked", "revoked", "отозван"),
    ("verify_chain", "Verify the chain", "Проверить цепочку"),
    ("when", "When", "Когда"),
    ("actor", "Who", "Кто"),
    ("event", "Event", "Событие"),
    ("entity", "Object", "Объект"),
    ("data", "Data", "Данные"),
    ("older", "Older entries", "Более ранние записи"),
    ("standing", "Standing", "Статус клиента"),
    ("confirmed_col", "E-mail confirmed", "Почта подтверждена"),
    ("review", "review", "проверка"),
    ("hold", "hold", "приостановка"),
    ("reject", "reject", "отказ"),
    ("proceed", "proceed", "продолжить"),
    ("open", "open", "открытые"),
    ("closed", "closed", "закрытые"),
    ("any", "any", "все"),
    ("filter", "Show", "Показать"),
    ("your_answer", "Your answer", "Ваш ответ"),
    ("send", "Send", "Отправить"),
    ("answered", "Answered: we are reviewing it.", "Ответ получен, мы его проверяем."),
    ("rk_kyc", "Identity verification (KYC)", "Проверка личности (KYC)"),
    ("rk_source_of_funds", "Source of funds", "Происхождение средств"),
    ("rk_information", "Information request", "Запрос информации"),
    ("next_hold", "Your order is on hold until you answer the request below before its deadline. Without an answer the order may be refunded or the account restricted.", "Заявка приостановлена, пока вы не ответите на запрос ниже до указанного срока. Без ответа средства могут быть возвращены, а аккаунт — ограничен."),
    ("next_review", "Our compliance team is reviewing your order; you do not need to do anything now.", "Служба комплаенса проверяет заявку; сейчас от вас ничего не требуется."),
    ("next_rejected", "This payment cannot be accepted. A refund to the address it came from, minus the network fee, follows the review.", "Платёж не может быть принят. После проверки средства вернутся на адрес отправителя за вычетом комиссии сети."),
    ("customer", "Customer", "Клиент"),
    ("reveal", "Reveal", "Показать"),
    ("screenings", "Screenings", "Проверки"),
    ("analyzer", "Analyzer", "Анализатор"),
    ("categories", "Categories", "Категории"),
    ("requests", "Requests to the customer", "Запросы клиенту"),
    ("decisions", "Decisions", "Решения"),
    ("approve", "Approve", "Утвердить"),
    ("decide", "Decide", "Принять решение"),
    ("message", "Message", "Сообщение"),
    ("step_up", "Enter your code again to approve decisions or reveal personal data.", "Введите код ещё раз, чтобы утверждать решения или раскрывать персональные данные."),
    ("role", "Role", "Роль"),
    ("active", "active", "активен"),
    ("disabled", "disabled", "отключён"),
    ("rate_limited", "Too many checks for now. Try again in an hour.", "Слишком много проверок. Попробуйте через час."),
    ("language", "Language", "Язык"),
    ("locked", "Too many failed attempts. Try again later.", "Слишком много неудачных попыток. Попробуйте позже."),
    ("bad_login", "The e-mail or the password is wrong.", "Неверная почта или пароль."),
    ("bad_code", "The code is wrong, expired or already used.", "Код неверный, устарел или уже использован."),
    ("expired", "Your session has ended. Log in again.", "Сеанс завершён. Войдите снова."),
    ("forbidden", "You do not have access to this page.", "У вас нет доступа к этой странице."),
    ("csrf", "The form has expired. Go back, reload the page and try again.", "Форма устарела. Вернитесь, обновите страницу и повторите."),
    ("not_found", "There is no such page.", "Такой страницы нет."),
    ("error", "Something went wrong on our side. Try again later.", "Что-то пошло не так. Попробуйте позже."),
    ("st_awaiting_deposit", "Waiting for your payment", "Ожидаем оплату"),
    ("st_confirming", "Payment seen, waiting for confirmations", "Платёж получен, ждём подтверждений"),
    ("st_screening", "Checking your payment", "Проверяем платёж"),
    ("st_accepted", "Payment cleared, payout being prepared", "Платёж проверен, готовим выплату"),
    ("st_payout_pending", "Payout being sent", "Выплата отправляется"),
    ("st_completed", "Completed", "Выполнена"),
    ("st_in_review", "Being reviewed by our compliance team", "На проверке у службы комплаенса"),
    ("st_on_hold_awaiting_customer", "On hold: we need information from you", "Приостановлена: нужна информация от вас"),
    ("st_under_review", "We are reviewing the information you sent", "Проверяем присланную вами информацию"),
    ("st_released", "Released, payout being prepared", "Разблокирована, готовим выплату"),
    ("st_refund_pending", "Refund being prepared", "Готовим возврат"),
    ("st_refunded", "Refunded", "Возвращено"),
    ("st_frozen", "Frozen", "Заморожена"),
    ("st_rejected", "Rejected", "Отклонена"),
    ("st_expired", "Expired", "Истекла"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages_and_keys_are_unique() {
        let mut keys = std::collections::HashSet::new();
        for (k, en, ru) in TEXTS {
            assert!(keys.insert(*k), "duplicate key {k}");
            assert!(!en.is_empty() && !ru.is_empty(), "{k} lacks a language");
        }
        assert_eq!(Lang::Ru.t("login"), "Войти");
        assert_eq!(Lang::En.t("no such key"), "??");
    }
}
