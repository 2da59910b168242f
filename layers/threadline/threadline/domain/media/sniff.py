"""What a file's first bytes say it is, and whether a browser may show it inline.

A medium is served inline only when the provider's MIME type is one a browser renders without running anything
(raster images, audio, video) and the bytes agree; SVG, HTML, PDF and anything unrecognised or mismatched are
served as downloads (`Content-Disposition: attachment`). The presigned URL's host is the bucket's, never
Threadline's, and the check keeps a file that lies about its type from being rendered as something else.
"""

from __future__ import annotations

# (offset, magic) -> type. Enough for what WhatsApp carries (Meta's supported media types) and common uploads.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"OggS", "audio/ogg"),
    (0, b"#!AMR", "audio/amr"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"%PDF-", "application/pdf"),
)
# Types a browser may render inline once the bytes agree.
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
    }
)
# Container formats that several declared types share.
_SAME_FAMILY = {
    "video/3gp": "video/3gpp",
    "audio/m4a": "audio/mp4",
    "audio/x-m4a": "audio/mp4",
    "image/jpg": "image/jpeg",
}


def base_type(mime_type: str | None) -> str | None:
    """`audio/ogg; codecs=opus` -> `audio/ogg`, lower-cased, with common aliases folded."""
    if not mime_type:
        return None
    base = mime_type.split(";", 1)[0].strip().lower()
    return _SAME_FAMILY.get(base, base)


def detect_mime_type(content: bytes) -> str | None:
    head = content[:64]
    for offset, magic, mime_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return mime_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":  # ISO base media: MP4, M4A, 3GP
        brand = head[8:12]
        if brand.startswith(b"3g"):
            return "video/3gpp"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # ADTS AAC
        return "audio/aac"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio frame
        return "audio/mpeg"
    return None


def may_show_inline(declared: str | None, detected: str | None) -> bool:
    declared_base = base_type(declared)
    if declared_base not in INLINE_TYPES or detected is None:
        return False
    if declared_base == detected:
        return True
    # An MP4 container declared as audio (m4a) or a 3GP declared as MP4: the same family, still rendered safely.
    return {declared_base, detected} <= {"video/mp4", "audio/mp4", "video/3gpp"}
