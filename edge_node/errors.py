"""The one exception root: every error the node raises on purpose is an `EdgeNodeError`.

Each carries a message a person can act on (`str()` is one line); library errors are converted at
the boundary with `raise … from exc`, so callers catch one family and never a paho, sqlite or cv2 type.
"""

from __future__ import annotations


class EdgeNodeError(Exception):
    """Base of every deliberate DeskPulse Edge error."""
