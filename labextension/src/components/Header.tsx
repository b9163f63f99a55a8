/** The notebook's name and branch, with the Commit and Refresh buttons. */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IProps } from './props';

export function Header({ model, actions }: IProps): React.ReactElement {
  return (
    <div className="jp-mlvc-header">
      <div className="jp-mlvc-notebook" title={model.path ?? ''}>
        {model.panel?.context.localPath.split('/').pop()}
        {model.currentBranch && (
          <span className="jp-mlvc-badge jp-mlvc-branch">
            {model.currentBranch}
          </span>
        )}
      </div>
      <div className="jp-mlvc-header-actions">
        <button
          className="jp-mlvc-button jp-mod-accept"
          onClick={() => actions.commit()}
          disabled={!!model.busy}
          title="Commit the kernel's variables and the notebook as it is in the editor"
        >
          Commit
        </button>
        <button
          className="jp-mlvc-icon-button"
          onClick={() => void model.reload()}
          title="Refresh"
          aria-label="Refresh"
        >
          <refreshIcon.react tag="span" />
        </button>
      </div>
    </div>
  );
}
