//! The cabinet and the back-office in a real browser (Debian's Chromium, headless, through
//! chromedriver), on SQLite and PostgreSQL: a customer registers, turns on TOTP and logs in
//! with a code; an order made through the API shows in the cabinet; a held deposit shows the
//! officer's Source-of-Funds request and its deadline; the customer answers; an officer
//! releases and a senior officer approves (four eyes, step-up); the customer sees the new
//! status; support sees masked data and cannot decide.
//!
//! A second scenario is manual KYC (issue 6): an officer requests a verification, the customer
//! sees it with its countdown and uploads each document, the officer reviews with the A4
//! checklist and asks for a resubmission, the customer reads why and resubmits, and is approved.
//!
//! `CUSTOS_SCREENSHOTS=DIR` saves screenshots of the main pages into DIR.

#[path = "common/webdriver.rs"]
mod webdriver;

use crate::common::*;
use custos_app::Clock;
use custos_crypto::derive_token;
use custos_domain::access::Role;
use serde_json::json;
use webdriver::Browser;

const PASSWORD: &str = "violet tractor 42 umbrella";

/// Words that stay Latin on a Russian page: proper names, tickers, abbreviations of the trade.
const LATIN_OK: &[&str] = &[
    "Custos", "TOTP", "KYC", "MFA", "SumSub", "PDF", "PNG", "JPEG", "USDT", "USDC", "ETH", "BTC", "TRX", "Bitcoin",
    "Ethereum", "TRON", "UTC", "MLRO", "API", "ID", "QR", "A", "CSV", "DeFi", "JSON", "BagIt", "tar",
    // Ed25519, split at its digits.
    "Ed", // P2P, split at its digit.
    "P",
];

/// The page's visible words, without what is not ours to translate: codes and addresses, what
/// people typed (`.user-text`), form fields, the language switch and pictures.
const PAGE_TEXT: &str = "const c = document.body.cloneNode(true);
c.querySelectorAll('option, td, th, li').forEach(e => e.append(' '));
c.querySelectorAll('code, script, style, svg, .user-text, .lang, input, textarea, [translate=no]').forEach(e => e.remove());
const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => !e.closest('.table-scroll')).slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(e => !e.closest('label') && !e.getAttribute('aria-label') && !(e.id && document.querySelector(`label[for=\"${e.id}\"]`)))
  .map(e => e.tagName + '#' + e.id + '[' + e.name + ']');
const squeezed = [...document.querySelectorAll('.table-scroll')].filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.querySelector('table') || e).id);
return {text: c.textContent, overflow: document.documentElement.scrollWidth - window.innerWidth, wide: wide,
  unlabelled: unlabelled, squeezed: squeezed};";

/// A status or code token a person should never read (`on_hold_awaiting_customer`).
fn raw_token(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).find(|w| w.trim_matches('_').contains('_'))
}

/// English words on a page that should be Russian.
fn english_words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty() && !LATIN_OK.contains(w)).collect()
}

struct Run {
    t: TestApp,
    b: Browser,
    base: String,
    shots: Option<std::path::PathBuf>,
}

impl Run {
    async fn shot(&self, name: &str) {
        if let Some(dir) = &self.shots {
            self.b.screenshot(&dir.join(format!("{name}.png"))).await;
        }
    }

    /// The page as people see it, at 390 px and 1366 px, in Russian and English (issue 15): no
    /// sideways scrolling, every table whole at 1366 px, every form field labelled, no raw status
    /// token, no English on the Russian page outside names.
    /// Ends in English at 1366 px.
    async fn survey(&self, what: &str) {
        let b = &self.b;
        for lang in ["ru", "en"] {
            b.click(&format!("#lang-{lang}")).await;
            for width in [390, 1366] {
                b.resize(width, 900).await;
                let v = b.script(PAGE_TEXT).await;
                let overflow = v["overflow"].as_i64().unwrap();
                assert!(overflow <= 0, "{what} ({lang}, {width} px) scrolls sideways by {overflow} px: {}", v["wide"]);
                let unlabelled = v["unlabelled"].as_array().unwrap();
                assert!(
                    unlabelled.is_empty(),
                    "{what}: form fields without a label for screen readers: {unlabelled:?}"
                );
                if width == 1366 {
                    let squeezed = v["squeezed"].as_array().unwrap();
                    assert!(squeezed.is_empty(), "{what}: tables that do not fit 1366 px: {squeezed:?}");
                }
                let text = v["text"].as_str().unwrap();
                assert_eq!(raw_token(text), None, "{what} ({lang}) shows a raw token:\n{text}");
                if lang == "ru" {
                    let english = english_words(text);
                    assert!(english.is_empty(), "{what} has English on the Russian page: {english:?}\n{text}");
                }
            }
        }
    }

    /// The browser's staff session token, for requests made beside the browser.
    async fn staff_token(&self) -> String {
        let cookies = self.b.cookies().await;
        let session = cookies.as_array().unwrap().iter().find(|c| c["name"] == "__Host-custos_staff").unwrap();
        session["value"].as_str().unwrap().to_owned()
    }

    /// A new step for the next code of the same account.
    fn next_code(&self, secret: &str) -> String {
        self.t.clock.advance_ms(30_000);
        totp_code(secret, self.t.clock.now_ms())
    }

    async fn login(&self, side: &str, email: &str) {
        self.b.clear_cookies().await;
        self.b.goto(&format!("{}/{side}/login", self.base)).await;
        self.b.fill("#email", email).await;
        self.b.fill("#password", PASSWORD).await;
        self.b.click("#submit").await;
    }

    /// Logs in with password and code.
    async fn login_with_code(&self, side: &str, email: &str, secret: &str) {
        self.login(side, email).await;
        assert!(self.b.url().await.ends_with(&format!("/{side}/login/code")), "{}", self.b.url().await);
        let c = self.next_code(secret);
        self.b.fill("#code", &c).await;
        self.b.click("#submit").await;
    }

    /// A member of staff's first login: MFA enrolment is forced; returns the TOTP secret.
    async fn staff_first_login(&self, email: &str, role: Role) -> String {
        self.t.app.accounts().create_staff(email, PASSWORD, role, None).await.unwrap();
        self.login("office", email).await;
        assert!(self.b.url().await.ends_with("/office/mfa"), "staff must enrol first: {}", self.b.url().await);
        let secret = self.b.text("#totp-secret").await;
        let c = self.next_code(&secret);
        self.b.fill("#code", &c).await;
        self.b.click("#submit").await;
        assert!(self.b.has("#recovery-codes").await);
        self.b.click("#next").await;
        secret
    }
}

async fn scenario(backend: Backend) {
    let Some(t) = TestApp::new(backend).await else { return };
    let Some(b) = Browser::start().await else { return };
    let (base, key) = t.serve().await;
    let shots =
        std::env::var_os("CUSTOS_SCREENSHOTS").filter(|_| backend == Backend::Sqlite).map(std::path::PathBuf::from);
    let r = Run { t, b, base: base.clone(), shots };
    let (t, b) = (&r.t, &r.b);

    // A customer registers and confirms the e-mail from the link in the mail.
    b.goto(&format!("{base}/cabinet/register")).await;
    b.fill("#email", "dana@example.com").await;
    b.fill("#password", "password1234").await;
    b.click("#submit").await;
    assert!(b.text("#error").await.contains("too easy to guess"), "a weak password is refused");
    b.fill("#email", "dana@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.click("#submit").await;
    assert!(b.text("#message").await.contains("on its way"));
    let mail = t.mailer.last_to("dana@example.com").expect("a confirmation mail");
    let token = mail.body.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    b.goto(&format!("{base}/cabinet/confirm?token={token}")).await;
    assert!(b.text("#message").await.contains("confirmed"));

    // Forgot the password: a single-use link by mail sets a new one (here the same phrase).
    b.goto(&format!("{base}/cabinet/login")).await;
    r.survey("the login page").await;
    b.click("#forgot").await;
    r.survey("the forgot-password page").await;
    b.fill("#email", "dana@example.com").await;
    b.click("#submit").await;
    assert!(b.text("#message").await.contains("a message with a link is on its way"));
    let mail = t.mailer.last_to("dana@example.com").expect("a reset mail");
    let token = mail.body.split("/cabinet/reset?token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    b.goto(&format!("{base}/cabinet/reset?token={token}")).await;
    b.fill("#password", PASSWORD).await;
    b.click("#submit").await;
    assert!(b.text("#message").await.contains("Your new password is set"), "{}", b.text("main").await);
    b.goto(&format!("{base}/cabinet/reset?token={token}")).await;
    assert!(b.text("#message").await.contains("invalid, used or expired"), "the link worked once");

    // Logs in, is encouraged to turn on MFA, turns it on.
    r.login("cabinet", "dana@example.com").await;
    assert!(b.url().await.ends_with("/cabinet"), "{}", b.url().await);
    assert!(b.has("#mfa-banner").await, "SEC-18: MFA is encouraged");
    let cookies = b.cookies().await;
    let session = cookies.as_array().unwrap().iter().find(|c| c["name"] == "__Host-custos_customer").expect("cookie");
    assert_eq!((session["httpOnly"].as_bool(), session["secure"].as_bool()), (Some(true), Some(true)));
    b.click("#nav-security").await;
    b.click("#mfa-start").await;
    let secret = b.text("#totp-secret").await;
    assert!(b.has("#totp-qr svg").await, "the key as a QR code");
    assert!(!b.text("main").await.to_lowercase().contains("recovery"), "no recovery codes before they exist");
    r.survey("the MFA setup").await;
    assert_eq!(b.text("#totp-secret").await, secret, "the same key after a language switch");
    r.shot("cabinet-mfa-setup").await;
    let c = r.next_code(&secret);
    b.fill("#code", &c).await;
    b.click("#submit").await;
    assert_eq!(b.text("#recovery-codes").await.lines().count(), 10);
    b.click("#next").await;
    b.click("#logout").await;
    assert!(b.url().await.ends_with("/cabinet/login"));
    r.login_with_code("cabinet", "dana@example.com", &secret).await;
    assert!(b.url().await.ends_with("/cabinet"), "{}", b.url().await);
    assert!(!b.has("#mfa-banner").await);

    // An order made through the API shows in the cabinet.
    let c = reqwest::Client::new();
    let (status, order) = post(
        &c,
        format!("{base}/api/v1/orders"),
        &key,
        json!({"customer_email": "Dana@Example.com",
               "pay": {"network": "ethereum", "asset": "ETH", "amount": "1500000000000000000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "5000000", "address": CLEAN_BTC}}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let number = order["number"].as_i64().unwrap();
    b.goto(&format!("{base}/cabinet")).await;
    let list = b.text("#orders").await;
    assert!(list.contains(&format!("№ {number}")) && list.contains("Waiting for your payment"), "{list}");
    assert!(list.contains("1.5 ETH"), "{list}");
    r.shot("cabinet-orders").await;
    r.survey("the orders").await;
    // The same page in Russian, and back.
    b.click("#lang-ru").await;
    assert!(b.text("h1").await.contains("Ваши заявки"));
    assert!(b.text("#orders").await.contains("Ожидаем оплату"));
    r.shot("cabinet-orders-ru").await;
    b.click("#lang-en").await;

    // The order page: where and how to pay, as a wallet reads it.
    b.goto(&format!("{base}/cabinet/orders/{order_id}")).await;
    let address = order["deposit"]["address"].as_str().unwrap();
    let shown = b.text("#deposit-address").await;
    assert_eq!(shown.to_lowercase(), address.to_lowercase());
    assert_ne!(shown, shown.to_lowercase(), "EIP-55 checksummed: {shown}");
    assert!(b.has("#payment-qr svg").await, "a QR code of the payment URI");
    let uri = b.script("return document.getElementById('payment-uri').getAttribute('href')").await;
    assert_eq!(uri, format!("ethereum:{shown}?value=1500000000000000000"), "EIP-681");
    assert!(
        b.text("#only-asset").await.contains("Send only ETH on the network Ethereum"),
        "{}",
        b.text("#only-asset").await
    );
    assert!(b.text("#next-step").await.contains("Send the payment to the address below"));
    r.survey("the order awaiting its payment").await;
    r.shot("cabinet-order-pay").await;

    // A deposit from a gambling service is held.
    let address = order["deposit"]["address"].as_str().unwrap();
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH", "address": address, "index": 0,
               "amount": "1500000000000000000", "txid": format!("0x{}", "ab".repeat(32)), "sources": [GAMBLING_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "on_hold_awaiting_customer", "{dep}");
    let case_id = dep["case"]["id"].as_str().unwrap().to_owned();
    // Held with no request yet: the team is reviewing and will say what it needs.
    b.goto(&format!("{base}/cabinet/orders/{order_id}")).await;
    assert!(b.text("#next-step").await.contains("will tell you here and by e-mail what it needs"));
    assert!(!b.has(".request").await && !b.has("#payment-qr").await);
    // No appeal before a passed verification: the page says so and starts one.
    assert!(b.text("#appeal-needs-kyc").await.contains("once your identity is verified"));
    assert!(!b.has("#appeal").await);
    r.survey("a held order").await;

    // An officer (first login: MFA enrolment) finds the case in the queue and asks for SoF.
    let officer_secret = r.staff_first_login("olga@example.com", Role::Officer).await;
    assert!(b.url().await.ends_with("/office"), "{}", b.url().await);
    assert!(b.text("#cases").await.contains("hold"));
    r.shot("office-queue").await;
    b.goto(&format!("{base}/office/cases/{case_id}")).await;
    b.select("#request-kind", "source_of_funds").await;
    b.fill("#request-message", "Please describe where the 1.5 ETH came from.").await;
    b.click("#send-request").await;
    assert!(b.text("#done").await.contains("sent"));
    r.shot("office-case").await;

    // The customer sees the request and its deadline, and answers.
    r.login_with_code("cabinet", "dana@example.com", &secret).await;
    b.goto(&format!("{base}/cabinet/orders/{order_id}")).await;
    assert_eq!(b.text("#status").await, "On hold: we need information from you");
    assert!(b.text("#next-step").await.contains("before its deadline"));
    let deadline = b.text(".request .deadline").await;
    assert!(deadline.contains("UTC") && deadline.contains(" h "), "{deadline}");
    assert!(b.text(".request .message").await.contains("where the 1.5 ETH came from"));
    r.shot("cabinet-order-held").await;
    // A refused answer keeps what was typed, and says why in plain words.
    let notes = TempFile::new("notes.txt", b"just some text");
    b.fill(".request .answer", "My salary from ACME; bank statement attached.").await;
    b.fill(".request .documents", notes.path()).await;
    b.click(".request .send").await;
    assert!(b.text("#answer-error").await.contains("not a PDF, PNG or JPEG"), "{}", b.text("main").await);
    assert_eq!(
        b.script("return document.querySelector('.request .answer').value").await,
        "My salary from ACME; bank statement attached."
    );
    b.goto(&format!("{base}/cabinet/orders/{order_id}")).await;
    b.fill(".request .answer", "My salary from ACME; bank statement attached.").await;
    let statement = std::env::temp_dir().join(format!("statement-{}.pdf", uuid::Uuid::new_v4().simple()));
    std::fs::write(&statement, b"%PDF-1.4\n% a bank statement\n").unwrap();
    b.fill(".request .documents", statement.to_str().unwrap()).await;
    b.click(".request .send").await;
    assert_eq!(b.text("#status").await, "We are reviewing the information you sent");
    r.survey("an answered order").await;

    // The officer reads the answer and releases; a senior officer approves after a step-up.
    r.login_with_code("office", "olga@example.com", &officer_secret).await;
    b.goto(&format!("{base}/office/cases/{case_id}")).await;
    assert!(b.text(".request .answer").await.contains("salary from ACME"));
    assert!(b.text(".request .document").await.starts_with("statement-"), "the uploaded statement is listed");
    let _ = std::fs::remove_file(&statement);
    b.select("#decide-kind", "release").await;
    b.fill("#decide-rationale", "Salary from ACME, statement matches the deposit.").await;
    b.click("#decide").await;
    assert!(b.text("#done").await.contains("four eyes"));
    assert!(b.text(".decision .rationale").await.contains("statement matches the deposit"), "the rationale is shown");
    let mlro_secret = r.staff_first_login("max@example.com", Role::SeniorOfficer).await;
    b.goto(&format!("{base}/office/cases/{case_id}")).await;
    let c2 = r.next_code(&mlro_secret);
    b.fill("#step-up-code", &c2).await;
    b.click("#step-up-submit").await;
    b.click(".approve").await;
    assert_eq!(b.text("#order-status").await, "Released");
    r.survey("the case page, decided").await;
    // Every back-office page a senior officer reaches reads right at both widths and languages.
    for page in [
        "/office",
        "/office/overview",
        "/office/customers",
        "/office/audit",
        "/office/policy",
        "/office/precheck",
        "/office/chains",
        "/office/disclosures",
    ] {
        b.goto(&format!("{base}{page}")).await;
        r.survey(page).await;
    }
    b.goto(&format!("{base}/office/customers")).await;
    b.click("#customers a").await;
    r.survey("the customer page").await;
    b.goto(&format!("{base}/office/overview")).await;
    r.shot("office-overview").await;

    // The customer sees the new status.
    r.login_with_code("cabinet", "dana@example.com", &secret).await;
    b.goto(&format!("{base}/cabinet/orders/{order_id}")).await;
    assert_eq!(b.text("#status").await, "Released, payout being prepared");

    // A payment from a sanctioned source is rejected: the customer is never promised a refund,
    // and reads the neutral "held" words, not why.
    let (_, second) = post(
        &c,
        format!("{base}/api/v1/orders"),
        &key,
        json!({"customer_email": "dana@example.com", "external_id": "EX-2041",
               "pay": {"network": "ethereum", "asset": "ETH", "amount": "2000000000000000000"},
               "receive": {"network": "bitcoin", "asset": "BTC", "amount": "5000000", "address": CLEAN_BTC}}),
    )
    .await;
    let (_, dep) = post(
        &c,
        format!("{base}/api/v1/deposits"),
        &key,
        json!({"network": "ethereum", "asset": "ETH", "address": second["deposit"]["address"], "index": 0,
               "amount": "2000000000000000000", "txid": format!("0x{}", "cd".repeat(32)), "sources": [SANCTIONED_ETH]}),
    )
    .await;
    assert_eq!(dep["order"]["status"], "rejected", "{dep}");
    b.goto(&format!("{base}/cabinet/orders/{}", second["id"].as_str().unwrap())).await;
    assert_eq!(b.text("#external-id").await, "EX-2041", "the exchange's own order number");
    let next = b.text("#next-step").await;
    assert!(next.contains("held in line with our compliance procedures") && !next.contains("refund"), "{next}");
    assert!(!b.text("main").await.to_lowercase().contains("sanction"), "the reason is not told");
    r.survey("a rejected order whose funds are held").await;
    // An appeal waits for a verification, which the customer can start from here.
    b.click("#appeal-kyc").await;
    assert!(b.url().await.contains("/cabinet/kyc/"), "{}", b.url().await);

    // Support sees the case with personal data masked, and no way to decide.
    r.staff_first_login("sam@example.com", Role::Support).await;
    b.goto(&format!("{base}/office/cases/{case_id}")).await;
    assert_eq!(b.text("#customer").await, "da***@ex***.com");
    assert!(!b.has("#decide").await && !b.has("#reveal").await && !b.has(".request .answer").await);
    let token = r.staff_token().await;
    let refused = reqwest::Client::new()
        .post(format!("{base}/office/cases/{case_id}/decide"))
        .header("cookie", format!("__Host-custos_staff={token}"))
        .form(&[("csrf", derive_token(&token, "csrf")), ("kind", "freeze".into()), ("rationale", WHY.into())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN, "support cannot decide");
    r.shot("office-case-support").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_officer_and_support_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_customer_officer_and_support_postgres() {
    scenario(Backend::Postgres).await;
}

/// A file for the browser to upload; removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn manual_kyc(backend: Backend) {
    let Some(t) = TestApp::new(backend).await else { return };
    let Some(b) = Browser::start().await else { return };
    let base = t.serve_only().await;
    let shots =
        std::env::var_os("CUSTOS_SCREENSHOTS").filter(|_| backend == Backend::Sqlite).map(std::path::PathBuf::from);
    let r = Run { t, b, base: base.clone(), shots };
    let (t, b) = (&r.t, &r.b);
    t.app.accounts().register_customer("eva@example.com", PASSWORD, "en").await.unwrap();
    let order = t.app.intake().create_order(new_order("eva@example.com"), "test").await.unwrap();
    let customer = t.store.list_accounts(custos_app::accounts::records::AccountKind::Customer).await.unwrap();
    let customer_page = format!("{base}/office/customers/{}", customer[0].id);
    let index = customer[0].email_index.clone();

    // An officer requests the full level (identity, selfie with the A4 sheet, proof of address).
    let officer_secret = r.staff_first_login("olga@example.com", Role::Officer).await;
    b.goto(&customer_page).await;
    b.select("#kyc-level", "full").await;
    b.select("#kyc-order", &order.id.to_string()).await;
    b.click("#kyc-request").await;
    let v = t.app.kyc().verifications_of(&index).await.unwrap().remove(0);
    assert_eq!(v.order_id, Some(order.id), "its order's number goes on the A4 sheet");
    let number = format!("№ {}", order.number);

    // The customer sees it with its countdown and sends each document.
    let upload = |kind: Option<(&'static str, &'static str)>, step: &'static str, file: TempFile| async move {
        if let Some((css, value)) = kind {
            b.select(css, value).await;
        }
        b.fill(&format!("#file-{step}"), file.path()).await;
        b.click(&format!("#send-{step}")).await;
        assert!(!b.has("#error").await, "{}", b.text("#error").await);
    };
    let send_all = || async {
        upload(
            Some(("#kind-identity", "national_passport")),
            "identity",
            TempFile::new("passport.png", &png_with_text()),
        )
        .await;
        upload(None, "selfie", TempFile::new("selfie.png", &png_with_text())).await;
        b.fill("#issued-on", "2025-12-10").await;
        upload(
            Some(("#kind-proof_of_address", "utility_bill")),
            "proof_of_address",
            TempFile::new("bill.pdf", b"%PDF-1.4 bill"),
        )
        .await;
    };
    r.login("cabinet", "eva@example.com").await;
    assert!(b.has("#kyc-blocks").await, "SEC-14: the customer is told what waits");
    let row = b.text(".verification").await;
    assert!(row.contains("please complete it before the deadline") && row.contains("2026-01-02"), "{row}");
    assert!(b.text(".verification [data-due]").await.contains(" h "), "a live countdown");
    r.shot("cabinet-kyc-requested").await;
    b.click(".kyc-start").await;
    assert_eq!(b.text(".sheet-date").await, "2026-01-01");
    assert_eq!(b.text(".sheet-order").await, number);
    assert_eq!(b.text(".sheet-site").await, "Custos");
    // A proof of address too old is refused with its reason (KYC-3).
    b.select("#kind-proof_of_address", "bank_statement").await;
    b.fill("#issued-on", "2025-09-30").await;
    let old = TempFile::new("old.pdf", b"%PDF-1.4 old");
    b.fill("#file-proof_of_address", old.path()).await;
    b.click("#send-proof_of_address").await;
    assert!(b.text("#error").await.contains("2025-10-01 or later"), "{}", b.text("#error").await);
    send_all().await;
    assert_eq!(b.text("#sent").await.lines().count(), 3, "{}", b.text("#sent").await);
    assert!(b.text("#sent").await.contains("National passport"));
    r.shot("cabinet-kyc-upload").await;

    // The officer reviews: the three documents, the A4 checklist; the sheet is wrong: resubmit.
    r.login_with_code("office", "olga@example.com", &officer_secret).await;
    b.goto(&customer_page).await;
    let checklist = b.text(".a4-checklist").await;
    assert!(
        checklist.contains("2026-01-01") && checklist.contains(&number) && checklist.contains("Custos"),
        "KYC-2's three values: {checklist}"
    );
    assert!(b.text("#verifications").await.contains("Utility bill · 2025-12-10"));
    b.scroll_to("#verifications").await;
    r.shot("office-kyc-review").await;
    // Per step: the passport and the bill are fine, the selfie's sheet is not.
    b.select(".kyc-decision", "retry").await;
    b.select("#reason-selfie", "a4_sheet_wrong").await;
    b.click(".kyc-review").await;
    assert!(b.text(".kyc-state").await.contains("Please submit again"));

    // The customer reads what to fix, and sends the selfie again.
    r.login("cabinet", "eva@example.com").await;
    assert_eq!(b.text(".kyc-reason-text").await, "Selfie with the A4 sheet: The A4 sheet is missing or wrong");
    assert!(b.text(".kyc-state").await.contains("Please submit again"));
    r.shot("cabinet-kyc-retry").await;
    b.click(".kyc-start").await;
    let kept = b.text("#sent").await;
    assert!(
        kept.lines().count() == 2 && kept.contains("National passport") && !kept.contains("Selfie"),
        "only the selfie was deleted: {kept}"
    );
    upload(None, "selfie", TempFile::new("selfie-2.png", &png_with_text())).await;
    assert_eq!(b.text("#sent").await.lines().count(), 3);

    // Approved with the name on the passport; the customer sees it passed.
    r.login_with_code("office", "olga@example.com", &officer_secret).await;
    b.goto(&customer_page).await;
    assert!(b.text("#verifications").await.contains("National passport"), "the resubmitted documents");
    b.select(".kyc-decision", "approve").await;
    b.fill(".kyc-identity-name", "Eva Example").await;
    b.click(".kyc-review").await;
    assert!(b.text(".kyc-state").await.contains("Passed"), "{}", b.text("#verifications").await);
    assert!(!b.has(".kyc-file-link").await, "documents gone after the decision (PD-3)");
    r.login("cabinet", "eva@example.com").await;
    assert!(b.text(".kyc-state").await.contains("Passed"));
    assert!(!b.has("#kyc-blocks").await);
    assert!(t.app.kyc().kyc_passed(&index).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_kyc_manual_review_with_a_resubmission_sqlite() {
    manual_kyc(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_kyc_manual_review_with_a_resubmission_postgres() {
    manual_kyc(Backend::Postgres).await;
}

/// DISC-1 as the MLRO works it: an authority request from intake to a verified bundle.
async fn authority_request(backend: Backend) {
    let Some(t) = TestApp::new(backend).await else { return };
    let Some(b) = Browser::start().await else { return };
    let base = t.serve_only().await;
    let r = Run { t, b, base: base.clone(), shots: None };
    let (t, b) = (&r.t, &r.b);
    t.app.accounts().register_customer("anna@example.com", PASSWORD, "en").await.unwrap();

    // Intake: the register's form.
    let mira = r.staff_first_login("mira@example.com", Role::SeniorOfficer).await;
    b.click("#nav-disclosures").await;
    assert!(b.has("#no-disclosures").await);
    b.select("#ds-kind", "court_order").await;
    b.fill("#ds-authority", "District Court No. 3").await;
    b.fill("#ds-legal-basis", "Production order under the AML law").await;
    b.fill("#ds-document-ref", "DC3-2026-41").await;
    b.fill("#ds-customers", "anna@example.com").await;
    b.script(
        "document.getElementById('ds-received').value = '2026-01-01';
         document.getElementById('ds-due').value = '2026-01-09';
         document.querySelector('.ds-category[value=account]').checked = true;",
    )
    .await;
    b.click("#ds-submit").await;
    assert_eq!(b.text("#ds-state").await, "received");
    r.survey("an authority request, received").await;
    // The requester verified, then legal review.
    b.click("#ds-move-verifying").await;
    b.fill("#ds-channel", "call-back to the court's registry").await;
    b.fill("#ds-method", "the order's number confirmed by the clerk").await;
    b.click("#ds-verify").await;
    assert_eq!(b.text("#ds-state").await, "legal review");
    let _ = mira;

    // Two other senior officers approve, each after entering their code again.
    for email in ["max@example.com", "lev@example.com"] {
        let secret = r.staff_first_login(email, Role::SeniorOfficer).await;
        b.click("#nav-disclosures").await;
        b.click(".disclosure-row a").await;
        let code = r.next_code(&secret);
        b.fill("#step-up-code", &code).await;
        b.click("#step-up-submit").await;
        b.select("#ds-outcome", "approved").await;
        b.click("#ds-approve").await;
    }
    assert_eq!(b.text("#ds-state").await, "approved in full");
    r.survey("an authority request, approved").await;

    // The bundle, downloaded with the session, verifies against the key the page shows.
    let key = b.text("#ds-public-key").await;
    let href = b.script("return document.getElementById('ds-bundle').href;").await;
    let token = r.staff_token().await;
    let tar = reqwest::Client::new()
        .get(href.as_str().unwrap())
        .header("cookie", format!("__Host-custos_staff={token}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("custos-browser-bundle-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("b.tar"), &tar).unwrap();
    assert!(std::process::Command::new("tar").args(["-xf", "b.tar"]).current_dir(&dir).status().unwrap().success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_custos"))
        .args(["bundle", "verify", "--public-key", &key])
        .arg(dir.join("authority-request-1"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    b.goto(&format!("{base}/office/disclosures")).await;
    assert!(b.text(".disclosure-row").await.contains("produced"), "{}", b.text(".disclosure-row").await);
    r.survey("the register, with a produced request").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_disc_1_an_authority_request_from_intake_to_a_verified_bundle_sqlite() {
    authority_request(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_disc_1_an_authority_request_from_intake_to_a_verified_bundle_postgres() {
    authority_request(Backend::Postgres).await;
}
