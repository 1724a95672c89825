"""Corpus: source files of permissively licensed installed distributions (or a user's repository), cleaned,
de-duplicated and split into train and held-out by package.

Flow: sources (stdlib, site-packages, npm packages, repositories) -> files with their package and license -> drop
generated, minified and data-like files -> exact, whitespace-normalized and MinHash near-duplicates removed (train
first, so held-out only keeps code that train has not seen) -> `train.jsonl` / `heldout.jsonl` plus a manifest and
the kept files' MinHash signatures (with which a corpus that extends this one leaves out near copies of its files).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import Distribution, distributions
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from engine.arguments import fraction, positive_int, user_path
from engine.config import DEFAULT_MODEL_DIR
from engine.errors import EngineError
from engine.languages import LANGUAGES, Language, language_for_path
from engine.rejection import rejection_reason

# The licences the issue names, plus permissive licences that appear as components of those packages' compound
# SPDX expressions (torch: BSL-1.0; numpy: Zlib, CC0-1.0, 0BSD; regex: CNRI-Python).
PERMISSIVE_SPDX = frozenset(
    {
        "MIT", "MIT-0", "BSD", "0BSD", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSD-4-Clause",
        "Apache-2.0", "PSF-2.0", "Python-2.0", "CNRI-Python", "ISC", "Zlib", "BSL-1.0", "CC0-1.0", "Unlicense",
    }
)

# Free-text `License:` fields seen in the wild, lower-cased with punctuation squeezed.
_LICENSE_ALIASES = {
    "mit": "MIT", "mit license": "MIT", "the mit license": "MIT", "expat": "MIT", "expat mit x11": "MIT",
    "mit no attribution": "MIT-0",
    "bsd": "BSD", "bsd license": "BSD", "new bsd": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause", "modified bsd license": "BSD-3-Clause", "bsd 3 clause": "BSD-3-Clause",
    "bsd 3 clause license": "BSD-3-Clause", "3 clause bsd": "BSD-3-Clause", "3 clause bsd license": "BSD-3-Clause",
    "bsd 2 clause": "BSD-2-Clause", "2 clause bsd": "BSD-2-Clause", "simplified bsd": "BSD-2-Clause",
    "apache": "Apache-2.0", "apache 2": "Apache-2.0", "apache 2 0": "Apache-2.0", "apache license 2 0": "Apache-2.0",
    "apache 2 0 license": "Apache-2.0", "apache license version 2 0": "Apache-2.0", "asl 2": "Apache-2.0",
    "apache software license": "Apache-2.0", "apache software license 2 0": "Apache-2.0",
    "psf": "PSF-2.0", "psf license": "PSF-2.0", "python software foundation license": "PSF-2.0",
    "isc": "ISC", "isc license": "ISC", "isc license iscl": "ISC",
}

_CLASSIFIER_LICENSES = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "ISC License (ISCL)": "ISC",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
}

STDLIB_LICENSE = "PSF-2.0"
LOCAL_LICENSE = "local"  # a user's own repository: the user decides what to train on

_SKIP_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", ".git", "node_modules"})
# Vendored copies carry their own licences, which the distribution's metadata does not describe.
_VENDORED_DIRS = frozenset({"_vendor", "vendor", "_vendored", "vendored", "extern", "_extern", "third_party"})
# A held-out file this similar to a train file (Jaccard of their token 5-grams, licence headers aside:
# `near_train`) is left out of held-out: its code is trained on (a library's private copy of another, or one's
# boilerplate in another's), so its holes would not measure code the model has not seen. Under the de-duplication
# threshold, which keeps both in train.
HELDOUT_NEAR_TRAIN = 0.5


# ---------------------------------------------------------------------------------------------------- licences


def _squeeze(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _spdx_tokens(expression: str) -> list[str]:
    return re.findall(r"\(|\)|[^\s()]+", expression)


def spdx_is_permissive(expression: str) -> bool | None:
    """True/False for a parseable SPDX expression (OR: any side, AND: both, `X WITH exception`: X);
    None when it is not an SPDX expression."""
    tokens = _spdx_tokens(expression)
    pos = 0

    def atom() -> bool | None:
        nonlocal pos
        if pos >= len(tokens):
            return None
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            value = disjunction()
            if pos >= len(tokens) or tokens[pos] != ")":
                return None
            pos += 1
            return value
        if tok.upper() in {"AND", "OR", "WITH", ")"} or not re.fullmatch(r"[A-Za-z0-9.+-]+", tok):
            return None
        if pos < len(tokens) and tokens[pos].upper() == "WITH":
            pos += 2  # an exception only widens what the licence allows
        return tok.rstrip("+") in PERMISSIVE_SPDX

    def conjunction() -> bool | None:
        nonlocal pos
        value = atom()
        while value is not None and pos < len(tokens) and tokens[pos].upper() == "AND":
            pos += 1
            right = atom()
            value = None if right is None else (value and right)
        return value

    def disjunction() -> bool | None:
        nonlocal pos
        value = conjunction()
        while value is not None and pos < len(tokens) and tokens[pos].upper() == "OR":
            pos += 1
            right = conjunction()
            value = None if right is None else (value or right)
        return value

    result = disjunction()
    return result if pos == len(tokens) else None


def _looks_like_spdx(text: str) -> bool:
    # A bare word like "Dual" is not an identifier; a real expression has known ids or operators.
    ids = [t for t in _spdx_tokens(text) if t not in "()" and t.upper() not in {"AND", "OR", "WITH"}]
    return bool(ids) and all(re.fullmatch(r"[A-Za-z0-9.+-]+", t) and re.search(r"[-.0-9]|^[A-Z]{2,}", t) for t in ids)


@dataclass(frozen=True)
class LicenseVerdict:
    license: str  # what the metadata says, normalized where possible
    permissive: bool


def license_verdict(metadata) -> LicenseVerdict:
    """Decide from a distribution's METADATA: License-Expression, then a short License field, then classifiers
    (every licence classifier must be permissive: packages list GPL parts as an extra classifier)."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        verdict = spdx_is_permissive(expression)
        return LicenseVerdict(expression, bool(verdict))
    field_text = (metadata.get("License") or "").strip()
    short = _short_license_verdict(field_text)
    if short is not None:
        return short
    classifiers = [c for c in (metadata.get_all("Classifier") or []) if c.startswith("License ::")]
    named = [c.split(" :: ")[-1] for c in classifiers if c not in ("License :: OSI Approved",)]
    if named:
        mapped = [_CLASSIFIER_LICENSES.get(n) for n in named]
        if all(mapped):
            return LicenseVerdict(" AND ".join(sorted(set(mapped))), True)
        return LicenseVerdict("; ".join(named), False)
    return LicenseVerdict(field_text[:60] or "unknown", False)


def _short_license_verdict(text: str) -> LicenseVerdict | None:
    """A one-line licence field, free text (`MIT License`) or SPDX; None where it says nothing to go by."""
    if not text or "\n" in text or len(text) > 100 or text.upper() == "UNKNOWN":
        return None
    alias = _LICENSE_ALIASES.get(_squeeze(text))
    if alias:
        return LicenseVerdict(alias, True)
    if _looks_like_spdx(text):
        verdict = spdx_is_permissive(text)
        if verdict is not None:
            return LicenseVerdict(text, verdict)
    return None


def npm_license_verdict(manifest: dict) -> LicenseVerdict:
    """Decide from an npm package's `package.json`: its `license` (SPDX, or the older `{"type": ...}`), else the
    older `licenses` list, every one of which must be permissive. `SEE LICENSE IN ...` and `UNLICENSED` (npm's word
    for a private package) are not."""
    def named(entry) -> str:
        return (entry.get("type") if isinstance(entry, dict) else entry) or ""

    given, listed = manifest.get("license"), manifest.get("licenses")
    texts = [named(given)] if given else [named(e) for e in listed] if isinstance(listed, list) else []
    texts = [t.strip() for t in texts if isinstance(t, str) and t.strip()]
    verdicts = [_short_license_verdict(t) for t in texts]
    if texts and all(v is not None and v.permissive for v in verdicts):
        return LicenseVerdict(" AND ".join(v.license for v in verdicts), True)
    return LicenseVerdict("; ".join(texts)[:60] or "unknown", False)


# ---------------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SourceFile:
    path: str  # absolute
    package: str  # the unit of the train/held-out split
    license: str
    language: str
    origin: str  # "stdlib", a site directory, or a repository root


@dataclass
class PackageRecord:
    name: str
    license: str
    origin: str
    permissive: bool
    files: int = 0
    bytes: int = 0
    split: str = ""
    ecosystem: str = "python"  # or "npm": each is split on its own (`split_ecosystems`)


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def default_site_dirs() -> list[Path]:
    """This environment's site-packages, then its base interpreter's, then the system's."""
    dirs: list[str] = list(site.getsitepackages())
    base = sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    dirs += [base["purelib"], base["platlib"]]
    dirs += [str(p) for p in sorted(Path("/usr/lib").glob("python3*/dist-packages"))]
    dirs += [str(p) for p in sorted(Path("/usr/local/lib").glob("python3*/dist-packages"))]
    seen: list[Path] = []
    for d in dirs:
        p = Path(d)
        if p.is_dir() and p.resolve() not in [s.resolve() for s in seen]:
            seen.append(p)
    return seen


def default_stdlib_dir() -> Path:
    return Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["stdlib"])


def _walk(root: Path, onerror=None, linked: list[Path] | None = None):
    """The files under ``root``, in order, but in skipped and hidden folders; a link to a folder is not followed
    (``linked`` collects them)."""
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        if linked is not None:
            linked.extend(Path(dirpath) / d for d in dirnames if (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            yield Path(dirpath) / name


def stdlib_files(stdlib: Path) -> list[SourceFile]:
    """Each top-level stdlib module or package is its own package for the split."""
    out = []
    for path in _walk(stdlib):
        lang = language_for_path(path)
        if lang is None:
            continue
        top = path.relative_to(stdlib).parts[0]
        package = "stdlib-" + normalize_name(top.removesuffix(".py")).strip("-")
        out.append(SourceFile(str(path), package, STDLIB_LICENSE, lang.name, "stdlib"))
    return out


def _dist_paths(dist: Distribution, site_dir: Path) -> list[Path]:
    files = dist.files
    if files is not None:
        return [Path(dist.locate_file(f)) for f in files]
    top_level = dist.read_text("top_level.txt") or ""
    paths: list[Path] = []
    for name in top_level.split():
        target = site_dir / name
        if target.is_dir():
            paths.extend(_walk(target))
        elif (site_dir / f"{name}.py").is_file():
            paths.append(site_dir / f"{name}.py")
    return paths


def _top_level_packages(site_dir: Path) -> set[str]:
    """The names of the packages at the top of ``site_dir``: its folders named as Python names (namespace packages
    have no `__init__.py`; metadata folders have a dot in their names)."""
    try:
        return {entry.name for entry in site_dir.iterdir() if entry.name.isidentifier() and entry.is_dir()}
    except OSError:
        return set()


def _mirrors(copy: Path, original: Path) -> bool:
    """Whether the folder ``copy`` holds the modules of ``original``: at least half of its source files (package
    markers aside) stand at the same place in both. `typer/_click` does; `torch/_numpy`, torch's own code under a
    name like numpy's, does not."""
    own = [p.relative_to(copy) for p in _walk(copy) if language_for_path(p) is not None and p.name != "__init__.py"]
    return bool(own) and 2 * sum((original / rel).is_file() for rel in own) >= len(own)


def private_copies(files: list[SourceFile]) -> set[int]:
    """The indices of the site-packages files in private copies of other installed packages: `typer/_click/` is
    click, vendored under another name and with click's licence, not typer's. A repository's folders are its own:
    only folders that hold installed distributions (`*.dist-info`) are looked at."""
    origins = {f.origin for f in files if f.origin != "stdlib"}
    origins = {o for o in origins if Path(o).is_dir() and next(Path(o).glob("*.dist-info"), None) is not None}
    top_level = {name: Path(o) / name for o in origins for name in _top_level_packages(Path(o))}
    verdicts: dict[Path, bool] = {}
    found = set()
    for i, f in enumerate(files):
        path, origin = Path(f.path), Path(f.origin)
        if f.origin not in origins or not path.is_relative_to(origin):
            continue
        parts = path.relative_to(origin).parts
        for depth, part in enumerate(parts[1:-1], start=1):
            if part.startswith("_") and part[1:] in top_level and part[1:] != parts[0]:
                copy = origin.joinpath(*parts[:depth + 1])
                if copy not in verdicts:
                    verdicts[copy] = _mirrors(copy, top_level[part[1:]])
                if verdicts[copy]:
                    found.add(i)
                    break
    return found


def site_files(site_dirs: list[Path]) -> tuple[list[SourceFile], dict[str, PackageRecord]]:
    """Files of every distribution installed in `site_dirs`, with the licence verdict of each distribution; vendored
    folders left out (private copies of other packages are left out later: `private_copies`)."""
    out: list[SourceFile] = []
    packages: dict[str, PackageRecord] = {}
    claimed: set[str] = set()
    for site_dir in site_dirs:
        for dist in sorted(distributions(path=[str(site_dir)]), key=lambda d: normalize_name(d.metadata["Name"] or "")):
            raw_name = dist.metadata["Name"]
            if not raw_name:
                continue
            name = normalize_name(raw_name)
            verdict = license_verdict(dist.metadata)
            record = packages.setdefault(name, PackageRecord(name, verdict.license, str(site_dir), verdict.permissive))
            if not (verdict.permissive and record.permissive):
                record.permissive = False
                continue
            for path in _dist_paths(dist, site_dir):
                lang = _claim(path, path.parts, claimed)
                if lang is not None:
                    out.append(SourceFile(str(path), name, verdict.license, lang.name, str(site_dir)))
    return out, packages


def _claim(path: Path, parts: tuple[str, ...], claimed: set[str]) -> Language | None:
    """The language of a package's file at ``path`` (``parts``: those of its path within the package, or whole),
    marking it taken in ``claimed`` (by resolved path: a file two packages or folders reach is taken once); None for
    a file of no supported language, one in a vendored folder, one taken already, or no regular file."""
    lang = language_for_path(path)
    if lang is None or _VENDORED_DIRS.intersection(parts):
        return None
    key = str(path.resolve())
    if key in claimed or not path.is_file():
        return None
    claimed.add(key)
    return lang


# npm's names are PyPI's too (`six`, `chalk`, `attrs`): the prefix keeps each its own unit of the split.
NPM_PREFIX = "npm-"
# TypeScript declarations as a package publishes them are the compiler's output, signatures with no bodies.
_DECLARATION_SUFFIXES = (".d.ts", ".d.mts", ".d.cts")


def npm_package_dirs(node_modules: Path) -> list[Path]:
    """The packages installed in a `node_modules` folder: each folder in it with a `package.json`, and those in
    its `@scope` folders. A package's own `node_modules` (a dependency at another version) is not one of them."""
    found = []
    for entry in sorted(node_modules.iterdir()):
        if entry.name.startswith("@") and entry.is_dir():
            found += [e for e in sorted(entry.iterdir()) if (e / "package.json").is_file()]
        elif not entry.name.startswith(".") and (entry / "package.json").is_file():
            found.append(entry)
    return found


def npm_files(node_modules_dirs: list[Path], log=print) -> tuple[list[SourceFile], dict[str, PackageRecord]]:
    """Files of every package installed in `node_modules_dirs`, with the licence verdict of each (a name found
    twice: the first); declarations, vendored folders and other `node_modules` left out. A `package.json` that
    cannot be read leaves its package out, with a line that names it."""
    out: list[SourceFile] = []
    packages: dict[str, PackageRecord] = {}
    claimed: set[str] = set()
    for node_modules in node_modules_dirs:
        for folder in npm_package_dirs(node_modules):
            try:
                manifest = json.loads((folder / "package.json").read_text(encoding="utf-8"))
                if not isinstance(manifest, dict):
                    raise ValueError("not a JSON object")
            except (OSError, UnicodeDecodeError, ValueError) as err:
                log(f"corpus: {folder / 'package.json'}: left out, unreadable ({err})")
                continue
            raw_name = manifest.get("name") if isinstance(manifest.get("name"), str) else folder.name
            name = NPM_PREFIX + normalize_name(raw_name.lstrip("@").replace("/", "-"))
            if name in packages:
                continue
            verdict = npm_license_verdict(manifest)
            packages[name] = PackageRecord(name, verdict.license, str(node_modules), verdict.permissive,
                                           ecosystem="npm")
            if not verdict.permissive:
                continue
            for path in _walk(folder):
                if path.name.endswith(_DECLARATION_SUFFIXES):
                    continue
                lang = _claim(path, path.relative_to(folder).parts, claimed)
                if lang is not None:
                    out.append(SourceFile(str(path), name, verdict.license, lang.name, str(node_modules)))
    return out, packages


def repository_package(repo: Path, folder: Path) -> str:
    """The package of a repository's files in ``folder`` (relative to it): the repository's name and the folders
    down to them, `proj/app`."""
    return "/".join((repo.name, *folder.parts))


def repository_files(repo: Path, log=print) -> list[SourceFile]:
    """A user's repository: each directory is a package for the split (its files are held out or trained on
    together). Paths are absolute, as the environment's are: a manifest is read from wherever it lies (`evaluate
    --heldout-manifest`). Left out, and counted in the log, as the server leaves them out of the files it searches:
    hidden source files and symbolic links (one can lead out of the repository, to a secret), and, in a git work
    tree, what git ignores; and vendored folders, whose code is someone else's. Folders that cannot be read are
    counted in the log too."""
    out = []
    repo = repo.resolve()
    visible = _git_visible(repo)
    left_out: Counter[str] = Counter()
    unknown: Counter[str] = Counter()  # files of languages read nowhere here, by extension
    unreadable: list[OSError] = []
    linked: list[Path] = []
    for path in _walk(repo, onerror=unreadable.append, linked=linked):
        rel = path.relative_to(repo)
        lang = language_for_path(path)
        if lang is None:
            if not path.name.startswith(".") and (visible is None or rel.as_posix() in visible):
                unknown[path.suffix or path.name] += 1
            continue
        if path.name.startswith("."):
            left_out["hidden"] += 1
        elif path.is_symlink():
            left_out["symbolic link"] += 1
        elif not path.is_file():
            left_out["not a regular file"] += 1  # a named pipe blocks the read for good
        elif _VENDORED_DIRS.intersection(rel.parts[:-1]):
            left_out["vendored"] += 1
        elif visible is not None and rel.as_posix() not in visible:
            left_out["ignored by git"] += 1
        else:
            out.append(SourceFile(str(path), repository_package(repo, rel.parent), LOCAL_LICENSE, lang.name,
                                  str(repo)))
    left_out["symbolic link"] += len(linked)  # to a folder: not followed, as to a file
    if +left_out:
        log(f"corpus: {repo}: left out " + ", ".join(f"{n} {why}" for why, n in left_out.items() if n))
    if unknown:
        common = ", ".join(f"{kind} {n}" for kind, n in unknown.most_common(5))
        log(f"corpus: {repo}: {sum(unknown.values())} files of no language read here left out ({common}"
            f"{', ...' if len(unknown) > 5 else ''}; engine/languages.py lists those read)")
    if unreadable:
        first = unreadable[0]
        log(f"corpus: {repo}: {len(unreadable)} unreadable folder{'s' if len(unreadable) > 1 else ''} skipped, the "
            f"first {first.filename} ({first.strerror or first})")
    return out


def _repository_path(src: SourceFile) -> str:
    """A repository's file as the log names it: its path in the repository, after the repository's name (bytes of
    a name that are not UTF-8 replaced: they cannot be printed)."""
    path = "/".join((Path(src.origin).name, *Path(src.path).relative_to(src.origin).parts))
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# core.fsmonitor names a command git runs as it reads the index: a repository downloaded to train on ran its own.
_GIT = ("git", "-c", "core.fsmonitor=false")


def _git_visible(repo: Path) -> set[str] | None:
    """The files of `repo` git does not ignore (tracked or not), relative to it; None outside a git work tree. In
    one (a `.git` at or above it), git failing is an EngineError: read as "no work tree", it put what git ignores,
    a secrets file say, into the corpus."""
    # Two listings: untracked files that are not ignored, and tracked ones, a submodule's files among them (without
    # `--recurse-submodules` it is listed as its own path alone); git takes that option with `--cached` only.
    listings = []
    for options in (["--others", "--exclude-standard"], ["--cached", "--recurse-submodules"]):
        try:
            result = subprocess.run([*_GIT, "-C", str(repo), "ls-files", "-z", *options], capture_output=True,
                                    timeout=120)
        except FileNotFoundError:
            why = "git is not installed"
        except (OSError, subprocess.TimeoutExpired) as err:
            why = f"git ls-files: {err}"
        else:
            if result.returncode == 0:
                listings.append(result.stdout)
                continue
            lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
            why = lines[0] if lines else f"git ls-files exited with {result.returncode}"
        if not _in_work_tree(repo):
            return None
        raise EngineError(f"{repo}: in a git work tree, but git cannot list the files it ignores: {why}")
    # A folder the enclosing work tree ignores (an environment's lib/python3.x inside a project) is taken whole:
    # it was named on purpose, and git lists none of it.
    if subprocess.run([*_GIT, "-C", str(repo), "check-ignore", "-q", "."], capture_output=True).returncode == 0:
        return None
    return {name.decode("utf-8", "surrogateescape") for listing in listings for name in listing.split(b"\0") if name}


def _in_work_tree(repo: Path) -> bool:
    """Whether a `.git` (a folder, or a submodule's or worktree's file) stands at or above `repo`."""
    # os.path.exists: a folder that cannot be searched is no evidence of one.
    return any(os.path.exists(folder / ".git") for folder in (repo, *repo.parents))


# ---------------------------------------------------------------------------------------------------- cleaning


_TOKEN = re.compile(rb"[A-Za-z_][A-Za-z_0-9]*|[0-9]+|[^\sA-Za-z_0-9]")
NUM_PERM = 64
BANDS = 16  # 16 bands of 4 rows: pairs above ~0.5 Jaccard become candidates, then are checked against the threshold
SHINGLE = 5
SIGNATURES = "signatures.npy"  # each kept file's MinHash, in manifest order: what `--extends` compares new files with
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_rng = np.random.default_rng(20240611)
_PERM_A = (_rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) | np.uint64(1))
_PERM_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_SHINGLE_MULT = (_rng.integers(1, 2**63, SHINGLE, dtype=np.uint64) | np.uint64(1))


def token_shingles(data: bytes) -> np.ndarray:
    """The file's distinct token 5-grams, hashed (identifiers, numbers, punctuation; whitespace and layout
    ignored)."""
    hashes = np.fromiter((zlib.crc32(t) for t in _TOKEN.findall(data)), dtype=np.uint64)
    if len(hashes) < SHINGLE:
        hashes = np.concatenate([hashes, np.zeros(SHINGLE - len(hashes), np.uint64)])
    n = len(hashes) - SHINGLE + 1
    with np.errstate(over="ignore"):
        found = np.zeros(n, np.uint64)
        for k in range(SHINGLE):
            found = found * np.uint64(0x100000001B3) + hashes[k : k + n] * _SHINGLE_MULT[k]
    return np.unique(found)


def minhash_signature(data: bytes) -> np.ndarray:
    """MinHash of the file's token 5-grams (`token_shingles`)."""
    shingles = token_shingles(data)
    with np.errstate(over="ignore"):
        sig = np.full(NUM_PERM, np.iinfo(np.uint64).max, np.uint64)
        for start in range(0, len(shingles), 4096):
            block = shingles[start : start + 4096, None] * _PERM_A[None, :] + _PERM_B[None, :]
            sig = np.minimum(sig, block.min(axis=0))
    return (sig >> np.uint64(32)).astype(np.uint32)


@dataclass
class FileFacts:
    index: int
    size: int
    sha256: str
    normalized_sha: str
    reason: str | None
    signature: np.ndarray | None


def _file_facts(item: tuple[int, str, bool]) -> FileFacts:
    """The facts of file ``item``: (index, path, whether it is installed code: `rejection_reason`)."""
    index, path, installed = item
    if not _utf8_name(path):
        return FileFacts(index, 0, "", "", "undecodable-name", None)
    try:
        data = _read_regular_file(path)
    except OSError:
        return FileFacts(index, 0, "", "", "unreadable", None)
    if data is None:
        return FileFacts(index, 0, "", "", "not-a-regular-file", None)
    sha = hashlib.sha256(data).hexdigest()
    reason = rejection_reason(data, installed)
    if reason:
        return FileFacts(index, len(data), sha, "", reason, None)
    normalized = hashlib.sha1(b"".join(data.split())).hexdigest()
    return FileFacts(index, len(data), sha, normalized, None, minhash_signature(data))


def _read_regular_file(path: str) -> bytes | None:
    """The file's bytes; None where it is not a regular file. Opened without blocking and looked at once open: a
    named pipe's read waits for a writer for good."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return fh.read()


def _utf8_name(path: str) -> bool:
    """Whether the path is UTF-8 on disk: one that is not (a Latin-1 name) holds escapes that JSON text cannot, and
    the documents name their files."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class NearDuplicateIndex:
    """LSH over MinHash signatures; a file is a near duplicate when its estimated Jaccard similarity with a kept
    file reaches `threshold`."""

    def __init__(self, threshold: float = 0.8, bucket_cap: int = 16):
        self.threshold = threshold
        self.bucket_cap = bucket_cap  # boilerplate files share buckets; comparing with a few representatives suffices
        self.rows = NUM_PERM // BANDS
        self.buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)
        self.signatures: list[np.ndarray] = []

    def _keys(self, sig: np.ndarray):
        return [(b, sig[b * self.rows : (b + 1) * self.rows].tobytes()) for b in range(BANDS)]

    def match(self, sig: np.ndarray) -> int | None:
        """The index of a kept signature `sig` nearly duplicates, if any."""
        seen: set[int] = set()
        for key in self._keys(sig):
            for other in self.buckets.get(key, ()):
                if other in seen:
                    continue
                seen.add(other)
                if float(np.mean(self.signatures[other] == sig)) >= self.threshold:
                    return other
        return None

    def add(self, sig: np.ndarray) -> None:
        idx = len(self.signatures)
        self.signatures.append(sig)
        for key in self._keys(sig):
            bucket = self.buckets[key]
            if len(bucket) < self.bucket_cap:
                bucket.append(idx)


# ---------------------------------------------------------------------------------------------------- split


def split_packages(sizes: dict[str, int], heldout_fraction: float, seed: int = 0) -> set[str]:
    """Held-out packages: taken in a seeded hash order until `heldout_fraction` of all bytes, skipping packages
    larger than half of that budget so that one big package cannot take the whole held-out share."""
    total = sum(sizes.values())
    budget = heldout_fraction * total
    heldout: set[str] = set()
    taken = 0
    order = sorted(sizes, key=lambda name: hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())
    for name in order:
        size = sizes[name]
        if size > budget / 2 or taken + size > budget:
            continue
        heldout.add(name)
        taken += size
    return heldout


def split_ecosystems(sizes: dict[str, int], packages: dict[str, PackageRecord], heldout_fraction: float,
                     seed: int = 0) -> set[str]:
    """`split_packages` over each ecosystem's packages on its own (Python's: the standard library, site-packages
    and repositories; npm's), so that each holds out its share, and adding npm packages moves no Python package
    between the splits: a corpus's Python held-out files, and the figures measured on them, stay as they were."""
    groups: dict[str, dict[str, int]] = defaultdict(dict)
    for name, size in sizes.items():
        record = packages.get(name)
        groups[record.ecosystem if record else "python"][name] = size
    return set().union(*(split_packages(group, heldout_fraction, seed) for group in groups.values()))


def _counted_files(files: list[SourceFile], facts: dict[int, FileFacts]) -> list[int]:
    """The files that size the split: those kept by their contents, one of each set of copies."""
    counted, seen = [], set()
    for i in range(len(files)):
        fact = facts[i]
        if fact.reason is None and fact.normalized_sha not in seen:
            seen.add(fact.normalized_sha)
            counted.append(i)
    return counted


def file_package(package: str, path: str) -> str:
    """The package of the file at ``path`` of ``package`` held out on its own: the package's name and the file's (a
    repository's file: its path, `proj/app/mod.py`). No other package has that name: a folder cannot share a file's,
    nor has a distribution's a `/`."""
    return f"{package}/{Path(path).name}"


def _hold_out_files(files: list[SourceFile], facts: dict[int, FileFacts], counted: list[int],
                    packages: dict[str, PackageRecord], heldout_fraction: float, seed: int,
                    log) -> tuple[list[SourceFile], set[str]]:
    """Where no package fits the held-out share (nearly every repository: a few folders, each over it), whole files,
    chosen as `split_packages` chooses packages. Each becomes a package of its own (`file_package`): the packages of
    a model's train documents, its record of what it was trained on, then leave it out, and so does `evaluate`,
    though its folder's other files are trained on. ``files`` with those renamed, and the held-out packages."""
    sizes: dict[str, int] = Counter()
    for i in counted:
        sizes[file_package(files[i].package, files[i].path)] += facts[i].size
    heldout = split_packages(dict(sizes), heldout_fraction, seed)
    if not heldout:
        log(_nothing_held_out(dict(sizes), heldout_fraction))
        return files, heldout
    renamed = []
    for f in files:
        name = file_package(f.package, f.path)
        if name in heldout:
            packages[f.package].files -= 1
            packages.setdefault(name, PackageRecord(name, f.license, f.origin, True)).files += 1
            f = replace(f, package=name)
        renamed.append(f)
    share = 100 * sum(sizes[name] for name in heldout) / sum(sizes.values())
    log(f"corpus: no package (a repository's folder, an environment's distribution) is at most half of "
        f"--heldout-fraction {heldout_fraction:g} of the corpus: {len(heldout)} whole files are held out instead, "
        f"{share:.1f}% of it (their folders' other files are trained on)")
    return renamed, heldout


def _nothing_held_out(sizes: dict[str, int], heldout_fraction: float) -> str:
    """Why neither packages nor files (`_hold_out_files`, whose ``sizes`` these are) were held out, and what would: a
    fraction that makes the smallest file at most half of the share (then it is taken), or, where no fraction below 1
    can, code in more files."""
    total, smallest = sum(sizes.values()), min(sizes.values())
    rule = ("nothing is held out: the split holds out whole packages (a repository's folders, an environment's "
            "distributions) or, where none fits, whole files, none over half of --heldout-fraction "
            f"{heldout_fraction:g} of the corpus")
    needed = -(-2000 * smallest // total)  # the fraction that takes the smallest, in thousandths rounded up
    if needed < 1000:
        return (f"corpus: {rule}; the smallest of the {len(sizes)} files is {100 * smallest // total}% of the "
                f"corpus: --heldout-fraction {needed / 1000:g} or more, or more code in other files, gives a "
                "held-out split (without one, training is never evaluated)")
    # One file, or two of half the code each.
    where = (f"all in one file ({next(iter(sizes))}), so no fraction can hold it out" if len(sizes) == 1
             else "in two files, half of it each, so no fraction can hold one out")
    return (f"corpus: {rule}, and the code is {where}: code in more files gives a held-out split (without one, "
            "training is never evaluated)")


# ---------------------------------------------------------------------------------------------------- build


@dataclass
class CorpusStats:
    files_seen: int = 0
    files_kept: dict[str, int] = field(default_factory=dict)
    bytes_kept: dict[str, int] = field(default_factory=dict)
    packages: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    licenses: dict[str, int] = field(default_factory=dict)
    rejected_distributions: int = 0
    extends: str | None = None  # the corpus this one adds training data to
    seconds: float = 0.0


def collect_sources(
    site_dirs: list[Path], stdlib: Path | None, repos: list[Path], log=print, node_modules: list[Path] = ()
) -> tuple[list[SourceFile], dict[str, PackageRecord]]:
    files: list[SourceFile] = []
    packages: dict[str, PackageRecord] = {}
    if stdlib is not None:
        files += stdlib_files(stdlib)
    for repo in repos:
        found = repository_files(repo, log)
        if not found:
            # A repository that gives nothing (a wrong folder, a language the engine does not know) is a mistake,
            # beside others that give files too.
            extensions = ", ".join(ext for lang in LANGUAGES for ext in lang.extensions)
            raise EngineError(f"no source file in {repo}: the supported extensions are {extensions}")
        files += found
    site, site_packages = site_files(site_dirs)
    files += site
    packages.update(site_packages)
    npm, npm_packages = npm_files(list(node_modules), log)
    files += npm
    packages.update(npm_packages)
    for f in files:
        rec = packages.setdefault(f.package, PackageRecord(f.package, f.license, f.origin, True))
        rec.files += 1
    return files, packages


def build_corpus(
    out_dir: Path,
    files: list[SourceFile],
    packages: dict[str, PackageRecord],
    *,
    heldout_fraction: float = 0.05,
    seed: int = 0,
    near_dup_threshold: float = 0.8,
    workers: int = 2,
    extends: Path | None = None,
    log=print,
) -> CorpusStats:
    """Filter, de-duplicate and split `files` into `out_dir`. With `extends` (an existing corpus directory) the
    result is more training data for that corpus: its packages and files are left out, and everything new goes to
    train, so the existing held-out split stays unseen and stays the one to evaluate on.

    The files are written to a folder beside `out_dir` and moved into it at the end: a run that fails leaves the
    corpus already there whole (half overwritten, its manifest no longer matched its split files). A corpus with no
    file in it is an EngineError (it has nothing to train on), except one that extends another: a machine may have
    nothing more to add."""
    check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", suffix=".partial", dir=out_dir.parent))
    try:
        stats = _write_corpus(work, files, packages, heldout_fraction=heldout_fraction, seed=seed,
                              near_dup_threshold=near_dup_threshold, workers=workers, extends=extends, log=log)
        if extends is None and not any(stats.files_kept.values()):
            raise EngineError(_nothing_kept(stats, work / "dropped.jsonl", out_dir))
        out_dir.mkdir(exist_ok=True)
        for path in sorted(work.iterdir()):
            os.replace(path, out_dir / path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return stats


def check_out_dir(out_dir: Path) -> None:
    """Refuse an --out whose files a corpus would overwrite or join: the embedded model's folder (installed with the
    package, so a corpus there would end up in wheels) or one in it, a checkpoint, and a folder that holds files
    but no earlier corpus (a user's own `stats.json` was replaced)."""
    if out_dir.resolve().is_relative_to(DEFAULT_MODEL_DIR.resolve()):
        raise EngineError(f"--out {out_dir}: inside the embedded model's folder ({DEFAULT_MODEL_DIR}), which is "
                          "installed with the package")
    if out_dir.exists() and not out_dir.is_dir():
        raise EngineError(f"--out {out_dir}: not a folder")
    if (out_dir / "config.json").exists():
        raise EngineError(f"--out {out_dir}: a checkpoint folder (it has config.json)")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "manifest.jsonl").is_file():
        raise EngineError(f"--out {out_dir}: a folder that is not empty and holds no corpus (no manifest.jsonl): "
                          "give a new or empty folder, or an earlier corpus's")


def _nothing_kept(stats: CorpusStats, dropped_log: Path, out_dir: Path) -> str:
    """Why a corpus has no file: how many were dropped for what, and the first of them."""
    if not stats.dropped:
        return f"no source file found; {out_dir} is left as it was"
    with open(dropped_log) as fh:
        first = json.loads(fh.readline())["path"]
    reasons = ", ".join(f"{n} {why}" for why, n in Counter(stats.dropped).most_common())
    return (f"none of the {stats.files_seen} source files found is kept: {reasons} (the first {first}); {out_dir} is "
            "left as it was")


def _write_corpus(out_dir: Path, files: list[SourceFile], packages: dict[str, PackageRecord], *,
                  heldout_fraction: float, seed: int, near_dup_threshold: float, workers: int, extends: Path | None,
                  log) -> CorpusStats:
    start = time.time()
    stats = CorpusStats(files_seen=len(files))
    stats.rejected_distributions = sum(1 for p in packages.values() if not p.permissive)
    base = read_extended(extends, workers, log) if extends is not None else ExtendedCorpus(set(), set(), [], None)
    exact = set(base.hashes)
    in_base = [f for f in files if f.package in base.packages]
    files = [f for f in files if f.package not in base.packages]
    if extends is not None:
        stats.extends = str(extends)

    # Every file is read before the split, so that a package is sized by what it gives the corpus: sized on disk,
    # one big generated file (dropped anyway) kept its package out of held-out and sent the rest of a small
    # repository's there.
    facts: dict[int, FileFacts] = {}
    items = [(i, f.path, f.license != LOCAL_LICENSE) for i, f in enumerate(files)]
    if workers > 1:
        with Pool(workers) as pool:
            for n, fact in enumerate(pool.imap(_file_facts, items, chunksize=64), start=1):
                facts[fact.index] = fact
                if n % 5000 == 0 and n < len(items):
                    log(f"corpus: read {n}/{len(items)} files")
    else:
        for item in items:
            facts[item[0]] = _file_facts(item)
    log(f"corpus: read {len(items)}/{len(items)} files")
    counted = _counted_files(files, facts)
    sizes: dict[str, int] = Counter()
    for i in counted:
        sizes[files[i].package] += facts[i].size
    heldout = set() if extends is not None else split_ecosystems(dict(sizes), packages, heldout_fraction, seed)
    if extends is None and heldout_fraction > 0 and sizes and not heldout:
        files, heldout = _hold_out_files(files, facts, counted, packages, heldout_fraction, seed, log)
    # Dropped after the split is sized, so that finding one moves no package between the splits.
    copies = private_copies(files)
    # Train first: a file shared by a train and a held-out package stays in train, keeping held-out unseen.
    order = sorted(range(len(files)), key=lambda i: (files[i].package in heldout, files[i].package, files[i].path))

    normalized: set[str] = set()
    near = NearDuplicateIndex(near_dup_threshold)
    # The base's files come first, so that a near copy of one of them (a held-out file under another package's
    # name, say) is left out rather than trained on.
    # `kept[n]`: the path of the n-th signature in `near` (named where a near copy of it is dropped) and, for the
    # base's files, their split there.
    kept: list[tuple[str, str | None]] = []
    if base.signatures is not None:
        for sig, (path, split) in zip(base.signatures, base.files):
            near.add(sig)
            kept.append((path, split))
    kept_by_split: dict[str, list[int]] = {"train": [], "heldout": []}
    dropped: Counter[str] = Counter()
    left_out: dict[str, list[str]] = defaultdict(list)  # a repository's files, by why their contents are no use
    with open(out_dir / "dropped.jsonl", "w") as dropped_log:
        for f in in_base:
            dropped["package-in-extended-corpus"] += 1
            dropped_log.write(json.dumps({"path": f.path, "package": f.package,
                                          "reason": "package-in-extended-corpus"}) + "\n")
        for i in order:
            fact, src = facts[i], files[i]
            reason, like = fact.reason, None
            if reason is None and i in copies:
                reason = "private-copy"
            elif reason is None and fact.sha256 in exact:
                reason = "exact-duplicate"
            elif reason is None and fact.normalized_sha in normalized:
                reason = "whitespace-duplicate"
            elif reason is None:
                match = near.match(fact.signature)
                if match is None:
                    near.add(fact.signature)
                    kept.append((src.path, None))
                else:
                    like, base_split = kept[match]
                    reason = f"near-duplicate-of-extended-{base_split}" if base_split else "near-duplicate"
            if reason:
                dropped[reason] += 1
                if fact.reason is not None and src.license == LOCAL_LICENSE:
                    left_out[reason].append(_repository_path(src))
                record = {"path": src.path, "package": src.package, "reason": reason}
                if like is not None:
                    record["like"] = like
                dropped_log.write(json.dumps(record) + "\n")
                continue
            exact.add(fact.sha256)
            normalized.add(fact.normalized_sha)
            kept_by_split["heldout" if src.package in heldout else "train"].append(i)

        train = [(files[i].path, facts[i].signature) for i in kept_by_split["train"]]
        if base.signatures is not None:
            train += [(path, sig) for sig, (path, split) in zip(base.signatures, base.files) if split == "train"]
        heldout_files = list(kept_by_split["heldout"])
        for n, like in near_train([(files[i].path, facts[i].signature) for i in heldout_files], train):
            i = heldout_files[n]
            kept_by_split["heldout"].remove(i)
            dropped["near-train-copy"] += 1
            dropped_log.write(json.dumps({"path": files[i].path, "package": files[i].package,
                                          "reason": "near-train-copy", "like": train[like][0]}) + "\n")

    if left_out:
        log("corpus: left out of the repositories: " + ", ".join(
            f"{len(paths)} {why} ({', '.join(paths[:3])}{', ...' if len(paths) > 3 else ''})"
            for why, paths in left_out.items()) + "; dropped.jsonl lists every file left out")
    written = [i for indices in kept_by_split.values() for i in indices]
    np.save(out_dir / SIGNATURES, _signature_array([facts[i].signature for i in written]), allow_pickle=False)
    with open(out_dir / "manifest.jsonl", "w") as manifest:
        for split, indices in kept_by_split.items():
            n_bytes = 0
            with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") as out:
                for i in indices:
                    src, fact = files[i], facts[i]
                    # Without a byte-order mark, as the engine reads a file it fills (`cli.read_text`): the model
                    # never sees one.
                    text = Path(src.path).read_bytes().decode("utf-8-sig")
                    out.write(json.dumps({"path": src.path, "package": src.package, "language": src.language,
                                          "text": text}, ensure_ascii=False) + "\n")
                    record = {**asdict(src), "sha256": fact.sha256, "bytes": fact.size, "split": split}
                    manifest.write(json.dumps(record) + "\n")
                    rec = packages[src.package]
                    rec.split = split
                    rec.bytes += fact.size
                    n_bytes += fact.size
                    stats.languages[src.language] = stats.languages.get(src.language, 0) + 1
                    stats.licenses[src.license] = stats.licenses.get(src.license, 0) + 1
            stats.files_kept[split] = len(indices)
            stats.bytes_kept[split] = n_bytes
            stats.packages[split] = len({files[i].package for i in indices})

    # The packages held out in effect: one whose every file copies code kept in train has nothing held out.
    held = {files[i].package for i in kept_by_split["heldout"]}
    (out_dir / "heldout_packages.txt").write_text("".join(f"{p}\n" for p in sorted(held)))
    with open(out_dir / "packages.json", "w") as fh:
        json.dump({name: asdict(rec) for name, rec in sorted(packages.items())}, fh, indent=1)
    stats.dropped = dict(dropped)
    stats.seconds = round(time.time() - start, 1)
    (out_dir / "stats.json").write_text(json.dumps(asdict(stats), indent=1))
    return stats


_HEADER_LINE = re.compile(rb"[ \t]*(?:#|//|\*|/\*)|[ \t]*$")


def without_header(data: bytes) -> bytes:
    """The file from its first line of code: a licence or copyright header (comment lines, a `/* */` block) is
    shared by unrelated files of one project, and is no sign of a copy."""
    lines = data.split(b"\n")
    start = 0
    while start < len(lines) and _HEADER_LINE.match(lines[start]):
        start += 1
    return b"\n".join(lines[start:])


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b, assume_unique=True)) / union if union else 0.0


def near_train(heldout: list[tuple[str, np.ndarray]], train: list[tuple[str, np.ndarray]]) -> list[tuple[int, int]]:
    """(position in ``heldout``, position in ``train``) of each held-out file (path, MinHash) at least
    `HELDOUT_NEAR_TRAIN` similar to a train one, with the train one most like it. Every pair's MinHash is compared
    (the near-duplicate index's bands are tuned to its own threshold, and miss many pairs this far under it), and the
    few most alike are confirmed on the files' own 5-grams, licence headers left out: an estimate from 64 hashes is
    off by about 0.06, and the best of thousands of them is off upwards. A file that cannot be read again (the
    extended corpus's, from another machine) is judged by the estimate."""
    if not heldout or not train:
        return []
    matrix = np.stack([sig for _, sig in train])
    found = []
    for n, (path, signature) in enumerate(heldout):
        similarity = (matrix == signature).mean(axis=1)
        candidates = np.flatnonzero(similarity >= HELDOUT_NEAR_TRAIN - 0.15)
        if not len(candidates):
            continue  # read again only where a train file may be this alike
        mine = _header_free_shingles(path)
        for m in candidates[np.argsort(-similarity[candidates])][:5]:
            theirs = _header_free_shingles(train[m][0])
            exact = similarity[m] if mine is None or theirs is None else _jaccard(mine, theirs)
            if exact >= HELDOUT_NEAR_TRAIN:
                found.append((n, int(m)))
                break
    return found


def _header_free_shingles(path: str) -> np.ndarray | None:
    try:
        return token_shingles(without_header(Path(path).read_bytes()))
    except OSError:
        return None


def _signature_array(rows: list[np.ndarray]) -> np.ndarray:
    """(files, NUM_PERM) uint32, as `signatures.npy` holds them; an empty corpus has none."""
    return np.stack(rows) if rows else np.zeros((0, NUM_PERM), np.uint32)


@dataclass
class ExtendedCorpus:
    """What `--extends` needs of a base corpus: its packages, its files' sha256 and their MinHash signatures."""

    packages: set[str]
    hashes: set[str]
    files: list[tuple[str, str]]  # (path, split), in manifest order
    signatures: np.ndarray | None  # (files, NUM_PERM) uint32, in manifest order; None: not known


def read_extended(corpus: Path, workers: int = 1, log=print) -> ExtendedCorpus:
    """The base corpus from its manifest and `signatures.npy`. A corpus written before signatures were saved has
    them computed from its split files (and saved beside them); with neither, near copies of its files are not
    looked for, and the log says so."""
    manifest = corpus / "manifest.jsonl"
    packages, hashes, files = read_manifest(manifest)
    records = len(files)
    path = corpus / SIGNATURES
    if path.is_file():
        try:
            signatures = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise EngineError(f"{path}: not a signature array ({err})") from None
        if signatures.dtype != np.uint32 or signatures.shape != (records, NUM_PERM):
            raise EngineError(f"{path}: {signatures.dtype} array of shape {signatures.shape}, expected uint32 of "
                              f"shape ({records}, {NUM_PERM}) for the {records} files of {manifest}")
        return ExtendedCorpus(packages, hashes, files, signatures)
    splits = [corpus / f"{split}.jsonl" for split in ("train", "heldout")]
    if not all(p.is_file() for p in splits):
        log(f"corpus: {corpus} has no {SIGNATURES} (nor its split files): near copies of its files are not looked "
            f"for, only exact ones")
        return ExtendedCorpus(packages, hashes, files, None)
    texts = (doc["text"].encode("utf-8") for p in splits for doc in read_documents(p))
    if workers > 1:
        with Pool(workers) as pool:
            rows = list(pool.imap(minhash_signature, texts, chunksize=64))
    else:
        rows = [minhash_signature(t) for t in texts]
    if len(rows) != records:
        raise EngineError(f"{corpus}: {len(rows)} documents in its split files but {records} files in {manifest}")
    signatures = _signature_array(rows)
    try:
        np.save(path, signatures, allow_pickle=False)
        saved = f"saved to {path}"
    except OSError as err:
        saved = f"not saved: {err}"
    log(f"corpus: computed the signatures of {records} files of {corpus} ({saved})")
    return ExtendedCorpus(packages, hashes, files, signatures)


def read_manifest(path: Path) -> tuple[set[str], set[str], list[tuple[str, str]]]:
    """The packages, the file hashes (sha256) and the files (path, split) of a corpus, from its `manifest.jsonl`."""
    if not path.is_file():
        raise EngineError(f"{path}: not found (the corpus to extend must be a directory `infill-engine corpus` wrote)")
    packages, hashes, files = set(), set(), []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            try:
                record = json.loads(line)
                packages.add(record["package"])
                hashes.add(record["sha256"])
                files.append((record["path"], record["split"]))
            except (ValueError, KeyError, TypeError) as err:
                raise EngineError(f"{path}:{n}: not a manifest record ({err})") from None
    return packages, hashes, files


def read_documents(path: Path):
    """Yield the documents of a `train.jsonl` / `heldout.jsonl` file as dicts (path, package, language, text); a line
    that is not one is an EngineError naming the file and the line."""
    try:
        with open(path, "rb") as fh:
            # Decoded line by line, so that bytes that are not UTF-8 are named with their line.
            for n, raw in enumerate(fh, start=1):
                try:
                    doc = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise EngineError(f"{path}:{n}: not UTF-8 text") from None
                except json.JSONDecodeError as err:
                    raise EngineError(f"{path}:{n}: not a JSON document ({err.msg})") from None
                if not (isinstance(doc, dict) and isinstance(doc.get("text"), str)
                        and isinstance(doc.get("language"), str)):
                    raise EngineError(f"{path}:{n}: a corpus document needs string fields 'language' and 'text'")
                yield doc
    except OSError as err:
        raise EngineError(f"{path}: cannot be read ({err.strerror or err})") from None


# ---------------------------------------------------------------------------------------------------- CLI


def run(args: argparse.Namespace) -> int:
    site_dirs = [Path(d) for d in args.site_dir] if args.site_dir else ([] if args.repo else default_site_dirs())
    stdlib = None if (args.no_stdlib or (args.repo and not args.site_dir)) else default_stdlib_dir()
    repos = [Path(r) for r in args.repo]
    node_modules = [Path(d) for d in args.node_modules]
    extends = Path(args.extends) if args.extends else None
    if extends is not None and extends.resolve() == Path(args.out).resolve():
        print(f"corpus: --extends {extends}: write the new files to another --out directory", file=sys.stderr)
        return 2
    for d in [*site_dirs, *repos, *node_modules]:
        if not d.is_dir():
            print(f"corpus: {d}: not a directory", file=sys.stderr)
            return 2
    try:
        check_out_dir(Path(args.out))  # before the sources are read, which takes minutes
        print(f"corpus: stdlib {stdlib or '(left out)'}, site dirs {[str(d) for d in site_dirs]}, repositories "
              f"{[str(r) for r in repos]}" + (f", node_modules {[str(d) for d in node_modules]}" * bool(node_modules)))
        files, packages = collect_sources(site_dirs, stdlib, repos, node_modules=node_modules)
        print(f"corpus: {len(files)} candidate files from {len(packages)} packages")
        stats = build_corpus(Path(args.out), files, packages, heldout_fraction=args.heldout_fraction,
                             seed=args.seed, near_dup_threshold=args.near_dup_threshold, workers=args.workers,
                             extends=extends)
    except EngineError as err:
        print(f"corpus: {err}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(stats), indent=1))
    train, heldout = stats.files_kept["train"], stats.files_kept["heldout"]
    print(f"corpus: wrote {args.out}: {train} file{'s' * (train != 1)} to train, {heldout} held out")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "corpus",
        help="collect permissively licensed source files into a de-duplicated train/held-out corpus",
        description="Collect source files from the installed environment (standard library and site-packages of "
        "distributions with a permissive licence, and the npm packages of --node-modules folders) or from --repo "
        "directories, drop generated/minified files and duplicates, and split by package into train.jsonl and "
        "heldout.jsonl (Python's packages and npm's each held out on their own).",
    )
    p.add_argument("--out", type=user_path, default="data/corpus", help="output directory (default: data/corpus)")
    p.add_argument("--site-dir", type=user_path, action="append", default=[],
                   help="a site-packages directory (repeatable; default: this environment's, its base "
                        "interpreter's and the system's)")
    p.add_argument("--repo", type=user_path, action="append", default=[],
                   help="a source repository of your own (repeatable); alone, it replaces the installed environment "
                        "as the corpus")
    p.add_argument("--node-modules", type=user_path, action="append", default=[], metavar="DIR",
                   help="a node_modules folder whose npm packages (JavaScript, TypeScript) join the corpus, each by "
                        "the licence its package.json gives (repeatable)")
    p.add_argument("--no-stdlib", action="store_true", help="leave out the standard library")
    p.add_argument("--heldout-fraction", type=fraction(low_open=False, high_open=True), default=0.05,
                   help="share of bytes held out, from 0 to below 1 (default 0.05)")
    p.add_argument("--near-dup-threshold", type=fraction(low_open=True, high_open=False), default=0.8,
                   help="MinHash Jaccard threshold, above 0 to 1 (default 0.8)")
    p.add_argument("--extends", type=user_path, metavar="DIR",
                   help="add training data to the corpus in DIR: its packages and files are left out and everything "
                        "new goes to train, so DIR's held-out split stays unseen (pretokenize the result, then "
                        "`infill-engine merge-tokens`)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=positive_int, default=2)
    p.set_defaults(func=run)
