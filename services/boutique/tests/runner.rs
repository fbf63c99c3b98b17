//! End to end: the `boutique` binary runs the whole shop; one purchase over
//! plain HTTP; SIGTERM stops every service and the process exits 0.

use std::{collections::BTreeMap, time::Duration};

use tokio::{
    io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _},
    process::Command,
};

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection.
async fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookies: &BTreeMap<String, String>,
    form: Option<&str>,
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the frontend");
    let cookie = cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let body = form.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        req.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if form.is_some() {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn keep_cookies(reply: &Reply, jar: &mut BTreeMap<String, String>) {
    for (k, v) in &reply.headers {
        if k.eq_ignore_ascii_case("set-cookie")
            && let Some((name, value)) = v.split(';').next().and_then(|kv| kv.split_once('='))
        {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}

#[tokio::test]
async fn one_purchase_through_the_all_in_one_runner() {
    let mut child = Command::new(boutique_testkit::workspace_bin("boutique"))
        .env("BOUTIQUE_EPHEMERAL_PORTS", "1")
        .env("LISTEN_ADDR", "127.0.0.1")
        .env("RUST_LOG", "info")
        .env_remove("REDIS_ADDR")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the boutique runner (cargo build --bins first)");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read logs") {
            let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
            if v["message"] == "the shop is open" {
                return v["url"].as_str().expect("url").to_owned();
            }
        }
        panic!("the runner exited before opening the shop");
    })
    .await
    .expect("the shop opens within 20 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let mut jar = BTreeMap::new();
    let home = http(&addr, "GET", "/", &jar, None).await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains("Sunglasses") && home.body.contains("$19.99"),
        "home lists the catalog in USD"
    );
    keep_cookies(&home, &mut jar);
    assert!(
        jar.contains_key("shop_session-id"),
        "a session cookie is set"
    );

    let add = http(
        &addr,
        "POST",
        "/cart",
        &jar,
        Some("product_id=OLJCESPC7Z&quantity=2"),
    )
    .await;
    assert_eq!(add.status, 302);
    assert_eq!(add.header("location"), Some("/cart"));
    let cart = http(&addr, "GET", "/cart", &jar, None).await;
    assert_eq!(cart.status, 200);
    // 2 × 19.99 + 8.99 shipping.
    assert!(cart.body.contains("$48.97"), "cart total is shown");

    let form = "email=someone%40example.com&street_address=1600+Amphitheatre+Parkway&zip_code=94043\
                &city=Mountain+View&state=CA&country=United+States&credit_card_number=4432801561520454\
                &credit_card_expiration_month=1&credit_card_expiration_year=2030&credit_card_cvv=672";
    let placed = http(&addr, "POST", "/cart/checkout", &jar, Some(form)).await;
    assert!(
        matches!(placed.status, 302 | 303),
        "checkout redirects, got {}: {}",
        placed.status,
        placed.body
    );
    let location = placed
        .header("location")
        .expect("redirect target")
        .to_owned();
    let order = http(&addr, "GET", &location, &jar, None).await;
    assert_eq!(order.status, 200);
    assert!(order.body.contains("Your order is complete!"));
    assert!(order.body.contains("$48.97"), "total paid");
    let cart_after = http(&addr, "GET", "/cart", &jar, None).await;
    assert!(
        cart_after.body.contains("Your shopping cart is empty"),
        "the cart was emptied"
    );

    let pid = child.id().expect("pid") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("the runner stops within 15 s")
        .expect("wait");
    assert_eq!(status.code(), Some(0));
}
