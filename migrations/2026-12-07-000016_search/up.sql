-- Search engine support: a change stamp the engine polls, and the synonym
-- groups.

-- When a listing last changed in a way search shows: what it is (the
-- updated_at rule) or how much it sold (ranking). Stock movements from
-- orders change neither, so they stay HOT updates.
ALTER TABLE listings ADD COLUMN search_changed_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX listings_search_changed_idx ON listings (search_changed_at);

-- Fires after listings_updated_at (triggers run in name order).
CREATE FUNCTION listings_set_search_changed_at() RETURNS trigger AS $$
BEGIN
    IF NEW.updated_at IS DISTINCT FROM OLD.updated_at OR NEW.sold_qty IS DISTINCT FROM OLD.sold_qty THEN
        NEW.search_changed_at := now();
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER listings_updated_at_search BEFORE UPDATE ON listings
    FOR EACH ROW EXECUTE FUNCTION listings_set_search_changed_at();

-- Synonym groups, replaced whole by platform admins; every instance polls
-- the version.
CREATE TABLE search_synonyms (
    id       smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    version  bigint NOT NULL,
    groups   jsonb NOT NULL CHECK (jsonb_typeof(groups) = 'array')
);

INSERT INTO search_synonyms (version, groups) VALUES (1, '[
  ["土豆", "马铃薯", "洋芋", "山药蛋"],
  ["西红柿", "番茄"],
  ["圣女果", "小番茄", "樱桃番茄"],
  ["红薯", "地瓜", "番薯", "白薯", "红苕"],
  ["玉米", "苞米", "苞谷", "玉蜀黍"],
  ["花生", "落花生", "长生果"],
  ["辣椒", "海椒", "辣子"],
  ["青椒", "甜椒", "柿子椒", "菜椒"],
  ["香菜", "芫荽"],
  ["芋头", "芋艿"],
  ["荸荠", "马蹄"],
  ["菠萝", "凤梨"],
  ["猕猴桃", "奇异果"],
  ["黄瓜", "青瓜"],
  ["南瓜", "倭瓜", "番瓜"],
  ["卷心菜", "包菜", "洋白菜", "圆白菜", "甘蓝"],
  ["西兰花", "西蓝花", "青花菜"],
  ["豇豆", "长豆角"],
  ["山药", "淮山"],
  ["蚕豆", "胡豆"],
  ["土鸡", "草鸡", "走地鸡"],
  ["土鸡蛋", "草鸡蛋", "柴鸡蛋"],
  ["小米", "粟米"],
  ["茄子", "矮瓜"],
  ["莴笋", "莴苣"],
  ["香瓜", "甜瓜"]
]');
