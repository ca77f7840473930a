//! Abuse (OWASP API4, unrestricted resource consumption; `security.md`): a caller
//! bursting past its rate limit, `leadIds` lists far over their caps, and bodies far over
//! the JSON limit, sent to a real listening server so that the test can show the refusal
//! comes before the body does.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::test::{self, TestRequest};
use api::startup::build_app;
use testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{Reply, TestApp, leader, member};

testkit::on_both_backends! { actix_web::test;
    a_concurrent_burst_past_the_limit_gets_429s_while_another_key_is_served => burst_body;
    ten_thousand_lead_ids_are_a_400_and_change_nothing => lead_ids_body;
    a_50_mib_body_is_refused_413_before_it_is_sent => content_length_body;
    a_streamed_body_without_length_is_cut_off_at_the_limit => chunked_body;
}

/// An `ErrorResponse` with this status and code, whose `requestId` is its `X-Request-Id`.
fn assert_error_response(reply: &Reply, status: u16, code: &str) {
    assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "{}", reply.text);
    let body = reply.json();
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"]["details"].is_array(), "{body}");
    assert_eq!(body["requestId"].as_str(), reply.header("x-request-id"), "{body}");
}

async fn burst_body(db: TestDb) {
    const BURST: usize = 5;
    let app = TestApp::with(db, &[("LDBDS__RATE_LIMIT__PER_SECOND", "1"), ("LDBDS__RATE_LIMIT__BURST", "5")]).await;
    let service = test::init_service(build_app(app.state.clone())).await;
    // 30 calls of one key and 5 of another, all in flight at once, interleaved.
    let calls = (0..35).map(|i| {
        let key = if i % 7 == 3 { app.operator_key.clone() } else { app.partner_key.clone() };
        let service = &service;
        async move {
            let req = TestRequest::get().uri("/api/v1/as/reasons").insert_header(("X-API-Key", key.clone()));
            let res = test::call_service(service, req.to_request()).await;
            let (status, headers) = (res.status(), res.headers().clone());
            let text = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
            (key, Reply { status, headers, body: text.clone().into_bytes(), text })
        }
    });
    let started = Instant::now();
    let replies = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    let (partner, operator): (Vec<_>, Vec<_>) = replies.into_iter().partition(|(key, _)| *key == app.partner_key);
    assert_eq!((partner.len(), operator.len()), (30, 5));
    for (_, reply) in &operator {
        assert_eq!(reply.status, 200, "the other key has its own bucket: {}", reply.text);
    }
    let served = partner.iter().filter(|(_, r)| r.status == 200).count();
    // One more token per second of the run (the machine may be slow).
    let refill = usize::try_from(elapsed.as_secs()).unwrap_or(usize::MAX).saturating_add(1);
    assert!((BURST..=BURST + refill).contains(&served), "{served} served in {elapsed:?}");
    for (_, reply) in partner.iter().filter(|(_, r)| r.status != 200) {
        assert_error_response(reply, 429, "RATE_LIMITED");
        let retry_after: u64 = reply.header("retry-after").expect("Retry-After").parse().expect("whole seconds");
        assert!((1..=2).contains(&retry_after), "{retry_after}");
    }
}

/// Ten thousand distinct, well-formed ids, `first` among them.
fn ten_thousand_ids(first: &str) -> Vec<String> {
    std::iter::once(first.to_owned()).chain((1..10_000).map(|_| Uuid::now_v7().to_string())).collect()
}

async fn post(app: &TestApp, uri: &str, body: &serde_json::Value) -> Reply {
    app.send(app.with_key(TestRequest::post().uri(uri).set_json(body), &app.partner_key)).await
}

async fn owned(app: &TestApp, mohom_id: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/v1/leads?mohomId={mohom_id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json()["data"].as_array().expect("data").iter().map(|l| l["id"].as_str().expect("id").to_owned()).collect()
}

async fn lead_ids_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, leader("leader", "팀장", "010-1000-0000", "l@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    let mut leads = Vec::new();
    for phone in ["010-1234-5678", "010-2222-3333"] {
        let body = serde_json::json!({"mohomId": "leader", "productId": product, "name": "홍길동", "phone": phone, "region": "서울"});
        let reply = post(&app, "/api/v1/leads", &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        leads.push(reply.json()["id"].as_str().unwrap().to_owned());
    }
    let (kept, away) = (leads[0].clone(), leads[1].clone());
    let used = post(&app, &format!("/api/v1/leads/{kept}/use"), &serde_json::json!({"mohomId": "leader"})).await;
    assert_eq!(used.status, 200, "{}", used.text);
    let moved = post(
        &app,
        "/api/v1/leads/distribute",
        &serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": [away]}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let reveals = || infra::pii_access::count_for_subject(app.db.db.conn(), "lead", kept.parse().unwrap());
    let reveals_before = reveals().await.unwrap();

    let cases = [
        (
            "/api/v1/leads/distribute",
            serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": ten_thousand_ids(&kept)}),
            "must hold 1 to 500 ids",
        ),
        (
            "/api/v1/leads/recall",
            serde_json::json!({"mohomId": "leader", "leadIds": ten_thousand_ids(&away)}),
            "must hold 1 to 500 ids",
        ),
        (
            "/api/v1/leads/contacts",
            serde_json::json!({"mohomId": "leader", "leadIds": ten_thousand_ids(&kept)}),
            "must hold 1 to 100 ids",
        ),
        // The cap is checked before anything else: the same id 10,000 times, or garbage.
        (
            "/api/v1/leads/distribute",
            serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": vec![kept.clone(); 10_000]}),
            "must hold 1 to 500 ids",
        ),
        (
            "/api/v1/leads/contacts",
            serde_json::json!({"mohomId": "leader", "leadIds": vec!["x"; 10_000]}),
            "must hold 1 to 100 ids",
        ),
    ];
    for (uri, body, reason) in cases {
        assert!(body.to_string().len() < 1024 * 1024, "under the body limit: the list cap answers, not the 413");
        let reply = post(&app, uri, &body).await;
        assert_error_response(&reply, 400, "VALIDATION_FAILED");
        assert_eq!(
            reply.json()["error"]["details"],
            serde_json::json!([{"field": "leadIds", "reason": reason}]),
            "{uri}"
        );
    }
    // (Before listing: the owned list itself reveals, and logs, the used lead.)
    assert_eq!(reveals().await.unwrap(), reveals_before, "nothing revealed");
    assert_eq!(owned(&app, "leader").await, [kept.as_str()], "nothing distributed");
    assert_eq!(owned(&app, "m-1").await, [away.as_str()], "nothing recalled");
}

/// A real server (`HttpServer`, one worker) on a free local port, serving the app of a
/// [`TestApp`]; [`Listening::stop`] ends it.
struct Listening {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
}

impl Listening {
    fn start(app: &TestApp) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = app.state.clone();
        let server = actix_web::HttpServer::new(move || build_app(state.clone()))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { addr, handle }
    }

    async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// A raw HTTP/1.1 response: status, headers (lower-case names), body.
struct RawReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Reads one response (head, then a `Content-Length` body) within the stream's timeout.
fn read_response(stream: &mut TcpStream) -> RawReply {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).expect("a response before the read timeout");
        assert!(n > 0, "connection closed without a response: {:?}", String::from_utf8_lossy(&bytes));
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).expect("the body before the read timeout");
        assert!(n > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    RawReply { status, headers, body: String::from_utf8_lossy(&body[..length]).into_owned() }
}

const FIFTY_MIB: usize = 50 * 1024 * 1024;

fn head(key: &str, path: &str, framing: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    )
}

fn assert_payload_too_large(reply: &RawReply) {
    assert_eq!(reply.status, 413, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE", "{body}");
    assert_eq!(body["requestId"].as_str(), reply.header("x-request-id"), "{body}");
}

async fn content_length_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let server = Listening::start(&app);
    let (addr, key) = (server.addr, app.partner_key.clone());
    let replies = tokio::task::spawn_blocking(move || {
        ["/api/v1/leads", "/lead-platform/v1/leads/create", "/api/v1/leads/distribute"].map(|path| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            // The head announces 50 MiB; not one byte of the body is ever sent, so a
            // server that waited for (or buffered) the body would time this read out.
            stream.write_all(head(&key, path, &format!("Content-Length: {FIFTY_MIB}")).as_bytes()).unwrap();
            (path, read_response(&mut stream))
        })
    })
    .await
    .unwrap();
    server.stop().await;
    for (path, reply) in replies {
        assert_payload_too_large(&reply);
        assert!(reply.body.contains("1048576"), "{path}: the message names the limit: {}", reply.body);
    }
}

async fn chunked_body(db: TestDb) {
    let app = TestApp::new(db).await;
    let server = Listening::start(&app);
    let (addr, key) = (server.addr, app.partner_key.clone());
    let (reply, sent_when_answered) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(head(&key, "/api/v1/leads", "Transfer-Encoding: chunked").as_bytes()).unwrap();
        // A writer streams up to 50 MiB of one JSON string in 16 KiB chunks, paced so that
        // sending it all would take seconds; this thread waits for the answer meanwhile.
        let sent = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut writer = stream.try_clone().unwrap();
        writer.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let writer = {
            let (sent, stop) = (Arc::clone(&sent), Arc::clone(&stop));
            std::thread::spawn(move || {
                const CHUNK: usize = 16 * 1024;
                let frame =
                    |data: &[u8]| [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n".as_slice()].concat();
                let mut opening = b"{\"name\": \"".to_vec();
                opening.resize(CHUNK, b'x');
                let (opening, filler) = (frame(&opening), frame(&[b'x'; CHUNK]));
                while !stop.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < FIFTY_MIB {
                    let piece = if sent.load(Ordering::Relaxed) == 0 { &opening } else { &filler };
                    if writer.write_all(piece).is_err() {
                        break; // the server closed the connection
                    }
                    sent.fetch_add(CHUNK, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        };
        let reply = read_response(&mut stream);
        let sent_when_answered = sent.load(Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        stream.shutdown(std::net::Shutdown::Both).ok();
        writer.join().unwrap();
        (reply, sent_when_answered)
    })
    .await
    .unwrap();
    server.stop().await;
    assert_payload_too_large(&reply);
    assert!(sent_when_answered < FIFTY_MIB / 4, "answered after {sent_when_answered} bytes of {FIFTY_MIB}");
}
