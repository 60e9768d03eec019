"""Pre-started Python interpreter: waits for its one program, then runs it as ``__main__``.

Started by the agent when the sandbox joins the warm pool, so the user's program
does not pay for interpreter start-up. It runs exactly one program, with the
environment, working directory and argv that ``python3 main.py`` would have.
"""

import os
import sys


def _read_go_line() -> bytes:
    # Byte by byte from fd 0: everything after the newline is the program's stdin.
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            sys.exit(0)
        line += byte
    return bytes(line)


def _main() -> None:
    import json
    import runpy
    import traceback

    go = json.loads(_read_go_line())
    os.environ.clear()
    os.environ.update(go["env"])
    os.chdir(go["cwd"])
    sys.argv = [go["main"]]
    sys.path[0] = go["cwd"]
    try:
        runpy.run_path(go["main"], run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 -- report it as `python3 main.py` would, without our frames
        tb = exc.__traceback__
        while tb is not None and not tb.tb_frame.f_code.co_filename.endswith(go["main"]):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
        sys.exit(1)


_main()
