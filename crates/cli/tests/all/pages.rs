//! The cabinet and the back-office over HTTP (SEC-3, SEC-4, SEC-5 headers, SEC-18, PRE-1): the
//! permission table walked with every role, CSRF, cookies, headers and session fixation.

use crate::common::TestApp;
use custos_app::accounts::records::AccountKind;
use custos_crypto::derive_token;
use custos_domain::access::Role;
use custos_web::pages::guard::{allowed, CUSTOMER_COOKIE, DENIED_HEADER, PRE_COOKIE, STAFF_COOKIE};
use custos_web::pages::PAGES;
use reqwest::redirect::Policy;
use reqwest::StatusCode;

const PASSWORD: &str = "violet tractor 42 umbrella";
const IP: &str = "127.0.0.1";

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Someone the walk tries every page as.
struct Principal {
    name: String,
    /// (cookie name, session token)
    session: Option<(&'static str, String)>,
}

impl Principal {
    /// The browser's cookies: always a pre-session token, and the session if any.
    fn cookie(&self) -> String {
        let pre = format!("{PRE_COOKIE}={}", "p".repeat(43));
        match &self.session {
            Some((name, token)) => format!("{pre}; {name}={token}"),
            None => pre,
        }
    }

    /// The CSRF token the page at `path` put in its forms for this browser.
    fn csrf(&self, path: &str) -> String {
        let side = if path.starts_with("/office") { STAFF_COOKIE } else { CUSTOMER_COOKIE };
        match &self.session {
            Some((name, token)) if *name == side => derive_token(token, "csrf"),
            _ => "p".repeat(43),
        }
    }
}

/// Logs in with MFA set up; returns the full session's token.
async fn enrolled(t: &TestApp, kind: AccountKind, email: &str) -> String {
    crate::common::enrol(t, kind, email, PASSWORD, IP).await.0
}

async fn principals(t: &TestApp) -> Vec<(Principal, Option<custos_app::accounts::Authenticated>)> {
    let accounts = t.app.accounts();
    let mut out = vec![(Principal { name: "anonymous".into(), session: None }, None)];
    accounts.register_customer("walker@example.com", PASSWORD, "en").await.unwrap();
    let (pending, _) = accounts.login(AccountKind::Customer, "walker@example.com", PASSWORD, IP, None).await.unwrap();
    let full = enrolled(t, AccountKind::Customer, "walker@example.com").await;
    let (pending_mfa, _) =
        accounts.login(AccountKind::Customer, "walker@example.com", PASSWORD, IP, None).await.unwrap();
    let _ = pending;
    for (name, token) in [("customer", full), ("customer (code due)", pending_mfa)] {
        let auth = accounts.session(&token).await.unwrap();
        out.push((Principal { name: name.into(), session: Some((CUSTOMER_COOKIE, token)) }, auth));
    }
    for role in Role::ALL {
        let email = format!("{}@example.com", role.as_str());
        accounts.create_staff(&email, PASSWORD, role, None).await.unwrap();
        let (no_mfa, _) = accounts.login(AccountKind::Staff, &email, PASSWORD, IP, None).await.unwrap();
        if role == Role::Support {
            let auth = accounts.session(&no_mfa).await.unwrap();
            out.push((Principal { name: "staff without MFA".into(), session: Some((STAFF_COOKIE, no_mfa)) }, auth));
        }
        let token = enrolled(t, AccountKind::Staff, &email).await;
        let auth = accounts.session(&token).await.unwrap();
        out.push((Principal { name: role.as_str().into(), session: Some((STAFF_COOKIE, token)) }, auth));
    }
    out
}

/// The hidden CSRF field of a page's first form.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

/// Refused by the gate (not by the page's own checks, such as a wrong password).
fn gate_refused(r: &reqwest::Response) -> bool {
    r.headers().contains_key(DENIED_HEADER)
        && (matches!(r.status(), StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND)
            || is_login_redirect(r))
}

fn is_login_redirect(r: &reqwest::Response) -> bool {
    r.status().is_redirection()
        && r.headers().get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.ends_with("/login"))
}

both!(sec3_every_page_is_refused_to_whoever_lacks_its_permission, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let everyone = principals(&t).await;
    let mut checked = 0;
    for page in PAGES {
        // Pages that end a session or change MFA are walked last, by kind of principal below.
        if page.path.ends_with("/logout") {
            continue;
        }
        let url = format!(
            "{base}{}",
            page.path.replace("{code}", "en").replace("{id}", "0190a0b0-0000-7000-8000-000000000001")
        );
        for (who, auth) in &everyone {
            let request = match page.method {
                "GET" => c.get(&url),
                _ => c.post(&url).form(&[
                    ("csrf", who.csrf(page.path)),
                    ("code", "000000".into()),
                    ("network", "ethereum".into()),
                    ("address", crate::common::CLEAN_ETH.into()),
                    ("email", "x@example.com".into()),
                    ("password", "wrong password here".into()),
                ]),
            };
            let r = request.header("cookie", who.cookie()).send().await.unwrap();
            let may = allowed(page.access, auth.as_ref());
            let refused = gate_refused(&r);
            if may {
                assert!(!refused, "{} {} must be open to {}: {}", page.method, page.path, who.name, r.status());
            } else {
                assert!(refused, "{} {} must be refused to {}: {}", page.method, page.path, who.name, r.status());
                // DISC-1: a restricted record does not exist for whoever may not see it.
                let restricted = matches!(page.access, custos_web::pages::Access::Restricted(_));
                let staff = auth.as_ref().is_some_and(|a| a.account.kind == AccountKind::Staff);
                if restricted && staff {
                    assert_eq!(r.status(), StatusCode::NOT_FOUND, "{} {} for {}", page.method, page.path, who.name);
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
    // A page served but missing from the table is refused, even to an admin (deny by default).
    let state = custos_web::AppState::new(t.app.clone());
    let unlisted = axum::Router::new()
        .route("/office/unlisted", axum::routing::get(|| async { "secret" }))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), custos_web::pages::guard::gate))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, unlisted).await });
    let (admin, _) = everyone.iter().find(|(p, _)| p.name == "admin").unwrap();
    let r = c.get(format!("http://{addr}/office/unlisted")).header("cookie", admin.cookie()).send().await.unwrap();
    assert!(gate_refused(&r), "{}", r.status());
});

both!(sec4_a_form_without_its_csrf_token_is_refused, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    t.app.accounts().register_customer("csrf@example.com", PASSWORD, "en").await.unwrap();
    let (token, _) =
        t.app.accounts().login(AccountKind::Customer, "csrf@example.com", PASSWORD, IP, None).await.unwrap();
    let cookie = format!("{CUSTOMER_COOKIE}={token}");
    for form in [vec![], vec![("csrf", "forged-token-forged-token-forged-tok".to_owned())]] {
        let r = c.post(format!("{base}/cabinet/logout")).header("cookie", &cookie).form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(t.app.accounts().session(&token).await.unwrap().is_some(), "the refused form changed nothing");
    }
    let good = [("csrf", derive_token(&token, "csrf"))];
    let r = c.post(format!("{base}/cabinet/logout")).header("cookie", &cookie).form(&good).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert!(t.app.accounts().session(&token).await.unwrap().is_none());
    // Before a session: the login form's token must match the pre-session cookie.
    let creds = [("csrf", "a".repeat(43)), ("email", "csrf@example.com".into()), ("password", PASSWORD.into())];
    let r = c.post(format!("{base}/cabinet/login")).form(&creds).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no pre-session cookie");
    let r = c
        .post(format!("{base}/cabinet/login"))
        .header("cookie", format!("{PRE_COOKIE}={}", "b".repeat(43)))
        .form(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a token from elsewhere");
});

both!(sec4_login_sets_a_new_host_only_session_cookie_and_kills_a_planted_one, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    t.app.accounts().register_customer("cookie@example.com", PASSWORD, "en").await.unwrap();
    // The login page hands out the pre-session token, with the security headers.
    let r = c.get(format!("{base}/cabinet/login")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let pre = h["set-cookie"].to_str().unwrap().to_owned();
    assert!(pre.starts_with(&format!("{PRE_COOKIE}=")) && pre.contains("Secure") && pre.contains("HttpOnly"));
    let pre_value = pre.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    // An attacker planted a session id of their own (a real one, of their login).
    let (planted, _) =
        t.app.accounts().login(AccountKind::Customer, "cookie@example.com", PASSWORD, IP, None).await.unwrap();
    let jar = format!("{PRE_COOKIE}={pre_value}; {CUSTOMER_COOKIE}={planted}");
    let page = c.get(format!("{base}/cabinet/login")).header("cookie", &jar).send().await.unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let r = c
        .post(format!("{base}/cabinet/login"))
        .header("cookie", &jar)
        .form(&[("csrf", csrf.as_str()), ("email", "cookie@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(r.headers()["location"], "/cabinet");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.starts_with(&format!("{CUSTOMER_COOKIE}=")), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(!set.contains("Domain="), "__Host- cookies have no Domain");
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
    assert_ne!(token, planted);
    assert!(token.len() >= 43, "at least 256 bits, base64");
    assert!(t.app.accounts().session(&planted).await.unwrap().is_none(), "the planted session is dead");
    let r =
        c.get(format!("{base}/cabinet")).header("cookie", format!("{CUSTOMER_COOKIE}={token}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A staff cookie is not a customer session and the other way round.
    let r = c.get(format!("{base}/office")).header("cookie", format!("{STAFF_COOKIE}={token}")).send().await.unwrap();
    assert!(is_login_redirect(&r));
});

both!(pages_render_in_english_and_russian, |t: TestApp| async move {
    let base = t.serve_only().await;
    let c = client();
    let en = c.get(format!("{base}/cabinet/login")).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Log in"));
    let r = c.get(format!("{base}/lang/ru?back=/cabinet/login")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/cabinet/login");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let ru =
        c.get(format!("{base}/cabinet/login")).header("cookie", cookie).send().await.unwrap().text().await.unwrap();
    assert!(ru.contains("<html lang=\"ru\">") && ru.contains("Войти"));
    // The switch never sends anyone off-site.
    let r = c.get(format!("{base}/lang/en?back=//evil.example")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/cabinet");
});
