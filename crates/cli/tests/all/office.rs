//! The back-office and the cabinet's settings over HTTP, on SQLite and PostgreSQL: staff and
//! API keys behind a step-up (SEC-3, SEC-4), the audit log viewer and its verification
//! (invariant 5), the case queue's filters and deadlines (invariant 7), personal data revealed
//! only with a step-up and audited (SEC-12), mail on new requests, password change.

use crate::common::*;
use custos_app::accounts::records::AccountKind;
use custos_crypto::derive_token;
use custos_domain::access::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

both!(sec3_admins_manage_staff_and_api_keys_only_after_a_step_up, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let admin = staff(&t, "root@example.com", Role::Admin).await;
    let new_staff = [("email", "newbie@example.com"), ("password", PASSWORD), ("role", "officer")];
    let (status, page) = admin.post(&c, format!("{base}/office/staff"), &new_staff).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no step-up yet");
    assert!(page.contains("Enter your code again"));
    step_up(&t, &c, &base, &admin).await;
    let (status, page) = admin.post(&c, format!("{base}/office/staff"), &new_staff).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("newbie@example.com"), "listed by e-mail: admins see whom they manage (issue 15)");
    assert!(page.contains("Compliance officer"), "the role by name");
    let officer = t.app.accounts().staff().await.unwrap().into_iter().find(|a| a.role == Some(Role::Officer)).unwrap();
    let (status, _) =
        admin.post(&c, format!("{base}/office/staff/{}", officer.id), &[("role", "support"), ("disabled", "1")]).await;
    assert_eq!(status, StatusCode::OK);
    let changed = t.store.get_account(officer.id).await.unwrap().unwrap();
    assert_eq!((changed.role, changed.disabled), (Some(Role::Support), true));
    // A lost device: the admin resets a colleague's MFA; enrolment is due at the next login.
    let mlro = staff(&t, "mlro@example.com", Role::SeniorOfficer).await;
    let mlro_id = t.app.accounts().session(&mlro.token).await.unwrap().unwrap().account.id;
    let (status, page) = admin.post(&c, format!("{base}/office/staff/{mlro_id}/reset-mfa"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(t.app.accounts().session(&mlro.token).await.unwrap().is_none(), "the colleague's sessions ended");
    let (_, step) = t.app.accounts().login(AccountKind::Staff, "mlro@example.com", PASSWORD, IP, None).await.unwrap();
    assert_eq!(step, custos_app::accounts::LoginStep::EnrolMfa);

    // An API key made here works at once, and stops working once revoked.
    let (status, page) = admin
        .post(
            &c,
            format!("{base}/office/apikeys"),
            &[("name", "exchange site"), ("scope", "orders:read"), ("scope", "screenings:create")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let key = between(&page, "id=\"new-key\">", "<").to_owned();
    assert!(key.starts_with("ck_"), "{key}");
    let screen = || {
        c.post(format!("{base}/api/v1/screenings"))
            .bearer_auth(&key)
            .json(&json!({"network": "ethereum", "address": CLEAN_ETH}))
    };
    assert_eq!(screen().send().await.unwrap().status(), StatusCode::CREATED);
    let record = t.app.api_keys().list().await.unwrap().into_iter().find(|k| k.name == "exchange site").unwrap();
    let (status, _) = admin.post(&c, format!("{base}/office/apikeys/{}/revoke", record.id), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(screen().send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "revoked at once");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    for action in
        ["staff.created", "staff.changed", "auth.mfa_reset", "api_key.created", "api_key.revoked", "auth.step_up"]
    {
        assert!(audit.iter().any(|e| e.action == action), "{action} is audited");
    }
});

both!(invariant_5_the_audit_viewer_verifies_the_chain, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let auditor = staff(&t, "eve@example.com", Role::Auditor).await;
    let (status, page) = auditor.get(&c, format!("{base}/office/audit")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("auth.mfa_enabled") && page.contains("staff.created"));
    let (_, page) = auditor.post(&c, format!("{base}/office/audit/verify"), &[]).await;
    assert!(page.contains("the audit log is intact"), "{page}");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "audit.verified"), "verifying is itself recorded");
});

both!(invariant_7_the_queue_puts_overdue_cases_first_and_filters, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let mut orders = Vec::new();
    for (i, source) in [GAMBLING_ETH, SANCTIONED_ETH].iter().enumerate() {
        let (_, order) = post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            json!({
            "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
            "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
        )
        .await;
        let (_, dep) = post(
            &c,
            format!("{base}/api/v1/deposits"),
            &key,
            json!({
            "network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0, "amount": "1000",
            "txid": format!("0x{}", format!("{i:02}").repeat(32)), "sources": [source]}),
        )
        .await;
        orders.push(dep["case"]["number"].as_i64().unwrap());
    }
    let (_, page) = officer.get(&c, format!("{base}/office")).await;
    assert!(page.contains(&format!("№ {}", orders[0])) && page.contains(&format!("№ {}", orders[1])));
    let (_, holds) = officer.get(&c, format!("{base}/office?action=hold")).await;
    assert!(holds.contains(&format!("№ {}", orders[0])) && !holds.contains(&format!("№ {}", orders[1])));
    let (_, overdue) = officer.get(&c, format!("{base}/office?overdue=1")).await;
    assert!(overdue.contains("id=\"no-cases\""), "nothing is overdue yet");
    t.clock.advance_ms(25 * 3_600_000);
    let officer = staff(&t, "olga2@example.com", Role::Officer).await;
    let (_, overdue) = officer.get(&c, format!("{base}/office?overdue=1")).await;
    assert!(overdue.contains("class=\"overdue\"") && overdue.contains(&format!("№ {}", orders[0])), "{overdue}");
});

both!(
    sec12_personal_data_is_masked_until_revealed_with_a_step_up_and_mail_reaches_the_customer,
    |t: TestApp| async move {
        let (base, key) = t.serve().await;
        let c = client();
        let accounts = t.app.accounts();
        accounts.register_customer("frank@example.com", PASSWORD, "en").await.unwrap();
        let token = t
            .mailer
            .last_to("frank@example.com")
            .unwrap()
            .body
            .split("token=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        accounts.confirm_email(&token).await.unwrap();
        let customer = t.store.list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap();
        let officer = staff(&t, "olga@example.com", Role::Officer).await;
        let support = staff(&t, "sam@example.com", Role::Support).await;
        let url = format!("{base}/office/customers/{}", customer.id);
        for p in [&officer, &support] {
            let (status, page) = p.get(&c, url.clone()).await;
            assert_eq!(status, StatusCode::OK);
            assert!(page.contains("fr***@ex***.com") && !page.contains("frank@example.com"));
        }
        let (status, _) = support.post(&c, format!("{url}/reveal"), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "support may not reveal");
        let (_, page) = officer.post(&c, format!("{url}/reveal"), &[]).await;
        assert!(!page.contains("frank@example.com") && page.contains("Enter your code again"));
        step_up(&t, &c, &base, &officer).await;
        let (_, page) = officer.post(&c, format!("{url}/reveal"), &[]).await;
        assert!(page.contains("frank@example.com"));
        let audit = t.store.audit_entries(0, 10_000).await.unwrap();
        assert_eq!(audit.iter().filter(|e| e.action == "personal_data.revealed").count(), 1);

        // A request on the customer's order reaches them by e-mail.
        let (order, dep) = order_with_deposit(&c, &base, &key, Some("frank@example.com"), GAMBLING_ETH, 0xef).await;
        let case = dep["case"]["id"].as_str().unwrap();
        let (status, page) = officer
            .submit(
                &c,
                format!("{base}/office/cases/{case}/request"),
                &[("kind", "source_of_funds"), ("message", "Where from?")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("The request was sent to the customer."), "post, redirect, and say so");
        let mail = t.mailer.last_to("frank@example.com").unwrap();
        assert!(
            mail.subject.contains("information needed") && mail.body.contains(&format!("order № {}", order["number"]))
        );
    }
);

both!(
    issue_15_mails_follow_the_language_switch_and_give_deadlines_in_words_in_the_customers_time_zone,
    |t: TestApp| async move {
        let (base, key) = t.serve().await;
        let c = client();
        let me = confirmed_customer_session(&t, "ilya@example.com").await;
        // The header's switch saves the language with the account; the settings, the time zone.
        let (status, _) = me.get(&c, format!("{base}/lang/ru?back=/cabinet")).await;
        assert!(status.is_redirection());
        let (status, _) =
            me.post(&c, format!("{base}/cabinet/settings/time-zone"), &[("utc_offset_minutes", "180")]).await;
        assert!(status.is_redirection(), "post, then redirect: {status}");
        let (status, page) =
            me.post(&c, format!("{base}/cabinet/settings/time-zone"), &[("utc_offset_minutes", "61")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not a time zone: {page}");
        // Without the language cookie (another browser), the cabinet is in the saved language.
        let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
        assert!(page.contains("Ваши заявки"), "the saved language");
        assert!(page.contains("<html lang=\"ru\">"));

        let (order, dep) = order_with_deposit(&c, &base, &key, Some("ilya@example.com"), GAMBLING_ETH, 0x1e).await;
        let case = dep["case"]["id"].as_str().unwrap();
        let officer = staff(&t, "olga@example.com", Role::Officer).await;
        let (status, _) = officer
            .submit(&c, format!("{base}/office/cases/{case}/request"), &[("kind", "source_of_funds"), ("message", "?")])
            .await;
        assert_eq!(status, StatusCode::OK);
        let mail = t.mailer.last_to("ilya@example.com").unwrap();
        assert_eq!(mail.subject, "Custos: нужна информация по вашей заявке");
        // Opened 2026-01-01 00:00 UTC, due in 24 hours: 03:00 on 2 January at UTC+03:00.
        assert!(
            mail.body.contains(&format!("№ {} до 2 января 2026 г., 03:00 (UTC+03:00)", order["number"])),
            "{}",
            mail.body
        );
        let link = format!("/cabinet/orders/{}\n", order["id"].as_str().unwrap());
        assert!(mail.body.contains(&link), "a link to the order: {}", mail.body);
    }
);

both!(sec18_changing_the_password_ends_the_other_sessions, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let accounts = t.app.accounts();
    accounts.register_customer("gina@example.com", PASSWORD, "en").await.unwrap();
    let (other, _) = accounts.login(AccountKind::Customer, "gina@example.com", PASSWORD, IP, None).await.unwrap();
    let (token, _) = accounts.login(AccountKind::Customer, "gina@example.com", PASSWORD, IP, None).await.unwrap();
    let me = Person { cookie: "__Host-custos_customer".into(), token, secret: String::new() };
    let url = format!("{base}/cabinet/settings/password");
    let (status, page) =
        me.post(&c, url.clone(), &[("current", "not my password!!"), ("new", "another good passphrase 8")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, page) = me.post(&c, url.clone(), &[("current", PASSWORD), ("new", "password1234")]).await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && page.contains("too easy to guess"));
    let (status, _) = me.post(&c, url, &[("current", PASSWORD), ("new", "another good passphrase 8")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(accounts.session(&other).await.unwrap().is_none(), "the other session ended");
    assert!(accounts.session(&me.token).await.unwrap().is_some(), "this one goes on");
    accounts.login(AccountKind::Customer, "gina@example.com", "another good passphrase 8", IP, None).await.unwrap();
    // The language is kept with the account.
    let (status, _) = me.post(&c, format!("{base}/cabinet/settings/language"), &[("locale", "ru")]).await;
    assert!(status.is_redirection());
    assert_eq!(accounts.session(&me.token).await.unwrap().unwrap().account.locale, "ru");
});

both!(documents_are_checked_encrypted_and_opened_by_officers_only_with_an_audit, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let accounts = t.app.accounts();
    accounts.register_customer("hana@example.com", PASSWORD, "en").await.unwrap();
    let (token, _) = accounts.login(AccountKind::Customer, "hana@example.com", PASSWORD, IP, None).await.unwrap();
    let (_, dep) = order_with_deposit(&c, &base, &key, Some("hana@example.com"), GAMBLING_ETH, 0x1f).await;
    let case = dep["case"]["id"].as_str().unwrap().to_owned();
    let (_, request) = post(
        &c,
        format!("{base}/api/v1/cases/{case}/requests"),
        &key,
        json!({"kind": "source_of_funds", "message": "Statement please"}),
    )
    .await;
    let answer_url = format!("{base}/cabinet/requests/{}/answer", request["id"].as_str().unwrap());
    let send = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut form =
            reqwest::multipart::Form::new().text("csrf", derive_token(&token, "csrf")).text("answer", "Salary");
        for (name, bytes) in files {
            form = form.part("documents", reqwest::multipart::Part::bytes(bytes).file_name(name));
        }
        c.post(answer_url.clone()).header("cookie", format!("__Host-custos_customer={token}")).multipart(form).send()
    };
    // A program renamed to .pdf is refused by its content; nothing is recorded.
    let r = send(vec![("statement.pdf", b"MZ\x90\x00 not a pdf".to_vec())]).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("not a PDF, PNG or JPEG"));
    // A form without its token is refused before anything is read.
    let no_csrf = reqwest::multipart::Form::new().text("answer", "x");
    let r = c
        .post(answer_url.clone())
        .header("cookie", format!("__Host-custos_customer={token}"))
        .multipart(no_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let pdf = b"%PDF-1.4\n% bank statement of Hana\n".to_vec();
    let r = send(vec![("../../Bank Statement.pdf", pdf.clone())]).await.unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT content_enc FROM request_documents").fetch_all(t.store.pool()).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains("bank statement"), "encrypted at rest");

    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let support = staff(&t, "sam@example.com", Role::Support).await;
    let (_, page) = officer.get(&c, format!("{base}/office/cases/{case}")).await;
    assert!(page.contains("Bank Statement.pdf") && page.contains("application/pdf"), "listed by its clean name");
    let link = between(&page, "href=\"/office/documents/", "\"").to_owned();
    let (_, support_page) = support.get(&c, format!("{base}/office/cases/{case}")).await;
    assert!(!support_page.contains("Bank Statement.pdf"), "support does not see documents");
    let r = c
        .get(format!("{base}/office/documents/{link}"))
        .header("cookie", format!("__Host-custos_staff={}", support.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .get(format!("{base}/office/documents/{link}"))
        .header("cookie", format!("__Host-custos_staff={}", officer.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"Bank_Statement.pdf\"");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf);
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "document.uploaded"));
    assert!(audit.iter().any(|e| e.action == "personal_data.viewed" && e.entity_id == link));
    assert!(audit.iter().all(|e| !e.data.contains("Bank Statement")), "names stay out of the audit log");

    // A second document, then the two ciphertexts swapped between their rows: neither opens,
    // because each is bound to its own row.
    let (_, second) = post(
        &c,
        format!("{base}/api/v1/cases/{case}/requests"),
        &key,
        json!({"kind": "information", "message": "One more"}),
    )
    .await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", derive_token(&token, "csrf"))
        .text("answer", "Here")
        .part("documents", reqwest::multipart::Part::bytes(b"%PDF-1.4 payslip".to_vec()).file_name("payslip.pdf"));
    let r = c
        .post(format!("{base}/cabinet/requests/{}/answer", second["id"].as_str().unwrap()))
        .header("cookie", format!("__Host-custos_customer={token}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, content_enc FROM request_documents ORDER BY created_at_ms, id")
            .fetch_all(t.store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    let writer = crate::common::open(&t.db.url).await;
    for (i, (id, _)) in rows.iter().enumerate() {
        let other = &rows[1 - i].1;
        sqlx::query("UPDATE request_documents SET content_enc = $1 WHERE id = $2")
            .bind(other.as_str())
            .bind(id.as_str())
            .execute(writer.pool())
            .await
            .unwrap();
    }
    for (id, _) in &rows {
        let opened = t.app.requests().open_document(uuid::Uuid::parse_str(id).unwrap(), "staff:test").await;
        let err = opened.expect_err("a ciphertext moved to another row does not decrypt").to_string();
        assert!(err.contains("moved from another row"), "{err}");
    }
});

both!(sec17_an_appeal_needs_kyc_first_and_an_officer_answers_within_the_review_deadline, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let me = confirmed_customer_session(&t, "ivan@example.com").await;
    let new_order = || {
        post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            json!({"customer_email": "ivan@example.com",
        "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
        "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
        )
    };
    let (_, waiting) = new_order().await;
    let (status, page) = me
        .post(&c, format!("{base}/cabinet/orders/{}/appeal", waiting["id"].as_str().unwrap()), &[("appeal", "why?")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing to appeal yet: {page}");
    let (_, order) = new_order().await;
    let order_id = order["id"].as_str().unwrap();
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH",
        "address": order["deposit"]["address"], "index": 0, "amount": "1000", "txid": format!("0x{}", "2e".repeat(32)),
        "sources": [SANCTIONED_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "rejected");
    let case = dep["case"]["id"].as_str().unwrap().to_owned();
    let (_, page) = me.get(&c, format!("{base}/cabinet/orders/{order_id}")).await;
    assert!(
        !page.contains("id=\"send-appeal\"") && page.contains("id=\"appeal-needs-kyc\""),
        "SEC-17: no appeal form before KYC; the page says the verification comes first"
    );
    let text = "I bought these coins on a licensed exchange; the sender was not me.";
    let (status, page) = me.post(&c, format!("{base}/cabinet/orders/{order_id}/appeal"), &[("appeal", text)]).await;
    assert_eq!(status, StatusCode::CONFLICT, "SEC-17: no appeal before KYC");
    assert!(page.contains("needs a passed identity verification first"), "{page}");
    assert!(page.contains(text), "the refused form keeps what the customer typed");
    assert!(!page.contains("SEC-17"), "no internal code reaches a customer");
    // KYC passes (an officer's review, without a provider); then the appeal is taken.
    let index = t.store.list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap().email_index;
    let v = t.app.kyc().request_verification(&index, None, "identity", "staff:test").await.unwrap();
    t.app
        .kyc()
        .review_verification(
            v.id,
            &index,
            custos_app::kyc::ReviewDecision::Approve { identity_name: Some("Una Example".into()) },
            "staff:test",
        )
        .await
        .unwrap();
    let (_, page) = me.get(&c, format!("{base}/cabinet/orders/{order_id}")).await;
    assert!(page.contains("id=\"send-appeal\""), "after KYC the customer is offered an appeal");
    let (status, _) = me.post(&c, format!("{base}/cabinet/orders/{order_id}/appeal"), &[("appeal", text)]).await;
    assert!(status.is_redirection());
    let (status, _) = me.post(&c, format!("{base}/cabinet/orders/{order_id}/appeal"), &[("appeal", "again")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open appeal at a time");
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT text_enc FROM appeals").fetch_all(t.store.pool()).await.unwrap();
    assert!(!stored[0].contains("licensed exchange"), "encrypted at rest");

    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let (_, dash) = officer.get(&c, format!("{base}/office")).await;
    assert!(dash.contains("id=\"appeals\"") && dash.contains(&format!("/office/cases/{case}")));
    let (_, page) = officer.get(&c, format!("{base}/office/cases/{case}")).await;
    assert!(page.contains(text) && page.contains("2026-01-03"), "the text, due in 48 hours (SLA-2)");
    assert!(
        page.contains("appeal.opened") && page.contains("Appeal received") && page.contains("deposit"),
        "the timeline comes from the audit log"
    );
    let support = staff(&t, "sam@example.com", Role::Support).await;
    let (_, page) = support.get(&c, format!("{base}/office/cases/{case}")).await;
    assert!(!page.contains(text), "support does not read appeals");
    let appeal = t.app.appeals().appeals_of_order(uuid::Uuid::parse_str(order_id).unwrap()).await.unwrap().remove(0);
    let (status, _) =
        support.post(&c, format!("{base}/office/appeals/{}/answer", appeal.id), &[("outcome", "no")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, page) = officer
        .post(
            &c,
            format!("{base}/office/appeals/{}/answer", appeal.id),
            &[("outcome", "We checked again: the rejection stands; the refund follows.")],
        )
        .await;
    assert!(page.contains("the appeal is answered"), "{page}");
    assert!(t.mailer.last_to("ivan@example.com").unwrap().subject.contains("appeal has been answered"));
    let (_, page) = me.get(&c, format!("{base}/cabinet/orders/{order_id}")).await;
    assert!(page.contains("the rejection stands"), "the customer reads the answer");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "appeal.answered"));
    assert!(audit.iter().any(|e| e.action == "personal_data.viewed" && e.entity_type == "appeal"));
});

both!(sec4_self_registration_is_limited_per_address, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let pre = "p".repeat(43);
    let mut statuses = Vec::new();
    for i in 0..11 {
        let r = c
            .post(format!("{base}/cabinet/register"))
            .header("cookie", format!("__Host-custos_pre={pre}"))
            .form(&[("csrf", pre.clone()), ("email", format!("flood{i}@example.com")), ("password", PASSWORD.into())])
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert!(statuses[..10].iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(statuses[10], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(t.store.list_accounts(AccountKind::Customer).await.unwrap().len(), 10);
});

both!(ref_1_an_officer_refunds_to_the_source_from_the_back_office_and_a_second_approves, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let (_, dep) = order_with_deposit(&c, &base, &key, None, GAMBLING_ETH, 0x3c).await;
    let case = dep["case"]["id"].as_str().unwrap().to_owned();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let url = format!("{base}/office/cases/{case}");
    let (_, page) = officer.get(&c, url.clone()).await;
    let source = custos_domain::Address::parse(custos_domain::Network::Ethereum, GAMBLING_ETH).unwrap();
    assert!(page.contains(&format!("<option value=\"{}\">", source.as_str())), "the refund goes to a source");
    // Case work: take it, note, extend with a reason, escalate.
    for (op, text, hours, done) in [
        ("take", "", "", "The case is assigned to you."),
        ("note", "called the exchange", "", "The note is added."),
        ("extend", "waiting for the bank", "24", "The deadline is extended."),
        ("escalate", "", "", "The case is escalated to the MLRO."),
    ] {
        let (status, page) =
            officer.submit(&c, format!("{url}/act"), &[("op", op), ("text", text), ("hours", hours)]).await;
        assert_eq!(status, StatusCode::OK, "{op}: {page}");
        assert!(page.contains(done), "{op}: {page}");
    }
    let (_, page) = officer.get(&c, url.clone()).await;
    assert!(
        page.contains("<span id=\"assignee\" class=\"user-text\">olga@example.com</span>"),
        "assigned, by name: {page}"
    );
    assert!(!page.contains("staff:"), "no ids where names belong");
    let (_, bad) = officer.post(&c, format!("{url}/act"), &[("op", "extend"), ("text", "x"), ("hours", "many")]).await;
    assert!(bad.contains("hours: a whole number"));
    // REF-2: a refund follows the customer's KYC.
    let customer = customer_actor(&t, "payer@example.com").await;
    for kind in ["kyc", "source_of_funds"] {
        let (_, r) =
            post(&c, format!("{base}/api/v1/cases/{case}/requests"), &key, json!({"kind": kind, "message": "please"}))
                .await;
        t.app.requests().answer_request(r["id"].as_str().unwrap().parse().unwrap(), "sent", &customer).await.unwrap();
    }
    // Refund: the fee is checked, the decision waits for a second officer.
    let (_, page) = officer
        .post(
            &c,
            format!("{url}/decide"),
            &[("kind", "refund"), ("to_address", source.as_str()), ("network_fee", "1.5.0"), ("rationale", WHY)],
        )
        .await;
    assert!(page.contains("network fee"), "{page}");
    let (_, page) = officer
        .submit(
            &c,
            format!("{url}/decide"),
            &[
                ("kind", "refund"),
                ("to_address", source.as_str()),
                ("network_fee", "0.000000000000021"),
                ("rationale", WHY),
            ],
        )
        .await;
    assert!(page.contains("four eyes"), "{page}");
    assert!(page.contains("id=\"awaiting-approval\"") && !page.contains("id=\"decide\""), "no second decision");
    let mlro = staff(&t, "max@example.com", Role::SeniorOfficer).await;
    let decision = t.store.decisions_of_case(uuid::Uuid::parse_str(&case).unwrap()).await.unwrap().remove(0);
    let (_, page) = mlro.post(&c, format!("{base}/office/decisions/{}/approve", decision.id), &[]).await;
    assert!(page.contains("Enter your code again"), "approving a refund needs a step-up");
    step_up(&t, &c, &base, &mlro).await;
    let (_, page) = mlro.submit(&c, format!("{base}/office/decisions/{}/approve", decision.id), &[]).await;
    assert!(page.contains("id=\"order-status\">Refund pending"), "{page}");
    // REF-4: the officer records the refund's transaction before its deadline.
    assert!(page.contains("class=\"refund\"") && page.contains(source.as_str()), "{page}");
    let refund = between(&page, "action=\"/office/refunds/", "/sent\"").to_owned();
    let (_, page) = officer
        .submit(&c, format!("{base}/office/refunds/{refund}/sent"), &[("txid", &format!("0x{}", "4d".repeat(32)))])
        .await;
    assert!(page.contains("transaction is recorded") && page.contains("id=\"order-status\">Refunded"), "{page}");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    for action in ["case.assigned", "case.noted", "case.deadline_extended", "case.escalated"] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "{action}: {:?}",
            audit.iter().map(|e| &e.action).collect::<Vec<_>>()
        );
    }
});

both!(sec14_an_officer_requests_a_verification_the_customer_sees_it_and_the_officer_decides, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let accounts = t.app.accounts();
    accounts.register_customer("mia@example.com", PASSWORD, "en").await.unwrap();
    let (token, _) = accounts.login(AccountKind::Customer, "mia@example.com", PASSWORD, IP, None).await.unwrap();
    let me = Person { cookie: "__Host-custos_customer".into(), token, secret: String::new() };
    let customer = t.store.list_accounts(AccountKind::Customer).await.unwrap().pop().unwrap();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let support = staff(&t, "sam@example.com", Role::Support).await;
    let url = format!("{base}/office/customers/{}", customer.id);
    let (status, _) = support.post(&c, format!("{url}/verifications"), &[("level", "full")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "support cannot request");
    let (status, _) = officer.post(&c, format!("{url}/verifications"), &[("level", "full")]).await;
    assert!(status.is_redirection());
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(page.contains("id=\"verifications\"") && page.contains("please complete it before the deadline"));
    assert!(page.contains("2026-01-02"), "due in 24 hours (SEC-15)");
    assert!(page.contains("id=\"kyc-blocks\"") && !page.contains("id=\"standing\""), "SEC-14 said, not yet suspended");
    let v = t.app.kyc().verifications_of(&customer.email_index).await.unwrap().remove(0);
    let review = format!("{base}/office/verifications/{}/review", v.id);
    let cid = customer.id.to_string();
    let (status, _) =
        officer.post(&c, review.clone(), &[("customer", &cid), ("decision", "retry"), ("reason", "")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a refusal needs its reason");
    let (status, _) = officer
        .post(&c, review.clone(), &[("customer", &cid), ("decision", "retry"), ("reason", "a4_sheet_wrong")])
        .await;
    assert!(status.is_redirection());
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(page.contains("Please submit again"));
    let (_, page) = officer.get(&c, url.clone()).await;
    assert!(page.contains("a4_sheet_wrong"), "the officer sees the reason");
    let (status, page) = officer.post(&c, review.clone(), &[("customer", &cid), ("decision", "approve")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an identity is approved with its name (KYC-4)");
    assert!(page.contains("name as the identity document shows it"), "{page}");
    let (status, _) = officer
        .post(&c, review.clone(), &[("customer", &cid), ("decision", "approve"), ("identity_name", "Una Example")])
        .await;
    assert!(status.is_redirection());
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(page.contains("Passed"));
    let (status, _) =
        officer.post(&c, review, &[("customer", &cid), ("decision", "reject"), ("reason", "other")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "a passed verification is final");
    assert!(t.app.kyc().kyc_passed(&customer.email_index).await.unwrap());
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(!page.contains("id=\"kyc-blocks\""), "nothing waits any more");

    // SEC-15: a second request left past its deadline suspends the account, and the cabinet says so.
    let (status, _) = officer.post(&c, format!("{url}/verifications"), &[("level", "identity")]).await;
    assert!(status.is_redirection());
    t.clock.advance_ms(25 * 3_600_000);
    t.app.deadline_job().enforce_deadlines().await.unwrap();
    let (token, _) = accounts.login(AccountKind::Customer, "mia@example.com", PASSWORD, IP, None).await.unwrap();
    let me = Person { token, ..me };
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(page.contains("id=\"standing\"") && page.contains("Your account is suspended"), "{page}");
    let officer = staff(&t, "oleg@example.com", Role::Officer).await;
    let (_, page) = officer.get(&c, url.clone()).await;
    assert!(page.contains("<strong id=\"standing\">suspended</strong>"), "{page}");
    // Staff-side words on the customer page (issue 15): not the cabinet's "You pay".
    assert!(page.contains("The customer&#39;s orders") && page.contains("The customer pays"), "{page}");
    assert!(!page.contains("You pay") && !page.contains("Your orders"), "{page}");

    // SEC-17: she passed KYC before, so she may appeal the suspension; an officer reinstates her.
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(page.contains("id=\"send-standing-appeal\""), "the cabinet offers the appeal");
    let text = "I was travelling without my passport; I can verify now.";
    let (status, _) = me.post(&c, format!("{base}/cabinet/standing/appeal"), &[("appeal", text)]).await;
    assert!(status.is_redirection());
    let (status, _) = me.post(&c, format!("{base}/cabinet/standing/appeal"), &[("appeal", "again")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "one open appeal at a time");
    let stored: String =
        sqlx::query_scalar("SELECT text_enc FROM standing_appeals").fetch_one(t.store.pool()).await.unwrap();
    assert!(!stored.contains("travelling"), "encrypted at rest");
    let (_, queue) = officer.get(&c, format!("{base}/office")).await;
    assert!(queue.contains(&format!("/office/customers/{}", customer.id)) && queue.contains("standing-appeal"));
    let (_, page) = officer.get(&c, url.clone()).await;
    assert!(page.contains(text), "the officer reads it");
    let support = staff(&t, "sue@example.com", Role::Support).await;
    let (status, page) = support.get(&c, url.clone()).await;
    assert!(status.is_success() && page.contains("standing-appeal") && !page.contains(text), "support does not");
    let appeal = t.app.appeals().standing_appeals_of(&customer.email_index).await.unwrap().remove(0);
    let answer = format!("{base}/office/standing-appeals/{}/answer", appeal.id);
    let fields = [("outcome", "Reinstated: please complete the verification today."), ("reinstate", "on")];
    let (status, _) = support.post(&c, answer.clone(), &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "support cannot decide");
    let (status, _) = officer.post(&c, answer, &fields).await;
    assert!(status.is_redirection());
    let standing = t.store.customer_status(&customer.email_index).await.unwrap().unwrap().1;
    assert_eq!(standing, custos_app::model::CustomerStatus::Active);
    let (_, page) = me.get(&c, format!("{base}/cabinet")).await;
    assert!(!page.contains("id=\"standing\"") && page.contains("please complete the verification today"));
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let answered = audit.iter().find(|e| e.action == "standing_appeal.answered").expect("audited");
    assert!(answered.data.contains("\"reinstated\":true"), "{}", answered.data);
});

both!(issue_15_the_queue_searches_filters_pages_and_assigns_in_bulk, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let olga = staff(&t, "olga@example.com", Role::Officer).await;
    let oleg = staff(&t, "oleg@example.com", Role::Officer).await;
    let accounts = t.app.accounts();
    accounts.register_customer("nina@example.com", PASSWORD, "en").await.unwrap();
    let link = t.mailer.last_to("nina@example.com").unwrap().body;
    accounts.confirm_email(link.split("token=").nth(1).unwrap().split_whitespace().next().unwrap()).await.unwrap();
    // Nina's held order (an external id, a gambling source), a sanctioned one, and fifty more.
    let (_, order) = post(
        &c,
        format!("{base}/api/v1/orders"),
        &key,
        json!({"customer_email": "nina@example.com", "external_id": "EX-77",
               "pay": {"network": "ethereum", "asset": "ETH", "amount": "2500000000000000000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "10", "address": CLEAN_BTC}}),
    )
    .await;
    let txid = format!("0x{}", "a1".repeat(32));
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0,
               "amount": "2500000000000000000", "txid": txid, "sources": [GAMBLING_ETH]}),
    )
    .await;
    let nina_case = dep["case"]["number"].as_i64().unwrap();
    let (_, sanctioned) = order_with_deposit(&c, &base, &key, None, SANCTIONED_ETH, 0xb2).await;
    assert_eq!(sanctioned["order"]["status"], "rejected");
    for i in 0..50u8 {
        order_with_deposit(&c, &base, &key, None, GAMBLING_ETH, i).await;
    }
    let rows = |page: &str| page.matches("class=\"case-row\"").count();

    // Pages of 50 with the total.
    let (_, page) = olga.get(&c, format!("{base}/office")).await;
    assert_eq!(rows(&page), 50);
    assert!(page.contains("Cases found: 52 · Page 1 of 2") && page.contains("id=\"next-page\""), "{page}");
    let (_, page) = olga.get(&c, format!("{base}/office?page=2")).await;
    assert_eq!(rows(&page), 2);
    assert!(page.contains("id=\"prev-page\""));

    // Search: the case number, the external id, the txid in capitals, the customer's e-mail.
    for q in [nina_case.to_string(), "EX-77".into(), txid.to_uppercase().replace("0X", "0x"), "Nina@Example.com".into()]
    {
        let url = reqwest::Url::parse_with_params(&format!("{base}/office"), [("q", &q)]).unwrap().to_string();
        let (_, page) = olga.get(&c, url).await;
        assert_eq!(rows(&page), 1, "{q}");
        assert!(page.contains(&format!("№ {nina_case}")), "{q}");
        assert!(page.contains("ni***@ex***.com") && page.contains("2.5 ETH") && page.contains("Gambling"), "{q}");
    }
    // A source address finds every case it paid into.
    let (_, page) = olga.get(&c, format!("{base}/office?q={}", GAMBLING_ETH.to_lowercase())).await;
    assert!(page.contains("Cases found: 51"), "{page}");

    // Filters: category, network, and the sanctioned one says its customer is unknown.
    let (_, page) = olga.get(&c, format!("{base}/office?category=sanctions")).await;
    assert_eq!(rows(&page), 1);
    assert!(page.contains("Sanctions") && page.contains(&format!("№ {}", sanctioned["case"]["number"])));
    let (_, page) = olga.get(&c, format!("{base}/office?network=bitcoin")).await;
    assert!(page.contains("id=\"no-cases\""));
    // The riskiest first: the sanctioned case heads the queue sorted by score.
    let (_, page) = olga.get(&c, format!("{base}/office?sort=score")).await;
    let first = between(&page, "class=\"case-row\"", "</tr>");
    assert!(first.contains(&format!("№ {}<", sanctioned["case"]["number"])), "{first}");

    // Bulk assignment to Oleg; "mine" is his list; the assignee reads by name.
    let staff = t.store.list_accounts(AccountKind::Staff).await.unwrap();
    let oleg_id = staff.iter().find(|a| accounts.email_of(a).unwrap() == "oleg@example.com").unwrap().id;
    let cases: Vec<String> = t
        .app
        .queries()
        .queue(&custos_app::model::QueueQuery { limit: 2, ..Default::default() })
        .await
        .unwrap()
        .rows
        .iter()
        .map(|r| r.case.id.to_string())
        .collect();
    let mut form = vec![("assignee", oleg_id.to_string()), ("back", "/office".into())];
    form.extend(cases.iter().map(|id| ("case", id.clone())));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = olga.post(&c, format!("{base}/office/cases/assign"), &form).await;
    assert!(status.is_redirection(), "post, then back to the queue: {status}");
    let (_, page) = oleg.get(&c, format!("{base}/office?assignee=mine")).await;
    assert_eq!(rows(&page), 2);
    assert!(page.contains("oleg@example.com") && !page.contains("staff:"), "names, not ids");
    let (status, page) =
        olga.post(&c, format!("{base}/office/cases/assign"), &[("assignee", &oleg_id.to_string())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Tick the cases to assign"), "a refusal is shown");

    // The customer's answer and its 48-hour review deadline show in the queue.
    let case_id = uuid::Uuid::parse_str(dep["case"]["id"].as_str().unwrap()).unwrap();
    let request = t
        .app
        .requests()
        .request_from_customer(case_id, custos_app::model::RequestKind::SourceOfFunds, "Where from?", "staff:x")
        .await
        .unwrap();
    let nina = t.store.list_accounts(AccountKind::Customer).await.unwrap().remove(0);
    t.app.requests().answer_request_with(request.id, "Salary", vec![], &format!("customer:{}", nina.id)).await.unwrap();
    let (_, page) = olga.get(&c, format!("{base}/office?answered=1")).await;
    assert_eq!(rows(&page), 1);
    assert!(
        page.contains("Answered by the customer") && page.contains("review due") && page.contains("48 h"),
        "{page}"
    );
    // And on the case.
    let (_, page) = olga.get(&c, format!("{base}/office/cases/{case_id}")).await;
    let review = between(&page, &format!("id=\"review-{}\">", request.id), "</p>");
    assert!(review.contains("Answered by the customer") && review.contains("48 h"), "{page}");

    // In Russian: categories and outcomes translated.
    let page = olga.get_ru(&c, format!("{base}/office?q={nina_case}")).await;
    assert!(page.contains("Азартные игры") && page.contains("Очередь кейсов") && page.contains("2,5 ETH"), "{page}");
});

both!(
    issue_15_the_case_page_offers_only_what_the_policy_allows_and_closed_cases_look_closed,
    |t: TestApp| async move {
        let (base, key) = t.serve().await;
        let c = client();
        let officer = staff(&t, "olga@example.com", Role::Officer).await;
        let (_, dep) = order_with_deposit(&c, &base, &key, None, SANCTIONED_ETH, 0x5d).await;
        let url = format!("{base}/office/cases/{}", dep["case"]["id"].as_str().unwrap());
        let (_, page) = officer.get(&c, url.clone()).await;
        assert!(page.contains("id=\"freeze-only\""), "says why");
        assert!(
            !page.contains("<option value=\"release\">") && !page.contains("id=\"refund\""),
            "no release, no refund"
        );
        assert!(page.contains("<span id=\"case-status\">Open</span>") && page.contains("Sanctions"), "human labels");
        assert!(!page.contains("on_hold_awaiting_customer") && !page.contains(">rejected<"), "no raw tokens");
        // Block explorer links per network (the public mainnet ones unless configured).
        let deposits = between(&page, "id=\"deposits\"", "</table>");
        assert!(deposits.contains("href=\"https://etherscan.io/tx/0x"), "{deposits}");
        let source = format!("href=\"https://etherscan.io/address/{}\"", SANCTIONED_ETH.to_lowercase());
        assert!(deposits.to_lowercase().contains(&source), "{deposits}");
        assert!(deposits.contains("rel=\"noopener noreferrer\""), "no referrer to the explorer");
        assert!(between(&page, "Deposit address", "</p>").contains("href=\"https://etherscan.io/address/0x"));
        // A freeze takes effect at once; the case reads closed, with its outcome and no countdown.
        let (_, page) = officer.submit(&c, format!("{url}/decide"), &[("kind", "freeze"), ("rationale", WHY)]).await;
        assert!(page.contains("The decision is in effect."), "{page}");
        assert!(page.contains("<span id=\"case-status\">Closed</span>"), "{page}");
        assert!(between(&page, "id=\"case-outcome\"", "</p>").contains("Freeze"), "{page}");
        assert!(
            !page.contains("id=\"decide\"") && !page.contains("id=\"case-act\""),
            "nothing to decide on a closed case"
        );
        let head = between(&page, "<div class=\"card\">", "</div>");
        assert!(!head.contains(" h ") && !head.contains("min)"), "no live countdown: {head}");
        // In Russian.
        let r = officer.get_ru(&c, url.clone()).await;
        assert!(r.contains("Закрыт") && r.contains("Санкции") && r.contains("Заморожена"), "{r}");
    }
);

both!(issue_15_a_decision_needs_a_rationale_kept_encrypted_shown_and_audited, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let (_, dep) = order_with_deposit(&c, &base, &key, None, SANCTIONED_ETH, 0x5e).await;
    let case = dep["case"]["id"].as_str().unwrap().to_owned();
    let url = format!("{base}/office/cases/{case}");
    let (_, page) = officer.get(&c, url.clone()).await;
    assert!(page.contains("id=\"decide-rationale\"") && page.contains("required"), "the form asks why");
    // No rationale, or too short a one: refused with the reason shown, nothing decided.
    for why in ["", "ok", "  o k  o k  "] {
        let (status, page) = officer.post(&c, format!("{url}/decide"), &[("kind", "freeze"), ("rationale", why)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why:?}");
        assert!(page.contains("id=\"error\"") && page.contains("rationale: say why"), "{page}");
    }
    let (status, problem) = post(
        &c,
        format!("{base}/api/v1/cases/{case}/decisions"),
        &key,
        json!({"decision": "freeze", "rationale": "too short"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().starts_with("rationale:"), "{problem}");
    let (status, _) =
        post(&c, format!("{base}/api/v1/cases/{case}/decisions"), &key, json!({"decision": "freeze"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the API requires it too");
    assert!(t.store.decisions_of_case(case.parse().unwrap()).await.unwrap().is_empty());

    // Given: kept encrypted, shown on the case, its digest in the audit chain.
    let (_, page) = officer.submit(&c, format!("{url}/decide"), &[("kind", "freeze"), ("rationale", WHY)]).await;
    assert!(page.contains("The decision is in effect."), "{page}");
    let shown = between(&page, "class=\"rationale user-text\">", "</p>");
    assert!(shown.contains("Checked the sources and the customer&#39;s answers."), "{shown}");
    let stored: Vec<Option<String>> =
        sqlx::query_scalar("SELECT rationale_enc FROM decisions").fetch_all(t.store.pool()).await.unwrap();
    let sealed = stored[0].as_deref().unwrap();
    assert!(!sealed.contains("Checked"), "encrypted at rest: {sealed}");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "decision.requested").unwrap();
    let data: Value = serde_json::from_str(&entry.data).unwrap();
    assert_eq!(data["rationale_sha256"], custos_crypto::sha256_hex(WHY.as_bytes()), "{data}");
    // The API never returns it: an integrator's system could show it to the customer.
    let file = get(&c, format!("{base}/api/v1/cases/{case}"), &key).await;
    assert!(!file.to_string().contains("Checked the sources") && !file.to_string().contains("rationale"), "{file}");
});

both!(issue_15_the_policy_page_reads_as_tables, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let (status, page) = officer.get(&c, format!("{base}/office/policy")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("\"band_actions\"") && !page.contains("<pre"), "not JSON: {page}");
    let bands = between(&page, "id=\"policy-bands\"", "</table>");
    assert_eq!(bands.matches("<tr>").count(), 5, "a header and four bands: {bands}");
    assert!(bands.contains("<td>critical</td><td>75.00</td><td>100.00</td><td>reject</td>"), "{bands}");
    let categories = between(&page, "id=\"policy-categories\"", "</table>");
    assert!(categories.contains("<td>Sanctions</td><td>reject</td><td>hold</td><td>1%</td>"), "{categories}");
    assert!(categories.contains("<td>Gambling</td><td>hold</td><td>hold</td><td>5%</td>"), "{categories}");
    let page = officer.get_ru(&c, format!("{base}/office/policy")).await;
    assert!(page.contains("<td>Санкции</td><td>отказ</td><td>приостановка</td>"), "{page}");
});

both!(issue_15_the_overview_counts_cases_and_the_exports_are_filtered_audited_and_streamed, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let officer = staff(&t, "olga@example.com", Role::Officer).await;
    let mut cases = Vec::new();
    for seed in [0x61, 0x62, 0x63] {
        let (_, dep) = order_with_deposit(&c, &base, &key, None, SANCTIONED_ETH, seed).await;
        cases.push(dep["case"]["id"].as_str().unwrap().to_owned());
    }
    // One case closed in time by a freeze.
    let (_, page) = officer
        .submit(&c, format!("{base}/office/cases/{}/decide", cases[0]), &[("kind", "freeze"), ("rationale", WHY)])
        .await;
    assert!(page.contains("The decision is in effect."), "{page}");

    let (status, page) = officer.get(&c, format!("{base}/office/overview")).await;
    assert_eq!(status, StatusCode::OK);
    let figure = |id: &str| between(&page, &format!("id=\"{id}\">"), "<").to_owned();
    assert_eq!(figure("ov-opened"), "3", "opened in the last 30 days");
    assert_eq!(figure("ov-closed"), "1");
    assert_eq!(figure("ov-in-time"), "100%");
    assert_eq!(figure("ov-overdue-cases"), "0");
    assert!(!figure("ov-median").is_empty() && figure("ov-median") != "—");
    let categories = between(&page, "id=\"ov-categories\"", "</ul>");
    assert!(categories.contains("Sanctions") && categories.contains("<strong>2</strong>"), "{categories}");
    assert!(between(&page, "id=\"ov-outcomes\"", "</ul>").contains("<strong>2</strong>"), "two open rejects");
    assert!(page.contains("<svg id=\"ov-chart\"") && page.matches("class=\"bar opened\"").count() == 30, "a bar a day");
    assert!(!page.contains("<script>") && !page.contains("style=\""), "no inline script or style (CSP)");

    // The queue's CSV: what the filters select, every page of it, audited.
    let csv = |url: String, who: &Person| {
        let c = c.clone();
        let cookie = who.cookie_header();
        async move {
            let r = c.get(url).header("cookie", cookie).send().await.unwrap();
            let status = r.status();
            let kind = r.headers().get("content-type").map(|h| h.to_str().unwrap().to_owned()).unwrap_or_default();
            (status, kind, r.text().await.unwrap())
        }
    };
    let (status, kind, body) = csv(format!("{base}/office/cases.csv?status=any"), &officer).await;
    assert_eq!((status, kind.as_str()), (StatusCode::OK, "text/csv; charset=utf-8"), "{body}");
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines[0].starts_with("case,opened_at,status,outcome,order"), "{body}");
    assert_eq!(lines.len(), 4, "a header and three cases: {body}");
    assert!(
        body.contains(",closed,reject,") && body.contains(",0.000000000001,") && body.contains("sanctions"),
        "{body}"
    );
    let (_, _, open) = csv(format!("{base}/office/cases.csv"), &officer).await;
    assert_eq!(open.lines().count(), 3, "open cases only, as the queue: {open}");

    // The audit log's CSV, filtered by action, for an auditor; each export is audited first.
    let auditor = staff(&t, "ada@example.com", Role::Auditor).await;
    let (status, _, body) = csv(format!("{base}/office/audit.csv?action=decision."), &auditor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows: Vec<&str> = body.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.contains(",decision.")), "{body}");
    assert!(body.contains("olga@example.com"), "staff by name beside the id: {body}");
    let (status, _, _) = csv(format!("{base}/office/audit.csv?from=2026-02-30"), &auditor).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "bad dates are refused");
    let (status, _, body) = csv(format!("{base}/office/audit.csv?from=2999-01-01"), &auditor).await;
    assert_eq!((status, body.lines().count()), (StatusCode::OK, 1), "nothing after: {body}");
    let support = staff(&t, "sam@example.com", Role::Support).await;
    let (status, _, _) = csv(format!("{base}/office/audit.csv"), &support).await;
    assert_ne!(status, StatusCode::OK, "support does not read the audit log");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let exports: Vec<_> = audit.iter().filter(|e| e.action.starts_with("export.")).map(|e| e.action.as_str()).collect();
    assert_eq!(exports, ["export.cases", "export.cases", "export.audit", "export.audit"], "each export, once");

    // In Russian.
    let page = officer.get_ru(&c, format!("{base}/office/overview")).await;
    assert!(page.contains("Обзор") && page.contains("Санкции") && page.contains("закрыто"), "{page}");
});

both!(issue_15_the_pre_check_speaks_to_each_side_in_its_own_words, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let support = staff(&t, "sam@example.com", Role::Support).await;
    let check = [("network", "ethereum"), ("address", SANCTIONED_ETH)];
    let (status, page) = support.post(&c, format!("{base}/office/precheck"), &check).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("without an order") && page.contains("written to the audit log"), "staff's own intro");
    let details = between(&page, "id=\"details\"", "</table>");
    assert!(details.contains("Sanctions") && details.contains("class=\"analyzer\""), "per analyzer: {details}");
    assert!(between(&page, "id=\"decision\">", "<").contains("reject"), "the policy's action");
    assert!(page.contains("<option value=\"ethereum\">Ethereum</option>"), "networks by name");

    let customer = confirmed_customer_session(&t, "pia@example.com").await;
    let (status, page) = customer.post(&c, format!("{base}/cabinet/precheck"), &check).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Check an address before paying"), "the customer's intro");
    assert!(between(&page, "id=\"decision\">", "</p>").contains("would not be accepted"), "{page}");
    assert!(!page.contains("Sanctions") && !page.contains("id=\"details\""), "band and outcome only (PRE-1)");
    assert!(!page.contains(">reject<"), "the outcome in words, not the policy's token: {page}");
    let r = c
        .post(format!("{base}/cabinet/precheck"))
        .header("cookie", format!("{}; custos_lang=ru", customer.cookie_header()))
        .form(&[("csrf", customer.csrf()), ("network", "ethereum".into()), ("address", SANCTIONED_ETH.into())])
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    assert!(page.contains("не был бы принят"), "{page}");
});
