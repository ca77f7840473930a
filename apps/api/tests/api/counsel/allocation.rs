//! Availability (the flag and its sweeps), the manager lists, `checkValidateManager` and
//! the statistics.

use super::*;

testkit::on_both_backends! { actix_web::test;
    paused_managers_leave_cases_waiting_until_resumed => pause_body;
    manager_lists_validation_and_statistics => lists_body;
}

async fn pause_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.queue("50", "200", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    let b = w.join("50", "100", "cs-2", 1, 10).await;
    let paused = w.set_possible("N", &[&a, &b]).await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    snap("counsel_possible_off", &paused.json());
    let imported = w.import("100", &SIX[..3]).await;
    assert_eq!((imported["assigned"].as_u64(), imported["waiting"].as_u64()), (Some(0), Some(3)));
    let waiting = w.waiting().await;
    snap("counsel_manual_assign_list", &waiting);
    let order: Vec<&str> = waiting["data"].as_array().unwrap().iter().map(|c| c["mbrNo"].as_str().unwrap()).collect();
    assert_eq!(order, ["M-1001", "M-1002", "M-1003"], "oldest first");
    let of_queue = w.read("manualAssignList?autoDivGbCd=50&autoDivDtlNo=100").await;
    assert_eq!(of_queue["total"], 3);
    let other = w.read("manualAssignList?autoDivGbCd=50&autoDivDtlNo=200").await;
    assert_eq!(other["total"], 0);
    let of_group = w.read("manualAssignList?autoDivGbCd=50").await;
    assert_eq!(of_group["total"], 3, "a group on its own narrows too");
    assert_eq!(w.read("manualAssignList?autoDivGbCd=20").await["total"], 0);
    // A back-office grid's empty values are absent, not bad.
    assert_eq!(w.read("manualAssignList?autoDivGbCd=&autoDivDtlNo=").await["total"], 3);
    for bad in ["autoDivGbCd=99&autoDivDtlNo=1", "autoDivGbCd=%20", "autoDivDtlNo=a-b"] {
        let reply = w.get(&format!("{PREFIX}/manualAssignList?{bad}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    // All or nothing: one unknown number changes nobody.
    let unknown = w.set_possible("Y", &[&a, "999999"]).await;
    assert_eq!(status_code(&unknown), (404, "COUNSEL_MEMBER_NOT_FOUND".into()), "{}", unknown.text);
    for bad in [
        serde_json::json!({"state": "X", "autoDivNoList": [a]}),
        serde_json::json!({"state": "Y", "autoDivNoList": []}),
        serde_json::json!({"state": "Y", "autoDivNoList": ["abc"]}),
    ] {
        let reply = w.post(&format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"), bad.clone()).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
    let flags: Vec<String> =
        w.memberships().await.iter().map(|m| m["allocPossibleYn"].as_str().unwrap().to_owned()).collect();
    assert_eq!(flags, ["N", "N"]);
    assert_eq!(w.waiting().await["total"], 3);
    // Resuming sweeps the backlog; the seed's `{n}` spelling is tolerated.
    let braced = format!("{{{b}}}");
    let resumed = w.set_possible("Y", &[&a, &braced]).await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    let resumed = resumed.json();
    let flags: Vec<&str> =
        resumed["data"].as_array().unwrap().iter().map(|m| m["allocPossibleYn"].as_str().unwrap()).collect();
    assert_eq!(flags, ["Y", "Y"]);
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.count("counsel_cases WHERE status = 'ASSIGNED' AND assignee_user_id IS NOT NULL").await, 3);
    let (open_a, open_b) = (w.open_of(&a).await, w.open_of(&b).await);
    assert_eq!(open_a + open_b, 3);
    // A removed member's open cases go back to the queue and on to the others.
    let removed = w.app.send(w.op(TestRequest::delete().uri(&format!("/api/v1/counsel/members/{a}")))).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.json()["returnedCases"].as_u64(), Some(open_a));
    assert_eq!(w.waiting().await["total"], 0);
    assert_eq!(w.open_of(&b).await, 3);
    let a = w.join("50", "100", "cs-1", 1, 10).await;
    // A CS manager may toggle.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(
            w.app.with_bearer(
                TestRequest::post()
                    .uri(&format!("{PREFIX}/changeAutoDivideAllocationPossibleYn"))
                    .set_json(serde_json::json!({"state": "N", "autoDivNoList": [a]})),
                &cs,
            ),
        )
        .await;
    assert_eq!(by_cs.status, 200, "{}", by_cs.text);
}

async fn lists_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "WEIGHTED").await;
    w.queue("20", "1", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.cs("cs-2", "10141").await;
    w.cs("cs-3", "20000").await;
    let one = w.join("50", "100", "cs-1", 1, 10).await;
    let two = w.join("50", "100", "cs-2", 2, 10).await;
    let three = w.join("50", "100", "cs-3", 3, 10).await;
    w.join("20", "1", "cs-1", 1, 10).await;
    let imported = w.import("100", &SIX).await;
    // One more by hand, to cs-1, while everyone is paused.
    w.set_possible("N", &[&one, &two, &three]).await;
    let late = w.import("100", &[("M-1007", "O-2007", "수동 배정", "한가람", "010-5555-0007")]).await;
    let late_case = late["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    assert_eq!(w.manual(&late_case, "cs-1").await.status, 200);
    w.set_possible("Y", &[&one, &two, &three]).await;
    // cs-3 completes one of theirs.
    let theirs = imported["cases"].as_array().unwrap().iter().find(|c| c["autoDivNo"] == three).unwrap()["cnslNo"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = w.post(&format!("/api/v1/counsel/cases/{theirs}/complete"), serde_json::json!({})).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // Managers.
    let managers = w.read("getAutoDistributionManagerList").await;
    snap("counsel_managers", &managers);
    let logins = |v: &serde_json::Value| -> Vec<String> {
        v["data"].as_array().unwrap().iter().map(|m| m["userId"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(logins(&managers), ["cs-1", "cs-2", "cs-3"]);
    assert_eq!(managers["data"][0]["memberships"].as_array().unwrap().len(), 2);
    assert_eq!(managers["data"][0]["userNm"], "상*원", "names are masked");
    assert_eq!(logins(&w.read("getAutoDistributionManagerList?deptCd=10141").await), ["cs-1", "cs-2"]);
    assert_eq!(logins(&w.read("getAutoDistributionManagerList?userId=cs-3").await), ["cs-3"]);
    assert!(logins(&w.read("getAutoDistributionManagerList?userId=nobody").await).is_empty());
    let count = w.read("getAutoDistributionManagerListCount").await;
    snap("counsel_manager_count", &count);
    assert_eq!(count["count"], 3);
    assert_eq!(w.read("getAutoDistributionManagerListCount?deptCd=10141").await["count"], 2);
    assert_eq!(w.read("getAutoDistributionManagerListCount?deptCd=nope").await["count"], 0);

    // Memberships.
    let detail = w.read("csAllocationDetailMgmtList").await;
    snap("counsel_allocation_detail", &detail);
    assert_eq!(detail["data"].as_array().unwrap().len(), 4);
    let of_group = w.read("csAllocationDetailMgmtList?subAutoDivGbCd=20").await;
    assert_eq!(of_group["data"].as_array().unwrap().len(), 1);
    assert_eq!(of_group["data"][0]["userId"], "cs-1");
    let of_user = w.read("csAllocationDetailMgmtList?userId=cs-1").await;
    assert_eq!(of_user["data"].as_array().unwrap().len(), 2);
    let of_queue = w.read("csAllocationDetailMgmtList?subAutoDivGbCd=50&subAutoDivDtlNo=100").await;
    assert_eq!(of_queue["data"].as_array().unwrap().len(), 3);
    let bad = w.get(&format!("{PREFIX}/csAllocationDetailMgmtList?subAutoDivGbCd=99")).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()));

    // Validation.
    w.cs("cs-4", "10141").await;
    w.demoted("cs-9").await;
    let valid = w.read("checkValidateManager?aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=100&deptCd=10141").await;
    snap("counsel_validate_ok", &valid);
    assert_eq!(valid, serde_json::json!({"valid": true, "reason": null}));
    for (query, reason) in [
        ("aempId=cs-1&autoDivGbCd=50&autoDivDtlNo=100", "ALREADY_MEMBER"),
        ("aempId=cs-9&autoDivGbCd=50&autoDivDtlNo=100", "NOT_CS_MANAGER"),
        ("aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=100&deptCd=99999", "DEPARTMENT_MISMATCH"),
        ("aempId=nobody&autoDivGbCd=50&autoDivDtlNo=100", "USER_NOT_FOUND"),
        ("aempId=cs-4&autoDivGbCd=50&autoDivDtlNo=999", "QUEUE_NOT_FOUND"),
    ] {
        let answer = w.read(&format!("checkValidateManager?{query}")).await;
        assert_eq!(answer, serde_json::json!({"valid": false, "reason": reason}), "{query}");
    }
    // Without a queue: may the user be a counsel manager at all.
    assert_eq!(w.read("checkValidateManager?aempId=cs-1").await, serde_json::json!({"valid": true, "reason": null}));
    // A back-office grid's empty values are absent: no queue, no department.
    assert_eq!(
        w.read("checkValidateManager?aempId=cs-1&autoDivGbCd=&autoDivDtlNo=&deptCd=").await,
        serde_json::json!({"valid": true, "reason": null})
    );
    assert_eq!(
        w.read("checkValidateManager?aempId=cs-9&deptCd=10141").await,
        serde_json::json!({"valid": false, "reason": "NOT_CS_MANAGER"})
    );
    for query in [
        "autoDivGbCd=50&autoDivDtlNo=100",
        "aempId=&autoDivGbCd=50&autoDivDtlNo=100",
        "aempId=cs-4&autoDivGbCd=30&autoDivDtlNo=100",
        "aempId=cs-4&autoDivGbCd=50",
        "aempId=cs-4&autoDivDtlNo=100",
    ] {
        let reply = w.get(&format!("{PREFIX}/checkValidateManager?{query}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{query}");
    }

    // Statistics.
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    snap("counsel_allocation_stats", &stats);
    let row = |n: &str| stats["data"].as_array().unwrap().iter().find(|r| r["autoDivNo"] == n).unwrap().clone();
    let counts =
        |r: &serde_json::Value| ["autoAssigned", "manualAssigned", "completed", "open"].map(|k| r[k].as_u64().unwrap());
    assert_eq!(counts(&row(&one)), [1, 1, 0, 2]);
    assert_eq!(counts(&row(&two)), [2, 0, 0, 2]);
    assert_eq!(counts(&row(&three)), [3, 0, 1, 2]);
    // Within its queue: 7 cases, weights 1+2+3 (the `20` queue's row is compared with its own).
    assert_eq!(row(&three)["actualShare"], 42.86);
    assert_eq!(row(&three)["weightShare"], 50.0);
    let today = OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap()).date();
    let by_dates = w.read(&format!("csAllocationMgmtList?startDate={today}&endDate={today}")).await;
    assert_eq!(by_dates["data"], stats["data"]);
    let long_ago = w.read("csAllocationMgmtList?startDate=2020-01-01&endDate=2020-01-02").await;
    for r in long_ago["data"].as_array().unwrap() {
        assert_eq!((r["autoAssigned"].as_u64(), r["completed"].as_u64()), (Some(0), Some(0)), "{r}");
    }
    assert_eq!(
        (long_ago["from"].as_str(), long_ago["to"].as_str()),
        (Some("2019-12-31T15:00:00.000Z"), Some("2020-01-02T15:00:00.000Z"))
    );
    let all_time = w.read("csAllocationMgmtList").await;
    assert!(all_time["from"].is_null() && all_time["to"].is_null(), "{all_time}");
    assert_eq!(all_time["data"], stats["data"], "everything happened today");
    assert_eq!(w.read("csAllocationMgmtList?dateSelect=all_day").await, all_time, "all_day: the whole period");
    for select in ["week", "month"] {
        let range = w.read(&format!("csAllocationMgmtList?dateSelect={select}")).await;
        assert_eq!(range["data"], stats["data"], "{select} holds today");
        assert!(range["from"].as_str() < stats["from"].as_str(), "{select} starts before today: {range}");
        assert_eq!(range["to"], stats["to"], "{select} ends with today");
    }
    assert_eq!(all_time["data"][0]["autoDivGbCd"], "20", "queues in code order");
    let of_user = w.read("csAllocationMgmtList?userId=cs-2&autoDivGbCd=50").await;
    assert_eq!(of_user["data"].as_array().unwrap().len(), 1);
    for bad in ["dateSelect=year", "startDate=2026-13-01", "startDate=2026-11-02&endDate=2026-11-01", "autoDivGbCd=99"]
    {
        let reply = w.get(&format!("{PREFIX}/csAllocationMgmtList?{bad}")).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{bad}: {}", reply.text);
    }
}

/// `checkValidateManager`'s queue is optional: the document must not require it.
#[test]
fn the_document_leaves_the_validated_queue_optional() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).unwrap();
    let params =
        doc["paths"][format!("{PREFIX}/checkValidateManager")]["get"]["parameters"].as_array().unwrap().clone();
    let required = |name: &str| params.iter().find(|p| p["name"] == name).map(|p| p["required"].clone());
    assert_eq!(required("aempId"), Some(serde_json::json!(true)));
    assert_eq!(required("autoDivGbCd"), Some(serde_json::json!(false)));
    assert_eq!(required("autoDivDtlNo"), Some(serde_json::json!(false)));
}
