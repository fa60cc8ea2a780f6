"""publishing: hashed assets, hosting headers under real Chromium, reproducible builds, and `invoke publish` /
`invoke rollback` against real servers on loopback (OpenSSH sshd + rsync, bare git repositories over file:// and
ssh://, moto's S3 server)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import checkers
from tests.support.sites import DEFAULT_REGISTRY, REPO_ROOT, article, make_site

sys.path.insert(0, str(REPO_ROOT / "plugins"))
from publishing import deploy, hosting  # noqa: E402
from publishing.linkcheck import check_internal_links  # noqa: E402

SITEURL = "https://lanhai.example.gov"

# A small site: four articles (two languages), so a publish is quick and a one-article change is easy to follow.
FIXTURE_ARTICLES = {
    "articles/2026/metro-line-4.md": article(body="The new line links the river district with the airport."),
    "articles/2026/metro-line-4-zh.md": article(
        title="澜海地铁4号线开通", lang="zh", slug="metro-line-4", translation="true",
        topics="公共交通", editors="王思琪", body="新线路连接河区与机场。",
    ),
    "articles/2026/river-cleanup.md": article(
        title="River clean-up begins", date="2026-03-10 08:00", topics="Urban renewal",
        body="Work starts on the eastern bank.",
    ),
    "articles/2026/budget.md": article(
        title="Council adopts the budget", date="2026-02-01 10:00", officials="Tao Minghui",
        body="The budget funds two new schools.",
    ),
}
# The pages every page's footer links to.
FIXTURE_PAGES = {
    "pages/about.md": "Title: About this portal\nSlug: about\nLang: en\n\nAbout.\n",
    "pages/about.zh.md": "Title: 关于本站\nSlug: about\nLang: zh\n\n关于。\n",
    "pages/contact.md": "Title: Contact\nSlug: contact\nLang: en\n\nWrite to us.\n",
}


def write_content(root: Path, files: dict[str, str] | None = None) -> Path:
    content = root / "content"
    for relative, text in {**DEFAULT_REGISTRY, **FIXTURE_PAGES, **FIXTURE_ARTICLES, **(files or {})}.items():
        path = content / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return content


def tree_state(root: Path) -> dict[str, str]:
    """Every file and symlink under `root` with its content hash or link target: to prove nothing changed."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            state[key] = "-> " + os.readlink(path)
        elif path.is_file():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def run_publish(target: str, content: Path, **kwargs) -> deploy.Report:
    """Publish `content`, keeping its build cache next to it across publishes, as CI keeps cache/."""
    lines: list[str] = []
    kwargs.setdefault("cache", content.parent / "cache")
    report = deploy.publish(target, content=content, out=lines.append, **kwargs)
    report.printed = "\n".join(lines)
    return report


@pytest.fixture(autouse=True)
def _public_siteurl(monkeypatch):
    monkeypatch.setenv("SITEURL", SITEURL)
    for name in ("PUBLISH_TARGET", "PUBLISH_SSH_KEY", "PUBLISH_SSH_OPTIONS", "PUBLISH_KEEP_RELEASES", "PUBLISH_CNAME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def content(tmp_path) -> Path:
    return write_content(tmp_path / "src")


def change_one_article(content: Path) -> None:
    path = content / "articles/2026/river-cleanup.md"
    path.write_text(path.read_text(encoding="utf-8").replace("eastern bank", "western bank"), encoding="utf-8")


BROKEN = {
    "broken internal link": (
        "articles/2026/broken.md",
        article(title="Broken link", date="2026-01-05 09:00", body="See [the plan](/2019/01/no-such-plan/)."),
        "broken link '/2019/01/no-such-plan/'",
    ),
    "unknown official": (
        "articles/2026/unknown.md",
        article(title="Unknown official", date="2026-01-06 09:00", officials="Nobody Atall"),
        "Nobody Atall",
    ),
}


def assert_publish_refused(capsys, target: str, tmp_path: Path, case: str) -> None:
    relative, text, message = BROKEN[case]
    bad = write_content(tmp_path / "bad", {relative: text})
    with pytest.raises(deploy.PublishError) as refused:
        run_publish(target, bad)
    captured = capsys.readouterr()
    said = f"{refused.value}\n{captured.out}\n{captured.err}"
    assert "nothing was deployed" in str(refused.value)
    assert message in said, said


# --------------------------------------------------------------------------- sshd on loopback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """Debian's OpenSSH server on 127.0.0.1 with throwaway host and client keys; yields the client settings."""
    root = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    shutil.copy(root / "client_key.pub", root / "authorized_keys")
    port = free_port()
    host_public = (root / "host_key.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\nPidFile {root}/sshd.pid\n"
        f"AuthorizedKeysFile {root}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    server = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(root / "sshd_config")],
        stdout=subprocess.DEVNULL, stderr=open(root / "sshd.log", "wb"),
    )
    try:
        checkers.wait_until_listening(port, server, "sshd", root / "sshd.log")
        yield {
            "port": port,
            "PUBLISH_SSH_KEY": str(root / "client_key"),
            # Host trust from a known_hosts file, strictly checked: what CI does with its secret.
            "PUBLISH_SSH_OPTIONS": f"-o UserKnownHostsFile={root}/known_hosts -o StrictHostKeyChecking=yes",
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)


@pytest.fixture
def ssh_env(sshd, monkeypatch):
    monkeypatch.setenv("PUBLISH_SSH_KEY", sshd["PUBLISH_SSH_KEY"])
    monkeypatch.setenv("PUBLISH_SSH_OPTIONS", sshd["PUBLISH_SSH_OPTIONS"])
    return sshd


def live_files(site: Path) -> dict[str, Path]:
    current = site / "current"
    return {p.relative_to(current).as_posix(): p for p in sorted(current.rglob("*")) if p.is_file()}


def test_ssh_publish_change_and_rollback(ssh_env, content, tmp_path, monkeypatch):
    site = tmp_path / "srv" / "lanhai"
    target = f"ssh://root@127.0.0.1:{ssh_env['port']}{site}"
    monkeypatch.setenv("PUBLISH_KEEP_RELEASES", "3")

    dry = run_publish(target, content, dry_run=True)
    assert dry.dry_run and not site.exists(), "a dry run must not touch the server"
    assert dry.changes.added and "Would publish" in dry.printed

    first = run_publish(target, content)
    first_release = os.readlink(site / "current")
    assert first_release.startswith("releases/") and (site / first_release).is_dir()
    files = live_files(site)
    assert sorted(files) == sorted(first.changes.added)
    assert first.transferred == len(files) and "2026/03/metro-line-4/index.html" in files
    assert f"added   {len(files)}" in first.printed and f"Live at {SITEURL}/" in first.printed

    # Nothing changed: no new release.
    again = run_publish(target, content)
    assert not again.changes and os.readlink(site / "current") == first_release

    change_one_article(content)
    time.sleep(1.1)  # release names have one-second resolution
    second = run_publish(target, content)
    second_release = os.readlink(site / "current")
    assert second_release != first_release
    changed = set(second.changes.changed)
    assert "2026/03/river-cleanup/index.html" in changed
    # Search index fragments are named by content hash: a changed article renames its fragment, nothing else goes.
    assert all(p.startswith("pagefind/") for p in second.changes.removed), second.changes.removed
    # Only the changes travelled; every other file is a hard link to the previous release's copy.
    assert second.transferred == len(second.changes.added) + len(second.changes.changed)
    assert second.transferred < len(files) / 2, second.printed
    old, new = site / first_release, site / second_release
    for relative in ("2026/03/metro-line-4/index.html", "theme/css/portal.css"):
        assert (old / relative).stat().st_ino == (new / relative).stat().st_ino, relative
    assert (old / "2026/03/river-cleanup/index.html").stat().st_ino != (new / "2026/03/river-cleanup/index.html").stat().st_ino
    assert "western bank" in (new / "2026/03/river-cleanup/index.html").read_text(encoding="utf-8")

    deploy.rollback(target, out=lambda line: None)
    assert os.readlink(site / "current") == first_release
    assert "eastern bank" in (site / "current/2026/03/river-cleanup/index.html").read_text(encoding="utf-8")
    with pytest.raises(deploy.PublishError, match="nothing to roll back to"):
        deploy.rollback(target, out=lambda line: None)

    # Keep PUBLISH_KEEP_RELEASES releases, never the partial upload of an interrupted publish.
    (site / "releases/20000101T000000Z-deadbeef.partial").mkdir()
    for word in ("northern", "southern", "central"):
        path = content / "articles/2026/river-cleanup.md"
        path.write_text(re.sub(r"\w+ bank", f"{word} bank", path.read_text(encoding="utf-8")), encoding="utf-8")
        time.sleep(1.1)
        run_publish(target, content)
    releases = sorted(p.name for p in (site / "releases").iterdir())
    assert len(releases) == 3 and not any(name.endswith(".partial") for name in releases), releases
    assert os.readlink(site / "current") == f"releases/{releases[-1]}"
    assert "central bank" in (site / "current/2026/03/river-cleanup/index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_ssh_failed_check_leaves_the_server_untouched(ssh_env, content, tmp_path, capsys, case):
    site = tmp_path / "srv" / "lanhai"
    target = f"ssh://root@127.0.0.1:{ssh_env['port']}{site}"
    run_publish(target, content)
    before = tree_state(site)
    assert_publish_refused(capsys, target, tmp_path, case)
    assert tree_state(site) == before


def test_ssh_unreachable_host_fails_clearly(content, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISH_SSH_OPTIONS", "-o ConnectTimeout=5")
    with pytest.raises(deploy.PublishError, match="reading the releases on 127.0.0.1 failed"):
        run_publish(f"ssh://root@127.0.0.1:{free_port()}/srv/x", content)


# --------------------------------------------------------------------------- git


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def bare_repo(tmp_path) -> Path:
    repo = tmp_path / "pages.git"
    git("init", "--quiet", "--bare", str(repo))
    return repo


def branch_files(repo: Path, branch: str) -> dict[str, str]:
    listing = git("--git-dir", str(repo), "ls-tree", "-r", branch)
    return {line.split("\t", 1)[1]: line.split()[2] for line in listing.splitlines()}


@pytest.mark.parametrize("transport", ["file", "ssh"])
def test_git_publish_one_commit_per_publish(transport, bare_repo, content, tmp_path, monkeypatch, request):
    if transport == "ssh":
        port = request.getfixturevalue("ssh_env")["port"]
        target = f"git+ssh://root@127.0.0.1:{port}{bare_repo}#pages"
    else:
        target = f"git+file://{bare_repo}#pages"
    monkeypatch.setenv("PUBLISH_CNAME", "news.lanhai.example.gov")

    first = run_publish(target, content)
    files = branch_files(bare_repo, "pages")
    assert {".nojekyll", "CNAME", "index.html", "_headers", "2026/03/metro-line-4/index.html"} <= set(files)
    assert git("--git-dir", str(bare_repo), "show", "pages:CNAME") == "news.lanhai.example.gov"
    assert sorted(first.changes.added) == sorted(files)
    assert git("--git-dir", str(bare_repo), "rev-list", "--count", "pages") == "1"

    assert not run_publish(target, content).changes, "an unchanged site must not make a commit"
    assert git("--git-dir", str(bare_repo), "rev-list", "--count", "pages") == "1"

    change_one_article(content)
    second = run_publish(target, content)
    assert git("--git-dir", str(bare_repo), "rev-list", "--count", "pages") == "2"
    diff = git("--git-dir", str(bare_repo), "diff", "--name-only", "pages~1", "pages").splitlines()
    assert sorted(diff) == sorted(second.changes.changed + second.changes.added + second.changes.removed)
    assert "2026/03/river-cleanup/index.html" in diff and len(diff) < len(files) / 2

    deploy.rollback(target, out=lambda line: None)
    assert git("--git-dir", str(bare_repo), "rev-list", "--count", "pages") == "3"
    assert git("--git-dir", str(bare_repo), "rev-parse", "pages^{tree}") == git(
        "--git-dir", str(bare_repo), "rev-parse", "pages~2^{tree}"
    )


def test_git_failed_check_leaves_the_branch_untouched(bare_repo, content, tmp_path, capsys):
    target = f"git+file://{bare_repo}#pages"
    run_publish(target, content)
    tip = git("--git-dir", str(bare_repo), "rev-parse", "pages")
    assert_publish_refused(capsys, target, tmp_path, "broken internal link")
    assert git("--git-dir", str(bare_repo), "rev-parse", "pages") == tip


def test_invoke_publish_command_line(bare_repo, content, tmp_path):
    """The task itself, as CI runs it: --to, --content, --dry-run; exit 1 and a message when a check fails."""
    target = f"git+file://{bare_repo}#site"
    base = [sys.executable, "-m", "invoke", "publish", "--content", str(content)]
    env = {**os.environ, "SITEURL": SITEURL}

    dry = subprocess.run([*base, "--to", target, "--dry-run"], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "Would publish" in dry.stdout and not git("--git-dir", str(bare_repo), "branch", "--list", "site")

    done = subprocess.run(base, cwd=REPO_ROOT, capture_output=True, text=True, env={**env, "PUBLISH_TARGET": target})
    assert done.returncode == 0, done.stderr
    assert re.search(r"added +\d+", done.stdout) and f"Live at {SITEURL}/" in done.stdout

    relative, text, message = BROKEN["broken internal link"]
    (content / relative).write_text(text, encoding="utf-8")
    failed = subprocess.run([*base, "--to", target], cwd=REPO_ROOT, capture_output=True, text=True, env=env)
    assert failed.returncode == 1 and message in failed.stderr and "nothing was deployed" in failed.stderr


# --------------------------------------------------------------------------- S3 (moto server)


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch, request):
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
    client.create_bucket(Bucket=bucket)
    return client, bucket


def bucket_state(client, bucket: str) -> dict[str, tuple]:
    state = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            state[item["Key"]] = (item["ETag"], item["LastModified"])
    return state


def test_s3_publish_uploads_only_changes_with_headers(s3, content, tmp_path):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="outside/keep.txt", Body=b"not ours")
    client.put_object(Bucket=bucket, Key="portal/old-page/index.html", Body=b"<p>gone</p>")
    target = f"s3://{bucket}/portal"

    first = run_publish(target, content)
    keys = {k for k in bucket_state(client, bucket) if k.startswith("portal/")}
    assert first.changes.removed == ["old-page/index.html"], "files that left the site are deleted"
    assert "portal/old-page/index.html" not in keys and "outside/keep.txt" in bucket_state(client, bucket)
    assert "portal/_headers" not in keys and "portal/_nginx.conf" not in keys
    assert first.transferred == len(keys)

    page = client.head_object(Bucket=bucket, Key="portal/2026/03/metro-line-4/index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["CacheControl"] == hosting.SHORT_CACHE
    hashed = next(k for k in keys if re.fullmatch(r"portal/theme/css/portal\.[0-9a-f]{8}\.css", k))
    asset = client.head_object(Bucket=bucket, Key=hashed)
    assert asset["ContentType"] == "text/css; charset=utf-8" and asset["CacheControl"] == hosting.LONG_CACHE
    feed = client.head_object(Bucket=bucket, Key="portal/feeds/en.atom.xml")
    assert feed["ContentType"] == "application/atom+xml; charset=utf-8"

    before = bucket_state(client, bucket)
    change_one_article(content)
    second = run_publish(target, content)
    after = bucket_state(client, bucket)
    touched = {k for k in after if after[k] != before.get(k)} | (set(before) - set(after))
    expected = {f"portal/{p}" for p in second.changes.added + second.changes.changed + second.changes.removed}
    assert touched == expected and "portal/2026/03/river-cleanup/index.html" in touched
    assert second.transferred == len(second.changes.added) + len(second.changes.changed) < len(keys) / 2

    assert not run_publish(target, content).changes


def test_s3_failed_check_leaves_the_bucket_untouched(s3, content, tmp_path, capsys):
    client, bucket = s3
    target = f"s3://{bucket}/portal"
    run_publish(target, content)
    before = bucket_state(client, bucket)
    assert_publish_refused(capsys, target, tmp_path, "unknown official")
    assert bucket_state(client, bucket) == before


def object_states(client, bucket: str) -> dict[str, tuple]:
    """Per object: ETag (the bytes), content type and cache header (what readers get)."""
    states = {}
    for key in bucket_state(client, bucket):
        head = client.head_object(Bucket=bucket, Key=key)
        states[key] = (head["ETag"], head["ContentType"], head.get("CacheControl"))
    return states


def test_s3_upload_failing_midway_leaves_the_live_site_as_it_was(s3, content, monkeypatch):
    """The connection drops after a few uploads of the second publish: what was replaced is put back and what was
    added is removed, so readers keep the previous site. Publishing again then completes."""
    client, bucket = s3
    target = f"s3://{bucket}/portal"
    run_publish(target, content)
    before = object_states(client, bucket)
    change_one_article(content)
    (content / "articles/2026/new-story.md").write_text(
        article(title="A new story", date="2026-03-30 09:00", officials="Tao Minghui"), encoding="utf-8")

    from botocore.exceptions import EndpointConnectionError

    planned = run_publish(target, content, dry_run=True).changes
    assert planned.added and len(planned.changed) > 3
    # New files go up first: fail after all of them and three replacements.
    fail_at = len(planned.added) + 4
    calls = {"put": 0}
    original = deploy.S3Deployer.put

    def drops_midway(self, *args, **kwargs):
        calls["put"] += 1
        if calls["put"] == fail_at:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(deploy.S3Deployer, "put", drops_midway)
    with pytest.raises(deploy.PublishError, match="The live site is as it was"):
        run_publish(target, content)
    assert calls["put"] == fail_at
    assert object_states(client, bucket) == before

    monkeypatch.setattr(deploy.S3Deployer, "put", original)
    report = run_publish(target, content)
    assert report.changes and "portal/2026/03/new-story/index.html" in bucket_state(client, bucket)


def test_s3_has_no_rollback(content):
    with pytest.raises(deploy.PublishError, match="S3 keeps no releases"):
        deploy.rollback("s3://bucket/prefix", out=lambda line: None)


# --------------------------------------------------------------------------- targets and checks


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ssh://deploy@www.lanhai.example.gov:2222/srv/lanhai/", deploy.SshTarget("deploy", "www.lanhai.example.gov", 2222, "/srv/lanhai")),
        ("ssh://host/srv/x", deploy.SshTarget("", "host", None, "/srv/x")),
        ("git+ssh://git@example.org/org/site.git#pages", deploy.GitTarget("ssh://git@example.org/org/site.git", "pages")),
        ("git+file:///srv/site.git", deploy.GitTarget("file:///srv/site.git", "gh-pages")),
        ("s3://bucket/news/portal/", deploy.S3Target("bucket", "news/portal")),
        ("s3://bucket", deploy.S3Target("bucket", "")),
    ],
)
def test_parse_target(text, expected):
    assert deploy.parse_target(text) == expected


@pytest.mark.parametrize("text", ["", "ftp://host/x", "ssh://host", "ssh://host/", "s3:///prefix", "/srv/site"])
def test_parse_target_rejects(text):
    with pytest.raises(deploy.PublishError):
        deploy.parse_target(text)


def test_link_check_finds_broken_links_and_fragments(tmp_path):
    site = make_site(tmp_path, {"articles/2026/x.md": article(), **FIXTURE_PAGES}, publish=True)
    assert check_internal_links(site.output, SITEURL) == []
    page = site.output / "2026/03/x/index.html"
    html = page.read_text(encoding="utf-8")
    html = html.replace(
        "</main>",
        f'<a href="{SITEURL}/2019/01/missing/">a</a><a href="/topics/#no-such-id">b</a>'
        '<img src="../../../theme/missing.png" alt="c"><a href="https://other.example.org/x">d</a></main>',
    )
    page.write_text(html, encoding="utf-8")
    problems = check_internal_links(site.output, SITEURL)
    assert len(problems) == 3, problems
    assert all(p.startswith("2026/03/x/index.html:") for p in problems)
    assert any("2019/01/missing/index.html" in p for p in problems)
    assert any("no element with id 'no-such-id'" in p for p in problems)
    assert any("theme/missing.png" in p for p in problems)


def test_content_cache_is_dropped_when_code_changes(tmp_path):
    root = tmp_path / "repo"
    for name in ("pelicanconf.py", "plugins/x/__init__.py", "theme/templates/base.html"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    cache = root / "cache" / "pelican"
    deploy.prepare_content_cache(cache, root)
    (cache / "ArticlesGenerator-Readers").write_text("cached")
    deploy.prepare_content_cache(cache, root)
    assert (cache / "ArticlesGenerator-Readers").exists(), "unchanged inputs keep the cache"
    (root / "theme/templates/base.html").write_text("changed")
    deploy.prepare_content_cache(cache, root)
    assert not (cache / "ArticlesGenerator-Readers").exists(), "a theme change drops the cache"


# --------------------------------------------------------------------------- hashed assets, hosting files


def test_assets_are_linked_by_content_hash(published_site):
    home = (published_site / "index.html").read_text(encoding="utf-8")
    linked = re.findall(rf'{SITEURL}/(theme/[^"]+\.[0-9a-f]{{8}}\.(?:css|js|svg))"', home)
    assert any(p.startswith("theme/css/portal.") for p in linked) and any(p.startswith("theme/js/") for p in linked)
    for relative in linked:
        hashed = published_site / relative
        name = re.sub(r"\.([0-9a-f]{8})(\.\w+)$", r"\2", relative)
        digest = re.search(r"\.([0-9a-f]{8})\.\w+$", relative).group(1)
        assert hashed.read_bytes() == (published_site / name).read_bytes(), "the unhashed copy stays, same bytes"
        assert hashlib.sha256(hashed.read_bytes()).hexdigest()[:8] == digest
    assert 'href="/theme/css/portal.css"' not in home and f"{SITEURL}/theme/css/portal.css" not in home


def test_headers_file_is_consistent_for_every_host(published_site):
    rules = hosting.parse_headers_file((published_site / "_headers").read_text(encoding="utf-8"))
    hashed = deploy.hashed_assets(published_site)
    assert hashed and all(hosting.HASHED_NAME.search(p) for p in hashed)
    for relative in [*sorted(hashed), "index.html", "zh/index.html", "feeds/en.atom.xml"]:
        headers = hosting.headers_from_rules(rules, "/" + relative)
        names = [name.lower() for name, _ in headers]
        # Hosts disagree on how repeated headers combine, so the file never repeats one for a path.
        assert len(names) == len(set(names)), (relative, headers)
        values = dict(headers)
        assert values["X-Content-Type-Options"] == "nosniff"
        assert values["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "script-src 'self'" in values["Content-Security-Policy"]
        assert "'unsafe-inline'" not in values["Content-Security-Policy"]
        assert values.get("Cache-Control") == (hosting.LONG_CACHE if relative in hashed else None)
    nginx = (published_site / "_nginx.conf").read_text(encoding="utf-8")
    # nginx drops inherited add_header lines in a location with its own: each location repeats them all.
    blocks = re.findall(r"location = (\S+) \{(.*?)\}", nginx, re.S)
    assert sorted("/" + p for p in hashed) == sorted(path for path, _ in blocks)
    for _, body in blocks:
        assert body.count("add_header") == 4 and hosting.LONG_CACHE in body


class HeaderServingHandler(checkers._QuietHandler):
    """Serves files with the headers the generated `_headers` gives them, as Netlify or Cloudflare would."""

    rules: list = []

    def end_headers(self):
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        for name, value in hosting.headers_from_rules(self.rules, path):
            self.send_header(name, value)
        super().end_headers()


@contextlib.contextmanager
def serve_with_headers(folder: Path):
    handler_class = type("Handler", (HeaderServingHandler,), {"rules": []})
    with checkers.serve_directory(folder, handler_class) as base:
        yield base, handler_class


def csp_messages(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_site_works_under_the_content_security_policy(browser, tmp_path, monkeypatch):
    """The sample content built for a loopback origin, served with the generated headers: no CSP violation."""
    import urllib.request

    output = tmp_path / "site"
    output.mkdir()
    with serve_with_headers(output) as (base, handler):
        monkeypatch.setenv("SITEURL", base)
        deploy.build_site(REPO_ROOT / "publishconf.py", output, cache=tmp_path / "cache")
        handler.rules[:] = hosting.parse_headers_file((output / "_headers").read_text(encoding="utf-8"))
        # A page with inline script: proves the policy is enforced and that violations reach the log.
        (output / "csp-canary.html").write_text(
            '<!doctype html><html lang="en"><title>canary</title><script>document.title="ran"</script></html>'
        )
        browser.get_log("browser")  # drop what earlier tests left
        browser.get(f"{base}/csp-canary.html")
        assert browser.title == "canary", "the inline script ran: no CSP was applied"
        assert csp_messages(browser), "a blocked inline script must be reported in the browser log"

        with urllib.request.urlopen(f"{base}/") as response:
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        pages = ["/", "/zh/", "/topics/", "/officials/", "/about/"]
        pages.append("/" + next(output.glob("2026/*/*/index.html")).relative_to(output).parent.as_posix() + "/")
        pages.append("/" + next(output.glob("zh/20*/*/*/index.html")).relative_to(output).parent.as_posix() + "/")
        pages += ["/" + p.relative_to(output).parent.as_posix() + "/" for p in sorted(output.glob("search/index.html"))]
        for page in pages:
            browser.get(base + page)
            browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
            time.sleep(0.2)  # let deferred scripts, lazy images and fetches run
            assert csp_messages(browser) == [], page
            assert browser.execute_script("return document.documentElement.classList.contains('js')"), (
                f"{page}: portal.js did not run under the policy"
            )
        if (output / "search/index.html").is_file():
            # Search runs Pagefind's script and WebAssembly: the part of the site the policy could break.
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            browser.get(f"{base}/search/?q=metro")
            WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".app-search__result"))
            assert csp_messages(browser) == [], "/search/?q=metro"

            # Without 'wasm-unsafe-eval' Pagefind cannot compile its WebAssembly: the one relaxation is needed.
            tighter = (output / "_headers").read_text(encoding="utf-8").replace(" 'wasm-unsafe-eval'", "")
            handler.rules[:] = hosting.parse_headers_file(tighter)
            browser.get(f"{base}/search/?q=metro")
            time.sleep(3)
            assert any("WebAssembly" in m for m in csp_messages(browser))


# --------------------------------------------------------------------------- reproducible output


SNAPSHOT_PARTS = ("pelicanconf.py", "publishconf.py", "plugins", "theme", "content")


def snapshot_tree(destination: Path) -> Path:
    """The parts of the work tree a build reads, copied with fresh modification times (as a new clone has)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    destination.mkdir(parents=True)
    for name in SNAPSHOT_PARTS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore, copy_function=shutil.copy)
        else:
            shutil.copy(source, destination / name)
    return destination


def build_in_subprocess(tree: Path, output: Path, cache: Path) -> None:
    script = (
        "import sys; sys.path.insert(0, 'plugins');"
        "from content_model.build import build;"
        f"build('publishconf.py', {{'OUTPUT_PATH': {str(output)!r}, 'CACHE_PATH': {str(cache)!r}}}, fatal='warnings')"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "SITEURL": SITEURL, "PYTHONHASHSEED": "random"})
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Same sources built three ways: cold; warm-cache rebuild into another folder; cold build of a copy at another
    path with fresh modification times (a fresh clone). {name: {path: sha256}}."""
    root = tmp_path_factory.mktemp("reproducible")
    first_tree = snapshot_tree(root / "clone-a")
    build_in_subprocess(first_tree, root / "cold", root / "cache-a")
    build_in_subprocess(first_tree, root / "warm", root / "cache-a")
    second_tree = root / "clone-b"
    shutil.copytree(first_tree, second_tree, copy_function=shutil.copy)
    build_in_subprocess(second_tree, root / "clone", root / "cache-b")
    return {name: deploy.site_manifest(root / name) for name in ("cold", "warm", "clone")}


def differing(first: dict[str, str], second: dict[str, str]) -> list[str]:
    return sorted(p for p in set(first) | set(second) if first.get(p) != second.get(p))


def test_two_builds_of_the_same_commit_are_byte_identical(three_builds):
    cold = three_builds["cold"]
    assert len(cold) > 100 and any(p.startswith("theme/css/portal.") for p in cold)
    warm = differing(cold, three_builds["warm"])
    assert not warm, f"a warm-cache build differs in {len(warm)} file(s): {warm[:20]}"
    # The fresh copy has its own caches, so Pagefind runs again: its bundle must come out identical too.
    assert any(p.startswith("pagefind/filter/") for p in cold)
    clone = differing(cold, three_builds["clone"])
    assert not clone, f"a build of a fresh copy differs in {len(clone)} file(s): {clone[:20]}"


# --------------------------------------------------------------------------- secrets


SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+]{40}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "GitLab token": re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
}


def find_secrets(root: Path, relative_paths: list[str]) -> list[str]:
    found = []
    for relative in relative_paths:
        path = root / relative
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes()[:2_000_000].decode("utf-8", errors="ignore")
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                found.append(f"{relative}:{text.count(chr(10), 0, match.start()) + 1}: looks like a {kind}")
    return found


def test_secret_scan_finds_planted_secrets(tmp_path):
    key_header = "-----BEGIN OPENSSH " + "PRIVATE KEY-----"
    (tmp_path / "a.txt").write_text(f"x\n{key_header}\nabc\n")
    (tmp_path / "b.py").write_text('KEY = "AKIA' + "ABCDEFGHIJKLMNOP" + '"\n')
    assert find_secrets(tmp_path, ["a.txt", "b.py"]) == [
        "a.txt:2: looks like a private key",
        "b.py:1: looks like a AWS access key id",
    ]


def test_no_secrets_in_the_repository():
    """Tracked files and new files not yet ignored: no private keys or cloud credentials (issue 10)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout
    paths = [p for p in listing.split("\0") if p and not p.startswith("node_modules/")]
    assert len(paths) > 50
    assert find_secrets(REPO_ROOT, paths) == []
