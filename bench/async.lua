-- wrk script: an asynchronous POST that the front records and answers 202.
wrk.method = "POST"
wrk.body = '{"order":{"items":[{"sku":"A-1","qty":2}],"note":"bench"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "respond-async"
