DROP INDEX listings_group_buys_idx;
DROP TABLE group_buy_outcomes;
