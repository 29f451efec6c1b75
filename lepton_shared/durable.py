"""Renames that survive a power cut: the data and the new name reach the disk before anyone relies on them.

``os.replace`` alone is atomic for running processes, but after a crash the file system may hold
the new name pointing at blocks that were never written; fsyncing the content first, then the
folder that holds the name, closes that gap (the registry's artifacts and the Trainer's checkpoints).
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush one file's or folder's content and metadata to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush a file, or a folder with everything under it (files first, then the folders naming them)."""
    if path.is_dir():
        for parent, _dirs, files in os.walk(path, topdown=False):
            for name in files:
                fsync_path(Path(parent) / name)
            fsync_path(Path(parent))
    else:
        fsync_path(path)


def durable_replace(src: Path, dst: Path) -> None:
    """Replace the file ``dst`` by the fully written ``src``, durably (a checkpoint over the previous one)."""
    fsync_tree(src)
    os.replace(src, dst)
    fsync_path(dst.parent)


def durable_rename(src: Path, dst: Path) -> None:
    """Give the fully written ``src`` the new name ``dst``, durably; never overwrites: FileExistsError if taken."""
    if dst.exists():
        raise FileExistsError(f"{dst} already exists")
    fsync_tree(src)
    os.rename(src, dst)
    fsync_path(dst.parent)
