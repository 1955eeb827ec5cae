"""Compressed responses (Flask-Compress): a phone on one bar of signal downloads a third.

Pages, scripts, styles and JSON are sent gzip- (or brotli-) compressed when the browser asks
for it (``Accept-Encoding``); Leaflet's 147 KB script becomes ~42 KB, which is what lets the
worker's first nearest answer arrive within 3 s on slow 3G (``bench/bench_slow3g.py``).
Small bodies (under 500 bytes) and images are sent as they are.
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

__all__ = ["compress", "register_compression", "COMPRESSED_TYPES"]

compress = Compress()

#: Media types worth compressing (text); PNG icons are compressed already.
COMPRESSED_TYPES = [
    "text/html", "text/css", "text/javascript", "application/javascript", "text/plain",
    "application/json", "application/geo+json", "application/manifest+json", "image/svg+xml",
]


def register_compression(app: Flask) -> None:
    """Compress the app's text responses (gzip level 6, brotli when asked; ≥ 500 bytes)."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    compress.init_app(app)
