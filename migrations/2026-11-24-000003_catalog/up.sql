-- Catalog: categories (seeded, stable ids), listings with bigram search
-- terms, and the indexes search and hot lists need.

CREATE TABLE categories (
    id        uuid PRIMARY KEY,
    parent_id uuid REFERENCES categories (id),
    code      text NOT NULL UNIQUE,
    name      text NOT NULL,
    sort      integer NOT NULL DEFAULT 0
);

INSERT INTO categories (id, parent_id, code, name, sort) VALUES
    ('bf58d951-80fb-5253-890a-0b15008293c8', NULL, 'grain_oil', '粮油', 0),
    ('77533ae5-75d1-5076-bc6e-5dba710d7c02', NULL, 'vegetables', '蔬菜', 1),
    ('f6fa1df7-f525-50c2-aeac-6522538835da', NULL, 'fruit', '水果', 2),
    ('4d90c1c6-7a63-59e5-b168-5c7f64501e77', NULL, 'livestock_poultry', '畜禽', 3),
    ('7130db2d-c348-5008-b07f-463e2e516431', NULL, 'aquatic', '水产', 4),
    ('375964b7-fc07-5598-a0b8-64b6748e2bee', NULL, 'tea', '茶叶', 5),
    ('444c5a2d-bde7-58c4-8c25-dce3432ade27', NULL, 'fungi', '食用菌', 6),
    ('dfe5a989-42a8-5ff7-9f67-beb6f11ba372', NULL, 'farm_inputs', '农资', 7),
    ('75aa495e-61c1-5283-ae7d-1e344d5dc91e', 'bf58d951-80fb-5253-890a-0b15008293c8', 'grain_oil.rice', '大米', 0),
    ('3fdab10d-776b-5cc1-879b-8b87384a4795', 'bf58d951-80fb-5253-890a-0b15008293c8', 'grain_oil.wheat_flour', '面粉', 1),
    ('30ac0ef4-2ad8-5400-875e-2ad680e4f183', 'bf58d951-80fb-5253-890a-0b15008293c8', 'grain_oil.coarse_grains', '杂粮', 2),
    ('be38ea50-5105-5770-805f-bed8aa6c9014', 'bf58d951-80fb-5253-890a-0b15008293c8', 'grain_oil.edible_oil', '食用油', 3),
    ('73b55d67-2fba-57cb-9e93-379a9e609ca1', 'bf58d951-80fb-5253-890a-0b15008293c8', 'grain_oil.beans', '豆类', 4),
    ('1198c2ad-94b8-51b9-8f3c-f1acd5e3f072', '77533ae5-75d1-5076-bc6e-5dba710d7c02', 'vegetables.leafy', '叶菜', 0),
    ('3b5c2e14-fd7d-572c-b005-ff86d6d53471', '77533ae5-75d1-5076-bc6e-5dba710d7c02', 'vegetables.root', '根茎类', 1),
    ('f5f2a164-c069-5432-b937-3b5b85e0fb9b', '77533ae5-75d1-5076-bc6e-5dba710d7c02', 'vegetables.solanaceous', '茄果类', 2),
    ('a988cff4-b5c3-52c8-9a3f-30257db4e1f3', '77533ae5-75d1-5076-bc6e-5dba710d7c02', 'vegetables.melon_veg', '瓜类蔬菜', 3),
    ('32d9a7c7-7a27-5069-9f0d-a9a735798514', '77533ae5-75d1-5076-bc6e-5dba710d7c02', 'vegetables.allium', '葱姜蒜', 4),
    ('63671d68-0d5d-5d69-aa4c-da7153453708', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.apple_pear', '苹果梨', 0),
    ('f60afa77-c310-50f1-8c76-0da1e9daccd4', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.citrus', '柑橘', 1),
    ('7de6568c-9886-5df9-be32-8b7960639a94', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.melon', '瓜果', 2),
    ('cf139b80-a05f-5b6f-83dd-eff8560b42eb', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.berries', '浆果', 3),
    ('42b20948-4084-54a9-ba47-b1610ef7208c', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.tropical', '热带水果', 4),
    ('4dccaeee-e9d4-53ea-a460-e98121ca3e7a', 'f6fa1df7-f525-50c2-aeac-6522538835da', 'fruit.stone_fruit', '核果', 5),
    ('e50414f1-59a4-5011-b968-d19fe14ac065', '4d90c1c6-7a63-59e5-b168-5c7f64501e77', 'livestock_poultry.pork', '猪肉', 0),
    ('fd4cf061-6e27-5fe9-938a-6a0355c31ca4', '4d90c1c6-7a63-59e5-b168-5c7f64501e77', 'livestock_poultry.beef_mutton', '牛羊肉', 1),
    ('ded919f4-cf44-5674-bbd7-08f727dfe79f', '4d90c1c6-7a63-59e5-b168-5c7f64501e77', 'livestock_poultry.poultry', '禽肉', 2),
    ('a4a8f4bd-f6ff-5279-9509-32f4e4198099', '4d90c1c6-7a63-59e5-b168-5c7f64501e77', 'livestock_poultry.eggs', '禽蛋', 3),
    ('b52ae18d-d5df-572b-8377-022f7f18f1f4', '7130db2d-c348-5008-b07f-463e2e516431', 'aquatic.freshwater_fish', '淡水鱼', 0),
    ('a4713cd1-c8f9-54b9-be71-f880090c0c6a', '7130db2d-c348-5008-b07f-463e2e516431', 'aquatic.shrimp_crab', '虾蟹', 1),
    ('61b71582-6ac0-5eff-af8f-4813cf28bfac', '7130db2d-c348-5008-b07f-463e2e516431', 'aquatic.shellfish', '贝类', 2),
    ('2ae27212-4392-5a43-8d25-80f04b94ee83', '7130db2d-c348-5008-b07f-463e2e516431', 'aquatic.dried_seafood', '干货海产', 3),
    ('e15d50b3-098b-5714-8797-d6bf1e8607ad', '375964b7-fc07-5598-a0b8-64b6748e2bee', 'tea.green_tea', '绿茶', 0),
    ('6b19690d-f9b9-51bc-b6b7-e52bbcafee26', '375964b7-fc07-5598-a0b8-64b6748e2bee', 'tea.black_tea', '红茶', 1),
    ('8c3734f9-2c4e-501c-8956-c9d7b8943037', '375964b7-fc07-5598-a0b8-64b6748e2bee', 'tea.oolong', '乌龙茶', 2),
    ('df4000d0-f579-5fad-9cc0-16a39d2f4bf5', '375964b7-fc07-5598-a0b8-64b6748e2bee', 'tea.dark_tea', '黑茶', 3),
    ('5e2e3f08-ebca-546f-b8d7-e8adbee2c8f7', '444c5a2d-bde7-58c4-8c25-dce3432ade27', 'fungi.shiitake', '香菇', 0),
    ('b3e2ac6c-470f-5c98-8c0d-90dc19845ce2', '444c5a2d-bde7-58c4-8c25-dce3432ade27', 'fungi.wood_ear', '木耳', 1),
    ('4dd92190-11ca-534d-8432-bba3bb2a0dec', '444c5a2d-bde7-58c4-8c25-dce3432ade27', 'fungi.wild_mushroom', '野生菌', 2),
    ('e7056665-abbd-5299-8691-0f21728e1e27', 'dfe5a989-42a8-5ff7-9f67-beb6f11ba372', 'farm_inputs.seeds', '种子', 0),
    ('31bac78d-e3d8-56c9-9f27-d85b70c6d684', 'dfe5a989-42a8-5ff7-9f67-beb6f11ba372', 'farm_inputs.fertilizer', '肥料', 1),
    ('1f4ef8d0-c532-5b2c-9072-0f13d31a76ee', 'dfe5a989-42a8-5ff7-9f67-beb6f11ba372', 'farm_inputs.pesticide', '农药', 2),
    ('176031d2-ae93-547f-b04c-29b30d3e271e', 'dfe5a989-42a8-5ff7-9f67-beb6f11ba372', 'farm_inputs.equipment', '农机具', 3);

CREATE TABLE listings (
    id                 uuid PRIMARY KEY,
    seller_id          uuid NOT NULL REFERENCES organizations (id),
    supplier_member_id uuid REFERENCES members (id),
    title              text NOT NULL,
    description        text NOT NULL DEFAULT '',
    category_id        uuid NOT NULL REFERENCES categories (id),
    -- top-level category, so filtering by one is an equality (index order)
    root_category_id   uuid NOT NULL REFERENCES categories (id),
    variety            text NOT NULL DEFAULT '',
    grade              text NOT NULL CHECK (grade IN ('premium', 'grade_1', 'grade_2', 'ungraded')),
    unit_label         text NOT NULL,
    unit_weight_grams  integer NOT NULL CHECK (unit_weight_grams > 0),
    price_fen          bigint NOT NULL CHECK (price_fen > 0),
    -- [{"min_qty": 10, "price_fen": 6200}, …]
    tier_prices        jsonb NOT NULL DEFAULT '[]'::jsonb,
    min_order_qty      integer NOT NULL DEFAULT 1 CHECK (min_order_qty >= 1),
    stock              integer NOT NULL CHECK (stock >= 0),
    origin_region_code text NOT NULL CHECK (origin_region_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    harvest_date       date,
    shelf_life_days    integer,
    storage            text NOT NULL CHECK (storage IN ('ambient', 'chilled', 'frozen')),
    -- [{"kind": "green", "cert_no": "…", "valid_until": "2028-01-01"}, …]
    certifications     jsonb NOT NULL DEFAULT '[]'::jsonb,
    cert_kinds         text[] NOT NULL DEFAULT '{}',
    trace_batch_code   text,
    images             jsonb NOT NULL DEFAULT '[]'::jsonb,
    sale_mode          text NOT NULL CHECK (sale_mode IN ('spot', 'presale', 'group_buy')),
    -- presale: {"ship_from_date"}; group_buy: {"group_target_qty", "group_deadline"}
    sale_terms         jsonb NOT NULL DEFAULT '{}'::jsonb,
    status             text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'sold_out', 'archived')),
    version            integer NOT NULL DEFAULT 1,
    sold_qty           bigint NOT NULL DEFAULT 0 CHECK (sold_qty >= 0),
    -- character bigrams (and single characters) of title + variety
    search_terms       text[] NOT NULL DEFAULT '{}',
    -- shown in search results (an equality keeps index order for sorting)
    searchable         boolean GENERATED ALWAYS AS (status IN ('active', 'sold_out')) STORED,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT listings_presale CHECK (sale_mode <> 'presale' OR sale_terms ? 'ship_from_date'),
    CONSTRAINT listings_group_buy CHECK (sale_mode <> 'group_buy' OR (sale_terms ? 'group_target_qty' AND sale_terms ? 'group_deadline'))
) WITH (fillfactor = 90);

-- updated_at tracks what a listing *is* (content, price, status), not stock
-- movements: an order changes only unindexed columns (stock, version), so
-- the update stays HOT and touches none of the search indexes. (fillfactor
-- leaves room on each page for such updates.)
CREATE FUNCTION listings_set_updated_at() RETURNS trigger AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at
       AND (NEW.seller_id, NEW.supplier_member_id, NEW.title, NEW.description, NEW.category_id, NEW.variety, NEW.grade,
            NEW.unit_label, NEW.unit_weight_grams, NEW.price_fen, NEW.tier_prices, NEW.min_order_qty,
            NEW.origin_region_code, NEW.harvest_date, NEW.shelf_life_days, NEW.storage, NEW.certifications,
            NEW.trace_batch_code, NEW.images, NEW.sale_mode, NEW.sale_terms, NEW.status)
           IS DISTINCT FROM
           (OLD.seller_id, OLD.supplier_member_id, OLD.title, OLD.description, OLD.category_id, OLD.variety, OLD.grade,
            OLD.unit_label, OLD.unit_weight_grams, OLD.price_fen, OLD.tier_prices, OLD.min_order_qty,
            OLD.origin_region_code, OLD.harvest_date, OLD.shelf_life_days, OLD.storage, OLD.certifications,
            OLD.trace_batch_code, OLD.images, OLD.sale_mode, OLD.sale_terms, OLD.status)
    THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER listings_updated_at BEFORE UPDATE ON listings
    FOR EACH ROW EXECUTE FUNCTION listings_set_updated_at();

-- Search: every sort has an index led by the filters it is used with.
CREATE INDEX listings_newest_idx ON listings (searchable, id DESC);
CREATE INDEX listings_price_idx ON listings (searchable, price_fen, id);
CREATE INDEX listings_popular_idx ON listings (searchable, sold_qty DESC, id DESC);
CREATE INDEX listings_root_newest_idx ON listings (root_category_id, searchable, id DESC);
CREATE INDEX listings_root_popular_idx ON listings (root_category_id, searchable, sold_qty DESC, id DESC);
CREATE INDEX listings_root_price_idx ON listings (root_category_id, searchable, price_fen, id);
CREATE INDEX listings_category_idx ON listings (category_id, searchable, id DESC);
CREATE INDEX listings_seller_idx ON listings (seller_id, searchable, sold_qty DESC, id DESC);
-- Hot lists: best sellers among active listings.
CREATE INDEX listings_hot_idx ON listings (status, sold_qty DESC, id DESC);
CREATE INDEX listings_region_idx ON listings (origin_region_code text_pattern_ops);
CREATE INDEX listings_search_terms_idx ON listings USING gin (search_terms);
CREATE INDEX listings_cert_kinds_idx ON listings USING gin (cert_kinds);
-- Partner catalog feed.
CREATE INDEX listings_changes_idx ON listings (updated_at, id);
