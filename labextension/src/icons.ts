import { LabIcon } from '@jupyterlab/ui-components';

import snapshotsSvg from '../style/icons/snapshots.svg';

/** The sidebar's tab icon: a stack of snapshots with a clock. */
export const snapshotsIcon = new LabIcon({
  name: 'jupyter-mlvc:snapshots',
  svgstr: snapshotsSvg
});
