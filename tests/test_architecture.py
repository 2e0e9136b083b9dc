"""The package layout's rules, checked from the code: who may import whom, and how big a part may grow.

docs/architecture.md explains the layers; this test is what keeps the map true.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "edge_node"

# Each part of edge_node and the parts it may import (besides itself), lowest first. The base modules
# are the words and settings every layer shares; the flow camera → pose → posture → stats → MQTT
# follows; the node composes them; wiring builds the node; the command line sits on top.
BASE = {"errors", "vocabulary", "config", "payloads", "datadir", "watchdog"}
FLOW = {"vision", "posture", "stats", "mqtt"}
LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "vocabulary": set(),
    "config": {"errors", "vocabulary"},
    "payloads": {"vocabulary"},
    "datadir": {"errors"},
    "watchdog": set(),
    "vision": BASE - {"datadir", "watchdog"},
    "posture": BASE - {"datadir", "watchdog"} | {"vision"},
    "stats": BASE - {"datadir", "watchdog"},
    "mqtt": BASE - {"watchdog"},
    "node": BASE | FLOW,
    "wiring": BASE | FLOW | {"node"},
    "cli": BASE | FLOW | {"node", "wiring"},
    "__init__": set(),
    "__main__": {"cli"},
}
# The only things imported from the package root: its version.
ROOT_NAMES = {"__version__"}

MAX_CLASS_LINES = 250
MAX_FUNCTION_LINES = 80


def part_of(module: str) -> str:
    """`edge_node.vision.capture` → `vision`; `edge_node` → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        name = ".".join(relative.parts)
        yield name.removesuffix(".__init__") if name != "edge_node.__init__" else "edge_node", path


def internal_imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) for every `edge_node` import in a file, including those inside functions."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "edge_node":
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "edge_node":
                    yield node.lineno, alias.name, []


def test_every_part_has_a_layer() -> None:
    parts = {part_of(name) for name, _ in modules()}
    assert parts == set(LAYERS), "add new parts to LAYERS and docs/architecture.md"


def test_lower_layers_never_import_higher_ones() -> None:
    problems = []
    for name, path in modules():
        source = part_of(name) if name != "edge_node" else "__init__"
        for line, module, names in internal_imports(path):
            target = part_of(module)
            if target == "__init__":
                if not set(names) <= ROOT_NAMES:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {names} from the package root")
                continue
            if target != source and target not in LAYERS[source]:
                problems.append(f"{path.relative_to(ROOT)}:{line}: {source} may not import {module}")
    assert not problems, "\n".join(problems)


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The check itself: a posture module importing the MQTT layer is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("from edge_node.mqtt.link import MqttLink\n")
    (_line, module, _names) = next(internal_imports(bad))
    assert part_of(module) not in LAYERS["posture"]


def definitions() -> Iterator[tuple[str, int, str]]:
    """(where, lines, kind) of every class and function in the package."""
    for _name, path in modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                yield (
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.name}",
                    node.end_lineno - node.lineno + 1,
                    kind,
                )


@pytest.mark.parametrize(("kind", "limit"), [("class", MAX_CLASS_LINES), ("function", MAX_FUNCTION_LINES)])
def test_no_part_grows_too_big(kind: str, limit: int) -> None:
    # Declarative tables (discovery's entity list) are data, not logic: allowed to be long.
    tables = {"entities"}
    too_big = [
        f"{where}: {lines} lines"
        for where, lines, k in definitions()
        if k == kind and lines > limit and where.rsplit(" ", 1)[1] not in tables
    ]
    assert not too_big, f"{kind} definitions over {limit} lines:\n" + "\n".join(too_big)


def test_paths_the_package_derives_from_its_own_place_find_the_repository() -> None:
    """Moving a module between packages must not lose the dashboard or the docs it serves and writes."""
    from edge_node.cli.schema import ROOT as SCHEMA_ROOT
    from edge_node.mqtt.broker import PACKAGE_DASHBOARD

    assert (PACKAGE_DASHBOARD / "index.html").is_file()
    assert SCHEMA_ROOT == ROOT


def test_the_map_in_docs_architecture_names_every_module() -> None:
    """A newcomer reads docs/architecture.md first: a module it does not name is one they cannot find."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    unnamed = [
        str(path.relative_to(PACKAGE))
        for _, path in modules()
        if path.name not in {"__init__.py", "__main__.py"} and path.name not in text
    ]
    assert not unnamed, f"modules docs/architecture.md does not name: {unnamed}"
