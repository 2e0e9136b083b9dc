"""Camera to pose: frame sources, the capture thread, the latest-wins hand-off, MediaPipe, JPEG."""
