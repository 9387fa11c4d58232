//! Accounts, MFA, sessions and throttling (SEC-3, SEC-4, SEC-18) on SQLite and PostgreSQL.

use crate::common::{totp_code, AccountRepo, AuditRepo, OrderRepo, TestApp};
use custos_app::accounts::records::{AccountKind, AccountRecord};
use custos_app::accounts::{AuthError, Authenticated, LoginStep};
use custos_app::Clock;
use custos_domain::access::Role;

const PASSWORD: &str = "violet tractor 42 umbrella";
const IP: &str = "203.0.113.7";

async fn session(t: &TestApp, token: &str) -> Authenticated {
    t.app.accounts().session(token).await.unwrap().expect("a live session")
}

/// A customer with MFA on; returns the account, its TOTP secret and a full session's token.
async fn customer_with_mfa(t: &TestApp, email: &str) -> (AccountRecord, String, String) {
    let accounts = t.app.accounts();
    accounts.register_customer(email, PASSWORD, "en").await.unwrap();
    let (token, step) = accounts.login(AccountKind::Customer, email, PASSWORD, IP, None).await.unwrap();
    assert_eq!(step, LoginStep::Done, "a customer without MFA is logged in by the password");
    let auth = session(t, &token).await;
    let setup = accounts.begin_mfa(&auth).await.unwrap();
    let (token, codes) = accounts
        .confirm_mfa(&session(t, &token).await, &token, &totp_code(&setup.secret_base32, t.clock.now_ms()), IP)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let auth = session(t, &token).await;
    (auth.account, setup.secret_base32, token)
}

both!(sec4_a_totp_code_works_once, |t: TestApp| async move {
    let accounts = t.app.accounts();
    let (_, secret, token) = customer_with_mfa(&t, "replay@example.com").await;
    accounts.logout(&session(&t, &token).await, &token).await.unwrap();
    assert!(accounts.session(&token).await.unwrap().is_none(), "logout revokes the session");

    t.clock.advance_ms(30_000);
    let (pending, step) =
        accounts.login(AccountKind::Customer, "replay@example.com", PASSWORD, IP, None).await.unwrap();
    assert_eq!(step, LoginStep::Code);
    let half = session(&t, &pending).await;
    assert!(!half.is_full(), "the password alone does not log in an account with MFA");
    let c = totp_code(&secret, t.clock.now_ms());
    let full = accounts.complete_login(&half, &pending, &c, IP).await.unwrap();
    assert!(session(&t, &full).await.is_full());

    // The same code, within its validity window, in a second login: refused.
    let (again, _) = accounts.login(AccountKind::Customer, "replay@example.com", PASSWORD, IP, None).await.unwrap();
    let half = session(&t, &again).await;
    assert_eq!(accounts.complete_login(&half, &again, &c, IP).await, Err(AuthError::BadCode));
    // An older code (the previous step) is refused too, the next one works.
    let older = totp_code(&secret, t.clock.now_ms() - 30_000);
    assert_eq!(accounts.complete_login(&half, &again, &older, IP).await, Err(AuthError::BadCode));
    t.clock.advance_ms(30_000);
    accounts.complete_login(&half, &again, &totp_code(&secret, t.clock.now_ms()), IP).await.unwrap();
});

both!(sec4_recovery_codes_work_once, |t: TestApp| async move {
    let accounts = t.app.accounts();
    accounts.register_customer("lost@example.com", PASSWORD, "en").await.unwrap();
    let (token, _) = accounts.login(AccountKind::Customer, "lost@example.com", PASSWORD, IP, None).await.unwrap();
    let setup = accounts.begin_mfa(&session(&t, &token).await).await.unwrap();
    let (token, codes) = accounts
        .confirm_mfa(&session(&t, &token).await, &token, &totp_code(&setup.secret_base32, t.clock.now_ms()), IP)
        .await
        .unwrap();
    assert_eq!(accounts.unused_recovery_codes(&session(&t, &token).await).await.unwrap(), 10);
    let (pending, _) = accounts.login(AccountKind::Customer, "lost@example.com", PASSWORD, IP, None).await.unwrap();
    let half = session(&t, &pending).await;
    accounts.complete_login(&half, &pending, &codes[3].to_uppercase(), IP).await.unwrap();
    let (pending, _) = accounts.login(AccountKind::Customer, "lost@example.com", PASSWORD, IP, None).await.unwrap();
    let half = session(&t, &pending).await;
    assert_eq!(accounts.complete_login(&half, &pending, &codes[3], IP).await, Err(AuthError::BadCode));
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "auth.recovery_code_used"));
});

both!(sec4_lockout_after_repeated_failures_per_account_and_per_ip, |t: TestApp| async move {
    let accounts = t.app.accounts();
    accounts.register_customer("target@example.com", PASSWORD, "en").await.unwrap();
    for _ in 0..4 {
        let r = accounts.login(AccountKind::Customer, "target@example.com", "wrong password!!", IP, None).await;
        assert_eq!(r.unwrap_err(), AuthError::BadCredentials);
    }
    let fifth = accounts.login(AccountKind::Customer, "target@example.com", "wrong password!!", IP, None).await;
    assert_eq!(fifth.unwrap_err(), AuthError::BadCredentials);
    // Locked: even the right password is refused, from anywhere.
    let locked = accounts.login(AccountKind::Customer, "target@example.com", PASSWORD, "198.51.100.1", None).await;
    assert!(matches!(locked, Err(AuthError::Locked { .. })), "{locked:?}");
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "auth.login_failed").count(), 5);
    assert!(audit.iter().any(|e| e.action == "auth.account_locked"));
    assert!(audit.iter().any(|e| e.action == "auth.login_refused_locked"));
    // After the lock, the account opens again.
    t.clock.advance_ms(15 * 60_000 + 1);
    accounts.login(AccountKind::Customer, "target@example.com", PASSWORD, "198.51.100.1", None).await.unwrap();

    // One IP trying many e-mails is locked after 20 failures, whatever the e-mail.
    let sprayer = "192.0.2.99";
    for i in 0..20 {
        let r = accounts
            .login(AccountKind::Customer, &format!("nobody{i}@example.com"), "whatever password", sprayer, None)
            .await;
        assert_eq!(r.unwrap_err(), AuthError::BadCredentials);
    }
    let r = accounts.login(AccountKind::Customer, "target@example.com", PASSWORD, sprayer, None).await;
    assert!(matches!(r, Err(AuthError::Locked { .. })), "{r:?}");
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "auth.ip_locked"));
    assert!(
        audit.iter().all(|e| !e.data.to_string().contains(sprayer) && !e.data.to_string().contains("example.com")),
        "the audit log names neither IPs nor e-mails"
    );
});

both!(sec4_session_fixation_impossible_and_sessions_expire, |t: TestApp| async move {
    let accounts = t.app.accounts();
    accounts.register_customer("fix@example.com", PASSWORD, "en").await.unwrap();
    // A session the attacker planted (here: a real earlier session) is revoked by the login.
    let (planted, _) = accounts.login(AccountKind::Customer, "fix@example.com", PASSWORD, IP, None).await.unwrap();
    let (fresh, _) =
        accounts.login(AccountKind::Customer, "fix@example.com", PASSWORD, IP, Some(&planted)).await.unwrap();
    assert_ne!(planted, fresh);
    assert!(accounts.session(&planted).await.unwrap().is_none(), "the pre-login session id no longer works");
    assert!(accounts.session(&fresh).await.unwrap().is_some());
    // Idle timeout (30 min for customers), refreshed by use.
    t.clock.advance_ms(29 * 60_000);
    assert!(accounts.session(&fresh).await.unwrap().is_some());
    t.clock.advance_ms(29 * 60_000);
    assert!(accounts.session(&fresh).await.unwrap().is_some(), "use keeps the session alive");
    t.clock.advance_ms(31 * 60_000);
    assert!(accounts.session(&fresh).await.unwrap().is_none(), "idle too long");

    // Staff: shorter idle time, and MFA enrolment is due before anything else.
    accounts.create_staff("officer@example.com", PASSWORD, Role::Officer, None).await.unwrap();
    let (staff, step) = accounts.login(AccountKind::Staff, "officer@example.com", PASSWORD, IP, None).await.unwrap();
    assert_eq!(step, LoginStep::EnrolMfa);
    let auth = session(&t, &staff).await;
    assert!(!auth.is_full() && !auth.can(custos_domain::access::Permission::CasesRead));
    let setup = accounts.begin_mfa(&auth).await.unwrap();
    let (staff2, _) =
        accounts.confirm_mfa(&auth, &staff, &totp_code(&setup.secret_base32, t.clock.now_ms()), IP).await.unwrap();
    assert!(accounts.session(&staff).await.unwrap().is_none(), "MFA enrolment rotates the session");
    let auth = session(&t, &staff2).await;
    assert!(auth.can(custos_domain::access::Permission::CasesRead));
    t.clock.advance_ms(16 * 60_000);
    assert!(accounts.session(&staff2).await.unwrap().is_none(), "staff sessions idle out after 15 minutes");
    // Staff and customer accounts are separate: a staff e-mail is not a customer login.
    let r = accounts.login(AccountKind::Customer, "officer@example.com", PASSWORD, "192.0.2.5", None).await;
    assert_eq!(r.unwrap_err(), AuthError::BadCredentials);
});

both!(sec18_weak_passwords_are_refused_and_registration_does_not_reveal_accounts, |t: TestApp| async move {
    let accounts = t.app.accounts();
    for weak in ["short", "password1234", "newcustomer@example.com"] {
        let r = accounts.register_customer("newcustomer@example.com", weak, "en").await;
        assert!(matches!(r, Err(AuthError::Rejected(_))), "{weak}: {r:?}");
    }
    accounts.register_customer("NewCustomer@Example.com ", PASSWORD, "ru").await.unwrap();
    let mail = t.mailer.last_to("newcustomer@example.com").expect("a confirmation mail");
    let token = mail.body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    // Registering again answers the same, and mails the owner instead.
    accounts.register_customer("newcustomer@example.com", "another strong passphrase 9", "en").await.unwrap();
    let exists = t.mailer.last_to("newcustomer@example.com").unwrap();
    assert!(exists.body.contains("аккаунт с ним уже есть"), "in the owner's language: {}", exists.body);
    let confirmed = accounts.confirm_email(&token).await.unwrap();
    assert!(confirmed.email_confirmed);
    assert_eq!(confirmed.locale, "ru");
    assert!(matches!(accounts.confirm_email(&token).await, Err(AuthError::Rejected(_))), "a link works once");
    // The e-mail is stored encrypted.
    assert!(!confirmed.email_enc.contains("example.com"));
    assert_eq!(accounts.email_of(&confirmed).unwrap(), "newcustomer@example.com");
});

both!(sec3_revealing_personal_data_needs_the_permission_a_step_up_and_is_audited, |t: TestApp| async move {
    let accounts = t.app.accounts();
    let (customer, _, _) = customer_with_mfa(&t, "private@example.com").await;
    let mut staff = Vec::new();
    for (email, role) in [("support@example.com", Role::Support), ("mlro@example.com", Role::SeniorOfficer)] {
        accounts.create_staff(email, PASSWORD, role, None).await.unwrap();
        let (token, _) = accounts.login(AccountKind::Staff, email, PASSWORD, IP, None).await.unwrap();
        let setup = accounts.begin_mfa(&session(&t, &token).await).await.unwrap();
        let (token, _) = accounts
            .confirm_mfa(&session(&t, &token).await, &token, &totp_code(&setup.secret_base32, t.clock.now_ms()), IP)
            .await
            .unwrap();
        staff.push((token, setup.secret_base32));
    }
    let (support, _) = &staff[0];
    let (mlro, mlro_secret) = &staff[1];
    assert!(matches!(accounts.reveal_email(&session(&t, support).await, &customer).await, Err(AuthError::Rejected(_))));
    assert!(
        matches!(accounts.reveal_email(&session(&t, mlro).await, &customer).await, Err(AuthError::Rejected(_))),
        "no step-up yet"
    );
    t.clock.advance_ms(30_000);
    accounts.step_up(&session(&t, mlro).await, mlro, &totp_code(mlro_secret, t.clock.now_ms()), IP).await.unwrap();
    assert_eq!(accounts.reveal_email(&session(&t, mlro).await, &customer).await.unwrap(), "private@example.com");
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    let reveal = audit.iter().find(|e| e.action == "personal_data.revealed").expect("audited");
    assert_eq!(reveal.entity_id, customer.id.to_string());
    // The step-up lapses after five minutes.
    t.clock.advance_ms(5 * 60_000 + 1);
    assert!(matches!(accounts.reveal_email(&session(&t, mlro).await, &customer).await, Err(AuthError::Rejected(_))));
});

both!(sec3_a_lower_role_cannot_change_a_higher_ones_account, |t: TestApp| async move {
    let accounts = t.app.accounts();
    let admin = accounts.create_staff("admin@example.com", PASSWORD, Role::Admin, None).await.unwrap();
    let officer = accounts.create_staff("o@example.com", PASSWORD, Role::Officer, Some(&admin)).await.unwrap();
    let r = accounts.create_staff("x@example.com", PASSWORD, Role::Admin, Some(&officer)).await;
    assert!(matches!(r, Err(AuthError::Rejected(_))), "an officer cannot make an admin");
    let (token, _) = accounts.login(AccountKind::Staff, "admin@example.com", PASSWORD, IP, None).await.unwrap();
    let setup = accounts.begin_mfa(&session(&t, &token).await).await.unwrap();
    let (token, _) = accounts
        .confirm_mfa(&session(&t, &token).await, &token, &totp_code(&setup.secret_base32, t.clock.now_ms()), IP)
        .await
        .unwrap();
    let admin_auth = session(&t, &token).await;
    let changed = accounts.manage_staff(&admin_auth, officer.id, Role::SeniorOfficer, false).await.unwrap();
    assert_eq!(changed.role, Some(Role::SeniorOfficer));
    assert!(matches!(
        accounts.manage_staff(&admin_auth, admin.id, Role::Support, false).await,
        Err(AuthError::Rejected(_))
    ));
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "staff.changed" && e.entity_id == officer.id.to_string()));
});

both!(sec4_changing_the_email_needs_the_password_and_a_code_and_keeps_the_orders, |t: TestApp| async move {
    let accounts = t.app.accounts();
    let (account, secret, token) = customer_with_mfa(&t, "old@example.com").await;
    let order = t.app.intake().create_order(crate::common::new_order("old@example.com"), "test").await.unwrap();
    let auth = session(&t, &token).await;
    t.clock.advance_ms(30_000);
    let good = totp_code(&secret, t.clock.now_ms());
    let r = accounts.request_email_change(&auth, "not the password", &good, "new@example.com", IP).await;
    assert_eq!(r, Err(AuthError::BadCredentials));
    let r = accounts.request_email_change(&auth, PASSWORD, "000000", "new@example.com", IP).await;
    assert_eq!(r, Err(AuthError::BadCode), "a step-up code is required with MFA on");
    accounts.request_email_change(&auth, PASSWORD, &good, "New@Example.com", IP).await.unwrap();
    assert!(t.mailer.last_to("old@example.com").unwrap().body.contains("If it was not you"));
    let link = t.mailer.last_to("new@example.com").expect("the link goes to the new address").body;
    let token = link.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(matches!(accounts.confirm_email(&token).await, Err(AuthError::Rejected(_))), "not a confirmation link");
    let changed = accounts.confirm_email_change(&token).await.unwrap();
    assert_eq!(accounts.email_of(&changed).unwrap(), "new@example.com");
    assert!(matches!(accounts.confirm_email_change(&token).await, Err(AuthError::Rejected(_))), "works once");
    let orders = t.store.orders_of_customer(&changed.email_index, 10).await.unwrap();
    assert_eq!(orders.iter().map(|o| o.id).collect::<Vec<_>>(), vec![order.id], "the orders follow the account");
    assert!(accounts.login(AccountKind::Customer, "new@example.com", PASSWORD, IP, None).await.is_ok());
    let r = accounts.login(AccountKind::Customer, "old@example.com", PASSWORD, "192.0.2.8", None).await;
    assert_eq!(r.unwrap_err(), AuthError::BadCredentials);
    let audit = t.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "account.email_changed" && e.entity_id == account.id.to_string()));
    assert!(audit.iter().all(|e| !e.data.contains("example.com")));
});

/// The token of the last link mailed to `to` that contains `path`.
fn link_token(t: &TestApp, to: &str, path: &str) -> Option<String> {
    let mail = t.mailer.last_to(to)?;
    let rest = mail.body.split(&format!("{path}?token=")).nth(1)?;
    Some(rest.split_whitespace().next()?.to_owned())
}

both!(issue_15_forgot_password_single_use_expiring_links_the_same_answer_for_everyone, |t: TestApp| async move {
    use crate::common::{client, customer_session, staff};
    let base = t.serve_only().await;
    let c = client();
    let pre = "p".repeat(43);
    let form = |path: &str, fields: Vec<(&'static str, String)>| {
        let mut all = vec![("csrf", pre.clone())];
        all.extend(fields);
        c.post(format!("{base}{path}")).header("cookie", format!("__Host-custos_pre={pre}")).form(&all).send()
    };
    let me = customer_session(&t, "rita@example.com").await;
    let confirm = link_token(&t, "rita@example.com", "/cabinet/confirm").unwrap();
    t.app.accounts().confirm_email(&confirm).await.unwrap();

    // Known and unknown addresses get the same page; only the account's owner gets a mail.
    let known = form("/cabinet/forgot", vec![("email", "Rita@Example.com".into())]).await.unwrap();
    let (status, known) = (known.status(), known.text().await.unwrap());
    let unknown = form("/cabinet/forgot", vec![("email", "nobody@example.com".into())]).await.unwrap();
    assert_eq!((status, known), (unknown.status(), unknown.text().await.unwrap()), "the same answer");
    assert!(t.mailer.last_to("nobody@example.com").is_none());
    let token = link_token(&t, "rita@example.com", "/cabinet/reset").expect("a reset link");

    // A weak password keeps the link; a good one uses it up, ends every session and says so.
    let page = c.get(format!("{base}/cabinet/reset?token={token}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let weak =
        form("/cabinet/reset", vec![("token", token.clone()), ("password", "password1234".into())]).await.unwrap();
    assert_eq!(weak.status(), 422);
    assert!(weak.text().await.unwrap().contains("Choose a stronger password"));
    let new = "copper lantern 77 meadow";
    let done = form("/cabinet/reset", vec![("token", token.clone()), ("password", new.into())]).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Your new password is set"));
    assert!(t.app.accounts().session(&me.token).await.unwrap().is_none(), "every session ended");
    assert!(t.mailer.last_to("rita@example.com").unwrap().subject.contains("your password was changed"));
    let again = form("/cabinet/reset", vec![("token", token.clone()), ("password", "another fine phrase 8".into())]);
    assert_eq!(again.await.unwrap().status(), 404, "a link works once");
    t.app.accounts().login(AccountKind::Customer, "rita@example.com", new, IP, None).await.expect("the new password");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "auth.password_reset").count(), 1);

    // A link expires after an hour.
    form("/cabinet/forgot", vec![("email", "rita@example.com".into())]).await.unwrap();
    let late = link_token(&t, "rita@example.com", "/cabinet/reset").unwrap();
    t.clock.advance_ms(61 * 60_000);
    assert_eq!(c.get(format!("{base}/cabinet/reset?token={late}")).send().await.unwrap().status(), 404);

    // Resending the confirmation: only an unconfirmed account gets a mail, the answer is the same.
    t.app.accounts().register_customer("sven@example.com", PASSWORD, "en").await.unwrap();
    let first = link_token(&t, "sven@example.com", "/cabinet/confirm").unwrap();
    let r = form("/cabinet/resend", vec![("email", "sven@example.com".into())]).await.unwrap();
    assert_eq!(r.status(), 200);
    let second = link_token(&t, "sven@example.com", "/cabinet/confirm").unwrap();
    assert_ne!(first, second, "a new link");
    let before = t.mailer.sent().len();
    let r = form("/cabinet/resend", vec![("email", "rita@example.com".into())]).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(t.mailer.sent().len(), before, "a confirmed account gets nothing");

    // Rate-limited per client address: the sixth request within the hour (counted since the
    // clock moved on) is refused.
    for _ in 0..3 {
        form("/cabinet/forgot", vec![("email", "x@example.com".into())]).await.unwrap();
    }
    let r = form("/cabinet/forgot", vec![("email", "y@example.com".into())]).await.unwrap();
    assert_eq!(r.status(), 429, "too many links asked for from one address");

    // Staff: an admin sends the link; it opens the back-office's reset page.
    let admin = staff(&t, "ada@example.com", Role::Admin).await;
    let officer = staff(&t, "otto@example.com", Role::Officer).await;
    let target = t.store.list_accounts(AccountKind::Staff).await.unwrap();
    let otto = target.iter().find(|a| a.role == Some(Role::Officer)).unwrap().id;
    crate::common::step_up(&t, &c, &base, &admin).await;
    let (status, page) = admin.post(&c, format!("{base}/office/staff/{otto}/reset-password"), &[]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("A link to set a new password was sent"), "{page}");
    let staff_token = link_token(&t, "otto@example.com", "/office/reset").expect("a staff reset link");
    assert_eq!(c.get(format!("{base}/office/reset?token={staff_token}")).send().await.unwrap().status(), 200);
    assert_eq!(
        c.get(format!("{base}/cabinet/reset?token={staff_token}")).send().await.unwrap().status(),
        404,
        "a staff link is not a customer's"
    );
    let (status, _) = officer.post(&c, format!("{base}/office/staff/{otto}/reset-password"), &[]).await;
    assert_eq!(status, 403, "only who manages staff");
});
