//! The shop in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven over WebDriver with fantoccini: home → EUR →
//! a product → quantity 2 → cart in EUR → order with the default form →
//! confirmation → the cart badge is 0. A screenshot of every step is saved
//! under `target/screenshots/`.
//!
//! Binaries: `CHROMEDRIVER` (default `chromedriver` on `PATH`) and
//! `CHROMIUM` (default `/usr/lib/chromium/chromium`, else `/usr/bin/chromium`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use common::Backends;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const WIDE: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return p.into();
    }
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("Chromium is needed: apt-get install chromium chromium-driver (or set CHROMIUM)")
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    _child: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Self {
        let addr = boutique_testkit::dead_addr().await;
        let port = addr.rsplit_once(':').unwrap().1.to_owned();
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let child = tokio::process::Command::new(&bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {bin} ({e}): apt-get install chromium chromium-driver (or set CHROMEDRIVER)")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { _child: child, url }
    }
}

/// The browser's fresh profile directory. On drop (also when the test
/// panics) every process started with it is killed and it is removed, so a
/// failed run leaves no Chromium behind.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "frontend-browser-test-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let needle = format!("--user-data-dir={}", self.0.display());
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for e in entries.flatten() {
                let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&needle) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Browser {
    client: Client,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, base: String, profile: &Path) -> Self {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    format!("--window-size={},{}", WIDE.0, WIDE.1),
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session");
        Self {
            client,
            base,
            shots: screenshots_dir(),
        }
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .text()
            .await
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Waits until the element `css` shows `want`.
    async fn wait_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if got.trim() == want {
                return;
            }
            if Instant::now() > deadline {
                let url = self.client.current_url().await.unwrap();
                panic!("{css} shows {got:?}, expected {want:?} (at {url})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn wait_path(&self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let p = self.path().await;
            if want(&p) {
                return p;
            }
            assert!(Instant::now() < deadline, "still at {p}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A screenshot of the whole page (the window is grown to its height).
    async fn shot(&self, name: &str) {
        let size = self
            .client
            .execute(
                "return [window.outerWidth, window.outerHeight - window.innerHeight, \
                 document.documentElement.scrollHeight];",
                vec![],
            )
            .await
            .unwrap();
        let n = |i: usize| size[i].as_u64().unwrap_or(0) as u32;
        let (width, chrome_height, page_height) = (n(0), n(1), n(2));
        let (_, old_height) = self.client.get_window_size().await.unwrap();
        self.client
            .set_window_size(width, (page_height + chrome_height).min(6000))
            .await
            .unwrap();
        // Let lazy images arrive before the picture is taken.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self
            .client
            .execute(
                "return Array.from(document.images).every(i => i.complete);",
                vec![],
            )
            .await
            .unwrap()
            != json!(true)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        self.client
            .set_window_size(width, old_height as u32)
            .await
            .unwrap();
    }

    /// Every image on the page has loaded and has an alt attribute.
    async fn assert_images_ok(&self) {
        let broken = self
            .client
            .execute(
                "return Array.from(document.images)\
                 .filter(i => !i.hasAttribute('alt') || (i.complete && i.naturalWidth === 0))\
                 .map(i => i.src);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(broken, json!([]), "images without alt or broken");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopper_buys_sunglasses_in_euros() {
    let backends = Backends::start().await;
    let config = backends.config();
    let shop = boutique_testkit::spawn(move |l, s| frontend::serve(config, l, s)).await;
    let driver = Driver::start().await;
    let profile = Profile::new();
    let b = Browser::open(&driver, shop.url(), &profile.0).await;

    // 1. Home, in dollars, empty cart.
    b.goto("/").await;
    b.wait_text("#cart-badge", "0").await;
    let names = b
        .client
        .find_all(Locator::Css(".product-card-name"))
        .await
        .unwrap();
    assert_eq!(names.len(), 9);
    assert_eq!(
        b.text(".product-card:first-child .product-card-price")
            .await,
        "$19.99"
    );
    b.assert_images_ok().await;
    b.shot("01-home").await;

    // 2. Switch the currency to EUR: the picker submits itself.
    b.client
        .find(Locator::Css("#currency"))
        .await
        .unwrap()
        .select_by_value("EUR")
        .await
        .unwrap();
    b.wait_text(".product-card:first-child .product-card-price", "€17.68")
        .await;
    assert_eq!(b.path().await, "/");
    b.shot("02-home-eur").await;

    // 3. Open the sunglasses.
    b.client
        .find(Locator::Css("a.product-card[href='/product/OLJCESPC7Z']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_path(|p| p == "/product/OLJCESPC7Z").await;
    assert_eq!(b.text("h1.product-title").await, "Sunglasses");
    assert_eq!(b.text("#product-price").await, "€17.68");
    b.assert_images_ok().await;
    b.shot("03-product").await;

    // 4. Two of them into the cart.
    b.client
        .find(Locator::Css("#quantity"))
        .await
        .unwrap()
        .select_by_value("2")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#add-to-cart"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_path(|p| p == "/cart").await;

    // 5. The cart in EUR: 2 × €17.682441398, shipping 8.99 USD = €7.952233525.
    assert_eq!(b.text("h1.page-title").await, "Cart (2)");
    assert_eq!(b.text(".cart-line-name").await, "Sunglasses");
    assert_eq!(b.text(".cart-line-qty").await, "Quantity: 2");
    assert_eq!(b.text(".cart-line-price").await, "€35.36");
    assert_eq!(b.text("#cart-shipping").await, "€7.95");
    assert_eq!(b.text("#cart-total").await, "€43.31");
    assert_eq!(b.text("#cart-badge").await, "2");
    b.assert_images_ok().await;
    b.shot("04-cart").await;

    // 6. Place the order with the form's defaults.
    b.client
        .find(Locator::Css("#place-order"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let order_path = b.wait_path(|p| p.starts_with("/order/")).await;
    assert_eq!(b.text(".order-hero h1").await, "Your order is complete!");
    let order_id = b.text("#order-id").await;
    assert_eq!(order_path, format!("/order/{order_id}"));
    assert!(uuid::Uuid::parse_str(&order_id).is_ok(), "{order_id}");
    let tracking = b.text("#tracking-id").await;
    let parts: Vec<&str> = tracking.split('-').collect();
    assert!(
        parts.len() == 3
            && parts[0].len() == 2
            && parts[0].chars().all(|c| c.is_ascii_uppercase())
            && parts[1..]
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_digit())),
        "{tracking}"
    );
    assert_eq!(b.text("#order-total").await, "€43.31");
    b.shot("05-order").await;

    // The confirmation survives a reload (POST → redirect → GET).
    b.client.refresh().await.unwrap();
    assert_eq!(b.text("#order-id").await, order_id);

    // 7. Back to the shop: the cart badge is 0.
    b.client
        .find(Locator::Css("#continue-shopping"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_path(|p| p == "/").await;
    b.wait_text("#cart-badge", "0").await;
    b.shot("06-home-after-order").await;

    // The same pages at phone width, and the error page.
    b.client.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    b.goto("/").await;
    b.wait_text("#cart-badge", "0").await;
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        json!(false),
        "the home page scrolls sideways on a phone"
    );
    b.shot("07-phone-home").await;
    b.goto("/product/OLJCESPC7Z").await;
    b.text("#product-price").await;
    b.shot("08-phone-product").await;
    b.client.set_window_size(WIDE.0, WIDE.1).await.unwrap();
    b.goto("/product/NO-SUCH-THING").await;
    assert_eq!(b.text("#status-line").await, "404 Not Found");
    b.shot("09-not-found").await;

    b.client.close().await.unwrap();
    drop(driver);
    drop(profile);
    shop.stop().await;
}
