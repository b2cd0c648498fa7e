"""Every public function, method and class of the package says what it takes, what it returns and
what it raises, where ``help()`` shows it (the compiled module's own docstrings)."""

import builtins
import inspect
import re
from typing import Callable, Dict, List

import dbops
import dbops.pitr

CLASSES_WITH_OPERATIONS = ("Migrator", "HealthProbe", "TempCluster", "TestDatabases", "TestDatabase")
SECTION = re.compile(r"^(Args|Returns|Raises):\s*$", re.M)


def sections(doc: str) -> Dict[str, str]:
    """The Google-style sections of a docstring, by heading."""
    parts = SECTION.split(doc)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def public_callables() -> Dict[str, Callable[..., object]]:
    found: Dict[str, Callable[..., object]] = {}
    for module in (dbops, dbops.pitr):
        for name in getattr(module, "__all__", dir(module)):
            obj = getattr(module, name)
            if name.startswith("_") or inspect.isclass(obj) or inspect.ismodule(obj):
                continue
            if callable(obj):
                found[f"{module.__name__}.{name}"] = obj
    for cls_name in CLASSES_WITH_OPERATIONS:
        cls = getattr(dbops, cls_name)
        for name, obj in vars(cls).items():
            if name.startswith("_") or not callable(getattr(cls, name)):
                continue
            found[f"dbops.{cls_name}.{name}"] = getattr(cls, name)
    return found


def problems_of(name: str, function: Callable[..., object]) -> List[str]:
    doc = inspect.getdoc(function) or ""
    if not doc.strip():
        return [f"{name}: no docstring"]
    if name.endswith("_async") and "Raises:" not in doc:
        # An awaitable form may instead point at its blocking form, which is checked in full.
        # By its own name: `dbops.pitr.push_async` is `pitr_push_async`, the awaitable of `pitr_push`.
        blocking = getattr(function, "__name__", name).removesuffix("_async").rsplit(".", 1)[-1]
        if not doc.startswith(f"The awaitable form of `{blocking}`"):
            return [f"{name}: neither documented in full nor `The awaitable form of `{blocking}``"]
        return []
    found = sections(doc)
    problems = [f"{name}: no `{s}:` section" for s in ("Returns", "Raises") if s not in found]
    try:
        parameters = [
            p for p in inspect.signature(function).parameters if p not in ("self", "cls", "py")
        ]
    except (TypeError, ValueError):
        parameters = []
    if parameters and "Args" not in found:
        problems.append(f"{name}: no `Args:` section for {parameters}")
    args = found.get("Args", "")
    for parameter in parameters:
        if not re.search(rf"^\s*{re.escape(parameter)}\b[^:\n]*:", args, re.M):
            problems.append(f"{name}: argument `{parameter}` is not described under `Args:`")
    raises = found.get("Raises", "")
    for error in re.findall(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*:", raises, re.M):
        if not hasattr(dbops, error) and not hasattr(builtins, error):
            problems.append(f"{name}: raises `{error}`, which is neither dbops' nor a built-in")
    return problems


def test_every_function_and_method_documents_arguments_result_and_errors() -> None:
    callables = public_callables()
    assert len(callables) > 80, sorted(callables)
    problems = [p for name, f in sorted(callables.items()) for p in problems_of(name, f)]
    assert not problems, "\n".join(problems)


def test_every_public_class_has_a_docstring() -> None:
    missing = [
        name
        for name in dir(dbops)
        if not name.startswith("_")
        and inspect.isclass(getattr(dbops, name))
        and not (inspect.getdoc(getattr(dbops, name)) or "").strip()
    ]
    assert not missing, missing


def test_the_checker_finds_what_is_missing() -> None:
    def documented(url: str, store: str) -> None:
        """Does a thing.

        Args:
            url: the database.

        Returns:
            None.

        Raises:
            NoSuchError: never.
        """

    problems = problems_of("documented", documented)
    assert "documented: argument `store` is not described under `Args:`" in problems
    assert "documented: raises `NoSuchError`, which is neither dbops' nor a built-in" in problems
    assert problems_of("undocumented", lambda: None) == ["undocumented: no docstring"]


def test_the_typing_stubs_carry_the_same_docstrings() -> None:
    """Editors read the stubs: they say what ``help()`` says (scripts/sync-stub-docs.py copies them)."""
    import ast
    from pathlib import Path

    import dbops._dbops as compiled

    stubs = Path(dbops.__file__).with_name("_dbops.pyi")
    tree = ast.parse(stubs.read_text())
    differ = []

    def walk(body: List[ast.stmt], owner: object, prefix: str) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            runtime = getattr(owner, node.name, None)
            stub_doc = ast.get_docstring(node)
            runtime_doc = inspect.getdoc(runtime) if runtime is not None else None
            if runtime_doc and stub_doc and runtime_doc != stub_doc:
                differ.append(prefix + node.name)
            if isinstance(node, ast.ClassDef) and runtime is not None:
                walk(node.body, runtime, f"{prefix}{node.name}.")

    walk(tree.body, compiled, "")
    assert not differ, f"run `.venv/bin/python scripts/sync-stub-docs.py`: {differ}"
