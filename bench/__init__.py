"""DeskPulse Edge benchmarks: the DESIGN.md budgets measured side by side in one run (`python -m bench`)."""
