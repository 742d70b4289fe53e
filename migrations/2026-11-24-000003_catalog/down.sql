DROP TABLE IF EXISTS listings;
DROP FUNCTION IF EXISTS listings_set_updated_at();
DROP TABLE IF EXISTS categories;
