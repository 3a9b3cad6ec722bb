"""Pictures uploaded for notices: the type from the file's first bytes, the size, and the dimensions from its header.

Nothing here trusts the file's name or the browser's content type. A picture that passes is named after its content
(`<sha256 prefix>.<ext>`), so that the same picture uploaded twice is stored once and no name can reach outside
content/notices/images/.
"""

from __future__ import annotations

import hashlib
import struct

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 4096
KINDS = {"jpeg": "jpg", "png": "png", "gif": "gif", "webp": "webp"}
SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class PictureError(ValueError):
    """Why an upload cannot be a notice's picture (a message for the editor)."""


def kind_of(data: bytes) -> str | None:
    """jpeg, png, gif or webp from the magic bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def dimensions(kind: str, data: bytes) -> tuple[int, int] | None:
    """(width, height) read from the header, or None when the header is cut short or malformed."""
    try:
        if kind == "png" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if kind == "gif":
            return struct.unpack("<HH", data[6:10])
        if kind == "webp":
            return _webp(data)
        if kind == "jpeg":
            return _jpeg(data)
    except struct.error:
        return None
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L" and data[20:21] == b"\x2f":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in SOF:
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def checked(data: bytes, size: int | None = None) -> tuple[str, bytes]:
    """(stored name, bytes) for a picture that may be used; PictureError saying what is wrong otherwise. `size` is
    the whole upload's size when only its first MAX_BYTES + 1 bytes were read."""
    size = len(data) if size is None else size
    if not data:
        raise PictureError("上传的文件是空的，请重新选择图片")
    if size > MAX_BYTES:
        raise PictureError(f"图片太大（{size / 1024 / 1024:.1f} MB），不能超过 5 MB：请压缩后再上传")
    kind = kind_of(data)
    if kind is None:
        raise PictureError("只能上传 JPEG、PNG、GIF 或 WebP 格式的图片")
    size = dimensions(kind, data)
    if size is None or not all(size):
        raise PictureError("无法读出图片的尺寸，文件可能已损坏，请换一张图片")
    if max(size) > MAX_SIDE:
        raise PictureError(f"图片尺寸 {size[0]}×{size[1]} 像素过大，长和宽都不能超过 {MAX_SIDE} 像素")
    return f"{hashlib.sha256(data).hexdigest()[:16]}.{KINDS[kind]}", data
