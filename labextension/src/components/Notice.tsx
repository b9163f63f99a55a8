/** What is running, or the outcome of the last commit or restore. */
import * as React from 'react';

import { SidebarModel } from '../model';

export function Notice({
  model
}: {
  model: SidebarModel;
}): React.ReactElement | null {
  if (model.busy) {
    return (
      <div className="jp-mlvc-notice jp-mlvc-busy" role="status">
        {model.busy}
      </div>
    );
  }
  const notice = model.notice;
  if (!notice) {
    return null;
  }
  return (
    <div
      className={`jp-mlvc-notice jp-mlvc-notice-${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
    >
      <div className="jp-mlvc-notice-title">
        <span>{notice.title}</span>
        <button
          className="jp-mlvc-link"
          onClick={() => model.dismissNotice()}
          aria-label="Dismiss"
        >
          ×
        </button>
      </div>
      <div className="jp-mlvc-notice-text">{notice.text}</div>
      {notice.lists?.map(list => (
        <div key={list.label} className="jp-mlvc-notice-list">
          <span className="jp-mlvc-notice-label">{list.label}:</span>{' '}
          {list.items.join(', ')}
        </div>
      ))}
    </div>
  );
}
