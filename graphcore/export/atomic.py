"""Write a file all at once or not at all: a temp file beside it, flushed, renamed over."""
from __future__ import annotations

import os

from ..atomicfile import write_bytes, write_with  # noqa: F401  (the exporters' writers)


# an .npz key no identifier can be: marks the .npz files that a code export wrote
NPZ_MARK = "backprop-studio-export"


def check_beside(npz: str | os.PathLike, out_path: str | os.PathLike) -> None:
    """The .npz beside an exported code file is written without being asked for, so it may only
    replace an .npz that an export wrote (a data set of the same name must survive); ValueError
    (the exporters' ExportError) otherwise. Only the zip's directory is read, never its arrays."""
    import zipfile

    from .plan import ExportError

    npz, out_path = os.fspath(npz), os.fspath(out_path)
    if os.path.abspath(npz) == os.path.abspath(out_path):
        raise ExportError(f"{os.path.basename(out_path)}: a code file cannot end in .npz (its arrays go there)")
    if not os.path.lexists(npz):
        return
    why = None
    if not os.path.isfile(npz):
        why = "is not a regular file"
    else:
        try:
            with zipfile.ZipFile(npz) as z:
                ours = NPZ_MARK + ".npy" in z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            ours = False
        if not ours:
            why = "exists and was not written by an export"
    if why:
        raise ExportError(f"{os.path.basename(npz)} {why}; exporting {os.path.basename(out_path)} would replace it "
                          f"with its arrays. Move it, or export under another name")


def write_code(out_path, text: str, npz, arrays: dict | None) -> list:
    """Write an exported code file and (when there are arrays) its marked .npz, each atomically
    through a temp file of its own (never a fixed name a link could be waiting at)."""
    import numpy as np

    check_beside(npz, out_path)
    written = [out_path]
    if arrays is not None:
        write_with(npz, lambda f: np.savez(f, **arrays, **{NPZ_MARK: np.array(1)}))
        written.append(npz)
    write_bytes(out_path, text.encode("utf-8"))
    return written
