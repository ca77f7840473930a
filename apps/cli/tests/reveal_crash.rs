//! A crash during a stream of reveals loses no answered entry (issue #15): the real
//! `ldbds serve`, on a temporary SQLite database and on a temporary PostgreSQL database,
//! answers detail and list reveals from several clients through its group-committed
//! reveal log, is killed with SIGKILL in the middle of the stream, and every reveal it
//! answered has its `pii_access_log` row, found by the request id the answer carried.
//!
//! The PostgreSQL run needs `LDBDS_TEST_POSTGRES_URL` (as every storage test); without
//! it the run is skipped with a message, or fails under `LDBDS_TEST_REQUIRE_POSTGRES=1`
//! (CI).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Answer {
    status: u16,
    request_id: Option<String>,
    body: String,
}

/// One HTTP/1.1 exchange on its own connection; `None` when the server is gone.
fn exchange(port: u16, method: &str, path: &str, key: &str, body: Option<&str>) -> Option<Answer> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let payload = body.unwrap_or("");
    let content = if body.is_some() {
        format!("Content-Type: application/json\r\nContent-Length: {}\r\n", payload.len())
    } else {
        String::new()
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {key}\r\n{content}Connection: close\r\n\r\n{payload}"
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let request_id = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-request-id").then(|| value.trim().to_owned())
    });
    Some(Answer { status, request_id, body: body.to_owned() })
}

#[test]
fn a_sigkill_during_a_stream_of_reveals_loses_no_answered_entry_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("data").join("ldbds.db").display());
    crash_during_reveals(dir.path(), &url);
}

#[test]
fn a_sigkill_during_a_stream_of_reveals_loses_no_answered_entry_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // The database is dropped with `db` at the end, on this runtime.
    let Some(db) = runtime.block_on(testkit::TestDb::postgres()) else { return };
    let dir = tempfile::tempdir().unwrap();
    crash_during_reveals(dir.path(), &db.url);
    runtime.block_on(async move { drop(db) });
}

/// An `ldbds` command on the database of `url`, its data directory under `dir`.
fn ldbds(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ldbds"));
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("LDBDS__DATA_DIR", dir.join("data"))
        .env("LDBDS__DATABASE__URL", url)
        .env("LDBDS__LOG__LEVEL", "warn");
    cmd
}

fn crash_during_reveals(dir: &std::path::Path, url: &str) {
    // The demo data and the partner's key, printed once by the seed.
    let seeded = ldbds(dir, url).args(["seed", "--demo"]).output().expect("seed");
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let key = String::from_utf8_lossy(&seeded.stdout)
        .lines()
        .find(|line| line.contains("for org mohom "))
        .and_then(|line| line.split_whitespace().last().map(str::to_owned))
        .expect("the partner key is printed by the seed");
    let port = free_port();
    let mut child = ldbds(dir, url)
        .arg("serve")
        .env("LDBDS__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("LDBDS__SERVER__WORKERS", "2")
        // The stream is many reveals a second from one key: above the default limit.
        .env("LDBDS__RATE_LIMIT__PER_SECOND", "100000")
        .env("LDBDS__RATE_LIMIT__BURST", "100000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("listening on") {
            break;
        }
    }
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // A member, a lead of theirs, used: from now on its detail and the list reveal it.
    let user = r#"{"mohomId": "crash-1", "name": "김설계", "phone": "010-1111-2222", "email": "m1@mohom.kr", "role": "MEMBER"}"#;
    let created = exchange(port, "POST", "/api/v1/users", &key, Some(user)).expect("create user");
    assert_eq!(created.status, 201, "{}", created.body);
    let product = {
        let products = exchange(port, "GET", "/api/v1/products", &key, None).expect("products");
        assert_eq!(products.status, 200, "{}", products.body);
        let doc: serde_json::Value = serde_json::from_str(&products.body).unwrap();
        doc["data"][0]["id"].as_str().expect("a product id").to_owned()
    };
    let lead = serde_json::json!({
        "mohomId": "crash-1", "productId": product, "name": "홍길동", "phone": "010-1234-5678", "region": "서울"
    })
    .to_string();
    let registered = exchange(port, "POST", "/api/v1/leads", &key, Some(&lead)).expect("register");
    assert_eq!(registered.status, 201, "{}", registered.body);
    let lead_id: Uuid =
        serde_json::from_str::<serde_json::Value>(&registered.body).unwrap()["id"].as_str().unwrap().parse().unwrap();
    let used = exchange(port, "POST", &format!("/api/v1/leads/{lead_id}/use"), &key, Some(r#"{"mohomId": "crash-1"}"#))
        .expect("use");
    assert_eq!(used.status, 200, "{}", used.body);

    // The stream: clients reveal until the server is gone, keeping the id of every
    // answered reveal (the plain name in a 200).
    let answered: Arc<Mutex<Vec<String>>> = Arc::default();
    let gone = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (answered, gone, key) = (Arc::clone(&answered), Arc::clone(&gone), key.clone());
            std::thread::spawn(move || {
                let paths =
                    [format!("/api/v1/leads/{lead_id}?mohomId=crash-1"), "/api/v1/leads?mohomId=crash-1".to_owned()];
                let mut i = c;
                while !gone.load(Ordering::SeqCst) {
                    i += 1;
                    let Some(answer) = exchange(port, "GET", &paths[i % 2], &key, None) else { break };
                    if answer.status == 200 && answer.body.contains("홍길동") {
                        answered.lock().unwrap().push(answer.request_id.expect("every answer names its request"));
                    }
                }
            })
        })
        .collect();
    // Kill in the middle of the stream: once enough reveals were answered.
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    gone.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.len() >= 300, "the stream answered reveals before the kill: {}", answered.len());

    // Every answered reveal has its row in the database the killed server left.
    let logged: HashSet<String> =
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let db = infra::db::Db::connect(url, infra::db::PoolSettings::default()).await.unwrap();
            let ids = infra::pii_access::request_ids_for_subject(db.conn(), "lead", lead_id).await.unwrap();
            db.close().await.unwrap();
            ids.into_iter().collect()
        });
    let lost: Vec<&String> = answered.iter().filter(|id| !logged.contains(*id)).collect();
    assert!(lost.is_empty(), "{} of {} answered reveals have no log row: {lost:?}", lost.len(), answered.len());
}
