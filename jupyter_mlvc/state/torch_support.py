"""How torch tensors are serialized: their storage as a raw out-of-band buffer.

torch's own pickling copies a tensor's bytes into the pickle stream, where they
can neither be chunked nor deduplicated. Here a tensor is reduced to its storage
(handed to the object store as a numpy byte view, without a copy) plus offset,
size, stride and dtype. Tensors that share a storage (views, ``param.data``)
reduce to the same storage object, so they share memory again after a restore.
A tensor on a GPU is stored from a CPU copy and goes back to its device when the
restoring machine has it, else stays on the CPU with a warning.

This module imports torch only when called, and is only called for objects whose
type comes from torch (so torch is already imported). Importing it registers its
reducer with ``pickling`` (``state/__init__`` does), so pickling never imports it.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from .pickling import Pickler, Unserializable, register_reducer


class StorageRef:
    """Stands for one storage while pickling, so that tensors sharing it share it."""

    __slots__ = ("device", "storage")

    def __init__(self, storage: Any, device: str):
        self.storage = storage
        self.device = device


def _is_plain_tensor(obj: Any, torch: Any) -> bool:
    return type(obj) in (torch.Tensor, torch.nn.Parameter) and obj.layout == torch.strided


def applies(t: type) -> bool:
    """Whether values of type ``t`` are torch's (only once torch is imported)."""
    return "torch" in sys.modules and (t.__module__.startswith("torch") or t is StorageRef)


def reduce(pickler: Pickler, obj: Any) -> Any:
    """A reduce tuple for ``obj`` (a torch object), or NotImplemented for torch's own."""
    torch = sys.modules["torch"]
    if isinstance(obj, StorageRef):
        return _reduce_storage(obj, torch)
    if not isinstance(obj, torch.Tensor) or not _is_plain_tensor(obj, torch):
        return NotImplemented
    if obj.is_quantized or obj.is_meta or obj.is_nested:
        return NotImplemented
    if type(obj) is torch.nn.Parameter:
        return (_rebuild_parameter, (obj.detach(), obj.requires_grad))
    if obj.grad_fn is not None:
        raise Unserializable(
            f"tensor inside an autograd graph (grad_fn={type(obj.grad_fn).__name__}); "
            "save a .detach()ed copy or the leaf tensors it came from"
        )
    storage = obj.untyped_storage()
    key = (storage.data_ptr(), storage.nbytes(), str(obj.device))
    refs = pickler.shared.setdefault("torch.storages", {})
    ref = refs.get(key)
    if ref is None:
        ref = refs[key] = StorageRef(storage, str(obj.device))
    grad = obj.grad if obj.requires_grad else None
    return (
        _rebuild_tensor,
        (
            ref,
            obj.storage_offset(),
            tuple(obj.size()),
            tuple(obj.stride()),
            obj.dtype,
            obj.requires_grad,
            grad,
        ),
    )


def _reduce_storage(ref: StorageRef, torch: Any) -> Any:
    storage = ref.storage
    if ref.device != "cpu":
        storage = storage.cpu()
    data = torch.empty(0, dtype=torch.uint8).set_(storage).numpy()
    return (_rebuild_storage, (data, ref.device))


_warned_devices: set[str] = set()


def _rebuild_storage(data: Any, device: str) -> Any:
    import torch

    if data.nbytes == 0:
        storage = torch.UntypedStorage(0)
    else:
        if not data.flags.writeable:
            data = data.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            storage = torch.frombuffer(data, dtype=torch.uint8).untyped_storage()
    if device != "cpu":
        try:
            storage = storage.to(device=torch.device(device))
        except Exception:
            if device not in _warned_devices:
                _warned_devices.add(device)
                warnings.warn(
                    f"jupyter_mlvc: {device} is not available here; tensors from it are restored on the CPU",
                    stacklevel=2,
                )
    return storage


def _rebuild_tensor(storage, offset, size, stride, dtype, requires_grad, grad):
    import torch

    t = torch.empty(0, dtype=dtype, device=storage.device).set_(storage, offset, size, stride)
    if requires_grad:
        t.requires_grad_(True)
        if grad is not None:
            t.grad = grad
    return t


def _rebuild_parameter(data, requires_grad):
    import torch

    return torch.nn.Parameter(data, requires_grad=requires_grad)


register_reducer(applies, reduce)
