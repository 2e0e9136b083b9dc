"""The public contract (docs/contract.md, docs/schema/, dashboard/js/contract.js) matches the code."""

from __future__ import annotations

import re

import pytest

from edge_node.cli.schema import generated_files, schemas
from edge_node.mqtt.topics import STATE_LEAVES
from edge_node.payloads import TOPIC_PAYLOADS
from edge_node.vocabulary import SETTINGS
from tests.support import ROOT

CONTRACT = ROOT / "docs" / "contract.md"


@pytest.mark.parametrize("relative", sorted(str(path) for path in generated_files()))
def test_generated_files_are_current(relative: str) -> None:
    expected = generated_files()[next(p for p in generated_files() if str(p) == relative)]
    path = ROOT / relative
    assert path.is_file(), f"{relative} is missing: run `deskpulse-edge schema --write`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{relative} differs from the models: run `deskpulse-edge schema --write`"
    )


def _section(text: str, leaf: str) -> str:
    match = re.search(rf"^### {re.escape(leaf)}\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    assert match, f"docs/contract.md has no '### {leaf}' section"
    return match.group(1)


@pytest.mark.parametrize("leaf", sorted(TOPIC_PAYLOADS))
def test_every_payload_field_is_documented(leaf: str) -> None:
    """Each field of each payload has a row in its section; no row names a field the model lacks."""
    section = _section(CONTRACT.read_text(encoding="utf-8"), leaf)
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    fields = set(schemas()[leaf]["properties"])
    assert fields - documented == set(), f"undocumented fields of {leaf}"
    assert documented - fields == set(), f"documented fields {leaf} does not have"


def test_every_topic_and_setting_is_in_the_topic_tree() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    tree = text[text.index("## Topic tree") : text.index("## Commands")]
    rows = set(re.findall(r"^\| `([a-z_<>/]+)` \|", tree, re.M))
    assert {*STATE_LEAVES, "frame", "<setting>/set", "<setting>/state"} <= rows
    commands = text[text.index("## Commands") : text.index("## Payloads")]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", commands, re.M)) == set(SETTINGS)


def test_a_changed_model_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a field added to a model makes the committed schema stale."""
    from pydantic import create_model

    from edge_node import payloads

    grown = create_model("GrownState", __base__=payloads.PostureState, extra_field=(int, 0))
    monkeypatch.setitem(payloads.TOPIC_PAYLOADS, "state", grown)
    generated = generated_files()
    stale = [path for path, text in generated.items() if (ROOT / path).read_text(encoding="utf-8") != text]
    assert [str(p) for p in stale] == ["docs/schema/state.json"]


def test_the_stylesheet_paints_postures_in_the_shared_palette() -> None:
    """The dashboard's light theme and the frames' burned-in skeleton use the same colours."""
    from edge_node.vocabulary import POSTURE_COLOURS

    css = (ROOT / "dashboard" / "style.css").read_text(encoding="utf-8")
    light = css[: css.index("@media (prefers-color-scheme: dark)")]
    for posture in ("good", "bad", "unknown", "away"):
        match = re.search(rf"--{posture}:\s*(#[0-9a-fA-F]{{6}});", light)
        assert match, f"style.css has no --{posture} colour"
        assert match.group(1).lower() == POSTURE_COLOURS[posture]
