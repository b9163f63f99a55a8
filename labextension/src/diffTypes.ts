/**
 * The diff format (`repo.diff(a, b).to_dict()`), as jupyter_mlvc/ops/diff_format.py
 * defines and validates it: the same kinds, as a discriminated union on `kind`
 * (and, for models, on `library`).
 */

/** JSON scalars: what a value turned to JSON by the diff may be. */
export type Scalar = boolean | number | string | null;

export interface IScalarChange {
  kind: 'scalar';
  before: Scalar;
  after: Scalar;
  /** Present when both sides are numbers. */
  delta?: number;
}

export interface ITextChange {
  kind: 'text';
  len_before: number;
  len_after: number;
}

/** Empty for arrays that are empty or not numeric; null for a NaN. */
export interface IArrayStats {
  mean?: number | null;
  std?: number | null;
}

export interface IArrayChange {
  kind: 'array';
  shape_before: number[];
  shape_after: number[];
  dtype_before: string;
  dtype_after: string;
  stats_before: IArrayStats;
  stats_after: IArrayStats;
  /** The element counts are there only when shape and dtype are the same. */
  n_differ?: number;
  n_elements?: number;
  max_abs_diff?: number | null;
}

export interface IFrameChange {
  kind: 'frame' | 'series';
  columns_added: string[];
  columns_removed: string[];
  /** column -> [dtype before, dtype after] */
  dtype_changed: { [column: string]: string[] };
  rows_before: number;
  rows_after: number;
  index_equal: boolean;
  /** column -> rows that differ; only when the indexes are equal. */
  rows_differ?: { [column: string]: number };
  describe_before: { [column: string]: { [stat: string]: Scalar } };
  describe_after: { [column: string]: { [stat: string]: Scalar } };
}

export interface IMappingChange {
  kind: 'mapping';
  added: string[];
  removed: string[];
  changed: string[];
  len_before: number;
  len_after: number;
}

/** Items added and removed, as reprs: a set, or a list or tuple aligned. */
export interface ICollectionChange {
  kind: 'set' | 'sequence';
  added: string[];
  removed: string[];
  len_before: number;
  len_after: number;
}

export interface ISklearnModelChange {
  kind: 'model';
  library: 'scikit-learn';
  /** parameter -> [repr before, repr after] */
  params_changed: { [name: string]: string[] };
  n_parameters_before?: number;
  n_parameters_after?: number;
  max_weight_change?: number | null;
}

export interface ITorchModelChange {
  kind: 'model';
  library: 'torch';
  params_changed: { [name: string]: string[] };
  n_parameters_before: number;
  n_parameters_after: number;
  max_weight_change: number;
  layers_changed: string[];
  keys_added: string[];
  keys_removed: string[];
}

export type IModelChange = ISklearnModelChange | ITorchModelChange;

/** A rectangle in pixels of the larger image, from the top-left corner. */
export interface IImageBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How two images differ, by pixel (or, for an SVG not rendered, by text). */
export interface IImageComparison {
  mime: string;
  /** [width, height]; null for a side without the image or an SVG not rendered. */
  size_before: number[] | null;
  size_after: number[] | null;
  /** Share (0..1) of pixels differing beyond the tolerance; null when compared as text. */
  fraction_changed: number | null;
  box: IImageBox | null;
  /** Where, in words: "in the upper-left quarter". */
  where: string;
}

/** A figure held in a variable, rendered on both sides (base64 PNG). */
export interface IFigureChange {
  kind: 'figure';
  image: IImageComparison;
  before: string;
  after: string;
  library?: string;
}

export interface ITypeChange {
  kind: 'type';
  before_type: string;
  after_type: string;
}

/** Values that differ and were not compared; `note` says why. */
export interface IBytesChange {
  kind: 'bytes';
  bytes_changed: true;
  note?: string;
}

/** How a changed value changed. */
export type IChange =
  | IScalarChange
  | ITextChange
  | IArrayChange
  | IFrameChange
  | IMappingChange
  | ICollectionChange
  | IModelChange
  | IFigureChange
  | ITypeChange
  | IBytesChange;

export type ChangeKind = IChange['kind'];

/** What a variable was on one side, from the snapshot's summary. */
export interface IVariableInfo {
  type: string;
  summary: { [key: string]: unknown };
  nbytes: number;
}

export interface IAddedVariable {
  name: string;
  before: null;
  after: IVariableInfo;
  change: null;
}

export interface IRemovedVariable {
  name: string;
  before: IVariableInfo;
  after: null;
  change: null;
}

export interface IChangedVariable {
  name: string;
  before: IVariableInfo;
  after: IVariableInfo;
  change: IChange;
}

/** One variable in a diff, whichever list it is in. */
export type IVariableChange =
  IAddedVariable | IRemovedVariable | IChangedVariable;

export interface IVariablesDiff {
  added: IAddedVariable[];
  removed: IRemovedVariable[];
  changed: IChangedVariable[];
  unchanged: string[];
}

/** A metric of either side; null where a side lacks it (or it is not finite). */
export interface IMetricEntry {
  name: string;
  before: number | null;
  after: number | null;
  delta: number | null;
}

/** A package (or `python`) whose version differs; null where absent. */
export interface IPackageEntry {
  name: string;
  before: string | null;
  after: string | null;
}

/** A cell in the core's cell-level notebook diff. */
export interface ICellEntry {
  kind: 'added' | 'removed' | 'modified' | 'moved';
  a_index: number | null;
  b_index: number | null;
  cell_type: string;
  source: string;
  /** Unified-diff lines without the header. */
  source_diff: string[];
  outputs_changed: boolean;
}

/** An output image of a cell that differs between the notebooks. */
export interface IImageChange extends IImageComparison {
  status: 'added' | 'removed' | 'changed';
  a_index: number | null;
  b_index: number | null;
  /** The output's index in its cell. */
  output: number;
  /** As stored in the notebook: base64 for PNG/JPEG, the text of an SVG. */
  before: string | null;
  after: string | null;
  /** False if either notebook is from an untrusted snapshot: SVG shown as an image only. */
  trusted: boolean;
}

export interface INotebookDiff {
  /** False when either side holds no notebook; then `cells` is empty. */
  available: boolean;
  cells: ICellEntry[];
  unchanged: number;
  /** Output images that differ; identical ones are only counted. */
  images?: IImageChange[];
  images_unchanged?: number;
}

export interface ISnapshotSide {
  id: string;
  short_id: string;
  message: string;
  created_at: string;
  branch: string | null;
  current?: undefined;
}

/** The kernel's variables and the editor's notebook. */
export interface ICurrentSide {
  current: true;
}

export type IDiffSide = ISnapshotSide | ICurrentSide;

/**
 * The first notebook and nbdime's diff from it to the second, for nbdime's
 * widgets; `trusted` is false if either is a snapshot not signed with the
 * user's key. Added by the REST API.
 */
export interface INbdimePart {
  base: any;
  diff: any[];
  trusted: boolean;
}

/**
 * When B is a merge: which variables added or changed since A hold the content of
 * its first parent (merged into) or of its second (merged in).
 */
export interface IMergeOrigin {
  parents: string[];
  from_first: string[];
  from_second: string[];
}

/** Predictions of A (rows) against those of B (columns). */
export interface IConfusion {
  labels: Scalar[];
  matrix: number[][];
}

/** B - A of a regressor's predictions. */
export interface ISpread {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  quantiles: { [q: string]: number | null };
}

/** One model variable of both sides, run on the same data. */
export interface IModelOnData {
  name: string;
  library: string;
  task: 'classification' | 'regression' | null;
  n_samples: number;
  n_differ: number | null;
  confusion: IConfusion | null;
  difference: ISpread | null;
  metric: string | null;
  score_before: number | null;
  score_after: number | null;
  error: string | null;
}

export interface IModelsOnData {
  x: string;
  y: string | null;
  n_samples: number;
  models: IModelOnData[];
  note: string | null;
}

/** `repo.diff(a, b).to_dict()` plus, from the REST API, nbdime's diff. */
export interface IDiff {
  a: IDiffSide;
  b: IDiffSide;
  variables: IVariablesDiff;
  metrics: IMetricEntry[];
  environment: IPackageEntry[];
  notebook: INotebookDiff | null;
  empty?: boolean;
  nbdime: INbdimePart | null;
  merge?: IMergeOrigin | null;
  models?: IModelsOnData | null;
}
