import { type ChildProcess, execFile } from 'node:child_process';
import { extname } from 'node:path';
import { ServerLaunch } from './settings';
import { findOnPath } from './startFailure';

/** What the language client is given to run the server: `Executable`'s fields, with `--stdio` where it adds none. */
export interface ServerSpawn {
  command: string;
  args: string[];
  /** `--stdio` goes on the command line the client builds; unset where it is in `args` already. */
  stdio: boolean;
  windowsVerbatimArguments?: boolean;
  /**
   * The process leads a process group of its own (outside Windows), which `endServer` ends whole. Such a group is not
   * sent what a terminal sends VS Code's own (Ctrl-C, a hangup): the server still ends with the editor, as it reads
   * the end of its input once the editor's process has gone, and watches the editor's processId once initialized.
   */
  detached: boolean;
  /** Why the launch cannot be run as set (a script's argument cmd.exe cannot pass as written). */
  problem?: string;
}

const SCRIPT = /^\.(bat|cmd)$/i;
// Inside double quotes cmd.exe reads `%` (a variable) and `!` (one, where delayed expansion is on) all the same, a
// quote of the text's own ends the quoted stretch, a line break ends the command, and a script that hands its
// arguments on with `call` (as pyenv-win's shims do) doubles each `^`: none of them arrives unchanged.
const UNPASSABLE = /["%!^\r\n]/;
const NEEDS_QUOTES = /[\s&|<>^()@,;=]/;

/**
 * The batch script a Windows launch runs, if it runs one: a `.bat` or `.cmd` named as such, or the first file a
 * bare name finds on PATH where that is one (a pyenv-win shim). Node refuses to start such a script directly
 * (EINVAL) and looks only for `.exe` and `.com` on PATH, so it is run through cmd.exe.
 */
export function batchScript(
  command: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (platform !== 'win32') {
    return undefined;
  }
  if (/[\\/]/.test(command)) {
    return SCRIPT.test(extname(command)) ? command : undefined;
  }
  const first = findOnPath(command, env, platform)[0];
  return first !== undefined && SCRIPT.test(extname(first)) ? first : undefined;
}

/** One word of a command line cmd.exe hands on: quoted where it holds a space or a character cmd.exe reads. */
function cmdWord(word: string): string {
  if (word !== '' && !NEEDS_QUOTES.test(word)) {
    return word;
  }
  // The program reading its command line takes backslashes before a quote as escapes: a trailing run is doubled
  // so that the closing quote stays one.
  return `"${word.replace(/(\\+)$/, '$1$1')}"`;
}

/** How the language client starts the server for `launch` (the client adds `--stdio` itself where `stdio`). */
export function serverSpawn(
  launch: ServerLaunch,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): ServerSpawn {
  // On Windows a detached process gets a console window of its own, and `taskkill` ends a tree without a group.
  const detached = platform !== 'win32';
  const script = batchScript(launch.command, env, platform);
  if (script === undefined) {
    return { command: launch.command, args: launch.args, stdio: true, detached };
  }
  const words = [script, ...launch.args, '--stdio'];
  const spawn: ServerSpawn = {
    command: env.ComSpec ?? env.COMSPEC ?? 'cmd.exe',
    // /d: no AutoRun commands from the registry; /q: echo off, else a script without `@echo off` writes each of its
    // commands to stdout, ahead of the server's first message; /s /c: the outer quotes are removed and the rest run.
    args: ['/d', '/q', '/s', '/c', `"${words.map(cmdWord).join(' ')}"`],
    stdio: false,
    windowsVerbatimArguments: true,
    detached,
  };
  const bad = words.find((word) => UNPASSABLE.test(word));
  if (bad !== undefined) {
    spawn.problem =
      `Infill: the server is the batch script ${script}, which runs through cmd.exe, and cmd.exe cannot pass ` +
      `${JSON.stringify(bad)} as written (a quote, %, !, ^ or a line break in it): name the infill-ls executable ` +
      'instead, or change that argument.';
  }
  return spawn;
}

/** What the language client passes to Node's `spawn` for the server (its `Executable`'s `options`). */
export interface SpawnOptions {
  cwd?: string;
  windowsVerbatimArguments?: boolean;
  detached?: boolean;
}

/** The options the language client spawns the server's process with. */
export function spawnOptions(launch: ServerLaunch, spawn: ServerSpawn): SpawnOptions {
  return {
    // The folder a relative command was resolved against (the library's own choice, made explicit).
    ...(launch.cwd === undefined ? {} : { cwd: launch.cwd }),
    ...(spawn.windowsVerbatimArguments ? { windowsVerbatimArguments: true } : {}),
    ...(spawn.detached ? { detached: true } : {}),
  };
}

/** How long a server sent SIGTERM has to end before what is left of it is sent SIGKILL. */
export const KILL_GRACE_MS = 1_000;
const POLL_MS = 50;

/** The command that ends a Windows process and every process it started. */
export function treeKillCommand(pid: number): [string, string[]] {
  return ['taskkill', ['/pid', String(pid), '/T', '/F']];
}

export interface EndServerOptions {
  /** How long it has to end by itself first (a server sent `exit`). */
  waitMs?: number;
  graceMs?: number;
  platform?: NodeJS.Platform;
}

/**
 * Ends a server's process and every process it started, whatever the language client is waiting for from it. Where
 * the server command is a wrapper (a shell script that runs python without `exec`, `conda run`, a batch script run
 * through cmd.exe), killing its process alone would leave the python process it runs behind, holding its model until
 * it next reads its input, which one importing torch or loading a model does not do. Outside Windows the process leads
 * a group of its own (`ServerSpawn.detached`), sent SIGTERM and, where any of it still runs after `graceMs`, SIGKILL;
 * on Windows `taskkill` ends its tree.
 */
export async function endServer(child: ChildProcess, options: EndServerOptions = {}): Promise<void> {
  const { waitMs = 0, graceMs = KILL_GRACE_MS, platform = process.platform } = options;
  // A process that left the group (one that made a session of its own) still reads the end of its input and exits.
  child.stdin?.destroy();
  const pid = child.pid;
  if (pid === undefined) {
    return; // never started
  }
  if (platform === 'win32') {
    // A process id that has ended may name another process already: only a running tree is ended.
    if (!(await within(() => hasExited(child), waitMs))) {
      await killTree(child, pid);
    }
    return;
  }
  const ended = () => !groupRuns(pid) && hasExited(child);
  if (await within(ended, waitMs)) {
    return;
  }
  signalGroup(child, pid, 'SIGTERM');
  if (!(await within(ended, graceMs))) {
    signalGroup(child, pid, 'SIGKILL');
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Whether a process of the group `pid` leads still runs. */
function groupRuns(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(child: ChildProcess, pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    child.kill(signal); // no such group: a process not spawned detached
  }
}

function killTree(child: ChildProcess, pid: number): Promise<void> {
  const [file, args] = treeKillCommand(pid);
  return new Promise((resolve) => {
    execFile(file, args, { windowsHide: true }, (error) => {
      if (error !== null && !hasExited(child)) {
        child.kill(); // its own process at least
      }
      resolve();
    });
  });
}

/** Whether `done` holds within `ms`, asked every POLL_MS. */
async function within(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= end) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, end - Date.now())));
  }
  return true;
}
