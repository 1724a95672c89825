import * as vscode from 'vscode';

/** The `infill.*` configuration section; the server also reads its settings under this name. */
export const SECTION = 'infill';

/**
 * Settings the language server understands, under the names it reads them by.
 * Everything else in the section (`server.*`, `trace.*`) only concerns the client, and the server
 * reports keys it does not know, so those are never sent.
 */
export interface ServerSettings {
  modelPath: string | null;
  device: string;
  dtype: string;
  maxHoleTokens: number;
  maxSteps: number | null;
  typingMaxSteps: number | null;
  debounceMs: number;
  enabledLanguages: string[];
  numCandidates: number;
  fileLookup: boolean;
  neighborFiles: boolean;
  threads: number | null;
}

/** How to start the server process; the client adds `--stdio` itself. */
export interface ServerLaunch {
  command: string;
  args: string[];
}

export function readServerSettings(config: vscode.WorkspaceConfiguration): ServerSettings {
  const modelPath = config.get<string>('modelPath', '').trim();
  return {
    // An empty path means "the model shipped with the server", which the server spells null.
    modelPath: modelPath === '' ? null : modelPath,
    device: config.get<string>('device', 'auto'),
    dtype: config.get<string>('dtype', 'auto'),
    maxHoleTokens: config.get<number>('maxHoleTokens', 48),
    maxSteps: config.get<number | null>('maxSteps', null),
    typingMaxSteps: config.get<number | null>('typingMaxSteps', 6),
    debounceMs: config.get<number>('debounceMs', 60),
    enabledLanguages: config.get<string[]>('enabledLanguages', ['*']),
    numCandidates: config.get<number>('numCandidates', 3),
    fileLookup: config.get<boolean>('fileLookup', true),
    neighborFiles: config.get<boolean>('neighborFiles', true),
    threads: config.get<number | null>('threads', null),
  };
}

export function readServerLaunch(config: vscode.WorkspaceConfiguration): ServerLaunch {
  const command = config.get<string>('server.command', 'infill-ls').trim() || 'infill-ls';
  const extraArgs = config.get<string[]>('server.extraArgs', []);
  return { command, args: extraArgs };
}

/** Changes to these need a new server process, not just a notification. */
export function needsRestart(event: vscode.ConfigurationChangeEvent): boolean {
  return event.affectsConfiguration(`${SECTION}.server`);
}
