"""Corpus: licence filter from real METADATA files, cleaning, de-duplication and the by-package split."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from email.message import Message
from pathlib import Path

import numpy as np
import pytest

from engine.corpus import (
    PackageRecord,
    SourceFile,
    build_corpus,
    collect_sources,
    license_verdict,
    read_documents,
    read_extended,
    repository_files,
    split_packages,
    spdx_is_permissive,
)
from engine.errors import EngineError
from engine.rejection import rejection_reason


def _metadata(**fields) -> Message:
    msg = Message()
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            msg[key.replace("_", "-")] = v
    return msg


def test_spdx_expressions():
    assert spdx_is_permissive("MIT")
    assert spdx_is_permissive("Apache-2.0 OR BSD-2-Clause")
    assert spdx_is_permissive("Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSL-1.0 AND MIT")
    assert spdx_is_permissive("(MIT OR GPL-3.0-only) AND ISC")
    assert not spdx_is_permissive("MPL-2.0 AND MIT")
    assert not spdx_is_permissive("GPL-3.0-or-later")
    assert spdx_is_permissive("LGPL-2.1-only OR MIT")
    assert spdx_is_permissive("MIT AND") is None


def test_license_verdict_sources():
    assert license_verdict(_metadata(License_Expression="BSD-3-Clause")).permissive
    assert not license_verdict(_metadata(License_Expression="MPL-2.0")).permissive
    assert license_verdict(_metadata(License="MIT License")).permissive
    assert license_verdict(_metadata(License="Apache 2.0")).permissive
    assert not license_verdict(_metadata(License="GNU GPL")).permissive
    # Free text that is not a licence name falls through to the classifiers.
    bsd_text = "Copyright (c) 2001 Someone\nAll rights reserved.\nRedistribution and use ..."
    assert license_verdict(_metadata(License=bsd_text, Classifier="License :: OSI Approved :: BSD License")).permissive
    both = ["License :: OSI Approved :: MIT License", "License :: OSI Approved :: Apache Software License"]
    assert license_verdict(_metadata(License="Dual License", Classifier=both)).permissive
    mixed = ["License :: OSI Approved :: BSD License", "License :: OSI Approved :: GNU General Public License (GPL)"]
    assert not license_verdict(_metadata(Classifier=mixed)).permissive
    assert not license_verdict(_metadata(License="UNKNOWN")).permissive
    assert not license_verdict(_metadata()).permissive


WORDS = ("alpha beta gamma delta count total index value items scale offset limit buffer parser token node "
         "left right width height cache queue stack result error path name size step").split()


def code(seed: int) -> str:
    """A distinct, plausible Python module: random names and statements, so unrelated files are not near copies."""
    rng = random.Random(seed)
    lines = []
    for f in range(3):
        args = rng.sample(WORDS, 3)
        lines.append(f"def {rng.choice(WORDS)}_{rng.choice(WORDS)}_{seed}_{f}({', '.join(args)}):")
        lines.append(f'    """Compute the {rng.choice(WORDS)} of {rng.choice(WORDS)}."""')
        for _ in range(6):
            a, b, c = rng.sample(WORDS, 3)
            op = rng.choice(["+", "-", "*", "//", "%"])
            lines.append(rng.choice([
                f"    {a} = {b} {op} {rng.randint(2, 999)}",
                f"    if {a} > {b}:\n        {c} = {a} {op} {b}",
                f"    for {a} in range({b}):\n        {c}.append({a} {op} {rng.randint(1, 50)})",
                f"    {a}.{b}({c}, {rng.randint(0, 9)})",
            ]))
        lines.append(f"    return {rng.choice(args)}\n\n")
    return "\n".join(lines)


def _install(site: Path, name: str, files: dict[str, str], **metadata) -> None:
    """A distribution as pip leaves it: dist-info with METADATA and RECORD, plus its files."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    for key, value in metadata.items():
        for v in value if isinstance(value, list) else [value]:
            lines.append(f"{key.replace('_', '-')}: {v}")
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    record = [f"{name}-1.0.dist-info/METADATA,,", f"{name}-1.0.dist-info/RECORD,,"]
    for rel, text in files.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        record.append(f"{rel},,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def _environment(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    for i in range(12):
        _install(site, f"pkg{i}", {f"pkg{i}/core.py": code(i), f"pkg{i}/other.py": code(100 + i)},
                 License_Expression="MIT" if i % 2 else "Apache-2.0")
    _install(site, "copyleft", {"copyleft/mod.py": code(200)},
             Classifier="License :: OSI Approved :: GNU General Public License v3 (GPLv3)")
    _install(site, "mpl", {"mpl/mod.py": code(201)}, License_Expression="MPL-2.0 AND MIT")
    # Sorted after the pkgN packages, so its copies are the ones dropped.
    _install(site, "zdups", {
        "zdups/exact.py": code(1),  # byte-identical to pkg1/core.py
        "zdups/spaces.py": code(2).replace("    ", "\t"),  # only whitespace differs from pkg2/core.py
        "zdups/near.py": code(3).replace("Compute the", "Work out the", 1),  # one edit away from pkg3/core.py
        "zdups/generated.py": "# This file was automatically generated. Do not edit.\n" + code(300),
        "zdups/minified.js": "var a=1;" * 400 + "\n",
        "zdups/tiny.py": "x = 1\n",
        "zdups/table.py": "T = [\n" + "".join(f"    {i}, {i * 7}, {i * 13},\n" for i in range(500)) + "]\n",
    }, License="BSD")
    return site


def test_license_filter_and_split(tmp_path):
    site = _environment(tmp_path)
    files, packages = collect_sources([site], None, [])
    names = {f.package for f in files}
    assert "copyleft" not in names and "mpl" not in names
    assert not packages["copyleft"].permissive and not packages["mpl"].permissive
    assert {f"pkg{i}" for i in range(12)} | {"zdups"} == names

    out = tmp_path / "corpus"
    stats = build_corpus(out, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    heldout = set((out / "heldout_packages.txt").read_text().split())
    assert heldout, "some packages must be held out"
    split_of: dict[str, set[str]] = {}
    for rec in manifest:
        split_of.setdefault(rec["package"], set()).add(rec["split"])
        assert rec["license"] in {"MIT", "Apache-2.0", "BSD"}
        assert len(rec["sha256"]) == 64
        assert rec["split"] == ("heldout" if rec["package"] in heldout else "train")
    assert all(len(s) == 1 for s in split_of.values()), "a package must not span both splits"

    kept = {Path(rec["path"]).name + ":" + rec["package"] for rec in manifest}
    assert not any(k.endswith(":zdups") for k in kept), kept
    assert stats.dropped == {"exact-duplicate": 1, "whitespace-duplicate": 1, "near-duplicate": 1,
                             "generated": 1, "minified": 1, "too-short": 1, "data-like": 1}
    train_docs = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    heldout_docs = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    assert len(train_docs) + len(heldout_docs) == len(manifest) == 24
    assert {d["package"] for d in heldout_docs} == heldout
    assert train_docs[0]["text"] == Path(train_docs[0]["path"]).read_text()


def test_split_is_deterministic_and_bounded():
    sizes = {f"p{i}": 1000 + 37 * i for i in range(200)} | {"huge": 80_000}
    a = split_packages(sizes, 0.1, seed=3)
    assert a == split_packages(sizes, 0.1, seed=3)
    assert a != split_packages(sizes, 0.1, seed=4)
    assert "huge" not in a
    held = sum(sizes[p] for p in a)
    assert 0 < held <= 0.1 * sum(sizes.values())


def test_rejection_reasons():
    assert rejection_reason(code(7).encode()) is None
    assert rejection_reason(b"\xff\xfe bad bytes" * 10) == "not-utf8"
    assert rejection_reason(b"x = 1\x00" * 20) == "binary"
    assert rejection_reason(("// @generated\n" + code(8)).encode()) == "generated"
    # A docstring far below the header may talk about generated things.
    assert rejection_reason((code(9) + '"""Graphs generated by a random model."""\n').encode()) is None


def test_repository_corpus_from_the_command_line(tmp_path, monkeypatch):
    """Fine-tuning data: a user's repository, packages by directory, no licence filter."""
    import argparse

    from engine.corpus import register

    repo = tmp_path / "myrepo"
    for i, top in enumerate(["app", "lib", "tools", "web", "core", "api", "cli", "db"]):
        (repo / top).mkdir(parents=True)
        (repo / top / "main.py").write_text(code(500 + i))
        (repo / top / "util.go").write_text("package util\n\n// " + code(600 + i).replace("\n", "\n// "))
    (repo / "node_modules" / "dep").mkdir(parents=True)
    (repo / "node_modules" / "dep" / "index.js").write_text("function f(a, b) { return a + b; }\n" * 5)
    (repo / "README.md").write_text("# not code\n")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    # Given relative to the working directory, as a user types it: the manifest still names files that exist
    # wherever it is read from.
    monkeypatch.chdir(tmp_path)
    args = parser.parse_args(["corpus", "--repo", "myrepo", "--out", str(tmp_path / "out"), "--workers", "1",
                              "--heldout-fraction", "0.25"])
    assert args.func(args) == 0
    manifest = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 16
    assert {r["package"] for r in manifest} == {f"myrepo/{t}" for t in
                                                ["app", "lib", "tools", "web", "core", "api", "cli", "db"]}
    assert {r["language"] for r in manifest} == {"python", "go"} and {r["license"] for r in manifest} == {"local"}
    assert {r["split"] for r in manifest} == {"train", "heldout"}
    from engine.eval_inputs import documents_from_manifest

    heldout = documents_from_manifest(tmp_path / "out" / "manifest.jsonl")
    assert heldout and all(Path(d.path).is_file() for d in heldout)
    bad = parser.parse_args(["corpus", "--repo", str(tmp_path / "missing"), "--out", str(tmp_path / "x")])
    assert bad.func(bad) == 2


def test_a_repository_corpus_leaves_out_what_the_server_would_not_read(tmp_path):
    # A symbolic link led out of the repository (a token in train.jsonl); hidden files, what git ignores and
    # vendored folders were trained on too.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.py").write_text(code(900))
    repo = tmp_path / "proj"
    for i, folder in enumerate(["app", "app/models", "tools", "secrets", "third_party/lib"]):
        (repo / folder).mkdir(parents=True)
        (repo / folder / "mod.py").write_text(code(910 + i))
    (repo / "app" / ".local_settings.py").write_text(code(920))
    (repo / "app" / "creds.py").symlink_to(outside / "creds.py")
    (repo / "linked").symlink_to(outside)  # a folder's link: not followed, and counted as a file's is
    # Files of languages read nowhere here are counted too: a repository of mostly Lua trained on its few `.py`.
    (repo / "README.md").write_text("# proj\n")
    (repo / "tools" / "run.lua").write_text("print(1)\n")
    (repo / ".gitignore").write_text("secrets/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    logged = []
    files = repository_files(repo, log=logged.append)
    assert sorted(Path(f.path).relative_to(repo.resolve()).as_posix() for f in files) == \
        ["app/mod.py", "app/models/mod.py", "tools/mod.py"]
    assert {f.package for f in files} == {"proj/app", "proj/app/models", "proj/tools"}
    assert logged == [f"corpus: {repo.resolve()}: left out 1 hidden, 2 symbolic link, 1 ignored by git, 1 vendored",
                      f"corpus: {repo.resolve()}: 2 files of no language read here left out (.md 1, .lua 1; "
                      "engine/languages.py lists those read)"]
    # A submodule's files are the repository's too (they were counted as ignored by git).
    lib = tmp_path / "lib"
    (lib / "src").mkdir(parents=True)
    (lib / "src" / "helper.py").write_text(code(930))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "protocol.file.allow=always"]
    subprocess.run(["git", "init", "-q", str(lib)], check=True)
    subprocess.run([*git, "-C", str(lib), "add", "."], check=True)
    subprocess.run([*git, "-C", str(lib), "commit", "-qm", "lib"], check=True)
    subprocess.run([*git, "-C", str(repo), "submodule", "-q", "add", str(lib), "libs/lib"], check=True,
                   capture_output=True)
    files = repository_files(repo, log=lambda *_: None)
    assert "libs/lib/src/helper.py" in {Path(f.path).relative_to(repo.resolve()).as_posix() for f in files}
    (repo / ".gitmodules").unlink()
    shutil.rmtree(repo / "libs")
    # Outside a work tree nothing is ignored; a folder its work tree ignores is taken whole, as it was named.
    shutil.rmtree(repo / ".git")
    assert len(repository_files(repo, log=lambda *_: None)) == 4
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("proj/\n")
    assert len(repository_files(repo, log=lambda *_: None)) == 4


def test_packages_are_sized_by_the_files_the_corpus_keeps(tmp_path):
    # Sized on disk, one big generated file kept its package in train and sent the small ones to held-out: far
    # more than the held-out fraction of what was kept.
    files = []
    for i in range(16):
        path = tmp_path / f"p{i}" / "mod.py"
        path.parent.mkdir()
        path.write_text(code(950 + i))
        files.append(SourceFile(str(path), f"p{i}", "local", "python", str(tmp_path)))
    generated = tmp_path / "big" / "schema_pb2.py"
    generated.parent.mkdir()
    generated.write_text("# Generated by the protocol buffer compiler.  DO NOT EDIT!\n" + code(990) * 300)
    (tmp_path / "big" / "mod.py").write_text(code(991))
    files += [SourceFile(str(generated), "big", "local", "python", str(tmp_path)),
              SourceFile(str(tmp_path / "big" / "mod.py"), "big", "local", "python", str(tmp_path))]
    packages = {f.package: PackageRecord(f.package, "local", str(tmp_path), True) for f in files}
    stats = build_corpus(tmp_path / "out", files, packages, heldout_fraction=0.25, workers=1, log=lambda *_: None)
    assert stats.dropped == {"generated": 1}
    held, kept = stats.bytes_kept["heldout"], sum(stats.bytes_kept.values())
    assert 0 < held <= 0.25 * kept


def test_a_corpus_that_holds_nothing_out_says_so(tmp_path):
    # One file: neither a package nor a file can be held out, at any fraction.
    path = tmp_path / "flat" / "only.py"
    path.parent.mkdir()
    path.write_text(code(960))
    logged = []
    packages = {"flat": PackageRecord("flat", "local", str(tmp_path), True)}
    stats = build_corpus(tmp_path / "out", [SourceFile(str(path), "flat", "local", "python", str(tmp_path))],
                         packages, workers=1, log=logged.append)
    assert stats.files_kept == {"train": 1, "heldout": 0}
    # No fraction can hold out the only file: a larger one is no advice.
    assert [line for line in logged if "held out" in line] == [
        "corpus: nothing is held out: the split holds out whole packages (a repository's folders, an environment's "
        "distributions) or, where none fits, whole files, none over half of --heldout-fraction 0.05 of the corpus, "
        "and the code is all in one file (flat/only.py), so no fraction can hold it out: code in more files gives a "
        "held-out split (without one, training is never evaluated)"]


def test_a_corpus_that_holds_nothing_out_names_the_fraction_that_would(tmp_path):
    files = []
    for name, seeds in (("small", [970]), ("big", [971, 972, 973, 974])):
        for seed in seeds:
            path = tmp_path / name / f"m{seed}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(code(seed))
            files.append(SourceFile(str(path), name, "local", "python", str(tmp_path)))
    packages = {n: PackageRecord(n, "local", str(tmp_path), True) for n in ("small", "big")}
    logged = []
    build_corpus(tmp_path / "out", files, packages, workers=1, log=logged.append)
    said = [line for line in logged if "held out" in line]
    advice = re.search(r"the smallest of the 5 files is (\d+)% of the corpus: --heldout-fraction ([0-9.]+) or "
                       r"more, or more code in other files, gives a held-out split", said[0])
    assert advice and len(said) == 1, logged
    packages = {n: PackageRecord(n, "local", str(tmp_path), True) for n in ("small", "big")}
    stats = build_corpus(tmp_path / "again", files, packages, heldout_fraction=float(advice[2]), workers=1,
                         log=lambda *_: None)
    assert stats.files_kept["heldout"] >= 1


def _flat_repository(root: Path, name: str = "proj") -> Path:
    """A repository whose folders are each far over the held-out share: 45 modules in app/, 15 in lib/."""
    repo = root / name
    for folder, seeds in (("app", range(1000, 1045)), ("lib", range(1045, 1060))):
        (repo / folder).mkdir(parents=True)
        for seed in seeds:
            (repo / folder / f"m{seed}.py").write_text(code(seed))
    return repo


def test_a_repository_whose_folders_are_too_big_to_hold_out_holds_out_whole_files(tmp_path):
    # Held out by folder alone, nearly every real repository had no held-out split, and a fine-tune was never scored.
    from engine.checkpoint import TrainingData, write_training_data
    from engine.eval_inputs import documents_from_heldout
    from engine.evaluate import unseen

    repo = _flat_repository(tmp_path)
    files, packages = collect_sources([], None, [repo], log=lambda *_: None)
    logged = []
    out = tmp_path / "out"
    stats = build_corpus(out, files, packages, workers=1, log=logged.append)
    held_docs = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    train_docs = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert held_docs and 0 < stats.bytes_kept["heldout"] <= 0.05 * sum(stats.bytes_kept.values())
    # Each held-out file is a package of its own, named by its path as its folder is: the record of what a model
    # was trained on (the train documents' packages) leaves it out, though its folder's other files are trained on.
    assert all(d["package"] == "/".join(("proj", *Path(d["path"]).relative_to(repo).parts)) for d in held_docs)
    assert {d["package"] for d in train_docs} == {"proj/app", "proj/lib"}
    assert set((out / "heldout_packages.txt").read_text().split()) == {d["package"] for d in held_docs}
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["package"] for r in manifest if r["split"] == "heldout"} == {d["package"] for d in held_docs}
    assert set(json.loads((out / "packages.json").read_text())) >= {d["package"] for d in held_docs}
    said = [line for line in logged if "held out" in line]
    assert said == [f"corpus: no package (a repository's folder, an environment's distribution) is at most half of "
                    f"--heldout-fraction 0.05 of the corpus: {len(held_docs)} whole files are held out instead, "
                    f"{100 * stats.bytes_kept['heldout'] / sum(stats.bytes_kept.values()):.1f}% of it (their "
                    f"folders' other files are trained on)"]
    model = tmp_path / "model"
    model.mkdir()
    write_training_data(model, TrainingData(frozenset(d["package"] for d in train_docs)))
    documents = documents_from_heldout(out / "heldout.jsonl")
    assert unseen(documents, model) == (documents, "")

    # The same files wherever the repository lies and in whatever order they are listed.
    moved = _flat_repository(tmp_path / "elsewhere")
    files, packages = collect_sources([], None, [moved], log=lambda *_: None)
    build_corpus(tmp_path / "again", files[::-1], packages, workers=1, log=lambda *_: None)
    assert (tmp_path / "again" / "heldout_packages.txt").read_text() == (out / "heldout_packages.txt").read_text()


def test_an_environment_whose_split_holds_packages_out_holds_out_no_single_file(tmp_path):
    files, packages = collect_sources([_environment(tmp_path)], None, [])
    logged = []
    build_corpus(tmp_path / "out", files, packages, heldout_fraction=0.3, workers=1, log=logged.append)
    held = (tmp_path / "out" / "heldout_packages.txt").read_text().split()
    assert held and all("/" not in p for p in held)
    assert not [line for line in logged if "held out" in line]


def test_a_corpus_extended_with_another_environment_adds_only_new_code_to_train(tmp_path):
    base = tmp_path / "corpus"
    files, packages = collect_sources([_environment(tmp_path)], None, [])
    build_corpus(base, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
    heldout = set((base / "heldout_packages.txt").read_text().split())
    held = sorted(heldout)[0]
    base_manifest = [json.loads(line) for line in (base / "manifest.jsonl").read_text().splitlines()]
    assert np.load(base / "signatures.npy").shape == (len(base_manifest), 64)
    held_file = next(r["path"] for r in base_manifest if r["split"] == "heldout")
    train_file = next(r["path"] for r in base_manifest if r["split"] == "train")

    # Another machine's environment: a package the base holds out (with other code), one it trains on, and a new one
    # holding a copy of a base file and near copies of a held-out and a train file (under its own name, as a
    # vendored module would be) besides its own code.
    site = tmp_path / "other-site-packages"
    _install(site, held, {f"{held}/core.py": code(900)}, License_Expression="MIT")
    _install(site, "pkg1", {"pkg1/extra.py": code(901)}, License_Expression="MIT")
    _install(site, "fresh", {"fresh/a.py": code(902), "fresh/b.py": code(903), "fresh/copy.py": code(4),
                             "fresh/held.py": _edited(Path(held_file).read_text()),
                             "fresh/trained.py": _edited(Path(train_file).read_text())},
             License_Expression="BSD-3-Clause")
    files, packages = collect_sources([site], None, [])
    out = tmp_path / "more"
    stats = build_corpus(out, files, packages, heldout_fraction=0.3, workers=1, extends=base, log=lambda *_: None)

    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(Path(r["path"]).name for r in manifest) == ["a.py", "b.py"]
    assert {r["split"] for r in manifest} == {"train"} and (out / "heldout.jsonl").read_text() == ""
    assert (out / "heldout_packages.txt").read_text() == ""
    assert stats.dropped == {"package-in-extended-corpus": 2, "exact-duplicate": 1,
                             "near-duplicate-of-extended-heldout": 1, "near-duplicate-of-extended-train": 1}
    assert stats.extends == str(base)
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert {d["package"] for d in dropped if d["reason"] == "package-in-extended-corpus"} == {held, "pkg1"}
    near = {Path(d["path"]).name: d["like"] for d in dropped if d["reason"].startswith("near-duplicate")}
    assert near == {"held.py": held_file, "trained.py": train_file}
    assert np.load(out / "signatures.npy").shape == (2, 64)


def _edited(text: str) -> str:
    """A near copy: one statement more, as another version of the same module would have."""
    return text.replace("\n", "\n    extra = 1\n", 1)


def test_a_corpus_without_signatures_has_them_computed_or_is_extended_by_exact_copies_alone(tmp_path):
    base = tmp_path / "corpus"
    files, packages = collect_sources([_environment(tmp_path)], None, [])
    build_corpus(base, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
    saved = np.load(base / "signatures.npy")

    # Written before signatures were saved: they are computed from the split files, the same, and saved.
    (base / "signatures.npy").unlink()
    said = []
    extended = read_extended(base, log=said.append)
    assert np.array_equal(extended.signatures, saved) and np.array_equal(np.load(base / "signatures.npy"), saved)
    assert said == [f"corpus: computed the signatures of {len(saved)} files of {base} "
                    f"(saved to {base / 'signatures.npy'})"]

    # Its manifest alone (as copied to another machine): only exact copies are left out, and the log says so.
    (base / "signatures.npy").unlink()
    for split in ("train", "heldout"):
        (base / f"{split}.jsonl").unlink()
    said.clear()
    extended = read_extended(base, log=said.append)
    assert extended.signatures is None and len(extended.files) == len(saved)
    assert said == [f"corpus: {base} has no signatures.npy (nor its split files): near copies of its files are not "
                    f"looked for, only exact ones"]

    np.save(base / "signatures.npy", saved[:-1])
    with pytest.raises(EngineError, match=f"signatures.npy: uint32 array of shape \\({len(saved) - 1}, 64\\), "
                                          f"expected uint32 of shape \\({len(saved)}, 64\\)"):
        read_extended(base)
    (base / "signatures.npy").write_bytes(b"not numpy")
    with pytest.raises(EngineError, match="signatures.npy: not a signature array"):
        read_extended(base)


def test_extending_from_the_command_line_names_what_is_wrong(tmp_path, capsys):
    import argparse

    from engine.corpus import register

    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(code(800))
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    missing = parser.parse_args(["corpus", "--repo", str(repo), "--out", str(tmp_path / "out"), "--workers", "1",
                                 "--extends", str(tmp_path / "nothing")])
    assert missing.func(missing) == 2
    assert f"{tmp_path / 'nothing' / 'manifest.jsonl'}: not found" in capsys.readouterr().err
    same = parser.parse_args(["corpus", "--repo", str(repo), "--out", str(tmp_path / "out"), "--workers", "1",
                              "--extends", str(tmp_path / "out")])
    assert same.func(same) == 2
    assert "another --out directory" in capsys.readouterr().err


def test_bytes_that_are_not_utf8_in_a_corpus_file_are_named_with_their_line(tmp_path, capsys):
    from engine.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = json.dumps({"path": "a.py", "package": "a", "language": "python", "text": "x = 1\n"})
    (corpus / "train.jsonl").write_bytes(good.encode() + b"\n\xff\xfe\n")
    with pytest.raises(EngineError, match=r"^\S*train.jsonl:2: not UTF-8 text$"):
        list(read_documents(corpus / "train.jsonl"))
    (corpus / "heldout.jsonl").write_text(good + "\n")
    assert main(["tokenizer", "--corpus", str(corpus), "--out", str(tmp_path / "tok.json"), "--vocab-size", "300"]) == 2
    assert capsys.readouterr().err.strip() == f"tokenizer: {corpus / 'train.jsonl'}:2: not UTF-8 text"


def _reworded(text: str, every: int = 3) -> str:
    """Another library's copy of a module, edited since: every few lines changed (about 0.6 similar)."""
    return "\n".join(line + "  # ours" if i % every == 0 else line for i, line in enumerate(text.split("\n")))


def test_a_private_copy_of_another_package_is_left_out_and_a_held_out_file_like_a_train_file_is_dropped(tmp_path):
    site = _environment(tmp_path)
    _install(site, "wrapper", {"wrapper/cli.py": code(600), "wrapper/_pkg4/core.py": code(4),
                               "wrapper/_helpers/util.py": code(601), "wrapper/_pkg5/own.py": code(602)},
             License_Expression="MIT")
    files, packages = collect_sources([site], None, [])
    out = tmp_path / "corpus"
    stats = build_corpus(out, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    paths = {str(Path(r["path"]).relative_to(site)) for r in manifest}
    # click vendored as typer/_click: another package's code under another licence. `_helpers` names no package, and
    # `_pkg5` holds none of pkg5's modules (torch's own `torch/_numpy`).
    assert "wrapper/_pkg4/core.py" not in paths
    assert {"wrapper/cli.py", "wrapper/_helpers/util.py", "wrapper/_pkg5/own.py"} <= paths
    assert stats.dropped["private-copy"] == 1
    heldout = sorted((out / "heldout_packages.txt").read_text().split())
    trained = next(Path(r["path"]) for r in manifest if r["split"] == "train")
    held = next(r["package"] for r in manifest if r["split"] == "heldout" and r["package"].startswith("pkg"))
    # The same environment with a held-out package that also holds an edited copy of a train file.
    copy = site / held / "borrowed.py"
    copy.write_text(_reworded(trained.read_text()))
    record = next(site.glob(f"{held}-1.0.dist-info")) / "RECORD"
    record.write_text(record.read_text() + f"{held}/borrowed.py,,\n")
    files, packages = collect_sources([site], None, [])
    again = tmp_path / "again"
    stats = build_corpus(again, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
    assert sorted((again / "heldout_packages.txt").read_text().split()) == heldout
    assert stats.dropped.get("near-train-copy") == 1
    dropped = [json.loads(line) for line in (again / "dropped.jsonl").read_text().splitlines()]
    assert [(d["path"], d["like"]) for d in dropped if d["reason"] == "near-train-copy"] == [(str(copy), str(trained))]
    assert str(copy) not in (again / "heldout.jsonl").read_text()


def test_a_held_out_file_that_shares_only_a_licence_header_with_a_train_file_stays(tmp_path):
    from engine.corpus import minhash_signature, near_train

    rng = random.Random(7)
    header = "".join("# " + " ".join(rng.choice(WORDS) for _ in range(12)) + "\n" for _ in range(60))
    train, held, copy = tmp_path / "train.py", tmp_path / "held.py", tmp_path / "copy.py"
    train.write_text(header + code(1))
    held.write_text(header + code(2))
    copy.write_text(header + _reworded(code(1)))
    entries = [(str(p), minhash_signature(p.read_bytes())) for p in (train, held, copy)]
    estimate = float((entries[0][1] == entries[1][1]).mean())
    assert estimate >= 0.5  # by the estimate alone, the header made it a copy
    assert near_train(entries[1:], entries[:1]) == [(1, 0)]  # the edited copy only


def _corpus_command(tmp_path: Path, repo: Path, out: str = "out", *more: Path):
    import argparse

    from engine.corpus import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    repos = [arg for r in (repo, *more) for arg in ("--repo", str(r))]
    args = parser.parse_args(["corpus", *repos, "--out", str(tmp_path / out), "--workers", "1"])
    return args.func(args)


def test_a_git_work_tree_git_cannot_list_is_an_error_not_a_corpus_with_what_it_ignores(tmp_path, monkeypatch,
                                                                                       capsys):
    # Git refusing the repository (another user's checkout) or missing read as "no work tree": the ignored secrets
    # went into train.jsonl.
    repo = tmp_path / "proj"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(code(940))
    (repo / "app" / "local_settings.py").write_text(code(941))
    (repo / ".gitignore").write_text("app/local_settings.py\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")  # no safe.directory of this machine's
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")  # git's own switch for "owned by another user"
    assert _corpus_command(tmp_path, repo) == 2
    assert capsys.readouterr().err == (f"corpus: {repo}: in a git work tree, but git cannot list the files it "
                                       f"ignores: fatal: detected dubious ownership in repository at '{repo}'\n")
    assert not (tmp_path / "out" / "train.jsonl").exists()
    monkeypatch.delenv("GIT_TEST_ASSUME_DIFFERENT_OWNER")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert _corpus_command(tmp_path, repo) == 2
    assert capsys.readouterr().err == (f"corpus: {repo}: in a git work tree, but git cannot list the files it "
                                       f"ignores: git is not installed\n")
    # Outside a work tree there is nothing git would ignore: git is not needed.
    shutil.rmtree(repo / ".git")
    assert _corpus_command(tmp_path, repo) == 0
    assert (tmp_path / "out" / "manifest.jsonl").read_text().count("\n") == 2


def test_a_file_name_that_is_not_utf8_is_dropped_and_the_corpus_is_replaced_whole(tmp_path, capsys):
    # A Latin-1 name crashed the writing of train.jsonl, after the previous corpus's files had been overwritten.
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    for i, rel in enumerate(["pkg/core.py", "pkg/util.py", "top.py"]):
        (repo / rel).write_text(code(980 + i))
    assert _corpus_command(tmp_path, repo) == 0
    before = (tmp_path / "out" / "manifest.jsonl").read_text()
    undecodable = os.fsencode(repo / "pkg") + b"/caf\xe9.py"
    with open(undecodable, "w") as fh:
        fh.write(code(990))
    assert _corpus_command(tmp_path, repo) == 0
    out = tmp_path / "out"
    assert (out / "manifest.jsonl").read_text() == before
    assert json.loads((out / "stats.json").read_text())["dropped"] == {"undecodable-name": 1}
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert [(os.fsencode(d["path"]), d["reason"]) for d in dropped] == [(undecodable, "undecodable-name")]
    # Written beside --out and moved into it: nothing is left there.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "proj"]
    capsys.readouterr()


def test_a_byte_order_mark_is_not_part_of_a_documents_text(tmp_path, capsys):
    # It was kept in the training text, where the engine drops it from a file it fills: the model learnt text it
    # never sees.
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    for i, rel in enumerate(["pkg/core.py", "pkg/util.py", "top.py"]):
        (repo / rel).write_text(code(960 + i), encoding="utf-8-sig" if rel == "pkg/core.py" else "utf-8")
    assert _corpus_command(tmp_path, repo) == 0
    texts = {Path(d["path"]).name: d["text"] for split in ("train", "heldout")
             for d in map(json.loads, (tmp_path / "out" / f"{split}.jsonl").read_text().splitlines())}
    assert texts["core.py"] == code(960) and not any(t.startswith("\ufeff") for t in texts.values())
    capsys.readouterr()


def _corpus_without_root_powers(tmp_path: Path, repo: Path, out: str) -> subprocess.CompletedProcess:
    """The command as a user whom permissions apply to: root's powers to read anything are dropped."""
    command = [sys.executable, "-m", "engine.cli", "corpus", "--repo", str(repo), "--out", str(tmp_path / out),
               "--workers", "1"]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions cannot be made to apply")
        caps = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)


def test_unreadable_folders_are_counted_and_a_repository_without_source_files_is_an_error(tmp_path, capsys):
    from engine.languages import LANGUAGES

    extensions = ", ".join(ext for lang in LANGUAGES for ext in lang.extensions)
    kotlin = tmp_path / "kotlin"
    kotlin.mkdir()
    (kotlin / "Main.kt").write_text('fun main() {\n    println("hello from a kotlin project")\n}\n')
    assert _corpus_command(tmp_path, kotlin) == 2
    assert capsys.readouterr().err == f"corpus: no source file in {kotlin}: the supported extensions are " \
                                      f"{extensions}\n"
    # Beside a repository that gives files, too: a wrong folder among several is no less a mistake.
    good = tmp_path / "good"
    good.mkdir()
    (good / "app.py").write_text(code(994))
    assert _corpus_command(tmp_path, good, "out2", kotlin) == 2
    assert capsys.readouterr().err == f"corpus: no source file in {kotlin}: the supported extensions are " \
                                      f"{extensions}\n"

    part, locked = tmp_path / "part", tmp_path / "locked"
    (part / "sub").mkdir(parents=True)
    (part / "core.py").write_text(code(995))
    (part / "sub" / "types.py").write_text(code(996))
    locked.mkdir()
    (locked / "core.py").write_text(code(997))
    (part / "sub").chmod(0)
    locked.chmod(0)
    try:
        partly = _corpus_without_root_powers(tmp_path, part, "c1")
        nothing = _corpus_without_root_powers(tmp_path, locked, "c2")
    finally:
        (part / "sub").chmod(0o755)
        locked.chmod(0o755)
    assert partly.returncode == 0, partly.stderr
    assert f"corpus: {part}: 1 unreadable folder skipped, the first {part / 'sub'} (Permission denied)\n" \
        in partly.stdout
    assert nothing.returncode == 2
    assert f"corpus: {locked}: 1 unreadable folder skipped, the first {locked} (Permission denied)\n" in nothing.stdout
    assert nothing.stderr == f"corpus: no source file in {locked}: the supported extensions are {extensions}\n"


def test_a_repository_whose_every_file_is_dropped_is_an_error_and_leaves_out_as_it_was(tmp_path, capsys):
    # Two one-line files gave an empty corpus, exit 0, and pretokenize failed later on an empty train split.
    repo = tmp_path / "tiny"
    repo.mkdir()
    (repo / "a.py").write_text("x = 1\n")
    (repo / "b.py").write_text("y = 2\n")
    assert _corpus_command(tmp_path, repo) == 2
    err = capsys.readouterr().err
    assert err == (f"corpus: none of the 2 source files found is kept: 2 too-short (the first {repo / 'a.py'}); "
                   f"{tmp_path / 'out'} is left as it was\n")
    assert not (tmp_path / "out").exists()
    # An earlier corpus there stays whole.
    good = tmp_path / "good"
    good.mkdir()
    (good / "app.py").write_text(code(1100))
    assert _corpus_command(tmp_path, good) == 0
    before = (tmp_path / "out" / "manifest.jsonl").read_text()
    (repo / "c.py").write_bytes(b"\x00binary" * 20)
    assert _corpus_command(tmp_path, repo) == 2
    assert "none of the 3 source files found is kept: 2 too-short, 1 binary" in capsys.readouterr().err
    assert (tmp_path / "out" / "manifest.jsonl").read_text() == before
    # Extending a corpus with nothing new is no mistake: the machine has nothing more to add.
    files, packages = collect_sources([], None, [good], log=lambda *_: None)
    stats = build_corpus(tmp_path / "more", files, packages, workers=1, extends=tmp_path / "out",
                         log=lambda *_: None)
    assert stats.files_kept == {"train": 0, "heldout": 0}


@pytest.mark.parametrize("header", [
    "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n",
    "// Code generated by protoc-gen-go. DO NOT EDIT.\n",
    "// @generated\n",
    "# -*- coding: utf-8 -*-\n#\n# This file is automatically generated by tools/make_tables.py\n",
    "/* auto-generated file: edit schema.in instead */\n",
    "# This file was automatically generated. Do not edit.\n",
    "# Autogenerated by Thrift Compiler (0.9.3)\n",
    '"""This module was generated from grammar.txt by pgen; do not edit."""\n',
    '"""\n    pygments.lexers._css_builtins\n    ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n\n    This file is autogenerated by '
    'scripts/get_css_properties.py\n"""\n',
])
def test_a_header_comment_that_says_the_file_is_generated_drops_it(header):
    assert rejection_reason((header + code(1200)).encode()) == "generated"


@pytest.mark.parametrize("header", [
    '__version__ = "1.4.2"  # do not edit this line by hand: bump2version updates it\n',
    "# DO NOT EDIT THIS LINE MANUALLY\n",
    '"""Core types.\n\nThe schema module next to it is auto-generated, this one is not.\n"""\n',
    "# Helpers for the tables generated by make_tables.py\n",
    "# Do not edit the constants below without updating the docs.\n",
    'MESSAGE = "This file is automatically generated"\n',
    'HEADER = """/**\n * @generated\n * This is an auto-generated file. Please do not modify it by hand.\n */\n"""\n',
    "#include <Python.h>\n\n/* numpconfig.h is auto-generated */\n#include \"numpyconfig.h\"\n",
])
def test_a_hand_written_file_that_mentions_generation_is_kept(header):
    # A user's own __init__.py and core.py were dropped as generated, and nothing said so.
    assert rejection_reason((header + code(1201)).encode()) is None


def test_an_installed_file_is_generated_on_the_words_alone():
    # The environment's corpus, whose held-out split the embedded model was measured on, keeps its files.
    data = ('__version__ = "1.4.2"  # do not edit this line by hand: bump2version updates it\n' + code(1203)).encode()
    assert rejection_reason(data) is None
    assert rejection_reason(data, installed=True) == "generated"
    assert rejection_reason(code(1203).encode(), installed=True) is None


def test_the_files_of_a_repository_that_are_dropped_are_named_in_the_log(tmp_path):
    repo = _flat_repository(tmp_path)
    (repo / "app" / "schema_pb2.py").write_text("# Generated by the protocol buffer compiler.  DO NOT EDIT!\n"
                                                + code(1202))
    (repo / "lib" / "tiny.py").write_text("x = 1\n")
    files, packages = collect_sources([], None, [repo], log=lambda *_: None)
    logged = []
    build_corpus(tmp_path / "out", files, packages, workers=1, log=logged.append)
    assert "corpus: left out of the repositories: 1 generated (proj/app/schema_pb2.py), 1 too-short " \
           "(proj/lib/tiny.py); dropped.jsonl lists every file left out" in logged


def test_a_named_pipe_in_a_repository_is_left_out_not_read(tmp_path):
    # Reading it blocked corpus forever, and the kill left a .partial folder beside --out.
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "lib.py").write_text(code(1300))
    os.mkfifo(repo / "pipe.py")
    command = [sys.executable, "-m", "engine.cli", "corpus", "--repo", str(repo), "--out", str(tmp_path / "out"),
               "--workers", "1"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        pytest.fail("corpus blocked on the named pipe")
    assert done.returncode == 0, done.stderr
    assert f"corpus: {repo}: left out 1 not a regular file\n" in done.stdout
    assert [Path(json.loads(line)["path"]).name for line in (tmp_path / "out" / "manifest.jsonl").open()] == ["lib.py"]


def test_a_named_pipe_given_as_a_source_file_is_dropped_with_its_reason(tmp_path):
    from engine.corpus import _file_facts

    pipe = tmp_path / "pipe.py"
    os.mkfifo(pipe)
    # In a thread, so that a read that blocks fails the test instead of hanging it.
    found = []
    reader = threading.Thread(target=lambda: found.append(_file_facts((0, str(pipe), False))), daemon=True)
    reader.start()
    reader.join(60)
    if reader.is_alive():
        with open(pipe, "w"):
            pass  # lets the blocked read end
        reader.join()
    assert found and found[0].reason == "not-a-regular-file"


def test_an_out_folder_that_is_not_a_corpus_is_refused(tmp_path, capsys):
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "app.py").write_text(code(1400))
    # A user's folder: its stats.json was replaced silently.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "stats.json").write_text('{"my": "settings"}')
    (mine / "notes.txt").write_text("notes\n")
    assert _corpus_command(tmp_path, repo, "mine") == 2
    assert capsys.readouterr().err == (f"corpus: --out {mine}: a folder that is not empty and holds no corpus (no "
                                       f"manifest.jsonl): give a new or empty folder, or an earlier corpus's\n")
    assert (mine / "stats.json").read_text() == '{"my": "settings"}' and sorted(os.listdir(mine)) == \
        ["notes.txt", "stats.json"]
    # A checkpoint, whatever else it holds.
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "manifest.jsonl").write_text("")
    assert _corpus_command(tmp_path, repo, "model") == 2
    assert capsys.readouterr().err == f"corpus: --out {model}: a checkpoint folder (it has config.json)\n"
    # The embedded model's folder, or one inside it, ships with the package.
    from engine.config import DEFAULT_MODEL_DIR

    inside = DEFAULT_MODEL_DIR / "corpus"
    with pytest.raises(EngineError, match=f"^--out {re.escape(str(inside))}: inside the embedded model's folder "):
        build_corpus(inside, [], {}, workers=1, log=lambda *_: None)
    assert not inside.exists()
    # A new folder, an empty one and an earlier corpus are written to.
    (tmp_path / "empty").mkdir()
    assert _corpus_command(tmp_path, repo, "empty") == 0
    assert _corpus_command(tmp_path, repo, "empty") == 0


def test_the_corpus_command_says_how_many_files_it_read_and_where_it_wrote(tmp_path, capsys):
    # It said "read 0/36 files" and nothing further, and never named the folder it wrote.
    repo = _flat_repository(tmp_path)
    assert _corpus_command(tmp_path, repo) == 0
    out = capsys.readouterr().out
    assert "corpus: read 60/60 files\n" in out
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert out.endswith(f"corpus: wrote {tmp_path / 'out'}: {stats['files_kept']['train']} files to train, "
                        f"{stats['files_kept']['heldout']} held out\n")


def js_code(seed: int) -> str:
    """A distinct, plausible JavaScript module, as `code` writes Python."""
    rng = random.Random(seed)
    lines = []
    for f in range(3):
        args = rng.sample(WORDS, 3)
        lines.append(f"export function {rng.choice(WORDS)}{rng.choice(WORDS).title()}{seed}x{f}({', '.join(args)}) {{")
        for _ in range(6):
            a, b = rng.sample(WORDS, 2)
            lines.append(f"  const {a}{rng.randint(0, 99)} = {b} {rng.choice(['+', '-', '*', '%'])} "
                         f"{rng.randint(2, 999)};")
        lines.append(f"  return {args[0]};")
        lines.append("}")
        lines.append("")
    return "\n".join(lines)


def _npm_package(node_modules: Path, folder: str, manifest: dict | str, files: dict[str, str]) -> None:
    """A package as npm installs it: its folder under node_modules (`@scope/name` for a scoped one), its
    package.json (a str is written as it is), its files."""
    root = node_modules / folder
    root.mkdir(parents=True)
    (root / "package.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_npm_license_verdict_reads_package_json():
    from engine.corpus import LicenseVerdict, npm_license_verdict

    assert npm_license_verdict({"license": "MIT"}) == LicenseVerdict("MIT", True)
    assert npm_license_verdict({"license": "(MIT OR GPL-3.0)"}).permissive
    assert npm_license_verdict({"license": {"type": "ISC"}}).permissive  # the older form
    assert npm_license_verdict({"licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}).permissive
    assert not npm_license_verdict({"licenses": [{"type": "MIT"}, {"type": "GPL-2.0"}]}).permissive
    assert npm_license_verdict({"license": "MIT License"}) == LicenseVerdict("MIT", True)
    for refused in ({"license": "UNLICENSED"}, {"license": "SEE LICENSE IN LICENSE.md"}, {"license": "GPL-3.0"},
                    {}, {"license": 3}, {"licenses": "MIT"}):
        assert not npm_license_verdict(refused).permissive, refused


def test_npm_packages_join_the_corpus_by_their_package_json_licence(tmp_path):
    node_modules = tmp_path / "node_modules"
    _npm_package(node_modules, "left-pad", {"name": "left-pad", "license": "MIT"}, {
        "index.js": js_code(1), "lib/util.mjs": js_code(2), "src/view.tsx": js_code(3),
        "index.d.ts": "export declare function leftPad(s: string, n: number): string;\n",  # the compiler's output
        "node_modules/dep/index.js": js_code(4),  # a dependency at another version: its own package
        "vendor/copy.js": js_code(5), "README.md": "# not code\n"})
    _npm_package(node_modules, "@scope/thing", {"name": "@scope/thing", "license": {"type": "ISC"}},
                 {"src/a.ts": js_code(6)})
    _npm_package(node_modules, "six", {"name": "six", "license": "MIT"}, {"six.js": js_code(7)})
    _npm_package(node_modules, "copyleft", {"name": "copyleft", "license": "GPL-3.0"}, {"index.js": js_code(8)})
    _npm_package(node_modules, "mine", {"name": "mine", "license": "UNLICENSED"}, {"index.js": js_code(9)})
    _npm_package(node_modules, "broken", "{\"name\": ", {"index.js": js_code(10)})
    (node_modules / ".bin").mkdir()
    site = tmp_path / "site-packages"
    _install(site, "six", {"six.py": code(11)}, License="MIT")
    lines = []
    files, packages = collect_sources([site], None, [], log=lines.append, node_modules=[node_modules])
    found = {(f.package, Path(f.path).relative_to(tmp_path).as_posix(), f.language, f.license) for f in files}
    assert found == {
        ("npm-left-pad", "node_modules/left-pad/index.js", "javascript", "MIT"),
        ("npm-left-pad", "node_modules/left-pad/lib/util.mjs", "javascript", "MIT"),
        ("npm-left-pad", "node_modules/left-pad/src/view.tsx", "tsx", "MIT"),
        ("npm-scope-thing", "node_modules/@scope/thing/src/a.ts", "typescript", "ISC"),
        ("npm-six", "node_modules/six/six.js", "javascript", "MIT"),
        ("six", "site-packages/six.py", "python", "MIT"),  # PyPI's six, a package of its own
    }
    assert not packages["npm-copyleft"].permissive and not packages["npm-mine"].permissive
    assert {p.ecosystem for n, p in packages.items() if n.startswith("npm-")} == {"npm"}
    assert packages["six"].ecosystem == "python"
    assert lines == [f"corpus: {node_modules / 'broken' / 'package.json'}: left out, unreadable "
                     "(Expecting value: line 1 column 10 (char 9))"]


def test_npm_packages_leave_the_python_split_as_it_was(tmp_path):
    site = _environment(tmp_path)
    node_modules = tmp_path / "node_modules"
    for i in range(12):
        _npm_package(node_modules, f"js{i}", {"name": f"js{i}", "license": "MIT"},
                     {"index.js": js_code(700 + i), "lib/more.js": js_code(800 + i)})

    def split(out: str, npm: list[Path]) -> dict[str, set[str]]:
        files, packages = collect_sources([site], None, [], node_modules=npm)
        build_corpus(tmp_path / out, files, packages, heldout_fraction=0.3, workers=1, log=lambda *_: None)
        heldout = set((tmp_path / out / "heldout_packages.txt").read_text().split())
        return {"python": {p for p in heldout if not p.startswith("npm-")},
                "npm": {p for p in heldout if p.startswith("npm-")}}

    alone, both = split("python", []), split("both", [node_modules])
    assert alone["python"] and both["python"] == alone["python"]
    assert both["npm"], "npm packages hold out their own share"


def test_the_corpus_command_takes_node_modules_folders(tmp_path, capsys):
    import argparse

    from engine.corpus import register

    node_modules = tmp_path / "node_modules"
    for i in range(12):
        _npm_package(node_modules, f"js{i}", {"name": f"js{i}", "license": "MIT"}, {"index.js": js_code(900 + i)})
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["corpus", "--no-stdlib", "--site-dir", str(tmp_path), "--node-modules",
                              str(node_modules), "--out", str(tmp_path / "out"), "--workers", "1",
                              "--heldout-fraction", "0.3"])
    assert args.func(args) == 0
    manifest = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert {r["package"] for r in manifest} == {f"npm-js{i}" for i in range(12)}
    assert {r["split"] for r in manifest} == {"train", "heldout"}
    missing = parser.parse_args(["corpus", "--node-modules", str(tmp_path / "none"), "--out", str(tmp_path / "x")])
    assert missing.func(missing) == 2
    assert capsys.readouterr().err == f"corpus: {tmp_path / 'none'}: not a directory\n"


def test_a_repository_runs_no_command_its_git_config_names(tmp_path):
    # A project downloaded to train on is the user's own files, so git's ownership check lets its config be read.
    repo = tmp_path / "proj"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(code(950))
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    marker = tmp_path / "ran"
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", f"touch '{marker}'; false"], check=True)
    assert _corpus_command(tmp_path, repo) == 0
    assert (tmp_path / "out" / "manifest.jsonl").read_text().count("\n") == 1
    assert not marker.exists()
