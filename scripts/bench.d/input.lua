-- wrk script: POST input to a rotating set of workers (ids in the WORKERS environment variable, comma
-- separated), queueing behind a running turn. wrk reports refusals as "Non-2xx or 3xx responses".
local ids = {}
for id in string.gmatch(os.getenv("WORKERS") or "", "[^,]+") do ids[#ids + 1] = id end
local n = 0

request = function()
  n = n + 1
  local id = ids[(n % #ids) + 1]
  local body = '{"content":"bench ' .. n .. '","when_busy":"queue"}'
  return wrk.format("POST", os.getenv("PREFIX") .. "/workers/" .. id .. "/input", { ["content-type"] = "application/json" }, body)
end
