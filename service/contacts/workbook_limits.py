"""How much of a contacts file the importer will read, in one place.

A council's staff list is a few thousand rows of ten short columns. Every bound here is far
above that, and each is checked before the costly step it protects: the zip's parts before
openpyxl opens the workbook (a small .xlsx can unpack to gigabytes, and openpyxl holds the
whole shared-strings table in memory), the rows and cells of each sheet before openpyxl pads
them out to their last column, and the length of each CSV record before it is split into cells.
"""

from __future__ import annotations

MAX_ROWS = 50_000
"""Rows after the header, blank rows included (they cost as much to read as full ones)."""
MAX_COLUMNS = 64
"""A value beyond this column is refused; an empty cell there is ignored."""
MAX_ROW_WIDTH = 1_024
"""How far right (column AMJ) and how many cells one row of a sheet may write, empty cells
included: openpyxl holds a row whole, and pads it out to its last cell."""

MAX_PARTS = 200
"""Files inside the .xlsx zip; a workbook saved by Excel has about a dozen."""
MAX_TOTAL_BYTES = 64 * 1024 * 1024
"""Every part unpacked, together."""
MAX_SHEET_BYTES = 32 * 1024 * 1024
"""One worksheet unpacked (openpyxl streams it), and any part that is not XML (images)."""
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024
"""The shared-strings table unpacked (openpyxl loads it whole)."""
MAX_OTHER_PART_BYTES = 2 * 1024 * 1024
"""Any other XML part unpacked (styles, workbook, relationships: openpyxl loads them whole)."""
SHARED_STRINGS_SLACK = 1_000
"""Shared strings allowed beyond the number of cells that use one (a workbook may keep a few
strings no cell refers to any more)."""

MAX_RECORD_CHARACTERS = 16_384
"""One CSV record (a row, line breaks in quoted cells included): fifty groups of a hundred
characters and every other column at its longest still fit."""
