//! A load generator for the shop's frontend.
//!
//! Each simulated user starts with the home page, then repeatedly picks one
//! of upstream's tasks by weight — index ×1, set currency ×2, browse a product
//! ×10, add to cart ×2, view cart ×3, checkout ×1 — and waits a random time
//! between tasks. Checkout posts realistic fake addresses and valid VISA
//! numbers that the payment service accepts. The run is bounded by its
//! arguments: a duration and/or a request count (and stops early on SIGTERM).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use boutique_runtime::{ConfigError, Env};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use rand::{Rng, SeedableRng, rngs::SmallRng, seq::IndexedRandom as _};
use tokio_util::sync::CancellationToken;

/// The nine product ids of the catalog.
pub const PRODUCTS: [&str; 9] = [
    "0PUK6V6EV0",
    "1YMWWN1N4O",
    "2ZYFJ3GM2N",
    "66VCHSJNUP",
    "6E92ZMYYFZ",
    "9SIQT8TOJO",
    "L9ECAV7KIM",
    "LS4PSXUNUM",
    "OLJCESPC7Z",
];
/// Currencies a user switches between.
pub const CURRENCIES: [&str; 6] = ["EUR", "USD", "JPY", "CAD", "GBP", "TRY"];

/// Run settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `host:port` of the frontend (`FRONTEND_ADDR`).
    pub frontend_addr: String,
    /// Simulated users (`USERS`, default 10).
    pub users: u32,
    /// Users started per second (`RATE`, default 1).
    pub rate: f64,
    /// Stop after this long (`DURATION`, Go syntax; unset = until SIGTERM).
    pub duration: Option<Duration>,
    /// Stop after this many requests (`MAX_REQUESTS`; unset = no cap).
    pub max_requests: Option<u64>,
    /// Wait between a user's tasks, uniformly in `[wait_min, wait_max]`
    /// (`WAIT_MIN`/`WAIT_MAX`, default 1 s and 10 s as upstream).
    pub wait_min: Duration,
    pub wait_max: Duration,
    /// Exit non-zero when failures / requests exceeds this (`MAX_FAILURE_RATE`, default 0).
    pub max_failure_rate: f64,
}

impl Config {
    /// Reads the variables named on each field.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let opt_duration = |var: &'static str| -> Result<Option<Duration>, ConfigError> {
            Ok(env
                .get(var)
                .map(|_| env.go_duration(var))
                .transpose()?
                .filter(|d| !d.is_zero()))
        };
        let users: u32 = env.parse_or("USERS", 10)?;
        let rate: f64 = env.parse_or("RATE", 1.0)?;
        if !(rate.is_finite() && rate > 0.0) {
            return Err(ConfigError::new(
                "RATE",
                "must be a positive number of users per second",
            ));
        }
        // Zero is a meaningful wait (benchmarks), so these are not filtered.
        let wait = |var: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            Ok(env
                .get(var)
                .map(|_| env.go_duration(var))
                .transpose()?
                .unwrap_or(default))
        };
        let wait_min = wait("WAIT_MIN", Duration::from_secs(1))?;
        let wait_max = wait("WAIT_MAX", Duration::from_secs(10))?.max(wait_min);
        let max_failure_rate: f64 = env.parse_or("MAX_FAILURE_RATE", 0.0)?;
        Ok(Self {
            frontend_addr: env.peer_addr("FRONTEND_ADDR")?,
            users,
            rate,
            duration: opt_duration("DURATION")?,
            max_requests: env
                .get("MAX_REQUESTS")
                .map(|_| env.parse_or("MAX_REQUESTS", 0u64))
                .transpose()?,
            wait_min,
            wait_max,
            max_failure_rate,
        })
    }
}

/// Per-route results.
#[derive(Debug, Default, Clone)]
pub struct RouteStats {
    pub requests: u64,
    pub failures: u64,
    latencies_us: Vec<u32>,
}

impl RouteStats {
    /// The `q`-quantile latency (0 < q ≤ 1).
    pub fn percentile(&self, q: f64) -> Duration {
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        Duration::from_micros(u64::from(v[idx]))
    }
}

/// Results of a run, by route name (`GET /product/[id]`, …).
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub routes: BTreeMap<&'static str, RouteStats>,
    pub elapsed: Duration,
    /// First few failure descriptions, for diagnosis.
    pub failure_samples: Vec<String>,
}

impl Report {
    pub fn requests(&self) -> u64 {
        self.routes.values().map(|r| r.requests).sum()
    }
    pub fn failures(&self) -> u64 {
        self.routes.values().map(|r| r.failures).sum()
    }
    pub fn failure_rate(&self) -> f64 {
        let n = self.requests();
        if n == 0 {
            0.0
        } else {
            self.failures() as f64 / n as f64
        }
    }

    /// The final table: requests, failures and p50/p95/p99 per route.
    pub fn table(&self) -> String {
        let mut all = RouteStats::default();
        let mut out = format!(
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            "route", "requests", "failures", "p50 ms", "p95 ms", "p99 ms"
        );
        let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
        let mut row = |name: &str, r: &RouteStats| {
            out.push_str(&format!(
                "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
                name,
                r.requests,
                r.failures,
                ms(r.percentile(0.50)),
                ms(r.percentile(0.95)),
                ms(r.percentile(0.99))
            ));
        };
        for (name, r) in &self.routes {
            row(name, r);
            all.requests += r.requests;
            all.failures += r.failures;
            all.latencies_us.extend_from_slice(&r.latencies_us);
        }
        row("total", &all);
        let secs = self.elapsed.as_secs_f64().max(0.001);
        out.push_str(&format!(
            "{} requests in {:.1} s ({:.1} req/s), {} failures ({:.2}%)\n",
            all.requests,
            secs,
            all.requests as f64 / secs,
            all.failures,
            self.failure_rate() * 100.0
        ));
        out
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

struct Shared {
    client: HttpClient,
    base: String,
    stop: CancellationToken,
    issued: AtomicU64,
    max_requests: Option<u64>,
    report: Mutex<Report>,
}

impl Shared {
    /// Reserves one request of the budget; false once the budget is spent.
    fn take_budget(&self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        match self.max_requests {
            Some(max) if n > max => {
                self.stop.cancel();
                false
            }
            _ => true,
        }
    }

    fn record(&self, route: &'static str, took: Duration, failure: Option<String>) {
        let mut rep = self.report.lock().unwrap_or_else(|p| p.into_inner());
        let r = rep.routes.entry(route).or_default();
        r.requests += 1;
        r.latencies_us
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        if let Some(f) = failure {
            r.failures += 1;
            if rep.failure_samples.len() < 10 {
                rep.failure_samples.push(format!("{route}: {f}"));
            }
        }
    }
}

struct User {
    shared: Arc<Shared>,
    rng: SmallRng,
    cookies: BTreeMap<String, String>,
}

enum Task {
    Index,
    SetCurrency,
    BrowseProduct,
    AddToCart,
    ViewCart,
    Checkout,
}

const TASKS: [(Task, u32); 6] = [
    (Task::Index, 1),
    (Task::SetCurrency, 2),
    (Task::BrowseProduct, 10),
    (Task::AddToCart, 2),
    (Task::ViewCart, 3),
    (Task::Checkout, 1),
];

impl User {
    /// Sends one request; `None` when the budget is spent or the run stopped.
    async fn request(
        &mut self,
        route: &'static str,
        method: http::Method,
        path: &str,
        form: Option<String>,
    ) -> Option<()> {
        if !self.shared.take_budget() {
            return None;
        }
        let uri = format!("{}{path}", self.shared.base);
        let mut builder = http::Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header(http::header::COOKIE, cookie);
        }
        let body = match form {
            Some(f) => {
                builder = builder.header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                );
                Full::new(Bytes::from(f))
            }
            None => Full::new(Bytes::new()),
        };
        let start = Instant::now();
        let failure = match builder.body(body) {
            Err(e) => Some(format!("bad request: {e}")),
            Ok(req) => match self.shared.client.request(req).await {
                Err(e) => Some(format!("transport error: {e}")),
                Ok(resp) => {
                    for v in resp.headers().get_all(http::header::SET_COOKIE) {
                        if let Some((k, v)) = v
                            .to_str()
                            .ok()
                            .and_then(|s| s.split(';').next())
                            .and_then(|kv| kv.split_once('='))
                        {
                            self.cookies
                                .insert(k.trim().to_owned(), v.trim().to_owned());
                        }
                    }
                    let status = resp.status();
                    // Read the whole body: the page's cost is part of the latency.
                    let body = resp.into_body().collect().await;
                    match body {
                        Err(e) => Some(format!("reading body: {e}")),
                        Ok(_) if status.is_success() || status.is_redirection() => None,
                        Ok(_) => Some(format!("HTTP {status}")),
                    }
                }
            },
        };
        self.shared.record(route, start.elapsed(), failure);
        Some(())
    }

    async fn run_task(&mut self, task: &Task) -> Option<()> {
        match task {
            Task::Index => self.request("GET /", http::Method::GET, "/", None).await,
            Task::SetCurrency => {
                let c = CURRENCIES.choose(&mut self.rng).copied().unwrap_or("USD");
                self.request(
                    "POST /setCurrency",
                    http::Method::POST,
                    "/setCurrency",
                    Some(format!("currency_code={c}")),
                )
                .await
            }
            Task::BrowseProduct => {
                let p = self.product();
                self.request(
                    "GET /product/[id]",
                    http::Method::GET,
                    &format!("/product/{p}"),
                    None,
                )
                .await
            }
            Task::AddToCart => self.add_to_cart().await,
            Task::ViewCart => {
                self.request("GET /cart", http::Method::GET, "/cart", None)
                    .await
            }
            Task::Checkout => {
                self.add_to_cart().await?;
                let form = checkout_form(&mut self.rng);
                self.request(
                    "POST /cart/checkout",
                    http::Method::POST,
                    "/cart/checkout",
                    Some(form),
                )
                .await
            }
        }
    }

    fn product(&mut self) -> &'static str {
        PRODUCTS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or(PRODUCTS[0])
    }

    async fn add_to_cart(&mut self) -> Option<()> {
        let p = self.product();
        self.request(
            "GET /product/[id]",
            http::Method::GET,
            &format!("/product/{p}"),
            None,
        )
        .await?;
        let q = self.rng.random_range(1..=10);
        self.request(
            "POST /cart",
            http::Method::POST,
            "/cart",
            Some(format!("product_id={p}&quantity={q}")),
        )
        .await
    }

    fn pick_task(&mut self) -> &'static Task {
        let total: u32 = TASKS.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (t, w) in &TASKS {
            if x < *w {
                return t;
            }
            x -= w;
        }
        &TASKS[0].0
    }

    async fn run(mut self, wait_min: Duration, wait_max: Duration) {
        if self.run_task(&Task::Index).await.is_none() {
            return;
        }
        loop {
            let wait = if wait_max > wait_min {
                self.rng.random_range(wait_min..=wait_max)
            } else {
                wait_min
            };
            tokio::select! {
                () = self.shared.stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let task = self.pick_task();
            if self.run_task(task).await.is_none() {
                return;
            }
        }
    }
}

/// A VISA number (16 digits, valid Luhn) that is not a Visa Electron prefix.
pub fn visa_number(rng: &mut impl Rng) -> String {
    loop {
        let mut digits: Vec<u32> = vec![4];
        digits.extend((0..14).map(|_| rng.random_range(0..10)));
        let body: String = digits.iter().map(|d| char::from(b'0' + *d as u8)).collect();
        if ["4026", "417500", "4508", "4844", "4913", "4917"]
            .iter()
            .any(|p| body.starts_with(p))
        {
            continue;
        }
        let check = luhn_check_digit(&digits);
        return format!("{body}{check}");
    }
}

/// The digit that makes `digits` + it pass the Luhn check.
pub fn luhn_check_digit(digits: &[u32]) -> u32 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

const STREETS: [&str; 8] = [
    "Maple", "Oak", "Cedar", "Pine", "Elm", "Willow", "Birch", "Spruce",
];
const SUFFIXES: [&str; 4] = ["Street", "Avenue", "Road", "Lane"];
const CITIES: [(&str, &str); 6] = [
    ("Springfield", "IL"),
    ("Portland", "OR"),
    ("Austin", "TX"),
    ("Madison", "WI"),
    ("Burlington", "VT"),
    ("Boulder", "CO"),
];

/// A checkout form with a realistic fake address and a valid VISA card.
pub fn checkout_form(rng: &mut impl Rng) -> String {
    let (city, state) = CITIES.choose(rng).copied().unwrap_or(CITIES[0]);
    let street = format!(
        "{} {} {}",
        rng.random_range(1..9999),
        STREETS.choose(rng).copied().unwrap_or("Main"),
        SUFFIXES.choose(rng).copied().unwrap_or("Street")
    );
    let year = 2027 + rng.random_range(0..70);
    let fields = [
        (
            "email",
            format!("shopper{}@example.com", rng.random_range(1..100_000)),
        ),
        ("street_address", street),
        ("zip_code", rng.random_range(10_000..99_999).to_string()),
        ("city", city.to_owned()),
        ("state", state.to_owned()),
        ("country", "United States".to_owned()),
        ("credit_card_number", visa_number(rng)),
        (
            "credit_card_expiration_month",
            rng.random_range(1..=12).to_string(),
        ),
        ("credit_card_expiration_year", year.to_string()),
        ("credit_card_cvv", rng.random_range(100..1000).to_string()),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs the load until the duration, the request budget or `shutdown` ends it,
/// printing a progress line to stderr every `progress` interval.
pub async fn run(config: &Config, shutdown: CancellationToken, progress: Duration) -> Report {
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build_http();
    let shared = Arc::new(Shared {
        client,
        base: format!("http://{}", config.frontend_addr),
        stop: shutdown.child_token(),
        issued: AtomicU64::new(0),
        max_requests: config.max_requests,
        report: Mutex::new(Report::default()),
    });
    let start = Instant::now();
    if let Some(d) = config.duration {
        let stop = shared.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            stop.cancel();
        });
    }
    let reporter = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(progress);
            tick.tick().await;
            loop {
                tokio::select! {
                    () = shared.stop.cancelled() => return,
                    _ = tick.tick() => {
                        let (n, f) = {
                            let r = shared.report.lock().unwrap_or_else(|p| p.into_inner());
                            (r.requests(), r.failures())
                        };
                        let secs = start.elapsed().as_secs_f64();
                        eprintln!("[{secs:>6.1}s] {n} requests, {f} failures, {:.1} req/s", n as f64 / secs.max(0.001));
                    }
                }
            }
        })
    };
    let mut users = Vec::new();
    let spawn_every = Duration::from_secs_f64(1.0 / config.rate);
    for i in 0..config.users {
        if i > 0 {
            tokio::select! {
                () = shared.stop.cancelled() => break,
                () = tokio::time::sleep(spawn_every) => {}
            }
        }
        let user = User {
            shared: shared.clone(),
            rng: SmallRng::from_rng(&mut rand::rng()),
            cookies: BTreeMap::new(),
        };
        users.push(tokio::spawn(user.run(config.wait_min, config.wait_max)));
    }
    for u in users {
        let _ = u.await;
    }
    shared.stop.cancel();
    let _ = reporter.await;
    let mut report = shared
        .report
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    report.elapsed = start.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luhn_ok(n: &str) -> bool {
        let digits: Vec<u32> = n.chars().filter_map(|c| c.to_digit(10)).collect();
        luhn_check_digit(&digits[..digits.len() - 1]) == digits[digits.len() - 1]
    }

    #[test]
    fn visa_numbers_are_valid_and_not_electron() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..2000 {
            let n = visa_number(&mut rng);
            assert_eq!(n.len(), 16);
            assert!(n.starts_with('4'));
            assert!(luhn_ok(&n), "{n}");
            assert!(
                !["4026", "417500", "4508", "4844", "4913", "4917"]
                    .iter()
                    .any(|p| n.starts_with(p))
            );
        }
        assert!(luhn_ok("4432801561520454"));
    }

    #[test]
    fn checkout_form_has_every_field() {
        let mut rng = SmallRng::seed_from_u64(1);
        let f = checkout_form(&mut rng);
        for k in [
            "email=",
            "street_address=",
            "zip_code=",
            "city=",
            "state=",
            "country=United+States",
            "credit_card_number=4",
            "credit_card_expiration_month=",
            "credit_card_expiration_year=",
            "credit_card_cvv=",
        ] {
            assert!(f.contains(k), "{k} missing in {f}");
        }
        assert!(f.contains("%40example.com"));
    }

    #[test]
    fn config_from_env() {
        let env = Env::from_pairs([
            ("FRONTEND_ADDR", "frontend:80"),
            ("DURATION", "30s"),
            ("MAX_REQUESTS", "500"),
            ("USERS", "4"),
        ]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.users, 4);
        assert_eq!(c.duration, Some(Duration::from_secs(30)));
        assert_eq!(c.max_requests, Some(500));
        assert_eq!(
            (c.wait_min, c.wait_max),
            (Duration::from_secs(1), Duration::from_secs(10))
        );
        let env = Env::from_pairs([
            ("FRONTEND_ADDR", "f:80"),
            ("WAIT_MIN", "0s"),
            ("WAIT_MAX", "0"),
        ]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!((c.wait_min, c.wait_max), (Duration::ZERO, Duration::ZERO));
        assert_eq!(
            Config::from_env(&Env::default()).unwrap_err().var,
            "FRONTEND_ADDR"
        );
        let env = Env::from_pairs([("FRONTEND_ADDR", "f:80"), ("RATE", "0")]);
        assert_eq!(Config::from_env(&env).unwrap_err().var, "RATE");
    }

    #[test]
    fn percentiles() {
        let r = RouteStats {
            requests: 100,
            failures: 0,
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
        };
        assert_eq!(r.percentile(0.5), Duration::from_millis(50));
        assert_eq!(r.percentile(0.99), Duration::from_millis(99));
        assert_eq!(r.percentile(1.0), Duration::from_millis(100));
    }
}
