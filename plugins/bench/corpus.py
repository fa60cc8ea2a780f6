"""A deterministic synthetic corpus for `invoke bench`, laid out exactly like ``content/``.

``generate(root, articles, seed)`` writes ``root/articles/YYYY/<slug>.md`` (English) and ``<slug>.zh.md``
(Chinese), ``officials/``, ``topics/``, ``people/``, ``images/`` and ``pages/``, and returns a ``Corpus`` manifest the
runner uses to make edits. Everything comes from one ``random.Random(seed)``: the same seed gives the same bytes.
The city, its officials, reporters and events are fictional (the portal's demo city, Lanhai).

Shape (issue 9): articles over ten years (2016-2025), about a third in Chinese, a fifth of the files in
translation pairs; English bodies of 300-1,500 words, Chinese of 500-3,000 characters, with ``##`` headings, lists,
``{filename}`` links between articles and some tables; 60 topics, 200 officials and 80 people with English and
Chinese aliases; each article with 1-4 topics, 0-5 officials, 1-2 reporters and 1-2 editors; 5% with a lead image.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
import re
from pathlib import Path

TOPIC_COUNT = 60
OFFICIAL_COUNT = 200
PEOPLE_COUNT = 80
LEAD_IMAGE_COUNT = 6
SECTIONS = ("News", "Policy", "Meetings", "Speeches", "Interpretation")
FIRST_DAY = dt.datetime(2016, 1, 1, 7, 0)
SPAN_MINUTES = 10 * 365 * 24 * 60  # ten years

TOPICS = (
    ("Public transport", "公共交通"), ("Urban renewal", "城市更新"), ("Housing", "住房保障"), ("Education", "教育"),
    ("Health care", "医疗卫生"), ("Elderly care", "养老服务"), ("Environment", "生态环境"), ("Water", "水务"),
    ("Flood control", "防汛抗旱"), ("Budget and finance", "财政预算"), ("Economy", "经济发展"),
    ("Employment", "就业创业"), ("Tourism", "文化旅游"), ("Culture", "文化事业"), ("Sports", "体育"),
    ("Science and technology", "科技创新"), ("Intellectual property", "知识产权"), ("Digital government", "数字政府"),
    ("Government services", "政务服务"), ("Public safety", "公共安全"), ("Emergency management", "应急管理"),
    ("Food safety", "食品安全"), ("Agriculture", "农业农村"), ("Rural revitalisation", "乡村振兴"),
    ("Transport infrastructure", "交通基础设施"), ("Roads and bridges", "道路桥梁"), ("Parks and green space", "公园绿地"),
    ("Air quality", "空气质量"), ("Waste sorting", "垃圾分类"), ("Energy", "能源"), ("Manufacturing", "制造业"),
    ("Trade and investment", "招商引资"), ("Ports and logistics", "港口物流"), ("Foreign affairs", "外事"),
    ("Social security", "社会保障"), ("Civil affairs", "民政"), ("Disability services", "残疾人服务"),
    ("Children and families", "儿童与家庭"), ("Women's affairs", "妇女事业"), ("Youth", "青年工作"),
    ("Veterans", "退役军人"), ("Ethnic and religious affairs", "民族宗教"), ("Rule of law", "法治建设"),
    ("Audit", "审计监督"), ("Statistics", "统计"), ("Market regulation", "市场监管"), ("Taxation", "税收"),
    ("Land and planning", "自然资源和规划"), ("Heritage protection", "文物保护"), ("Libraries", "图书馆"),
    ("Community governance", "社区治理"), ("Volunteer service", "志愿服务"), ("Weather and climate", "气象"),
    ("Forestry", "林业"), ("Fisheries", "渔业"), ("Marine affairs", "海洋"), ("Water supply", "供水"),
    ("Public health", "公共卫生"), ("Medical insurance", "医疗保障"), ("Vocational training", "职业培训"),
)
BUREAUS = (
    ("Transport Bureau", "交通运输局"), ("Housing and Urban-Rural Development Bureau", "住房和城乡建设局"),
    ("Education Bureau", "教育局"), ("Health Commission", "卫生健康委员会"), ("Civil Affairs Bureau", "民政局"),
    ("Ecology and Environment Bureau", "生态环境局"), ("Water Resources Bureau", "水务局"), ("Finance Bureau", "财政局"),
    ("Development and Reform Commission", "发展和改革委员会"), ("Commerce Bureau", "商务局"),
    ("Culture and Tourism Bureau", "文化和旅游局"), ("Science and Technology Bureau", "科学技术局"),
    ("Emergency Management Bureau", "应急管理局"), ("Market Supervision Administration", "市场监督管理局"),
    ("Natural Resources and Planning Bureau", "自然资源和规划局"), ("Agriculture and Rural Affairs Bureau", "农业农村局"),
    ("Human Resources and Social Security Bureau", "人力资源和社会保障局"), ("Justice Bureau", "司法局"),
    ("Audit Bureau", "审计局"), ("Statistics Bureau", "统计局"), ("Big Data Bureau", "大数据局"),
    ("Urban Management Bureau", "城市管理局"), ("Port Authority", "港务局"),
)
DISTRICTS = (
    ("Donghu", "东湖区"), ("Xishan", "西山区"), ("Nanpu", "南浦区"), ("Beigang", "北港区"), ("Jiangbin", "江滨区"),
    ("Qingshui", "清水区"), ("Baisha", "白沙区"), ("Lanxi", "澜溪区"),
)
SURNAMES = (
    ("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"), ("Yang", "杨"), ("Zhao", "赵"),
    ("Huang", "黄"), ("Zhou", "周"), ("Wu", "吴"), ("Xu", "徐"), ("Sun", "孙"), ("Hu", "胡"), ("Zhu", "朱"),
    ("Gao", "高"), ("Lin", "林"), ("He", "何"), ("Guo", "郭"), ("Ma", "马"), ("Luo", "罗"), ("Liang", "梁"),
    ("Song", "宋"), ("Zheng", "郑"), ("Xie", "谢"), ("Han", "韩"), ("Tang", "唐"), ("Feng", "冯"), ("Dong", "董"),
    ("Cheng", "程"), ("Cao", "曹"), ("Yuan", "袁"), ("Deng", "邓"), ("Fu", "傅"), ("Shen", "沈"), ("Peng", "彭"),
)
GIVEN = (
    ("jian", "建"), ("guo", "国"), ("ming", "明"), ("hui", "辉"), ("xiao", "晓"), ("mei", "梅"), ("wen", "文"),
    ("bo", "博"), ("hai", "海"), ("tao", "涛"), ("yi", "怡"), ("ran", "然"), ("si", "思"), ("qi", "琪"), ("lan", "兰"),
    ("fang", "芳"), ("zhi", "志"), ("yuan", "远"), ("dong", "栋"), ("sheng", "胜"), ("yu", "宇"), ("hang", "航"),
    ("shu", "淑"), ("hong", "红"), ("jun", "军"), ("li", "丽"), ("xin", "欣"), ("chen", "晨"), ("rui", "瑞"),
    ("ning", "宁"), ("kai", "凯"), ("feng", "峰"), ("yan", "燕"), ("jing", "静"), ("qiang", "强"), ("lei", "磊"),
)
PROJECTS = (
    ("bus routes", "公交线路"), ("community health centres", "社区卫生服务中心"), ("school places", "学位"),
    ("rental flats", "保障性租赁住房"), ("cycle lanes", "自行车道"), ("pocket parks", "口袋公园"),
    ("flood barriers", "防洪堤"), ("day-care centres for the elderly", "老年日间照料中心"), ("charging points", "充电桩"),
    ("service counters", "政务服务窗口"), ("sewage works", "污水处理厂"), ("wetland reserves", "湿地保护区"),
    ("metro stations", "地铁站"), ("job fairs", "招聘会"), ("start-up incubators", "创业孵化器"),
    ("street markets", "农贸市场"), ("libraries", "图书馆"), ("sports grounds", "体育场地"),
)
EN_VERBS = ("opens", "plans", "expands", "reviews", "completes", "announces", "upgrades", "funds")
EN_TITLE_SHAPES = (
    "{org} {verb} {count} new {project} in {district}",
    "{district} {verb} {project} as part of the {year} plan",
    "Lanhai {verb} {project} after public consultation",
    "{org} sets out timetable for {project}",
    "How the city's {project} will change in {year}",
    "Residents of {district} to get {count} more {project}",
)
ZH_TITLE_SHAPES = (
    "{org}在{district}新建{count}处{project}",
    "{district}推进{year}年{project}建设",
    "澜海市征求意见后启动{project}项目",
    "{org}公布{project}建设时间表",
    "{year}年全市{project}将有哪些变化",
    "{district}居民将新增{count}处{project}",
)
EN_SENTENCES = (
    "The {org} said the work on {project} in {district} would be finished by the end of {year}.",
    "Officials expect the {count} new {project} to serve about {big} residents.",
    "The plan was discussed at a meeting of the municipal government on {weekday}.",
    "Residents had asked for more {project} during a consultation that drew {big} comments.",
    "Funding of {money} million yuan comes from the municipal budget and district contributions.",
    "The {org} will publish progress reports every quarter on its website.",
    "Construction is planned in {count} phases so that services can continue during the work.",
    "A survey last year found that {percent} per cent of households in {district} used {project} every week.",
    "Contractors were chosen through open tender, the {org} said.",
    "The city will also train {count}00 staff to run the new facilities.",
    "Opening hours, addresses and contact numbers will be posted at each site before it opens.",
    "The measures follow the municipal plan for {year} approved by the people's congress.",
    "{district} district officials said the project had been one of the most requested by residents.",
    "Independent inspectors will check the quality of the work before it is handed over.",
    "Comments on the draft can be sent to the {org} until the end of the month.",
)
ZH_SENTENCES = (
    "{org}表示，{district}{project}建设工作将于{year}年底前完成。",
    "预计新建的{count}处{project}将服务周边约{big}名居民。",
    "市政府常务会议于{weekday}研究部署了相关工作。",
    "在此前的意见征集中，市民共提出{big}条建议，其中不少涉及{project}。",
    "项目总投资{money}亿元，由市级财政和各区共同承担。",
    "{org}将每季度在门户网站公布工作进展。",
    "工程将分{count}期实施，施工期间相关服务不中断。",
    "去年的调查显示，{district}有{percent}%的家庭每周使用{project}。",
    "施工单位通过公开招标确定。",
    "各站点开放前将公布开放时间、地址和联系电话。",
    "有关措施依据市人民代表大会批准的{year}年度计划实施。",
    "{district}相关负责人说，这是居民呼声最高的项目之一。",
    "工程完工后将由第三方机构进行质量验收。",
    "市民可在本月底前向{org}反映意见建议。",
    "下一步，有关部门将加强统筹协调，确保各项任务按期落地见效。",
)
EN_HEADINGS = ("Background", "What changes", "Funding", "Timetable", "What residents said", "Next steps", "Details")
ZH_HEADINGS = ("工作背景", "主要变化", "资金安排", "时间安排", "市民反响", "下一步工作", "具体措施")
WEEKDAYS = (("Monday", "周一"), ("Tuesday", "周二"), ("Wednesday", "周三"), ("Thursday", "周四"), ("Friday", "周五"))


@dataclasses.dataclass
class Article:
    """What the runner needs to know about one generated article file."""

    path: str  # relative to the corpus root, e.g. articles/2019/slug.md
    lang: str
    slug: str
    topics: list[str]  # registry slugs
    officials: list[str]
    has_image: bool
    translated: bool


@dataclasses.dataclass
class Corpus:
    root: Path
    seed: int
    articles: list[Article]
    topics: dict[str, tuple[str, str]]  # slug -> (English title, Chinese name)
    officials: dict[str, tuple[str, str]]
    people: dict[str, tuple[str, str]]

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _names(rng: random.Random, count: int, used: set[str]) -> list[tuple[str, str, str]]:
    """``count`` distinct fictional names as (English, Chinese, spaced pinyin alias), unique across calls."""
    names = []
    while len(names) < count:
        (sur, sur_zh), (g1, g1_zh), (g2, g2_zh) = rng.choice(SURNAMES), rng.choice(GIVEN), rng.choice(GIVEN)
        given = (g1 + g2).capitalize()
        english, chinese = f"{sur} {given}", sur_zh + g1_zh + g2_zh
        key = english.replace(" ", "").lower()
        if key in used or chinese in used or g1 == g2:
            continue
        used.update((key, chinese))
        names.append((english, chinese, f"{sur} {g1.capitalize()} {g2.capitalize()}"))
    return names


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _lead_image(rng: random.Random, index: int) -> bytes:
    """An abstract 1600x900 illustration (sky, river, blocks of buildings) as a JPEG."""
    from PIL import Image, ImageDraw

    width, height = 1600, 900
    image = Image.new("RGB", (width, height), (rng.randrange(150, 220), rng.randrange(190, 230), 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 700, width, height), fill=(40, 110 + index * 10, 140))
    x = 0
    while x < width:
        w, h = rng.randrange(60, 160), rng.randrange(150, 520)
        shade = rng.randrange(70, 190)
        draw.rectangle((x, 700 - h, x + w, 700), fill=(shade, shade, shade + 20))
        for wy in range(700 - h + 20, 690, 40):
            draw.rectangle((x + 12, wy, x + w - 12, wy + 12), fill=(230, 220, 150))
        x += w + rng.randrange(4, 30)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


class _Writer:
    """Fills sentence shapes with the corpus's own names and numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def values(self, lang: str, project: tuple[str, str], district: tuple[str, str], org: tuple[str, str]) -> dict:
        rng = self.rng
        zh = lang == "zh"
        weekday = rng.choice(WEEKDAYS)
        return {
            "org": org[1] if zh else org[0],
            "project": project[1] if zh else project[0],
            "district": district[1] if zh else district[0],
            "year": rng.randrange(2016, 2027),
            "count": rng.randrange(2, 12),
            "big": rng.randrange(2, 90) * 1000,
            "money": rng.randrange(2, 400) if not zh else f"{rng.randrange(2, 400) / 10:.1f}",
            "percent": rng.randrange(10, 90),
            "weekday": weekday[1] if zh else weekday[0],
        }

    def sentence(self, lang: str, context: tuple) -> str:
        shapes = ZH_SENTENCES if lang == "zh" else EN_SENTENCES
        project = self.rng.choice(PROJECTS) if self.rng.random() < 0.3 else context[0]
        text = self.rng.choice(shapes).format(**self.values(lang, project, *context[1:]))
        return text[0].upper() + text[1:] if lang == "en" else text

    def paragraph(self, lang: str, context: tuple) -> str:
        joiner = "" if lang == "zh" else " "
        return joiner.join(self.sentence(lang, context) for _ in range(self.rng.randrange(2, 6)))

    def body(self, lang: str, context: tuple, links: list[tuple[str, str]]) -> str:
        """Paragraphs up to the target length, with headings, maybe a list, a table and links."""
        rng = self.rng
        zh = lang == "zh"
        target = rng.randrange(500, 3001) if zh else rng.randrange(300, 1501)
        measure = len if zh else (lambda text: len(text.split()))
        blocks: list[str] = []
        size = 0
        pending_links = list(links)
        want_list = rng.random() < 0.4
        want_table = rng.random() < 0.12
        since_heading = 0
        headings = list(ZH_HEADINGS if zh else EN_HEADINGS)
        rng.shuffle(headings)
        while size < target:
            if blocks and since_heading >= rng.randrange(3, 6):
                # each heading once per article; "Part N" when an unusually long article runs out of them
                blocks.append("## " + (headings.pop() if headings else f"Part {len(blocks)}"))
                since_heading = 0
            paragraph = self.paragraph(lang, context)
            if pending_links and rng.random() < 0.5:
                target_path, text = pending_links.pop()
                paragraph += ("参见：" if zh else " See also: ") + f"[{text}]({{filename}}/{target_path})" + (
                    "。" if zh else "."
                )
            blocks.append(paragraph)
            size += measure(paragraph)
            since_heading += 1
            if want_list and size > target / 3:
                want_list = False
                marker = (lambda i: f"{i}.") if rng.random() < 0.3 else (lambda i: "-")
                items = [self.sentence(lang, context) for _ in range(rng.randrange(3, 7))]
                blocks.append("\n".join(f"{marker(i + 1)} {item}" for i, item in enumerate(items)))
                size += sum(measure(item) for item in items)
            if want_table and size > target / 2:
                want_table = False
                blocks.append(self.table(lang))
        for target_path, text in pending_links:
            blocks.append(("相关报道：" if zh else "Related: ") + f"[{text}]({{filename}}/{target_path})")
        return "\n\n".join(blocks) + "\n"

    def table(self, lang: str) -> str:
        rng = self.rng
        first = rng.randrange(2016, 2024)
        header = ["区" if lang == "zh" else "District"] + [
            f"{year}年" if lang == "zh" else str(year) for year in range(first, first + 3)
        ]
        rows = [header, ["---"] * len(header)]
        for district in rng.sample(DISTRICTS, rng.randrange(3, 7)):
            rows.append([district[1] if lang == "zh" else district[0]] + [str(rng.randrange(1, 500)) for _ in range(3)])
        return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _registries(rng: random.Random, root: Path) -> tuple[dict, dict, dict]:
    topics: dict[str, tuple[str, str]] = {}
    for title, chinese in TOPICS[:TOPIC_COUNT]:
        slug = slugify(title)
        aliases = [chinese] + ([f"{title} policy"] if rng.random() < 0.5 else [])
        topics[slug] = (title, chinese)
        _write(
            root,
            f"topics/{slug}.md",
            f"Title: {title}\nAliases: {', '.join(aliases)}\nSummary: News about {title.lower()} in Lanhai.\n\n"
            f"Coverage of {title.lower()} in the municipality of Lanhai (fictional).\n",
        )
    used: set[str] = set()
    officials: dict[str, tuple[str, str]] = {}
    for index, (english, chinese, spaced) in enumerate(_names(rng, OFFICIAL_COUNT, used)):
        slug = slugify(english)
        if index < 8:
            district = DISTRICTS[index]
            role = f"Head of {district[0]} District"
            role_zh = f"{district[1]}区长"
        else:
            bureau = BUREAUS[index % len(BUREAUS)]
            deputy = index >= 8 + len(BUREAUS)
            role = f"{'Deputy Director' if deputy else 'Director'} of the Lanhai Municipal {bureau[0]}"
            role_zh = f"澜海市{bureau[1]}{'副局长' if deputy else '局长'}"
        officials[slug] = (english, chinese)
        _write(
            root,
            f"officials/{slug}.md",
            f"Title: {english}\nAliases: {chinese}, {spaced}\nRole: {role}\nRole_Zh: {role_zh}\n\n"
            f"{english} is {role} (fictional).\n",
        )
    people: dict[str, tuple[str, str]] = {}
    for index, (english, chinese, _spaced) in enumerate(_names(rng, PEOPLE_COUNT, used)):
        slug = slugify(english)
        people[slug] = (english, chinese)
        job = "Reporter" if index % 2 == 0 else "Editor"
        _write(root, f"people/{slug}.md", f"Title: {english}\nAliases: {chinese}\n\n{job} (fictional).\n")
    return topics, officials, people


def _pages(root: Path) -> None:
    _write(
        root,
        "pages/about.md",
        "Title: About this portal\nSlug: about\nLang: en\n\nA benchmark corpus for the Lanhai policy news portal. "
        "Everything in it is fictional.\n\n## Contact\n\nSee the [contact page]({filename}/pages/contact.md).\n",
    )
    _write(root, "pages/about.zh.md", "Title: 关于本站\nSlug: about\nLang: zh\n\n本站为性能测试语料，内容均为虚构。\n")
    _write(
        root,
        "pages/contact.md",
        "Title: Contact\nSlug: contact\nLang: en\n\nWrite to [press@lanhai.example.gov](mailto:press@lanhai.example.gov).\n",
    )


def _slug_from_pinyin(title: str) -> str:
    from pypinyin import lazy_pinyin

    return slugify(" ".join(lazy_pinyin(title[:8])))


def generate(root: Path, articles: int = 10_000, seed: int = 2026) -> Corpus:
    """Write a corpus of ``articles`` article files into ``root`` (which must be empty or absent)."""
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; the corpus is generated into an empty folder")
    rng = random.Random(seed)
    topics, officials, people = _registries(rng, root)
    _pages(root)
    images = [f"images/lead-{i + 1:02d}.jpg" for i in range(LEAD_IMAGE_COUNT)]
    for index, image in enumerate(images):
        (root / image).parent.mkdir(parents=True, exist_ok=True)
        (root / image).write_bytes(_lead_image(rng, index))

    # Plan every file first (so bodies can link to any article), then write them.
    pairs = round(articles * 0.1)  # 2 files each: a fifth of the files
    chinese_only = max(0, round(articles / 3) - pairs)
    english_only = articles - 2 * pairs - chinese_only
    kinds = ["pair"] * pairs + ["zh"] * chinese_only + ["en"] * english_only
    rng.shuffle(kinds)
    topic_slugs, official_slugs, people_slugs = sorted(topics), sorted(officials), sorted(people)
    reporters, editors = people_slugs[0::2], people_slugs[1::2]
    used_slugs: set[str] = set()
    plans = []
    for kind in kinds:
        date = FIRST_DAY + dt.timedelta(minutes=rng.randrange(SPAN_MINUTES))
        context = (rng.choice(PROJECTS), rng.choice(DISTRICTS), rng.choice(BUREAUS))
        shape = rng.randrange(len(EN_TITLE_SHAPES))
        fill = {"verb": rng.choice(EN_VERBS), "count": rng.randrange(2, 30), "year": date.year}
        en_title = EN_TITLE_SHAPES[shape].format(
            org=context[2][0], project=context[0][0], district=context[1][0], **fill
        )
        en_title = en_title[0].upper() + en_title[1:]
        zh_title = ZH_TITLE_SHAPES[shape].format(
            org=context[2][1], project=context[0][1], district=context[1][1], count=fill["count"], year=date.year
        )
        base = slugify(en_title) if kind != "zh" else _slug_from_pinyin(zh_title)
        base = "-".join(base.split("-")[:8])
        slug, n = base, 1
        while slug in used_slugs:
            n += 1
            slug = f"{base}-{n}"
        used_slugs.add(slug)
        meta = {
            "date": date,
            "category": rng.choice(SECTIONS),
            "topics": rng.sample(topic_slugs, rng.randrange(1, 5)),
            "officials": rng.sample(official_slugs, rng.randrange(0, 6)),
            "reporters": rng.sample(reporters, rng.randrange(1, 3)),
            "editors": rng.sample(editors, rng.randrange(1, 3)),
            "image": rng.choice(images) if rng.random() < 0.05 else None,
            "modified": date + dt.timedelta(days=rng.randrange(1, 30)) if rng.random() < 0.2 else None,
            "context": context,
        }
        folder = f"articles/{date.year}"
        if kind in ("en", "pair"):
            plans.append((f"{folder}/{slug}.md", "en", slug, en_title, meta, kind == "pair"))
        if kind in ("zh", "pair"):
            zh_meta = dict(meta, date=date + dt.timedelta(hours=rng.randrange(1, 10)))
            if zh_meta["modified"] is not None and zh_meta["modified"] < zh_meta["date"]:
                zh_meta["modified"] = zh_meta["date"]
            plans.append((f"{folder}/{slug}.zh.md", "zh", slug, zh_title, zh_meta, kind == "pair"))

    writer = _Writer(rng)
    manifest = []
    for path, lang, slug, title, meta, translated in plans:
        zh = lang == "zh"
        sep = "、" if zh else ", "

        def names(registry: dict, slugs: list[str]) -> str:
            return sep.join(registry[s][1] if zh else registry[s][0] for s in slugs)

        links = []
        for _ in range(rng.randrange(0, 4)):
            other = plans[rng.randrange(len(plans))]
            if other[0] != path:
                links.append((other[0], other[3]))
        header = [
            f"Title: {title}",
            f"Date: {meta['date']:%Y-%m-%d %H:%M}",
        ]
        if meta["modified"] is not None:
            header.append(f"Modified: {meta['modified']:%Y-%m-%d %H:%M}")
        header += [f"Slug: {slug}", f"Lang: {lang}", f"Category: {meta['category']}"]
        if rng.random() < 0.6:
            header.append(f"Summary: {writer.sentence(lang, meta['context'])}")
        header.append(f"Topics: {names(topics, meta['topics'])}")
        if meta["officials"]:
            header.append(f"Officials: {names(officials, meta['officials'])}")
        header.append(f"Reporters: {names(people, meta['reporters'])}")
        header.append(f"Editors: {names(people, meta['editors'])}")
        if meta["image"]:
            district = meta["context"][1]
            if zh:
                header += [f"Image: {meta['image']}", f"Image_Alt: 插图：{district[1]}江边的楼群", "Image_Caption: 示意图。"]
            else:
                header += [
                    f"Image: {meta['image']}",
                    f"Image_Alt: Illustration of blocks of buildings by the river in {district[0]}",
                    "Image_Caption: An illustration.",
                ]
        text = "\n".join(header) + "\n\n" + writer.body(lang, meta["context"], links)
        _write(root, path, text)
        manifest.append(
            Article(path, lang, slug, list(meta["topics"]), list(meta["officials"]), bool(meta["image"]), translated)
        )
    return Corpus(root, seed, manifest, topics, officials, people)


# --- edits the benchmark times ------------------------------------------------------------------------


def body_edit_target(corpus: Corpus, run: int) -> Article:
    """An English article without a translation or image, different for each run, from the middle of the list."""
    candidates = [a for a in corpus.articles if a.lang == "en" and not a.translated and not a.has_image]
    return candidates[(len(candidates) // 2 + run) % len(candidates)]


def edit_body(corpus: Corpus, run: int) -> Article:
    """Change one article's body: a sentence is rewritten and a correction paragraph added."""
    target = body_edit_target(corpus, run)
    path = corpus.root / target.path
    text = path.read_text(encoding="utf-8")
    header, body = text.split("\n\n", 1)
    body = body.replace(".", f" (revised, edit {run + 1}).", 1)
    body += f"\n*Corrected in benchmark edit {run + 1}: an earlier version gave the wrong figure.*\n"
    path.write_text(header + "\n\n" + body, encoding="utf-8")
    return target


def metadata_edit_target(corpus: Corpus, run: int) -> Article:
    candidates = [
        a for a in corpus.articles if a.lang == "en" and not a.translated and len(a.topics) < 4 and len(a.officials) < 5
    ]
    return candidates[(len(candidates) // 3 + run) % len(candidates)]


def edit_metadata(corpus: Corpus, run: int) -> Article:
    """One article gains a topic and an official (the ones it lacks that come first by slug)."""
    target = metadata_edit_target(corpus, run)
    topic = next(slug for slug in sorted(corpus.topics) if slug not in target.topics)
    official = next(slug for slug in sorted(corpus.officials) if slug not in target.officials)
    path = corpus.root / target.path
    header, body = path.read_text(encoding="utf-8").split("\n\n", 1)
    lines = header.split("\n")
    out = []
    for line in lines:
        if line.startswith("Topics: "):
            line += ", " + corpus.topics[topic][0]
            out.append(line)
            if not target.officials:
                out.append("Officials: " + corpus.officials[official][0])
            continue
        if line.startswith("Officials: "):
            line += ", " + corpus.officials[official][0]
        out.append(line)
    path.write_text("\n".join(out) + "\n\n" + body, encoding="utf-8")
    target.topics.append(topic)
    target.officials.append(official)
    return target
