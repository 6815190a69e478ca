-- wrk script: an app's batch of analytics events, sent anonymously with a
-- device id, which the front records as a durable job and answers 202.
-- The batch size is the script's one argument (default 50).
local batch = 50

local function body(n)
    local events = {}
    for i = 1, n do
        local name = (i % 5 == 0) and "product_view" or "screen_view"
        events[i] = string.format(
            '{"name":"%s","properties":{"screen":"home","position":%d,"product_id":"p-%d"}}',
            name, i, i)
    end
    return '{"device_id":"bench-device","session_id":"bench-session","events":['
        .. table.concat(events, ",") .. "]}"
end

function init(args)
    if args[1] then
        batch = tonumber(args[1])
    end
    wrk.method = "POST"
    wrk.path = "/api/analytics/event"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = body(batch)
end
