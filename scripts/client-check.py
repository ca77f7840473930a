"""Drives a running ldbds server with a client generated from its own OpenAPI document.

Run by scripts/client-check.sh, which starts the server, fetches the served document,
generates the client (openapi-python-client, unmodified) and calls this with

    python client-check.py DOC.json CLIENT_PARENT_DIR REPO_ROOT

and LDBDS_BASE, LDBDS_PARTNER_KEY, LDBDS_OPERATOR_KEY set. It walks the partner flow
(users, an order, an intake lead from source TCB, the owned list, use, contacts, an AS
claim with an uploaded evidence file, a registered lead distributed to a member) and the
operator's counsel Excel import and export, the way a partner would: bodies are built
with the generated models, calls go through the generated functions, and every JSON
response is validated against the document's schema for its status (jsonschema, formats
checked), besides the generated models' own parsing.

Each step prints `ok` or `FAILED: why`; a step whose input a failed step should have made
is reported as skipped. Exit 0 when every step passed, 1 otherwise.
"""

import importlib
import io
import json
import pathlib
import sys
import traceback
import urllib.parse
import uuid

import jsonschema

DOC_PATH, CLIENT_DIR, ROOT = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
sys.path.insert(0, CLIENT_DIR)

import os  # noqa: E402

from ldbds_client import AuthenticatedClient, Client  # noqa: E402
from ldbds_client.api.as_ import create_as, get_as  # noqa: E402
from ldbds_client.api.counsel import add_member, create_queue, save_excel  # noqa: E402
from ldbds_client.api.files import presign  # noqa: E402
from ldbds_client.api.intake import create_intake_lead  # noqa: E402
from ldbds_client.api.leads import contacts, create_lead, distribute, list_owned, use_lead  # noqa: E402
from ldbds_client.api.orders import create_order, get_order, list_orders  # noqa: E402
from ldbds_client.api.reference import list_products, list_regions, product_as_policy  # noqa: E402
from ldbds_client.api.users import create_user, list_users  # noqa: E402
from ldbds_client.models import (  # noqa: E402
    AddMemberRequest,
    ContactsRequest,
    CreateAsRequest,
    CreateLeadV1Request,
    CreateOrderRequest,
    CreateQueueRequest,
    CreateUserRequest,
    DistributeRequest,
    ExcelUpload,
    IntakeLeadRequest,
    PresignedRequest,
)
from ldbds_client.types import File  # noqa: E402

DOC = json.loads(pathlib.Path(DOC_PATH).read_text())
BASE = os.environ["LDBDS_BASE"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_FIXTURE = ROOT / "fixtures/counsel/ob_cases_ok.xlsx"
EXCEL_COLUMNS = "mbrNo,ordNo,accpCont,custNm,custTelNo,skip"
# The demo source TCB (org mohom) sends Ho Chi Minh City real-estate leads.
# Its default product, RE-HCM-APT, is the demo's one REAL_ESTATE product (the product
# list shows no code).
SOURCE, PRODUCT_CATEGORY, REGION = "TCB", "REAL_ESTATE", "79"
LEADER, MEMBER, MANAGER, QUEUE = "cc-leader", "cc-member", "cc-manager", "CC1"


def key_client(key):
    """A client that sends the API key as `X-API-Key` (the document's `api_key` scheme)."""
    return AuthenticatedClient(
        base_url=BASE, token=key, prefix="", auth_header_name="X-API-Key", raise_on_unexpected_status=True
    )


PARTNER = key_client(os.environ["LDBDS_PARTNER_KEY"])
OPERATOR = key_client(os.environ["LDBDS_OPERATOR_KEY"])


class Skip(Exception):
    pass


class Failed(Exception):
    pass


def response_schema(method, template, status):
    operation = DOC["paths"].get(template, {}).get(method)
    if operation is None:
        raise Failed(f"{method.upper()} {template} is not in the document")
    declared = operation["responses"].get(str(status))
    if declared is None:
        raise Failed(f"{method.upper()} {template} answered {status}, which the document does not declare")
    return declared.get("content", {})


def validate_json(method, template, status, payload):
    """The payload against the document's schema for this status (its $refs resolved)."""
    content = response_schema(method, template, status)
    media = content.get("application/json")
    if media is None:
        raise Failed(f"{method.upper()} {template} {status}: a JSON body where the document declares {list(content)}")
    schema = dict(media["schema"])
    schema["components"] = DOC["components"]
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    if errors:
        where = lambda e: "/".join(str(p) for p in e.absolute_path) or "(root)"  # noqa: E731
        raise Failed(
            f"{method.upper()} {template} {status}: the body breaks its schema: "
            + "; ".join(f"{where(e)}: {e.message[:200]}" for e in errors[:5])
        )


def call(module, method, template, expected, **kwargs):
    """Calls a generated operation; checks the status, the JSON schema and the client's parsing."""
    response = module.sync_detailed(**kwargs)
    text = response.content[:400].decode("utf-8", "replace")
    if response.status_code != expected:
        raise Failed(f"{method.upper()} {template}: {response.status_code}, expected {expected}: {text}")
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type == "application/json":
        validate_json(method, template, response.status_code, json.loads(response.content))
    else:
        declared = response_schema(method, template, response.status_code)
        if media_type not in declared:
            raise Failed(f"{method.upper()} {template}: {media_type} where the document declares {list(declared)}")
    if response.parsed is None:
        raise Failed(f"{method.upper()} {template}: the generated client dropped the {expected} response ({media_type})")
    return response.parsed


def png():
    """A PNG signature and padding: what the upload's magic-byte check accepts as image/png."""
    return b"\x89PNG\r\n\x1a\n" + bytes(120)


state = {}


def need(*names):
    missing = [n for n in names if n not in state]
    if missing:
        raise Skip(f"needs {', '.join(missing)} from an earlier step")
    return [state[n] for n in names] if len(names) > 1 else state[names[0]]


def step_reference():
    products = call(list_products, "get", "/api/v1/products", 200, client=PARTNER, limit=100)
    product = next((p for p in products.data if p.category == PRODUCT_CATEGORY), None)
    if product is None:
        raise Failed(f"no {PRODUCT_CATEGORY} product among {[p.name for p in products.data]}")
    state["product"] = str(product.id)
    regions = call(list_regions, "get", "/api/v1/regions", 200, client=PARTNER)
    codes = [r.code for r in regions.data]
    if REGION not in codes:
        raise Failed(f"no region {REGION} in {codes}")
    policy = call(product_as_policy, "get", "/api/v1/products/{productId}/as-policy", 200,
                  product_id=uuid.UUID(state["product"]), client=PARTNER)
    state["as_policy"] = policy.to_dict()


def step_users():
    for mohom, role, phone in [(LEADER, "LEADER", "010-6100-0001"), (MEMBER, "MEMBER", "010-6100-0002")]:
        body = CreateUserRequest.from_dict(
            {"mohomId": mohom, "name": f"Client {role}", "phone": phone, "email": f"{mohom}@example.com", "role": role}
        )
        call(create_user, "post", "/api/v1/users", 201, client=PARTNER, body=body)
    listed = call(list_users, "get", "/api/v1/users", 200, client=PARTNER)
    found = {u.mohom_id for u in listed.data}
    if not {LEADER, MEMBER} <= found:
        raise Failed(f"the list lacks the created users: {sorted(found)}")
    state["users"] = True


def step_order():
    product = need("product")
    need("users")
    body = CreateOrderRequest.from_dict(
        {"mohomId": LEADER, "productId": product, "regions": [{"region": REGION, "quantity": 1}]}
    )
    order = call(create_order, "post", "/api/v1/orders", 201, client=PARTNER, body=body)
    call(list_orders, "get", "/api/v1/orders", 200, client=PARTNER, mohom_id=LEADER)
    call(get_order, "get", "/api/v1/orders/{orderId}", 200, order_id=order.id, client=PARTNER, mohom_id=LEADER)
    state["order"] = str(order.id)


def step_intake():
    need("order")
    body = IntakeLeadRequest.from_dict(
        {"name": "Nguyen Van Client", "mobileNumber": "0399777123", "email": "nvc@example.vn",
         "projectCode": "VHGP", "regionCode": REGION, "districtCode": "769", "leadSourceId": "cc-0001"}
    )
    created = call(create_intake_lead, "post", "/lead-platform/v1/leads/create", 201,
                   client=PARTNER, body=body, source=SOURCE)
    if created.status != "ASSIGNED":
        raise Failed(f"the lead was not delivered to the open order: status {created.status}")
    state["bought"] = str(created.id)


def step_list():
    bought = need("bought")
    owned = call(list_owned, "get", "/api/v1/leads", 200, client=PARTNER, mohom_id=LEADER)
    ids = [str(lead.id) for lead in owned.data]
    if bought not in ids:
        raise Failed(f"the delivered lead {bought} is not in the owned list {ids}")


def step_use():
    bought = need("bought")
    # No body: the acting member is the query's mohomId (the body is optional).
    used = call(use_lead, "post", "/api/v1/leads/{leadId}/use", 200,
                lead_id=uuid.UUID(bought), client=PARTNER, mohom_id=LEADER)
    if str(used.id) != bought:
        raise Failed(f"used {used.id}, asked for {bought}")
    state["used"] = True


def step_contacts():
    bought = need("bought")
    need("used")
    body = ContactsRequest.from_dict({"mohomId": LEADER, "leadIds": [bought]})
    revealed = call(contacts, "post", "/api/v1/leads/contacts", 200, client=PARTNER, body=body)
    if [str(c.id) for c in revealed.data] != [bought]:
        raise Failed(f"contacts revealed {revealed.to_dict()}")


def step_presign():
    need("users")
    body = PresignedRequest.from_dict(
        {"mohomId": LEADER, "fileName": "evidence.png", "contentType": "image/png", "size": len(png()),
         "purpose": "AS_EVIDENCE"}
    )
    presigned = call(presign, "post", "/api/v1/files/presigned", 201, client=PARTNER, body=body)
    url = urllib.parse.urlparse(presigned.upload_url)
    query = urllib.parse.parse_qs(url.query)
    state["upload"] = {
        "file_key": uuid.UUID(url.path.rsplit("/", 1)[-1]),
        "expires": int(query["expires"][0]),
        "signature": query["signature"][0],
        "key": str(presigned.file_key),
    }


def step_upload():
    upload = need("upload")
    anonymous = Client(base_url=BASE, raise_on_unexpected_status=True)
    template = "/api/v1/files/upload/{fileKey}"
    try:
        receive_upload = importlib.import_module("ldbds_client.api.files.receive_upload")
    except ImportError:
        receive_upload = None
    if receive_upload is not None:
        body = File(payload=io.BytesIO(png()), file_name="evidence.png", mime_type="image/png")
        call(receive_upload, "put", template, 200, file_key=upload["file_key"], client=anonymous, body=body,
             expires=upload["expires"], signature=upload["signature"])
    else:
        # openapi-python-client 0.29 generates a binary body only for
        # application/octet-stream and skips an operation declaring the real file types
        # (its warning is printed above). The bytes go through the generated client's own
        # transport, with the type the presign declared; the reply is checked as above.
        print("  WARNING: the generator skipped PUT /api/v1/files/upload/{fileKey} (binary types other than"
              " application/octet-stream); uploading through the generated Client's transport")
        response = anonymous.get_httpx_client().put(
            f"/api/v1/files/upload/{upload['file_key']}",
            params={"expires": upload["expires"], "signature": upload["signature"]},
            content=png(),
            headers={"Content-Type": "image/png"},
        )
        if response.status_code != 200:
            raise Failed(f"PUT {template}: {response.status_code}, expected 200: {response.text[:400]}")
        validate_json("put", template, 200, response.json())
    state["evidence"] = upload["key"]


def step_as():
    bought, evidence, policy = need("bought", "evidence", "as_policy")
    # A reason that needs evidence, so the uploaded file is what lets the claim in.
    reasons = policy.get("evidenceRequiredReasonCodes") or policy.get("allowedReasonCodes") or ["WRONG_NUMBER"]
    reason = reasons[0]
    body = CreateAsRequest.from_dict(
        {"mohomId": LEADER, "leadId": bought, "reasonCode": reason, "description": "the number does not answer",
         "fileKeys": [evidence]}
    )
    claim = call(create_as, "post", "/api/v1/as", 201, client=PARTNER, body=body)
    call(get_as, "get", "/api/v1/as/{asId}", 200, as_id=claim.id, client=PARTNER, mohom_id=LEADER)


def step_distribute():
    product = need("product")
    need("users")
    body = CreateLeadV1Request.from_dict(
        {"mohomId": LEADER, "productId": product, "name": "Tran Thi Client", "phone": "0399777456", "region": REGION}
    )
    registered = call(create_lead, "post", "/api/v1/leads", 201, client=PARTNER, body=body)
    body = DistributeRequest.from_dict({"mohomId": LEADER, "toMohomId": MEMBER, "leadIds": [str(registered.id)]})
    call(distribute, "post", "/api/v1/leads/distribute", 200, client=PARTNER, body=body)
    owned = call(list_owned, "get", "/api/v1/leads", 200, client=PARTNER, mohom_id=MEMBER)
    if str(registered.id) not in [str(lead.id) for lead in owned.data]:
        raise Failed("the distributed lead is not in the member's list")


def step_counsel_queue():
    body = CreateUserRequest.from_dict(
        {"mohomId": MANAGER, "name": "Client Manager", "phone": "010-6100-0009", "email": "cc-manager@example.com",
         "role": "CS_MANAGER"}
    )
    call(create_user, "post", "/api/v1/users", 201, client=OPERATOR, body=body)
    body = CreateQueueRequest.from_dict({"autoDivGbCd": "50", "autoDivDtlNo": QUEUE, "name": "Client outbound"})
    call(create_queue, "post", "/api/v1/counsel/queues", 201, client=OPERATOR, body=body)
    body = AddMemberRequest.from_dict({"autoDivGbCd": "50", "autoDivDtlNo": QUEUE, "aempId": MANAGER})
    call(add_member, "post", "/api/v1/counsel/members", 201, client=OPERATOR, body=body)
    state["queue"] = QUEUE


def step_excel_import():
    queue = need("queue")
    file = File(payload=io.BytesIO(EXCEL_FIXTURE.read_bytes()), file_name=EXCEL_FIXTURE.name, mime_type=XLSX)
    imported = call(save_excel, "post", "/v2/customerservice/csAllocationMgmt/saveObCsCounselInfoListExcel", 200,
                    client=OPERATOR, body=ExcelUpload(excel_file=file), excel_columns=EXCEL_COLUMNS,
                    cnsl_typ_no="10", ob_typ_no=queue)
    if not imported.imported:
        raise Failed(f"nothing imported: {imported.to_dict()}")
    state["imported"] = imported.imported


def step_excel_export():
    queue = need("queue")
    template = "/v2/customerservice/csAllocationMgmt/getObCsCounselInfoListExcel"
    # The path answers 200 with the .xlsx (no file sent) or with a JSON preview (a file
    # sent); openapi-python-client 0.29 parses every 200 of it as the JSON preview, so the
    # workbook is fetched through the generated client's own transport, and checked.
    print("  WARNING: the generated export_excel parses any 200 as JSON; fetching the workbook"
          " through the generated client's transport")
    response = OPERATOR.get_httpx_client().post(template, params={"obTypNo": queue})
    if response.status_code != 200:
        raise Failed(f"POST {template}: {response.status_code}, expected 200: {response.text[:400]}")
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in response_schema("post", template, 200):
        raise Failed(f"POST {template}: {media_type} is not declared for 200")
    if media_type != XLSX or not response.content.startswith(b"PK"):
        raise Failed(f"the export is not an .xlsx (zip) file: {media_type}")


STEPS = [
    ("reference: the TCB product, its region and AS policy", step_reference),
    ("users: create a LEADER and a MEMBER, list them", step_users),
    ("orders: place an order, list it, read it", step_order),
    ("intake: a lead from source TCB, delivered to the order", step_intake),
    ("leads: the owned list holds the delivered lead", step_list),
    ("leads: use the lead without a body", step_use),
    ("leads: contacts of the used lead", step_contacts),
    ("files: a presigned upload URL for evidence", step_presign),
    ("files: upload the evidence as image/png", step_upload),
    ("as: claim AS on the lead with the evidence, read it", step_as),
    ("leads: register a lead and distribute it to the member", step_distribute),
    ("counsel: a CS manager, an outbound queue, its member", step_counsel_queue),
    ("counsel: import the Excel fixture (excelFile)", step_excel_import),
    ("counsel: export the queue's cases as .xlsx", step_excel_export),
]


def main():
    failed = []
    for name, run in STEPS:
        try:
            run()
            print(f"client-check: ok      {name}", flush=True)
        except Skip as skip:
            failed.append(name)
            print(f"client-check: SKIPPED {name}: {skip}", flush=True)
        except Failed as failure:
            failed.append(name)
            print(f"client-check: FAILED  {name}: {failure}", flush=True)
        except Exception as error:  # the generated client itself broke: a contract defect too
            failed.append(name)
            last = traceback.format_exception_only(type(error), error)[-1].strip().splitlines()[0][:300]
            print(f"client-check: FAILED  {name}: the generated client raised {last}", flush=True)
    passed = len(STEPS) - len(failed)
    print(f"client-check: {passed} of {len(STEPS)} steps passed")
    if failed:
        print("client-check: failed steps: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
