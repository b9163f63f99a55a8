/**
 * A snapshot's notebook, read-only, in the main area.
 *
 * It is rendered by JupyterLab's own notebook widget from a model that is not
 * tied to any file, so nothing can be saved or run from it. Outputs are shown
 * untrusted: HTML is sanitized and no script runs.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import {
  NotebookModel,
  NotebookPanel,
  NotebookWidgetFactory,
  StaticNotebook
} from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { getSnapshotNotebook } from './api';
import { snapshotsIcon } from './icons';
import { untrustedNotebook } from './trust';

export class SnapshotNotebookViewer extends MainAreaWidget<StaticNotebook> {
  constructor(
    readonly path: string,
    readonly ref: string,
    content: StaticNotebook
  ) {
    super({ content });
    this.addClass('jp-mlvc-viewer');
    this.id = `jp-mlvc-viewer-${Private.counter++}`;
    this.title.icon = snapshotsIcon;
    this.title.closable = true;
    const name = path.split('/').pop() ?? path;
    this.title.label = `${name} @ ${ref.slice(0, 8)}`;
    this.title.caption = `${path} as committed in snapshot ${ref} (read-only)`;
  }
}

/** What it takes to render a notebook the way JupyterLab does. */
export interface IRendering {
  rendermime: IRenderMimeRegistry;
  contentFactory: NotebookPanel.IContentFactory;
  editorServices: IEditorServices;
  factory: NotebookWidgetFactory.IFactory;
}

export async function openSnapshotNotebook(
  rendering: IRendering,
  path: string,
  ref: string
): Promise<SnapshotNotebookViewer> {
  const { notebook } = await getSnapshotNotebook(path, ref);
  const model = new NotebookModel();
  // A view runs nothing, whoever made the snapshot.
  model.fromJSON(untrustedNotebook(notebook));
  model.readOnly = true;
  const content = new StaticNotebook({
    rendermime: rendering.rendermime,
    contentFactory: rendering.contentFactory,
    mimeTypeService: rendering.editorServices.mimeTypeService,
    editorConfig: rendering.factory.editorConfig,
    notebookConfig: {
      ...rendering.factory.notebookConfig,
      windowingMode: 'none'
    }
  });
  content.model = model;
  for (const cell of content.widgets) {
    cell.readOnly = true;
  }
  content.addClass('jp-mlvc-readonly-notebook');
  const viewer = new SnapshotNotebookViewer(path, ref, content);
  viewer.disposed.connect(() => model.dispose());
  return viewer;
}

namespace Private {
  export let counter = 0;
}
