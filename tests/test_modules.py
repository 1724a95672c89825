"""The names a standard-library module defines, read from its source without running it where its text tells them,
else from its import in a child process: every public name the module has once imported is among them, where they
are told at all; a module that makes names as they are read, or that cannot be imported, is one whose names are not
told."""

import importlib
import sys

import pytest

from infill_ls.modules import lacks, module_names

TOLD = ["json", "pathlib", "typing", "collections", "collections.abc", "logging", "logging.handlers", "argparse",
        "shutil", "string", "textwrap", "csv", "asyncio", "functools", "contextlib", "tempfile", "email.message"]


@pytest.mark.parametrize("module", TOLD)
def test_every_public_name_an_imported_module_has_is_told(module):
    names = module_names(module)
    assert names is not None, module
    public = {name for name in dir(importlib.import_module(module)) if not name.startswith("_")}
    assert public <= names, sorted(public - names)


@pytest.mark.parametrize("module", [
    "re",  # its flags are an enum's members made the module's (`global_enum`)
    "signal",  # the same, by `_convert_`
    "os",  # all of `posix`, a module written in C
    "datetime",  # all of `_datetime`, the same
    "math",  # written in C
    "sys",  # the same
])
def test_a_module_whose_text_does_not_tell_its_names_is_imported_apart_and_its_names_told(module):
    names = module_names(module)
    assert names is not None, module
    public = {name for name in dir(importlib.import_module(module)) if not name.startswith("_")}
    assert public <= names, sorted(public - names)
    assert lacks(module, "no_such_name")


@pytest.mark.parametrize("module", [
    "concurrent.futures",  # a module `__getattr__` makes names as they are read
    "numpy",  # not the standard library's
    "distutils",  # setuptools may stand in for it
    "",
] + (["winreg"] if sys.platform != "win32" else []))  # one that cannot be imported here
def test_a_module_whose_names_are_not_told_lacks_nothing(module):
    assert module_names(module) is None
    assert not lacks(module, "no_such_name")


def test_a_module_is_imported_apart_from_the_working_directory_and_what_its_import_prints_is_not_read(tmp_path,
                                                                                                       monkeypatch):
    from infill_ls import modules

    # A file of the user's, named as a module of the standard library, is not the one imported.
    (tmp_path / "datetime.py").write_text("print('[\"only_here\"]')\nonly_here = 1\n")
    monkeypatch.chdir(tmp_path)
    modules._imported_names.cache_clear()
    try:
        assert not lacks("datetime", "timedelta") and lacks("datetime", "only_here")
    finally:
        modules._imported_names.cache_clear()


def test_a_module_lacks_a_name_it_does_not_define_but_a_private_one_is_never_judged():
    assert lacks("pathlib", "get") and lacks("typing", "get") and lacks("json", "Path")
    assert not lacks("pathlib", "Path") and not lacks("json", "decoder")  # a package's submodule
    assert not lacks("pathlib", "_no_such_name")
