//! Headless Chromium driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), through `fantoccini`.

use super::{PATIENCE, eventually, free_port};
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One headless Chromium with its ChromeDriver, both stopped when dropped.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn launch() -> Self {
        Self::launch_with(&[]).await
    }

    /// For HTTPS with a self-signed certificate, which a real user would
    /// accept once in the browser.
    pub async fn launch_accepting_any_certificate() -> Self {
        Self::launch_with(&["--ignore-certificate-errors"]).await
    }

    async fn launch_with(extra_args: &[&str]) -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: install Debian's chromium and chromium-driver \
                 (scripts/setup.sh does)"
            );
        }
        let port = free_port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-extensions",
            "--no-first-run",
            "--window-size=800,600",
        ];
        args.extend_from_slice(extra_args);
        let capabilities = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        });
        let capabilities = capabilities.as_object().cloned().unwrap_or_default();
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(_) if started.elapsed() < PATIENCE => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    let _ = driver.kill();
                    panic!("cannot start headless Chromium through chromedriver: {e}");
                }
            }
        };
        Self { client, driver }
    }

    /// Loads `url` in the browser's tab.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url} failed: {e}"));
    }

    /// Runs `script` (a function body; `arguments` as in WebDriver) in the page.
    pub async fn run(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running `{script}` in the page failed: {e}"))
    }

    /// The text of the element with this id (`None` if there is none).
    pub async fn text(&self, id: &str) -> Option<String> {
        let script =
            format!("var e = document.getElementById({id:?}); return e ? e.textContent : null;");
        self.run(&script).await.as_str().map(str::to_owned)
    }

    /// Waits until the element `id` reads `expected`; fails with what it read.
    pub async fn wait_for_text(&self, id: &str, expected: &str) {
        let what = format!("#{id} reading {expected:?}");
        let read = async || self.text(id).await;
        eventually(PATIENCE, &what, read, |text| {
            text.as_deref() == Some(expected)
        })
        .await;
    }

    /// Waits until `script` returns `expected`.
    pub async fn wait_for(&self, script: &str, expected: Value) {
        let what = format!("`{script}` giving {expected}");
        eventually(
            PATIENCE,
            &what,
            async || self.run(script).await,
            |value| *value == expected,
        )
        .await;
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
