DROP TABLE search_synonyms;
DROP TRIGGER listings_updated_at_search ON listings;
DROP FUNCTION listings_set_search_changed_at();
DROP INDEX listings_search_changed_idx;
ALTER TABLE listings DROP COLUMN search_changed_at;
