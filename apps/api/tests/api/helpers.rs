//! A test app over a fresh database with the demo data, and a small request helper.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test;
use api::startup::build_app;
use api::state::AppState;
use infra::config::Settings;
use testkit::TestDb;

pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub partner_key: String,
    pub operator_key: String,
    /// The data directory (uploads) when the test did not choose one: removed on drop.
    _data_dir: Option<tempfile::TempDir>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as sent (binary answers: PDFs).
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.body.clone()
    }

    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// Test settings with overrides given as `LDBDS__...` variables.
pub fn settings(db: &TestDb, vars: &[(&str, &str)]) -> Settings {
    let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    map.insert("LDBDS__DATABASE__URL".to_owned(), db.url.clone());
    Settings::load_from("test", None, map).expect("test settings")
}

impl TestApp {
    pub async fn new(db: TestDb) -> Self {
        Self::with(db, &[]).await
    }

    pub async fn with(db: TestDb, vars: &[(&str, &str)]) -> Self {
        let report = infra::fixtures::seed_demo(&db.db, time::OffsetDateTime::now_utc()).await.expect("demo seed");
        let key = |org: &str| report.new_keys.iter().find(|(o, _)| o == org).expect("demo key").1.clone();
        let keyring = std::sync::Arc::new(testkit::keyring());
        // Uploads land in a directory of the test's own, never in the working tree.
        let data_dir = if vars.iter().any(|(k, _)| *k == "LDBDS__DATA_DIR") {
            None
        } else {
            Some(tempfile::tempdir().expect("data dir"))
        };
        let mut all: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        if let Some(dir) = &data_dir {
            all.push(("LDBDS__DATA_DIR", dir.path().display().to_string()));
        }
        let all: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let state = AppState::new(db.db.clone(), settings(&db, &all), keyring, testkit::JWT_SECRET).expect("state");
        Self { partner_key: key("mohom"), operator_key: key("ldbds-operator"), db, state, _data_dir: data_dir }
    }

    pub async fn send(&self, req: test::TestRequest) -> Reply {
        let app = test::init_service(build_app(self.state.clone())).await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        Reply { status, headers, text: String::from_utf8_lossy(&body).into_owned(), body: body.to_vec() }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(test::TestRequest::get().uri(uri).insert_header(("X-API-Key", self.partner_key.as_str()))).await
    }

    pub async fn get_anonymous(&self, uri: &str) -> Reply {
        self.send(test::TestRequest::get().uri(uri)).await
    }
}

/// A creating POST used only by the tests, to exercise the JSON extractor settings and
/// the idempotency machinery the way every real creating endpoint will.
pub mod widgets {
    use actix_web::http::StatusCode;
    use actix_web::{HttpRequest, HttpResponse, web};
    use api::auth::Caller;
    use api::error::ApiError;
    use api::state::AppState;
    use domain::error::FieldError;
    use infra::audit::{AuditEntry, record};
    use serde::{Deserialize, Serialize};

    pub const PATH: &str = "/test/widgets";
    pub const ACTION: &str = "widget.created";

    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Widget {
        pub name: String,
        pub quantity: u32,
    }

    pub async fn create(
        state: web::Data<AppState>,
        caller: Caller,
        req: HttpRequest,
        body: web::Json<Widget>,
    ) -> Result<HttpResponse, ApiError> {
        let widget = body.into_inner();
        api::idempotency::run(&state, &api::idempotency::Principal::caller(&caller), &req, &widget, || async {
            if widget.quantity == 0 {
                return Err(ApiError::Validation(vec![FieldError::new("quantity", "must be at least 1")]));
            }
            let id = domain::ids::new_id().to_string();
            let entry = AuditEntry {
                org_id: Some(caller.org_id()),
                actor: &caller.actor(),
                action: ACTION,
                entity: "widget",
                entity_id: Some(&id),
                request_id: None,
                detail: serde_json::json!({}),
            };
            record(state.db.conn(), &state.keyring, entry, state.clock.now())
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
            Ok((StatusCode::CREATED, serde_json::json!({ "id": id, "name": widget.name })))
        })
        .await
    }
}

impl TestApp {
    /// Sends a request to the app with the test-only widgets route added.
    pub async fn send_widgets(&self, req: test::TestRequest) -> Reply {
        let app = test::init_service(
            build_app(self.state.clone()).route(widgets::PATH, actix_web::web::post().to(widgets::create)),
        )
        .await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        Reply { status, headers, text: String::from_utf8_lossy(&body).into_owned(), body: body.to_vec() }
    }

    pub fn widget_post(&self, key: &str) -> test::TestRequest {
        test::TestRequest::post().uri(widgets::PATH).insert_header(("X-API-Key", key.to_owned()))
    }

    pub async fn widgets_created(&self) -> u64 {
        infra::audit::count_action(self.db.db.conn(), widgets::ACTION).await.expect("count")
    }
}

impl TestApp {
    pub fn with_key(&self, req: test::TestRequest, key: &str) -> test::TestRequest {
        req.insert_header(("X-API-Key", key.to_owned()))
    }

    pub fn with_bearer(&self, req: test::TestRequest, token: &str) -> test::TestRequest {
        req.insert_header(("Authorization", format!("Bearer {token}")))
    }

    /// Creates a user through the API with the given key; panics unless 201.
    pub async fn create_user(&self, key: &str, body: serde_json::Value) -> serde_json::Value {
        let reply = self.send(self.with_key(test::TestRequest::post().uri("/api/v1/users").set_json(&body), key)).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()
    }

    /// A Bearer token for a user of the key's org.
    pub async fn token(&self, key: &str, mohom_id: &str) -> String {
        let reply = self
            .send(self.with_key(test::TestRequest::get().uri(&format!("/api/v1/auth/token?mohomId={mohom_id}")), key))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()["accessToken"].as_str().expect("token").to_owned()
    }
}

pub fn member(mohom_id: &str, name: &str, phone: &str, email: &str) -> serde_json::Value {
    serde_json::json!({"mohomId": mohom_id, "name": name, "phone": phone, "email": email, "role": "MEMBER"})
}

/// A `LEADER` of the partner's org (who distributes and recalls).
pub fn leader(mohom_id: &str, name: &str, phone: &str, email: &str) -> serde_json::Value {
    serde_json::json!({"mohomId": mohom_id, "name": name, "phone": phone, "email": email, "role": "LEADER"})
}

/// A partner org onboarded through the operator's endpoints (`POST /api/v1/orgs`, its
/// source, its API key), as a real second tenant is: the tenancy tests use these.
#[derive(Debug, Clone)]
pub struct Partner {
    pub code: String,
    pub org_id: String,
    /// The source code its intake sends in the `source` header.
    pub source: String,
    pub source_id: String,
    /// Its API key (shown once by the endpoint).
    pub key: String,
}

impl TestApp {
    /// Onboards a partner org `code` with a source `source` whose default product is the
    /// product with `product_code`, and an API key; panics unless every step is 201.
    pub async fn onboard_partner(&self, code: &str, source: &str, product_code: &str) -> Partner {
        let operator = |req: test::TestRequest| self.with_key(req, &self.operator_key);
        let body = serde_json::json!({"code": code, "name": format!("Partner {code}"), "kind": "PARTNER"});
        let org = self.send(operator(test::TestRequest::post().uri("/api/v1/orgs").set_json(body))).await;
        assert_eq!(org.status, 201, "{}", org.text);
        let product =
            infra::fixtures::product_id_by_code(self.db.db.conn(), product_code).await.expect("db").expect("product");
        let body = serde_json::json!({"code": source, "defaultProductId": product});
        let uri = format!("/api/v1/orgs/{code}/sources");
        let created = self.send(operator(test::TestRequest::post().uri(&uri).set_json(body))).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let uri = format!("/api/v1/orgs/{code}/api-keys");
        let key = self.send(operator(test::TestRequest::post().uri(&uri).set_json(serde_json::json!({})))).await;
        assert_eq!(key.status, 201, "{}", key.text);
        let id = |reply: &Reply| reply.json()["id"].as_str().expect("id").to_owned();
        Partner {
            code: code.to_owned(),
            org_id: id(&org),
            source: source.to_owned(),
            source_id: id(&created),
            key: key.json()["key"].as_str().expect("key").to_owned(),
        }
    }

    /// Rows in a table (for "nothing was written" checks).
    pub async fn count_rows(&self, table: &str) -> i64 {
        use sea_orm::ConnectionTrait;
        let conn = self.db.db.conn();
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(conn.get_database_backend(), sql))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}
