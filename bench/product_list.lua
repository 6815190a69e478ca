-- wrk script: GET /api/products?category=<category>&page=1&limit=20, the
-- category picked at random per request from a file of category ids (or
-- slugs; the route takes either), one per line, that bench/run writes from
-- the seeded database. The file is named after "--", optionally followed by
-- the page and the limit:
--
--   wrk -t1 -c64 -d10s -s bench/product_list.lua http://127.0.0.1:8080 -- category-ids.txt [1 [20]]
--
-- Every request is built once in init(), so that request() costs only a
-- random pick and wrk measures the server rather than the script.
local requests = {}

function init(args)
    local path = args[1]
    if not path then
        error("product_list.lua: name the file of category ids after --")
    end
    local page = tonumber(args[2] or "1")
    local limit = tonumber(args[3] or "20")
    for category in io.lines(path) do
        if category ~= "" then
            requests[#requests + 1] = wrk.format("GET", string.format(
                "/api/products?category=%s&page=%d&limit=%d", category, page, limit))
        end
    end
    if #requests == 0 then
        error("product_list.lua: no categories in " .. path)
    end
    -- Each wrk thread has its own Lua state: a table's address differs
    -- between them, so threads do not walk the same sequence.
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
    return requests[math.random(#requests)]
end
