//! Manual assignment, completion, and the AS-review cases.

use super::*;

testkit::on_both_backends! { actix_web::test;
    a_waiting_case_is_assigned_by_hand => manual_body;
    completing_a_case_frees_room_for_the_next => complete_body;
    an_as_claim_becomes_a_review_case_its_manager_decides => as_review_body;
    without_an_as_queue_a_claim_waits_without_a_case => as_no_queue_body;
    a_waiting_review_case_starts_its_review_when_swept => as_waiting_body;
}

async fn manual_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    for login in ["cs-1", "cs-2", "cs-3"] {
        w.cs(login, "10141").await;
    }
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    let b = w.join("50", "100", "cs-2", 1, 1).await;
    w.set_possible("N", &[&a, &b]).await;
    w.import("100", &SIX[..3]).await;
    let waiting = w.waiting().await;
    let case = |i: usize| waiting["data"][i]["cnslNo"].as_str().unwrap().to_owned();
    // A person may give a case to a paused member.
    let assigned = w.manual(&case(0), "cs-2").await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let assigned = assigned.json();
    snap("counsel_manual_assigned", &assigned);
    assert_eq!((assigned["status"].as_str(), assigned["assignKind"].as_str()), (Some("ASSIGNED"), Some("MANUAL")));
    assert_eq!(assigned["autoDivNo"], b);
    assert_eq!(assigned["custTelNo"], "010****0001");
    let refusals: Vec<(String, &str, u16, &str)> = vec![
        (case(0), "cs-1", 409, "COUNSEL_CASE_NOT_WAITING"),
        (case(1), "cs-3", 409, "COUNSEL_NOT_A_MEMBER"),
        (case(1), "nobody", 404, "USER_NOT_FOUND"),
        (case(1), "cs-2", 409, "COUNSEL_OVER_CAPACITY"),
        (Uuid::nil().to_string(), "cs-1", 404, "COUNSEL_CASE_NOT_FOUND"),
        ("not-a-uuid".to_owned(), "cs-1", 400, "VALIDATION_FAILED"),
    ];
    for (cnsl, aemp, status, code) in refusals {
        let reply = w.manual(&cnsl, aemp).await;
        assert_eq!(status_code(&reply), (status, code.to_owned()), "{cnsl} → {aemp}: {}", reply.text);
    }
    assert_eq!(w.waiting().await["total"], 2, "refusals change nothing");
    assert_eq!((w.open_of(&a).await, w.open_of(&b).await), (0, 1));
    let extra = w
        .post(&format!("{PREFIX}/manualAssign"), serde_json::json!({"cnslNo": case(1), "aempId": "cs-1", "x": 1}))
        .await;
    assert_eq!(status_code(&extra), (400, "INVALID_JSON".into()));
    let second = w.manual(&case(1), "cs-1").await;
    assert_eq!(second.status, 200, "{}", second.text);
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    let manual: Vec<u64> =
        stats["data"].as_array().unwrap().iter().map(|r| r["manualAssigned"].as_u64().unwrap()).collect();
    assert_eq!(manual, [1, 1]);
}

async fn complete_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    let a = w.join("50", "100", "cs-1", 1, 1).await;
    let imported = w.import("100", &SIX[..2]).await;
    assert_eq!(numbers_of(&imported), [Some(a.clone()), None], "capacity 1: the second waits");
    let first = imported["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    let second = imported["cases"][1]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(w.waiting().await["total"], 1);
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let complete = |cnsl: String| {
        w.app.send(w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{cnsl}/complete")), &cs))
    };
    // Another CS manager does not close cs-1's case.
    w.cs("cs-2", "10141").await;
    let cs2 = w.app.token(&w.app.operator_key, "cs-2").await;
    let not_theirs = w
        .app
        .send(w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{first}/complete")), &cs2))
        .await;
    assert_eq!(status_code(&not_theirs), (403, "FORBIDDEN".into()), "{}", not_theirs.text);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 0, "nothing written");
    // The case as its reader sees it: manager by login id, the engine's explanation.
    let read = w.get(&format!("/api/v1/counsel/cases/{first}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let read = read.json();
    snap("counsel_case_read", &read);
    assert_eq!((read["aempId"].as_str(), read["assignKind"].as_str()), (Some("cs-1"), Some("AUTO")));
    assert_eq!(read["explanation"]["chosen"].as_i64().map(|n| n.to_string()), Some(a.clone()));
    assert_eq!(read["explanation"]["policy"], "ROUND_ROBIN");
    assert_eq!(
        status_code(&w.get(&format!("/api/v1/counsel/cases/{}", Uuid::nil())).await),
        (404, "COUNSEL_CASE_NOT_FOUND".into())
    );
    assert_eq!(status_code(&w.get("/api/v1/counsel/cases/nope").await), (400, "VALIDATION_FAILED".into()));
    let done = complete(first.clone()).await;
    assert_eq!(done.status, 200, "{}", done.text);
    let done = done.json();
    snap("counsel_case_completed", &done);
    assert_eq!(done["status"], "COMPLETED");
    assert!(done["completedAt"].is_string());
    let again = complete(first.clone()).await;
    assert_eq!(status_code(&again), (409, "COUNSEL_CASE_NOT_ASSIGNED".into()));
    // The freed place went to the waiting case at once.
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.open_of(&a).await, 1);
    assert_eq!(w.count(&format!("counsel_cases WHERE cnsl_no = '{second}' AND status = 'ASSIGNED'")).await, 1);
    let unknown = complete(Uuid::nil().to_string()).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_CASE_NOT_FOUND".into()));
    let bad = complete("nope".to_owned()).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()));
    // A waiting case cannot be completed.
    w.import("100", &SIX[2..3]).await;
    let third = w.waiting().await["data"][0]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(status_code(&complete(third).await), (409, "COUNSEL_CASE_NOT_ASSIGNED".into()));
}

async fn as_review_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    // A second `20` queue: reviews go to the smallest detail number.
    w.queue("20", "2", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let a = w.join("20", "1", "cs-1", 1, 10).await;
    w.join("20", "2", "cs-2", 1, 10).await;
    // Twenty bought: the order's AS cap (10 %) allows two.
    let leads = bought_leads(&w, 20).await;
    let lead = leads[0].clone();
    let claimed = claim(&w, &lead).await;
    let id = claimed["id"].as_str().unwrap().to_owned();
    let stored = w.get(&format!("/api/v1/as/{id}")).await;
    assert_eq!(stored.status, 200, "{}", stored.text);
    let stored = stored.json();
    assert_eq!(stored["status"], "IN_REVIEW", "{stored}");
    let history: Vec<&str> =
        stored["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap_or_default()).collect();
    assert_eq!(history.len(), 2, "{stored}");
    // The claim's own answer is taken before the review case reaches its manager in the
    // same transaction; see the report if it says otherwise.
    assert_eq!(claimed["status"], stored["status"], "the 201 body shows the stored status: {claimed}");
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'ASSIGNED'").await, 1);
    assert_eq!(w.open_of(&a).await, 1);
    let lead_row = w
        .app
        .send(w.app.with_key(TestRequest::get().uri(&format!("/api/v1/leads/{lead}?mohomId=m-1")), &w.app.partner_key))
        .await
        .json();
    assert_eq!(lead_row["leadAsStatus"], "IN_REVIEW");

    // The manager sees their case.
    let cs1 = w.app.token(&w.app.operator_key, "cs-1").await;
    let cs2 = w.app.token(&w.app.operator_key, "cs-2").await;
    let read_as = |token: &str, path: &str| {
        w.app.send(w.app.with_bearer(TestRequest::get().uri(&format!("{PREFIX}/{path}")), token))
    };
    let stats = read_as(&cs1, "csAllocationMgmtList?dateSelect=today&userId=cs-1").await;
    assert_eq!(stats.status, 200, "{}", stats.text);
    let stats = stats.json();
    assert_eq!((stats["data"][0]["autoAssigned"].as_u64(), stats["data"][0]["open"].as_u64()), (Some(1), Some(1)));
    assert_eq!(stats["data"][0]["autoDivGbCd"], "20");
    let managers = read_as(&cs1, "getAutoDistributionManagerList?userId=cs-1").await.json();
    assert_eq!(managers["data"][0]["memberships"][0]["openCases"], 1);

    // Only the assigned manager decides.
    let decide = |token: &str, action: &str| {
        w.app.send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{id}/{action}"))
                    .set_json(serde_json::json!({"comment": "중복 확인"})),
                token,
            ),
        )
    };
    let other = decide(&cs2, "approve").await;
    assert_eq!(status_code(&other), (403, "FORBIDDEN".into()), "{}", other.text);
    // The review case closes by deciding its AS, never on its own.
    let review_case = w.text(&format!("SELECT cnsl_no AS v FROM counsel_cases WHERE as_id = '{id}'")).await;
    let closing = w
        .app
        .send(
            w.app.with_bearer(TestRequest::post().uri(&format!("/api/v1/counsel/cases/{review_case}/complete")), &cs1),
        )
        .await;
    assert_eq!(status_code(&closing), (409, "COUNSEL_CASE_IS_AS_REVIEW".into()), "{}", closing.text);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 0, "nothing written");
    assert_eq!(w.get(&format!("/api/v1/as/{id}")).await.json()["status"], "IN_REVIEW");
    assert_eq!(w.open_of(&a).await, 1);
    let approved = decide(&cs1, "approve").await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.json()["status"], "APPROVED");
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'COMPLETED'").await, 1);
    assert_eq!(w.count("counsel_cases WHERE completed_at IS NOT NULL").await, 1);
    assert_eq!(w.open_of(&a).await, 0);
    let after = read_as(&cs1, "csAllocationMgmtList?dateSelect=today&userId=cs-1").await.json();
    assert_eq!((after["data"][0]["completed"].as_u64(), after["data"][0]["open"].as_u64()), (Some(1), Some(0)));
    // The case is closed: the manager no longer decides, and it cannot be completed again.
    let again = decide(&cs1, "reject").await;
    assert_eq!(again.status, 403, "{}", again.text);

    // The next claim reaches cs-1 too, who rejects it: the lead stays theirs... the buyer's.
    let second = claim(&w, &leads[1]).await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_eq!(w.get(&format!("/api/v1/as/{second_id}")).await.json()["status"], "IN_REVIEW");
    let reject = |token: &str| {
        w.app.send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{second_id}/reject"))
                    .set_json(serde_json::json!({"comment": "정상 통화 확인"})),
                token,
            ),
        )
    };
    assert_eq!(reject(&cs2).await.status, 403, "not cs-2's review");
    let rejected = reject(&cs1).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let rejected = rejected.json();
    assert_eq!(rejected["status"], "REJECTED");
    let last = rejected["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["status"].as_str(), last["comment"].as_str()), (Some("REJECTED"), Some("정상 통화 확인")));
    assert_eq!(w.count("counsel_cases WHERE cnsl_typ_no = 'AS' AND status = 'COMPLETED'").await, 2);
    assert_eq!(w.open_of(&a).await, 0);
    let owned =
        w.app
            .send(w.app.with_key(
                TestRequest::get().uri(&format!("/api/v1/leads/{}?mohomId=m-1", leads[1])),
                &w.app.partner_key,
            ))
            .await;
    assert_eq!(owned.status, 200, "a rejected claim leaves the lead with its owner: {}", owned.text);
}

async fn as_no_queue_body(db: TestDb) {
    let w = World::new(db).await;
    // A `50` queue is no AS-review queue.
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    let lead = bought_lead(&w).await;
    let claimed = claim(&w, &lead).await;
    assert_eq!(claimed["status"], "REQUESTED");
    let stored = w.get(&format!("/api/v1/as/{}", claimed["id"].as_str().unwrap())).await.json();
    assert_eq!((stored["status"].as_str(), stored["history"].as_array().map(Vec::len)), (Some("REQUESTED"), Some(1)));
    assert_eq!(w.count("counsel_cases").await, 0);
    // And a CS manager without a review case does not decide.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let refused = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("/api/v1/as/{}/approve", claimed["id"].as_str().unwrap()))
                    .set_json(serde_json::json!({})),
                &cs,
            ),
        )
        .await;
    assert_eq!(refused.status, 403);
}

async fn as_waiting_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    let a = w.join("20", "1", "cs-1", 1, 10).await;
    w.set_possible("N", &[&a]).await;
    let leads = bought_leads(&w, 10).await;
    let first = claim(&w, &leads[0]).await;
    let second = claim(&w, &leads[1]).await;
    let as_of = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    for claimed in [&first, &second] {
        assert_eq!(claimed["status"], "REQUESTED", "nobody can review yet: {claimed}");
    }
    let waiting = w.waiting().await;
    assert_eq!(waiting["total"], 2, "{waiting}");
    assert_eq!(waiting["data"][0]["asId"], first["id"]);
    assert_eq!(
        (waiting["data"][0]["cnslTypNo"].as_str(), waiting["data"][0]["autoDivGbCd"].as_str()),
        (Some("AS"), Some("20"))
    );
    assert_eq!(waiting["data"][0]["mbrNo"], "m-1");
    // The operator decides the second while its case waits: the case leaves the list.
    let rejected =
        w.post(&format!("/api/v1/as/{}/reject", as_of(&second)), serde_json::json!({"comment": "정상 리드"})).await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let waiting = w.waiting().await;
    assert_eq!((waiting["total"].as_u64(), &waiting["data"][0]["asId"]), (Some(1), &first["id"]));
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED' AND auto_div_no IS NULL").await, 1);
    // Resuming sweeps the first to cs-1, and its AS goes IN_REVIEW.
    let resumed = w.set_possible("Y", &[&a]).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(w.waiting().await["total"], 0);
    let stored = w.get(&format!("/api/v1/as/{}", as_of(&first))).await.json();
    assert_eq!(stored["status"], "IN_REVIEW", "{stored}");
    assert_eq!(stored["history"].as_array().unwrap().len(), 2);
    assert_eq!(w.open_of(&a).await, 1);
    // The operator's key decides it too; the case closes.
    let approved = w.post(&format!("/api/v1/as/{}/approve", as_of(&first)), serde_json::json!({})).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(w.open_of(&a).await, 0);
    assert_eq!(w.count("counsel_cases WHERE status = 'COMPLETED'").await, 2);
}
