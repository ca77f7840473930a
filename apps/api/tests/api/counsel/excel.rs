//! The outbound Excel import, its refusals, the masked export and its round trip.

use super::*;

testkit::on_both_backends! { actix_web::test;
    an_outbound_sheet_is_distributed_by_weight => import_body;
    a_bad_upload_is_refused_and_writes_nothing => refused_upload_body;
    an_export_is_masked_filtered_and_comes_back_by_its_case_numbers => export_body;
    a_file_sent_to_the_export_is_previewed_and_nothing_is_saved => preview_body;
    a_save_without_a_file_saves_the_one_case_its_query_names => save_one_body;
}

async fn import_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "WEIGHTED").await;
    let mut numbers = Vec::new();
    for (i, weight) in [1, 2, 3].into_iter().enumerate() {
        let login = format!("cs-{}", i + 1);
        w.cs(&login, "10141").await;
        numbers.push(w.join("50", "100", &login, weight, 10).await);
    }
    let imported = w.import("100", &SIX).await;
    snap("counsel_imported", &imported);
    assert_eq!((imported["imported"].as_u64(), imported["assigned"].as_u64()), (Some(6), Some(6)));
    assert_eq!(imported["waiting"], 0);
    let got = numbers_of(&imported);
    let per: Vec<usize> = numbers.iter().map(|n| got.iter().filter(|g| g.as_deref() == Some(n)).count()).collect();
    assert_eq!(per, vec![1, 2, 3], "weights 1/2/3 over six cases: {got:?}");
    for (n, expected) in numbers.iter().zip([1, 2, 3]) {
        assert_eq!(w.open_of(n).await, expected);
    }
    assert_eq!(w.count("counsel_cases").await, 6);
    assert_eq!(w.count("counsel_cases WHERE status = 'ASSIGNED' AND assign_kind = 'AUTO'").await, 6);
    // Customer data is sealed at rest.
    assert_eq!(w.count("counsel_cases WHERE cust_tel_enc IS NULL").await, 0);
    let stats = w.read("csAllocationMgmtList?dateSelect=today").await;
    for row in stats["data"].as_array().unwrap() {
        assert_eq!(row["actualShare"], row["weightShare"], "{row}");
    }
    // The queue is (50, obTypNo): another type has no queue.
    let missing = w.upload(&format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=999"), &sheet(&SIX)).await;
    assert_eq!(status_code(&missing), (404, "COUNSEL_QUEUE_NOT_FOUND".into()), "{}", missing.text);
    let partner = w
        .app
        .send(w.app.with_key(
            w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &sheet(&SIX)),
            ),
            &w.app.partner_key,
        ))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    // A CS manager may import.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(w.app.with_bearer(
            w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &sheet(&SIX[..1])),
            ),
            &cs,
        ))
        .await;
    assert_eq!(by_cs.status, 200, "{}", by_cs.text);
    assert_eq!(w.count("counsel_cases").await, 7);
    // A retried upload with its Idempotency-Key replays the first answer: no case twice.
    let keyed = |file: Vec<u8>| {
        w.app.send(
            w.op(w.upload_request(
                &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                multipart("excelFile", &file),
            ))
            .insert_header(("Idempotency-Key", "ob-upload-2026-12-01")),
        )
    };
    // One file, sent again byte for byte (a workbook made twice may differ in its stamp).
    let two_rows = sheet(&SIX[..2]);
    let first = keyed(two_rows.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let retry = keyed(two_rows.clone()).await;
    assert_eq!((retry.status.as_u16(), retry.header("idempotency-replayed")), (200, Some("true")));
    assert_eq!(retry.json(), first.json());
    assert_eq!(w.count("counsel_cases").await, 9, "two new cases, once");
    let other_file = keyed(sheet(&SIX[2..4])).await;
    assert_eq!(status_code(&other_file), (422, "IDEMPOTENCY_KEY_REUSED".into()), "{}", other_file.text);
    assert_eq!(w.count("counsel_cases").await, 9, "nothing written");
    // The key belongs to the operator key that sent it: another key of the operator org
    // sending the same key and file imports on its own, never replayed the first's answer.
    let org = infra::fixtures::org_id_by_code(w.app.db.db.conn(), "ldbds-operator").await.unwrap().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let second_key = infra::api_keys::issue(w.app.db.db.conn(), org, "second", &["*"], now).await.unwrap().plaintext;
    let by_other_key = w
        .app
        .send(
            w.app
                .with_key(
                    w.upload_request(
                        &format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100"),
                        multipart("excelFile", &two_rows),
                    ),
                    &second_key,
                )
                .insert_header(("Idempotency-Key", "ob-upload-2026-12-01")),
        )
        .await;
    assert_eq!(by_other_key.status, 200, "{}", by_other_key.text);
    assert!(by_other_key.header("idempotency-replayed").is_none(), "another principal is never replayed");
    assert_eq!(w.count("counsel_cases").await, 11, "the other key's own import");
}

async fn refused_upload_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    let fixture_query = "excelColumns=mbrNo,ordNo,accpCont,custNm,custTelNo,skip&cnslTypNo=10&obTypNo=100";
    let refused = w.upload(fixture_query, &fixture()).await;
    assert_eq!(status_code(&refused), (422, "EXCEL_ROWS_INVALID".into()), "{}", refused.text);
    snap("counsel_fixture_refused", &refused.json());
    let fields: Vec<String> = refused.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        [
            "excelFile.rows[6].custTelNo",
            "excelFile.rows[7].mbrNo",
            "excelFile.rows[9].custTelNo",
            "excelFile.rows[11].custTelNo"
        ]
    );
    assert_eq!(w.count("counsel_cases").await, 0, "all or nothing");
    assert_eq!(w.open_of("1").await, 0);
    let query = format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100");
    // Not an .xlsx.
    for bytes in [&b"mbrNo,custTelNo\nM-1,010-5555-0001\n"[..], b"PK\x03\x04 not really", b""] {
        let reply = w.upload(&query, bytes).await;
        assert_eq!(status_code(&reply), (400, "EXCEL_INVALID".into()), "{}", reply.text);
    }
    // A header alone.
    let empty = w.upload(&query, &sheet(&[])).await;
    assert_eq!(status_code(&empty), (400, "EXCEL_INVALID".into()), "{}", empty.text);
    // No excelFile field.
    let other = w.app.send(w.op(w.upload_request(&query, multipart("file", &sheet(&SIX))))).await;
    assert_eq!(status_code(&other), (400, "VALIDATION_FAILED".into()), "{}", other.text);
    assert_eq!(other.json()["error"]["details"][0]["field"], "excelFile");
    // Bad query parameters: every error at once.
    let bad = w.upload("excelColumns=mbrNo,,phone&cnslTypNo=1-0&obTypNo=100", &sheet(&SIX)).await;
    assert_eq!(status_code(&bad), (400, "VALIDATION_FAILED".into()), "{}", bad.text);
    let details = bad.json()["error"]["details"].as_array().unwrap().clone();
    let bad_fields: Vec<&str> = details.iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(bad_fields.contains(&"excelColumns") && bad_fields.contains(&"cnslTypNo"), "{}", bad.text);
    assert!(bad_fields.len() >= 4, "empty item, unknown key, no custTelNo, cnslTypNo: {}", bad.text);
    let no_query = w.app.send(w.op(w.upload_request("cnslTypNo=10", multipart("excelFile", &sheet(&SIX))))).await;
    assert_eq!(no_query.status, 400, "{}", no_query.text);
    // Only the operator.
    let partner = w
        .app
        .send(w.app.with_key(w.upload_request(fixture_query, multipart("excelFile", &fixture())), &w.app.partner_key))
        .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
    assert_eq!(w.count("counsel_cases").await, 0);
}

async fn export_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.queue("50", "200", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 10).await;
    w.join("50", "200", "cs-1", 1, 10).await;
    w.import("100", &SIX[..3]).await;
    let export = |query: &str| {
        let uri = format!("{PREFIX}/getObCsCounselInfoListExcel{query}");
        w.app.send(w.op(TestRequest::post().uri(&uri)))
    };
    let reply = export("?obTypNo=100").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some(XLSX));
    assert_eq!(reply.header("content-disposition"), Some("attachment; filename=\"ob_counsel_cases.xlsx\""));
    let bytes = export_bytes(&w, "?obTypNo=100").await;
    let rows = cells(&bytes);
    let headers: Vec<&str> = infra::counsel_excel::EXPORT_COLUMNS.iter().map(|(h, _)| *h).collect();
    assert_eq!(rows[0], headers);
    assert_eq!(rows.len(), 4, "a header and three cases");
    snap_plain("counsel_export_cells", &export_cells_redacted(&bytes));
    assert_eq!(rows[1][1], "M-1001");
    assert_eq!((rows[1][4].as_str(), rows[1][5].as_str()), ("김*수", "010****0001"));
    assert_eq!((rows[1][8].as_str(), rows[1][9].as_str()), ("배정", "cs-1"));
    let all: Vec<&String> = rows.iter().flatten().collect();
    for (_, _, _, name, phone) in &SIX {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let international = format!("+82{}", &digits[1..]);
        for cell in &all {
            assert!(
                !cell.contains(&digits) && !cell.contains(phone) && !cell.contains(&international),
                "{cell} shows {phone}"
            );
            assert!(name.is_empty() || !cell.contains(name), "{cell} shows {name}");
        }
    }
    // Filters: each narrows to exactly its cases.
    for (query, expected) in [
        ("", vec!["M-1001", "M-1002", "M-1003"]),
        ("?mbrNo=M-1002", vec!["M-1002"]),
        ("?ordNo=O-2001", vec!["M-1001"]),
        ("?accpCont=안내", vec!["M-1001", "M-1003"]),
        ("?cnslTypNo=10", vec!["M-1001", "M-1002", "M-1003"]),
        ("?cnslTypNo=20", vec![]),
        ("?obTypNo=100&mbrNo=M-1003", vec!["M-1003"]),
        ("?obTypNo=999", vec![]),
        // A back-office grid's empty filters are absent, not bad.
        ("?mbrNo=&ordNo=&accpCont=&cnslTypNo=&obTypNo=", vec!["M-1001", "M-1002", "M-1003"]),
        ("?mbrNo=M-1002&deptCd=&ordNo=", vec!["M-1002"]),
    ] {
        let got: Vec<String> =
            cells(&export_bytes(&w, query).await).into_iter().skip(1).map(|r| r[1].clone()).collect();
        assert_eq!(got, expected, "{query}");
    }
    for bad in ["?obTypNo=a-b", "?cnslTypNo=a%20b"] {
        assert_eq!(status_code(&export(bad).await), (400, "VALIDATION_FAILED".into()), "{bad}");
    }

    // Masked customers do not come back in on their own: without the case numbers, every
    // masked cell is refused, row by row, and nothing is written.
    let before = w.count("counsel_cases").await;
    let back =
        w.upload("excelColumns=skip,mbrNo,ordNo,accpCont,custNm,custTelNo&cnslTypNo=10&obTypNo=200", &bytes).await;
    assert_eq!(status_code(&back), (422, "EXCEL_ROWS_INVALID".into()), "{}", back.text);
    let details = back.json()["error"]["details"].as_array().unwrap().clone();
    assert_eq!(details.len(), 6, "name and phone of three rows: {details:?}");
    for (i, d) in details.iter().enumerate() {
        let row = 2 + i / 2;
        let column = if i % 2 == 0 { "custNm" } else { "custTelNo" };
        assert_eq!(d["field"], format!("excelFile.rows[{row}].{column}"), "{d}");
        assert!(d["reason"].as_str().unwrap().contains("masked"), "{d}");
    }
    assert_eq!(w.count("counsel_cases").await, before, "nothing written");

    // The round trip: the export, its 상담번호 column read as cnslNo, comes back as new
    // cases of another campaign with the same customers (their masks, and their sealed
    // phones' blind indexes, are the originals').
    let round_trip =
        encoded("excelColumns=상담번호,회원번호,주문번호,접수내용,고객명,고객연락처&cnslTypNo=10&obTypNo=200");
    let again = w.upload(&round_trip, &bytes).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!((again.json()["imported"].as_u64(), again.json()["assigned"].as_u64()), (Some(3), Some(3)));
    let copied = cells(&export_bytes(&w, "?obTypNo=200").await);
    assert_eq!(copied.len(), 4);
    for (original, copy) in rows[1..].iter().zip(&copied[1..]) {
        assert_ne!(original[0], copy[0], "a new case number");
        assert_eq!(original[1..=5], copy[1..=5], "mbrNo, ordNo, accpCont and the masked customer");
        assert_eq!(copy[7], "200");
    }
    assert_eq!(
        w.count(
            "counsel_cases c WHERE c.ob_typ_no = '200' AND EXISTS (SELECT 1 FROM counsel_cases o \
             WHERE o.ob_typ_no = '100' AND o.cust_tel_bidx = c.cust_tel_bidx AND o.mbr_no = c.mbr_no)"
        )
        .await,
        3,
        "the very phones came back"
    );
    // A row whose masked customer is not its case's is refused, and the file with it.
    let before = w.count("counsel_cases").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let ws = workbook.add_worksheet();
    for (r, row) in (0u32..).zip(&rows) {
        for (c, value) in (0u16..).zip(row.iter().take(6)) {
            ws.write_string(r, c, value).unwrap();
        }
    }
    ws.write_string(2, 5, "010****0009").unwrap();
    ws.write_string(3, 0, Uuid::now_v7().to_string()).unwrap();
    let tampered = w.upload(&round_trip, &workbook.save_to_buffer().unwrap()).await;
    assert_eq!(status_code(&tampered), (422, "EXCEL_ROWS_INVALID".into()), "{}", tampered.text);
    let details = tampered.json()["error"]["details"].clone();
    assert_eq!(details[0]["field"], "excelFile.rows[3].custTelNo", "{details}");
    assert!(details[0]["reason"].as_str().unwrap().contains("does not match the customer"), "{details}");
    assert_eq!(
        (details[1]["field"].as_str(), details[1]["reason"].as_str()),
        (Some("excelFile.rows[4].cnslNo"), Some("names no counsel case"))
    );
    assert_eq!(w.count("counsel_cases").await, before, "nothing written");

    // A CS manager may export; a partner may not.
    let cs = w.app.token(&w.app.operator_key, "cs-1").await;
    let by_cs = w
        .app
        .send(w.app.with_bearer(TestRequest::post().uri(&format!("{PREFIX}/getObCsCounselInfoListExcel")), &cs))
        .await;
    assert_eq!(by_cs.status, 200);
    let partner =
        w.app
            .send(w.app.with_key(
                TestRequest::post().uri(&format!("{PREFIX}/getObCsCounselInfoListExcel")),
                &w.app.partner_key,
            ))
            .await;
    assert_eq!(status_code(&partner), (403, "FORBIDDEN".into()));
}

/// Seed 001 read the other way: `getObCsCounselInfoListExcel` given an `excelFile`
/// answers the rows as JSON, judged as an import would judge them, and saves nothing.
async fn preview_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    let rows = [SIX[0], ("", "", "no member", "", "010-5555-0009"), SIX[1]];
    let query = format!("excelColumns={COLUMNS}&cnslTypNo=10&obTypNo=100&deptCd=");
    let req = TestRequest::post()
        .uri(&format!("{PREFIX}/getObCsCounselInfoListExcel?{query}"))
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
        .set_payload(multipart("excelFile", &sheet(&rows)));
    let reply = w.app.send(w.op(req)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let preview = reply.json();
    assert_eq!(
        (preview["total"].as_u64(), preview["valid"].as_u64(), preview["invalid"].as_u64()),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(preview["rows"][0]["mbrNo"], "M-1001");
    assert_eq!(preview["rows"][0]["custTelNo"], "010****0001", "masked");
    assert_eq!(preview["rows"][1]["row"], 3);
    assert_eq!(preview["rows"][1]["errors"][0]["column"], "mbrNo", "{preview}");
    assert_eq!(w.count("counsel_cases").await, 0, "a preview saves nothing");
    // Its query is the import's: bad parameters are refused as there.
    let bad = TestRequest::post()
        .uri(&format!("{PREFIX}/getObCsCounselInfoListExcel?excelColumns=phone&cnslTypNo=10&obTypNo=100"))
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={BOUNDARY}")))
        .set_payload(multipart("excelFile", &sheet(&rows)));
    assert_eq!(status_code(&w.app.send(w.op(bad)).await), (400, "VALIDATION_FAILED".into()));
    // Without a file it is the export, as before.
    assert_eq!(cells(&export_bytes(&w, "").await).len(), 1, "the header only: nothing was saved");
    // A generated client leaving the optional file out still sends the multipart type,
    // with an empty body: that is the export too, not a form missing its file.
    let empty = TestRequest::post()
        .uri(&format!("{PREFIX}/getObCsCounselInfoListExcel?obTypNo=100"))
        .insert_header(("Content-Type", "multipart/form-data; boundary=+++"));
    let reply = w.app.send(w.op(empty)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some(XLSX));
}

/// Seed 001 read the other way: `saveObCsCounselInfoListExcel` without a file saves the
/// one case its query names, into the same queue an import of that type fills.
async fn save_one_body(db: TestDb) {
    let w = World::new(db).await;
    w.queue("50", "100", "ROUND_ROBIN").await;
    w.cs("cs-1", "10141").await;
    w.join("50", "100", "cs-1", 1, 5).await;
    let save = |query: &str| {
        let req = TestRequest::post().uri(&format!("{PREFIX}/saveObCsCounselInfoListExcel?{}", encoded(query)));
        w.app.send(w.op(req))
    };
    let saved = save("mbrNo=M-7&ordNo=O-7&accpCont=재가입 안내&cnslTypNo=10&obTypNo=100&excelColumns=").await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!((saved.json()["imported"].as_u64(), saved.json()["assigned"].as_u64()), (Some(1), Some(1)));
    let cnsl_no = saved.json()["cases"][0]["cnslNo"].as_str().unwrap().to_owned();
    let read = w.get(&format!("/api/v1/counsel/cases/{cnsl_no}")).await.json();
    assert_eq!(
        (read["mbrNo"].as_str(), read["ordNo"].as_str(), read["obTypNo"].as_str()),
        (Some("M-7"), Some("O-7"), Some("100"))
    );
    assert_eq!(read["accpCont"], "재가입 안내");
    assert_eq!(read["aempId"], "cs-1");
    // Refusals name the field and save nothing.
    let before = w.count("counsel_cases").await;
    for (query, field) in [
        ("cnslTypNo=10&obTypNo=100&accpCont=x", "mbrNo"),
        ("mbrNo=M-8&cnslTypNo=10", "obTypNo"),
        ("mbrNo=a b&cnslTypNo=10&obTypNo=100", "mbrNo"),
    ] {
        let reply = save(query).await;
        assert_eq!(status_code(&reply), (400, "VALIDATION_FAILED".into()), "{query}: {}", reply.text);
        assert_eq!(reply.json()["error"]["details"][0]["field"], field, "{query}");
    }
    assert_eq!(status_code(&save("mbrNo=M-9&cnslTypNo=10&obTypNo=999").await), (404, "COUNSEL_QUEUE_NOT_FOUND".into()));
    assert_eq!(w.count("counsel_cases").await, before);
}

/// The document says what the server reads and sends for the Excel endpoints.
#[test]
fn the_document_names_the_excel_parts_as_the_server_does() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::document_json()).unwrap();
    let upload = &doc["components"]["schemas"]["ExcelUpload"];
    assert!(upload["properties"]["excelFile"].is_object(), "{upload}");
    assert!(upload["properties"]["excel_file"].is_null(), "{upload}");
    assert_eq!(upload["properties"]["excelFile"]["format"], "binary");
    let export = &doc["paths"][format!("{PREFIX}/getObCsCounselInfoListExcel")]["post"];
    let xlsx = &export["responses"]["200"]["content"][XLSX]["schema"];
    assert_eq!((xlsx["type"].as_str(), xlsx["format"].as_str()), (Some("string"), Some("binary")), "{xlsx}");
    assert!(export["responses"]["200"]["content"]["application/json"]["schema"].is_object(), "the preview");
    for path in ["getObCsCounselInfoListExcel", "saveObCsCounselInfoListExcel"] {
        let body = &doc["paths"][format!("{PREFIX}/{path}")]["post"]["requestBody"];
        assert_ne!(body["required"], true, "{path}: the file is optional");
        assert!(body["content"]["multipart/form-data"].is_object(), "{path}");
    }
    let case = &doc["components"]["schemas"]["CaseDto"]["properties"];
    assert_eq!(case["autoDivNo"]["type"], serde_json::json!(["string", "null"]));
    let explanation = &doc["components"]["schemas"]["CaseExplanation"]["properties"];
    let considered = &doc["components"]["schemas"]["ConsideredMember"]["properties"];
    assert_eq!(explanation["chosen"]["type"], "integer", "{explanation}");
    assert_eq!(considered["autoDivNo"]["type"], "integer", "the engine's number, as the wire sends it");
    assert_eq!(considered["userId"]["format"], "uuid", "a user id, not a login id");
    assert!(
        serde_json::to_string(&case["explanation"]).unwrap().contains("CaseExplanation"),
        "{}",
        case["explanation"]
    );
}
