"""Read a PyTorch checkpoint's tensors as NumPy arrays, without torch.

The speaker encoder's weights ship as a `.pt` file inside a PyPI wheel (resemblyzer's
`pretrained.pt`), in torch's legacy serialization format. The images that run speech to text
carry no torch (it would add about 700 MB for a 17 MB network), so the file is read here:

1. five pickles in a row: a magic number, the protocol version, system info, the object
   itself (storages appear as persistent ids, tensors as calls to
   `torch._utils._rebuild_tensor_v2`), and the list of storage keys;
2. then, for each key in that order, the storage's element count (8 bytes, little-endian)
   followed by its raw elements.

Only what a state dict needs is allowed in the pickle (ordered dicts, tensors of plain dtypes);
anything else is refused, so a checkpoint cannot run code on load. The newer zip format is
read the same way, its storages being files `archive/data/<key>` in the zip.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(ValueError):
    """The file is not a checkpoint this reader understands (or holds more than tensors)."""


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_DTYPES[name])


class _Storage:
    def __init__(self, key: str, dtype: np.dtype):
        self.key = key
        self.dtype = dtype
        self.data: np.ndarray | None = None


class _Tensor:
    """A tensor whose storage is read after the pickle that names it."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise CheckpointError(f"storage {self.storage.key} has no data")
        flat = data[self.offset :]
        item = flat.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat, shape=self.size, strides=tuple(s * item for s in self.stride)
        )
        return np.array(view)  # a copy: own memory, contiguous


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    return _Tensor(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict[str, _Storage]):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"a checkpoint may not hold {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, *_rest = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unexpected persistent id {pid[:2]!r}")
        key = str(key)
        if key not in self._storages:
            self._storages[key] = _Storage(key, storage_type.dtype)
        return self._storages[key]


def load_checkpoint(path: Path) -> dict:
    """The checkpoint's object (usually a dict), with every tensor as a NumPy array."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as fh:
        try:
            magic = _Unpickler(fh, storages).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise CheckpointError(f"{path.name} is not a PyTorch checkpoint") from exc
        if magic != _MAGIC:
            raise CheckpointError(f"{path.name} is not a PyTorch checkpoint")
        _Unpickler(fh, storages).load()  # protocol version
        _Unpickler(fh, storages).load()  # system info: a dict of ints and strings
        obj = _Unpickler(fh, storages).load()
        keys = _Unpickler(fh, storages).load()
        for key in keys:
            storage = storages[str(key)]
            (count,) = struct.unpack("<q", fh.read(8))
            raw = fh.read(count * storage.dtype.itemsize)
            if len(raw) != count * storage.dtype.itemsize:
                raise CheckpointError(f"{path.name} is truncated")
            storage.data = np.frombuffer(raw, dtype=storage.dtype)
    return _materialize(obj)


def _load_zip(path: Path) -> dict:
    storages: dict[str, _Storage] = {}
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        root = names[0].split("/", 1)[0]
        obj = _Unpickler(io.BytesIO(archive.read(f"{root}/data.pkl")), storages).load()
        for key, storage in storages.items():
            storage.data = np.frombuffer(archive.read(f"{root}/data/{key}"), dtype=storage.dtype)
    return _materialize(obj)


def _materialize(obj):
    if isinstance(obj, _Tensor):
        return obj.array()
    if isinstance(obj, dict):
        return type(obj)((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v) for v in obj)
    return obj
