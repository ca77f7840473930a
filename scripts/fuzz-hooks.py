"""Schemathesis hooks of scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

- Optional JSON bodies (`POST .../use`, `.../cancel`, AS decisions, new API keys) are
  declared as their object schema with `required: false`, the form client generators can
  call without a body. The server also takes a JSON `null` there as "no body"
  (tests/api/errors.rs, an_optional_body_that_is_there_must_parse), which that form cannot
  state, so the fuzzer does not send `null` to them as "schema-violating data", and its
  acceptance is not counted as a failure when a phase sends it anyway.
- Positive requests that move leads name the seeded lead (FUZZ_LEAD_ID, scripts/fuzz-seed.py)
  instead of random ids, so they reach the transfer rules instead of 404 LEAD_NOT_FOUND
  (a list value cannot come from the config's `${VAR}` parameters).
"""

import os

import schemathesis
from schemathesis.generation import GenerationMode

OPTIONAL_BODY = r"^/api/v1/(leads/\{leadId\}/use|orders/\{orderId\}/cancel|as/\{asId\}/(cancel|approve)|orgs/\{code\}/api-keys)$"
MOVES_LEADS = r"^/api/v1/leads/(distribute|recall|contacts)$"


@schemathesis.hook("filter_body").apply_to(path_regex=OPTIONAL_BODY)
def no_json_null_for_an_optional_body(context, body):
    return body is not None


# The coverage phase sends its `null` body without the filter above: its acceptance is the
# documented "no body", not a failure. Every other failure of these operations stays.
@schemathesis.hook("filter_failure").apply_to(path_regex=OPTIONAL_BODY)
def a_json_null_body_is_no_body(context, failure, case, response):
    return not (getattr(failure, "code", None) == "ST201" and case.body is None and response.status_code < 300)


@schemathesis.hook("map_case").apply_to(path_regex=MOVES_LEADS)
def the_seeded_lead(context, case):
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE and isinstance(case.body, dict):
        case.body["leadIds"] = [os.environ["FUZZ_LEAD_ID"]]
    return case
