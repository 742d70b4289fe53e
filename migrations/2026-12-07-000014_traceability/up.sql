-- Traceability (质量安全追溯): production batches with a short printable
-- code and append-only events shaped after GS1 EPCIS (what, when, where,
-- why). A failed inspection pauses the batch's listings in the same
-- transaction (infra/src/trace.rs) and the database keeps them from being
-- published again while the batch stands failed.

CREATE TABLE trace_batches (
    -- 8 characters without 0/O/1/I/L (domain::trace::BatchCode)
    code               text PRIMARY KEY CHECK (code ~ '^[2-9A-HJKMNP-Z]{8}$'),
    producer_id        uuid NOT NULL REFERENCES organizations (id),
    supplier_member_id uuid REFERENCES members (id),
    category_id        uuid NOT NULL REFERENCES categories (id),
    variety            text NOT NULL,
    region_code        text NOT NULL CHECK (region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    location           text NOT NULL,
    quantity           bigint NOT NULL CHECK (quantity > 0),
    unit               text NOT NULL,
    -- the domain's verdict after the last event: the current inspection failed
    inspection_failed  boolean NOT NULL DEFAULT false,
    created_by         uuid NOT NULL REFERENCES users (id),
    created_at         timestamptz NOT NULL
);
CREATE INDEX trace_batches_producer_idx ON trace_batches (producer_id);

CREATE TABLE trace_events (
    id                 uuid PRIMARY KEY,
    batch_code         text NOT NULL REFERENCES trace_batches (code),
    seq                integer NOT NULL CHECK (seq > 0),
    type               text NOT NULL CHECK (type IN ('planting', 'input_use', 'harvest', 'inspection',
                                                     'packing', 'cold_storage', 'shipping', 'delivery')),
    occurred_at        timestamptz NOT NULL,
    -- the offset the time was reported in, to show it back as given
    utc_offset_seconds integer NOT NULL CHECK (utc_offset_seconds BETWEEN -86399 AND 86399),
    region_code        text NOT NULL CHECK (region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    place              text NOT NULL,
    data               jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    -- a correction names the event it corrects (same batch, same type);
    -- an event is corrected at most once
    corrects           uuid UNIQUE REFERENCES trace_events (id),
    recorded_by        uuid NOT NULL REFERENCES users (id),
    recorded_at        timestamptz NOT NULL,
    UNIQUE (batch_code, seq)
);

-- Events are append-only: the database refuses to change or remove one.
CREATE FUNCTION trace_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'trace events are append-only: record a correction instead'
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER trace_events_no_update BEFORE UPDATE OR DELETE ON trace_events
    FOR EACH ROW EXECUTE FUNCTION trace_events_immutable();
CREATE TRIGGER trace_events_no_truncate BEFORE TRUNCATE ON trace_events
    FOR EACH STATEMENT EXECUTE FUNCTION trace_events_immutable();

-- Listings name their batch through the existing trace_batch_code. Codes
-- written before batches existed were free text: NOT VALID keeps them and
-- checks every new or changed code.
ALTER TABLE listings ADD CONSTRAINT listings_trace_batch_fk
    FOREIGN KEY (trace_batch_code) REFERENCES trace_batches (code) NOT VALID;
CREATE INDEX listings_trace_batch_idx ON listings (trace_batch_code) WHERE trace_batch_code IS NOT NULL;

-- A listing of a failed batch is not published again. The domain refuses it
-- first (catalog::CatalogService::change_status); this guard closes the race
-- with an inspection recorded at the same time: FOR SHARE waits for the
-- batch's lock, which recording an event holds, and reads the verdict it
-- committed. Called only when a listing with a batch becomes active.
CREATE FUNCTION trace_guard_publish() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM trace_batches WHERE code = NEW.trace_batch_code AND inspection_failed FOR SHARE) THEN
        RAISE EXCEPTION 'batch % failed its inspection', NEW.trace_batch_code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'listings_trace_batch_failed';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER listings_trace_guard BEFORE UPDATE OF status ON listings
    FOR EACH ROW
    WHEN (NEW.status = 'active' AND OLD.status <> 'active' AND NEW.trace_batch_code IS NOT NULL)
    EXECUTE FUNCTION trace_guard_publish();

-- trace.inspection_failed (public: about the catalog), in the transaction
-- of the event
CREATE FUNCTION outbox_trace_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM outbox_emit('trace.inspection_failed', NULL, true, jsonb_build_object(
        'batch_code', NEW.batch_code, 'event_id', NEW.id, 'seq', NEW.seq,
        'lab', NEW.data -> 'lab', 'report_no', NEW.data -> 'report_no',
        'items', NEW.data -> 'items', 'occurred_at', NEW.occurred_at));
    RETURN NULL;
END;
$$;
CREATE TRIGGER trace_events_outbox AFTER INSERT ON trace_events
    FOR EACH ROW WHEN (NEW.type = 'inspection' AND NEW.data ->> 'result' = 'fail')
    EXECUTE FUNCTION outbox_trace_event();
