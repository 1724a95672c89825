/**
 * The one message shown when the server does not start, with no `vscode` import so that it can be
 * tested in plain Node.
 */
import { existsSync } from 'node:fs';
import type { ServerLaunch } from './settings';

/** The command line as the client runs it (it adds `--stdio`), quoted where a part has spaces. */
export function commandLine(launch: ServerLaunch): string {
  return [launch.command, ...launch.args, '--stdio']
    .map((part) => (part === '' || /[\s"']/.test(part) ? JSON.stringify(part) : part))
    .join(' ');
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return typeof error === 'string' ? error : String(error);
}

/**
 * What went wrong, what was run, and which setting fixes it. The language client reports a failed
 * spawn as a string such as `Launching server using command infill-ls failed. Error: spawn infill-ls ENOENT`.
 */
export function startFailureMessage(
  launch: ServerLaunch,
  error: unknown,
  exists: (path: string) => boolean = existsSync,
): string {
  const why = reason(error);
  const tried = `"${commandLine(launch)}"`;
  const isPath = /[\\/]/.test(launch.command);
  if (/\bENOENT\b/.test(why) && isPath && exists(launch.command)) {
    // The system says ENOENT too when the script's interpreter (its #! line) is gone: a virtual environment
    // whose Python was removed or upgraded.
    return (
      `Infill: the language server could not be run: ${tried} exists, but the interpreter its first line names ` +
      'does not (a virtual environment whose Python was removed or upgraded?). Recreate the environment and ' +
      'install infill-ls again, or set infill.server.command to a working infill-ls executable.'
    );
  }
  if (/\bEPIPE\b|after a stream was destroyed/.test(why)) {
    // Writing initialize to a process that is already gone: it exited at once.
    return (
      `Infill: the language server did not start: ${tried} exited as soon as it started. ` +
      'Its own messages are in the Infill output; check the settings infill.server.command and infill.server.extraArgs.'
    );
  }
  if (/\bENOENT\b/.test(why)) {
    const missing = isPath ? `${launch.command} does not exist` : `no ${launch.command} on PATH`;
    return (
      `Infill: the language server was not found: ${tried} could not be run (${missing}). ` +
      'Install it (pip install . in the infill-ls repository), or set ' +
      'the setting infill.server.command to the full path of the infill-ls executable.'
    );
  }
  if (/\bEACCES\b/.test(why)) {
    return (
      `Infill: the language server could not be run: ${tried} is not executable (EACCES). ` +
      'Set infill.server.command to the infill-ls executable.'
    );
  }
  return (
    `Infill: the language server did not start: ${tried} failed (${why.trim() || 'no reason given'}). ` +
    'Its own messages are in the Infill output; check the settings infill.server.command and infill.server.extraArgs.'
  );
}

/** Shown when an editor command is run while no server is running. */
export function notRunningMessage(title: string, lastFailure: string | undefined): string {
  const base = `Infill: cannot run ${title}: the language server is not running`;
  return lastFailure === undefined
    ? `${base}. Run "Infill: Restart Language Server" to start it.`
    : `${base} (it failed to start; see the Infill output). Fix infill.server.command or ` +
        'infill.server.extraArgs, then run "Infill: Restart Language Server".';
}
