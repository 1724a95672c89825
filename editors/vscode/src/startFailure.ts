/**
 * The one message shown when the server does not start, and the server's stderr it quotes, with no
 * `vscode` import so that it can be tested in plain Node.
 */
import { accessSync, closeSync, constants, existsSync, openSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { ServerLaunch } from './settings';

/**
 * The command line as the client runs it (it adds `--stdio`), quoted where a part has spaces: in single
 * quotes, as the messages put the whole line in double ones.
 */
export function commandLine(launch: ServerLaunch): string {
  const quoted = (part: string) => (part.includes("'") ? JSON.stringify(part) : `'${part}'`);
  return [launch.command, ...launch.args, '--stdio']
    .map((part) => (part === '' || /[\s"']/.test(part) ? quoted(part) : part))
    .join(' ');
}

/** Each line of `input` to `onLine`, as the language client passes a server's output on. */
export function eachLine(input: Readable, onLine: (line: string) => void): ReturnType<typeof createInterface> {
  return createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on('line', onLine);
}

/** A line quoted in a message is kept short. */
const MAX_QUOTED = 300;

/**
 * The server process's stderr, passed on line by line, and its last line that says something kept: the
 * reason a server that exits while starting gives (an unknown argument, a traceback's exception), which
 * the message for the failed start quotes.
 */
export class StderrTail {
  private last: string | undefined;
  private ended: Promise<void> = Promise.resolve();

  /** Follows a new process's stderr (the library's restart of a crashed server starts one). */
  follow(input: Readable, log: (line: string) => void): void {
    this.last = undefined;
    const lines = eachLine(input, (line) => {
      log(line);
      // Colours and control characters would show as they are in a message.
      const plain = line.replace(/\x1b\[[\d;]*[A-Za-z]/g, '').replace(/[\x00-\x1f\x7f]/g, ' ').trim();
      if (plain !== '') {
        this.last = plain.length > MAX_QUOTED ? `${plain.slice(0, MAX_QUOTED - 1)}…` : plain;
      }
    });
    this.ended = new Promise((resolve) => lines.once('close', () => resolve()));
  }

  /**
   * The last line, once the stream has ended: the exit can be seen before the last of stderr is read. A
   * process still running is waited for `waitMs` at most.
   */
  async lastLine(waitMs: number): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([this.ended, waited]);
    clearTimeout(timer);
    return this.last;
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return typeof error === 'string' ? error : String(error);
}

/**
 * The files a bare command names, in the order the system looks for it: each `PATH` entry, and on Windows
 * each extension of `PATHEXT` too. Only those that exist.
 */
export function findOnPath(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string[] {
  const windows = platform === 'win32';
  const entries = env.PATH === undefined ? [] : env.PATH.split(windows ? ';' : ':');
  const extensions = windows ? (env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((ext) => ext !== '') : [''];
  // On Windows a name that has an extension already is tried as it is first.
  const names = windows && extname(command) !== '' ? [command] : [];
  names.push(...extensions.map((ext) => command + ext));
  const found: string[] = [];
  for (const entry of entries) {
    if (windows && entry === '') {
      continue;
    }
    // An empty entry is the current directory, as for execvp.
    for (const name of names) {
      const file = join(entry === '' ? '.' : entry, name);
      if (existsSync(file)) {
        found.push(file);
      }
    }
  }
  return found;
}

/** A directory on PATH is found like a file but cannot be run either. */
function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The interpreter a script's `#!` line names, if it has one. */
function shebangInterpreter(file: string): string | undefined {
  let head = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(512);
      head = buffer.toString('utf8', 0, readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const match = /^#![ \t]*([^\s]+)/.exec(head);
  return match?.[1];
}

/** The interpreter a script's `#!` line names, where no such file exists. */
function missingInterpreter(file: string): string | undefined {
  const interpreter = shebangInterpreter(file);
  return interpreter !== undefined && !existsSync(interpreter) ? interpreter : undefined;
}

function interpreterGoneMessage(subject: string, interpreter: string | undefined): string {
  const named = interpreter === undefined ? '' : `, ${interpreter},`;
  return (
    `Infill: the language server could not be run: ${subject} exists, but the interpreter its first line names${named} ` +
    'does not (a virtual environment whose Python was removed or upgraded?). Recreate the environment and ' +
    'install infill-ls again, or set infill.server.command to a working infill-ls executable.'
  );
}

function notFoundMessage(tried: string, missing: string): string {
  return (
    `Infill: the language server was not found: ${tried} could not be run (${missing}). ` +
    'Install it (pip install . in the infill-ls repository), or set ' +
    'the setting infill.server.command to the full path of the infill-ls executable.'
  );
}

/**
 * For a command with spaces that is no file: the setting names one executable, which is run without a shell,
 * and a command line there (`python3 -m infill_ls`) is looked for as a file of that whole name.
 */
function commandLineMessage(
  launch: ServerLaunch,
  tried: string,
  missing: string,
  exists: (path: string) => boolean,
): string {
  const [program, ...rest] = launch.command.split(/\s+/);
  // Its first word split off only where that is an executable, which a path with spaces in it is not.
  const found = /[\\/]/.test(program) ? exists(program) : findOnPath(program).length > 0;
  const args = JSON.stringify([...rest, ...launch.args]);
  const split = found ? `, here infill.server.command ${JSON.stringify(program)} and infill.server.extraArgs ${args}` : '';
  return (
    `Infill: the language server was not found: ${tried} could not be run (${missing}). ` +
    `infill.server.command is one executable, not a command line: put its arguments in infill.server.extraArgs${split}; ` +
    'or set infill.server.command to the full path of the infill-ls executable.'
  );
}

function notExecutableMessage(subject: string): string {
  return (
    `Infill: the language server could not be run: ${subject} is not executable (EACCES). ` +
    'Set infill.server.command to the infill-ls executable.'
  );
}

/** `said`, the server's last line on stderr, added to a sentence. */
function saying(said: string | undefined): string {
  return said === undefined ? '' : `; its last line on stderr: ${said}${/[.!?]$/.test(said) ? '' : '.'}`;
}

/** A start given up on: the server did not answer initialize in time. */
export class StartTimedOut extends Error {
  constructor(readonly ms: number) {
    super(`no answer to initialize within ${Math.round(ms / 1000)} s`);
  }
}

/**
 * What went wrong, what was run, and which setting fixes it. The language client reports a failed
 * spawn as a string such as `Launching server using command infill-ls failed. Error: spawn infill-ls ENOENT`.
 * `said` is the server's last line on stderr, where it ran: mostly the reason it gave for exiting.
 */
export function startFailureMessage(
  launch: ServerLaunch,
  error: unknown,
  said?: string,
  exists: (path: string) => boolean = existsSync,
): string {
  const why = reason(error);
  const tried = `"${commandLine(launch)}"`;
  const isPath = /[\\/]/.test(launch.command);
  if (error instanceof StartTimedOut) {
    // Spawned, so the command exists: what runs is not infill-ls answering, or it waits for something.
    return (
      `Infill: the language server did not start: ${tried} did not answer within ${Math.round(error.ms / 1000)} s ` +
      `and was stopped${saying(said) || '.'} Set infill.server.command to the infill-ls executable (a wrapper ` +
      'there must not wait for input), then run "Infill: Restart Language Server".'
    );
  }
  if (/\bENOENT\b/.test(why)) {
    // The system says ENOENT too when the script's interpreter (its #! line) is gone: a virtual environment
    // whose Python was removed or upgraded. A bare command is tried in every PATH entry, so such a script
    // there is reported as a command not found at all.
    if (isPath && exists(launch.command)) {
      return interpreterGoneMessage(tried, shebangInterpreter(launch.command));
    }
    for (const script of isPath ? [] : findOnPath(launch.command)) {
      const interpreter = missingInterpreter(script);
      if (interpreter !== undefined) {
        return interpreterGoneMessage(`${tried}: ${script} (found on PATH)`, interpreter);
      }
    }
    const missing = isPath ? `${launch.command} does not exist` : `no ${launch.command} on PATH`;
    return /\s/.test(launch.command) ? commandLineMessage(launch, tried, missing, exists) : notFoundMessage(tried, missing);
  }
  if (/\bEPIPE\b|after a stream was destroyed/.test(why)) {
    // Writing initialize to a process that is already gone: it exited at once.
    return (
      `Infill: the language server did not start: ${tried} exited as soon as it started${saying(said) || '.'} ` +
      'Its own messages are in the Infill output; check the settings infill.server.command and infill.server.extraArgs.'
    );
  }
  if (/\bEACCES\b/.test(why)) {
    if (isPath) {
      return notExecutableMessage(tried);
    }
    // For a bare command it is the file found on PATH that cannot be run, or, where no entry has the
    // command, a PATH directory that cannot be searched.
    const denied = findOnPath(launch.command).find((file) => !isExecutable(file));
    return denied === undefined
      ? notFoundMessage(tried, `no ${launch.command} on PATH`)
      : notExecutableMessage(`${tried}: ${denied} (found on PATH)`);
  }
  return (
    `Infill: the language server did not start: ${tried} failed (${why.trim() || 'no reason given'})${saying(said) || '.'} ` +
    'Its own messages are in the Infill output; check the settings infill.server.command and infill.server.extraArgs.'
  );
}

/**
 * What the status says of a server that kept crashing and that the library no longer restarts: its own reason
 * where it gave one, and the process's last line on stderr (a traceback's exception).
 */
export function stoppedMessage(reason: string | undefined, said: string | undefined): string {
  // A reader's error quotes the line it could not read on a line of its own.
  const why = reason?.replace(/\s*\n\s*/g, ' ').trim();
  return `Infill: the server stopped and is not restarted${why ? ` (${why})` : ''}` +
    `${said ? `; its last line on stderr: ${said}` : ''}; run Infill: Restart Language Server.`;
}

/** Shown when an editor command is run while no server is running. */
export function notRunningMessage(title: string, lastFailure: string | undefined): string {
  const base = `Infill: cannot run ${title}: the language server is not running`;
  return lastFailure === undefined
    ? `${base}. Run "Infill: Restart Language Server" to start it.`
    : `${base} (it failed to start; see the Infill output). Fix infill.server.command or ` +
        'infill.server.extraArgs, then run "Infill: Restart Language Server".';
}
