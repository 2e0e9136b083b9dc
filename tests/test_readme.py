"""The README's generated parts match the code."""

from __future__ import annotations

import re

from edge_node.cli.common import config_flag_names
from edge_node.config import reference_markdown
from tests.support import ROOT


def test_config_reference_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- config-reference:start[^>]*-->\n(.*?)\n<!-- config-reference:end -->", readme, re.S
    )
    assert match, "README lacks the config reference block"
    expected = reference_markdown(config_flag_names())
    assert match.group(1) == expected, "run `deskpulse-edge config --reference` and paste it into README.md"


def test_ci_runs_the_readmes_test_command() -> None:
    """`.ci/run` ends with exactly the README's test command, so CI tests what a user runs."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("  #", 1)[0].strip() for line in quick_start.splitlines() if line.strip()]
    assert len(commands) == 2, commands  # install and run; run the tests
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == commands[1]
    assert "pytest" in commands[1]
