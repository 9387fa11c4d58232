//! A small W3C WebDriver client over HTTP, driving Debian's Chromium through chromedriver,
//! headless. `Browser::start()` is `None` when the browser is absent and not required
//! (`CUSTOS_REQUIRE_BROWSER=1` makes its absence a failure, as in CI).
#![allow(dead_code)]

use super::KillOnDrop;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    _driver: KillOnDrop,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A folder removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn find_binary(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file()).map(|p| p.display().to_string())
    })
}

impl Browser {
    pub async fn start() -> Option<Browser> {
        let required = std::env::var("CUSTOS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        let (Some(driver), Some(chromium)) =
            (find_binary(&["chromedriver"]), find_binary(&["chromium", "chromium-browser"]))
        else {
            assert!(!required, "CUSTOS_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed");
            eprintln!("SKIPPED: chromium and chromedriver are not installed (scripts/install-test-tools)");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = KillOnDrop(child);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("custos-chromium-{}", uuid::Uuid::new_v4().simple()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let r: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let id = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no browser session: {r}")).to_owned();
        Some(Browser {
            http,
            session: format!("{base}/session/{id}"),
            _driver: driver,
            _profile: tempdir::Dir(profile),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_owned()
    }

    /// The element `css` finds now, if any.
    async fn find(&self, css: &str) -> Option<String> {
        let v: Value = self
            .http
            .post(format!("{}/element", self.session))
            .json(&json!({"using": "css selector", "value": css}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["value"][ELEMENT].as_str().map(str::to_owned)
    }

    async fn element(&self, css: &str) -> String {
        // Pages load synchronously after a click; still, wait a little for the next one.
        for _ in 0..50 {
            if let Some(id) = self.find(css).await {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}:\n{}", self.url().await, self.text("body").await);
    }

    pub async fn has(&self, css: &str) -> bool {
        let v =
            self.call(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        v.as_array().is_some_and(|a| !a.is_empty())
    }

    /// Types into a field (for a file input: the file's path).
    pub async fn fill(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        let kind = self.call(reqwest::Method::GET, &format!("/element/{id}/attribute/type"), None).await;
        if kind != "file" {
            self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), Some(json!({}))).await;
        }
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), Some(json!({"text": text}))).await;
    }

    pub async fn select(&self, css: &str, value: &str) {
        let id = self.element(&format!("{css} option[value=\"{value}\"]")).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    /// Clicks a link or a form's button and waits for the next page.
    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        let before = self.find("html").await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
        for _ in 0..100 {
            let now = self.find("html").await;
            if now.is_some() && now != before {
                let ready = self
                    .call(
                        reqwest::Method::POST,
                        "/execute/sync",
                        Some(json!({"script": "return document.readyState", "args": []})),
                    )
                    .await;
                if ready == "complete" {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {css} led to no new page");
    }

    /// Scrolls the element into view (for a screenshot of it).
    pub async fn scroll_to(&self, css: &str) {
        let id = self.element(css).await;
        let el = json!({ELEMENT: id});
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": "arguments[0].scrollIntoView({block: 'start'})", "args": [el]})),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let Some(id) = self.find(css).await else { return String::new() };
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None).await.as_str().unwrap_or("").to_owned()
    }

    /// Runs a script in the page and returns its value.
    pub async fn script(&self, js: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": js, "args": []}))).await
    }

    /// Sets the window's size (headless: the viewport's).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Forgets every cookie: the next person uses the browser.
    pub async fn clear_cookies(&self) {
        self.call(reqwest::Method::DELETE, "/cookie", None).await;
    }

    pub async fn cookies(&self) -> Value {
        self.call(reqwest::Method::GET, "/cookie", None).await
    }

    /// Saves a PNG of the page.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let (http, url) = (self.http.clone(), self.session.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let _ = http.delete(url).send().await;
            });
        })
        .join();
    }
}
