-- wrk script: gift-card redemptions over HTTP. Each request redeems the
-- next unused code of bench/.codes (thread t takes codes t, t+T, t+2T, …)
-- into one of 10,000 wallets, with its own Idempotency-Key.
-- Usage (see bench/gift_cards.sh): wrk -t2 -c64 -d20s --latency -s bench/http_redeem.lua URL
local thread_id = 0
local threads = 0
local codes = {}
local next_index = 0
local key = os.getenv("ATOBARAI_KEY")

function setup(thread)
  thread_id = thread_id + 1
  threads = threads + 1
  thread:set("tid", thread_id)
end

function init(args)
  for line in io.lines("bench/.codes") do
    codes[#codes + 1] = line
  end
  step = tonumber(os.getenv("ATOBARAI_THREADS") or "2")
  next_index = tid
end

function request()
  local code = codes[next_index]
  next_index = next_index + step
  if code == nil then
    code = "EXHAUSTED"
  end
  local body = '{"code":"' .. code .. '","wallet":"w-' .. (next_index % 10000) .. '"}'
  local headers = {}
  headers["Authorization"] = "Bearer " .. key
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "r-" .. tid .. "-" .. next_index
  return wrk.format("POST", "/v1/gift-cards/redeem", headers, body)
end

local reported = 0
function response(status, headers, body)
  if status ~= 200 and reported < 5 then
    reported = reported + 1
    print("unexpected status " .. status .. ": " .. body)
  end
end
