"""Seeds a fresh demo server with what scripts/fuzz-api.toml points the fuzzer at.

Run by scripts/fuzz-api.sh with LDBDS_BASE, LDBDS_PARTNER_KEY and LDBDS_OPERATOR_KEY set
(scripts/test-server.sh), and the repository root as its one argument. It prints
`export FUZZ_...=...` lines for the shell; the config reads them as `${FUZZ_...}`, so the
fuzzer's path ids name rows that exist and operations get past 404 into their own rules:

- partner org mohom: users `fuzz-leader` (LEADER) and `fuzz-member` (MEMBER), a lead each
  (so neither can be deleted), an order still open (FUZZ_ORDER_ID), a lead bought through
  another order and claimed as AS with an uploaded evidence file (FUZZ_BOUGHT_LEAD_ID,
  FUZZ_AS_ID), the leader's registered lead (FUZZ_LEAD_ID), an upload URL not used yet
  (FUZZ_UPLOAD_KEY, FUZZ_UPLOAD_EXPIRES, FUZZ_UPLOAD_SIGNATURE);
- operator: a CS manager `fuzz-manager`, outbound queue `50`/`FZ1` with them as member
  (FUZZ_MEMBER_NO), and cases imported from fixtures/counsel/ob_cases_ok.xlsx
  (FUZZ_CASE_ID);
- FUZZ_PRODUCT_ID, the demo's real-estate product (source TCB's default).

Any refused step stops it with the reply (exit 1).
"""

import json
import os
import pathlib
import shlex
import sys
import urllib.error
import urllib.parse
import urllib.request

ROOT = pathlib.Path(sys.argv[1])
BASE = os.environ["LDBDS_BASE"]
PARTNER = os.environ["LDBDS_PARTNER_KEY"]
OPERATOR = os.environ["LDBDS_OPERATOR_KEY"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(120)


def send(method, path, key=None, body=None, raw=None, content_type=None, headers=None, expect=(200, 201)):
    data, all_headers = None, dict(headers or {})
    if key:
        all_headers["X-API-Key"] = key
    if body is not None:
        data, all_headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    elif raw is not None:
        data, all_headers["Content-Type"] = raw, content_type
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        sys.exit(f"fuzz-seed: {method} {path} answered {status}: {text[:500]}")
    return json.loads(text) if text else None


def user(key, mohom, role, phone):
    body = {"mohomId": mohom, "name": f"Fuzz {role}", "phone": phone, "email": f"{mohom}@example.com", "role": role}
    send("POST", "/api/v1/users", key, body)


def main():
    out = {}
    user(PARTNER, "fuzz-leader", "LEADER", "010-9999-1001")
    user(PARTNER, "fuzz-member", "MEMBER", "010-9999-1002")
    user(OPERATOR, "fuzz-manager", "CS_MANAGER", "010-9999-1003")

    products = send("GET", "/api/v1/products?limit=100", PARTNER)["data"]
    estate = next(p for p in products if p["category"] == "REAL_ESTATE")
    out["FUZZ_PRODUCT_ID"] = estate["id"]

    # A lead each, so the lists have rows and the users cannot be deleted (409 USER_OWNS_LEADS).
    for mohom, digits in [("fuzz-leader", "3001"), ("fuzz-member", "3002")]:
        body = {"mohomId": mohom, "productId": products[0]["id"], "name": f"Lead {mohom}",
                "phone": f"010-8888-{digits}", "region": "서울"}
        lead = send("POST", "/api/v1/leads", PARTNER, body)
        if mohom == "fuzz-leader":
            out["FUZZ_LEAD_ID"] = lead["id"]

    # An order the intake lead is delivered to, then one that stays open for the fuzzer.
    bought_order = {"mohomId": "fuzz-leader", "productId": estate["id"], "regions": [{"region": "79", "quantity": 1}]}
    send("POST", "/api/v1/orders", PARTNER, bought_order)
    intake = {"name": "Nguyen Van Fuzz", "mobileNumber": "0399000111", "projectCode": "VHGP", "regionCode": "79",
              "districtCode": "769", "leadSourceId": "fuzz-0001"}
    delivered = send("POST", "/lead-platform/v1/leads/create", PARTNER, intake, headers={"source": "TCB"})
    if delivered["status"] != "ASSIGNED":
        sys.exit(f"fuzz-seed: the intake lead was not delivered: {delivered}")
    out["FUZZ_BOUGHT_LEAD_ID"] = delivered["id"]
    open_order = {"mohomId": "fuzz-leader", "productId": estate["id"], "regions": [{"region": "79", "quantity": 5}]}
    out["FUZZ_ORDER_ID"] = send("POST", "/api/v1/orders", PARTNER, open_order)["id"]

    # AS on the bought lead, with an uploaded evidence file.
    presign = {"mohomId": "fuzz-leader", "fileName": "evidence.png", "contentType": "image/png", "size": len(PNG),
               "purpose": "AS_EVIDENCE"}
    presigned = send("POST", "/api/v1/files/presigned", PARTNER, presign)
    url = urllib.parse.urlparse(presigned["uploadUrl"])
    send("PUT", f"{url.path}?{url.query}", raw=PNG, content_type="image/png")
    policy = send("GET", f"/api/v1/products/{estate['id']}/as-policy", PARTNER)
    reason = (policy.get("evidenceRequiredReasonCodes") or policy["allowedReasonCodes"])[0]
    claim = {"mohomId": "fuzz-leader", "leadId": delivered["id"], "reasonCode": reason,
             "fileKeys": [presigned["fileKey"]], "description": "seeded for the fuzzer"}
    out["FUZZ_AS_ID"] = send("POST", "/api/v1/as", PARTNER, claim)["id"]

    # A second upload URL, left unused for the fuzzer's PUT /api/v1/files/upload/{fileKey}.
    spare = send("POST", "/api/v1/files/presigned", PARTNER, dict(presign, fileName="spare.png"))
    url = urllib.parse.urlparse(spare["uploadUrl"])
    query = urllib.parse.parse_qs(url.query)
    out["FUZZ_UPLOAD_KEY"] = url.path.rsplit("/", 1)[-1]
    out["FUZZ_UPLOAD_EXPIRES"] = query["expires"][0]
    out["FUZZ_UPLOAD_SIGNATURE"] = query["signature"][0]

    # Counsel: an outbound queue, its member, cases imported from the fixture.
    send("POST", "/api/v1/counsel/queues", OPERATOR, {"autoDivGbCd": "50", "autoDivDtlNo": "FZ1", "name": "Fuzz"})
    member = {"autoDivGbCd": "50", "autoDivDtlNo": "FZ1", "aempId": "fuzz-manager", "capacity": 1}
    out["FUZZ_MEMBER_NO"] = send("POST", "/api/v1/counsel/members", OPERATOR, member)["autoDivNo"]
    boundary = "fuzz-seed-boundary-5b1d"
    fixture = (ROOT / "fixtures/counsel/ob_cases_ok.xlsx").read_bytes()
    form = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"excelFile\"; filename=\"ob.xlsx\"\r\n"
        f"Content-Type: {XLSX}\r\n\r\n"
    ).encode() + fixture + f"\r\n--{boundary}--\r\n".encode()
    query = "excelColumns=mbrNo,ordNo,accpCont,custNm,custTelNo,skip&cnslTypNo=10&obTypNo=FZ1"
    imported = send("POST", f"/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel?{query}",
                    OPERATOR, raw=form, content_type=f"multipart/form-data; boundary={boundary}")
    cases = imported.get("cases") or []
    if not cases:
        sys.exit(f"fuzz-seed: the import made no case: {imported}")
    # A case left waiting (the member's capacity is 1), for manual assignment and reads.
    waiting = [c for c in cases if not c.get("autoDivNo")] or cases
    out["FUZZ_CASE_ID"] = waiting[0]["cnslNo"]

    for name, value in out.items():
        print(f"export {name}={shlex.quote(str(value))}")


if __name__ == "__main__":
    main()
