"""How one value becomes bytes and comes back: a cloudpickle ``Pickler`` tuned for kernel state.

What it adds to cloudpickle:

* **Out-of-band buffers** (pickle protocol 5): numpy arrays, pandas blocks and other
  large binary buffers are handed over as ``PickleBuffer`` views, never copied into
  the stream, so they can be chunked and deduplicated by the object store.
* **Functions see the notebook's globals.** A function defined in the notebook is
  pickled by value, but bound to the namespace it is restored into (a persistent
  id stands for the namespace dict), not to a private copy of the globals it used.
* **Views stay views.** A numpy array that is a view of another is rebuilt on its
  base's memory, so writes through one still show through the other.
* **Resources are refused**, with a reason: open files are not re-opened, read or
  truncated on restore; they are reported as skipped.
* **Identity tracking**: when asked, it records every mutable object a value
  reaches, so that variables sharing objects are pickled together.
"""

from __future__ import annotations

import io
import pickle
import socket
import sqlite3
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import cloudpickle
from cloudpickle import cloudpickle as _cp

PROTOCOL = 5

#: Buffers smaller than this stay in the pickle stream: not worth an object of their own.
OUT_OF_BAND_MIN = 64 << 10

NAMESPACE_PID = "mlvc:namespace"

_UNTRACKED = frozenset(
    {
        int,
        float,
        complex,
        bool,
        str,
        bytes,
        type(None),
        type,
        tuple,
        frozenset,
        range,
        slice,
        types.ModuleType,
        types.BuiltinFunctionType,
        types.CodeType,
        type(Ellipsis),
        type(NotImplemented),
        pickle.PickleBuffer,
    }
)


class Unserializable(Exception):
    """A value that must not or cannot be saved; the message is the reason shown to users."""


Applies = Callable[[type], bool]
Reduce = Callable[["Pickler", Any], Any]

#: Reducers of other libraries' values, asked in order before cloudpickle's own.
_REDUCERS: list[tuple[Applies, Reduce]] = []


def register_reducer(applies: Applies, reduce: Reduce) -> None:
    """Have ``reduce(pickler, obj)`` pickle each value whose type ``applies`` accepts:
    it returns a reduce tuple, or NotImplemented to leave the value to cloudpickle.

    A library's support registers itself when it is imported (``torch_support``), so
    this module imports none of them. ``applies`` is asked about every value pickled:
    it must be cheap, and false until the library is imported."""
    if (applies, reduce) not in _REDUCERS:
        _REDUCERS.append((applies, reduce))


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def describe_resource(obj: Any) -> str | None:
    """A reason for values that are live resources, None for everything else."""
    if isinstance(obj, io.IOBase) and not isinstance(obj, (io.BytesIO, io.StringIO)):
        name = getattr(obj, "name", None)
        mode = getattr(obj, "mode", None)
        where = f" {name!r}" if isinstance(name, str) else ""
        how = f" (mode {mode})" if isinstance(mode, str) else ""
        state = "closed file" if getattr(obj, "closed", False) else "open file"
        return f"{state}{where}{how}"
    if isinstance(obj, socket.socket):
        return "socket"
    if isinstance(obj, sqlite3.Connection):
        return "database connection"
    if isinstance(obj, _LOCK_TYPES):
        return "lock"
    if isinstance(obj, (types.GeneratorType, types.AsyncGeneratorType, types.CoroutineType)):
        return type(obj).__name__
    if isinstance(obj, threading.Thread):
        return "thread"
    return None


def reason_for(obj: Any, exc: BaseException) -> str:
    """A one-line reason why ``obj`` could not be pickled."""
    if isinstance(exc, Unserializable):
        return str(exc)
    own = describe_resource(obj)
    if own:
        return own
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, RecursionError):
        text = "too deeply nested"
    return text[:200]


def _bound_function_setstate(obj, state):
    """Like cloudpickle's, but the function keeps the namespace it was bound to."""
    state, slotstate = state
    obj.__dict__.update(state)
    slotstate.pop("__globals__", None)
    closure = slotstate.pop("__closure__", None)
    slotstate.pop("_cloudpickle_submodules", None)
    if closure is not None:
        for i, cell in enumerate(closure):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            obj.__closure__[i].cell_contents = value
    for k, v in slotstate.items():
        setattr(obj, k, v)


def _rebuild_astype(arr, dtype):
    return arr.astype(dtype)


def _rebuild_array(buffer, dtype, shape, order, writeable):
    import numpy as np

    arr = np.ndarray(shape, dtype=dtype, buffer=buffer, order=order)
    if not writeable:
        arr.flags.writeable = False
    elif not arr.flags.writeable:
        # in-band buffers of small arrays come back as bytes: give the array its own memory
        arr = arr.copy(order=order)
    return arr


def _rebuild_scalar(type_, value):
    return type_(value)


def _dtype_arg(dtype: Any) -> Any:
    """A dtype as a rebuild takes it. numpy pickles ``longlong`` (``q``) as ``int64``
    (``l``): equal dtypes, but elements of the array would come back ``int64``, not
    ``longlong`` (scikit-learn's tree arrays are ``q``). Its type code keeps it."""
    if dtype.char in "qQ" and dtype.isnative and dtype.fields is None:
        return dtype.char
    return dtype


def _rebuild_memoryview(base, offset, nbytes, fmt, shape, readonly):
    view = memoryview(base).cast("B")[offset : offset + nbytes].cast(fmt, shape)
    return view.toreadonly() if readonly and not view.readonly else view


def _reduce_memoryview(view: memoryview):
    """A memoryview comes back as a view of the restored object it viewed (pickled with
    it, so ``view.obj is base`` holds when both are variables), not as bytes."""
    try:
        base = view.obj
    except ValueError:
        raise Unserializable("released memoryview")
    if base is None or not view.c_contiguous:
        raise Unserializable("memoryview that is not a contiguous view of an object")
    try:
        import numpy as np

        whole = memoryview(base).cast("B")
        start = np.frombuffer(whole, dtype=np.uint8).__array_interface__["data"][0]
        here = np.frombuffer(view.cast("B"), dtype=np.uint8).__array_interface__["data"][0]
    except (TypeError, ValueError, BufferError) as exc:
        raise Unserializable(f"memoryview of {type(base).__name__}: {exc}")
    offset = here - start
    if not 0 <= offset <= whole.nbytes - view.nbytes:
        raise Unserializable(f"memoryview outside its {type(base).__name__}")
    shape = view.shape if view.ndim else ()
    return (
        _rebuild_memoryview,
        (base, offset, view.nbytes, view.format, shape, view.readonly),
    )


def _rebuild_object_view(root, start, shape, strides, writeable):
    from numpy.lib.stride_tricks import as_strided

    # Object arrays cannot be built on a raw buffer; as_strided views the root itself.
    view = as_strided(root.reshape(-1)[start:], shape=shape, strides=strides)
    if not writeable:
        view.flags.writeable = False
    return view


def _rebuild_view(root, offset, shape, strides, dtype, writeable):
    import numpy as np

    buf = root if root.flags.c_contiguous else root.T
    view = np.ndarray(shape, dtype=dtype, buffer=buf, offset=offset, strides=strides)
    if not writeable:
        view.flags.writeable = False
    return view


class Pickler(cloudpickle.Pickler):
    """Pickles values of one namespace. See the module docstring."""

    def __init__(
        self,
        file,
        namespace: dict | None = None,
        buffers: list | None = None,
        track: dict[int, Any] | None = None,
    ):
        self._buffers = buffers
        super().__init__(
            file,
            protocol=PROTOCOL,
            buffer_callback=self._buffer_callback if buffers is not None else None,
        )
        self._namespace = namespace
        self._track = track
        np = sys.modules.get("numpy")
        self._array_type = np.ndarray if np is not None else None
        self._np_dtype = np.dtype if np is not None else None
        # longlong and ulonglong where they are types of their own (not int64/uint64).
        self._long_scalars: frozenset[type] = (
            frozenset(
                t
                for t, same in ((np.longlong, np.int64), (np.ulonglong, np.uint64))
                if t is not same
            )
            if np is not None
            else frozenset()
        )
        #: What registered reducers keep for the length of one dump, each under its own
        #: key (torch: the storages already met, so tensors sharing one still share it).
        self.shared: dict[str, Any] = {}

    def _buffer_callback(self, buf: pickle.PickleBuffer) -> bool:
        try:
            raw = buf.raw()
        except BufferError:
            return True
        if raw.nbytes < OUT_OF_BAND_MIN:
            return True
        self._buffers.append(buf)  # type: ignore[union-attr]
        return False

    def persistent_id(self, obj):
        if obj is self._namespace and obj is not None:
            return NAMESPACE_PID
        track = self._track
        if track is not None:
            t = type(obj)
            # Classes are left out (cloudpickle gives a class back as one object per
            # process, by its tracker id), and so are values that are immutable or
            # pickled by reference: sharing them means nothing.
            if t in _UNTRACKED or isinstance(obj, type):
                return None
            if self._np_dtype is not None and isinstance(obj, self._np_dtype):
                return None
            if t is types.FunctionType and obj.__globals__ is not self._namespace:
                return None
            track[id(obj)] = obj
        return None

    def reducer_override(self, obj):
        t = type(obj)
        if t is self._array_type:
            if obj.dtype.kind in "mM" and not obj.dtype.isnative:
                # numpy's own pickle drops the byte order of datetime dtypes.
                return (_rebuild_astype, (obj.astype(obj.dtype.newbyteorder("=")), obj.dtype.str))
            if obj.dtype.hasobject:
                # numpy pickles a view of an object array as a copy: keep it a view
                # (``fig, axs = plt.subplots(2, 2); row = axs[0]``).
                if isinstance(obj.base, self._array_type):
                    reduced = self._reduce_object_view(obj)
                    if reduced is not None:
                        return reduced
                return NotImplemented
            if isinstance(obj.base, self._array_type):
                reduced = self._reduce_view(obj)
                if reduced is not None:
                    return reduced
            return self._reduce_array(obj)
        if t is memoryview:
            return _reduce_memoryview(obj)
        if t in self._long_scalars:
            # numpy pickles a longlong scalar as an int64 one (see _dtype_arg).
            return (_rebuild_scalar, (t, int(obj)))
        for applies, reduce in _REDUCERS:
            if applies(t):
                reduced = reduce(self, obj)
                if reduced is not NotImplemented:
                    return reduced
        reason = describe_resource(obj)
        if reason is not None:
            raise Unserializable(reason)
        return super().reducer_override(obj)

    def _reduce_array(self, arr):
        # The same reduction for an array that owns its memory and for one restored
        # from a buffer, so that a restored array pickles to the very same bytes (and
        # hash) as the original: status after a checkout is clean.
        if arr.flags.c_contiguous:
            order = "C"
        elif arr.flags.f_contiguous:
            order = "F"
        else:
            return NotImplemented
        try:
            buf = pickle.PickleBuffer(arr)
        except (BufferError, ValueError, TypeError):
            if arr.dtype.kind not in "mM":
                return NotImplemented
            # datetimes do not export a buffer: their bytes do, as integers of the same size
            buf = pickle.PickleBuffer(arr.view(f"i{arr.dtype.itemsize}"))
        dtype = _dtype_arg(arr.dtype)
        return (_rebuild_array, (buf, dtype, arr.shape, order, bool(arr.flags.writeable)))

    def _reduce_view(self, arr):
        ndarray: Any = self._array_type
        root = arr
        while isinstance(root.base, ndarray):
            root = root.base
        if root is arr or arr.dtype.hasobject or root.dtype.hasobject:
            return None
        if not (root.flags.c_contiguous or root.flags.f_contiguous):
            return None
        root = self._canonical_root(root)
        offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if offset < 0 or offset > root.nbytes:
            return None
        dtype = _dtype_arg(arr.dtype)
        return (
            _rebuild_view,
            (root, offset, arr.shape, arr.strides, dtype, bool(arr.flags.writeable)),
        )

    def _canonical_root(self, root):
        """One root array for the views of one foreign memory.

        A root whose memory belongs to another object (scikit-learn's ``tree_`` hands
        out a new array over its nodes at each access: ``tree_.children_left`` and
        ``tree_.threshold`` have two roots, one memory) is replaced by the first root
        met over the same memory, so the views come back over one buffer, sharing it.
        The owner is tracked, so that variables viewing it are pickled together."""
        owner = root.base
        if owner is None:
            return root
        if self._track is not None:
            self._track[id(owner)] = owner
        key = (id(owner), root.__array_interface__["data"][0], root.nbytes, root.dtype)
        roots = self.shared.setdefault("view roots", {})
        return roots.setdefault(key, root)

    def _reduce_object_view(self, arr):
        ndarray: Any = self._array_type
        root = arr
        while isinstance(root.base, ndarray):
            root = root.base
        if root is arr or root.dtype != arr.dtype or not root.flags.c_contiguous:
            return None
        offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        if offset < 0 or offset > root.nbytes or offset % root.itemsize:
            return None
        return (
            _rebuild_object_view,
            (root, offset // root.itemsize, arr.shape, arr.strides, bool(arr.flags.writeable)),
        )

    def _dynamic_function_reduce(self, func):
        if self._namespace is None or func.__globals__ is not self._namespace:
            return super()._dynamic_function_reduce(func)
        code = func.__code__
        closure = None
        if func.__closure__ is not None:
            closure = tuple(_cp._make_empty_cell() for _ in code.co_freevars)
        state, slotstate = _cp._function_getstate(func)
        slotstate["__globals__"] = {}
        return (
            _cp._make_function,
            (code, self._namespace, None, None, closure),
            (state, slotstate),
            None,
            None,
            _bound_function_setstate,
        )


#: Where this package's modules lived before they moved into packages: pickles in
#: existing stores name their rebuild functions by these paths.
MOVED_MODULES = {
    "jupyter_mlvc.pickling": "jupyter_mlvc.state.pickling",
    "jupyter_mlvc.torch_support": "jupyter_mlvc.state.torch_support",
    "jupyter_mlvc.capture": "jupyter_mlvc.state.capture",
    "jupyter_mlvc.summary": "jupyter_mlvc.state.summary",
    "jupyter_mlvc.rng": "jupyter_mlvc.state.rng",
}


class Unpickler(pickle.Unpickler):
    def __init__(self, file, namespace: dict, buffers=None):
        super().__init__(file, buffers=buffers)
        self._namespace = namespace

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_MODULES.get(module, module), name)

    def persistent_load(self, pid):
        if pid == NAMESPACE_PID:
            return self._namespace
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def dumps(
    value: Any,
    namespace: dict | None = None,
    buffers: list | None = None,
    track: dict[int, Any] | None = None,
) -> bytes:
    """Pickle ``value``; large buffers go to ``buffers`` (if given) instead of the stream."""
    f = io.BytesIO()
    Pickler(f, namespace=namespace, buffers=buffers, track=track).dump(value)
    return f.getvalue()


def loads(data: bytes, namespace: dict, buffers=None) -> Any:
    return Unpickler(io.BytesIO(data), namespace, buffers=buffers).load()
