import type { ChainReader } from "./chain";
import type { Context } from "./context";

export type ViewName = "home" | "patient" | "institution" | "regulator";

/** What every view gets: the service's context, a chain reader, and a way to leave (stop polling). */
export interface ViewEnv {
  ctx: Context;
  chain: ChainReader;
  main: HTMLElement;
  /** Registers a cleanup to run when the view is left. */
  onLeave(cleanup: () => void): void;
  navigate(view: ViewName): void;
}
