"""The README's generated parts match the code."""

from __future__ import annotations

import re

from edge_node.cli import CONFIG_FLAGS
from edge_node.config import reference_markdown
from tests.support import ROOT


def test_config_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- config-reference:start[^>]*-->\n(.*?)\n<!-- config-reference:end -->", readme, re.S
    )
    assert match, "README lacks the config reference block"
    expected = reference_markdown({path: "--" + dest.replace("_", "-") for dest, path in CONFIG_FLAGS})
    assert match.group(1) == expected, "run `deskpulse-edge config --reference` and paste it into README.md"
