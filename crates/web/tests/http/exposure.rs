//! Regression tests for what the HTTP surface exposes and how long it lets a client hold it:
//! the security headers and the content security policy, the pages' scripts and styles served
//! as files, `/metrics` closed to the public, device tokens never in an address, the board's
//! listener caps, and the server loop's header deadline — each named after its property.

use super::{test_config, Harness};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn body_text(res: axum::response::Response) -> String {
    let b = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8_lossy(&b).into_owned()
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

/// Every answer — page, API, redirect, error — carries the content security policy (scripts
/// and styles from this site only, no inline ones, no framing) and the companion headers.
#[tokio::test]
async fn every_answer_carries_a_strict_content_security_policy_and_no_sniff_headers() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    for uri in [
        "/",
        "/staff/login",
        "/staff",
        "/board/tianhe",
        "/api/v1/halls",
        "/api/v1/nowhere",
        "/static/board.js",
    ] {
        let res = h.raw(get(uri)).await;
        let hd = res.headers();
        let csp = hd
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        for part in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: {part} missing in {csp}");
        }
        assert!(!csp.contains("unsafe"), "{uri}: {csp}");
        assert_eq!(hd[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
        assert_eq!(hd[header::REFERRER_POLICY], "no-referrer", "{uri}");
        assert_eq!(hd[header::X_FRAME_OPTIONS], "DENY", "{uri}");
    }
}

/// The kiosk pages alone may open the peripheral bridge's WebSocket on their own machine
/// (docs/KIOSK.md §5): loopback only; every other page keeps `connect-src 'self'`.
#[tokio::test]
async fn only_kiosk_pages_may_reach_the_bridge_on_loopback() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let policy = |res: &axum::response::Response| {
        res.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string()
    };
    let mut tokens = Vec::new();
    for body in [
        serde_json::json!({"name": "签到机", "hall_id": "tianhe", "kind": "check_in"}),
        serde_json::json!({"name": "评价器", "hall_id": "tianhe", "kind": "rating_terminal", "window_number": 1}),
    ] {
        let (_, d) = h
            .call(
                "POST",
                "/api/v1/admin/devices",
                Some(body),
                &admin.headers(),
            )
            .await;
        tokens.push(d["token"].as_str().unwrap().to_string());
    }
    for (uri, token) in [("/kiosk", &tokens[0]), ("/rate/tianhe/1", &tokens[1])] {
        let res = h
            .raw(
                Request::builder()
                    .uri(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        let csp = policy(&res);
        assert!(
            csp.contains("connect-src 'self' ws://127.0.0.1:*;")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe"),
            "{uri}: {csp}"
        );
    }
    for uri in ["/", "/staff/login", "/board/tianhe", "/device"] {
        let csp = policy(&h.raw(get(uri)).await);
        assert!(csp.contains("connect-src 'self';"), "{uri}: {csp}");
        assert!(!csp.contains("ws:"), "{uri}: {csp}");
    }
}

/// No template has an inline script, event handler or style (the policy would block them, and
/// a page that needs none cannot be restyled or scripted by injected markup); every script and
/// style sheet a template names is served, with its type.
#[tokio::test]
async fn pages_use_only_scripts_and_styles_served_as_files() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
    let mut named = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display();
        assert!(!text.contains("<script>"), "{name}: inline script");
        assert!(!text.contains("<style"), "{name}: inline style sheet");
        assert!(!text.contains(" style="), "{name}: inline style attribute");
        for handler in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " oninput=",
        ] {
            assert!(!text.contains(handler), "{name}: inline handler {handler}");
        }
        for (attr, kind) in [("src=\"/static/", "js"), ("href=\"/static/", "css")] {
            for piece in text.split(attr).skip(1) {
                let file = piece.split('"').next().unwrap();
                assert!(file.ends_with(kind), "{name}: {file}");
                named.insert(file.to_string());
            }
        }
    }
    assert!(named.len() >= 8, "{named:?}");
    for file in &named {
        let res = h.raw(get(&format!("/static/{file}"))).await;
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        let ty = res.headers()[header::CONTENT_TYPE].to_str().unwrap();
        let want = if file.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(ty.starts_with(want), "{file}: {ty}");
    }
    let res = h.raw(get("/static/secret.toml")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// `/metrics` is not public: anonymous callers and staff other than administrators are
/// refused; an administrator's session and the configured scraper token are let in, and the
/// scraper token opens nothing else.
#[tokio::test]
async fn metrics_are_for_administrators_and_the_scraper_token_only() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let opts = wujing_web::WebOptions {
        metrics_token: Some("scrape-4f0c2a9e".into()),
        ..Default::default()
    };
    let h = Harness::with_options(store, test_config(), opts).await;
    let metrics = |auth: Option<(&str, String)>| {
        let mut r = Request::builder().uri("/metrics");
        if let Some((k, v)) = auth {
            r = r.header(k, v);
        }
        r.body(Body::empty()).unwrap()
    };
    assert_eq!(
        h.raw(metrics(None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let officer = h.sign_in_as("officer@tianhe").await;
    assert_eq!(
        h.raw(metrics(Some(("cookie", officer.cookie.clone()))))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let admin = h.sign_in_as("admin").await;
    let res = h.raw(metrics(Some(("cookie", admin.cookie.clone())))).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body_text(res).await.contains("wujing_http_requests_total"));
    let res = h
        .raw(metrics(Some((
            "authorization",
            "Bearer scrape-4f0c2a9e".into(),
        ))))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for wrong in ["Bearer scrape-4f0c2a9f", "Bearer scrape", "Bearer "] {
        let res = h.raw(metrics(Some(("authorization", wrong.into())))).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    let res = h
        .raw(
            Request::builder()
                .uri("/api/v1/staff/me")
                .header("authorization", "Bearer scrape-4f0c2a9e")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// A device token is never taken from an address (it would stay in browser history, proxy
/// logs and Referer headers): `/device` only shows the form, and the token is posted.
#[tokio::test]
async fn device_tokens_are_posted_never_taken_from_the_address() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let admin = h.sign_in_as("admin").await;
    let res = h
        .raw(
            Request::builder()
                .method("POST")
                .uri("/api/v1/admin/devices")
                .header("cookie", &admin.cookie)
                .header("x-csrf-token", &admin.csrf)
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"name":"kiosk","hall_id":"tianhe","kind":"check_in"}"#,
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    let token = v["token"].as_str().unwrap().to_string();

    // The old address form binds nothing: it is the form, without a cookie.
    let res = h
        .raw(get(&format!("/device?token={token}&back=/kiosk")))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let page = body_text(res).await;
    assert!(page.contains(r#"method="post" action="/device""#), "{page}");
    assert!(!page.contains(&token));

    let post = |body: String| {
        Request::builder()
            .method("POST")
            .uri("/device")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let res = h.raw(post("token=not-a-token&back=%2Fkiosk".into())).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());

    let res = h.raw(post(format!("token={token}&back=%2Fkiosk"))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/kiosk");
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("wujing_device=") && cookie.contains("HttpOnly"));
    // The bound browser is the kiosk.
    let kiosk = h
        .raw(
            Request::builder()
                .uri("/kiosk")
                .header("cookie", cookie.split(';').next().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(kiosk.status(), StatusCode::OK);

    // Another site cannot post a token into a visitor's browser.
    let mut cross = post(format!("token={token}&back=%2Fkiosk"));
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    let res = h.raw(cross).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get(header::SET_COOKIE).is_none());

    // And only back to this site.
    let res = h
        .raw(post(format!("token={token}&back=%2F%2Fevil.example")))
        .await;
    assert_eq!(res.headers()[header::LOCATION], "/");
}

/// A board takes at most its cap of live listeners, and all boards together theirs: the next
/// one is refused with `503 too_many_listeners` and a Retry-After, and a place is free again
/// as soon as a listener leaves.
#[tokio::test]
async fn board_listeners_are_capped_per_board_and_in_total() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let opts = wujing_web::WebOptions {
        board_listeners_per_board: 2,
        board_listeners: 3,
        ..Default::default()
    };
    let h = Harness::with_options(store, test_config(), opts).await;
    let listen = |hall: &str| h.raw(get(&format!("/board/{hall}/events")));
    let first = listen("tianhe").await;
    let second = listen("tianhe").await;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );

    let refused = listen("tianhe").await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "30");
    // The board is a page: the refusal is the error page, with the registered code.
    let page = body_text(refused).await;
    assert!(page.contains("too_many_listeners"), "{page}");

    // Another board has its own places, up to the total.
    let other = listen("yuexiu").await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(
        listen("yuexiu").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    // One leaves: its place is taken again.
    drop(first);
    let again = listen("tianhe").await;
    assert_eq!(again.status(), StatusCode::OK);
    drop((second, other, again));
}

/// A client that sends half a request line and then nothing is disconnected once the header
/// deadline passes, over a real socket; a client that sends its request is answered.
#[tokio::test]
async fn a_client_that_stalls_in_its_headers_is_disconnected_at_the_header_deadline() {
    let (store, _g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bounds = wujing_web::ServeOptions {
        header_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(30),
        max_connections: 16,
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(wujing_web::serve(
        listener,
        h.router.clone(),
        bounds,
        async {
            let _ = stopped.await;
        },
    ));

    let started = Instant::now();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf)).await;
    let waited = started.elapsed();
    assert!(
        matches!(read, Ok(Ok(_)) | Ok(Err(_))),
        "still connected after {waited:?}"
    );
    assert!(
        waited >= Duration::from_millis(350),
        "closed too early: {waited:?}"
    );
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "a stalled request was served"
    );

    let mut quick = tokio::net::TcpStream::connect(addr).await.unwrap();
    quick
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), quick.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Runs the server loop on 127.0.0.1 with `bounds` until the returned sender is used.
async fn serving(
    bounds: wujing_web::ServeOptions,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    wujing_testkit::TempSqlite,
) {
    let (store, g) = wujing_testkit::sqlite_store().await;
    let h = Harness::new(store).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(wujing_web::serve(listener, h.router, bounds, async {
        let _ = stopped.await;
    }));
    (addr, stop, g)
}

/// A connection on which no byte moves is closed at the idle deadline, even while the (longer)
/// header deadline has not passed.
#[tokio::test]
async fn a_connection_on_which_nothing_moves_is_closed_at_the_idle_deadline() {
    let (addr, _stop, _g) = serving(wujing_web::ServeOptions {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_millis(400),
        max_connections: 16,
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    let mut quiet = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), quiet.read_to_end(&mut buf)).await;
    let waited = started.elapsed();
    assert!(read.is_ok(), "still connected after {waited:?}");
    assert!(
        waited >= Duration::from_millis(350),
        "closed too early: {waited:?}"
    );
}

/// Beyond the connection cap a client is not served until a connection ends; then it is.
#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_ends() {
    let (addr, _stop, _g) = serving(wujing_web::ServeOptions {
        header_read_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
        max_connections: 1,
        ..Default::default()
    })
    .await;
    let holder = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // the holder has the one place
    let mut waiting = tokio::net::TcpStream::connect(addr).await.unwrap();
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    let early = tokio::time::timeout(
        Duration::from_millis(500),
        waiting.read_to_string(&mut answer),
    )
    .await;
    assert!(early.is_err(), "served beyond the cap: {answer}");
    drop(holder);
    tokio::time::timeout(Duration::from_secs(5), waiting.read_to_string(&mut answer))
        .await
        .expect("not served after a place came free")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
