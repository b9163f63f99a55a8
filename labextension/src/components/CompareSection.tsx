/** A titled block of the compare tab. */
import * as React from 'react';

import { Section as BaseSection } from './Section';

export function Section(props: {
  title: string;
  children: React.ReactNode;
}): React.ReactElement {
  return <BaseSection {...props} className="jp-mlvc-compare-section" />;
}
