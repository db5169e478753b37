-- wrk script for scripts/load.sh: each request is a create of a new entity or an update of a
-- client no other request touches, so every acknowledged write has one value to read back.
-- Each thread appends what was acknowledged to acked-<thread>.txt.

local threads = {}
local thread_count = tonumber(os.getenv("LOAD_THREADS") or "2")
local clients = tonumber(os.getenv("LOAD_CLIENTS") or "1000")
local first_client = tonumber(os.getenv("LOAD_FIRST_CLIENT") or "1000")
local out_dir = os.getenv("LOAD_OUT") or "."

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  per_thread = math.floor(clients / thread_count)
  next_client = first_client + tid * per_thread
  last_client = next_client + per_thread - 1
  acked = io.open(out_dir .. "/acked-" .. tid .. ".txt", "a")
end

-- Minimal base64 (wrk has no library for it); Clients Update takes its body base64-encoded.
local b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  return ((data:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

local headers = { ["content-type"] = "application/json" }

function request()
  n = n + 1
  if n % 2 == 0 and next_client <= last_client then
    local id = next_client
    next_client = next_client + 1
    local body = string.format('{"token":"load-employee-token","id":%d,"phone":"ph-%d-%d"}', id, tid, n)
    return wrk.format("PUT", "/api/v1/clients/update", headers, base64(body))
  end
  local slug = string.format("load-%d-%d", tid, n)
  local body = string.format(
    '{"token":"load-employee-token","integration_id":7,"entity_slug":"%s","email":"%s@load.example","name":"Load %s",' ..
    '"active":true,"address":{"street":"1 Load St","city":"Denver","state":"CO","country":"US","postal_code":"80202"}}',
    slug, slug, slug)
  return wrk.format("POST", "/api/v1/entities/create", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then return end
  local id = body:match('"data":{"id":(%d+)')
  local slug = body:match('"entity_slug":"([^"]+)"')
  local phone = body:match('"phone":"([^"]+)"')
  if slug then
    acked:write("entity ", id, " ", slug, "\n")
  elseif phone then
    acked:write("client ", id, " ", phone, "\n")
  end
  acked:flush()
end
