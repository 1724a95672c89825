"""The closers a line owes while typing (infill_ls.completion.parsing_first): a Rust macro call's `;`."""

from __future__ import annotations

import pytest

from infill_ls.completion import Suggestion, parsing_first
from infill_ls.documents import DocumentStore
from infill_ls.syntax import SyntaxIndex


def _marked(language_id: str, marked: str):
    """The parse of ``marked`` without its `|`, and the offset of the `|`."""
    store, index = DocumentStore(), SyntaxIndex()
    snapshot = store.open(f"file:///t.{language_id}", language_id, 1, marked.replace("|", "", 1))
    index.opened(snapshot)
    return index.parse(snapshot), marked.index("|")


@pytest.mark.parametrize("marked, shown", [
    # tree-sitter-rust reads a `(` or `[` macro call without its `;` as a statement, though Rust wants the `;`
    # before the next statement, and where the block's value is `()` (a function with no return type, a loop's
    # body) the call is one: a `)` alone kept the file parsing, and was shown.
    ("fn main() {\n    let total = 3;\n    println!(\"{}\", total|\n}\n", ");"),
    ("fn main() {\n    let total = 3;\n    println!(\"{}\", total|\n", ");"),  # the body's `}` not written yet
    ("fn main() {\n    println!(\"{}\", total|\n    let y = 2;\n}\n", ");"),
    ("fn main() {\n    assert_eq!(a, f(b|\n}\n", "));"),
    ("fn main() {\n    for i in 0..3 {\n        println!(\"{}\", i|\n    }\n}\n", ");"),
    ("impl S {\n    fn show(&self) {\n        println!(\"{}\", self.x|\n", ");"),
    ("fn main() {\n    println!(\"{}\", total|  // why\n}\n", ");"),
    # A block's value, an argument, a `let`'s value, a match arm's: as before.
    ("fn f() -> String {\n    format!(\"{}\", x|\n}\n", ")"),
    ("fn f() -> Vec<i32> {\n    vec![1, 2|\n}\n", "]"),
    ("fn main() {\n    let v = vec![1, 2|\n}\n", "];"),
    ("fn main() {\n    f(format!(\"{}\", x|\n}\n", "))"),
    ("fn main() {\n    match x {\n        1 => println!(\"a\"|\n    }\n}\n", ")"),
    # The line's own `;` after the cursor.
    ("fn main() {\n    println!(\"{}\", total|;\n}\n", ")"),
])
def test_a_rust_macro_call_statement_gets_its_semicolon_after_its_closers(marked, shown):
    parsed, at = _marked("rust", marked)
    assert [(s.text, s.source) for s in parsing_first(parsed, at, [])] == [(shown, "closers")]
    assert [s.text for s in parsing_first(parsed, at, [Suggestion(", 1", at, at, -0.1)])] == [", 1" + shown, ", 1"]
