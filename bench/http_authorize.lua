-- wrk script: durable authorizations over HTTP, each with its own
-- Idempotency-Key, against random customers listed in bench/.customers.
-- Each customer has its own device: a device id shared by every request
-- would merge all customers into one identity cluster (see BENCHMARKS.md).
-- Usage (see bench/http.sh): wrk -t2 -c64 -d30s --latency -s bench/http_authorize.lua URL
local counter = 0
local thread_id = 0
local customers = {}
local key = os.getenv("ATOBARAI_KEY")

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  for line in io.lines("bench/.customers") do
    customers[#customers + 1] = line
  end
  math.randomseed(tid * 7919)
end

function request()
  counter = counter + 1
  local customer = customers[math.random(#customers)]
  local body = '{"merchant_order_id":"o-' .. tid .. '-' .. counter .. '","customer":"' .. customer ..
    '","product":"monthly","channel":"online","items":[{"sku":"DG-1","name":"detergent","category":"daily_goods","unit_price":480,"quantity":2}],' ..
    '"shipping_address":"Tokyo","device_id":"dev-' .. customer .. '","ip":"203.0.113.7"}'
  local headers = {}
  headers["Authorization"] = "Bearer " .. key
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "w-" .. tid .. "-" .. counter
  return wrk.format("POST", "/v1/authorizations", headers, body)
end

function response(status, headers, body)
  if status ~= 200 then
    print("unexpected status " .. status .. ": " .. body)
  end
end
