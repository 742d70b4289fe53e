DROP FUNCTION IF EXISTS begin_order(text, text, text, timestamptz, timestamptz, uuid[]);
DROP FUNCTION IF EXISTS count_sales(int);
DROP FUNCTION IF EXISTS place_order(uuid[], int4[], uuid, text, uuid, uuid, text, bigint, jsonb, timestamptz, timestamptz, uuid, text,
    uuid[], uuid[], int8[], int8[], text[], uuid[], uuid[], uuid[], text[], text[], int4[], int8[], int8[], int4[], uuid[], date[],
    int4, jsonb, text, text);
