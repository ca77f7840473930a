//! A webhook receiver (and fake provider) on loopback for tests and the bench: it records every request
//! (headers of Standard Webhooks, body, arrival time) and answers with the statuses it
//! is told, in order, then 200. HTTP/1.1 with keep-alive, `content-length` bodies only
//! (what the dispatcher sends).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub webhook_id: String,
    pub webhook_timestamp: String,
    pub webhook_signature: String,
    pub content_type: String,
    /// The `authorization` header (a provider's bearer token; webhooks send none).
    pub authorization: String,
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status it was answered with.
    pub answered: u16,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<u16>,
    /// While set, connections are accepted and dropped at once (the receiver is "down").
    down: bool,
    /// The JSON body of every answer, when set (a fake provider's answer).
    body: Option<Vec<u8>>,
}

/// The receiver; dropped with its task when the test ends.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

impl Receiver {
    /// Listens on `127.0.0.1` at a free port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        #[allow(clippy::expect_used)]
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        #[allow(clippy::expect_used)]
        let addr = listener.local_addr().expect("its address");
        let state = Arc::new(Mutex::new(State::default()));
        let arrived = Arc::new(Notify::new());
        let task = {
            let state = Arc::clone(&state);
            let arrived = Arc::clone(&arrived);
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let state = Arc::clone(&state);
                    let arrived = Arc::clone(&arrived);
                    tokio::spawn(async move {
                        let _ = serve(socket, state, arrived).await;
                    });
                }
            })
        };
        Self { addr, state, arrived, task: Arc::new(task) }
    }

    /// `http://127.0.0.1:<port><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next requests are answered with `statuses`, in order (then 200).
    pub fn answer_with(&self, statuses: &[u16]) {
        self.lock().script.extend(statuses);
    }

    /// Every answer from now on carries `body` as `application/json`.
    pub fn answer_body(&self, body: &str) {
        self.lock().body = Some(body.as_bytes().to_vec());
    }

    /// Refuses (drops) every connection while `down`.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Every request so far.
    #[must_use]
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Waits until `n` requests in all have arrived, or `timeout` passed; returns them.
    pub async fn wait_for(&self, n: usize, timeout: std::time::Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            let got = self.received();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), notified).await;
        }
    }
}

async fn serve(socket: tokio::net::TcpStream, state: Arc<Mutex<State>>, arrived: Arc<Notify>) -> std::io::Result<()> {
    if state.lock().unwrap_or_else(PoisonError::into_inner).down {
        return Ok(());
    }
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let length: usize = get("content-length").parse().unwrap_or(0);
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let (answered, answer_body) = {
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.down {
                return Ok(());
            }
            let answered = state.script.pop_front().unwrap_or(200);
            state.received.push(Received {
                path,
                webhook_id: get("webhook-id"),
                webhook_timestamp: get("webhook-timestamp"),
                webhook_signature: get("webhook-signature"),
                content_type: get("content-type"),
                authorization: get("authorization"),
                body,
                at: Instant::now(),
                answered,
            });
            (answered, state.body.clone())
        };
        arrived.notify_waiters();
        match answer_body {
            Some(body) => {
                let head = format!(
                    "HTTP/1.1 {answered} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                write.write_all(head.as_bytes()).await?;
                write.write_all(&body).await?;
            }
            None => write.write_all(format!("HTTP/1.1 {answered} X\r\ncontent-length: 0\r\n\r\n").as_bytes()).await?,
        }
    }
}
