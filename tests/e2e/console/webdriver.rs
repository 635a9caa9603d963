//! Just enough of the W3C WebDriver protocol to drive headless Chromium through
//! `chromedriver` (Debian's `chromium` and `chromium-driver`): navigate, find, click, type,
//! read text, run a script, take a screenshot. WebDriver is a dozen JSON calls over HTTP,
//! which the tests' reqwest client makes; a WebDriver crate would add its own HTTP stack and
//! key-handling tables to the build for them.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a wait for the page lasts before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`.
    session: String,
}

/// Where Debian puts the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

impl Browser {
    /// Starts chromedriver on a free port and a headless session; `None` (after saying so)
    /// when Chromium is not installed and `E2E_BROWSER` is not `required`
    /// (`.ci/run` installs it and sets that).
    pub async fn start() -> Option<Browser> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            let required = std::env::var("E2E_BROWSER").as_deref() == Ok("required");
            assert!(
                !required,
                "{CHROMIUM} and {CHROMEDRIVER} are missing: apt-get install chromium chromium-driver"
            );
            eprintln!(
                "skipped: the console's browser test needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            // Its own process group, which the browser joins: a failed test stops them all.
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let port = read_port(&mut driver);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                ],
            },
        }}});
        let answer = command(
            &client,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(capabilities),
        )
        .await
        .unwrap_or_else(|e| panic!("a Chromium session: {e}"));
        let id = answer["sessionId"].as_str().expect("sessionId").to_owned();
        Some(Browser {
            driver,
            client,
            session: format!("{base}/session/{id}"),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        command(
            &self.client,
            method,
            &format!("{}{path}", self.session),
            body,
        )
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The first element `css` selects, once there is one.
    pub async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Ok(found) = self.try_find(css).await {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "nothing on the page matches {css}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn try_find(&self, css: &str) -> Result<String, String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        found[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no element reference in {found}"))
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Replaces the text of the input `css` selects.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.post(&format!("/element/{element}/clear"), json!({}))
            .await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// The rendered text of `css`, once it contains `needle` (the page draws after its
    /// calls to the admin API answer).
    pub async fn text_with(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            // The element may be redrawn between finding it and reading it: try again.
            if let Ok(element) = self.try_find(css).await
                && let Ok(text) = self
                    .call(
                        reqwest::Method::GET,
                        &format!("/element/{element}/text"),
                        None,
                    )
                    .await
            {
                last = text.as_str().unwrap_or_default().to_owned();
                if last.contains(needle) {
                    return last;
                }
            }
            if started.elapsed() > PATIENCE {
                let page = self
                    .call(
                        reqwest::Method::POST,
                        "/execute/sync",
                        Some(json!({
                            "script": "return document.body.innerText;", "args": [],
                        })),
                    )
                    .await
                    .unwrap_or_default();
                panic!("{css} never showed {needle:?}; it shows {last:?}; the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (a function body) in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Accepts the `confirm()` dialog the page shows.
    pub async fn accept_dialog(&self) {
        let started = Instant::now();
        while self
            .call(reqwest::Method::POST, "/alert/accept", Some(json!({})))
            .await
            .is_err()
        {
            assert!(started.elapsed() < PATIENCE, "no dialog to accept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let data = self
            .call(reqwest::Method::GET, "/screenshot", None)
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Ends the session (and, when dropped, the driver).
    pub async fn quit(self) {
        let _ = self.call(reqwest::Method::DELETE, "", None).await;
    }
}

impl Drop for Browser {
    /// A failed test still stops its driver and the browser it started: killed alone, the
    /// driver would leave the browser running.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The port chromedriver says it listens on ("… started successfully on port 38501.").
fn read_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().expect("chromedriver's stdout");
    let (sender, port) = std::sync::mpsc::channel();
    // Reads on, dropping the rest, so that chromedriver never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(port) = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
            {
                let _ = sender.send(port);
            }
        }
    });
    port.recv_timeout(PATIENCE)
        .expect("chromedriver says which port it listens on")
}

/// One WebDriver command; its `value`, or the WebDriver error's message.
async fn command(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let ok = response.status().is_success();
    let mut answer: Value = response.json().await.map_err(|e| e.to_string())?;
    let value = answer["value"].take();
    if ok {
        Ok(value)
    } else {
        Err(format!("{}: {}", value["error"], value["message"]))
    }
}
