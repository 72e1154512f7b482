-- wrk script of the benchmark: BENCH_SCENARIO=name wrk -s scenario.lua URL -- TOKEN USERS ITEMS DAYS
-- Requests are drawn at random over the seeded data (bench/harness/seed.py: item i belongs
-- to user (i - 1) % USERS + 1), so no peer serves one hot row from a cache. Static
-- scenarios (probes) define no request() and keep wrk's fast path: wrk decides that when it
-- loads the script, before init(), hence the scenario in the environment. done() prints one JSON
-- line that the harness parses; errors.status counts non-2xx/3xx answers.

local scenario = os.getenv("BENCH_SCENARIO")
local users, items, days
local token_headers, json_headers

local function item_path()
  local id = math.random(1, items)
  return string.format("/users/%d/items/%d", (id - 1) % users + 1, id)
end

local function post()
  local user = math.random(1, users)
  return wrk.format("POST", string.format("/users/%d/items", user), json_headers,
    '{"title":"bench item","description":"written by the benchmark"}')
end

local builders = {
  get_item = function() return wrk.format("GET", item_path(), token_headers) end,
  list_undone = function()
    local user = math.random(1, users)
    return wrk.format("GET", string.format("/users/%d/items?done=false&limit=50", user), token_headers)
  end,
  by_date = function()
    return wrk.format("GET", "/items?date=" .. days[math.random(1, #days)], token_headers)
  end,
  post = post,
  patch = function()
    local body = math.random(0, 1) == 1 and '{"done":true}' or '{"done":false}'
    return wrk.format("PATCH", item_path(), json_headers, body)
  end,
  mix = function()
    if math.random(1, 10) == 1 then return post() end
    return wrk.format("GET", item_path(), token_headers)
  end,
}

if builders[scenario] then request = builders[scenario] end

function init(args)
  users, items = tonumber(args[2]), tonumber(args[3])
  days = {}
  for day in string.gmatch(args[4] or "", "[^,]+") do days[#days + 1] = day end
  token_headers = { ["X-API-TOKEN"] = args[1] }
  json_headers = { ["X-API-TOKEN"] = args[1], ["Content-Type"] = "application/json" }
  math.randomseed(os.time())
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
