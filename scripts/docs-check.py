#!/usr/bin/env python3
"""Checks the guide under docs/: builds it with mdbook, checks every link and anchor of the built
pages, and checks every code block of its sources.

Code blocks, by their language:
  rust                      compiled (and run unless `no_run`) as doc tests of dbops-core: every
                            page with one must be listed in dbops-core/src/lib.rs (`mod guide`)
  sh, bash, console, shell  run page by page, each block in order in a bash of its own with
  python                    `set -euo pipefail`, in the page's scratch directory holding a copy of
                            migrations/, with the built `dbops` first on PATH and an embedded
                            cluster of `dbops cluster start` running (also as DATABASE_URL); python
                            blocks run with the test virtualenv's interpreter; a block marked
                            `bash,repo` runs in the repository's root instead
  text, json, toml, yaml, make, ini
                            data (output, configuration), not commands
A block that cannot run here (it needs cloud credentials, a systemd host, or is the test command
itself) is marked on the line before its fence: `<!-- norun: the reason -->`; a `rust,ignore` block
needs the same mark. Anything else is an error.

Usage: docs-check.py [--no-build] [--no-run] [PAGE.md ...]
"""
import argparse
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = DOCS / "src"
BOOK = DOCS / "book"
SHELL = {"sh", "bash", "console", "shell"}
DATA = {"text", "json", "toml", "yaml", "make", "ini"}
NORUN = re.compile(r"^<!--\s*norun:\s*(\S.*?)\s*-->$")
PAGE_TIMEOUT = 600


class Block:
    def __init__(self, page, line, info, body, norun):
        self.page, self.line, self.info, self.body, self.norun = page, line, info, body, norun
        self.lang = info.split(",")[0].strip()
        self.attrs = {a.strip() for a in info.split(",")[1:]}

    def where(self):
        return f"docs/src/{self.page}:{self.line}"


def blocks_of(page):
    """Every fenced block of a page, with the norun mark on the line before it."""
    lines = (SRC / page).read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(```+)(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        start, ticks, info = i, fence.group(1), fence.group(2).strip()
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith(ticks):
            body.append(lines[i])
            i += 1
        i += 1
        mark = NORUN.match(lines[start - 1].strip()) if start > 0 else None
        out.append(Block(page, start + 1, info, "\n".join(body), mark and mark.group(1)))
    return out


def pages_in_summary():
    text = (SRC / "SUMMARY.md").read_text()
    pages = re.findall(r"\]\(([^)]+\.md)\)", text)
    for page in sorted(p.name for p in SRC.glob("*.md")):
        if page != "SUMMARY.md" and page not in pages:
            sys.exit(f"docs/src/{page} is not in docs/src/SUMMARY.md: add it or delete it")
    return pages


def check_blocks(pages):
    """Classifies every block; returns the runnable ones, or exits naming every bad block."""
    lib = (ROOT / "dbops-core/src/lib.rs").read_text()
    problems, runnable = [], []
    for page in pages:
        for block in blocks_of(page):
            if block.lang == "rust":
                if f'"{page}"' not in lib:
                    problems.append(f"{block.where()}: a Rust block on a page that dbops-core's "
                                    "`mod guide` does not compile: list the page there")
                if "ignore" in block.attrs and not block.norun:
                    problems.append(f"{block.where()}: `rust,ignore` without `<!-- norun: reason -->`")
            elif block.lang in SHELL or block.lang == "python":
                if not block.norun:
                    runnable.append(block)
            elif block.lang not in DATA:
                problems.append(f"{block.where()}: unknown block language `{block.info}`: use one "
                                f"of rust, {', '.join(sorted(SHELL))}, python or data "
                                f"({', '.join(sorted(DATA))})")
    if problems:
        sys.exit("\n".join(problems))
    return runnable


class Anchors(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def check_links():
    """Every relative link of the built book leads to a file, and every #anchor to an id in it."""
    parsed = {}

    def parse(path):
        if path not in parsed:
            parser = Anchors()
            parser.feed(path.read_text(errors="replace"))
            parsed[path] = parser
        return parsed[path]

    problems, checked, external = [], 0, set()
    for page in sorted(BOOK.rglob("*.html")):
        if page.name in ("print.html", "404.html", "toc.html"):
            continue
        for href in parse(page).links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", href):
                external.add(href)
                continue
            target, _, anchor = href.partition("#")
            path = (page.parent / target).resolve() if target else page
            checked += 1
            if not path.exists():
                problems.append(f"{page.relative_to(BOOK)}: link to `{href}`: no such file")
            elif anchor and path.suffix == ".html" and anchor not in parse(path).ids:
                problems.append(f"{page.relative_to(BOOK)}: link to `{href}`: no such anchor")
    if problems:
        sys.exit("broken links in the guide:\n" + "\n".join(problems))
    print(f"links: {checked} internal links resolve; {len(external)} external ones not fetched")


def check_environment_page():
    """Every `DBOPS_*` variable the code reads is in the CLI page's table."""
    names = set()
    for part in ("dbops-core/src", "dbops-cli/src", "dbops-py/src", "dbops-py/python", "dbops-macros/src"):
        for path in (ROOT / part).rglob("*"):
            if path.suffix in (".rs", ".py"):
                names.update(re.findall(r"\bDBOPS_[A-Z_]*[A-Z]\b", path.read_text()))
    page = (SRC / "cli.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in page)
    if missing:
        sys.exit("docs/src/cli.md: environment variables read by the code but not in its table: "
                 + ", ".join(missing))
    print(f"environment: the {len(names)} DBOPS_* variables the code reads are documented")


def check_readme_links():
    """The README's relative links lead to files of the repository."""
    text = (ROOT / "README.md").read_text()
    broken = [link for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
              if not re.match(r"^[a-z][a-z0-9+.-]*:", link) and not (ROOT / link).exists()]
    if broken:
        sys.exit("README.md links to missing files: " + ", ".join(broken))
    lines = text.count("\n")
    if lines > 200:
        sys.exit(f"README.md has {lines} lines: keep it under 200, the guide holds the rest")


def mdbook():
    found = os.environ.get("MDBOOK") or shutil.which("mdbook")
    local = ROOT / ".tools/mdbook/bin/mdbook"
    if not found and local.exists():
        found = str(local)
    if not found:
        sys.exit("mdbook not found: `bash scripts/install-deps.sh` installs it into .tools/mdbook")
    return found


def dbops_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    binary = target / "debug/dbops"
    if not binary.exists():
        sys.exit(f"{binary} not found: build it first (`cargo build -p dbops-cli`)")
    return binary


def run_pages(blocks):
    """Runs each page's blocks in order, in the page's scratch directory, against its own cluster."""
    by_page = {}
    for block in blocks:
        by_page.setdefault(block.page, []).append(block)
    binary = dbops_binary()
    python = ROOT / ".venv/bin/python"
    with tempfile.TemporaryDirectory(prefix="dbops-docs-") as scratch:
        env = dict(os.environ)
        env["PATH"] = f"{binary.parent}:{env['PATH']}"
        env["DBOPS_CACHE_DIR"] = f"{scratch}/cache"
        env.pop("DATABASE_URL", None)
        for page, page_blocks in by_page.items():
            run_page(page, page_blocks, Path(scratch), env, python)
    print(f"commands: {len(blocks)} blocks on {len(by_page)} pages ran")


def run_page(page, blocks, scratch, env, python):
    work = scratch / page.removesuffix(".md")
    shutil.copytree(ROOT / "migrations", work / "migrations")
    started = subprocess.run(["dbops", "cluster", "start", "--print-url"], env=env, cwd=work,
                             capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"docs/src/{page}: `dbops cluster start` failed:\n{started.stderr}")
    env = dict(env, DATABASE_URL=started.stdout.strip())
    try:
        for block in blocks:
            if block.lang == "python":
                command = [str(python), "-c", block.body]
            else:
                command = ["bash", "-c", "set -euo pipefail\n" + block.body]
            cwd = ROOT if "repo" in block.attrs else work
            done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                                  timeout=PAGE_TIMEOUT)
            if done.returncode != 0:
                sys.exit(f"{block.where()}: the block failed (exit {done.returncode}):\n"
                         f"{block.body}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}")
    finally:
        subprocess.run(["dbops", "cluster", "stop"], env=env, cwd=work, capture_output=True)
    print(f"docs/src/{page}: {len(blocks)} blocks ran")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true", help="check the sources only")
    parser.add_argument("--no-run", action="store_true", help="classify blocks, run none")
    parser.add_argument("pages", nargs="*", help="only these pages' blocks (default: all)")
    args = parser.parse_args()
    pages = pages_in_summary()
    runnable = check_blocks(args.pages or pages)
    check_environment_page()
    check_readme_links()
    if not args.no_build:
        if BOOK.exists():
            shutil.rmtree(BOOK)
        subprocess.run([mdbook(), "build", str(DOCS)], check=True)
        check_links()
    if not args.no_run:
        run_pages(runnable)


if __name__ == "__main__":
    main()
