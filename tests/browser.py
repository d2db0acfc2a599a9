"""Load a report page in headless Chromium: the DOM it builds and every console message it logs.

The suite's tooling, not part of the package (handy to check a page on a server too):
Chromium is started with a fresh profile, no network services, and `--enable-logging=stderr --v=0`, which prints each console
message (errors, CSP violations, failed loads) as a line holding ':CONSOLE'.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
)


class BrowserMissingError(RuntimeError):
    """No Chromium binary on this machine (Debian: apt-get install chromium)."""


@dataclass
class PageLoad:
    dom: str
    console: list[str]
    returncode: int


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def load(path: str | Path, timeout: float = 120.0, extra: tuple[str, ...] = ()) -> PageLoad:
    """Open the file in headless Chromium and return the rendered DOM and its console lines."""
    binary = chromium_path()
    if binary is None:
        raise BrowserMissingError("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="rural-risk-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom",
               Path(path).resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return PageLoad(dom=proc.stdout, console=console, returncode=proc.returncode)


class Elements(HTMLParser):
    """Start tags with their attributes and the text inside each, from a DOM dump."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.text.append("")
        if tag not in ("meta", "br", "img", "input", "link", "hr"):
            self._open.append(len(self.tags) - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.text.append("")

    def handle_endtag(self, tag: str) -> None:
        for j in range(len(self._open) - 1, -1, -1):
            if self.tags[self._open[j]][0] == tag:
                del self._open[j:]
                break

    def handle_data(self, data: str) -> None:
        for idx in self._open:
            self.text[idx] += data

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str | None], str]]:
        """Elements of a tag whose attributes equal the given ones (underscores as dashes)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [(a, self.text[i]) for i, (t, a) in enumerate(self.tags)
                if t == tag and all(a.get(k) == v for k, v in want.items())]


def parse(dom: str) -> Elements:
    parser = Elements()
    parser.feed(dom)
    return parser


def ensure_chromium(project_root: str | Path) -> str | None:
    """Chromium's path; when absent and running as root with apt, try `make browser` once."""
    import os

    found = chromium_path()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get") and shutil.which("make"):
        subprocess.run(["make", "-C", str(project_root), "browser"], capture_output=True,
                       timeout=900, check=False)
        found = chromium_path()
    return found
