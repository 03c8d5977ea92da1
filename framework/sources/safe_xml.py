"""Stream-parse XML returns safely.

Statutory returns never carry a document type declaration, so any file that has one is refused
before parsing: that closes entity expansion ("billion laughs") and external entities (file or
network reads) at the door. The parser itself is also set not to resolve entities, load DTDs or
touch the network, as a second line of defence.

Elements are streamed (``iterparse``) and cleared once handled, so memory stays flat however
large the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from lxml import etree

from framework.sources.problems import UnreadableFile

PROLOG_BYTES = 64 * 1024  # a DOCTYPE must come before the root element, so this is enough
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ROOT_START = re.compile(rb"<\s*[A-Za-z_]")


def _prolog(path: Path) -> bytes:
    with path.open("rb") as handle:
        head = handle.read(PROLOG_BYTES)
    # Decode UTF-16 heads (BOM) so the check sees the markup, not interleaved zero bytes.
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            head = head.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            head = head.replace(b"\x00", b"")
    return head


DTD_REFUSED = (
    "the XML declares a document type or entities (<!DOCTYPE> / <!ENTITY>). Returns never need "
    "one, and they can be used to attack the reader, so the file was refused. Export the return "
    "again from the case-management system."
)


def check_prolog(path: Path) -> None:
    """Refuse empty files and any DTD or entity declaration before the root element."""
    head = _prolog(path)
    if not head.strip():
        raise UnreadableFile(path, "the file is empty (expected an XML return)")
    root = _ROOT_START.search(head.lstrip(b"\xef\xbb\xbf"))
    before_root = head if root is None else head[: root.start() + 1]
    # Anything up to the root (and inside it if the root is beyond the prolog window).
    if _DOCTYPE.search(before_root) or (root is None and _DOCTYPE.search(head)):
        raise UnreadableFile(path, DTD_REFUSED)
    _check_parsed_prolog(path)


def _check_parsed_prolog(path: Path) -> None:
    """The parser's own view of the prolog, up to the root element's start tag: a document
    type the byte scan above cannot see (UTF-16 without a byte-order mark, EBCDIC, or after more
    than PROLOG_BYTES of comments) is refused before any entity in the document is used. A file
    that is not well formed is left for the read itself to report."""
    with path.open("rb") as handle:
        try:
            for _event, element in _iterparse(handle, events=("start",)):
                info = element.getroottree().docinfo
                if info.doctype or info.internalDTD is not None:
                    raise UnreadableFile(path, DTD_REFUSED)
                return
        except etree.XMLSyntaxError:
            return


def root_tag(path: Path) -> str:
    """The name of the document's root element (for recognising a file), safely."""
    check_prolog(path)
    with path.open("rb") as handle:
        try:
            for _event, element in _iterparse(handle, events=("start",)):
                return element.tag if isinstance(element.tag, str) else ""
        except etree.XMLSyntaxError as error:
            raise _not_well_formed(path, error) from None
    raise UnreadableFile(path, "no XML element found")


def require_root(path: Path, expected: str, what: str) -> None:
    """Refuse a file whose root element is not ``expected``, naming what it should have been
    (e.g. "a CiN census XML file"): one clear reason, and nothing from the file loads."""
    try:
        tag = root_tag(path)
    except etree.XMLSyntaxError as error:
        raise UnreadableFile(
            path, f"the file is not XML ({error.msg}). Nothing from this file was loaded."
        ) from None
    except OSError as error:
        raise UnreadableFile(path, f"the file could not be opened ({error.strerror})") from None
    if tag != expected:
        raise UnreadableFile(
            path, f"the root element <{tag}> is not <{expected}>, so this is not {what}"
        )


def _iterparse(source, events: tuple[str, ...], tag: str | None = None):
    return etree.iterparse(
        source,
        events=events,
        tag=tag,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _not_well_formed(path: Path, error: etree.XMLSyntaxError) -> UnreadableFile:
    line, column = error.position if error.position else (None, None)
    if (line, column) == (1, 1):
        return UnreadableFile(path, "the file is not XML: it does not start with an XML tag")
    where = f" at line {line}, column {column}" if line else ""
    return UnreadableFile(
        path,
        f"the XML is not well formed{where}: {error.msg}. Nothing from this file was loaded.",
    )


def iter_elements(path: Path, tag: str) -> Iterator[etree._Element]:
    """Yield each complete ``tag`` element in document order, then free it.

    Raises UnreadableFile (naming the line and column) if the XML is not well formed, so a
    truncated or corrupted file is never half-loaded.
    """
    check_prolog(path)
    with path.open("rb") as handle:
        try:
            for _event, element in _iterparse(handle, events=("end",), tag=tag):
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as error:
            raise _not_well_formed(path, error) from None


SNIFF_ELEMENTS = 200  # recognising a file gives up after this many elements


def sniff(path: Path, verdict_of: Callable[[etree._Element], bool | None]) -> bool:
    """Recognise a file from its first elements: the first verdict that is not None wins.

    ``verdict_of`` looks at one finished element (and its ancestors). A file that cannot be
    read safely is not recognised; reading it properly raises UnreadableFile with the reason.
    """
    try:
        for count, element in enumerate(iter_elements(Path(path), "*")):
            verdict = verdict_of(element)
            if verdict is not None or count >= SNIFF_ELEMENTS:
                return bool(verdict)
    except (UnreadableFile, etree.XMLSyntaxError, OSError):
        return False
    return False


def text(element: etree._Element | None) -> str | None:
    """Stripped text of an element; None when absent or empty (``<UASC />`` means null)."""
    if element is None or element.text is None:
        return None
    value = element.text.strip()
    return value or None


def child_text(parent: etree._Element, name: str) -> str | None:
    return text(parent.find(name))
