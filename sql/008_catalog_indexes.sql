-- Indexes the foreign keys need: deleting a category (or a seeded catalog)
-- checks that no product, live or soft-deleted, still refers to it, and
-- removing a product checks its back-in-stock requests. The partial indexes
-- of 004 and 006 cover live rows only, which those checks cannot use.
CREATE INDEX products_category_any ON products (category_id);
CREATE INDEX notify_requests_product ON notify_requests (product_id);
