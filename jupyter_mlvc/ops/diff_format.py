"""The diff format: what ``Diff.to_dict()`` holds, as named kinds with a validator.

A diff is plain JSON data read by every face (the magics' and the widget's
views, the CLI, the REST API, the sidebar). This module is its schema: one
TypedDict per kind of entry, a constant per kind name, constructors for the
entries, and :func:`validate`, which checks a dict against the TypedDicts
themselves, so the schema cannot drift from its checker.
``labextension/src/diffTypes.ts`` holds the same kinds as a TypeScript
discriminated union.

How a changed value changed is a *change*, told apart by ``kind`` (and, for
models, by ``library``)::

    scalar    before/after of a number, bool or short string, and the delta
    text      lengths of two long strings or bytes
    array     shape, dtype, mean/std, elements that differ (numpy, torch)
    frame     columns added/removed, dtype changes, rows (pandas DataFrame)
    series    the same for a pandas Series
    mapping   keys added/removed, keys whose value changed (dict)
    set       items added/removed
    sequence  items added/removed (list, tuple), aligned
    model     scikit-learn parameters and weights, or torch state_dict layers
    figure    a figure held in a variable (matplotlib), rendered and compared by pixel
    type      the value changed type
    bytes     the pickles differ; not compared further (``note`` says why)

The top level: ``a``/``b`` name the two sides (``b`` may be the current state),
``variables`` splits names into added, removed, changed and unchanged,
``metrics`` and ``environment`` list the metrics and packages of either side,
``notebook`` holds the cell-level diff and the output images that changed,
``models`` (when the diff was given data) the models of both sides run on that
data. The REST API adds ``nbdime``.

Only the standard library: the core imports this module, and so may tests.
"""

import types
from typing import Any, Literal, TypedDict, Union, get_args, get_origin, get_type_hints

# -- kind names -----------------------------------------------------------------

SCALAR = "scalar"
TEXT = "text"
ARRAY = "array"
FRAME = "frame"
SERIES = "series"
MAPPING = "mapping"
SET = "set"
SEQUENCE = "sequence"
MODEL = "model"
FIGURE = "figure"
TYPE = "type"
BYTES = "bytes"

#: Every ``change.kind``.
CHANGE_KINDS = (
    SCALAR,
    TEXT,
    ARRAY,
    FRAME,
    SERIES,
    MAPPING,
    SET,
    SEQUENCE,
    MODEL,
    FIGURE,
    TYPE,
    BYTES,
)

SKLEARN = "scikit-learn"
TORCH = "torch"

CELL_ADDED = "added"
CELL_REMOVED = "removed"
CELL_MODIFIED = "modified"
CELL_MOVED = "moved"

#: Every ``cell.kind`` of the notebook diff.
CELL_KINDS = (CELL_ADDED, CELL_REMOVED, CELL_MODIFIED, CELL_MOVED)

#: JSON scalars: what a value turned to JSON by the diff may be.
Scalar = bool | int | float | str | None


# -- changes --------------------------------------------------------------------


class _ScalarChange(TypedDict):
    kind: Literal["scalar"]
    before: Scalar
    after: Scalar


class ScalarChange(_ScalarChange, total=False):
    #: Present when both sides are numbers.
    delta: float


class TextChange(TypedDict):
    kind: Literal["text"]
    len_before: int
    len_after: int


class ArrayStats(TypedDict, total=False):
    """Empty for arrays that are empty or not numeric; ``None`` for a NaN."""

    mean: float | None
    std: float | None


class _ArrayChange(TypedDict):
    kind: Literal["array"]
    shape_before: list[int]
    shape_after: list[int]
    dtype_before: str
    dtype_after: str
    stats_before: ArrayStats
    stats_after: ArrayStats


class ArrayChange(_ArrayChange, total=False):
    #: The element counts are there only when shape and dtype are the same.
    n_differ: int
    n_elements: int
    max_abs_diff: float | None


class _FrameChange(TypedDict):
    kind: Literal["frame", "series"]
    columns_added: list[str]
    columns_removed: list[str]
    #: column -> [dtype before, dtype after]
    dtype_changed: dict[str, list[str]]
    rows_before: int
    rows_after: int
    index_equal: bool
    #: column -> ``describe()`` statistic -> value
    describe_before: dict[str, dict[str, Scalar]]
    describe_after: dict[str, dict[str, Scalar]]


class FrameChange(_FrameChange, total=False):
    #: column -> rows that differ; only when the indexes are equal.
    rows_differ: dict[str, int]


class MappingChange(TypedDict):
    kind: Literal["mapping"]
    added: list[str]
    removed: list[str]
    changed: list[str]
    len_before: int
    len_after: int


class SetChange(TypedDict):
    kind: Literal["set"]
    added: list[str]
    removed: list[str]
    len_before: int
    len_after: int


class SequenceChange(TypedDict):
    kind: Literal["sequence"]
    added: list[str]
    removed: list[str]
    len_before: int
    len_after: int


class _SklearnModelChange(TypedDict):
    kind: Literal["model"]
    library: Literal["scikit-learn"]
    #: parameter -> [repr before, repr after]
    params_changed: dict[str, list[str]]


class SklearnModelChange(_SklearnModelChange, total=False):
    #: The weight counts are there when numpy is loaded.
    n_parameters_before: int
    n_parameters_after: int
    max_weight_change: float | None


class TorchModelChange(TypedDict):
    kind: Literal["model"]
    library: Literal["torch"]
    params_changed: dict[str, list[str]]
    n_parameters_before: int
    n_parameters_after: int
    max_weight_change: float
    layers_changed: list[str]
    keys_added: list[str]
    keys_removed: list[str]


class ImageBox(TypedDict):
    """A rectangle in pixels of the larger of the two images, from the top-left corner."""

    x: int
    y: int
    width: int
    height: int


class ImageComparison(TypedDict):
    """How two images differ, by pixel (or, for SVG that cannot be rendered, by text)."""

    mime: str
    #: [width, height] in pixels; ``None`` for a side without the image or an SVG not rendered.
    size_before: list[int] | None
    size_after: list[int] | None
    #: Share (0..1) of the pixels of the larger canvas that differ beyond the tolerance;
    #: ``None`` when the images were compared as text, one side has no image, or one
    #: could not be read (``where`` then says why).
    fraction_changed: float | None
    #: The smallest rectangle holding every differing pixel; ``None`` when none differ.
    box: ImageBox | None
    #: Where the change is, in words: "in the upper-left quarter", "across the image".
    where: str


class _FigureChange(TypedDict):
    kind: Literal["figure"]
    image: ImageComparison
    #: Both renderings, base64 PNG, for the faces to show side by side.
    before: str
    after: str


class FigureChange(_FigureChange, total=False):
    library: str


class TypeChange(TypedDict):
    kind: Literal["type"]
    before_type: str
    after_type: str


class _BytesChange(TypedDict):
    kind: Literal["bytes"]
    bytes_changed: Literal[True]


class BytesChange(_BytesChange, total=False):
    #: Why the values were not compared (an untrusted snapshot, a failure).
    note: str


Change = (
    ScalarChange
    | TextChange
    | ArrayChange
    | FrameChange
    | MappingChange
    | SetChange
    | SequenceChange
    | SklearnModelChange
    | TorchModelChange
    | FigureChange
    | TypeChange
    | BytesChange
)


# -- variables, metrics, environment ----------------------------------------------


class VariableInfo(TypedDict):
    """A variable on one side, from the snapshot's summary (nothing is loaded)."""

    type: str
    summary: dict[str, Any]
    nbytes: int


class AddedVariable(TypedDict):
    name: str
    before: None
    after: VariableInfo
    change: None


class RemovedVariable(TypedDict):
    name: str
    before: VariableInfo
    after: None
    change: None


class ChangedVariable(TypedDict):
    name: str
    before: VariableInfo
    after: VariableInfo
    change: Change


class VariablesDiff(TypedDict):
    added: list[AddedVariable]
    removed: list[RemovedVariable]
    changed: list[ChangedVariable]
    unchanged: list[str]


class MetricEntry(TypedDict):
    """A metric of either side; ``None`` where a side lacks it."""

    name: str
    before: float | None
    after: float | None
    delta: float | None


class PackageEntry(TypedDict):
    """A package (or ``python``) whose version differs; ``None`` where absent."""

    name: str
    before: str | None
    after: str | None


# -- notebook -------------------------------------------------------------------


class CellEntry(TypedDict):
    kind: Literal["added", "removed", "modified", "moved"]
    a_index: int | None
    b_index: int | None
    cell_type: str
    source: str
    #: Unified-diff lines without the header: "+x = 1", "-x = 0", " context".
    source_diff: list[str]
    outputs_changed: bool


class ImageChange(ImageComparison):
    """An output image of a cell that differs between the notebooks."""

    #: "added" / "removed": the image is on one side only; "changed": on both, differing.
    status: Literal["added", "removed", "changed"]
    #: The cell, by its index in A and in B (``None`` on the side without it).
    a_index: int | None
    b_index: int | None
    #: The output's index among the cell's outputs (on B's side, else A's).
    output: int
    #: The image as stored in the notebook (base64 for PNG/JPEG, the text of an SVG);
    #: ``None`` on the side without it.
    before: str | None
    after: str | None
    #: Whether the notebook of that side is trusted to render as-is (SVG is active content).
    trusted: bool


class _NotebookDiff(TypedDict):
    #: False when either side holds no notebook; then ``cells`` is empty.
    available: bool
    cells: list[CellEntry]
    unchanged: int


class NotebookDiff(_NotebookDiff, total=False):
    #: Output images that differ, cell by cell; identical ones are only counted.
    images: list[ImageChange]
    images_unchanged: int


# -- the whole ------------------------------------------------------------------


class SnapshotSide(TypedDict):
    id: str
    short_id: str
    message: str
    created_at: str
    branch: str | None


class CurrentSide(TypedDict):
    """The kernel's variables and the editor's notebook."""

    current: Literal[True]


class NbdimePart(TypedDict):
    """Added by the REST API: the first notebook and nbdime's diff to the second."""

    base: dict[str, Any]
    diff: list[Any]
    trusted: bool


class _DiffDict(TypedDict):
    a: SnapshotSide
    b: SnapshotSide | CurrentSide
    variables: VariablesDiff
    metrics: list[MetricEntry]
    environment: list[PackageEntry]
    notebook: NotebookDiff | None
    empty: bool


class MergeOrigin(TypedDict):
    """When B is a merge: which of its variables added or changed since A hold the
    content of its first parent (the snapshot merged into) or of its second (the one
    merged in); a variable in neither list was decided otherwise."""

    parents: list[str]
    from_first: list[str]
    from_second: list[str]


class Confusion(TypedDict):
    """Predictions of A (rows) against those of B (columns), over ``labels``."""

    labels: list[Scalar]
    matrix: list[list[int]]


class Spread(TypedDict):
    """How B's predictions differ from A's (B - A), for regression."""

    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    #: "5%", "25%", "50%", "75%", "95%" -> quantile of B - A.
    quantiles: dict[str, float | None]


class ModelOnData(TypedDict):
    """One model variable of both sides, run on the same data."""

    name: str
    #: "scikit-learn", "torch", "xgboost", "lightgbm", ...
    library: str
    task: Literal["classification", "regression"] | None
    n_samples: int
    #: Samples whose prediction differs (beyond 1e-9 relative for regression).
    n_differ: int | None
    confusion: Confusion | None
    difference: Spread | None
    #: "accuracy" (classification) or "r2" (regression), when ``y`` was given.
    metric: str | None
    score_before: float | None
    score_after: float | None
    #: Why this model could not be run on the data (then the numbers are ``None``).
    error: str | None


class ModelsOnData(TypedDict):
    #: What the data was called by whoever asked ("X_test", "y_test").
    x: str
    y: str | None
    n_samples: int
    models: list[ModelOnData]
    #: Why no model was run (an untrusted snapshot); ``None`` when they were.
    note: str | None


class DiffDict(_DiffDict, total=False):
    nbdime: NbdimePart | None
    merge: MergeOrigin | None
    models: ModelsOnData | None


# -- constructors ---------------------------------------------------------------


def added_variable(name: str, after: VariableInfo) -> AddedVariable:
    return {"name": name, "before": None, "after": after, "change": None}


def removed_variable(name: str, before: VariableInfo) -> RemovedVariable:
    return {"name": name, "before": before, "after": None, "change": None}


def changed_variable(
    name: str, before: VariableInfo, after: VariableInfo, change: Change
) -> ChangedVariable:
    return {"name": name, "before": before, "after": after, "change": change}


def bytes_change(note: str | None = None) -> BytesChange:
    """Values that differ and were not compared; ``note`` says why."""
    out: BytesChange = {"kind": "bytes", "bytes_changed": True}
    if note is not None:
        out["note"] = note
    return out


def metric_entry(name: str, before: float | None, after: float | None) -> MetricEntry:
    delta = after - before if before is not None and after is not None else None
    return {"name": name, "before": before, "after": after, "delta": delta}


def package_entry(name: str, before: str | None, after: str | None) -> PackageEntry:
    return {"name": name, "before": before, "after": after}


# -- validation -----------------------------------------------------------------


def validate(diff: Any) -> DiffDict:
    """Check ``diff`` against :class:`DiffDict`; return it, typed.

    Raises ValueError naming the first place that does not fit, as a path
    such as ``variables.changed[0].change.n_differ``. Keys the schema does not
    name are errors too: a new field belongs in the schema first.
    """
    _check(diff, DiffDict, "diff")
    return diff  # type: ignore[no-any-return]


def _fail(path: str, expected: str, value: Any) -> None:
    raise ValueError(f"{path}: expected {expected}, got {_show(value)}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__required_keys__")


def _name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if _is_typeddict(tp) or isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _check(value: Any, tp: Any, path: str) -> None:
    if tp is Any:
        return
    if tp is type(None) or tp is None:
        if value is not None:
            _fail(path, "null", value)
        return
    if _is_typeddict(tp):
        _check_typeddict(value, tp, path)
        return
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        _check_union(value, get_args(tp), path)
        return
    if origin is Literal:
        if not any(value == v and type(value) is type(v) for v in get_args(tp)):
            _fail(path, " or ".join(repr(v) for v in get_args(tp)), value)
        return
    if origin is list:
        if not isinstance(value, list):
            _fail(path, "a list", value)
        (item,) = get_args(tp)
        for i, v in enumerate(value):
            _check(v, item, f"{path}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            _fail(path, "an object", value)
        _, item = get_args(tp)
        for k, v in value.items():
            if not isinstance(k, str):
                _fail(f"{path} key", "a string", k)
            _check(v, item, f"{path}.{k}")
        return
    _check_atom(value, tp, path)


def _check_atom(value: Any, tp: Any, path: str) -> None:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        # NaN is allowed: a metric may hold it before the REST API turns it into null.
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    else:
        raise TypeError(f"diff_format: no rule for {tp!r} at {path}")
    if not ok:
        _fail(path, _name(tp), value)


def _check_typeddict(value: Any, tp: Any, path: str) -> None:
    if not isinstance(value, dict):
        _fail(path, f"an object ({tp.__name__})", value)
    hints = get_type_hints(tp)
    missing = sorted(tp.__required_keys__ - value.keys())
    if missing:
        raise ValueError(f"{path}: {tp.__name__} lacks {', '.join(missing)}")
    extra = sorted(set(value) - set(hints))
    if extra:
        raise ValueError(f"{path}: {tp.__name__} has no field {', '.join(map(str, extra))}")
    for key, field_type in hints.items():
        if key in value:
            _check(value[key], field_type, f"{path}.{key}")


def _discriminators(tp: Any) -> dict[str, tuple[Any, ...]]:
    """The fields of a TypedDict typed by a Literal: they tell union members apart."""
    return {k: get_args(t) for k, t in get_type_hints(tp).items() if get_origin(t) is Literal}


def _check_union(value: Any, members: tuple[Any, ...], path: str) -> None:
    typeddicts = [m for m in members if _is_typeddict(m)]
    others = [m for m in members if not _is_typeddict(m)]
    if isinstance(value, dict) and typeddicts:
        # Pick the member by its Literal fields (kind, library, current), so the
        # error names the field that is wrong rather than every member.
        matching = [
            m
            for m in typeddicts
            if all(value.get(k) in allowed for k, allowed in _discriminators(m).items())
        ]
        if len(matching) == 1:
            _check_typeddict(value, matching[0], path)
            return
        for m in matching or typeddicts:
            try:
                _check_typeddict(value, m, path)
                return
            except ValueError:
                continue
        if "kind" in value:
            _fail(f"{path}.kind", "one of the known kinds", value["kind"])
        _fail(path, " or ".join(_name(m) for m in typeddicts), value)
    for m in others:
        try:
            _check(value, m, path)
            return
        except ValueError:
            continue
    _fail(path, " or ".join(_name(m) for m in members), value)


__all__ = [
    "ARRAY",
    "BYTES",
    "CELL_ADDED",
    "CELL_KINDS",
    "CELL_MODIFIED",
    "CELL_MOVED",
    "CELL_REMOVED",
    "CHANGE_KINDS",
    "FRAME",
    "MAPPING",
    "MODEL",
    "SCALAR",
    "SEQUENCE",
    "SERIES",
    "SET",
    "SKLEARN",
    "TEXT",
    "TORCH",
    "TYPE",
    "AddedVariable",
    "ArrayChange",
    "ArrayStats",
    "BytesChange",
    "CellEntry",
    "Change",
    "ChangedVariable",
    "CurrentSide",
    "DiffDict",
    "FrameChange",
    "MappingChange",
    "MetricEntry",
    "NbdimePart",
    "NotebookDiff",
    "PackageEntry",
    "RemovedVariable",
    "ScalarChange",
    "SequenceChange",
    "SetChange",
    "SklearnModelChange",
    "SnapshotSide",
    "TextChange",
    "TorchModelChange",
    "TypeChange",
    "VariableInfo",
    "VariablesDiff",
    "added_variable",
    "bytes_change",
    "changed_variable",
    "metric_entry",
    "package_entry",
    "removed_variable",
    "validate",
]
