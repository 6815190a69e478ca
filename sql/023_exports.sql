-- CSV exports: made by the analytics pool's job export.run from a cursor,
-- a quarter of a megabyte at a time, into chunks that the front streams
-- one by one; no process holds a whole export in memory. The export's id
-- is its job's id.

CREATE TABLE exports (
    id          uuid        PRIMARY KEY,
    kind        text        NOT NULL,            -- orders, products, customers, sales
    params      jsonb       NOT NULL DEFAULT '{}',
    filename    text        NOT NULL,
    rows        bigint      NOT NULL DEFAULT 0,
    bytes       bigint      NOT NULL DEFAULT 0,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX exports_created ON exports (created_at);

CREATE TABLE export_chunks (
    export_id uuid    NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (export_id, seq)
);
