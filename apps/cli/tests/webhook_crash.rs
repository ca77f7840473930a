//! A SIGKILL of the server while it delivers webhooks loses no event (issue #16): the
//! real `ldbds serve`, on a temporary SQLite database and on a temporary PostgreSQL
//! database, takes a stream of intakes delivered to an open order, with one endpoint of
//! the buyer's org on a loopback receiver; it is killed in the middle of the stream and
//! started again. Afterwards every lead the database holds as delivered has arrived as
//! `lead.assigned`, and an event arrived twice only if its round was not recorded when
//! the server died (at most one round per endpoint, `webhook_dispatch::ROUND`).
//!
//! The PostgreSQL run needs `LDBDS_TEST_POSTGRES_URL`; without it the run is skipped
//! with a message, or fails under `LDBDS_TEST_REQUIRE_POSTGRES=1` (CI).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 exchange on its own connection: (status, body); `None` when the server
/// is gone.
fn exchange(port: u16, method: &str, path: &str, key: &str, headers: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {key}\r\n{headers}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.split(' ').nth(1)?.parse().ok()?, body.to_owned()))
}

#[test]
fn a_sigkill_while_delivering_webhooks_loses_no_event_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("data").join("ldbds.db").display());
    crash_while_delivering(dir.path(), &url);
}

#[test]
fn a_sigkill_while_delivering_webhooks_loses_no_event_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(testkit::TestDb::postgres()) else { return };
    let dir = tempfile::tempdir().unwrap();
    crash_while_delivering(dir.path(), &db.url);
    runtime.block_on(async move { drop(db) });
}

fn ldbds(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ldbds"));
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env("LDBDS__DATA_DIR", dir.join("data"))
        .env("LDBDS__DATABASE__URL", url)
        .env("LDBDS__EVENTS__ALLOW_LOOPBACK", "true")
        .env("LDBDS__LOG__LEVEL", "warn");
    cmd
}

fn serve(dir: &std::path::Path, url: &str, port: u16) -> Child {
    let mut child = ldbds(dir, url)
        .arg("serve")
        .env("LDBDS__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("LDBDS__SERVER__WORKERS", "2")
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
    child
}

fn crash_while_delivering(dir: &std::path::Path, url: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let receiver = runtime.block_on(testkit::receiver::Receiver::start());
    let seeded = ldbds(dir, url).args(["seed", "--demo"]).output().expect("seed");
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let key = String::from_utf8_lossy(&seeded.stdout)
        .lines()
        .find(|line| line.contains("for org mohom "))
        .and_then(|line| line.split_whitespace().last().map(str::to_owned))
        .expect("the partner key is printed by the seed");
    let port = free_port();
    let mut child = serve(dir, url, port);

    // A member with an order of 100,000 in region 79, and the org's endpoint.
    let user = r#"{"mohomId": "hook-1", "name": "김설계", "phone": "010-1111-2222", "email": "m1@mohom.kr", "role": "MEMBER"}"#;
    let (status, body) = exchange(port, "POST", "/api/v1/users", &key, "", user).expect("create user");
    assert_eq!(status, 201, "{body}");
    let product = runtime.block_on(async {
        let db = infra::db::Db::connect(url, infra::db::PoolSettings::default()).await.unwrap();
        let id = infra::fixtures::product_id_by_code(db.conn(), "RE-HCM-APT").await.unwrap().unwrap();
        db.close().await.unwrap();
        id
    });
    let order = serde_json::json!({"mohomId": "hook-1", "productId": product, "regions": [{"region": "79", "quantity": 100000}]});
    let (status, body) = exchange(port, "POST", "/api/v1/orders", &key, "", &order.to_string()).expect("order");
    assert_eq!(status, 201, "{body}");
    let endpoint = serde_json::json!({"url": receiver.url("/hook"), "events": ["lead.assigned"]});
    let (status, body) = exchange(port, "POST", "/api/v1/webhooks", &key, "", &endpoint.to_string()).expect("endpoint");
    assert_eq!(status, 201, "{body}");

    // The stream: intakes from 4 clients until the server is gone.
    let assigned = Arc::new(AtomicU64::new(0));
    let gone = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (assigned, gone, next, key) =
                (Arc::clone(&assigned), Arc::clone(&gone), Arc::clone(&next), key.clone());
            std::thread::spawn(move || {
                while !gone.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let lead = format!(r#"{{"name":"Nguyen Van A","mobileNumber":"039{n:07}","regionCode":"79"}}"#);
                    let path = "/lead-platform/v1/leads/create";
                    let Some((status, body)) = exchange(port, "POST", path, &key, "source: TCB\r\n", &lead) else {
                        break;
                    };
                    if status == 201 && body.contains("ASSIGNED") {
                        assigned.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (assigned.load(Ordering::SeqCst) < 150 || receiver.received().len() < 50) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    gone.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    let before_restart = receiver.received().len();
    assert!(before_restart >= 50, "deliveries were flowing when the server died: {before_restart}");

    // Restarted, the server delivers what the killed one left.
    let port = free_port();
    let mut child = serve(dir, url, port);
    let delivered: i64 = runtime.block_on(async {
        let db = infra::db::Db::connect(url, infra::db::PoolSettings::default()).await.unwrap();
        let conn = db.conn();
        use sea_orm::ConnectionTrait;
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) AS n FROM leads WHERE owner_user_id IS NOT NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        let n = row.try_get::<i64>("", "n").unwrap();
        db.close().await.unwrap();
        n
    });
    let expected = usize::try_from(delivered).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut distinct: HashMap<String, usize> = HashMap::new();
    while Instant::now() < deadline {
        distinct.clear();
        for r in receiver.received() {
            *distinct.entry(r.webhook_id).or_default() += 1;
        }
        if distinct.len() >= expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("stop");
    child.wait().unwrap();
    assert_eq!(distinct.len(), expected, "every delivered lead arrived as lead.assigned");
    let twice: Vec<(&String, &usize)> = distinct.iter().filter(|(_, n)| **n > 1).collect();
    let round = usize::try_from(infra::webhook_dispatch::ROUND).unwrap();
    assert!(twice.len() <= round, "only the round in flight at the kill may arrive twice: {twice:?}");
    assert!(twice.iter().all(|(_, n)| **n == 2), "no event more than twice: {twice:?}");
    drop(runtime);
}
