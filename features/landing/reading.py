"""Reading landed files into bronze rows: one Python parse per file, true physical lines.

Why not spark.read.csv: it cannot report the physical line of a record (quoted newlines
make the n-th record differ from the n-th line), it drops or nulls malformed rows instead
of keeping their text, and one bad encoding would fail the whole read. Here a DataFrame
holds one row per file; `mapInPandas` parses each file with Python's csv / json modules
in a Spark task (files spread over the executors, rows yielded in chunks), tracks the line
each record starts on, and reports file-level problems as marker rows instead of raising.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from features.landing.pseudonym import REDACTED, is_personal_extra, normalize_name, protect_fields

CHUNK_ROWS = 20_000
LINEAGE = ("_file", "_file_hash", "_line", "_raw", "_extra")
DELIMITER_HINTS = (";", "\t", "|")


class LandingFolderError(ValueError):
    """The landing folder is missing or is not a folder."""


@dataclass(frozen=True)
class LandedFile:
    source: str
    path: str  # absolute
    file: str  # relative to the landing root, as stored in tables
    size_bytes: int
    file_hash: str


@dataclass(frozen=True)
class ReadOptions:
    """What the parser needs to know about one source (plain values, shipped to tasks)."""

    source: str
    format: str
    fields: tuple[str, ...]  # bronze columns, in order
    required: tuple[str, ...]  # columns the header must have
    personal: Mapping[str, str]  # field -> kind
    drop: tuple[str, ...]
    extra_patterns: tuple[str, ...]
    key: bytes

    @property
    def sensitive(self) -> tuple[str, ...]:
        return tuple(self.personal) + self.drop


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def list_files(landing: Path, source: str, extensions: Sequence[str]) -> list[LandedFile]:
    """Every file under <landing>/<source>/ with one of the extensions, sorted by path."""
    if not landing.is_dir():
        raise LandingFolderError(f"landing folder {landing} does not exist or is not a folder")
    folder = landing / source
    if not folder.is_dir():
        return []
    exts = tuple(f".{e.lower()}" for e in extensions)
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name.lower().endswith(exts) and not p.name.startswith("."):
            out.append(LandedFile(
                source=source, path=str(p.resolve()), file=p.relative_to(landing).as_posix(),
                size_bytes=p.stat().st_size, file_hash=sha256_file(p),
            ))
    return out


class _Lines:
    """Line iterator that remembers the physical lines the csv reader consumed."""

    def __init__(self, text: str) -> None:
        self._it = iter(io.StringIO(text, newline=""))
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._it)
        self.taken.append(line)
        return line


def _error(kind: str, message: str) -> dict:
    return {"_error": message, "_error_kind": kind}


def decode(data: bytes, encoding: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    return data.decode(codec)


def _header_problem(header: list[str], opts: ReadOptions) -> dict | None:
    names = [normalize_name(h) for h in header]
    if len(names) == 1:
        for d in DELIMITER_HINTS:
            if d in header[0] and len(header[0].split(d)) > 1:
                shown = "TAB" if d == "\t" else d
                return _error("file", f"wrong delimiter: the header splits on '{shown}', expected ','")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        return _error("batch", f"header mismatch: duplicate columns {dup}")
    missing = [c for c in opts.required if c not in names]
    if missing:
        return _error("batch", f"header mismatch: missing required columns {missing} (header: {names})")
    return None


def _sensitive_positions(names: list[str], opts: ReadOptions) -> list[int]:
    return [
        i for i, n in enumerate(names)
        if n in opts.sensitive or (n not in opts.fields and is_personal_extra(n, opts.extra_patterns))
    ]


def _redact_csv(fields: list[str]) -> str:
    """Raw text of a malformed line of a source with personal columns, every field hidden: a
    line with the wrong number of fields may be any part of a record broken by an unquoted
    line break or an unbalanced quote, its values shifted either way by any count, so no
    position is known to be free of personal data (a fuzzed file showed a name moved two
    places left by a break in an earlier field). The field count and the line number stay,
    to find the line in its file."""
    kept = [REDACTED] * max(1, len(fields))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(kept)
    return buf.getvalue()


def _row(values: Mapping[str, str | None], opts: ReadOptions) -> dict:
    safe = protect_fields(values, opts.personal, opts.drop, opts.extra_patterns, opts.fields, opts.key)
    row = {f: safe.get(f) for f in opts.fields}
    extra = {k: v for k, v in safe.items() if k not in opts.fields}
    row["_extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return row


def parse_csv(text: str, opts: ReadOptions) -> Iterator[dict]:
    lines = _Lines(text)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        yield _error("file", "file is empty")
        return
    problem = _header_problem(header, opts)
    if problem:
        yield problem
        return
    names = [normalize_name(h) for h in header]
    positions = _sensitive_positions(names, opts)
    consumed = len(lines.taken)
    lines.taken.clear()
    while True:
        try:
            fields = next(reader)
            bad = bool(fields) and len(fields) != len(names)
        except StopIteration:
            return
        except csv.Error:  # e.g. a NUL byte: the record is kept as malformed
            fields, bad = [], True
        raw = "".join(lines.taken)
        line = consumed + 1
        consumed += len(lines.taken)
        lines.taken.clear()
        if not fields and not bad:
            continue  # blank line
        if bad:
            shown = _redact_csv(fields) if positions else raw.rstrip("\r\n")
            yield {"_line": line, "_raw": shown or REDACTED}
        else:
            yield {"_line": line, **_row(dict(zip(names, fields, strict=True)), opts)}


def _json_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _is_text(value: str | None) -> bool:
    """False for a string with a lone surrogate: JSON allows the escape (`"\\ud800"`), but it is
    not text, and Arrow, Spark and Delta cannot hold it (UTF-8 has no encoding for it)."""
    try:
        value is None or value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_jsonl(text: str, opts: ReadOptions) -> Iterator[dict]:
    if not text.strip():
        yield _error("file", "file is empty")
        return
    for i, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can parse
            obj = None
        values = None
        if isinstance(obj, dict):
            try:
                values = {normalize_name(k): _json_text(v) for k, v in obj.items()}
            except RecursionError:  # a field nested deeper than json.dumps can write
                values = None
            if values and not all(_is_text(k) and _is_text(v) for k, v in values.items()):
                values = None  # a lone surrogate: the line is malformed, not a crash of the task
        if values is None:
            lowered = line.lower()
            risky = any(p.lower() in lowered for p in (*opts.sensitive, *opts.extra_patterns))
            yield {"_line": i, "_raw": REDACTED if risky else line}
            continue
        yield {"_line": i, **_row(values, opts)}


def parse_file(data: bytes, encoding: str, opts: ReadOptions) -> Iterator[dict]:
    """Bronze rows of one file (without file lineage), or one error marker row."""
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        yield _error("file", "file is empty")
        return
    try:
        text = decode(data, encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        yield _error("file", f"cannot be decoded as {encoding}{where}: wrong encoding? "
                             f"(set ingest.encoding.{opts.source} in conf/ingest.yaml)")
        return
    yield from (parse_csv(text, opts) if opts.format == "csv" else parse_jsonl(text, opts))


def output_columns(opts: ReadOptions) -> list[str]:
    return [*opts.fields, "_file", "_file_hash", "_line", "_raw", "_extra", "_error", "_error_kind"]


def _frame(pd, chunk: list[dict], cols: list[str]):
    df = pd.DataFrame(chunk, columns=cols)
    return df.astype({c: object for c in cols if c != "_line"}).astype({"_line": "int64"})


def file_parser(opts: ReadOptions) -> Callable:
    """mapInPandas function: rows (path, file, file_hash, encoding) -> bronze rows."""

    def run(batches: Iterator) -> Iterator:
        import pandas as pd

        cols = output_columns(opts)
        for batch in batches:
            for rec in batch.itertuples(index=False):
                lineage = {"_file": rec.file, "_file_hash": rec.file_hash}
                try:
                    data = Path(rec.path).read_bytes()
                    rows = parse_file(data, rec.encoding, opts)
                except OSError as exc:
                    rows = iter([_error("file", f"cannot be read: {exc.strerror or exc}")])
                chunk: list[dict] = []
                for row in rows:
                    chunk.append({**lineage, "_line": 0, **row})  # 0: a file-level error row
                    if len(chunk) >= CHUNK_ROWS:
                        yield _frame(pd, chunk, cols)
                        chunk = []
                if chunk:
                    yield _frame(pd, chunk, cols)

    return run
