//! The server log of a run of API calls carrying planted personal data and credentials
//! (query strings, bodies serde would quote, headers, an SSO JWT, API keys, Bearer
//! tokens, a presigned URL's signature): none of them may appear in it, while the route
//! templates do. The log is captured through the real telemetry (`api::telemetry`) and
//! the real app (`startup::build_app`).

use std::io::{IsTerminal, Read, Seek, Write};
use std::sync::{Arc, Mutex};

use actix_web::http::Method;
use actix_web::test::TestRequest;
use infra::config::{LogFormat, LogSettings};
use testkit::TestDb;

use crate::helpers::{Reply, TestApp, member};

testkit::on_both_backends! { actix_web::test;
    the_log_of_a_full_api_run_carries_no_planted_personal_data_or_credential => planted_values_body;
}

const NAME: &str = "Quenbyrtle Vantassel";
const PHONE: &str = "010-7391-4628";
const EMAIL: &str = "quen.vantassel@planted.example";
const FAKE_KEY: &str = "ldbds_plantedkey_9f8e7d6c5b4a";
const FAKE_BEARER: &str = "planted.bearer.c0ffee15deadbeef";
/// A JWT-shaped SSO token whose payload and signature are distinctive.
const SSO_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJRdWVuYnlydGxlIn0.SsoSigPlanted0123456789abcdef";

/// Substrings of the planted values; any of them in the log is a leak.
const NEVER: &[&str] = &[
    "Quenbyrtle",
    "Vantassel",
    "vantassel",
    "VANTASSEL",
    "7391-4628",
    "73914628",
    "planted.example",
    "plantedkey",
    "c0ffee15deadbeef",
    "SsoSigPlanted",
    "eyJzdWIiOiJRdWVuYnlydGxlIn0",
];

/// Every byte the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn log_settings(format: LogFormat) -> LogSettings {
    // Stricter than production (`info`): debug lines must be clean too.
    LogSettings { format, level: "debug".to_owned() }
}

async fn planted_values_body(db: TestDb) {
    let app = TestApp::new(db).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    let bearer = app.token(&app.partner_key, "m-1").await;
    let presigned = app
        .send(app.with_key(
            TestRequest::post().uri("/api/v1/files/presigned").set_json(serde_json::json!({
                "mohomId": "m-1", "fileName": "evidence.png", "contentType": "image/png", "size": 64,
                "purpose": "AS_EVIDENCE"
            })),
            &app.partner_key,
        ))
        .await;
    assert_eq!(presigned.status, 201, "{}", presigned.text);
    let upload_url = presigned.json()["uploadUrl"].as_str().unwrap().to_owned();
    let upload_path = upload_url.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned();
    let signature = upload_path.split("signature=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    assert!(signature.len() >= 32, "{upload_path}");

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = api::telemetry::subscriber(&log_settings(LogFormat::Pretty), move || writer.clone(), false);
    let guard = tracing::subscriber::set_default(subscriber);
    let replies = run_planted_requests(&app, &bearer, &upload_path).await;
    drop(guard);
    let log = captured.text();

    assert!(!log.is_empty(), "the run logged nothing: the capture is broken");
    for planted in NEVER.iter().copied().chain([app.partner_key.as_str(), bearer.as_str(), signature.as_str()]) {
        assert!(!log.contains(planted), "the log carries {planted:?}:\n{log}");
    }
    for template in [
        "http.route=/api/v1/leads ",
        "http.route=/api/v1/users",
        "http.route=/api/v1/users/{mohomId}",
        "http.route=/api/v1/orders",
        "http.route=/api/v1/auth/sso",
        "http.route=/api/v1/files/upload/{fileKey}",
        "http.route=/api/v1/leads/{leadId}",
        "http.route=/api/v1/regions",
        "http.route=unmatched",
        "http.method=OTHER",
        "error.code=INVALID_JSON",
        "error.code=UNAUTHORIZED",
    ] {
        assert!(log.contains(template), "the log lacks {template:?}:\n{log}");
    }
    assert!(!log.contains('\u{1b}'), "no colour codes when not on a terminal:\n{log}");

    // The replies keep field names and the kind of problem, never the values.
    for reply in &replies {
        for planted in [NAME, PHONE, "73914628", EMAIL] {
            assert!(!reply.text.contains(planted), "the reply carries {planted:?}: {}", reply.text);
        }
    }
    let bad_quantity = &replies[4];
    assert_eq!((bad_quantity.status.as_u16(), bad_quantity.code().as_str()), (400, "INVALID_JSON"));
    assert!(bad_quantity.json()["error"]["message"].as_str().unwrap().contains("invalid type: string, expected"));
}

/// Requests that fail (so the server logs them) while carrying the planted values
/// wherever a caller can put them.
async fn run_planted_requests(app: &TestApp, bearer: &str, upload_path: &str) -> Vec<Reply> {
    let key = app.partner_key.as_str();
    let encoded_name = NAME.replace(' ', "%20");
    let encoded_email = EMAIL.replace('@', "%40");
    let requests = vec![
        // 0-3: personal data in query strings, on routes that then refuse the request.
        app.with_key(TestRequest::get().uri(&format!("/api/v1/leads?mohomId=nobody&search={PHONE}")), key),
        app.with_key(TestRequest::get().uri(&format!("/api/v1/users?limit=0&search={encoded_name}")), key),
        app.with_key(TestRequest::get().uri(&format!("/api/v1/leads?mohomId=nobody&search={encoded_email}")), key),
        app.with_key(TestRequest::get().uri(&format!("/api/v1/leads/{PHONE}?mohomId=m-1")), key),
        // 4-6: bodies whose values serde quotes in its messages.
        app.with_key(
            TestRequest::post().uri("/api/v1/orders").set_json(serde_json::json!({
                "mohomId": "m-1", "productId": EMAIL,
                "regions": [{"region": "SEOUL", "quantity": NAME}], "memo": PHONE
            })),
            key,
        ),
        app.with_key(
            TestRequest::post().uri("/api/v1/users").set_json(serde_json::json!({
                "mohomId": EMAIL, "name": NAME, "phone": 1_073_914_628_u64, "email": EMAIL, "role": "MEMBER"
            })),
            key,
        ),
        app.with_key(
            TestRequest::post()
                .uri("/api/v1/orders")
                .insert_header(("content-type", "application/json"))
                .set_payload(format!("{{\"mohomId\": \"m-1\", \"dailyLimit\": \"{PHONE}\", \"memo\": \"{NAME}")),
            key,
        ),
        // 7-8: an SSO JWT in the query string, in both of its places.
        TestRequest::get().uri(&format!("/api/v1/auth/sso?token={SSO_JWT}&redirectUri=https://x.example/{EMAIL}")),
        TestRequest::get().uri(&format!("/api/v1/auth/sso?redirectUri=a&token={SSO_JWT}")),
        // 9-12: credentials in headers and where a careless client puts them.
        TestRequest::get().uri("/api/v1/regions").insert_header(("X-API-Key", FAKE_KEY)),
        TestRequest::get().uri(&format!("/api/v1/regions?apiKey={FAKE_KEY}&access_token={FAKE_BEARER}")),
        app.with_bearer(TestRequest::get().uri("/api/v1/regions"), FAKE_BEARER),
        app.with_bearer(TestRequest::get().uri(&format!("/api/v1/leads/{NAME}", NAME = encoded_name)), bearer)
            .insert_header(("User-Agent", NAME)),
        // 13-14: a presigned upload URL used wrongly, and with a tampered signature.
        TestRequest::put().uri(upload_path).insert_header(("content-type", "image/png")).set_payload(vec![1_u8; 3]),
        TestRequest::put()
            .uri(&upload_path.replace("signature=", "signature=00"))
            .insert_header(("content-type", "image/png"))
            .set_payload(vec![1_u8; 64]),
        // 15-17: personal data in the path, an unmatched path, a made-up method.
        app.with_key(TestRequest::delete().uri(&format!("/api/v1/users/{encoded_email}")), key),
        app.with_key(TestRequest::get().uri(&format!("/api/v1/{encoded_email}/{PHONE}")), key),
        app.with_key(
            TestRequest::default().method(Method::from_bytes(b"VANTASSEL").unwrap()).uri("/api/v1/regions"),
            key,
        ),
    ];
    let mut replies = Vec::with_capacity(requests.len());
    for (i, request) in requests.into_iter().enumerate() {
        let reply = app.send(request).await;
        assert!(reply.status.is_client_error(), "request {i} was meant to fail: {} {}", reply.status, reply.text);
        replies.push(reply);
    }
    replies
}

/// A log written to a file (not a terminal) carries no ESC byte, in either format.
#[test]
fn a_log_written_to_a_file_has_no_colour_codes() {
    for format in [LogFormat::Pretty, LogFormat::Json] {
        let file = Arc::new(tempfile::tempfile().unwrap());
        let terminal = file.is_terminal();
        assert!(!terminal);
        let subscriber = api::telemetry::subscriber(&log_settings(format), Arc::clone(&file), terminal);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("HTTP request", http.route = "/api/v1/regions", http.status_code = 404);
            let _entered = span.enter();
            tracing::warn!(code = "ROUTE_NOT_FOUND", "request refused");
        });
        let mut text = String::new();
        let mut file = Arc::try_unwrap(file).unwrap();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        assert!(text.contains("ROUTE_NOT_FOUND"), "{text}");
        assert!(!text.contains('\u{1b}'), "an ESC byte in a file log: {text:?}");
    }
}
