#!/usr/bin/env python3
"""Copies the compiled module's docstrings (what ``help()`` shows, written in dbops-py/src) into the
typing stubs ``dbops-py/python/dbops/_dbops.pyi``, so editors show the same text. Run it with the
test virtualenv's Python after changing a docstring; ``tests/test_docstrings.py`` fails while the two
differ.

Usage: .venv/bin/python scripts/sync-stub-docs.py
"""
import ast
import inspect
from pathlib import Path

import dbops._dbops as compiled

STUBS = Path(__file__).resolve().parent.parent / "dbops-py/python/dbops/_dbops.pyi"


def runtime_doc(path):
    obj = compiled
    for part in path:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return inspect.getdoc(obj)


def docstring_nodes(tree):
    """(qualified name, docstring node, indent) of every function and class with a docstring."""
    def walk(body, prefix, indent):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                path = prefix + [node.name]
                first = node.body[0] if node.body else None
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                        and isinstance(first.value.value, str):
                    yield path, first, indent + 4
                if isinstance(node, ast.ClassDef):
                    yield from walk(node.body, path, indent + 4)
    yield from walk(tree.body, [], 0)


def main():
    text = STUBS.read_text()
    lines = text.split("\n")
    changed = 0
    # From the bottom up, so earlier line numbers stay valid.
    for path, node, indent in sorted(docstring_nodes(ast.parse(text)),
                                     key=lambda item: -item[1].lineno):
        doc = runtime_doc(path)
        if not doc or doc == inspect.cleandoc(node.value.value):
            continue
        pad = " " * indent
        body = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split("\n")
        new = [pad + '"""' + body[0]] + [(pad + l) if l else "" for l in body[1:]]
        new[-1] += '"""'
        lines[node.lineno - 1:node.end_lineno] = new
        changed += 1
    STUBS.write_text("\n".join(lines))
    print(f"{changed} docstrings copied into {STUBS.name}")


if __name__ == "__main__":
    main()
