"""`invoke publish` / `invoke rollback`: build into a staging folder, check it, deploy it, or undo a deploy.

Pipeline (`publish`): resolve the target first (a typo fails before any work), build with publishconf.py into a
fresh temporary folder, run the content check and the internal link check, and only then touch the target. Any
failure raises `PublishError` with a message for the person at the terminal; nothing has been deployed then.

Targets (`parse_target`):

* ``ssh://[user@]host[:port]/path``: rsync into ``path/releases/<UTC time>-<site hash>.partial/`` with
  ``--link-dest`` to the live release (unchanged files become hard links, only changes travel), rename it to its
  final name, then switch the ``path/current`` symlink with ``ln -sfn`` + ``mv -T`` (one rename: visitors see the
  old release or the new one, never a mix). Keeps ``PUBLISH_KEEP_RELEASES`` releases (default 5). Rollback points
  ``current`` at the release before it.
* ``git+ssh://...#branch`` / ``git+file://...#branch`` (default branch ``gh-pages``): one commit per publish whose
  tree is exactly the site (+ ``.nojekyll``, + ``CNAME`` when ``PUBLISH_CNAME`` is set), pushed without force, so
  a concurrent publish fails instead of being overwritten. Rollback pushes a commit restoring the previous tree.
* ``s3://bucket/prefix``: boto3 (``AWS_ENDPOINT_URL`` for S3-compatible stores; credentials from the usual AWS_*
  variables). Uploads only files whose MD5 differs from the object's ETag, with Content-Type and Cache-Control from
  hosting.py; assets first, then HTML, then deletes files that left the site, so at every moment each live page
  only links files that exist. An upload that fails midway is undone: every replaced file is put back from a copy
  taken before, and every new file removed. S3 has no atomic switch and keeps no releases (no rollback: publish
  the older commit again).

SSH settings come only from the environment: ``PUBLISH_SSH_KEY`` (path of a private key file) and
``PUBLISH_SSH_OPTIONS`` (extra ssh arguments, e.g. ``-o UserKnownHostsFile=/path -o StrictHostKeyChecking=yes``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from .hosting import HOSTING_FILES, HEADERS_FILE, LONG_CACHE, HostingPolicy, headers_for, parse_headers_file
from .linkcheck import check_internal_links

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GIT_BRANCH = "gh-pages"
LISTED_PER_KIND = 15
# What the content cache depends on besides the content itself (Pelican only notices changed source files).
CACHE_INPUTS = ("pelicanconf.py", "publishconf.py", "requirements.txt", "plugins", "theme")
CACHE_STAMP = ".inputs.sha256"


class PublishError(Exception):
    """Publishing stopped; the message says why and what was (not) changed."""


# --------------------------------------------------------------------------- settings


def deploy_options(settings: dict | None = None, environ=os.environ) -> dict:
    """Every deploy setting, with its default: the environment wins over publishconf.py."""
    settings = settings or {}

    def pick(name, default=None):
        value = environ.get(name)
        return value if value not in (None, "") else settings.get(name, default)

    keep = pick("PUBLISH_KEEP_RELEASES", 5)
    try:
        keep = int(keep)
    except (TypeError, ValueError):
        raise PublishError(f"PUBLISH_KEEP_RELEASES must be a whole number, not {keep!r}") from None
    if keep < 2:
        raise PublishError("PUBLISH_KEEP_RELEASES must be at least 2 (the live release and one to roll back to)")
    return {
        "target": pick("PUBLISH_TARGET", ""),
        "keep_releases": keep,
        "cname": pick("PUBLISH_CNAME", ""),
        # Never read from settings: keys and host trust belong to the machine that deploys, not the repository.
        "ssh_key": environ.get("PUBLISH_SSH_KEY", ""),
        "ssh_options": shlex.split(environ.get("PUBLISH_SSH_OPTIONS", "")),
        "git_name": environ.get("GIT_AUTHOR_NAME") or "Lanhai publishing",
        "git_email": environ.get("GIT_AUTHOR_EMAIL") or f"publish@{settings.get('SITE_DOMAIN', 'localhost')}",
    }


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class SshTarget:
    user: str
    host: str
    port: int | None
    path: str

    @property
    def login(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"ssh://{self.login}{port}{self.path}"


@dataclass(frozen=True)
class GitTarget:
    url: str
    branch: str

    @property
    def over_ssh(self) -> bool:
        return self.url.startswith("ssh://")

    def __str__(self) -> str:
        return f"git+{self.url}#{self.branch}"


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


TARGET_FORMS = "ssh://user@host[:port]/path, git+ssh://user@host[:port]/repo.git#branch, git+file:///repo.git#branch, s3://bucket/prefix"


def parse_target(text: str):
    text = (text or "").strip()
    if not text:
        raise PublishError(
            "No publish target: pass --to, or set PUBLISH_TARGET in the environment or in publishconf.py "
            f"(one of {TARGET_FORMS})."
        )
    parts = urlsplit(text)
    if parts.scheme == "ssh":
        if not parts.hostname or not parts.path or parts.path == "/":
            raise PublishError(f"{text}: an ssh target needs a host and an absolute folder: ssh://user@host[:port]/path")
        return SshTarget(unquote(parts.username or ""), parts.hostname, parts.port, unquote(parts.path).rstrip("/"))
    if parts.scheme in ("git+ssh", "git+file"):
        url = text[len("git+"):].split("#", 1)[0]
        if parts.scheme == "git+file" and not parts.path:
            raise PublishError(f"{text}: a git+file target needs a path: git+file:///path/to/repo.git#branch")
        return GitTarget(url, parts.fragment or DEFAULT_GIT_BRANCH)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise PublishError(f"{text}: an s3 target needs a bucket: s3://bucket/prefix")
        return S3Target(parts.netloc, parts.path.strip("/"))
    raise PublishError(f"{text}: unknown publish target; use one of {TARGET_FORMS}")


# --------------------------------------------------------------------------- reports


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @classmethod
    def between(cls, old: dict[str, str], new: dict[str, str]) -> "Changes":
        """Compare two {path: digest} manifests."""
        return cls(
            added=sorted(set(new) - set(old)),
            changed=sorted(p for p in set(new) & set(old) if new[p] != old[p]),
            removed=sorted(set(old) - set(new)),
        )

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        out = []
        for kind in ("added", "changed", "removed"):
            paths = getattr(self, kind)
            out.append(f"  {kind:8}{len(paths)}")
            out += [f"    {p}" for p in paths[:LISTED_PER_KIND]]
            if len(paths) > LISTED_PER_KIND:
                out.append(f"    ... and {len(paths) - LISTED_PER_KIND} more")
        return out


@dataclass
class Report:
    target: str
    url: str
    changes: Changes
    dry_run: bool = False
    transferred: int | None = None  # files that travelled over the network (ssh)
    detail: str = ""  # release name, commit, ...

    def text(self) -> str:
        verb = "Would publish" if self.dry_run else "Published"
        if not self.changes and not self.dry_run:
            head = f"Nothing to publish: {self.target} already serves this build."
        else:
            head = f"{verb} to {self.target}" + (f" ({self.detail})" if self.detail else "") + ":"
        lines = [head, *self.changes.lines()]
        if self.transferred is not None:
            lines.append(f"  sent    {self.transferred} file(s) over the network")
        if not self.dry_run:
            lines.append(f"Live at {self.url}")
        return "\n".join(lines)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def site_manifest(output: Path, algorithm: str = "sha256", exclude=()) -> dict[str, str]:
    """{path relative to output (posix): digest} for every file, sorted."""
    return {
        p.relative_to(output).as_posix(): file_digest(p, algorithm)
        for p in sorted(output.rglob("*"))
        if p.is_file() and p.relative_to(output).as_posix() not in exclude
    }


def manifest_id(manifest: dict[str, str]) -> str:
    return hashlib.sha256("".join(f"{p}\0{d}\n" for p, d in manifest.items()).encode()).hexdigest()


# --------------------------------------------------------------------------- build and check


def cache_inputs_digest(root: Path = REPO_ROOT) -> str:
    """sha256 over settings, plugins, theme and requirements: what the content cache silently depends on."""
    digest = hashlib.sha256()
    for name in CACHE_INPUTS:
        base = root / name
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prepare_content_cache(cache: Path, root: Path = REPO_ROOT) -> None:
    """Drop Pelican's content cache when the code or settings it was made with changed (CI restores old caches)."""
    stamp = cache / CACHE_STAMP
    wanted = cache_inputs_digest(root)
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return
    if cache.is_dir():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    stamp.write_text(wanted + "\n")


def build_site(settings_file: Path, output: Path, content: Path | None = None, cache: Path | None = None) -> dict:
    """A strict build (warnings are errors) into `output`; returns the settings. Raises PublishError."""
    sys.path.insert(0, str(REPO_ROOT / "plugins"))
    from content_model.build import BuildFailed, build

    overrides = {"OUTPUT_PATH": str(output), "DELETE_OUTPUT_DIRECTORY": True}
    if content is not None:
        overrides["PATH"] = str(Path(content).resolve())
    if cache is not None:
        overrides["CACHE_PATH"] = str(cache)
    try:
        return build(settings_file, overrides, fatal="warnings")
    except BuildFailed:
        raise PublishError("The build failed (messages above); nothing was deployed.") from None


def run_content_check(content: Path | None) -> None:
    """The one place publishing runs `invoke check` (editor_tools): every content problem, before building."""
    try:
        from editor_tools.check import run as check_content
    except ImportError:  # without the editors' tools the strict build below still stops on content errors
        return
    if check_content(content=str(content) if content is not None else None) != 0:
        raise PublishError("`invoke check` found errors in the content (listed above); nothing was deployed.")


def check_site(output: Path, settings: dict) -> list[str]:
    """Checks of the built output that must pass before anything is deployed."""
    problems = check_internal_links(output, settings.get("SITEURL", ""))
    if not (output / "index.html").is_file():
        problems.append("index.html: the site has no home page")
    return problems


# --------------------------------------------------------------------------- commands


def _run(cmd: list[str], what: str, env=None, cwd=None, input_text=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=cwd, input=input_text, encoding="utf-8", errors="replace"
    )
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-3000:]
        raise PublishError(f"{what} failed (exit {proc.returncode}): {detail}")
    return proc


# --------------------------------------------------------------------------- ssh + rsync


RSYNC_BASE = ["rsync", "--recursive", "--links", "--checksum", "--8-bit-output", "--chmod=D755,F644"]
RELEASE_NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


class SshDeployer:
    def __init__(self, target: SshTarget, options: dict):
        self.target = target
        self.options = options

    def ssh_command(self) -> list[str]:
        cmd = ["ssh", "-o", "BatchMode=yes"]
        if self.target.port:
            cmd += ["-p", str(self.target.port)]
        if self.options["ssh_key"]:
            cmd += ["-i", self.options["ssh_key"], "-o", "IdentitiesOnly=yes"]
        return cmd + self.options["ssh_options"]

    def remote(self, script: str, what: str) -> str:
        return _run([*self.ssh_command(), self.target.login, script], f"{what} on {self.target.host}").stdout

    def rsync(self, *args: str, what: str) -> str:
        cmd = [*RSYNC_BASE, "-e", shlex.join(self.ssh_command()), *args]
        return _run(cmd, what).stdout

    def state(self, create: bool) -> tuple[str | None, list[str]]:
        """(live release name or None, finished releases sorted oldest first)."""
        root = shlex.quote(self.target.path)
        script = (
            "set -eu; "
            + (f"mkdir -p {root}/releases; " if create else f"test -d {root} || exit 0; ")
            + f"cd {root}; "
            'if [ -L current ]; then printf "current=%s\\n" "$(readlink current)"; '
            'elif [ -e current ]; then echo "error=current is not a symbolic link"; fi; '
            'for d in releases/*/; do [ -d "$d" ] && printf "release=%s\\n" "$(basename "$d")"; done; true'
        )
        current, releases = None, []
        for line in self.remote(script, "reading the releases").splitlines():
            key, _, value = line.partition("=")
            if key == "error":
                raise PublishError(f"{self.target}: {value}; move the site into releases/ first")
            if key == "current" and value:
                current = value.rstrip("/").rsplit("/", 1)[-1]
            elif key == "release" and RELEASE_NAME.match(value):
                releases.append(value)
        return current, sorted(releases)

    def plan(self, output: Path, current: str | None, manifest: dict[str, str]) -> Changes:
        """What would change relative to the live release (an rsync dry run: checksums, nothing written)."""
        if current is None:
            return Changes(added=sorted(manifest))
        listing = self.rsync(
            "--dry-run", "--delete", "--itemize-changes", f"{output}/",
            f"{self.target.login}:{self.target.path}/releases/{current}/",
            what="comparing with the live release",
        )
        changes = Changes()
        for line in listing.splitlines():
            code, path = line[:11], line[12:]
            if code.startswith("*deleting"):
                if not path.endswith("/"):
                    changes.removed.append(path)
            elif len(code) == 11 and code[1] == "f":
                (changes.added if code[2:].startswith("+++") else changes.changed).append(path)
        for kind in ("added", "changed", "removed"):
            getattr(changes, kind).sort()
        return changes

    def publish(self, output: Path, manifest: dict[str, str], dry_run: bool, url: str) -> Report:
        current, releases = self.state(create=not dry_run)
        changes = self.plan(output, current, manifest)
        release = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + manifest_id(manifest)[:8]
        report = Report(str(self.target), url, changes, dry_run=dry_run, detail=f"release {release}")
        if dry_run or (current is not None and not changes):
            if not changes:
                report.detail = f"release {current}"
            return report
        root = shlex.quote(self.target.path)
        # A leftover of an interrupted publish: never live, safe to remove.
        self.remote(f"rm -rf {root}/releases/*.partial", "removing unfinished uploads")
        args = ["--delete", "--stats"]
        if current is not None:
            args.append(f"--link-dest=../{current}")
        stats = self.rsync(
            *args, f"{output}/", f"{self.target.login}:{self.target.path}/releases/{release}.partial/",
            what="uploading the new release",
        )
        found = re.search(r"Number of regular files transferred: ([\d,]+)", stats)
        report.transferred = int(found.group(1).replace(",", "")) if found else None
        self.switch(release, finish_upload=True)
        self.prune(current_after=release, releases=[*releases, release])
        return report

    def switch(self, release: str, finish_upload: bool = False) -> None:
        """Point `current` at `release` with one rename (atomic on POSIX file systems)."""
        root = shlex.quote(self.target.path)
        name = shlex.quote(release)
        link = shlex.quote(f".current.{release}.tmp")
        script = f"set -eu; cd {root}; "
        if finish_upload:
            script += f"mv -T releases/{name}.partial releases/{name}; "
        script += f"ln -sfn releases/{name} {link}; mv -T {link} current"
        self.remote(script, "switching the live release")

    def prune(self, current_after: str, releases: list[str]) -> None:
        keep = set(sorted(releases)[-self.options["keep_releases"]:]) | {current_after}
        old = [r for r in sorted(releases) if r not in keep]
        if old:
            root = shlex.quote(self.target.path)
            paths = " ".join(shlex.quote(f"releases/{r}") for r in old)
            self.remote(f"set -eu; cd {root}; rm -rf {paths}", "removing old releases")

    def rollback(self, url: str) -> Report:
        current, releases = self.state(create=False)
        if current is None or current not in releases:
            raise PublishError(f"{self.target}: no live release to roll back from")
        index = releases.index(current)
        if index == 0:
            raise PublishError(f"{self.target}: {current} is the oldest release kept; nothing to roll back to")
        previous = releases[index - 1]
        self.switch(previous)
        return Report(str(self.target), url, Changes(), detail=f"current: {previous}, was {current}")


# --------------------------------------------------------------------------- git


class GitDeployer:
    def __init__(self, target: GitTarget, options: dict, workdir: Path):
        self.target = target
        self.options = options
        self.workdir = workdir
        self.git_dir = workdir / "publish.git"

    def env(self, work_tree: Path | None = None) -> dict:
        env = {
            **os.environ,
            "GIT_DIR": str(self.git_dir),
            "GIT_INDEX_FILE": str(self.workdir / "publish.index"),
            "GIT_AUTHOR_NAME": self.options["git_name"],
            "GIT_AUTHOR_EMAIL": self.options["git_email"],
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME") or self.options["git_name"],
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL") or self.options["git_email"],
            "GIT_TERMINAL_PROMPT": "0",
        }
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        if self.target.over_ssh:
            env["GIT_SSH_COMMAND"] = shlex.join(SshDeployer(SshTarget("", "", None, ""), self.options).ssh_command())
        return env

    def git(self, *args: str, what: str, work_tree: Path | None = None) -> str:
        return _run(["git", *args], what, env=self.env(work_tree), cwd=work_tree).stdout.strip()

    def fetch_tip(self, depth: int) -> str | None:
        """The branch's current commit (fetched with `depth` commits of history), or None for a new branch."""
        if not self.git_dir.exists():
            _run(["git", "init", "--quiet", "--bare", str(self.git_dir)], "git init")
        ref = f"refs/heads/{self.target.branch}"
        listing = self.git("ls-remote", "--heads", self.target.url, ref, what=f"reading {self.target}")
        if not listing:
            return None
        self.git(
            "fetch", "--quiet", "--no-tags", f"--depth={depth}", self.target.url, f"+{ref}:refs/remotes/target",
            what=f"fetching {self.target}",
        )
        return self.git("rev-parse", "refs/remotes/target", what="git rev-parse")

    def tree_files(self, treeish: str) -> dict[str, str]:
        listing = self.git("ls-tree", "-r", "-z", treeish, what="git ls-tree")
        files = {}
        for entry in filter(None, listing.split("\0")):
            meta, _, path = entry.partition("\t")
            files[path] = meta.split()[2]
        return files

    def push(self, commit: str) -> None:
        # Without force: if someone published in between, the push is refused and nothing is overwritten.
        self.git("push", "--quiet", self.target.url, f"{commit}:refs/heads/{self.target.branch}",
                 what=f"pushing to {self.target}")

    def publish(self, output: Path, dry_run: bool, url: str, source: str) -> Report:
        (output / ".nojekyll").write_bytes(b"")
        if self.options["cname"]:
            (output / "CNAME").write_text(self.options["cname"].strip() + "\n", encoding="utf-8")
        parent = self.fetch_tip(depth=1)
        self.git("add", "--all", "--force", ".", what="git add", work_tree=output)
        tree = self.git("write-tree", what="git write-tree")
        old = self.tree_files(parent) if parent else {}
        changes = Changes.between(old, self.tree_files(tree))
        report = Report(str(self.target), url, changes, dry_run=dry_run)
        if dry_run or not changes:
            report.detail = f"branch {self.target.branch} at {parent[:12]}" if parent else ""
            return report
        args = ["commit-tree", tree, "-m", f"Publish {url}" + (f" from {source}" if source else "")]
        if parent:
            args += ["-p", parent]
        commit = self.git(*args, what="git commit-tree")
        self.push(commit)
        report.detail = f"commit {commit[:12]} on {self.target.branch}"
        return report

    def rollback(self, url: str) -> Report:
        tip = self.fetch_tip(depth=2)
        if tip is None:
            raise PublishError(f"{self.target}: the branch does not exist; nothing to roll back")
        try:
            previous = self.git("rev-parse", f"{tip}^", what="finding the previous publish")
        except PublishError:
            raise PublishError(f"{self.target}: only one publish on the branch; nothing to roll back to") from None
        changes = Changes.between(self.tree_files(tip), self.tree_files(previous))
        commit = self.git("commit-tree", f"{previous}^{{tree}}", "-p", tip, "-m",
                          f"Roll back to {previous[:12]}", what="git commit-tree")
        self.push(commit)
        return Report(str(self.target), url, changes, detail=f"commit {commit[:12]} restores {previous[:12]}")


# --------------------------------------------------------------------------- s3


class S3Deployer:
    def __init__(self, target: S3Target):
        self.target = target
        try:
            import boto3
        except ImportError:
            raise PublishError("s3 targets need boto3: pip install -r requirements.txt") from None
        self.client = boto3.client(
            "s3",
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        )

    def remote_etags(self) -> dict[str, str]:
        """{path relative to the prefix: ETag without quotes} of every object under the prefix."""
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.target.prefix}/" if self.target.prefix else ""
        found = {}
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.target.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found[item["Key"][len(prefix):]] = item["ETag"].strip('"')
        except (BotoCoreError, ClientError) as exc:
            raise PublishError(f"{self.target}: cannot list the bucket: {exc}") from None
        return found

    def publish(self, output: Path, dry_run: bool, url: str, policy: HostingPolicy) -> Report:
        from botocore.exceptions import BotoCoreError, ClientError

        # Single-part uploads have the MD5 of the body as ETag, so MD5 is what can be compared without downloads.
        local = site_manifest(output, "md5", exclude=HOSTING_FILES)
        changes = Changes.between(self.remote_etags(), local)
        report = Report(str(self.target), url, changes, dry_run=dry_run, detail=f"{len(local)} files")
        if dry_run or not changes:
            return report
        hashed = hashed_assets(output)
        # Assets before pages (new before replaced in each), so a reader never gets a page whose assets are
        # missing or older than it; removed files go only once everything is up.
        replaced = set(changes.changed)
        uploads = sorted([*changes.added, *changes.changed],
                         key=lambda relative: (relative.endswith((".html", ".htm")), relative in replaced, relative))
        with tempfile.TemporaryDirectory(prefix="s3-previous-") as previous:
            self.keep_previous(changes.changed, Path(previous))
            done: list[str] = []
            try:
                for relative in uploads:
                    self.put(output / relative, relative, headers_for(relative, policy, hashed))
                    done.append(relative)
            except (BotoCoreError, ClientError, OSError) as exc:
                restored = self.undo(done, replaced, Path(previous))
                raise PublishError(
                    f"{self.target}: upload stopped: {exc}. "
                    + ("The live site is as it was: every file already replaced was put back and every new file "
                       "removed." if restored else "Putting the previous files back also failed; publish again.")
                ) from None
        try:
            for start in range(0, len(changes.removed), 1000):
                batch = changes.removed[start:start + 1000]
                answer = self.client.delete_objects(
                    Bucket=self.target.bucket,
                    Delete={"Objects": [{"Key": self.target.key(p)} for p in batch], "Quiet": True},
                )
                if answer.get("Errors"):
                    raise PublishError(f"{self.target}: could not delete {answer['Errors'][0]}")
        except (BotoCoreError, ClientError) as exc:
            raise PublishError(
                f"{self.target}: every file is up, but removing the files that left the site stopped: {exc}. "
                "The site is the new one; publish again to remove them."
            ) from None
        report.transferred = len(uploads)
        return report

    def put(self, path: Path, relative: str, headers: dict[str, str]) -> None:
        with path.open("rb") as body:
            self.client.put_object(
                Bucket=self.target.bucket, Key=self.target.key(relative), Body=body,
                ContentType=headers["Content-Type"], CacheControl=headers["Cache-Control"],
            )

    def keep_previous(self, relatives: list[str], folder: Path) -> None:
        """Download what is about to be replaced (body and headers), so a failed upload can be undone."""
        from botocore.exceptions import BotoCoreError, ClientError

        for index, relative in enumerate(relatives):
            try:
                answer = self.client.get_object(Bucket=self.target.bucket, Key=self.target.key(relative))
                (folder / f"{index}.body").write_bytes(answer["Body"].read())
            except (BotoCoreError, ClientError) as exc:
                raise PublishError(f"{self.target}: cannot keep a copy of {relative} before replacing it: {exc}; "
                                   "nothing was uploaded") from None
            (folder / f"{index}.headers").write_text(json.dumps(
                {"Content-Type": answer.get("ContentType", "application/octet-stream"),
                 "Cache-Control": answer.get("CacheControl", "")}), encoding="utf-8")
        self._previous_index = {relative: index for index, relative in enumerate(relatives)}

    def undo(self, done: list[str], replaced: set[str], folder: Path) -> bool:
        """Put back every replaced file and remove every new one; True when all of it worked."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            for relative in reversed(done):
                key = self.target.key(relative)
                if relative in replaced:
                    index = self._previous_index[relative]
                    headers = json.loads((folder / f"{index}.headers").read_text(encoding="utf-8"))
                    extra = {"CacheControl": headers["Cache-Control"]} if headers["Cache-Control"] else {}
                    self.client.put_object(
                        Bucket=self.target.bucket, Key=key, Body=(folder / f"{index}.body").read_bytes(),
                        ContentType=headers["Content-Type"], **extra,
                    )
                else:
                    self.client.delete_object(Bucket=self.target.bucket, Key=key)
        except (BotoCoreError, ClientError, OSError):
            return False
        return True


def hashed_assets(output: Path) -> set[str]:
    """The content-hashed files, as listed (with the long cache) in the generated `_headers`."""
    headers = output / HEADERS_FILE
    if not headers.is_file():
        return set()
    return {
        rule.pattern.lstrip("/")
        for rule in parse_headers_file(headers.read_text(encoding="utf-8"))
        if "*" not in rule.pattern and ("Cache-Control", LONG_CACHE) in rule.headers
    }


# --------------------------------------------------------------------------- entry points


def source_revision(root: Path = REPO_ROOT) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    except OSError:
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def publish(
    target_text: str | None = None,
    settings_file: Path = REPO_ROOT / "publishconf.py",
    content: Path | None = None,
    dry_run: bool = False,
    cache: Path | None = None,
    content_check: Callable[[Path | None], None] | None = run_content_check,
    out: Callable[[str], None] = print,
) -> Report:
    """Build, check and deploy. Raises PublishError (nothing deployed) when a step fails before the deploy.

    `content` replaces the settings' PATH; its build then gets a throwaway cache unless `cache` names one.
    """
    from pelican.settings import get_settings_from_file

    sys.path.insert(0, str(REPO_ROOT / "plugins"))
    file_settings = get_settings_from_file(str(settings_file))
    options = deploy_options(file_settings)
    target = parse_target(target_text or options["target"])
    if content is not None and not Path(content).is_dir():
        raise PublishError(f"--content {content}: no such folder")
    if content_check is not None:
        content_check(Path(content) if content is not None else None)
    with tempfile.TemporaryDirectory(prefix="publish-") as staging_name:
        staging = Path(staging_name)
        output = staging / "output"
        if cache is not None:
            cache = Path(cache)
        elif content is not None:
            cache = staging / "cache"  # other content must not touch the project's cache
        else:
            cache = Path(file_settings.get("CACHE_PATH", "cache/pelican"))
            cache = cache if cache.is_absolute() else (Path(settings_file).resolve().parent / cache)
            prepare_content_cache(cache)
        out(f"Building {target} with {Path(settings_file).name} into a staging folder ...")
        settings = build_site(settings_file, output, content, cache)
        problems = check_site(output, settings)
        if problems:
            listed = "\n".join(problems[:50]) + (f"\n... and {len(problems) - 50} more" if len(problems) > 50 else "")
            raise PublishError(f"{listed}\nThe site checks found {len(problems)} problem(s); nothing was deployed.")
        manifest = site_manifest(output)
        out(f"Checks passed: {len(manifest)} files, internal links all resolve.")
        url = settings.get("SITEURL", "").rstrip("/") + "/"
        if isinstance(target, SshTarget):
            report = SshDeployer(target, options).publish(output, manifest, dry_run, url)
        elif isinstance(target, GitTarget):
            report = GitDeployer(target, options, staging).publish(output, dry_run, url, source_revision())
        else:
            policy = _policy(settings)
            report = S3Deployer(target).publish(output, dry_run, url, policy)
    out(report.text())
    return report


def _policy(settings: dict) -> HostingPolicy:
    from . import publishing_settings

    return publishing_settings(settings)["policy"]


def rollback(
    target_text: str | None = None,
    settings_file: Path = REPO_ROOT / "publishconf.py",
    out: Callable[[str], None] = print,
) -> Report:
    from pelican.settings import get_settings_from_file

    file_settings = get_settings_from_file(str(settings_file))
    options = deploy_options(file_settings)
    target = parse_target(target_text or options["target"])
    url = os.environ.get("SITEURL") or file_settings.get("SITEURL", "")
    url = url.rstrip("/") + "/"
    if isinstance(target, SshTarget):
        report = SshDeployer(target, options).rollback(url)
    elif isinstance(target, GitTarget):
        with tempfile.TemporaryDirectory(prefix="rollback-") as workdir:
            report = GitDeployer(target, options, Path(workdir)).rollback(url)
    else:
        raise PublishError(
            f"{target}: S3 keeps no releases to switch back to; check out the last good commit and run "
            "`invoke publish` (only the differences are uploaded)."
        )
    out(f"Rolled back {report.target} ({report.detail}).\nLive at {report.url}")
    return report
