-- wrk script: shoppers who put one product in their cart and check out,
-- over and over:
--
--   POST /api/cart/items {"product_id", "quantity": 1}    (201)
--   POST /api/orders {"address_id", "payment_method": "cod"}    (201)
--
-- Each wrk thread is one shopper with one connection, so run it with as
-- many threads as connections (-tN -cN): a thread's requests then go one at
-- a time, each answered before the next is sent, and the thread's Lua state
-- is the shopper's. Two files are named after "--": the shoppers, one a
-- line ("<token> <address id>", at least as many as threads), and the
-- products, one id a line (each add picks one at random):
--
--   wrk -t64 -c64 -d10s -s bench/checkout.lua http://127.0.0.1:8080 -- users.txt products.txt
--
-- wrk's own figures mix both requests; this script times each request on
-- the monotonic clock itself, counts the orders (checkouts answered 201; a
-- cart that starts empty makes one order each) and the checkouts sent, and
-- at the end prints, one "checkout <name> <value>" a line: orders, sent,
-- seconds, checkout and add latency percentiles in ms, and the answers that
-- were not 201 (with the first of them, for a diagnosis).
-- wrk's scripts have no clock finer than os.time(); wrk runs them in LuaJIT,
-- whose FFI reaches clock_gettime (CLOCK_MONOTONIC is 1 on Linux).
local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_us()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
    return tonumber(clock.tv_sec) * 1e6 + tonumber(clock.tv_nsec) / 1e3
end

-- ---- the main state: numbers the threads, gathers their figures --------

local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
    thread:set("shopper", #threads)
end

local function percentile(sorted, p)
    if #sorted == 0 then
        return 0
    end
    return sorted[math.max(1, math.ceil(#sorted * p / 100))]
end

function done(summary)
    local checkout, add = {}, {}
    local orders, sent, failed_checkouts, failed_adds, first_failure = 0, 0, 0, 0, nil
    for _, thread in ipairs(threads) do
        for _, us in ipairs(thread:get("checkout_us")) do
            checkout[#checkout + 1] = us
        end
        for _, us in ipairs(thread:get("add_us")) do
            add[#add + 1] = us
        end
        orders = orders + thread:get("orders")
        sent = sent + thread:get("sent")
        failed_checkouts = failed_checkouts + thread:get("failed_checkouts")
        failed_adds = failed_adds + thread:get("failed_adds")
        first_failure = first_failure or thread:get("first_failure")
    end
    table.sort(checkout)
    table.sort(add)
    local lines = {
        {"orders", "%d", orders},
        {"sent", "%d", sent},
        {"seconds", "%.3f", summary.duration / 1e6},
        {"checkout_p50_ms", "%.2f", percentile(checkout, 50) / 1e3},
        {"checkout_p99_ms", "%.2f", percentile(checkout, 99) / 1e3},
        {"add_p50_ms", "%.2f", percentile(add, 50) / 1e3},
        {"add_p99_ms", "%.2f", percentile(add, 99) / 1e3},
        {"failed_checkouts", "%d", failed_checkouts},
        {"failed_adds", "%d", failed_adds},
    }
    for _, line in ipairs(lines) do
        io.write(string.format("checkout %s " .. line[2] .. "\n", line[1], line[3]))
    end
    if first_failure then
        io.write("checkout first_failure " .. first_failure:gsub("%s+", " ") .. "\n")
    end
end

-- ---- each thread: one shopper -------------------------------------------

-- Read by done() through thread:get.
checkout_us, add_us = {}, {}
orders, sent, failed_checkouts, failed_adds, first_failure = 0, 0, 0, 0, nil

local adds, checkout_request = {}, nil
local adding, started = true, 0

function init(args)
    local users, products = args[1], args[2]
    if not users or not products then
        error("checkout.lua: name the shoppers' file and the products' file after --")
    end
    local line = 0
    for text in io.lines(users) do
        line = line + 1
        if line == shopper then
            local token, address = text:match("^(%S+) (%S+)$")
            local headers = {
                ["Authorization"] = "Bearer " .. token,
                ["Content-Type"] = "application/json",
            }
            for id in io.lines(products) do
                if id ~= "" then
                    adds[#adds + 1] = wrk.format("POST", "/api/cart/items", headers,
                        '{"product_id":"' .. id .. '","quantity":1}')
                end
            end
            checkout_request = wrk.format("POST", "/api/orders", headers,
                '{"address_id":"' .. address .. '","payment_method":"cod"}')
        end
    end
    if not checkout_request then
        error("checkout.lua: no line " .. tostring(shopper) .. " in " .. users)
    end
    if #adds == 0 then
        error("checkout.lua: no product ids in " .. products)
    end
    math.randomseed(shopper * 7919 + os.time())
end

function request()
    started = now_us()
    if adding then
        return adds[math.random(#adds)]
    end
    sent = sent + 1
    return checkout_request
end

function response(status, headers, body)
    local elapsed = now_us() - started
    if adding then
        add_us[#add_us + 1] = elapsed
        if status == 201 then
            adding = false
        else
            failed_adds = failed_adds + 1
            first_failure = first_failure or ("add " .. status .. " " .. body)
        end
        return
    end
    checkout_us[#checkout_us + 1] = elapsed
    if status == 201 then
        orders = orders + 1
    else
        failed_checkouts = failed_checkouts + 1
        first_failure = first_failure or ("checkout " .. status .. " " .. body)
    end
    adding = true
end
