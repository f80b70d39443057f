/** One `roam` sub-command. `run` returns the process exit code; it throws RoamError for user-facing failures. */
export interface Command {
  name: string;
  /** One line for `roam --help`. */
  summary: string;
  /** Full help text printed by `roam NAME --help`: usage, options, examples. */
  help: string;
  run(argv: string[]): Promise<number>;
}
