import type { ChildProcess } from 'node:child_process';
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
  const script = batchScript(launch.command, env, platform);
  if (script === undefined) {
    return { command: launch.command, args: launch.args, stdio: true };
  }
  const words = [script, ...launch.args, '--stdio'];
  const spawn: ServerSpawn = {
    command: env.ComSpec ?? env.COMSPEC ?? 'cmd.exe',
    // /d: no AutoRun commands from the registry; /q: echo off, else a script without `@echo off` writes each of its
    // commands to stdout, ahead of the server's first message; /s /c: the outer quotes are removed and the rest run.
    args: ['/d', '/q', '/s', '/c', `"${words.map(cmdWord).join(' ')}"`],
    stdio: false,
    windowsVerbatimArguments: true,
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
}

/** The options the language client spawns the server's process with. */
export function spawnOptions(launch: ServerLaunch, spawn: ServerSpawn): SpawnOptions {
  return {
    // The folder a relative command was resolved against (the library's own choice, made explicit).
    ...(launch.cwd === undefined ? {} : { cwd: launch.cwd }),
    ...(spawn.windowsVerbatimArguments ? { windowsVerbatimArguments: true } : {}),
  };
}

/** Ends the process of a server given up on, whatever the language client is waiting for from it. */
export function endServer(child: ChildProcess): void {
  child.kill('SIGKILL');
  // A child it leaves behind (a wrapper script's) reads the end of its input and exits too.
  child.stdin?.destroy();
}
