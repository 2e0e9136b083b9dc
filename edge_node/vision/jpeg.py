"""JPEG frames for the `frame` topic: downscaled, size-capped, never base64."""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from edge_node.vision.landmarks import Image

MIN_QUALITY = 30


@dataclass(frozen=True)
class EncodedFrame:
    """Raw JPEG bytes and what went into them."""

    jpeg: bytes
    width: int
    height: int
    quality: int


def encode_frame(image_bgr: Image, *, max_width: int, quality: int, max_bytes: int) -> EncodedFrame:
    """Downscale to `max_width` and encode, lowering quality (then size) until under `max_bytes`."""
    height, width = image_bgr.shape[:2]
    if width > max_width:
        scale = max_width / width
        image_bgr = cv2.resize(
            image_bgr, (max_width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
    while True:
        q = quality
        while True:
            ok, buffer = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, q])
            if not ok:
                raise ValueError("JPEG encoding failed")
            if buffer.size <= max_bytes or q <= MIN_QUALITY:
                break
            q = max(MIN_QUALITY, q - 10)
        h, w = image_bgr.shape[:2]
        if buffer.size <= max_bytes or w <= 80:
            return EncodedFrame(buffer.tobytes(), w, h, q)
        image_bgr = cv2.resize(image_bgr, (w * 3 // 4, max(1, h * 3 // 4)), interpolation=cv2.INTER_AREA)
