"""The text encoding of a CSV file, decided from evidence, and the exact line of a byte that does not fit it.

UTF-8 validates itself, so it is tried first. A file that is not UTF-8 is GB18030 (a superset of GBK, what
Chinese Excel and Taobao write) or Windows-1252 (what Western European Excel writes); both decode almost any
bytes, so the choice is made by how plausible the decoded text is: common Chinese characters for GB18030,
accented letters inside Latin words (``Müller``, ``Zoë``, ``Ångström``) for Windows-1252.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from crmkit.errors import InputFileError

#: Bytes read to decide the encoding; the rest of the file is checked while it is read.
HEAD_BYTES = 1 << 20

#: Encodings tried, in order, when the bytes are not UTF-8.
LEGACY_ENCODINGS = ("gb18030", "cp1252")

#: Names shown in reports.
ENCODING_NAMES = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8 (BOM)",
    "utf-16": "utf-16",
    "gb18030": "gb18030",
    "cp1252": "windows-1252",
}

#: Share of a candidate's non-ASCII characters that must look like real text for it to be chosen.
MIN_PLAUSIBILITY = 0.5

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
#: Non-ASCII characters that read as Western text: a letter touching an ASCII letter, or typographic signs
#: Windows-1252 adds (they are rare lead bytes in GBK).
_LATIN_IN_WORD = re.compile(r"(?<=[A-Za-z])[\u00c0-\u024f]|[\u00c0-\u024f](?=[A-Za-z])|[€‘’“”–—…•™]")

_SAVE_AS_UTF8 = "open it in Excel or WPS and save it as 'CSV UTF-8', or fix the bytes on that line"


def detect_encoding(path: Path) -> str:
    """The Python codec to read ``path`` with: utf-8-sig, utf-16, utf-8, gb18030 or cp1252.

    Decided on the first megabyte. A byte order mark is taken at its word, but the text after it must then be
    UTF-8; UTF-8 text with a stray invalid byte is an error naming its line, not a reason to guess another
    encoding.
    """
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    whole = len(head) < HEAD_BYTES
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bom = head.startswith(codecs.BOM_UTF8)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
    except UnicodeDecodeError as error:
        if bom or _has_utf8_text(head[: error.start]):
            raise undecodable(path, "utf-8-sig" if bom else "utf-8", error.start) from None
        return legacy_encoding(path, head, start=0)
    return "utf-8-sig" if bom else "utf-8"


def after_invalid_utf8(path: Path, encoding: str) -> str:
    """The encoding to read the file with after Arrow met invalid UTF-8 beyond the first megabyte.

    Plain ASCII up to there means the file never was UTF-8: the encoding is decided on the text from that line
    on. UTF-8 text before the bad byte (or a BOM) means a damaged UTF-8 file: an error naming the line.
    """
    offset, text_before = _first_undecodable(path, "utf-8")
    if offset is None:  # Arrow and Python disagree on what is valid: trust Python's decoder
        return encoding
    if encoding == "utf-8-sig" or text_before:
        raise undecodable(path, encoding, offset)
    with path.open("rb") as handle:
        handle.seek(max(0, offset - HEAD_BYTES))
        before = handle.read(offset - max(0, offset - HEAD_BYTES))
        line_start = offset - len(before) + before.rfind(b"\n") + 1
        handle.seek(line_start)
        sample = handle.read(HEAD_BYTES)
    return legacy_encoding(path, sample, start=line_start)


def legacy_encoding(path: Path, sample: bytes, *, start: int) -> str:
    """GB18030 or Windows-1252, whichever decodes ``sample`` (read at byte ``start`` of the file) into the more
    plausible text. The text up to a byte an encoding cannot decode still counts as evidence, and when the
    winner is that encoding the error names the byte's line; an error too when neither is plausible."""
    scores, stops = {}, {}
    for encoding in LEGACY_ENCODINGS:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError as error:
            text, stops[encoding] = sample[: error.start].decode(encoding, errors="replace"), error.start
        scores[encoding] = plausibility(text, encoding) if not text.isascii() else 0.0
    best = max(scores, key=scores.__getitem__)
    if scores[best] < MIN_PLAUSIBILITY:
        offset = start + next((i for i, byte in enumerate(sample) if byte > 0x7F), 0)
        raise InputFileError(
            f"{path}, line {_line_of(path, offset)}: the text is not UTF-8, GB18030 or Windows-1252 "
            f"(bytes {_bytes_at(path, offset)!r}; cannot tell which encoding the file is in)",
            hint=_SAVE_AS_UTF8,
        )
    if best in stops:
        raise undecodable(path, best, start + stops[best])
    return best


def plausibility(text: str, encoding: str) -> float:
    """Share of the non-ASCII characters of ``text`` that look like real text in ``encoding``: characters of
    the GB2312 set (the 6,763 common Chinese characters, CJK punctuation, full-width forms) for GB18030,
    Latin letters inside words and typographic signs for Windows-1252."""
    foreign = "".join(_NON_ASCII.findall(text))
    if not foreign:
        return 1.0
    if encoding == "gb18030":
        common = len(foreign) - foreign.encode("gb2312", errors="replace").count(b"?")
    else:
        common = len(_LATIN_IN_WORD.findall(text))
    return common / len(foreign)


def first_undecodable(path: Path, encoding: str) -> int | None:
    """Byte offset of the first byte sequence ``encoding`` cannot decode, or None."""
    return _first_undecodable(path, encoding)[0]


def _first_undecodable(path: Path, encoding: str) -> tuple[int | None, bool]:
    """(offset of the first undecodable byte or None, whether non-ASCII text came before it), streamed 16 MB
    at a time."""
    decoder = codecs.getincrementaldecoder("utf-8" if encoding == "utf-8-sig" else encoding)()
    offset, text_before = 0, False
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as error:
                # Bytes the decoder held back from the previous chunk come first in ``error.object``.
                held = len(error.object) - len(chunk)
                return offset - held + error.start, text_before or not error.object[: error.start].isascii()
            offset += len(chunk)
            text_before = text_before or not chunk.isascii()
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset - 1, text_before
    return None, text_before


def undecodable(path: Path, encoding: str, offset: int | None = None) -> InputFileError:
    """The error for a byte that ``encoding`` cannot decode: its line, the bytes, and how to fix it."""
    name = ENCODING_NAMES.get(encoding, encoding)
    if offset is None:
        offset = first_undecodable(path, encoding)
    if offset is None:
        return InputFileError(f"{path} cannot be decoded as {name}", hint=_SAVE_AS_UTF8)
    why = "its byte order mark says so" if encoding == "utf-8-sig" else "detected from its text"
    return InputFileError(
        f"{path}, line {_line_of(path, offset)}: bytes {_bytes_at(path, offset)!r} cannot be read as {name}, "
        f"the encoding of this file ({why})",
        hint=_SAVE_AS_UTF8,
    )


def _has_utf8_text(data: bytes) -> bool:
    """True when ``data`` holds non-ASCII UTF-8 characters (so it was written as UTF-8)."""
    return not data.isascii() and not data.decode("utf-8", errors="ignore").isascii()


def _line_of(path: Path, offset: int) -> int:
    """1-based line number of byte ``offset`` (counting line feeds before it)."""
    lines, position = 1, 0
    with path.open("rb") as handle:
        while position < offset and (chunk := handle.read(min(1 << 24, offset - position))):
            lines += chunk.count(b"\n")
            position += len(chunk)
    return lines


def _bytes_at(path: Path, offset: int) -> bytes:
    """Up to four bytes from ``offset``, to the end of its line."""
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(4).split(b"\n")[0] or b"\n"
