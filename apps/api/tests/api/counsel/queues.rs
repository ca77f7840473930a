//! Queues and memberships, administered by the operator.

use super::*;

testkit::on_both_backends! { actix_web::test;
    queues_and_members_are_the_operators_to_administer => admin_body;
    queue_names_are_judged_as_the_command_line_judges_them => queue_names_body;
}

async fn admin_body(db: TestDb) {
    let w = World::new(db).await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let as_cs = |req: TestRequest| w.app.with_bearer(req, &cs);

    // Queues.
    let body =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "name": "해지방어 OB", "policy": "WEIGHTED"});
    let created = w.post("/api/v1/counsel/queues", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    snap("counsel_queue_created", &created.json());
    assert_eq!(
        status_code(&w.post("/api/v1/counsel/queues", body.clone()).await),
        (409, "COUNSEL_QUEUE_EXISTS".into())
    );
    for bad in [
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "101", "name": "x", "policy": "FIFO"}),
        serde_json::json!({"autoDivGbCd": "30", "autoDivDtlNo": "101", "name": "x"}),
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "../1", "name": "x"}),
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "101", "name": " "}),
    ] {
        let reply = w.post("/api/v1/counsel/queues", bad.clone()).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    let partner = w
        .app
        .send(w.app.with_key(TestRequest::post().uri("/api/v1/counsel/queues").set_json(&body), &w.app.partner_key))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    let by_cs = w.app.send(as_cs(TestRequest::post().uri("/api/v1/counsel/queues").set_json(&body))).await;
    assert_eq!(status_code(&by_cs), (403, "FORBIDDEN".into()));
    w.queue("20", "1", "ROUND_ROBIN").await;
    let queues = w.get("/api/v1/counsel/queues").await;
    assert_eq!(queues.status, 200, "{}", queues.text);
    snap("counsel_queues", &queues.json());
    let cs_reads = w.app.send(as_cs(TestRequest::get().uri("/api/v1/counsel/queues"))).await;
    assert_eq!((cs_reads.status.as_u16(), cs_reads.json()), (200, queues.json()));
    assert_eq!(w.count("counsel_queues").await, 2);

    // Memberships.
    let join =
        serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-1", "weight": 2, "capacity": 5});
    let added = w.post("/api/v1/counsel/members", join.clone()).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let added = added.json();
    snap("counsel_member_added", &added);
    let number = added["autoDivNo"].as_str().unwrap().to_owned();
    assert_eq!(
        status_code(&w.post("/api/v1/counsel/members", join.clone()).await),
        (409, "COUNSEL_ALREADY_MEMBER".into())
    );
    w.app.create_user(&w.app.partner_key, member("m-1", "김설계", "010-1111-2222", "m1@mohom.kr")).await;
    w.demoted("cs-9").await;
    let refusals: Vec<(serde_json::Value, u16, &str)> = vec![
        // A partner's member is no user of the operator org.
        (serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "m-1"}), 404, "USER_NOT_FOUND"),
        (serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "nobody"}), 404, "USER_NOT_FOUND"),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-9"}),
            409,
            "COUNSEL_NOT_A_MANAGER",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "999", "aempId": "cs-2"}),
            404,
            "COUNSEL_QUEUE_NOT_FOUND",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "weight": 0}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "capacity": 10001}),
            400,
            "VALIDATION_FAILED",
        ),
        (
            serde_json::json!({"autoDivGbCd": "50", "autoDivDtlNo": "100", "aempId": "cs-2", "allocPossibleYn": "X"}),
            400,
            "VALIDATION_FAILED",
        ),
    ];
    for (body, status, code) in refusals {
        let reply = w.post("/api/v1/counsel/members", body.clone()).await;
        assert_eq!(status_code(&reply), (status, code.to_owned()), "{body}: {}", reply.text);
    }
    assert_eq!(w.count("counsel_members").await, 1, "refusals write nothing");
    let cs_joins = w.app.send(as_cs(TestRequest::post().uri("/api/v1/counsel/members").set_json(&join))).await;
    assert_eq!(status_code(&cs_joins), (403, "FORBIDDEN".into()));

    // Terms.
    let member_uri = format!("/api/v1/counsel/members/{number}");
    let terms = serde_json::json!({"weight": 3, "capacity": 7});
    let cs_updates = w.app.send(as_cs(TestRequest::put().uri(&member_uri).set_json(&terms))).await;
    assert_eq!(status_code(&cs_updates), (403, "FORBIDDEN".into()));
    let updated = w.app.send(w.op(TestRequest::put().uri(&member_uri).set_json(&terms))).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    snap("counsel_member_updated", &updated.json());
    let unknown = w.app.send(w.op(TestRequest::put().uri("/api/v1/counsel/members/999999").set_json(&terms))).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_MEMBER_NOT_FOUND".into()));
    let bad_terms = w
        .app
        .send(w.op(TestRequest::put().uri(&member_uri).set_json(serde_json::json!({"weight": 101, "capacity": 0}))))
        .await;
    assert_eq!(status_code(&bad_terms), (400, "VALIDATION_FAILED".into()));
    assert_eq!(bad_terms.json()["error"]["details"].as_array().unwrap().len(), 2, "{}", bad_terms.text);
    let bad_number = w.app.send(w.op(TestRequest::put().uri("/api/v1/counsel/members/abc").set_json(&terms))).await;
    assert_eq!(status_code(&bad_number), (400, "VALIDATION_FAILED".into()));

    // An ADMIN of the operator administers too.
    w.app
        .create_user(
            &w.app.operator_key,
            serde_json::json!({"mohomId": "adm-1", "name": "관리자", "phone": "01099998888", "email": "adm@ldbds.kr", "role": "ADMIN"}),
        )
        .await;
    let admin = w.app.token(&w.app.operator_key, "adm-1").await;
    let by_admin = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri("/api/v1/counsel/members")
                    .set_json(serde_json::json!({"autoDivGbCd": "20", "autoDivDtlNo": "1", "aempId": "cs-2"})),
                &admin,
            ),
        )
        .await;
    assert_eq!(by_admin.status, 201, "{}", by_admin.text);
    assert_eq!((by_admin.json()["weight"].as_u64(), by_admin.json()["capacity"].as_u64()), (Some(1), Some(10)));

    // Removal.
    let cs_removes = w.app.send(as_cs(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(status_code(&cs_removes), (403, "FORBIDDEN".into()));
    let removed = w.app.send(w.op(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    snap("counsel_member_removed", &removed.json());
    let again = w.app.send(w.op(TestRequest::delete().uri(&member_uri))).await;
    assert_eq!(status_code(&again), (404, "COUNSEL_MEMBER_NOT_FOUND".into()));
    let listed = w.memberships().await;
    assert_eq!(listed.len(), 1, "only the ADMIN-added membership is live: {listed:?}");
    // A removed manager may join again, under a new number.
    let rejoined = w.join("50", "100", "cs-1", 1, 1).await;
    assert_ne!(rejoined, number);
}

/// The API takes queue names through `QueueName::parse`, as `ldbds counsel queue-add`
/// does (`apps/cli/tests/cli.rs` runs the same table through the command line).
async fn queue_names_body(db: TestDb) {
    let w = World::new(db).await;
    for (i, (name, accepted)) in testkit::tables::QUEUE_NAMES.iter().enumerate() {
        let body = serde_json::json!({"autoDivGbCd": "10", "autoDivDtlNo": format!("{}", 700 + i), "name": name});
        let reply = w.post("/api/v1/counsel/queues", body).await;
        if *accepted {
            assert_eq!(reply.status, 201, "{name:?}: {}", reply.text);
            assert_eq!(reply.json()["name"], name.trim());
        } else {
            assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{name:?}: {}", reply.text);
            assert_eq!(reply.json()["error"]["details"][0]["field"], "name");
        }
    }
}
