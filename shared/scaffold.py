"""`dlsuite new NAME --from DOMAIN`: start a domain as a renamed copy of an existing one.

What is copied, with every `DOMAIN` identifier renamed to `NAME`:

- `domains/DOMAIN/` -> `domains/NAME/` (code, configs, README);
- `tests/domains/DOMAIN/` -> `tests/domains/NAME/`;
- with `--with-page`, `apps/pages/DOMAIN.py` -> `apps/pages/NAME.py`;
  without it the app shows the new domain on its generic page.

The source domain's title and description are replaced by `--title` and
`--description`. Nothing else in the repository is edited: `dlsuite list`,
the CLI, the app and the all-tasks test find the new domain through
`shared.domain.discover()`. Everything is written into a temporary folder
next to the target and renamed into place, so a failure leaves nothing half
made. Demo models are not copied: build them with
`dlsuite demo --build --only NAME`.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared.errors import ConfigError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED = frozenset({"shared", "domains", "apps", "tests", "data", "bench", "test", "new", "list"})
TEXT_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".txt", ".json", ".toml", ".cfg")
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


@dataclass(frozen=True)
class Scaffold:
    """What `new_domain` wrote."""

    name: str
    domain_dir: Path
    tests_dir: Path | None
    page: Path | None
    files: int


def check_name(name: str, root: Path) -> None:
    """Refuse a name that is not a lowercase Python identifier, or is taken, with one line."""
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name) or "__" in name:
        raise ConfigError(
            f"invalid domain name {name!r}: use 2 to 40 lowercase letters, digits and single underscores, "
            "starting with a letter (a Python identifier such as speech_commands)"
        )
    if name in RESERVED:
        raise ConfigError(f"invalid domain name {name!r}: it is reserved ({', '.join(sorted(RESERVED))})")
    for taken in (root / "domains" / name, root / "tests" / "domains" / name, root / "apps" / "pages" / f"{name}.py"):
        if taken.exists():
            raise ConfigError(f"a domain named {name!r} already exists ({taken}); choose another name")


def _rename(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return text


def _copy_renamed(source: Path, target: Path, replacements: list[tuple[str, str]]) -> int:
    shutil.copytree(source, target, ignore=SKIPPED)
    paths = sorted(target.rglob("*"))
    count = 0
    for path in paths:
        if path.is_file():
            count += 1
            if path.suffix in TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8")
                renamed = _rename(text, replacements)
                if renamed != text:
                    path.write_text(renamed, encoding="utf-8")
    for path in reversed(paths):  # deepest first, so a renamed folder's children are renamed before it
        if source.name in path.name:
            path.rename(path.with_name(path.name.replace(source.name, target.name)))
    return count


def new_domain(root: Path, name: str, source, title: str | None = None, description: str | None = None, with_page: bool = False) -> Scaffold:
    """Copy the domain `source` (a `Domain`) under `root` as `name`, renamed.

    Args:
        root: the repository root (it holds `domains/`, `tests/`, `apps/`).
        name: the new domain's identifier.
        source: the `shared.domain.Domain` to copy.
        title: the new domain's title (default: `name` in words).
        description: its one-sentence description (default: the source's, marked as a copy).
        with_page: also copy the source's app page.
    """
    root = Path(root)
    check_name(name, root)
    src_dir = root / "domains" / source.name
    if not (src_dir / "task.py").is_file():
        raise ConfigError(f"--from {source.name}: only domains under {root / 'domains'} can be copied; {source.name} is installed from {source.package_dir}")
    title = (title or name.replace("_", " ").capitalize()).strip()
    description = (description or f"{source.description} (started as a copy of {source.name})").strip()
    for what, value in (("--title", title), ("--description", description)):
        if not value or "\n" in value or '"' in value or "\\" in value:
            raise ConfigError(f"{what} must be one line without double quotes or backslashes, received {value!r}")
    # Longer strings first, so that the title and description are replaced before the identifier inside them.
    replacements = [(source.description, description), (source.title, title), (source.name, name)]
    sources = [(src_dir, root / "domains" / name), (root / "tests" / "domains" / source.name, root / "tests" / "domains" / name)]
    page = root / "apps" / "pages" / f"{source.name}.py"
    if with_page and not page.is_file():
        raise ConfigError(f"--with-page: {source.name} has no page of its own ({page}); the new domain gets the generic page")
    staged: list[tuple[Path, Path]] = []
    holders: list[Path] = []  # temporary folders next to each target; empty once renamed
    files = 0
    try:
        for src, dst in sources:
            if not src.is_dir():
                continue
            holders.append(Path(tempfile.mkdtemp(prefix=f".{name}.", dir=dst.parent)))
            files += _copy_renamed(src, holders[-1] / name, replacements)
            staged.append((holders[-1] / name, dst))
        if with_page:
            holders.append(Path(tempfile.mkdtemp(prefix=f".{name}.", dir=page.parent)))
            copy = holders[-1] / f"{name}.py"
            copy.write_text(_rename(page.read_text(encoding="utf-8"), replacements), encoding="utf-8")
            staged.append((copy, page.with_name(f"{name}.py")))
            files += 1
        for tmp, dst in staged:
            os.replace(tmp, dst)
    finally:
        for holder in holders:
            shutil.rmtree(holder, ignore_errors=True)
    tests_dir = root / "tests" / "domains" / name
    return Scaffold(
        name=name,
        domain_dir=root / "domains" / name,
        tests_dir=tests_dir if tests_dir.is_dir() else None,
        page=page.with_name(f"{name}.py") if with_page else None,
        files=files,
    )
