"""Pose to verdict, with no I/O: geometry per frame, steadiness over time, calibration."""
