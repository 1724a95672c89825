"""The names a standard-library module defines, read from its source without running it: every public name the
module has once imported is among them, where they are told at all, and a module that makes names as it runs is one
whose names are not told."""

import importlib

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
    "math",  # written in C
    "numpy",  # not the standard library's
    "distutils",  # setuptools may stand in for it
    "",
])
def test_a_module_whose_names_its_text_does_not_tell_lacks_nothing(module):
    assert module_names(module) is None
    assert not lacks(module, "no_such_name")


def test_a_module_lacks_a_name_it_does_not_define_but_a_private_one_is_never_judged():
    assert lacks("pathlib", "get") and lacks("typing", "get") and lacks("json", "Path")
    assert not lacks("pathlib", "Path") and not lacks("json", "decoder")  # a package's submodule
    assert not lacks("pathlib", "_no_such_name")
