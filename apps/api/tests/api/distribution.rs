use actix_web::test::TestRequest;
use testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{TestApp, member};

testkit::on_both_backends! { actix_web::test;
    a_leader_distributes_and_recalls_with_rights_restored => round_trip_body;
    distribution_refusals_change_nothing => distribute_refusals_body;
    recall_refusals_change_nothing => recall_refusals_body;
    distributed_away_is_always_masked_filtered_and_sorted => away_body;
    two_distributions_of_the_same_leads_racing_move_them_once => race_body;
}

struct Team {
    app: TestApp,
    product: Uuid,
}

async fn team(db: TestDb) -> Team {
    let app = TestApp::new(db).await;
    let leader = serde_json::json!({"mohomId": "leader", "name": "팀장", "phone": "010-1000-0000", "email": "l@mohom.kr", "role": "LEADER"});
    app.create_user(&app.partner_key, leader).await;
    app.create_user(&app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    app.create_user(&app.partner_key, member("m-2", "이설계", "010-3333-4444", "m2@mohom.kr")).await;
    app.create_user(&app.operator_key, serde_json::json!({"mohomId": "cs-1", "name": "상담", "phone": "010-5555-0000", "email": "c@ldbds.kr", "role": "CS_MANAGER"})).await;
    let product = infra::fixtures::product_id_by_code(app.db.db.conn(), "INS-HEALTH").await.unwrap().unwrap();
    Team { app, product }
}

impl Team {
    async fn lead(&self, owner: &str, name: &str, phone: &str) -> String {
        let body = serde_json::json!({"mohomId": owner, "productId": self.product, "name": name, "phone": phone, "region": "서울", "email": "x@example.com"});
        let reply = self
            .app
            .send(self.app.with_key(TestRequest::post().uri("/api/v1/leads").set_json(&body), &self.app.partner_key))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_str().unwrap().to_owned()
    }

    async fn post(&self, uri: &str, body: serde_json::Value) -> crate::helpers::Reply {
        self.app.send(self.app.with_key(TestRequest::post().uri(uri).set_json(body), &self.app.partner_key)).await
    }

    async fn distribute(&self, from: &str, to: &str, ids: &[&str]) -> crate::helpers::Reply {
        self.post("/api/v1/leads/distribute", serde_json::json!({"mohomId": from, "toMohomId": to, "leadIds": ids}))
            .await
    }

    async fn recall(&self, by: &str, ids: &[&str]) -> crate::helpers::Reply {
        self.post("/api/v1/leads/recall", serde_json::json!({"mohomId": by, "leadIds": ids})).await
    }

    async fn use_lead(&self, by: &str, id: &str) {
        let reply = self.post(&format!("/api/v1/leads/{id}/use"), serde_json::json!({"mohomId": by})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    async fn owned(&self, mohom: &str) -> Vec<String> {
        let reply = self
            .app
            .send(
                self.app
                    .with_key(TestRequest::get().uri(&format!("/api/v1/leads?mohomId={mohom}")), &self.app.partner_key),
            )
            .await;
        reply.json()["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn away(&self, query: &str) -> serde_json::Value {
        let uri = format!("/api/v1/leads/distributed-away?mohomId=leader{query}");
        let reply = self.app.send(self.app.with_key(TestRequest::get().uri(&uri), &self.app.partner_key)).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.text);
        reply.json()
    }

    async fn detail(&self, mohom: &str, id: &str) -> serde_json::Value {
        let reply = self
            .app
            .send(self.app.with_key(
                TestRequest::get().uri(&format!("/api/v1/leads/{id}?mohomId={mohom}")),
                &self.app.partner_key,
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.json()
    }
}

async fn round_trip_body(db: TestDb) {
    let t = team(db).await;
    let a = t.lead("leader", "홍길동", "010-1234-5678").await;
    let b = t.lead("leader", "김철수", "010-2222-3333").await;
    t.use_lead("leader", &a).await;
    let used_before = t.detail("leader", &a).await["usedAt"].clone();
    let reply = t.distribute("leader", "m-1", &[&a, &b]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["distributed"], 2);
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("distributed", body, { ".assignments[].leadId" => "[id]", ".assignments[].assignmentId" => "[id]" });
    });
    let mut mine = t.owned("m-1").await;
    mine.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(mine, expected);
    assert!(t.owned("leader").await.is_empty());
    let as_member = t.detail("m-1", &a).await;
    assert_eq!(
        (as_member["usedAt"].is_null(), as_member["phone"].as_str()),
        (true, Some("010****5678")),
        "the recipient starts unused"
    );
    assert!(as_member["lastDistributedAt"].is_string());
    let recalled = t.recall("leader", &[&a, &b]).await;
    assert_eq!(recalled.status, 200, "{}", recalled.text);
    let recalled_body = recalled.json();
    assert_eq!(recalled_body["recalled"], 2);
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("recalled", recalled_body, { ".assignments[].leadId" => "[id]", ".assignments[].assignmentId" => "[id]" });
    });
    let back = t.detail("leader", &a).await;
    assert_eq!(back["usedAt"], used_before, "a lead the leader had used is still used for them");
    assert_eq!(back["phone"], "01012345678");
    let sources: Vec<&str> =
        back["assignments"].as_array().unwrap().iter().map(|x| x["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["REGISTERED", "DISTRIBUTED", "RECALLED"]);
    assert!(t.detail("leader", &b).await["usedAt"].is_null(), "an unused lead stays unused");
    assert!(t.owned("m-1").await.is_empty());
}

async fn distribute_refusals_body(db: TestDb) {
    let t = team(db).await;
    let a = t.lead("leader", "홍길동", "010-1234-5678").await;
    let mine_m1 = t.lead("m-1", "박영희", "010-7777-8888").await;
    let ghost = Uuid::now_v7().to_string();
    let cases: Vec<(serde_json::Value, u16, &str)> = vec![
        (serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": [a, mine_m1]}), 404, "LEAD_NOT_FOUND"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": [a, ghost]}), 404, "LEAD_NOT_FOUND"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "cs-1", "leadIds": [a]}), 404, "USER_NOT_FOUND"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "nobody", "leadIds": [a]}), 404, "USER_NOT_FOUND"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "leader", "leadIds": [a]}), 400, "VALIDATION_FAILED"),
        (serde_json::json!({"mohomId": "m-1", "toMohomId": "m-2", "leadIds": [mine_m1]}), 403, "FORBIDDEN"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": [a, a]}), 400, "VALIDATION_FAILED"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": []}), 400, "VALIDATION_FAILED"),
        (serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": ["x"]}), 400, "VALIDATION_FAILED"),
    ];
    for (body, status, code) in cases {
        let reply = t.post("/api/v1/leads/distribute", body.clone()).await;
        assert_eq!((reply.status.as_u16(), reply.code().as_str()), (status, code), "{body}");
    }
    let too_many: Vec<String> = (0..501).map(|_| Uuid::now_v7().to_string()).collect();
    let reply = t
        .post(
            "/api/v1/leads/distribute",
            serde_json::json!({"mohomId": "leader", "toMohomId": "m-1", "leadIds": too_many}),
        )
        .await;
    assert_eq!(reply.status, 400, "over 500 ids");
    let leader_id: Uuid = infra::fixtures::org_id_by_code(t.app.db.db.conn(), "mohom").await.unwrap().unwrap();
    testkit::record_as_status(
        &t.app.db,
        a.parse().unwrap(),
        leader_id,
        domain::lead::AsStatus::Requested,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let open_as = t.distribute("leader", "m-1", &[&a]).await;
    assert_eq!((open_as.status.as_u16(), open_as.code().as_str()), (409, "LEAD_HAS_OPEN_AS"));
    assert_eq!(t.owned("leader").await, [a.as_str()], "nothing moved");
    assert_eq!(t.owned("m-1").await, [mine_m1.as_str()]);
}

async fn recall_refusals_body(db: TestDb) {
    let t = team(db).await;
    let a = t.lead("leader", "홍길동", "010-1234-5678").await;
    let b = t.lead("leader", "김철수", "010-2222-3333").await;
    let own = t.lead("leader", "이영희", "010-4444-5555").await;
    assert_eq!(t.distribute("leader", "m-1", &[&a, &b]).await.status, 200);
    t.use_lead("m-1", &a).await;
    let used = t.recall("leader", &[&b, &a]).await;
    assert_eq!((used.status.as_u16(), used.code().as_str()), (409, "LEAD_ALREADY_USED"));
    assert_eq!(t.owned("m-1").await.len(), 2, "all or nothing: b stayed with m-1 too");
    let not_distributed = t.recall("leader", &[&own]).await;
    assert_eq!((not_distributed.status.as_u16(), not_distributed.code().as_str()), (404, "LEAD_NOT_FOUND"));
    let other_leader = serde_json::json!({"mohomId": "leader-2", "name": "팀장둘", "phone": "010-1000-0001", "email": "l2@mohom.kr", "role": "LEADER"});
    t.app.create_user(&t.app.partner_key, other_leader).await;
    let someone_elses = t.recall("leader-2", &[&b]).await;
    assert_eq!(
        (someone_elses.status.as_u16(), someone_elses.code().as_str()),
        (404, "LEAD_NOT_FOUND"),
        "someone else distributed it"
    );
    let member_recall = t.recall("m-1", &[&b]).await;
    assert_eq!(member_recall.status, 403);
    assert_eq!(t.recall("leader", &[&b]).await.status, 200, "the unused one can come back");
}

async fn away_body(db: TestDb) {
    let t = team(db).await;
    let a = t.lead("leader", "홍길동", "010-1234-5678").await;
    let b = t.lead("leader", "김철수", "010-2222-3333").await;
    let c = t.lead("leader", "이영희", "010-4444-5678").await;
    t.use_lead("leader", &c).await;
    assert_eq!(t.distribute("leader", "m-1", &[&a]).await.status, 200);
    assert_eq!(t.distribute("leader", "m-2", &[&b, &c]).await.status, 200);
    t.use_lead("m-2", &b).await;
    let org: Uuid = infra::fixtures::org_id_by_code(t.app.db.db.conn(), "mohom").await.unwrap().unwrap();
    testkit::record_as_status(
        &t.app.db,
        b.parse().unwrap(),
        org,
        domain::lead::AsStatus::Rejected,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let all = t.away("").await;
    assert_eq!(all["pagination"]["total"], 3);
    for item in all["data"].as_array().unwrap() {
        assert!(item["phone"].as_str().unwrap().contains('*'), "always masked: {item}");
        assert!(item["email"].as_str().unwrap().contains('*'));
        assert!(item["currentOwnerId"].is_string() && item["distributedAt"].is_string());
    }
    let ids = |v: &serde_json::Value| {
        v["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&t.away("&used=Y").await), [b.as_str()]);
    assert_eq!(ids(&t.away("&hasAs=Y").await), [b.as_str()]);
    assert_eq!(
        ids(&t.away("&hasAs=Y&sortBy=usedAt").await),
        [b.as_str()],
        "hasAs=Y with sortBy=usedAt filters the same"
    );
    assert_eq!(t.away("&hasAs=Y").await["data"][0]["leadAsStatusLabel"], "반려");
    assert_eq!(ids(&t.away("&sortBy=usedAt").await)[0], b, "used first");
    assert_eq!(ids(&t.away("&search=5678").await).len(), 2);
    assert_eq!(t.away(&format!("&providerId={org}")).await["pagination"]["total"], 3);
    assert_eq!(t.away(&format!("&providerId={}", Uuid::now_v7())).await["pagination"]["total"], 0);
    let bad = t
        .app
        .send(t.app.with_key(
            TestRequest::get().uri("/api/v1/leads/distributed-away?mohomId=leader&sortBy=assignedAt"),
            &t.app.partner_key,
        ))
        .await;
    assert_eq!(bad.status, 400, "assignedAt is not a sort key of this list");
    assert_eq!(t.away("").await["data"].as_array().unwrap().len(), 3);
    let as_m2 = t
        .app
        .send(t.app.with_key(TestRequest::get().uri("/api/v1/leads/distributed-away?mohomId=m-2"), &t.app.partner_key))
        .await
        .json();
    assert_eq!(as_m2["pagination"]["total"], 0, "only the distributor sees them");
    let snapshot = t.away("&used=Y").await;
    testkit::redact::settings().bind(|| {
        insta::assert_json_snapshot!("distributed_away", snapshot, {
            ".data[].assignmentId" => "[id]", ".data[].assignedAt" => "[time]", ".data[].usedAt" => "[time]",
            ".data[].lastDistributedAt" => "[time]", ".data[].distributedAt" => "[time]", ".data[].currentOwnerId" => "[id]"
        });
    });
}

/// Two distributions of the same 10 leads to two members at once: one moves all 10, the
/// other is refused (4xx) and writes nothing; every lead has exactly one open assignment.
async fn race_body(db: TestDb) {
    let t = team(db).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(t.lead("leader", "홍길동", &format!("010-8{i:03}-0000")).await);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (a, b) =
        futures_util::future::join(t.distribute("leader", "m-1", &refs), t.distribute("leader", "m-2", &refs)).await;
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{} / {}", a.text, b.text);
    let loser = if statuses[0] == 200 { &b } else { &a };
    assert!(loser.status.is_client_error(), "{}", loser.text);
    let winner = if statuses[0] == 200 { "m-1" } else { "m-2" };
    let other = if winner == "m-1" { "m-2" } else { "m-1" };
    let mut owned = t.owned(winner).await;
    owned.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(owned, expected, "the winner holds all 10");
    assert!(t.owned(other).await.is_empty(), "the loser's distribution wrote nothing");
    let open: Vec<(String, i64)> = {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = t.app.db.db.backend();
        let sql = "SELECT lead_id AS l, COUNT(*) AS n FROM assignments WHERE ended_at IS NULL GROUP BY lead_id";
        t.app
            .db
            .db
            .conn()
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get::<String>("", "l").unwrap(), r.try_get::<i64>("", "n").unwrap()))
            .collect()
    };
    assert_eq!(open.len(), 10);
    assert!(open.iter().all(|(_, n)| *n == 1), "{open:?}");
}
