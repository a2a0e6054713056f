"""The sandbox's import rules: providers beside a shared core, the control plane above them."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import portal.sandbox

SANDBOX = Path(portal.sandbox.__file__).parent
PROVIDERS = {"cliniko", "vaocherapp", "reckon"}
# The top-level modules that put the subpackages together; the rest of the core imports none.
ASSEMBLY = {"app", "world", "middleware", "__main__"}
MODULES = sorted(SANDBOX.rglob("*.py"))


def _imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, as an absolute dotted name (`from . import x` gives `.x`)."""
    package = ["portal", "sandbox", *path.parent.relative_to(SANDBOX).parts]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if node.module is None:
                yield from (f"{module}.{alias.name}" for alias in node.names)
            else:
                yield module


def _area(module: str) -> str:
    """`cliniko`, `vaocherapp`, `reckon`, `control`, or the top-level module's own name."""
    return module.split(".")[2]


def _sandbox_imports(path: Path) -> set[str]:
    return {m for m in _imports(path) if m.startswith("portal.sandbox.")}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SANDBOX)))
def test_imports_nothing_from_the_rest_of_the_portal(path: Path) -> None:
    outside = {m for m in _imports(path) if m.split(".")[0] == "portal"} - _sandbox_imports(path)
    assert not outside


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SANDBOX)))
def test_each_layer_imports_only_what_is_below_it(path: Path) -> None:
    here = path.parent.name if path.parent != SANDBOX else path.stem
    areas = {_area(m) for m in _sandbox_imports(path)}
    if here in PROVIDERS:  # a provider: the shared core and its own modules
        allowed = {here} | {a for a in areas if a not in PROVIDERS | {"control"} | ASSEMBLY}
    elif here == "control":  # the control plane may reach into every provider
        allowed = {a for a in areas if a not in ASSEMBLY}
    elif here in ASSEMBLY:
        allowed = areas
    else:  # the rest of the core: no subpackage and no assembly module
        allowed = {a for a in areas if a not in PROVIDERS | {"control"} | ASSEMBLY}
    assert areas <= allowed
