-- wrk script: POST /lead-platform/v1/leads/create with a fresh Vietnamese mobile each time
-- (no duplicates), as source TCB. KEY comes from the environment.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 10)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local phone = string.format("03%02d%06d", tid % 100, counter)
  local body = string.format(
    '{"name":"Nguyen Van A","mobileNumber":"%s","email":"a@example.vn","regionCode":"79","projectCode":"BENCH"}', phone)
  return wrk.format("POST", "/lead-platform/v1/leads/create", {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = os.getenv("KEY"),
    ["source"] = "TCB",
  }, body)
end

local failures = 0
function response(status, headers, body)
  if status ~= 201 then
    failures = failures + 1
    if failures <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n") end
  end
end
