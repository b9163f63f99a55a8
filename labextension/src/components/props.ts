/** What the sidebar's components share: the model and the actions of the outside world. */
import { SidebarModel } from '../model';

/** What the view asks of the outside world (commands live in index.ts). */
export interface IViewActions {
  commit(): void;
  openNotebook(ref: string): void;
  /** Open a comparison tab: `b` is a snapshot id or "current". */
  compare(a: string, b: string): void;
}

export interface IProps {
  model: SidebarModel;
  actions: IViewActions;
}
