-- bench/run http: each request completes a different open task of the bench user with a valid
-- form. BENCH_TASKS names a file of task ids (one a line); wrk's threads take turns through it
-- (thread i takes ids i, i + threads, ...), so no id is sent twice. Prints one JSON line at the end.
local auth = os.getenv("BENCH_AUTHORIZATION")
local body = os.getenv("BENCH_COMPLETE_BODY")
local tasks_file = os.getenv("BENCH_TASKS")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  ids = {}
  for line in io.lines(tasks_file) do
    if line ~= "" then ids[#ids + 1] = line end
  end
  next_id = index + 1
  wrk.headers["Authorization"] = auth
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
end

function request()
  local id = ids[next_id]
  if id == nil then
    id = "exhausted"  -- more requests than tasks: these answer 404 and are counted as errors
  end
  next_id = next_id + threads
  return wrk.format("POST", "/api/v1/tasks/" .. id .. "/complete", nil, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read +
              summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "errors": %d, "non_2xx": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000, bad,
    summary.errors.status))
end
