"""Public-site settings: `invoke preview` and `invoke publish`. Absolute URLs from the SITEURL environment variable.

SITEURL defaults to https://lanhai.example.gov (the demo city's fictional address); CI sets the real one.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pelicanconf import *  # noqa: E402,F403

SITEURL = os.environ.get("SITEURL", "https://lanhai.example.gov").rstrip("/")
RELATIVE_URLS = False
PORTAL_FEED_BASE = SITEURL + "/"
# Where `invoke publish` deploys unless --to or $PUBLISH_TARGET says otherwise (plugins/publishing/deploy.py):
# ssh://user@host[:port]/path, git+ssh://...#branch, git+file://...#branch or s3://bucket/prefix.
PUBLISH_TARGET = ""
