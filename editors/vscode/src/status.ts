/**
 * What the status bar item says: whether the server runs, whether its model is loaded (the server's
 * `infill/didChangeStatus` notification), and whether automatic suggestions are paused. No `vscode`
 * import, so that it can be tested in plain Node.
 */

/** The server's notification telling its model's state. */
export const STATUS_NOTIFICATION = 'infill/didChangeStatus';

/** `warning`: a new model failed to load and the one before is kept, serving as when `ready`. */
export type ModelStatusKind = 'loading' | 'ready' | 'warning' | 'error';

export interface ModelStatus {
  kind: ModelStatusKind;
  /** One line: what is loading, the model loaded, or why none is. */
  message: string;
}

/** The client's side: the server process starting, running, stopped, or failed to start. */
export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
  text: string;
  tooltip: string;
  /** Shown with the error background: nothing will be suggested until the user acts. */
  error: boolean;
}

const KINDS: readonly string[] = ['loading', 'ready', 'warning', 'error'];

/** The notification's parameters, or undefined for anything else (an older or newer server's). */
export function parseModelStatus(params: unknown): ModelStatus | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const { kind, message } = params as { kind?: unknown; message?: unknown };
  if (typeof kind !== 'string' || !KINDS.includes(kind) || typeof message !== 'string') {
    return undefined;
  }
  return { kind: kind as ModelStatusKind, message };
}

export function statusView(
  server: ServerState,
  model: ModelStatus | undefined,
  paused: boolean,
  failure?: string,
): StatusView {
  const click = 'Click for Infill commands.';
  if (server === 'failed') {
    return { text: '$(error) Infill', tooltip: `${failure ?? 'The Infill server could not be started.'}\n${click}`, error: true };
  }
  if (server === 'stopped') {
    return { text: '$(debug-disconnect) Infill', tooltip: `The Infill server is not running.\n${click}`, error: false };
  }
  if (server === 'starting') {
    return { text: '$(loading~spin) Infill', tooltip: `Starting the Infill server.\n${click}`, error: false };
  }
  if (model?.kind === 'loading') {
    return { text: '$(loading~spin) Infill', tooltip: `Infill: ${model.message}\n${click}`, error: false };
  }
  if (model?.kind === 'error') {
    return { text: '$(error) Infill', tooltip: `Infill: no model: ${model.message}\n${click}`, error: true };
  }
  const suggestions = paused
    ? 'automatic suggestions paused (invoking a suggestion still works)'
    : 'suggestions while typing';
  // A server that tells nothing of its model (an older one) is running all the same.
  const running = model?.message ?? 'the server is running';
  // The warning stays in sight while paused: the model that serves is not the one the settings name.
  const icon = paused ? '$(circle-slash)' : '$(sparkle)';
  return {
    text: model?.kind === 'warning' ? `$(warning)${paused ? ` ${icon}` : ''} Infill` : `${icon} Infill`,
    tooltip: `Infill: ${running}; ${suggestions}.\n${click}`,
    error: false,
  };
}
