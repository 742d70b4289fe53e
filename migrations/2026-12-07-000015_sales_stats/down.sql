DROP INDEX listings_active_origin_idx;
DROP INDEX refund_requests_refunded_idx;
DROP INDEX order_events_seller_sales_idx;
DROP TABLE sales_daily_category_totals;
DROP TABLE sales_daily_categories;
DROP TABLE sales_daily_sellers;
DROP TABLE sales_hours;
