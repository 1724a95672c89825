/**
 * When a server start is given up on, what the status says of the client, and which of its ends the
 * extension reports and with what message; no `vscode` import, so that it can be tested in plain Node.
 */
import type { ServerLaunch } from './settings';
import { startFailureMessage, stoppedMessage } from './startFailure';
import type { ServerState } from './status';

/**
 * How long a start waits for the server's answer to initialize. The server answers before it loads its
 * model, but only once Python has imported torch and its own modules, which takes tens of seconds on a slow
 * disk or at the first start after an install. Beyond that it is not the server getting ready but something
 * waiting (a wrapper on a lock, ssh asking for a password, a program that ignores --stdio), and every
 * restart, command and shutdown would wait with it.
 */
export const START_TIMEOUT_MS = 60_000;

export type Settled = { outcome: 'settled'; failed: boolean; error?: unknown } | { outcome: 'timedOut' } | { outcome: 'cancelled' };

/**
 * How `work` ended, or that `ms` passed or `cancel` settled first: a start that never ends must not keep
 * the one waiting for it waiting too.
 */
export async function settleWithin(work: Promise<unknown>, ms: number, cancel: Promise<unknown>): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timedOut' }), ms);
  });
  const settled = work.then(
    (): Settled => ({ outcome: 'settled', failed: false }),
    (error: unknown): Settled => ({ outcome: 'settled', failed: true, error }),
  );
  const cancelled = cancel.then(
    (): Settled => ({ outcome: 'cancelled' }),
    (): Settled => ({ outcome: 'cancelled' }),
  );
  try {
    return await Promise.race([settled, timedOut, cancelled]);
  } finally {
    clearTimeout(timer);
  }
}

/** The language client's public state, by name (its `State` enum comes with the `vscode` module). */
export type ClientPhase = 'starting' | 'running' | 'startFailed' | 'stopped';

/**
 * What the status bar says of the server. `ownStart`: the extension is starting one (its client may not exist
 * yet). A client given up on is neither starting nor running whatever the library says: its process was
 * killed, and the library may never hear of it (a wrapper's child can keep the pipe open).
 */
export function serverState(
  ownStart: boolean,
  phase: ClientPhase | undefined,
  givenUp: boolean,
  failure: string | undefined,
): ServerState {
  if (ownStart || (phase === 'starting' && !givenUp)) {
    return 'starting';
  }
  if (phase === 'running' && !givenUp) {
    return 'running';
  }
  return failure !== undefined ? 'failed' : 'stopped';
}

export interface ClientFacts {
  /** It is the extension's current client: one it stopped or replaced is not. */
  current: boolean;
  /** The extension is judging its start itself, and reports a failure of it. */
  ownStart: boolean;
  /** Given up on by the extension (a start that took too long, a restart during a start). */
  givenUp: boolean;
  /** The library is restarting it after a crash. */
  restarting: boolean;
  /** Its end was reported already. */
  reported: boolean;
}

/**
 * Whether a client in `phase` has ended with no one to report it: not a stop the extension asked for, and
 * not a start the extension judges itself. What is left: the library's restart after a crash failing, and
 * the library giving up on a server that keeps crashing or whose connection keeps failing. A client seen
 * stopped while the library restarts it is at that restart's first step. Asked when the client changes
 * state and again before the message is shown, as the library may have moved on meanwhile.
 */
export function isUnplannedEnd(phase: ClientPhase | undefined, client: ClientFacts): boolean {
  if (!client.current || client.ownStart || client.givenUp || client.reported) {
    return false;
  }
  return phase === 'startFailed' || (phase === 'stopped' && !client.restarting);
}

export interface ServerEnd {
  /** The library's reason for not restarting it (it crashed too often, its connection kept failing). */
  gaveUp?: string;
  /** What the library's restart of it failed with (a spawn's ENOENT where its virtual environment went away). */
  error?: unknown;
  /** The server's last line on stderr. */
  said?: string;
}

/**
 * The one message for such an end. A restart that could not be made is a failed start, told as one (the
 * command, the reason, the setting to fix); a server the library no longer restarts says the library's reason.
 */
export function endMessage(phase: 'startFailed' | 'stopped', launch: ServerLaunch, end: ServerEnd): string {
  if (phase === 'stopped' || end.gaveUp !== undefined) {
    return stoppedMessage(end.gaveUp, end.said);
  }
  return startFailureMessage(launch, end.error ?? 'the server exited while starting', end.said);
}
