//! Invariant 4: no personal data in logs, the audit log or webhooks. Canary values (an e-mail,
//! a password, an answer, a TOTP secret) go through every path of the cabinet and the
//! back-office with logging at TRACE for every crate; none of them may appear in the logs, the
//! audit log or the outbox.

use crate::common::*;
use custos_app::accounts::records::AccountKind;
use custos_app::Clock;
use custos_crypto::derive_token;
use custos_domain::access::Role;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

const EMAIL: &str = "canary.person@example.org";
const PASSWORD: &str = "canary horse battery 77 staple";
const ANSWER: &str = "CANARY-ANSWER-salary-ACME-4711";
const DOCUMENT: &str = "canary-payslip-of-ivanov.pdf";
const CARD: &str = "4276380012345679";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn page_form(
    c: &reqwest::Client,
    url: String,
    cookie: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    let mut form: Vec<(String, String)> = vec![("csrf".into(), derive_token(token, "csrf"))];
    form.extend(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    c.post(url).header("cookie", format!("{cookie}={token}")).form(&form)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invariant_4_no_personal_data_in_logs_audit_or_webhooks() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();
    tracing::info!("capture works");

    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(t) = TestApp::new(backend).await else { continue };
        let (base, key) = t.serve().await;
        let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let accounts = t.app.accounts();
        // Registration, failed and good logins, MFA.
        accounts.register_customer(EMAIL, PASSWORD, "en").await.unwrap();
        let pre = "p".repeat(43);
        for password in ["canary wrong password 1", PASSWORD] {
            c.post(format!("{base}/cabinet/login"))
                .header("cookie", format!("__Host-custos_pre={pre}"))
                .form(&[("csrf", pre.as_str()), ("email", EMAIL), ("password", password)])
                .send()
                .await
                .unwrap();
        }
        let (token, _) = accounts.login(AccountKind::Customer, EMAIL, PASSWORD, "10.1.2.3", None).await.unwrap();
        let setup = accounts.begin_mfa(&accounts.session(&token).await.unwrap().unwrap()).await.unwrap();
        let (token, codes) = accounts
            .confirm_mfa(
                &accounts.session(&token).await.unwrap().unwrap(),
                &token,
                &totp_code(&setup.secret_base32, t.clock.now_ms()),
                "10.1.2.3",
            )
            .await
            .unwrap();
        // An order with the e-mail, a held deposit, a request answered from the cabinet.
        let (_, order) = post(
            &c,
            format!("{base}/api/v1/orders"),
            &key,
            json!({"customer_email": EMAIL, "pay": {"network": "ethereum", "asset": "ETH", "amount": "1000"},
                   "receive": {"network": "bitcoin", "asset": "BTC", "amount": "100", "address": CLEAN_BTC}}),
        )
        .await;
        let (_, dep) = post(
            &c,
            format!("{base}/api/v1/deposits"),
            &key,
            json!({"network": "ethereum", "asset": "ETH", "address": order["deposit"]["address"], "index": 0,
                   "amount": "1000", "txid": format!("0x{}", "cd".repeat(32)), "sources": [GAMBLING_ETH]}),
        )
        .await;
        let case = dep["case"]["id"].as_str().unwrap().to_owned();
        let (status, _) = post(
            &c,
            format!("{base}/api/v1/orders/{}/card", order["id"].as_str().unwrap()),
            &key,
            json!({"number": CARD, "holder_name": "CANARY HOLDER"}),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::CREATED);
        let (_, request) = post(
            &c,
            format!("{base}/api/v1/cases/{case}/requests"),
            &key,
            json!({"kind": "source_of_funds", "message": "where from?"}),
        )
        .await;
        let form = reqwest::multipart::Form::new()
            .text("csrf", derive_token(&token, "csrf"))
            .text("answer", ANSWER)
            .part("documents", reqwest::multipart::Part::bytes(b"%PDF-1.4 canary".to_vec()).file_name(DOCUMENT));
        let r = c
            .post(format!("{base}/cabinet/requests/{}/answer", request["id"].as_str().unwrap()))
            .header("cookie", format!("__Host-custos_customer={token}"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{}", r.status());
        // A senior officer reads the case, the answer and reveals the e-mail after a step-up.
        accounts.create_staff("canary.officer@example.org", PASSWORD, Role::SeniorOfficer, None).await.unwrap();
        let (st, staff_secret) =
            enrol(&t, AccountKind::Staff, "canary.officer@example.org", PASSWORD, "10.1.2.4").await;
        t.clock.advance_ms(30_000);
        accounts
            .step_up(
                &accounts.session(&st).await.unwrap().unwrap(),
                &st,
                &totp_code(&staff_secret, t.clock.now_ms()),
                "10.1.2.4",
            )
            .await
            .unwrap();
        let page = c
            .get(format!("{base}/office/cases/{case}"))
            .header("cookie", format!("__Host-custos_staff={st}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(ANSWER) && page.contains(DOCUMENT), "the officer reads the answer and its documents");
        let revealed = page_form(&c, format!("{base}/office/cases/{case}/reveal"), "__Host-custos_staff", &st, &[])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(revealed.contains(EMAIL), "revealed after step-up");

        let canaries = [
            EMAIL,
            PASSWORD,
            ANSWER,
            DOCUMENT,
            CARD,
            "CANARY HOLDER",
            setup.secret_base32.as_str(),
            codes[0].as_str(),
            "10.1.2.3",
            token.as_str(),
            st.as_str(),
        ];
        let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        assert!(logs.contains("capture works") && logs.len() > 1000, "logs are captured ({} bytes)", logs.len());
        for canary in canaries {
            assert!(!logs.contains(canary), "{canary} leaked into the logs");
        }
        let audit = serde_json::to_string(
            &t.store
                .audit_entries(0, 100_000)
                .await
                .unwrap()
                .iter()
                .map(|e| (&e.actor, &e.action, &e.entity_id, &e.data))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(audit.contains("personal_data.revealed") && audit.contains("personal_data.viewed"));
        let outbox = serde_json::to_string(
            &t.store
                .outbox_due(i64::MAX, 100_000)
                .await
                .unwrap()
                .iter()
                .map(|e| e.payload.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        for canary in canaries {
            assert!(!audit.contains(canary), "{canary} leaked into the audit log");
            assert!(!outbox.contains(canary), "{canary} leaked into a webhook");
        }
    }
}
