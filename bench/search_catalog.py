#!/usr/bin/env python3
"""The search benchmark's catalog and queries (deterministic).

  search_catalog.py listings N OUT.tsv   N listings for COPY (title, variety,
                                         description, category code,
                                         region, grade, sale mode, certs,
                                         price, sold, age in minutes)
  search_catalog.py queries OUT.lua      a wrk script: 50,000 request paths
                                         drawn Zipf-like from >= 2,000
                                         distinct queries of the same
                                         vocabulary (words, two words,
                                         pinyin, initials, typos, synonyms;
                                         with and without filters, facets)
"""
import json
import os
import random
import sys
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, full pinyin, category code, varieties
PRODUCTS = [
    ("甜瓜", "tiangua", "fruit.melon", ["羊角蜜", "玉菇", "白玉"]),
    ("西瓜", "xigua", "fruit.melon", ["麒麟", "8424", "黑美人"]),
    ("哈密瓜", "hamigua", "fruit.melon", ["西州蜜", "网纹"]),
    ("苹果", "pingguo", "fruit.apple_pear", ["红富士", "嘎啦", "黄元帅"]),
    ("梨", "li", "fruit.apple_pear", ["砀山酥梨", "库尔勒香梨", "鸭梨"]),
    ("桃", "tao", "fruit.stone_fruit", ["水蜜桃", "黄桃", "油桃"]),
    ("葡萄", "putao", "fruit.berries", ["巨峰", "阳光玫瑰", "夏黑"]),
    ("橙子", "chengzi", "fruit.citrus", ["赣南脐橙", "冰糖橙"]),
    ("柑橘", "ganju", "fruit.citrus", ["砂糖橘", "沃柑"]),
    ("猕猴桃", "mihoutao", "fruit.berries", ["红心", "徐香"]),
    ("草莓", "caomei", "fruit.berries", ["红颜", "章姬"]),
    ("樱桃", "yingtao", "fruit.stone_fruit", ["美早", "红灯"]),
    ("蓝莓", "lanmei", "fruit.berries", ["兔眼", "高丛"]),
    ("芒果", "mangguo", "fruit.tropical", ["贵妃", "台农"]),
    ("香蕉", "xiangjiao", "fruit.tropical", ["皇帝蕉", "粉蕉"]),
    ("荔枝", "lizhi", "fruit.tropical", ["妃子笑", "桂味"]),
    ("菠萝", "boluo", "fruit.tropical", ["香水", "金钻"]),
    ("石榴", "shiliu", "fruit.tropical", ["突尼斯软籽", "会理"]),
    ("柿子", "shizi", "fruit.stone_fruit", ["富有", "火晶"]),
    ("枣", "zao", "fruit.stone_fruit", ["冬枣", "骏枣", "灰枣"]),
    ("土豆", "tudou", "vegetables.root", ["黄心", "紫薯", "荷兰15"]),
    ("马铃薯", "malingshu", "vegetables.root", ["夏波蒂", "费乌瑞它"]),
    ("西红柿", "xihongshi", "vegetables.solanaceous", ["粉果", "普罗旺斯"]),
    ("番茄", "fanqie", "vegetables.solanaceous", ["铁皮", "千禧"]),
    ("红薯", "hongshu", "vegetables.root", ["烟薯25", "西瓜红"]),
    ("地瓜", "digua", "vegetables.root", ["蜜薯", "板栗薯"]),
    ("玉米", "yumi", "grain_oil.coarse_grains", ["甜糯", "水果玉米", "黄糯"]),
    ("黄瓜", "huanggua", "vegetables.melon_veg", ["旱黄瓜", "水果黄瓜"]),
    ("茄子", "qiezi", "vegetables.solanaceous", ["长茄", "圆茄"]),
    ("辣椒", "lajiao", "vegetables.solanaceous", ["朝天椒", "线椒", "二荆条"]),
    ("白菜", "baicai", "vegetables.leafy", ["大白菜", "娃娃菜"]),
    ("萝卜", "luobo", "vegetables.root", ["白萝卜", "胡萝卜", "水果萝卜"]),
    ("洋葱", "yangcong", "vegetables.allium", ["紫皮", "黄皮"]),
    ("大蒜", "dasuan", "vegetables.allium", ["紫皮蒜", "独头蒜"]),
    ("生姜", "shengjiang", "vegetables.allium", ["小黄姜", "大黄姜"]),
    ("山药", "shanyao", "vegetables.root", ["铁棍", "麻山药"]),
    ("莲藕", "lianou", "vegetables.root", ["九孔", "七孔"]),
    ("南瓜", "nangua", "vegetables.melon_veg", ["贝贝", "板栗"]),
    ("芹菜", "qincai", "vegetables.leafy", ["西芹", "本芹"]),
    ("菠菜", "bocai", "vegetables.leafy", ["大叶", "尖叶"]),
    ("大米", "dami", "grain_oil.rice", ["稻花香", "长粒香", "珍珠米"]),
    ("小米", "xiaomi", "grain_oil.coarse_grains", ["黄小米", "沁州黄"]),
    ("面粉", "mianfen", "grain_oil.wheat_flour", ["高筋", "石磨"]),
    ("花生", "huasheng", "grain_oil.beans", ["四粒红", "白沙"]),
    ("黄豆", "huangdou", "grain_oil.beans", ["东北大豆", "黑豆"]),
    ("绿豆", "lvdou", "grain_oil.beans", ["明绿豆", "毛绿豆"]),
    ("菜籽油", "caiziyou", "grain_oil.edible_oil", ["压榨", "小榨"]),
    ("芝麻油", "zhimayou", "grain_oil.edible_oil", ["小磨", "冷榨"]),
    ("土鸡蛋", "tujidan", "livestock_poultry.eggs", ["散养", "林下"]),
    ("鸭蛋", "yadan", "livestock_poultry.eggs", ["咸鸭蛋", "海鸭蛋"]),
    ("土鸡", "tuji", "livestock_poultry.poultry", ["三黄鸡", "乌鸡"]),
    ("猪肉", "zhurou", "livestock_poultry.pork", ["黑猪", "五花"]),
    ("牛肉", "niurou", "livestock_poultry.beef_mutton", ["黄牛", "牛腱"]),
    ("羊肉", "yangrou", "livestock_poultry.beef_mutton", ["滩羊", "羊排"]),
    ("蜂蜜", "fengmi", "livestock_poultry.eggs", ["槐花蜜", "枣花蜜", "土蜂蜜"]),
    ("大闸蟹", "dazhaxie", "aquatic.shrimp_crab", ["阳澄湖", "公蟹"]),
    ("小龙虾", "xiaolongxia", "aquatic.shrimp_crab", ["清水", "麻辣"]),
    ("鲫鱼", "jiyu", "aquatic.freshwater_fish", ["野生", "池塘"]),
    ("草鱼", "caoyu", "aquatic.freshwater_fish", ["脆肉鲩", "鲜活"]),
    ("海带", "haidai", "aquatic.dried_seafood", ["干海带", "海带结"]),
    ("绿茶", "lvcha", "tea.green_tea", ["龙井", "碧螺春", "毛尖"]),
    ("红茶", "hongcha", "tea.black_tea", ["滇红", "正山小种", "祁门红茶"]),
    ("普洱", "puer", "tea.dark_tea", ["生茶", "熟茶"]),
    ("白茶", "baicha", "tea.green_tea", ["白毫银针", "寿眉"]),
    ("乌龙茶", "wulongcha", "tea.oolong", ["铁观音", "大红袍"]),
    ("香菇", "xianggu", "fungi.shiitake", ["花菇", "冬菇"]),
    ("木耳", "muer", "fungi.wood_ear", ["黑木耳", "秋木耳"]),
    ("银耳", "yiner", "fungi.wood_ear", ["古田", "通江"]),
    ("松茸", "songrong", "fungi.wild_mushroom", ["香格里拉", "冻干"]),
    ("平菇", "pinggu", "fungi.wild_mushroom", ["秀珍菇", "鲜平菇"]),
]
ADJ = ["", "", "有机", "精品", "农家", "新鲜", "特级", "高山", "原生态", "散养", "古法", "当季"]
SIZE = ["5斤装", "10斤装", "2.5kg", "5kg", "500g", "1kg", "整箱", "礼盒", "3斤装", "20斤"]
PHRASE = ["新鲜采摘", "产地直发", "现摘现发", "坏果包赔", "合作社直供", "农户自种", "冷链到家", "口感香甜"]
GRADES = ["premium", "grade_1", "grade_2", "ungraded"]


def cities():
    out = []
    with open(os.path.join(ROOT, "domain/data/regions.tsv"), encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#") and "\t" in l]
    counties = sorted(c for c, _ in rows if len(c) == 6)
    for code, name in rows:
        if len(code) != 4 or name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        county = next((c for c in counties if c.startswith(code) and not c.endswith("00")), None)
        if county is None:
            continue
        for suffix in ("市", "地区", "盟"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                name = name[: -len(suffix)]
                break
        if "自治州" in name:
            continue
        out.append((name, county))
    return out


def zipf_weights(n, s):
    return [1.0 / (r + 1) ** s for r in range(n)]


def listings(n, path):
    rnd = random.Random(2026)
    cs = cities()
    pw = zipf_weights(len(PRODUCTS), 0.8)
    cw = zipf_weights(len(cs), 0.6)
    products = rnd.choices(range(len(PRODUCTS)), weights=pw, k=n)
    places = rnd.choices(range(len(cs)), weights=cw, k=n)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            name, _, cat, varieties = PRODUCTS[products[i]]
            city, region = cs[places[i]]
            variety = rnd.choice(varieties)
            title = f"{city}{rnd.choice(ADJ)}{name} {rnd.choice(SIZE)}"
            desc = f"{city}{rnd.choice(PHRASE)}，{variety}，{rnd.choice(PHRASE)}。"
            r = rnd.random()
            certs = "green" if r < 0.2 else "geographic_indication" if r < 0.3 else "organic" if r < 0.35 else ""
            mode = "presale" if rnd.random() < 0.08 else "spot"
            price = rnd.randrange(300, 30000, 10)
            sold = int(rnd.paretovariate(1.2)) - 1
            age = rnd.randrange(0, 365 * 24 * 60)
            out.write("\t".join([title, variety, desc, cat, region, rnd.choice(GRADES), mode, certs,
                                 str(price), str(min(sold, 100000)), str(age)]) + "\n")


def typo(word, rnd):
    if len(word) < 5:
        return word
    i = rnd.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def queries(path):
    rnd = random.Random(7)
    cs = cities()
    provinces = sorted({c[:2] for _, c in cs})
    distinct = []
    odd = {"lianou": "lo", "yiner": "ye", "puer": "pe"}
    for name, py, _, varieties in PRODUCTS:
        initials = odd.get(py) or "".join(s[0] for s in split_pinyin(py))
        distinct += [name, py, initials, typo(py, rnd)] + varieties
        for adj in ADJ[2:6]:
            distinct.append(adj + name)
    for city, _ in cs:
        for name, _, _, _ in rnd.sample(PRODUCTS, 6):
            distinct.append(city + name)
            distinct.append(f"{city} {name}")
    distinct += ["洋芋", "马铃薯", "番茄", "番薯", "苞米", "凤梨", "奇异果", "草鸡", "柴鸡蛋"]
    seen, texts = set(), []
    for q in distinct:
        if q not in seen:
            seen.add(q)
            texts.append(q)
    rnd.shuffle(texts)
    facets = "facets=category,region,certification,grade,sale_mode"
    filters = ["", "", "", facets, facets, "sort=price_asc", "certification=green", "grade=premium",
               "min_price_fen=1000&max_price_fen=5000"]
    urls = []
    for q in texts:
        extra = rnd.choice(filters)
        if rnd.random() < 0.15:
            extra = (extra + "&" if extra else "") + "region_code=" + rnd.choice(provinces)
        urls.append(f"/api/v1/listings?q={quote(q)}&limit=20" + (f"&{extra}" if extra else ""))
    weights = zipf_weights(len(urls), 1.0)
    sample = rnd.choices(urls, weights=weights, k=50_000)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"-- {len(urls)} distinct queries, 50,000 requests drawn Zipf-like (s = 1)\n")
        out.write("local paths = {\n")
        for u in sample:
            out.write(json.dumps(u) + ",\n")
        out.write("}\n")
        out.write("local i = 0\n")
        out.write("init = function(args) i = math.random(#paths) end\n")
        out.write("request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
    print(len(urls))


INITIALS = ["zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
            "r", "z", "c", "s", "y", "w"]
FINALS = sorted(["a", "o", "e", "i", "u", "v", "ai", "ei", "ui", "ao", "ou", "iu", "ie", "ve", "er", "an",
                 "en", "in", "un", "ang", "eng", "ing", "ong", "ia", "iao", "ian", "iang", "iong", "ua",
                 "uo", "uai", "uan", "uang", "ue", "van"], key=len, reverse=True)


def split_pinyin(py):
    """Syllables of a toneless pinyin word (enough for these names)."""
    out, i = [], 0
    while i < len(py):
        ini = next((x for x in INITIALS if py.startswith(x, i)), "")
        j = i + len(ini)
        fin = next((f for f in FINALS if py.startswith(f, j)
                    and not (j + len(f) < len(py) and f.endswith(("n", "g")) and py[j + len(f)] in "aeiouv"
                             and f[:-1] in FINALS)), None)
        if fin is None:
            fin = py[j] if j < len(py) else ""
        out.append(ini + fin)
        i = j + max(len(fin), 1) if fin else j + 1
    return out


if __name__ == "__main__":
    if sys.argv[1] == "listings":
        listings(int(sys.argv[2]), sys.argv[3])
    else:
        queries(sys.argv[2])
