/**
 * The client of the server extension's REST API (docs/rest-api.md).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IComparison } from './comparisonTypes';
import { IDiff } from './diffTypes';

/** A variable as a snapshot summarizes it (VariableInfo.to_dict()). */
export interface IVariable {
  name: string;
  type: string;
  summary: { [key: string]: unknown };
  text: string;
  nbytes: number;
  changed: boolean;
  group: string;
}

/** A snapshot as listed (Snapshot.to_dict(), without variables). */
export interface ISnapshot {
  id: string;
  short_id: string;
  parents: string[];
  message: string;
  created_at: string;
  notebook_path: string | null;
  branch: string | null;
  tags: string[];
  metrics: { [name: string]: number };
  nbytes: number;
  bytes_written: number;
  n_variables: number;
  auto: boolean;
  has_notebook: boolean;
  notebook_source: string | null;
  trusted: boolean;
}

/** One snapshot in full, with the refs that point at it. */
export interface ISnapshotDetail extends ISnapshot {
  variables: { [name: string]: IVariable };
  skipped: { [name: string]: string };
  environment: { [key: string]: unknown };
  refs: { head: boolean; branches: string[]; tags: string[] };
}

export interface ISnapshotPage {
  snapshots: ISnapshot[];
  total: number;
  limit: number;
  offset: number;
  store: { root: string; notebook: string } | null;
  head: string | null;
  current_branch: string | null;
  hint: string | null;
}

export interface IHead {
  store: boolean;
  head: string | null;
  latest: string | null;
  total: number;
  version: string;
}

export interface IRefs {
  branches: { [name: string]: string };
  tags: { [name: string]: string };
  current_branch: string | null;
  head: string | null;
}

/** A snapshot as the commit graph needs it (GET /mlvc/api/graph). */
export interface IGraphNode {
  id: string;
  short_id: string;
  /** First parent first; a merge has two. */
  parents: string[];
  message: string;
  created_at: string;
  branch: string | null;
  tags: string[];
  auto: boolean;
}

/** Every snapshot of a notebook (newest first, up to a limit) and its refs. */
export interface IGraph {
  nodes: IGraphNode[];
  total: number;
  /** More snapshots than `nodes`: the oldest were left out. */
  truncated: boolean;
  head: string | null;
  current_branch: string | null;
  /** Branch name -> the id of its tip. */
  branches: { [name: string]: string };
}

/**
 * The notebook's metrics over its snapshots as a Vega-Lite v5 spec (GET
 * /mlvc/api/chart); `points` counts the values in `spec.data.values`.
 */
export interface IChart {
  spec: { [key: string]: any };
  points: number;
  metrics: string[];
  branches: string[];
  snapshots: number;
  total: number;
  truncated: boolean;
}

export interface IListQuery {
  limit?: number;
  offset?: number;
  search?: string;
  branch?: string;
  includeAuto?: boolean;
}

/** An error the API answered with: its JSON message is meant for the user. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly kind: string
  ) {
    super(message);
  }
}

const settings = ServerConnection.makeSettings();

/** A query's values; a list repeats its key (`ref=a&ref=b`). */
type Query = { [key: string]: string | string[] | undefined };

async function request<T>(
  route: string,
  query: Query,
  init: RequestInit = {}
): Promise<T> {
  return (await requestWithHeaders<T>(route, query, init)).data;
}

/** A route's JSON answer and the response's headers. */
async function requestWithHeaders<T>(
  route: string,
  query: Query,
  init: RequestInit = {}
): Promise<{ data: T; headers: Headers }> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== '') {
        params.append(key, one);
      }
    }
  }
  const url =
    URLExt.join(settings.baseUrl, 'mlvc', 'api', route) +
    '?' +
    params.toString();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `The Jupyter server cannot be reached: ${error}`,
      0,
      'NetworkError'
    );
  }
  if (response.status === 204) {
    return { data: undefined as T, headers: response.headers };
  }
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message =
      data && typeof data.message === 'string'
        ? data.message
        : `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status, data?.error ?? 'HTTPError');
  }
  return { data: data as T, headers: response.headers };
}

/** A ref goes into the URL path: escape it (branch names may hold a slash). */
function refPath(ref: string): string {
  return encodeURIComponent(ref);
}

export function listSnapshots(
  path: string,
  query: IListQuery = {}
): Promise<ISnapshotPage> {
  return request<ISnapshotPage>('snapshots', {
    path,
    limit: query.limit?.toString(),
    offset: query.offset?.toString(),
    search: query.search,
    branch: query.branch,
    include_auto:
      query.includeAuto === undefined ? undefined : String(query.includeAuto)
  });
}

export function getSnapshot(
  path: string,
  ref: string
): Promise<ISnapshotDetail> {
  return request<ISnapshotDetail>(`snapshots/${refPath(ref)}`, { path });
}

/** A snapshot's notebook, and whether the snapshot is signed with the user's key. */
export interface ISnapshotNotebook {
  notebook: any;
  /** False unless the server says so: then the notebook came with its cells untrusted. */
  trusted: boolean;
}

export async function getSnapshotNotebook(
  path: string,
  ref: string
): Promise<ISnapshotNotebook> {
  const { data, headers } = await requestWithHeaders<any>(
    `snapshots/${refPath(ref)}/notebook`,
    { path }
  );
  return { notebook: data, trusted: headers.get('X-Mlvc-Trusted') === 'true' };
}

export function getHead(path: string): Promise<IHead> {
  // Polling is not user activity: it must not keep an idle server alive.
  return request<IHead>('head', { path, no_track_activity: '1' });
}

export function getRefs(path: string): Promise<IRefs> {
  return request<IRefs>('refs', { path });
}

export function getGraph(path: string): Promise<IGraph> {
  return request<IGraph>('graph', { path });
}

/** Two to MAX_COMPARED snapshots side by side (GET /mlvc/api/compare), in the order given. */
export function getComparison(
  path: string,
  refs: string[]
): Promise<IComparison> {
  return request<IComparison>('compare', { path, ref: refs });
}

export function getChart(path: string, includeAuto: boolean): Promise<IChart> {
  return request<IChart>('chart', { path, include_auto: String(includeAuto) });
}

export function putLiveNotebook(
  path: string,
  notebook: unknown
): Promise<void> {
  return request<void>(
    'live',
    { path },
    { method: 'PUT', body: JSON.stringify(notebook) }
  );
}

/** The notebook half of a comparison with the editor (POST /diff). */
export type INotebookDiffPart = Pick<IDiff, 'a' | 'b' | 'notebook' | 'nbdime'>;

export function getDiff(path: string, a: string, b: string): Promise<IDiff> {
  return request<IDiff>('diff', { path, a, b });
}

export function diffWithNotebook(
  path: string,
  a: string,
  notebook: unknown
): Promise<INotebookDiffPart> {
  return request<INotebookDiffPart>(
    'diff',
    { path, a },
    { method: 'POST', body: JSON.stringify(notebook) }
  );
}
