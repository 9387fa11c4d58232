//! Authority requests (DISC-1): a register of restricted records, with the requester verified,
//! the request moved only along its life and approved by two people who did not register it;
//! whoever lacks the permissions finds no such thing anywhere (pages, menu, audit log, export).

use crate::common::*;
use custos_domain::access::Role;
use reqwest::StatusCode;

const AUTHORITY: &str = "Investigative Committee, Cyber Unit 7";

/// Registers a request through the form, as the MLRO would; returns its page's path.
async fn register(c: &reqwest::Client, base: &str, mlro: &Person) -> String {
    let form = [
        ("kind", "law_enforcement"),
        ("authority", AUTHORITY),
        ("legal_basis", "Article 21 of the AML law; request letter"),
        ("document_ref", "IC-7/2026/0412"),
        ("received", "2026-01-01"),
        ("due", "2026-01-08"),
        ("customers", "anna@example.com\n"),
        ("from", "2025-12-01"),
        ("to", "2025-12-31"),
        ("category", "transactions"),
        ("category", "account"),
    ];
    let (status, _) = mlro.post(c, format!("{base}/office/disclosures"), &form).await;
    assert!(status.is_redirection(), "{status}");
    let (_, list) = mlro.get(c, format!("{base}/office/disclosures")).await;
    let id = between(&list, "href=\"/office/disclosures/", "\"").to_owned();
    assert_eq!(id.len(), 36, "{list}");
    format!("/office/disclosures/{id}")
}

both!(disc_1_an_authority_request_is_verified_moved_along_its_life_and_approved_by_two, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let registrar = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let second = staff(&t, "max@example.com", Role::SeniorOfficer).await;
    let third = staff(&t, "lev@example.com", Role::SeniorOfficer).await;
    let path = register(&c, &base, &registrar).await;
    let url = format!("{base}{path}");
    let (_, page) = registrar.get(&c, url.clone()).await;
    assert!(page.contains("Authority request № 1") && page.contains(AUTHORITY), "{page}");
    assert!(page.contains("<span id=\"ds-state\">received</span>") && page.contains("anna@example.com"), "{page}");
    // Sealed at rest: the authority and the customers in scope are not stored in the clear.
    let sealed: Vec<String> =
        sqlx::query_scalar("SELECT details_enc FROM authority_requests").fetch_all(t.store.pool()).await.unwrap();
    assert!(!sealed[0].contains("Cyber") && !sealed[0].contains("anna@"), "{}", sealed[0]);

    // Only the moves the life of a request allows.
    let (status, page) = registrar.post(&c, format!("{url}/advance"), &[("to", "produced")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("cannot go from received to produced"), "{page}");
    let (_, page) = registrar.submit(&c, format!("{url}/advance"), &[("to", "verifying")]).await;
    assert!(page.contains("verifying the requester") && page.contains("id=\"ds-verify\""), "{page}");
    // No approval before the requester is verified and the request is in legal review.
    step_up(&t, &c, &base, &second).await;
    let (status, page) = second.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    let verification =
        [("channel", "call-back to the unit's published number"), ("method", "officer's ID and case no.")];
    let (_, page) = registrar.submit(&c, format!("{url}/verify"), &verification).await;
    assert!(page.contains("<span id=\"ds-state\">legal review</span>"), "{page}");
    assert!(page.contains("call-back to the unit") && page.contains("mira@example.com"), "who verified: {page}");

    // Two approvers, neither the registrar; the first chooses in full or in part.
    step_up(&t, &c, &base, &registrar).await;
    let (status, page) = registrar.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("registered the request cannot approve it"), "{page}");
    let (_, page) = second.submit(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert!(page.contains("1 / 2") && page.contains("legal review"), "one approval is not enough: {page}");
    let (status, page) = second.post(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("already approved"), "{page}");
    step_up(&t, &c, &base, &third).await;
    let (_, page) = third.post(&c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    assert!(page.contains("approve the same, or reject"), "{page}");
    let (_, page) = third.submit(&c, format!("{url}/approve"), &[("outcome", "partly_approved")]).await;
    assert!(page.contains("<span id=\"ds-state\">approved in part</span>"), "{page}");
    let (_, page) = third.submit(&c, format!("{url}/advance"), &[("to", "produced")]).await;
    assert!(page.contains("<span id=\"ds-state\">produced</span>"), "{page}");

    // Each change audited once, on the restricted entity.
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let count = |action: &str| audit.iter().filter(|e| e.action == action).count();
    assert_eq!(count("disclosure.registered"), 1);
    assert_eq!(count("disclosure.verified"), 1);
    assert_eq!(count("disclosure.approved"), 2);
    let moves: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "disclosure.state_changed")
        .map(|e| serde_json::from_str::<serde_json::Value>(&e.data).unwrap()["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(moves, ["verifying", "legal_review", "partly_approved", "produced"]);
    assert!(audit.iter().filter(|e| e.action.starts_with("disclosure.")).all(|e| e.entity_type == "authority_request"));
});

both!(disc_1_restricted_records_do_not_exist_for_whoever_lacks_the_permission, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let mlro = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let path = register(&c, &base, &mlro).await;
    let (_, page) = mlro.get(&c, format!("{base}/office/audit")).await;
    assert!(page.contains("disclosure.registered"), "the MLRO sees the entries");
    for (email, role) in [
        ("olga@example.com", Role::Officer),
        ("ada@example.com", Role::Auditor),
        ("sam@example.com", Role::Support),
        ("root@example.com", Role::Admin),
    ] {
        let who = staff(&t, email, role).await;
        for url in ["/office/disclosures".to_owned(), path.clone()] {
            let (status, page) = who.get(&c, format!("{base}{url}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} {url}");
            assert!(!page.contains(AUTHORITY) && !page.contains("Authority request"), "{page}");
        }
        let (status, _) = who.post(&c, format!("{base}{path}/advance"), &[("to", "verifying")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{role:?} cannot act on it either");
        let (_, home) = who.get(&c, format!("{base}/office/policy")).await;
        assert!(!home.contains("/office/disclosures"), "no menu entry for {role:?}");
        if role.can(custos_domain::access::Permission::AuditRead) {
            let (_, log) = who.get(&c, format!("{base}/office/audit")).await;
            assert!(!log.contains("disclosure.") && !log.contains("authority_request"), "{role:?}: {log}");
            let (_, csv) = who.get(&c, format!("{base}/office/audit.csv")).await;
            assert!(!csv.contains("disclosure.") && !csv.contains("authority_request"), "{role:?}: {csv}");
        }
    }
    let id = path.rsplit('/').next().unwrap();
    let (status, _) = mlro.get(&c, format!("{base}/office/disclosures/{}", id.replace('0', "1"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown request is not found either");
});

both!(disc_1_the_statutory_clock_reminds_and_then_alerts_the_mlro_once, |t: TestApp| async move {
    const HOUR: i64 = 3_600_000;
    let base = t.serve_only().await;
    let c = client();
    let mlro = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    staff(&t, "max@example.com", Role::SeniorOfficer).await;
    staff(&t, "olga@example.com", Role::Officer).await;
    register(&c, &base, &mlro).await; // received 2026-01-01, due by the end of 2026-01-08
    let (disclosures, accounts) = (t.app.disclosures(), t.app.accounts());
    let notices =
        |to: &str| t.mailer.sent().into_iter().filter(|m| m.to == to && m.subject.contains("authority")).count();
    assert_eq!(disclosures.run_clocks(accounts).await.unwrap(), 0, "a week ahead: nothing yet");
    // The day it is due: a reminder to each member of staff who sees the register, once.
    t.clock.advance_ms(7 * 24 * HOUR + HOUR);
    let (a, b) = tokio::join!(disclosures.run_clocks(accounts), disclosures.run_clocks(accounts));
    assert_eq!(a.unwrap() + b.unwrap(), 2, "two MLROs, once each, though two instances ran the clock");
    let mail = t.mailer.last_to("mira@example.com").unwrap();
    assert!(mail.subject.contains("authority request № 1 is due soon"), "{}", mail.subject);
    assert!(mail.body.contains("/office/disclosures/"), "{}", mail.body);
    assert_eq!(notices("olga@example.com"), 0, "an officer does not see the register");
    assert_eq!(disclosures.run_clocks(accounts).await.unwrap(), 0);
    // Past due: the alert, once.
    t.clock.advance_ms(24 * HOUR);
    assert_eq!(disclosures.run_clocks(accounts).await.unwrap(), 2);
    assert!(t.mailer.last_to("max@example.com").unwrap().subject.contains("is overdue"));
    assert_eq!(disclosures.run_clocks(accounts).await.unwrap(), 0);
    assert_eq!((notices("mira@example.com"), notices("olga@example.com")), (2, 0));
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let clock: Vec<_> = audit.iter().filter(|e| e.action.starts_with("disclosure.") && e.actor == "system").collect();
    assert_eq!(
        clock.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["disclosure.due_soon", "disclosure.overdue"]
    );
    assert!(clock.iter().all(|e| e.entity_type == "authority_request"), "restricted like the request");
});

both!(
    issue_16_a_legal_hold_stops_erasure_and_retention_deletion_until_released_with_a_reason,
    |t: TestApp| async move {
        use custos_domain::kyc::Step;
        let base = t.serve_only().await;
        let c = client();
        let mlro = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
        let accounts = t.app.accounts();
        accounts.register_customer("cleo@example.com", PASSWORD, "en").await.unwrap();
        let kind = custos_app::accounts::records::AccountKind::Customer;
        let index = t.store.list_accounts(kind).await.unwrap().remove(0).email_index;
        let (status, _) = mlro
            .post(
                &c,
                format!("{base}/office/holds"),
                &[("customer", "Cleo@Example.com"), ("reason", "court order 12/2026")],
            )
            .await;
        assert!(status.is_redirection(), "{status}");
        let (_, page) = mlro.get(&c, format!("{base}/office/disclosures")).await;
        let holds = between(&page, "id=\"legal-holds\"", "</table>");
        assert!(holds.contains("cl***@ex***.com") && holds.contains("court order 12/2026"), "{holds}");

        // Erasure is refused while the hold is active.
        let rules = custos_app::keys::ErasureRules::default();
        let err = t.app.keys().erase_customer("cleo@example.com", &rules, "staff:dpo").await.unwrap_err();
        assert!(err.code() == "erasure_not_allowed" && err.to_string().contains("legal hold"), "{err}");
        // A decided verification's documents stay while held: neither the decision nor the
        // retention job deletes them.
        let v = t.app.kyc().request_verification(&index, None, "identity", "staff:test").await.unwrap();
        let photo = png_with_text();
        for step in [Step::Identity, Step::Selfie] {
            let kind = (step == Step::Identity).then_some("id_card");
            let upload = custos_app::kyc::VerificationUpload { step, kind, bytes: &photo, issued_on: None };
            t.app.kyc().submit_verification_file(&index, v.id, upload, "customer:test").await.unwrap();
        }
        let approve = custos_app::kyc::ReviewDecision::Approve { identity_name: Some("Cleo Example".into()) };
        t.app.kyc().review_verification(v.id, &index, approve, "staff:test").await.unwrap();
        t.app.deadline_job().enforce_deadlines().await.unwrap();
        assert_eq!(t.app.kyc().verification_files(v.id).await.unwrap().len(), 2, "held: kept");

        // Released with a reason: it stays listed, and the retention job does its work again.
        let id = between(&page, "action=\"/office/holds/", "/release\"").to_owned();
        let (status, page) = mlro.post(&c, format!("{base}/office/holds/{id}/release"), &[("reason", "")]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a release needs a reason: {page}");
        let (_, page) =
            mlro.submit(&c, format!("{base}/office/holds/{id}/release"), &[("reason", "the order was lifted")]).await;
        let holds = between(&page, "id=\"legal-holds\"", "</table>");
        assert!(holds.contains("the order was lifted") && holds.contains("mira@example.com"), "{holds}");
        t.app.deadline_job().enforce_deadlines().await.unwrap();
        assert!(t.app.kyc().verification_files(v.id).await.unwrap().is_empty(), "released: deleted");
        t.app.keys().erase_customer("cleo@example.com", &rules, "staff:dpo").await.unwrap();
        let audit = t.store.audit_entries(0, 10_000).await.unwrap();
        let holds: Vec<_> = audit.iter().filter(|e| e.action.starts_with("legal_hold.")).collect();
        assert_eq!(
            holds.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["legal_hold.placed", "legal_hold.released"]
        );
        assert!(
            holds.iter().all(|e| e.entity_type == "legal_hold" && !e.data.contains("court")),
            "restricted, no reason"
        );
        // Restricted like the register.
        let officer = staff(&t, "olga@example.com", Role::Officer).await;
        let (status, _) =
            officer.post(&c, format!("{base}/office/holds"), &[("customer", "x@example.com"), ("reason", "r")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, log) = officer.get(&c, format!("{base}/office/audit")).await;
        assert!(!log.contains("legal_hold"), "{log}");
    }
);

/// A page with what differs between two customers by nature taken out: their e-mails, pictures
/// (QR codes), and every token holding a digit (ids, numbers, times, addresses, form tokens).
fn normalised(page: &str, email: &str) -> String {
    let mut rest = page.replace(email, "EMAIL");
    while let (Some(a), Some(b)) = (rest.find("<svg"), rest.find("</svg>")) {
        if b < a {
            break;
        }
        rest.replace_range(a..b + "</svg>".len(), "SVG");
    }
    let mut out = String::with_capacity(rest.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        out.push_str(if token.chars().any(|c| c.is_ascii_digit()) { "#" } else { token.as_str() });
        token.clear();
    };
    for ch in rest.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
            token.push(ch);
        } else {
            flush(&mut token, &mut out);
            out.push(ch);
        }
    }
    flush(&mut token, &mut out);
    out
}

both!(disc_1_no_tipping_off_a_customer_named_in_a_request_sees_what_any_other_sees, |t: TestApp| async move {
    let (base, key) = t.serve().await;
    let c = client();
    let mut seen = Vec::new();
    for email in ["anna@example.com", "bella@example.com"] {
        let person = confirmed_customer_session(&t, email).await;
        let (status, order) = post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            serde_json::json!({"customer_email": email,
                "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000000000000000000"},
                "receive": {"network": "bitcoin", "asset": "BTC", "amount": "5000000", "address": CLEAN_BTC}}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        seen.push((email, person, order["id"].as_str().unwrap().to_owned()));
    }
    // Anna is named in an authority request, with a freeze asked for and no disclosure to her.
    let mlro = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    register(&c, &base, &mlro).await;
    let mut views = Vec::new();
    for (email, person, order) in &seen {
        let (_, list) = person.get(&c, format!("{base}/cabinet")).await;
        let (_, page) = person.get(&c, format!("{base}/cabinet/orders/{order}")).await;
        let api = get(&c, format!("{base}/api/v1/orders/{order}"), &key).await.to_string();
        let mails: Vec<String> = t.mailer.sent().into_iter().filter(|m| m.to == *email).map(|m| m.subject).collect();
        views.push([normalised(&list, email), normalised(&page, email), normalised(&api, email), mails.join("|")]);
    }
    for (what, (a, b)) in ["orders", "the order", "the API's order", "mails"].iter().zip(views[0].iter().zip(&views[1]))
    {
        assert_eq!(a, b, "{what} differ between a customer in an authority request and one who is not");
    }
    // No webhook event mentions the request.
    let events: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM outbox").fetch_all(t.store.pool()).await.unwrap();
    assert!(events.iter().all(|e| !e.contains("disclosure") && !e.contains("authority")), "{events:?}");
});

/// A request registered by the first, verified, and approved by the other two; its page's URL.
async fn approved_request(
    t: &TestApp,
    c: &reqwest::Client,
    base: &str,
    form: &[(&str, &str)],
    staff: [&Person; 3],
) -> String {
    let [registrar, second, third] = staff;
    let (_, page) = registrar.submit(c, format!("{base}/office/disclosures"), form).await;
    let url = format!("{base}/office/disclosures/{}", between(&page, "action=\"/office/disclosures/", "/advance\""));
    let (status, _) = registrar.get(c, format!("{url}/records.json")).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing is produced before approval");
    registrar.submit(c, format!("{url}/advance"), &[("to", "verifying")]).await;
    let verification = [("channel", "court registry"), ("method", "order looked up")];
    registrar.submit(c, format!("{url}/verify"), &verification).await;
    for approver in [second, third] {
        step_up(t, c, base, approver).await;
        approver.submit(c, format!("{url}/approve"), &[("outcome", "approved")]).await;
    }
    url
}

both!(disc_1_production_stays_inside_the_scope, |t: TestApp| async move {
    const DAY: i64 = 86_400_000;
    let (base, key) = t.serve().await;
    let c = client();
    let order_of = |email: &'static str| {
        let (c, base, key) = (c.clone(), base.clone(), key.clone());
        async move {
            let body = serde_json::json!({"customer_email": email,
                "pay": {"network": "ethereum", "asset": "ETH", "amount": "1500000000000000000"},
                "receive": {"network": "bitcoin", "asset": "BTC", "amount": "5000000", "address": CLEAN_BTC}});
            let (status, o) = post(&c, format!("{base}/api/v1/orders"), &key, body).await;
            assert_eq!(status, StatusCode::CREATED, "{o}");
            (o["number"].as_i64().unwrap(), o["deposit"]["address"].as_str().unwrap().to_owned())
        }
    };
    // Anna in January and February, Bella in January.
    t.app.accounts().register_customer("anna@example.com", PASSWORD, "en").await.unwrap();
    t.clock.advance_ms(4 * DAY);
    let (anna_january, _) = order_of("anna@example.com").await;
    let (bella_january, bella_address) = order_of("bella@example.com").await;
    t.clock.advance_ms(31 * DAY);
    let (anna_february, _) = order_of("anna@example.com").await;

    // A request for Anna's January transactions and account.
    let registrar = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let second = staff(&t, "max@example.com", Role::SeniorOfficer).await;
    let third = staff(&t, "lev@example.com", Role::SeniorOfficer).await;
    let mut form = vec![
        ("kind", "court_order"),
        ("authority", "District Court"),
        ("legal_basis", "Order of production"),
        ("document_ref", "DC-2026-19"),
        ("received", "2026-02-05"),
        ("due", "2026-02-20"),
        ("from", "2026-01-01"),
        ("to", "2026-01-31"),
        ("category", "transactions"),
        ("category", "account"),
    ];
    let mut for_anna = form.clone();
    for_anna.push(("customers", "Anna@Example.com"));
    let url = approved_request(&t, &c, &base, &for_anna, [&registrar, &second, &third]).await;
    let (status, json) = registrar.get(&c, format!("{url}/records.json")).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let produced: serde_json::Value = serde_json::from_str(&json).unwrap();
    let customers = produced["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1, "{produced}");
    assert_eq!(customers[0]["email"], "anna@example.com");
    assert_eq!(customers[0]["account"]["language"], "en", "the account category");
    let numbers: Vec<i64> =
        customers[0]["orders"].as_array().unwrap().iter().map(|o| o["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [anna_january], "January only: not {anna_february} of February");
    assert!(!json.contains("bella") && !json.contains(&format!("\"number\": {bella_january}")), "no row of Bella");
    assert_eq!(customers[0]["orders"][0]["pays"], "1.5 ETH");
    assert!(produced["orders_by_address_or_transaction"].as_array().unwrap().is_empty());
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "disclosure.records_produced").expect("audited");
    assert_eq!(entry.entity_type, "authority_request");
    assert!(entry.data.contains("\"orders\":1") && !entry.data.contains("anna"), "{}", entry.data);

    // A request for an address: the orders it touches in the period, and no customer named.
    let address = bella_address.to_lowercase();
    form.push(("addresses", &address));
    let url = approved_request(&t, &c, &base, &form, [&registrar, &second, &third]).await;
    let (_, json) = registrar.get(&c, format!("{url}/records.json")).await;
    let produced: serde_json::Value = serde_json::from_str(&json).unwrap();
    let orders = produced["orders_by_address_or_transaction"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{produced}");
    assert_eq!(orders[0]["number"], bella_january, "found by its deposit address, typed in lower case");
    assert!(produced["customers"].as_array().unwrap().is_empty() && !json.contains("bella@"), "{json}");
});

both!(disc_1_the_bundle_is_a_signed_bagit_bag_that_fails_after_one_flipped_byte, |t: TestApp| async move {
    use std::process::Command;
    let base = t.serve_only().await;
    let c = client();
    let registrar = staff(&t, "mira@example.com", Role::SeniorOfficer).await;
    let second = staff(&t, "max@example.com", Role::SeniorOfficer).await;
    let third = staff(&t, "lev@example.com", Role::SeniorOfficer).await;
    t.app.accounts().register_customer("anna@example.com", PASSWORD, "en").await.unwrap();
    let form = [
        ("kind", "fiu"),
        ("authority", "Financial Intelligence Unit"),
        ("legal_basis", "AML law, art. 9"),
        ("document_ref", "FIU-2026-7"),
        ("received", "2026-01-01"),
        ("due", "2026-01-05"),
        ("customers", "anna@example.com"),
        ("category", "account"),
    ];
    let url = approved_request(&t, &c, &base, &form, [&registrar, &second, &third]).await;
    let r = c.get(format!("{url}/bundle.tar")).header("cookie", registrar.cookie_header()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let tar = r.bytes().await.unwrap();
    let dir = std::env::temp_dir().join(format!("custos-bundle-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bundle.tar"), &tar).unwrap();
    let untar = Command::new("tar").arg("-xf").arg("bundle.tar").current_dir(&dir).status().unwrap();
    assert!(untar.success());
    let bag = dir.join("authority-request-1");
    let (_, page) = registrar.get(&c, url.clone()).await;
    assert!(page.contains("<span id=\"ds-state\">produced</span>"), "producing the bundle produces the request");
    let hash = between(&page, "id=\"ds-bundle-hash\">", "<").to_owned();
    let key = between(&page, "id=\"ds-public-key\">", "<").to_owned();
    assert_eq!((hash.len(), key.len()), (64, 64), "{page}");

    // Custos verifies it against the key the page shows; bag-info names the request and the chain.
    let verify = |bag: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_custos"))
            .args(["bundle", "verify", "--public-key", &key])
            .arg(bag)
            .output()
            .unwrap()
    };
    let out = verify(&bag);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        said.contains(&hash) && said.contains("Audit-Chain-Head:") && said.contains("authority request 1"),
        "{said}"
    );
    let info = std::fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    assert!(info.contains("Custos-Version:") && info.contains("External-Identifier:"), "{info}");
    let records = std::fs::read_to_string(bag.join("data/records.json")).unwrap();
    assert!(records.contains("anna@example.com") && records.contains("\"language\": \"en\""), "{records}");
    // The hash is kept on the request and in the audit log.
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "disclosure.bundle_produced").expect("audited");
    assert!(entry.data.contains(&hash), "{}", entry.data);
    // An independent BagIt validator agrees (PyPI's bagit, installed by scripts/install-test-tools).
    let python = std::env::var("CUSTOS_BAGIT_PYTHON").ok();
    assert!(
        python.is_some() || std::env::var("CUSTOS_REQUIRE_BAGIT").map_or(true, |v| v != "1"),
        "CUSTOS_REQUIRE_BAGIT=1 but CUSTOS_BAGIT_PYTHON is not set (scripts/install-test-tools)"
    );
    if let Some(python) = &python {
        let out = Command::new(python).args(["-m", "bagit", "--validate"]).arg(&bag).output().unwrap();
        assert!(out.status.success(), "bagit: {}", String::from_utf8_lossy(&out.stderr));
    }
    // One flipped byte anywhere and it fails.
    let records_path = bag.join("data/records.json");
    let mut bytes = std::fs::read(&records_path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&records_path, &bytes).unwrap();
    let out = verify(&bag);
    assert!(!out.status.success(), "a flipped byte must fail");
    assert!(String::from_utf8_lossy(&out.stderr).contains("data/records.json does not match"), "{out:?}");
    if let Some(python) = &python {
        let out = Command::new(python).args(["-m", "bagit", "--validate"]).arg(&bag).output().unwrap();
        assert!(!out.status.success(), "bagit must refuse it too");
    }
    let _ = std::fs::remove_dir_all(&dir);
});

both!(disc_1_production_covers_verifications_and_requests_of_the_period, |t: TestApp| async move {
    const DAY: i64 = 86_400_000;
    let (base, key) = t.serve().await;
    let c = client();
    t.app.accounts().register_customer("anna@example.com", PASSWORD, "en").await.unwrap();
    let kind = custos_app::accounts::records::AccountKind::Customer;
    let anna = t.store.list_accounts(kind).await.unwrap().remove(0);
    t.clock.advance_ms(4 * DAY);
    let (_, dep) = order_with_deposit(&c, &base, &key, Some("anna@example.com"), SANCTIONED_ETH, 0x71).await;
    let case = uuid::Uuid::parse_str(dep["case"]["id"].as_str().unwrap()).unwrap();
    let requests = t.app.requests();
    let source = custos_app::model::RequestKind::SourceOfFunds;
    let january =
        requests.request_from_customer(case, source, "Where do the funds come from?", "staff:x").await.unwrap();
    let me = format!("customer:{}", anna.id);
    requests.answer_request_with(january.id, "Salary from ACME", vec![], &me).await.unwrap();
    t.app.kyc().request_verification(&anna.email_index, None, "identity", "staff:test").await.unwrap();
    t.clock.advance_ms(31 * DAY);
    let info = custos_app::model::RequestKind::Information;
    requests.request_from_customer(case, info, "A February question", "staff:x").await.unwrap();

    let staff3 = [
        staff(&t, "mira@example.com", Role::SeniorOfficer).await,
        staff(&t, "max@example.com", Role::SeniorOfficer).await,
        staff(&t, "lev@example.com", Role::SeniorOfficer).await,
    ];
    let form = [
        ("kind", "law_enforcement"),
        ("authority", "Police"),
        ("legal_basis", "Criminal procedure code"),
        ("document_ref", "P-1"),
        ("received", "2026-02-05"),
        ("due", "2026-02-20"),
        ("customers", "anna@example.com"),
        ("from", "2026-01-01"),
        ("to", "2026-01-31"),
        ("category", "kyc"),
        ("category", "communications"),
    ];
    let url = approved_request(&t, &c, &base, &form, [&staff3[0], &staff3[1], &staff3[2]]).await;
    let (_, json) = staff3[0].get(&c, format!("{url}/records.json")).await;
    let produced: serde_json::Value = serde_json::from_str(&json).unwrap();
    let anna_out = &produced["customers"][0];
    assert_eq!(anna_out["verifications"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(anna_out["verifications"][0]["level"], "identity");
    let asked = anna_out["requests"].as_array().unwrap();
    assert_eq!(asked.len(), 1, "January's request only: {json}");
    assert_eq!(asked[0]["answer"], "Salary from ACME", "opened with her data key");
    assert!(!json.contains("February question"), "{json}");
    assert!(anna_out["orders"].as_array().unwrap().is_empty(), "no transactions asked for");
    assert!(anna_out.get("account").is_none(), "no account asked for");
    let audit = t.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "personal_data.viewed" && e.data.contains("authority_request")),
        "the answer's opening is audited"
    );
});
