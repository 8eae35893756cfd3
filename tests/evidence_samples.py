"""Small files of each kind for the evidence tests (real headers, tiny bodies)."""
from __future__ import annotations

import io
import zipfile

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 30
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
HTML = b"<html><script>alert(document.cookie)</script></html>"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A real OLE2 compound file (CFB version 3, 512-byte sectors) holding `streams`, named by path
    ("WordDocument", "Macros/VBA/dir"); storages are created as the paths need them. Each stream is padded to
    4096 bytes so it lives in regular sectors (no mini stream)."""
    import struct

    entries: list[dict] = [{"name": "Root Entry", "type": 5, "kids": [], "data": b""}]
    storages = {"": 0}
    for path, data in streams.items():
        parent = ""
        for part in path.split("/")[:-1]:
            key = f"{parent}/{part}" if parent else part
            if key not in storages:
                storages[key] = len(entries)
                entries[storages[parent]]["kids"].append(len(entries))
                entries.append({"name": part, "type": 1, "kids": [], "data": b""})
            parent = key
        entries[storages[parent]]["kids"].append(len(entries))
        entries.append({"name": path.split("/")[-1], "type": 2, "kids": [], "data": data.ljust(4096, b"\0")})
    sectors: list[bytes] = []
    fat: list[int] = []
    for entry in entries:
        if entry["type"] != 2:
            entry["start"] = END
            continue
        data = entry["data"]
        chunks = [data[i:i + 512].ljust(512, b"\0") for i in range(0, len(data), 512)]
        entry["start"] = len(sectors)
        for i, chunk in enumerate(chunks):
            fat.append(len(sectors) + 1 if i < len(chunks) - 1 else END)
            sectors.append(chunk)
    directory = b""
    for entry in entries:
        kids = entry["kids"]
        for i, kid in enumerate(kids):  # siblings as a right-leaning chain
            entries[kid]["right"] = kids[i + 1] if i + 1 < len(kids) else NONE
    for entry in entries:
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        directory += struct.pack("<64sHBBIII16sIQQIII", name, len(name), entry["type"], 1, NONE,
                                 entry.get("right", NONE), entry["kids"][0] if entry["kids"] else NONE,
                                 b"\0" * 16, 0, 0, 0, entry["start"], len(entry["data"]), 0)
    while len(directory) % 512:
        directory += struct.pack("<64sHBBIII16sIQQIII", b"", 0, 0, 0, NONE, NONE, NONE, b"\0" * 16, 0, 0, 0, 0, 0, 0)
    first_directory = len(sectors)
    dir_chunks = [directory[i:i + 512] for i in range(0, len(directory), 512)]
    for i, chunk in enumerate(dir_chunks):
        fat.append(len(sectors) + 1 if i < len(dir_chunks) - 1 else END)
        sectors.append(chunk)
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * 128:
        fat_count += 1
    first_fat = len(sectors)
    fat += [FAT_SECTOR] * fat_count
    fat += [FREE] * (fat_count * 128 - len(fat))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [fat_bytes[i:i + 512] for i in range(0, len(fat_bytes), 512)]
    difat = [first_fat + i for i in range(fat_count)] + [FREE] * (109 - fat_count)
    header = (OLE_SIGNATURE + b"\0" * 16 + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0,
                                                       fat_count, first_directory, 0, 4096, END, 0, END, 0)
              + struct.pack("<109I", *difat))
    return header + b"".join(sectors)


OLE = compound_file({"WordDocument": b"\xec\xa5\xc1\x00" + "证据材料".encode("utf-16-le")})  # a plain .doc
OLE_MACRO = compound_file({"WordDocument": b"\xec\xa5\xc1\x00", "Macros/PROJECT": b"ID=\"{0}\"\r\n",
                           "Macros/VBA/dir": b"\x01\x00", "Macros/VBA/ThisDocument": b"\x00Attribut\x00e VB_Name"})
XLS_MACRO = compound_file({"Workbook": b"\x09\x08\x10\x00", "_VBA_PROJECT_CUR/PROJECT": b"ID=\"{0}\"",
                           "_VBA_PROJECT_CUR/VBA/dir": b"\x01\x00", "_VBA_PROJECT_CUR/VBA/Module1": b"Attribut\x00e"})
PPT_WITH_CODE = compound_file({"PowerPoint Document": b"\x00" * 8 + b"Attribut\x00e VB_Name = \"Module1\""})


def ole_package(filename: str, data: bytes) -> bytes:
    """An OLE 1.0 package stream (\\x01Ole10Native) embedding `data` under `filename`."""
    import struct

    name = filename.encode("latin-1", "replace") + b"\0"
    body = (struct.pack("<H", 2) + name + b"C:\\" + name + struct.pack("<II", 0x00030000, 0)
            + b"C:\\Temp\\" + name + struct.pack("<I", len(data)) + data)
    return struct.pack("<I", len(body)) + body


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
XLSX = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
DOCM = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>",
             "word/vbaProject.bin": b"macro"})
ODT = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<office/>"})
PLAIN_ZIP = _zip({"a.txt": b"hello"})


def files(*pairs: tuple[str, bytes]) -> list[tuple[io.BytesIO, str]]:
    """Werkzeug test-client file tuples: [(stream, filename), ...]."""
    return [(io.BytesIO(data), name) for name, data in pairs]


DOC_WITH_PROGRAM = compound_file({"WordDocument": b"\xec\xa5\xc1\x00",
                                  "ObjectPool/_1234567890/\x01Ole10Native": ole_package("report.pdf", EXE)})
DOC_WITH_SCRIPT = compound_file({"WordDocument": b"\xec\xa5\xc1\x00",
                                 "ObjectPool/_1234567891/\x01Ole10Native": ole_package("readme.vbs", b"MsgBox 1")})
XLS_WITH_PROGRAM_STREAM = compound_file({"Workbook": b"\x09\x08\x10\x00", "MBD0001/CONTENTS": EXE})
OLE_THEN_PROGRAM = OLE_SIGNATURE + EXE + b"\x00" * 512  # an OLE signature, then an MZ program: no compound file
DOC_WITH_PACKAGED_PDF = compound_file({"WordDocument": b"\xec\xa5\xc1\x00",
                                       "ObjectPool/_1234567892/\x01Ole10Native": ole_package("scan.pdf", PDF)})
