"""Real Pelican builds of small fixture sites, for plugin tests.

`make_site` writes content files into a temporary folder and builds it with the project's own
pelicanconf.py (or publishconf.py), so a test exercises exactly the plugins and theme the portal uses.
"""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "plugins"))

from content_model.build import BuildFailed, build  # noqa: E402

# A minimal registry every fixture site gets unless a test passes its own.
DEFAULT_REGISTRY = {
    "officials/tao-minghui.md": "Title: Tao Minghui\nAliases: 陶明辉, Tao Ming Hui\nRole: Mayor of Lanhai\nRole_Zh: 澜海市市长\n\nMayor.\n",
    "officials/liang-shuwen.md": "Title: Liang Shuwen\nAliases: 梁书文\nRole: Vice Mayor\n\nVice mayor.\n",
    "topics/urban-renewal.md": "Title: Urban renewal\nAliases: 城市更新\nSummary: Old neighbourhoods.\n\nAbout renewal.\n",
    "topics/public-transport.md": "Title: Public transport\nAliases: 公共交通\n\nBuses and metro.\n",
    "people/zhou-yiran.md": "Title: Zhou Yiran\nAliases: 周怡然\n\nReporter.\n",
    "people/wang-siqi.md": "Title: Wang Siqi\nAliases: 王思琪\n\nEditor.\n",
}


def article(
    title: str = "Lanhai opens metro line 4",
    date: str = "2026-03-18 09:30",
    topics: str = "Public transport",
    editors: str = "Wang Siqi",
    body: str = "The new line links the river district with the airport.",
    **fields: str,
) -> str:
    """The text of an article file; extra keyword arguments become header lines (`original_title=...`)."""
    header = {"Title": title, "Date": date, "Topics": topics, "Editors": editors}
    for key, value in fields.items():
        header[key.title()] = value
    lines = [f"{key}: {value}" for key, value in header.items() if value is not None]
    return "\n".join(lines) + "\n\n" + textwrap.dedent(body).strip() + "\n"


@dataclass
class BuiltSite:
    root: Path
    content: Path
    output: Path
    log: str

    def read(self, relative: str) -> str:
        return (self.output / relative).read_text(encoding="utf-8")

    def exists(self, relative: str) -> bool:
        return (self.output / relative).exists()


class SiteBuildError(AssertionError):
    def __init__(self, log: str):
        super().__init__(log)
        self.log = log


def write_content(content: Path, files: dict[str, str | bytes], registry: dict[str, str] | None = None) -> Path:
    """Write `files` (paths relative to the content folder) over the registry (the default one unless given)."""
    for relative, text in {**(DEFAULT_REGISTRY if registry is None else registry), **files}.items():
        path = content / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    (content / "articles").mkdir(parents=True, exist_ok=True)
    return content


def make_site(
    tmp_path: Path,
    files: dict[str, str | bytes],
    registry: dict[str, str] | None = None,
    publish: bool = False,
    fatal: str = "warnings",
    **overrides,
) -> BuiltSite:
    """Write `files` (paths relative to content/) and build; raise SiteBuildError with the log on failure."""
    content = write_content(tmp_path / "content", files, registry)
    output = tmp_path / "output"
    settings = {
        "PATH": str(content),
        "OUTPUT_PATH": str(output),
        "CACHE_PATH": str(tmp_path / "cache"),
        **overrides,
    }
    conf = REPO_ROOT / ("publishconf.py" if publish else "pelicanconf.py")
    log = io.StringIO()
    with contextlib.redirect_stderr(log), contextlib.redirect_stdout(io.StringIO()):
        try:
            build(conf, settings, fatal=fatal)
        except BuildFailed:
            raise SiteBuildError(log.getvalue()) from None
    return BuiltSite(tmp_path, content, output, log.getvalue())
