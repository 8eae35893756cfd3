"""Office 97–2003 (OLE2 compound file) evidence: refuse what a document should not carry.

Read with olefile and oletools (the maintained libraries for this format):
- the file must open as a compound file (an OLE signature followed by anything else — e.g. an `MZ` program — is
  not a document);
- no VBA project or VBA code (Word `Macros/VBA`, Excel `_VBA_PROJECT_CUR`, code anywhere, as olevba finds it) and
  no Excel 4 macro sheet;
- no embedded program: an OLE package (`\\x01Ole10Native`) whose file is a program or script, and no stream that
  is a Windows (MZ/PE) or ELF executable.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

MACRO = "macro"
EXECUTABLE = "executable"
DAMAGED = "damaged"
# file types that run when opened: an embedded package with one of these names is refused whatever its content
RUNNABLE = (".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh",
            ".ps1", ".msi", ".msp", ".dll", ".cpl", ".hta", ".lnk", ".reg", ".jar", ".sh", ".elf", ".so")


def inspect(path: Path) -> str | None:
    """MACRO, EXECUTABLE or DAMAGED for a compound file that must be refused, else None."""
    import olefile

    if not olefile.isOleFile(str(path)):
        return DAMAGED
    try:
        with olefile.OleFileIO(str(path)) as ole:
            for entry in ole.listdir(streams=True, storages=False):
                with ole.openstream(entry) as stream:
                    data = stream.read()
                if entry[-1] == "\x01Ole10Native" and _runnable_package(data):
                    return EXECUTABLE
                if is_program(data):
                    return EXECUTABLE
    except Exception:  # noqa: BLE001 - olefile raises many kinds for a broken file; all mean "not a document"
        logger.info("evidence file %s is not a readable compound file", path.name, exc_info=True)
        return DAMAGED
    return MACRO if _has_macros(path) else None


def is_program(data: bytes) -> bool:
    """A Windows PE (MZ header pointing at a PE signature), a bare MZ/DOS program or an ELF binary."""
    if data[:4] == b"\x7fELF":
        return True
    if data[:2] != b"MZ" or len(data) < 64:
        return False
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return data[offset:offset + 4] == b"PE\x00\x00" or offset == 0 or data[0x18:0x1A] in (b"\x40\x00", b"\x1c\x00")


def _runnable_package(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from oletools.oleobj import OleNativeStream
    try:
        package = OleNativeStream(data)
    except Exception:  # noqa: BLE001 - a package that does not parse cannot be shown as harmless either
        return True
    names = [n for n in (package.filename, package.src_path, package.temp_path) if n]
    return any(str(n).lower().rstrip("\x00 .").endswith(RUNNABLE) for n in names) or is_program(package.data or b"")


def _has_macros(path: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # olevba's pyparsing grammar uses names pyparsing 3 deprecates
        from oletools.olevba import VBA_Parser
    parser = VBA_Parser(str(path), relaxed=True)
    try:
        if parser.detect_vba_macros():
            return True
        try:
            return bool(parser.detect_xlm_macros())
        except Exception:  # noqa: BLE001 - a workbook stream olevba cannot walk has no macro sheet it could find
            logger.info("evidence file %s: Excel 4 macro check failed", path.name, exc_info=True)
            return False
    finally:
        parser.close()
