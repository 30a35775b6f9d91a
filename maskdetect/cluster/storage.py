"""Files on a local disk or in object storage (s3://, gs://, ...), through pyarrow's filesystems."""

import uuid
from pathlib import Path, PurePosixPath

from pyarrow import fs as pafs

from maskdetect.errors import InputError


def is_uri(location):
    return "://" in str(location)


def filesystem(location):
    """(pyarrow FileSystem, path inside it) for a local path or a URI."""
    if not is_uri(location):
        return pafs.LocalFileSystem(), str(Path(location).resolve())
    try:
        return pafs.FileSystem.from_uri(str(location))
    except (ValueError, OSError) as error:
        raise InputError(f"cannot open {location}: {str(error).splitlines()[0]}") from None


def join(location, *parts):
    """``location`` (a path or URI) with ``parts`` appended, in its own style."""
    if is_uri(location):
        return "/".join([str(location).rstrip("/"), *parts])
    return str(Path(location, *parts))


def is_local(filesystem_):
    return filesystem_.type_name == "local"


def read_bytes(filesystem_, path):
    with filesystem_.open_input_stream(path) as stream:
        return stream.read()


def write_bytes(filesystem_, path, data):
    """Write a whole file atomically: on a local disk, a temporary beside it moved in place; in object storage,
    one upload, which readers see whole or not at all."""
    parent = str(PurePosixPath(path).parent) if not is_local(filesystem_) else str(Path(path).parent)
    filesystem_.create_dir(parent, recursive=True)
    if not is_local(filesystem_):
        with filesystem_.open_output_stream(path) as stream:
            stream.write(data)
        return
    temporary = str(Path(path).with_name(f".{Path(path).name}.{uuid.uuid4().hex[:8]}.tmp"))
    try:
        with filesystem_.open_output_stream(temporary) as stream:
            stream.write(data)
        filesystem_.move(temporary, path)
    finally:
        if filesystem_.get_file_info(temporary).type != pafs.FileType.NotFound:
            filesystem_.delete_file(temporary)


def entries(filesystem_, folder, recursive=False):
    """The FileInfos in ``folder`` (none when it does not exist)."""
    if filesystem_.get_file_info(folder).type == pafs.FileType.NotFound:
        return []
    return filesystem_.get_file_info(pafs.FileSelector(folder, recursive=recursive))


def check_folder_output(location, what):
    """Refuse a folder output (``what`` goes there) where a file is."""
    filesystem_, path = filesystem(location)
    if filesystem_.get_file_info(path).type == pafs.FileType.File:
        raise InputError(f"refusing to write {what} into {location}: it is a file")
