"""Things a sandbox user can send without a phone: sample photos (small PNGs drawn here) and preset places in 中山."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import cache

WIDTH, HEIGHT = 160, 120


@dataclass(frozen=True)
class Place:
    """A town centre of 中山 for the location picker: what the chat shows and what WeChat's Label says."""

    name: str
    lat: float
    lon: float
    label: str


# Approximate centres of some of 中山's 街道 and 镇 (good enough for a map pin in a test message).
PLACES = (
    Place("石岐街道", 22.5226, 113.3812, "广东省中山市石岐街道"),
    Place("东区街道", 22.5176, 113.3985, "广东省中山市东区街道"),
    Place("西区街道", 22.5268, 113.3541, "广东省中山市西区街道"),
    Place("南区街道", 22.4905, 113.3712, "广东省中山市南区街道"),
    Place("火炬开发区", 22.5531, 113.4789, "广东省中山市火炬开发区"),
    Place("小榄镇", 22.6672, 113.2449, "广东省中山市小榄镇"),
    Place("古镇镇", 22.6108, 113.1897, "广东省中山市古镇镇"),
    Place("三乡镇", 22.3558, 113.4336, "广东省中山市三乡镇"),
)

# name -> (label shown in the picker, background colour, drawing)
SAMPLES = {
    "receipt": ("购物小票", (250, 250, 245), "receipt"),
    "product": ("问题商品", (225, 236, 250), "product"),
    "shop": ("店铺门头", (236, 246, 232), "shop"),
}


def _pixel(kind: str, x: int, y: int, background: tuple[int, int, int]) -> tuple[int, int, int]:
    if kind == "receipt" and 40 <= x < 120 and y % 14 in (4, 5) and 10 < y < 110:
        return (120, 120, 120)
    if kind == "product" and (x - 80) ** 2 + (y - 60) ** 2 < 35**2:
        return (214, 108, 36) if x < 90 or y < 50 else (150, 60, 20)  # an orange fruit with a bruise
    if kind == "shop":
        if 20 <= x < 140 and 20 <= y < 40:
            return (200, 40, 40)  # the red shop sign
        if 30 <= x < 130 and 50 <= y < 110 and (x // 10) % 3 != 0:
            return (90, 130, 170)  # windows
    return background


@cache
def sample_png(name: str) -> bytes:
    """A small PNG for one of SAMPLES, drawn pixel by pixel (no image library needed)."""
    _label, background, kind = SAMPLES[name]
    rows = bytearray()
    for y in range(HEIGHT):
        rows.append(0)  # filter: none
        for x in range(WIDTH):
            rows.extend(_pixel(kind, x, y, background))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(bytes(rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def image_type(data: bytes) -> str | None:
    """The content type of a JPEG, PNG or GIF file by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None
