/**
 * A comparison of N snapshots side by side (`Repo.compare(refs).to_dict()`, GET
 * /mlvc/api/compare), as jupyter_mlvc/ops/compare.py documents it: every list of
 * `values` holds one entry per snapshot, in the order of `snapshots`.
 */

/** The most snapshots one comparison takes (ops/compare.py `MAX_SNAPSHOTS`). */
export const MAX_COMPARED = 50;

/** One column: the snapshot it shows. */
export interface IComparedSnapshot {
  id: string;
  short_id: string;
  message: string;
  created_at: string;
  branch: string | null;
  tags: string[];
  auto: boolean;
  /** Made with the user's key (the comparison reads no pickle either way). */
  trusted: boolean;
}

/** A metric across the snapshots; `null` where a snapshot did not record it. */
export interface IComparedMetric {
  name: string;
  values: (number | null)[];
  /** The index of the highest value, or null when all agree (or only one has it). */
  best: number | null;
}

/** A variable as one snapshot summarizes it (VariableInfo: type, text, summary). */
export interface IComparedValue {
  type: string;
  text: string;
  summary: { [key: string]: unknown };
}

/** A model hyperparameter that differs among the snapshots: JSON values, null where absent. */
export interface IComparedParam {
  name: string;
  values: unknown[];
}

/** A variable whose content differs among the snapshots, or that some lack (null). */
export interface IComparedVariable {
  name: string;
  values: (IComparedValue | null)[];
  params: IComparedParam[];
}

export interface IComparison {
  snapshots: IComparedSnapshot[];
  metrics: IComparedMetric[];
  variables: IComparedVariable[];
  /** The names whose content is the same in every snapshot. */
  same: string[];
}
