import * as assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn as nodeSpawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestContext, test } from 'node:test';
import type { ServerLaunch } from '../settings';
import { batchScript, endServer, serverSpawn, spawnOptions, treeKillCommand } from '../serverSpawn';

// PATHEXT in lower case: this file system, unlike Windows', tells `.BAT` from `.bat`.
const WINDOWS_ENV = { ComSpec: 'C:\\Windows\\system32\\cmd.exe', PATHEXT: '.com;.exe;.bat;.cmd' };

test('an executable is started as it is, the client adding --stdio', () => {
  const launch = { command: '/home/me/.venv/bin/infill-ls', args: ['--model', '/m'] };
  assert.deepEqual(serverSpawn(launch, {}, 'linux'), { command: launch.command, args: ['--model', '/m'], stdio: true, detached: true });
  // Outside Windows a .cmd is a file like any other.
  assert.equal(batchScript('/opt/infill-ls.cmd', {}, 'linux'), undefined);
  assert.equal(serverSpawn({ command: 'C:\\venv\\Scripts\\infill-ls.exe', args: [] }, WINDOWS_ENV, 'win32').stdio, true);
});

test('a batch script on Windows runs through cmd.exe with its whole command line quoted where it must be', () => {
  const spawn = serverSpawn(
    { command: 'C:\\Users\\Jo Doe\\shims\\infill-ls.CMD', args: ['--model', 'C:\\models\\my model\\', '--threads=2'] },
    WINDOWS_ENV,
    'win32',
  );
  assert.equal(spawn.command, 'C:\\Windows\\system32\\cmd.exe');
  assert.equal(spawn.stdio, false);
  assert.equal(spawn.windowsVerbatimArguments, true);
  assert.equal(spawn.problem, undefined);
  // A trailing backslash inside quotes is doubled, else the program reading the line takes it as escaping the quote.
  assert.deepEqual(spawn.args, [
    '/d',
    '/q',
    '/s',
    '/c',
    '""C:\\Users\\Jo Doe\\shims\\infill-ls.CMD" --model "C:\\models\\my model\\\\" "--threads=2" --stdio"',
  ]);
});

test('a bare name that PATH finds as a batch script (a pyenv-win shim) runs through cmd.exe; one found as .exe does not', () => {
  const shims = mkdtempSync(join(tmpdir(), 'infill-shims-'));
  const bin = mkdtempSync(join(tmpdir(), 'infill-bin-'));
  writeFileSync(join(shims, 'infill-ls.bat'), '@python -m infill_ls %*\r\n');
  writeFileSync(join(bin, 'infill-ls.exe'), '');
  const script = join(shims, 'infill-ls.bat');
  assert.equal(batchScript('infill-ls', { ...WINDOWS_ENV, PATH: `${shims};${bin}` }, 'win32'), script);
  assert.equal(batchScript('infill-ls', { ...WINDOWS_ENV, PATH: `${bin};${shims}` }, 'win32'), undefined);
  assert.equal(batchScript('missing-server', { ...WINDOWS_ENV, PATH: `${shims};${bin}` }, 'win32'), undefined);
  const spawn = serverSpawn({ command: 'infill-ls', args: [] }, { ...WINDOWS_ENV, PATH: shims }, 'win32');
  assert.deepEqual(spawn.args.slice(0, 4), ['/d', '/q', '/s', '/c']);
  assert.ok(spawn.args[4].includes(script));
  assert.ok(spawn.args[4].endsWith(' --stdio"'));
});

test('an argument cmd.exe cannot pass as written is a problem naming it, not a changed argument', () => {
  for (const bad of ['100%', 'say "hi"', 'wow!', 'C:\\odd^dir']) {
    const spawn = serverSpawn({ command: 'C:\\shims\\infill-ls.bat', args: ['--model', bad] }, WINDOWS_ENV, 'win32');
    assert.match(spawn.problem ?? '', /batch script C:\\shims\\infill-ls\.bat/);
    assert.ok((spawn.problem ?? '').includes(JSON.stringify(bad)), spawn.problem);
  }
  assert.equal(serverSpawn({ command: 'C:\\shims\\infill-ls.bat', args: [] }, {}, 'win32').command, 'cmd.exe');
});

test('outside Windows the server leads a process group of its own; on Windows its tree is ended by taskkill', () => {
  const launch = { command: 'infill-ls', args: [], cwd: '/work' };
  assert.deepEqual(spawnOptions(launch, serverSpawn(launch, {}, 'darwin')), { cwd: '/work', detached: true });
  const exe = { command: 'C:\\venv\\Scripts\\infill-ls.exe', args: [] };
  assert.deepEqual(spawnOptions(exe, serverSpawn(exe, WINDOWS_ENV, 'win32')), {});
  const script = { command: 'C:\\shims\\infill-ls.bat', args: [] };
  assert.deepEqual(spawnOptions(script, serverSpawn(script, WINDOWS_ENV, 'win32')), { windowsVerbatimArguments: true });
  // /T: cmd.exe and the python process a batch script runs under it; /F: a console program is sent no close request.
  assert.deepEqual(treeKillCommand(4321), ['taskkill', ['/pid', '4321', '/T', '/F']]);
});

const POSIX = { skip: process.platform === 'win32' ? 'process groups and shell scripts are POSIX' : false };

/** Whether `pid` runs: a zombie, ended and not yet reaped by whoever adopted it, does not. */
function runs(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS)
  }
}

async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

interface Wrapped {
  launch: ServerLaunch;
  pidFile: string;
}

/**
 * `infill-ls-wrapper.sh`, a bash script that runs a python server as its child (no `exec`), as one that sets up an
 * environment first does. The server writes its pid, then spends `busyS` seconds without reading its input (importing
 * torch, loading a model), then reads it to its end and exits. `ignoreTerm`: the script ignores SIGTERM, and so does
 * the server, which inherits that.
 */
function wrapper(t: TestContext, busyS: number, ignoreTerm = false): Wrapped {
  const dir = mkdtempSync(join(tmpdir(), 'infill-wrapper-'));
  const pidFile = join(dir, 'server.pid');
  writeFileSync(
    join(dir, 'server.py'),
    [
      'import os, sys, time',
      'open(sys.argv[1] + ".new", "w").write(str(os.getpid()))',
      'os.replace(sys.argv[1] + ".new", sys.argv[1])',
      'time.sleep(float(sys.argv[2]))',
      'sys.stdin.buffer.read()',
      '',
    ].join('\n'),
  );
  const script = join(dir, 'infill-ls-wrapper.sh');
  writeFileSync(script, `#!/bin/bash\n${ignoreTerm ? "trap '' TERM\n" : ''}python3 "$(dirname "$0")/server.py" "$@"\n`);
  chmodSync(script, 0o755);
  t.after(() => {
    // A server a failing test left behind.
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // ended
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { launch: { command: script, args: [pidFile, String(busyS)] }, pidFile };
}

/** Spawned as the language client spawns an `Executable` (the transport's `--stdio` added), and the server's pid. */
async function started(launch: ServerLaunch, pidFile: string): Promise<{ child: ChildProcess; server: number }> {
  const spawn = serverSpawn(launch);
  const child = nodeSpawn(spawn.command, [...spawn.args, '--stdio'], { ...spawnOptions(launch, spawn) });
  assert.ok(await waitFor(() => existsSync(pidFile), 10_000), 'the server did not start');
  return { child, server: Number(readFileSync(pidFile, 'utf8')) };
}

test('a server given up on is ended with the python process a wrapper script runs, not only the script', POSIX, async (t) => {
  const { launch, pidFile } = wrapper(t, 60);
  const { child, server } = await started(launch, pidFile);
  assert.notEqual(server, child.pid);
  await endServer(child);
  // It reads no input for a minute: killing the script alone leaves it running that long, its model loaded.
  assert.ok(await waitFor(() => !runs(server), 1000), `the server ${server} was left running`);
  assert.ok(await waitFor(() => child.exitCode !== null || child.signalCode !== null, 1000));
});

test('a wrapper and server that ignore SIGTERM are killed once the grace has passed', POSIX, async (t) => {
  const { launch, pidFile } = wrapper(t, 60, true);
  const { child, server } = await started(launch, pidFile);
  const before = Date.now();
  await endServer(child, { graceMs: 300 });
  assert.ok(Date.now() - before >= 300);
  assert.ok(await waitFor(() => !runs(server), 1000), `the server ${server} was left running`);
  assert.ok(await waitFor(() => child.signalCode === 'SIGKILL', 1000));
});

test('a server run directly ends at SIGTERM, without waiting for the grace', POSIX, async (t) => {
  const { launch, pidFile } = wrapper(t, 60);
  const direct = { command: 'python3', args: [join(launch.command, '..', 'server.py'), ...launch.args] };
  const { child, server } = await started(direct, pidFile);
  assert.equal(server, child.pid);
  const before = Date.now();
  await endServer(child, { graceMs: 10_000 });
  assert.ok(Date.now() - before < 5_000);
  assert.equal(runs(server), false);
  assert.equal(child.signalCode, 'SIGTERM');
});

test('a stopped server that ends by itself once its input ends is sent no signal', POSIX, async (t) => {
  const { launch, pidFile } = wrapper(t, 0);
  const { child, server } = await started(launch, pidFile);
  await endServer(child, { waitMs: 5_000, graceMs: 0 });
  assert.equal(runs(server), false);
  assert.deepEqual([child.exitCode, child.signalCode], [0, null]);
});

test('where taskkill cannot be run (here: not Windows), the server\'s own process is killed still', POSIX, async (t) => {
  const { launch, pidFile } = wrapper(t, 60);
  const direct = { command: 'python3', args: [join(launch.command, '..', 'server.py'), ...launch.args] };
  const { child, server } = await started(direct, pidFile);
  await endServer(child, { platform: 'win32' });
  assert.ok(await waitFor(() => !runs(server), 2_000), `the server ${server} was left running`);
});

test('a server in a process group of its own still ends when the editor\'s process dies', POSIX, async (t) => {
  // VS Code crashing: the extension host is killed, and the server's input ends with it. A host process starts the
  // server as the extension does.
  const { launch, pidFile } = wrapper(t, 0);
  const host = nodeSpawn(
    process.execPath,
    [
      '-e',
      `const { spawn } = require('node:child_process');
       const { serverSpawn, spawnOptions } = require(${JSON.stringify(join(__dirname, '..', 'serverSpawn.js'))});
       const launch = ${JSON.stringify(launch)};
       const s = serverSpawn(launch);
       const child = spawn(s.command, [...s.args, '--stdio'], spawnOptions(launch, s));
       child.stdout.resume();
       setInterval(() => undefined, 1000);`,
    ],
    { stdio: 'ignore' },
  );
  t.after(() => host.kill('SIGKILL'));
  assert.ok(await waitFor(() => existsSync(pidFile), 10_000), 'the server did not start');
  const server = Number(readFileSync(pidFile, 'utf8'));
  const group = (pid: number) => Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  assert.notEqual(group(server), group(host.pid!));
  assert.equal(runs(server), true);
  host.kill('SIGKILL');
  assert.ok(await waitFor(() => !runs(server), 5_000), `the server ${server} outlived the editor`);
});
