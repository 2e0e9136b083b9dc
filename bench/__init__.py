"""DeskPulse Edge benchmarks: the performance budgets measured side by side in one run (`python -m bench`)."""
