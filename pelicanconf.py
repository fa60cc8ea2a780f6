"""Development settings: `invoke build` / `invoke serve`. Relative URLs, so the output works from any host and port.

Every setting our plugins read is documented here, grouped by plugin. `publishconf.py` imports this file and
switches to absolute URLs for the public site.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# --- Site identity --------------------------------------------------------------------------------
SITENAME = "Lanhai Policy News"
SITENAME_ZH = "澜海政策新闻"
SITESUBTITLE = "Municipal policy news of Lanhai: meetings, speeches, plans and regulations"
SITE_OWNER = "Lanhai Municipal People's Government Information Office"
SITE_OWNER_ZH = "澜海市人民政府新闻办公室"
SITE_CONTACT_EMAIL = "press@lanhai.example.gov"
SITE_CONTACT_PHONE = "+86 000 0000 0000"
# Stable authority for Atom ids (tag: URIs): never changes with the host the site is served from.
SITE_DOMAIN = "lanhai.example.gov"
# Identity lines Chinese government sites carry in the footer (fictional values for the demo city).
SITE_ID_CODE = "0000000000"
SITE_ICP = "澜ICP备00000000号"
AUTHOR = SITE_OWNER

SITEURL = ""
RELATIVE_URLS = True
# Base of the absolute links inside feeds and share links in development builds; publishconf uses SITEURL.
PORTAL_FEED_BASE = os.environ.get("PORTAL_DEV_URL", "http://127.0.0.1:8000/")

PATH = "content"
OUTPUT_PATH = "output"
# PORTAL_CLEAN_OUTPUT (content_model): every build starts from an empty output folder, so a deleted or renamed
# article leaves nothing behind; the caches (pages, cards, images, search) make that cheap. The folder is emptied
# only once the content has passed validation, so a build stopped by content errors leaves the last site in place
# (Pelican's own DELETE_OUTPUT_DIRECTORY would empty it before reading anything).
PORTAL_CLEAN_OUTPUT = True
DELETE_OUTPUT_DIRECTORY = False
THEME = "theme"
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"

# --- Content layout -------------------------------------------------------------------------------
ARTICLE_PATHS = ["articles"]
PAGE_PATHS = ["pages"]
STATIC_PATHS = ["images"]
# Registries are read by the content_model plugin, never built as pages.
ARTICLE_EXCLUDES = ["officials", "topics", "people", "pages", "images"]
PAGE_EXCLUDES = ["officials", "topics", "people", "articles", "images"]
READERS = {"rst": None, "html": None, "htm": None}
IGNORE_FILES = [".#*", "README.md", "*~", "*.swp"]

ARTICLE_URL = "{date:%Y}/{date:%m}/{slug}/"
ARTICLE_SAVE_AS = ARTICLE_URL + "index.html"
ARTICLE_LANG_URL = "{lang}/{date:%Y}/{date:%m}/{slug}/"
ARTICLE_LANG_SAVE_AS = ARTICLE_LANG_URL + "index.html"
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = PAGE_URL + "index.html"
PAGE_LANG_URL = "{lang}/{slug}/"
PAGE_LANG_SAVE_AS = PAGE_LANG_URL + "index.html"
DRAFT_URL = "drafts/{slug}/"
DRAFT_SAVE_AS = DRAFT_URL + "index.html"
DRAFT_LANG_URL = "drafts/{lang}/{slug}/"
DRAFT_LANG_SAVE_AS = DRAFT_LANG_URL + "index.html"
DEFAULT_CATEGORY = "News"
USE_FOLDER_AS_CATEGORY = False
SLUGIFY_SOURCE = "basename"

# Listing pages are written by the listing_pages plugin, per interface language; Pelican's own are off.
DIRECT_TEMPLATES = []
TAG_SAVE_AS = TAGS_SAVE_AS = CATEGORY_SAVE_AS = CATEGORIES_SAVE_AS = ""
AUTHOR_SAVE_AS = AUTHORS_SAVE_AS = ARCHIVES_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = MONTH_ARCHIVE_SAVE_AS = DAY_ARCHIVE_SAVE_AS = ""
FEED_ALL_ATOM = FEED_ALL_RSS = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = TAG_FEED_ATOM = None
FEED_MAX_ITEMS = 50

DEFAULT_PAGINATION = 12
PAGINATED_TEMPLATES = {"index": None, "section": None, "topic": 20, "official": 20, "person": 20}
PAGINATION_PATTERNS = (
    (1, "{url}", "{save_as}"),
    (2, "{url}page/{number}/", "{base_name}/page/{number}/index.html"),
)

# --- Markdown ---------------------------------------------------------------------------------------
# Read by content_model's reader (one Markdown instance per build, output sanitised with nh3). Article files Pelican's
# reader cache does not hold yet are read ahead in worker processes when there are at least PORTAL_READ_PARALLEL_MIN
# of them (default 300; a cold build of a large site): PORTAL_READ_WORKERS workers (default: every usable core; 1
# reads on one core). The build still validates and reports every file in order, as a serial build does.
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.sane_lists": {},
    },
    "output_format": "html",
}
FORMATTED_FIELDS = []  # Summary is plain text, escaped like every other metadata value

# --- Templates ----------------------------------------------------------------------------------------
# Autoescape everywhere: metadata is text; only sanitised article bodies are marked safe (in templates).
# No auto_reload: every build (a live-preview rebuild too) makes new environments, so a template is loaded once
# per build, and Jinja need not stat its file on each of the thousands of includes that use it.
JINJA_ENVIRONMENT = {"trim_blocks": True, "lstrip_blocks": True, "autoescape": True, "auto_reload": False,
                     "extensions": []}

# Theme assets linked from every page, in order (theme/static/css/*.css, theme/static/js/*.js).
# One file per component; a plugin that brings a component adds its file here.
PORTAL_STYLESHEETS = ["portal.css", "share.css", "display.css", "reader.css"]
PORTAL_SCRIPTS = ["portal.js", "share.js", "display.js"]

# --- Caching ---------------------------------------------------------------------------------------------
# Content hashes, not mtimes (a git checkout resets mtimes); no gzip so an unchanged cache is cheap to save.
CACHE_PATH = "cache/pelican"
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CHECK_MODIFIED_METHOD = "sha1"
GZIP_CACHE = False
CONTENT_CACHING_LAYER = "reader"

# --- Plugins (explicit list: no auto-discovery)
# incremental: INCREMENTAL_ENABLED (default True), INCREMENTAL_CACHE_PATH (default CACHE_PATH/pages: rendered
# pages by input key), INCREMENTAL_GLOBAL_KEYS (global context keys templates read beyond settings and their own
# arguments; default ("portal_sections",)), INCREMENTAL_PRERENDER (default True: a forked child renders listing pages
# while the build writes articles; needs fork and 2+ cores), INCREMENTAL_PRERENDER_MIN_ARTICLES (default 200),
# INCREMENTAL_PRERENDER_GENERATORS (default ("ListingGenerator", "ReaderFeaturesGenerator", "FeedsGenerator")),
# INCREMENTAL_PRERENDER_ARTICLES (default True: the child also takes article pages from the last one, once done).
# listing_pages caches feeds under CACHE_PATH/feeds. -------------------------------------------------------------
PLUGIN_PATHS = ["plugins"]
PLUGINS = ["content_model", "portal_i18n", "listing_pages", "images", "publishing", "share_cards", "share",
           "reader_features", "search", "discovery", "incremental"]

# content_model
# PORTAL_LANGUAGES: interface languages; the first is DEFAULT_LANG, served at /, the others under /<lang>/.
PORTAL_LANGUAGES = {
    "en": {"locale": "en", "name": "English", "og_locale": "en_GB"},
    "zh": {"locale": "zh-CN", "name": "中文", "og_locale": "zh_CN"},
}
# PORTAL_SECTIONS: the sections (Pelican categories) articles may use, with their names per language.
PORTAL_SECTIONS = {
    "News": {"en": "News", "zh": "新闻"},
    "Policy": {"en": "Policy", "zh": "政策"},
    "Meetings": {"en": "Meetings", "zh": "会议"},
    "Speeches": {"en": "Speeches", "zh": "讲话"},
    "Interpretation": {"en": "Interpretation", "zh": "解读"},
}

# share (plugins/share): share links, WeChat QR codes, canonical/Open Graph/Twitter/JSON-LD metadata.
# SHARE_NETWORKS: which share entries each article shows, in order; a list (every language) or {lang: [keys]}.
# Keys: wechat (QR code), weibo, qq, qzone, x, facebook, linkedin, telegram, whatsapp, email, copy, native.
# Languages not given use the plugin's default: Chinese pages lead with wechat, weibo, qq; [] hides the block.
# SHARE_NETWORKS = {"zh": ["wechat", "weibo", "qq", "qzone", "email", "copy", "native"]}
# Share links and metadata are absolute: SHARE_SITEURL, default SITEURL when absolute (publishconf.py), else
# PORTAL_FEED_BASE (development). SHARE_CACHE_PATH (QR code cache) defaults to "share" next to CACHE_PATH;
# SHARE_QR_SCALE = 4 pixels per QR module.

# share_cards (plugins/share_cards): 1200x630 og:image cards, cached by a hash of their inputs.
# Needs Debian's fonts-noto-cjk (the build stops with a clear message without it). SHARE_CARDS = True;
# SHARE_CARD_CACHE defaults to "share-cards" next to CACHE_PATH; SHARE_CARD_FONT / SHARE_CARD_FONT_BOLD /
# SHARE_CARD_FONT_INDEX (2 = Simplified Chinese face of the .ttc); SHARE_CARD_WORKERS (default: every core)
# and SHARE_CARD_POOL_MIN = 8 (more missing cards than this are drawn by a process pool).

# images (plugins/images): lead and in-body JPEG/PNG images as <picture> with WebP + JPEG/PNG renditions.
# IMAGES_WIDTHS = (480, 800, 1200, 1600) (never upscaled); IMAGES_SIZES = the <img sizes> value for the 44rem
# article column; IMAGES_WEBP_QUALITY = 80, IMAGES_JPEG_QUALITY = 82, IMAGES_ORIGINAL_JPEG_QUALITY = 90 (the
# metadata-free copy published at a photo's original URL); IMAGES_OUTPUT_DIR = "images/derived";
# IMAGES_CACHE_PATH defaults to "images" next to CACHE_PATH (cache/images); IMAGES_WORKERS (default: every core)
# and IMAGES_PARALLEL_THRESHOLD = 3 (more images to encode than this use a process pool).

# publishing (plugins/publishing): asset('css/x.css') -> theme/css/x.<sha256[:8]>.css (hashed copies written at
# the end of the build), output/_headers (Netlify/Cloudflare) and output/_nginx.conf from one header policy.
# PUBLISH_CSP: directives merged over the default strict policy (script-src 'self' 'wasm-unsafe-eval' for
# Pagefind, style-src 'self', img-src 'self' data:, ...); PUBLISH_REFERRER_POLICY; PUBLISH_CACHE_LONG /
# PUBLISH_CACHE_SHORT (Cache-Control of hashed assets / everything else); PUBLISH_HOSTING_FILES = True.
# Deploy settings (`invoke publish`): PUBLISH_TARGET and PUBLISH_CNAME live in publishconf.py or the environment;
# PUBLISH_KEEP_RELEASES = 5 (ssh); SSH keys and options only from the environment (PUBLISH_SSH_KEY/_OPTIONS).

# reader_features (plugins/reader_features): archives/, YYYY/, YYYY/MM/ per language; related articles,
# previous/next in the same language and reading time on every article. READER_CHARS_PER_MINUTE = 350 (Chinese
# characters), READER_WORDS_PER_MINUTE = 220 (other text); READER_RELATED_COUNT = 4;
# READER_RELATED_WEIGHTS = {"topics": 3, "officials": 2} (points per shared term); READER_RELATED_CANDIDATES_PER_TERM
# = 200 (the most recent stories of a term that are considered); READER_ARCHIVES = True;
# READER_YEAR_STORIES_PER_MONTH = 5 (each month's newest stories on a year's page; the month's page lists all; 0:
# the months only); READER_NOT_FOUND_PAGE = True (404.html and zh/404.html, the page a missing address is answered
# with).

# search (plugins/search): search/ per language and a Pagefind index of article bodies after every build, sharded
# by language and year (pagefind/ = newest shard of each language, pagefind/shards/<lang>-<year>/ + shards.json),
# each shard cached under CACHE_PATH/search/shards by a hash of its pages. SEARCH_PAGEFIND = True;
# SEARCH_BUNDLE_DIR = "pagefind"; SEARCH_PAGEFIND_OPTIONS = [] (extra Pagefind arguments); SEARCH_PAGE_SIZE = 10
# (results per "Show more"); SEARCH_SHARD_MAX_PAGES = 1000 (a bigger year is sharded by month); SEARCH_WORKERS = 0
# (parallel Pagefind runs; 0 = one per core); SEARCH_EARLY = True (index article pages, one shard at a time, in a
# process of its own while the rest of the site is written) and SEARCH_EARLY_MIN_PAGES = 200 (not for fewer pages),
# SEARCH_EARLY_MAX_PAGES = 800 (a bigger shard, such as the primary, is left to the final run, after the build's model);
# SEARCH_STAGING_PATH = "" (where the pages Pagefind reads are copied for it: empty = /dev/shm if any, else the cache).
# The CSP must allow 'wasm-unsafe-eval' in script-src for Pagefind's WebAssembly (publishing's default does).

# discovery (plugins/discovery): sitemap.xml (hreflang alternates), news-sitemap.xml, robots.txt, RSS feeds and
# per-section Atom/RSS feeds. DISCOVERY_SITEMAPS = True; DISCOVERY_SITEMAP_EXCLUDE = ["drafts/*", "404.html",
# "*/404.html"]; DISCOVERY_NEWS_DAYS = 2 and DISCOVERY_NEWS_MAX = 1000 (counted back from the newest article, not
# the clock); DISCOVERY_ROBOTS_DISALLOW = ["pagefind/", "drafts/"]; DISCOVERY_FEEDS = True.
