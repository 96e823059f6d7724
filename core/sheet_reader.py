"""The first sheet of an .xlsx or .xls, read in a process of its own under a memory and a time limit.

The reader (calamine) builds the whole sheet in memory, sized by the cells the file claims: one cell at
XFD1048576 asks it for 512 GiB and it aborts, a shared-strings bomb takes gigabytes. Read inside the server,
one such upload ends the server or exhausts the machine. Here it ends only the child, whose address space
is capped (IMPORT_READER_MEMORY_MB) and whose opening of the sheet is timed (IMPORT_READER_SECONDS); the
import is refused with a message and the server goes on. Rows come back through a pipe in batches, so the
server holds no more than a batch. The child is a fresh interpreter (`python -m core.sheet_reader`): forking
a threaded server is unsafe, and the child imports nothing but the reader.
"""
from __future__ import annotations

import pickle
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BATCH = 500
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def opened(path: Path, *, max_rows: int | None) -> Iterator[tuple[int, Iterator[list[Any]]]]:
    """The sheet's height (its rows from row 1) and its rows, read by a child process."""
    from core.imports import FileError, LimitExceeded
    from core.settings import get_settings
    from core.tabular import HEADER_SEARCH_ROWS  # title lines above the header are allowed for

    settings = get_settings()
    memory, seconds = settings.import_reader_memory_mb, settings.import_reader_seconds
    child = subprocess.Popen(
        [sys.executable, "-m", "core.sheet_reader", str(path), str(max_rows + HEADER_SEARCH_ROWS if max_rows else 0), str(memory), str(seconds)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    timer = threading.Timer(seconds, child.kill)
    timer.start()
    died = LimitExceeded(f"读取文件时超出了内存（{memory} MB）或时间（{seconds} 秒）的限制，文件可能已损坏或"
                         "构造异常，未导入任何数据。请在 Excel 中另存为新的 .xlsx 文件，或拆分后再导入")

    def receive() -> tuple[str, Any]:
        try:
            return pickle.load(child.stdout)  # type: ignore[arg-type]
        except (EOFError, pickle.UnpicklingError, OSError):
            raise died from None

    try:
        kind, value = receive()
        timer.cancel()  # opened: from here on the child only hands rows over, at the importer's pace
        if kind == "unreadable":
            raise FileError(f"无法读取 Excel 文件：{value}")
        if kind == "too_many_rows":
            raise LimitExceeded(f"表格有 {value} 行，超过本类导入的上限 {max_rows} 行，请拆分为多个文件后分别导入")

        def rows() -> Iterator[list[Any]]:
            while True:
                kind, batch = receive()
                if kind == "end":
                    return
                yield from batch

        yield value, rows()
    finally:
        timer.cancel()
        child.kill()
        child.stdout.close()  # type: ignore[union-attr]
        child.wait()


def _serve(path: str, max_height: int, memory_mb: int, seconds: int) -> None:
    """The child: limit itself, open the sheet, send its height, then its rows in batches."""
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    out = sys.stdout.buffer

    def send(message: tuple[str, Any]) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)

    import python_calamine

    try:
        sheet = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    except MemoryError:  # die: the server reports the memory limit, not an unreadable file
        raise
    except Exception as exc:  # calamine raises several kinds for a bad file
        send(("unreadable", str(exc)))
        return
    height = sheet.end[0] + 1 if sheet.end else 0
    if max_height and height > max_height:
        send(("too_many_rows", height))
        return
    send(("sheet", height))
    batch: list[list[Any]] = []
    for row in sheet.iter_rows():  # calamine pads the blank rows above the data, so numbers hold
        batch.append(row)
        if len(batch) == BATCH:
            send(("rows", batch))
            batch = []
    send(("rows", batch))
    send(("end", None))
    out.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], *(int(a) for a in sys.argv[2:5]))
