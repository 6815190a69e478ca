-- wrk script: GET /api/products/<id>, the id picked at random per request
-- from a file of product ids, one per line, that bench/run writes from the
-- seeded database. The file is named after "--":
--
--   wrk -t1 -c64 -d10s -s bench/product_detail.lua http://127.0.0.1:8080 -- product-ids.txt
--
-- Every request is built once in init(), so that request() costs only a
-- random pick and wrk measures the server rather than the script.
local requests = {}

function init(args)
    local path = args[1]
    if not path then
        error("product_detail.lua: name the file of product ids after --")
    end
    for id in io.lines(path) do
        if id ~= "" then
            requests[#requests + 1] = wrk.format("GET", "/api/products/" .. id)
        end
    end
    if #requests == 0 then
        error("product_detail.lua: no product ids in " .. path)
    end
    -- Each wrk thread has its own Lua state: a table's address differs
    -- between them, so threads do not walk the same sequence.
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
    return requests[math.random(#requests)]
end
