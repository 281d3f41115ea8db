"""The IDE stubs in ``stubs/tinysense`` match the device modules they describe.

The device modules import ``micropython`` and run only on MicroPython, so both sides are read
with ``ast``, never imported. A public name is one without a leading underscore that a module
defines at its top level (functions, classes and assigned constants, including those defined
inside a top-level ``try``/``if``; imports are not definitions). Each stub must name exactly
the public names of its module, and each class in it exactly the public methods and attributes
of the class: ``def`` in the class body, class-level assignments, or ``self.NAME = ...``
anywhere in the class (``TreeModel.predict`` is a closure assigned in ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEVICE = ROOT / "device" / "tinysense"
STUBS = ROOT / "stubs" / "tinysense"
MODULES = sorted(p.stem for p in DEVICE.glob("*.py"))


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def public(name: str) -> bool:
    return not name.startswith("_")


def assigned_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in assigned_names(elt)]
    return []


def statements(body: list[ast.stmt]):
    """Statements of a block, descending into ``try``/``if``/``with`` but not into defs."""
    for node in body:
        yield node
        if isinstance(node, ast.Try):
            blocks = [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]
        elif isinstance(node, ast.If):
            blocks = [node.body, node.orelse]
        elif isinstance(node, ast.With):
            blocks = [node.body]
        else:
            continue
        for block in blocks:
            yield from statements(block)


def defined(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    """Public names defined by a block: defs, classes, assignments (not imports)."""
    names: dict[str, ast.stmt] = {}
    for node in statements(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = [node.name]
        elif isinstance(node, ast.Assign):
            found = [n for t in node.targets for n in assigned_names(t)]
        elif isinstance(node, ast.AnnAssign):
            found = assigned_names(node.target)
        else:
            continue
        for name in found:
            if public(name):
                names.setdefault(name, node)
    return names


def self_attributes(cls: ast.ClassDef) -> set[str]:
    """Names assigned as ``self.NAME = ...`` (also in tuple targets) anywhere in the class."""
    names = set()
    for node in ast.walk(cls):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        stack = targets
        while stack:
            t = stack.pop()
            if isinstance(t, (ast.Tuple, ast.List)):
                stack.extend(t.elts)
            elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                names.add(t.attr)
    return names


def members(cls: ast.ClassDef, with_self: bool) -> set[str]:
    names = set(defined(cls.body))
    if with_self:
        names |= self_attributes(cls)
    return {n for n in names if public(n)}


def classes(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in statements(tree.body) if isinstance(n, ast.ClassDef)}


def test_every_device_module_has_a_stub():
    assert MODULES, f"no device modules found in {DEVICE}"
    missing = [m for m in MODULES if not (STUBS / f"{m}.pyi").is_file()]
    extra = sorted(p.stem for p in STUBS.glob("*.pyi") if p.stem not in MODULES)
    assert not missing, f"device modules without a stub in stubs/tinysense: {missing}"
    assert not extra, f"stubs without a device module: {extra}"


@pytest.mark.parametrize("module", MODULES)
def test_stub_parses(module):
    parse(STUBS / f"{module}.pyi")


@pytest.mark.parametrize("module", MODULES)
def test_stub_names_match_module(module):
    src = set(defined(parse(DEVICE / f"{module}.py").body))
    stub = set(defined(parse(STUBS / f"{module}.pyi").body))
    assert not src - stub, f"{module}: public names missing from the stub: {sorted(src - stub)}"
    assert not stub - src, f"{module}: stub names not defined in device/tinysense/{module}.py: {sorted(stub - src)}"


@pytest.mark.parametrize("module", MODULES)
def test_stub_class_members_match_module(module):
    src = classes(parse(DEVICE / f"{module}.py"))
    for name, stub_cls in classes(parse(STUBS / f"{module}.pyi")).items():
        if name not in src:
            continue  # reported by test_stub_names_match_module
        have = members(src[name], with_self=True)
        listed = members(stub_cls, with_self=False)
        assert not listed - have, f"{module}.{name}: stub lists members the source lacks: {sorted(listed - have)}"
        assert not have - listed, f"{module}.{name}: public members missing from the stub: {sorted(have - listed)}"


def test_tree_model_members():
    """The device API the docs promise is in both the source and the stub."""
    api = {"n_features", "n_classes", "n_trees", "n_nodes", "classes", "predict", "predict_proba", "quantize"}
    src = classes(parse(DEVICE / "trees.py"))["TreeModel"]
    stub = classes(parse(STUBS / "trees.pyi"))["TreeModel"]
    assert api <= members(src, with_self=True)
    assert api <= members(stub, with_self=False)
    methods = {n.name for n in stub.body if isinstance(n, ast.FunctionDef)}
    assert {"predict", "predict_proba", "quantize"} <= methods, "stub presents predict & co. as methods"


@pytest.mark.parametrize("module", MODULES)
def test_stub_functions_are_documented(module):
    """Every public function and class in a stub has a docstring (the IDE shows it)."""
    tree = parse(STUBS / f"{module}.pyi")
    assert ast.get_docstring(tree), f"{module}.pyi has no module docstring"
    undocumented = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and public(node.name) and not ast.get_docstring(node):
            undocumented.append(node.name)
        if isinstance(node, ast.ClassDef):
            seen = set()
            for item in node.body:  # one docstring per overloaded name is enough
                if isinstance(item, ast.FunctionDef) and ast.get_docstring(item):
                    seen.add(item.name)
            undocumented += [f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)
                             if (public(f.name) or f.name == "__init__") and f.name not in seen]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and public(node.name) and not ast.get_docstring(node):
            undocumented.append(node.name)
    assert not undocumented, f"{module}.pyi: no docstring for {sorted(set(undocumented))}"
