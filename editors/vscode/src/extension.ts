import * as vscode from 'vscode';
import {
  CloseAction,
  ConfigurationParams,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { SERVER_COMMANDS, ServerCommand } from './commandArgs';
import { commandArguments } from './editorCommands';
import { ClientFacts, ClientPhase, START_TIMEOUT_MS, endMessage, isUnplannedEnd, serverState as stateOf, settleWithin } from './lifecycle';
import {
  ConfigSource,
  LAUNCH_KEYS,
  SECTION,
  SERVED_SCHEMES,
  ServerLaunch,
  ServerSettings,
  folderScoped,
  needsRestart,
  readServerLaunch,
  readServerSettings,
  serverFolder,
  settingsUpdate,
  workspaceSetsRestricted,
} from './settings';
import { ServerSpawn, endServer, serverSpawn, spawnOptions } from './serverSpawn';
import { StartTimedOut, StderrTail, eachLine, notRunningMessage, startFailureMessage } from './startFailure';
import { ModelStatus, STATUS_NOTIFICATION, ServerState, parseModelStatus, statusView } from './status';

const CLIENT_ID = 'infill';
const CLIENT_NAME = 'Infill';
/** How long a failed start waits for the rest of the server's stderr (a process that exited closes it at once). */
const STDERR_WAIT_MS = 500;
/** How long a server sent `exit` has to end by itself before it is ended (the library's own wait). */
const STOP_WAIT_MS = 2_000;

/**
 * A language client whose start-up errors go to the output channel only: `startClient` shows one
 * message of its own for a failed start, naming the command it ran and the setting that fixes it,
 * instead of the library's "couldn't create connection to server" beside it. So does a failed restart
 * after a crash, and the library giving up on the server.
 */
class InfillClient extends LanguageClient {
  quietErrors = false;
  /** Why initialize failed, when it did. */
  initializeError: unknown;
  /** Whether the server process went away before it had run. */
  exitedWhileStarting = false;
  /** Its process's stderr, whose last line says why it exited. */
  readonly stderr = new StderrTail();
  /**
   * Given up on: its start took too long, or a restart or shutdown came during it. Its end is no crash to
   * restart or report.
   */
  givenUp = false;
  /** Settles when it is given up on, so that whoever waits for its start stops waiting. */
  readonly whenGivenUp: Promise<void>;
  private resolveGivenUp: () => void = () => undefined;
  /** The library is restarting it after a crash. */
  restarting = false;
  /** Why the library no longer restarts it, when it gave up on it. */
  gaveUpReason: string | undefined;
  /** What the library's last start of it failed with. */
  startError: unknown;
  /** Its end was reported: the library starts it no more. */
  reported = false;

  constructor(
    readonly launch: ServerLaunch,
    private readonly spawn: ServerSpawn,
    serverOptions: ServerOptions,
    clientOptions: LanguageClientOptions,
  ) {
    super(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.whenGivenUp = new Promise((resolve) => {
      this.resolveGivenUp = resolve;
    });
  }

  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    // The library logs why a start failed right after it says that it failed.
    if (this.state === State.StartFailed && this.startError === undefined && data !== undefined) {
      this.startError = data;
    }
    super.error(message, data, this.quietErrors ? false : showNotification);
  }

  /**
   * The library makes sure that a server it stopped has ended (2 s later it kills the tree of a process still running)
   * only where the process was not started detached, as it is outside Windows: there its process group is ended here,
   * and waited for, so that the editor shutting down (`deactivate`) does not exit before the signals are sent. A
   * server that did not answer the stop is not given the 2 s to end by itself.
   */
  override async stop(timeout?: number): Promise<void> {
    const stopped = this.state === State.Running && this.spawn.detached ? this.serverProcess : undefined;
    let answered = false;
    try {
      await super.stop(timeout);
      answered = true;
    } finally {
      if (stopped !== undefined) {
        await endServer(stopped, { waitMs: answered ? STOP_WAIT_MS : 0 });
      }
    }
  }

  /** Ends its server process and those it started, whatever the library is waiting for from it. */
  giveUp(): void {
    if (this.givenUp) {
      return;
    }
    this.givenUp = true;
    this.quietErrors = true;
    const process = this.serverProcess;
    if (process !== undefined) {
      void endServer(process);
    }
    this.resolveGivenUp();
  }
}

let client: InfillClient | undefined;
let clientDisposables: vscode.Disposable[] = [];
let output: vscode.LogOutputChannel | undefined;
/** Why the last start failed, while no server runs since. */
let lastFailure: string | undefined;
/** The user's server settings as the running server last got them. */
let lastSent: Partial<ServerSettings> = {};
/**
 * Starting, stopping and restarting run one after another: a restart asked for while a start is in
 * progress waits for it and then stops that server, instead of leaving it running beside a new one.
 */
let lifecycle: Promise<void> = Promise.resolve();
let statusItem: vscode.StatusBarItem | undefined;
/** The running server's model, as its last `infill/didChangeStatus` said. */
let modelStatus: ModelStatus | undefined;
/** Where the pause of automatic suggestions is kept: across sessions, and shared by every window. */
let memento: vscode.Memento | undefined;
const PAUSED_KEY = 'infill.suggestionsPaused';
/** Within `startClient`: the client is created but not started yet, or its start is being judged. */
let startingNow = false;
/** Set by `deactivate`: a start still queued is not made. */
let deactivated = false;

function serialized(operation: () => Promise<void>): Promise<void> {
  const run = lifecycle.then(operation, operation);
  lifecycle = run.catch((err) => output?.error(`Infill: ${String(err)}`));
  return lifecycle;
}

/** Automatic suggestions paused by the user; invoked ones still run. */
function isPaused(): boolean {
  return memento?.get<boolean>(PAUSED_KEY, false) ?? false;
}

function phaseOf(state: State | undefined): ClientPhase | undefined {
  switch (state) {
    case State.Starting:
      return 'starting';
    case State.Running:
      return 'running';
    case State.StartFailed:
      return 'startFailed';
    case State.Stopped:
      return 'stopped';
    default:
      return undefined;
  }
}

function serverState(): ServerState {
  return stateOf(startingNow, phaseOf(client?.state), client?.givenUp ?? false, lastFailure);
}

function refreshStatus(): void {
  if (statusItem === undefined) {
    return;
  }
  const view = statusView(serverState(), modelStatus, isPaused(), lastFailure);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
}

async function togglePaused(): Promise<void> {
  await memento?.update(PAUSED_KEY, !isPaused());
  refreshStatus();
}

/** What clicking the status item offers. */
async function showMenu(): Promise<void> {
  const items: { label: string; run: () => unknown }[] = [
    {
      label: isPaused() ? '$(play) Resume Automatic Suggestions' : '$(debug-pause) Pause Automatic Suggestions',
      run: togglePaused,
    },
    { label: '$(debug-restart) Restart Language Server', run: restartClient },
    { label: '$(output) Show Output', run: () => output?.show(true) },
    { label: '$(gear) Open Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', SECTION) },
  ];
  const title = statusView(serverState(), modelStatus, isPaused(), lastFailure).tooltip.split('\n')[0];
  const chosen = await vscode.window.showQuickPick(items, { title });
  await chosen?.run();
}

/**
 * The `infill` section, with the command, its arguments and the model as the folder the server runs in (the first)
 * sets them: in a multi-root workspace VS Code gives a folder's own values only to a configuration read for it.
 */
function config(): ConfigSource {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folderScoped(
    vscode.workspace.getConfiguration(SECTION),
    folder === undefined ? undefined : vscode.workspace.getConfiguration(SECTION, folder.uri),
  );
}

function middleware(getClient: () => LanguageClient): Middleware {
  return {
    // Paused: nothing is asked while typing, but an explicit request ("Trigger Inline Suggestion") still is.
    provideInlineCompletionItems: (document, position, context, token, next) =>
      isPaused() && context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic
        ? undefined
        : next(document, position, context, token),
    // Server commands run with other arguments than the server's [uri, range, version] (a keybinding,
    // another extension) get the editor's; code actions already pass the server's own.
    executeCommand: async (command, args, next) => {
      const filled = commandArguments(getClient(), command, args);
      return filled === undefined ? undefined : next(command, filled);
    },
    workspace: {
      // The section also holds client-only keys; the server is handed only its own, and only those set.
      configuration: async (params: ConfigurationParams, token, next) => {
        const answers = await next(params, token);
        if (!Array.isArray(answers)) {
          return answers;
        }
        return params.items.map((item, index) =>
          item.section === SECTION ? settingsUpdate(lastSent, config()).settings : answers[index],
        );
      },
    },
  };
}

/**
 * Before the server first runs, its exit is a failed start, which `startClient` reports; restarting it
 * would only fail again. Once it has run, a crash is handled as the library does by default, but told by
 * the extension: the library's popups for a restart that fails, or for giving up, would come beside the
 * extension's one message (`reportEnd`).
 */
function errorHandler(getClient: () => InfillClient, hasRun: () => boolean): ErrorHandler {
  let fallback: ErrorHandler | undefined;
  const usual = () => (fallback ??= getClient().createDefaultErrorHandler());
  return {
    error: async (error, message, count) => {
      const result = await usual().error(error, message, count);
      if (result.action !== ErrorAction.Shutdown) {
        return result;
      }
      const self = getClient();
      self.gaveUpReason = `its connection kept failing: ${error.message}`;
      self.quietErrors = true;
      return { ...result, handled: true };
    },
    closed: async () => {
      const self = getClient();
      if (self.givenUp) {
        return { action: CloseAction.DoNotRestart, handled: true };
      }
      if (!hasRun()) {
        self.exitedWhileStarting = true;
        return { action: CloseAction.DoNotRestart, message: 'The Infill server exited while starting.', handled: true };
      }
      const result = await usual().closed();
      self.quietErrors = true;
      if (result.action === CloseAction.Restart) {
        self.restarting = true;
      } else {
        // It keeps crashing: nothing is suggested until a restart.
        self.gaveUpReason = result.message ?? 'it kept crashing';
      }
      return { ...result, handled: true };
    },
  };
}

type Remedy = 'settings' | 'restart';

/** The one message for a server that does not run, kept for the status and the editor commands. */
function reportFailure(message: string, remedy: Remedy): void {
  lastFailure = message;
  output?.error(message);
  refreshStatus();
  const actions = remedy === 'settings' ? ['Open Settings', 'Show Output'] : ['Restart Server', 'Show Output'];
  void vscode.window.showErrorMessage(message, ...actions).then((choice) => {
    if (choice === 'Open Settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.server`);
    } else if (choice === 'Restart Server') {
      void restartClient();
    } else if (choice === 'Show Output') {
      output?.show(true);
    }
  });
}

function facts(of: InfillClient): ClientFacts {
  const current = of === client;
  return { current, ownStart: startingNow && current, givenUp: of.givenUp, restarting: of.restarting, reported: of.reported };
}

/** A server that ended with no one waiting on it: the library's restart failed, or the library gave up on it. */
async function reportEnd(ended: InfillClient): Promise<void> {
  const said = await ended.stderr.lastLine(STDERR_WAIT_MS);
  // Meanwhile the library may have restarted it, or the user.
  const phase = phaseOf(ended.state);
  if (!isUnplannedEnd(phase, facts(ended))) {
    return;
  }
  ended.reported = true;
  ended.restarting = false;
  const end = { gaveUp: ended.gaveUpReason, error: ended.startError, said };
  const message = endMessage(phase === 'startFailed' ? 'startFailed' : 'stopped', ended.launch, end);
  reportFailure(message, ended.gaveUpReason === undefined ? 'settings' : 'restart');
}

/** The library's restart of a crashed server is given as long as the extension's own starts, and no longer. */
function watchRestart(restarted: InfillClient): void {
  // Asked for within the library's start(), this is that start's own promise.
  void settleWithin(restarted.start(), START_TIMEOUT_MS, restarted.whenGivenUp).then(async (settled) => {
    if (settled.outcome !== 'timedOut' || restarted !== client) {
      return;
    }
    restarted.giveUp();
    const said = await restarted.stderr.lastLine(STDERR_WAIT_MS);
    if (restarted === client) {
      reportFailure(startFailureMessage(restarted.launch, new StartTimedOut(START_TIMEOUT_MS), said), 'settings');
    }
  });
}

function createClient(outputChannel: vscode.LogOutputChannel, launch: ServerLaunch, spawn: ServerSpawn): InfillClient {
  const serverOptions: ServerOptions = {
    command: spawn.command,
    args: spawn.args,
    // Without a transport the library adds no `--stdio`: a batch script's command line holds it already.
    transport: spawn.stdio ? TransportKind.stdio : undefined,
    options: spawnOptions(launch, spawn),
  };
  let hasRun = false;
  const clientOptions: LanguageClientOptions = {
    // Every file goes to the server, which decides by `infill.enabledLanguages` what to complete, so that
    // a change to that setting needs no restart. Notebook cells too: the server takes each notebook whole
    // (notebook sync), so a cell's fills read the cells around it.
    documentSelector: SERVED_SCHEMES.map((scheme) => ({ scheme })),
    // Only the settings the user set: the others are left to the server and its command line. Read at every
    // start, the library's own restarts after a crash included: a fixed object put a restarted server back on
    // the settings it was first started with.
    initializationOptions: () => (lastSent = readServerSettings(config())),
    outputChannel,
    traceOutputChannel: outputChannel,
    // As the library's own (each line to the output), and stderr's last line kept for a failed start's message.
    stdioOptions: {
      stdout: (input, channel) => eachLine(input, (line) => channel.info(line)),
      stderr: (input, channel) => created.stderr.follow(input, (line) => channel.error(line)),
    },
    middleware: middleware(() => created),
    errorHandler: errorHandler(() => created, () => hasRun),
    // A failed initialize is a failed start: `startClient` reports it (the library would add a popup of its own).
    initializationFailedHandler: (error) => {
      created.initializeError = error;
      return false;
    },
  };
  const created = new InfillClient(launch, spawn, serverOptions, clientOptions);
  clientDisposables.push(
    created.onDidChangeState((event) => {
      const current = created === client;
      if (event.newState === State.Running) {
        hasRun = true;
        if (created.restarting) {
          created.restarting = false;
          created.quietErrors = false;
        }
      }
      if (event.newState === State.Starting) {
        created.startError = undefined;
        if (!facts(created).ownStart) {
          watchRestart(created);
        }
      }
      if (event.newState !== State.Running && current) {
        modelStatus = undefined; // a restarted server loads its model again
      }
      if (isUnplannedEnd(phaseOf(event.newState), facts(created))) {
        void reportEnd(created);
      }
      refreshStatus();
    }),
    created.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      modelStatus = parseModelStatus(params) ?? modelStatus;
      refreshStatus();
    }),
  );
  return created;
}

async function startClient(): Promise<void> {
  if (deactivated) {
    return;
  }
  startingNow = true;
  try {
    await launchClient();
  } finally {
    startingNow = false;
    refreshStatus();
  }
}

async function launchClient(): Promise<void> {
  if (output === undefined) {
    return;
  }
  const launch = readServerLaunch(config(), serverFolder(vscode.workspace.workspaceFolders));
  modelStatus = undefined;
  const spawn = serverSpawn(launch);
  const problem = launch.problem ?? spawn.problem;
  if (problem !== undefined) {
    reportFailure(problem, 'settings');
    return;
  }
  const next = createClient(output, launch, spawn);
  client = next;
  lastFailure = undefined;
  refreshStatus();
  next.quietErrors = true;
  const settled = await settleWithin(next.start(), START_TIMEOUT_MS, next.whenGivenUp);
  if (settled.outcome === 'cancelled') {
    return; // a restart or shutdown took over from this start
  }
  if (settled.outcome === 'timedOut') {
    next.giveUp();
  } else {
    next.quietErrors = false;
  }
  // When the server exits during start-up, the library's start() can resolve without the client
  // running (it drops its own rejected start promise), so the state is what tells.
  if (settled.outcome === 'timedOut' || settled.failed || !next.isRunning()) {
    const failure = settled.outcome === 'settled' && settled.failed ? settled.error : undefined;
    const reason =
      settled.outcome === 'timedOut'
        ? new StartTimedOut(START_TIMEOUT_MS)
        : next.exitedWhileStarting
          ? 'the server exited while starting'
          : failure ?? next.initializeError;
    // A server whose initialize failed is still running: the library's stop throws while its start is under way,
    // and nothing else ends it. Its process ending later says nothing more.
    next.giveUp();
    next.reported = true;
    const said = await next.stderr.lastLine(STDERR_WAIT_MS);
    reportFailure(startFailureMessage(launch, reason ?? 'the server did not answer initialize', said), 'settings');
    return;
  }
  lastFailure = undefined;
  if (next.initializeResult?.capabilities.inlineCompletionProvider === undefined) {
    output.warn('The server does not offer inline completions; only code actions are available.');
  }
}

/** A start in progress, the extension's own or the library's restart after a crash, is given up, not waited for. */
function abandonStart(): void {
  if (client?.state === State.Starting) {
    client.giveUp();
  }
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  const disposables = clientDisposables;
  clientDisposables = [];
  if (current !== undefined) {
    // Stopped on purpose: what it was still sending (a restart asked for twice, its first didOpens in flight)
    // fails, and the library would show each failure as an error with a stack trace.
    current.quietErrors = true;
    if (current.state === State.Starting) {
      // Not serving yet, and maybe never going to: the library cannot stop a client that is not running.
      current.giveUp();
    } else if (current.isRunning()) {
      try {
        await current.stop();
      } catch (err) {
        output?.error(`Stopping the Infill server failed: ${String(err)}`);
      }
    }
  }
  disposables.forEach((disposable) => disposable.dispose());
  modelStatus = undefined;
  refreshStatus();
}

/** A restart is queued that has not read the settings yet: a restart asked for meanwhile is that one. */
let restartPending = false;

function restartClient(): Promise<void> {
  if (restartPending) {
    // E.g. trust granted: VS Code reports the folder's server settings as changed too, and the server was started
    // twice, the second time killing the first start or stopping the server it had just started.
    return lifecycle;
  }
  abandonStart();
  restartPending = true;
  return serialized(async () => {
    try {
      await stopClient();
    } finally {
      restartPending = false;
    }
    await startClient();
  });
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!event.affectsConfiguration(SECTION)) {
    return;
  }
  if (needsRestart(event, vscode.workspace.workspaceFolders?.[0]?.uri)) {
    await restartClient();
    return;
  }
  await serialized(async () => {
    const current = client;
    if (current?.state === State.Starting && !current.givenUp) {
      // The library restarting it after a crash (the extension's own starts are waited for already): that start
      // read the settings as it began, and a change since would be lost.
      await settleWithin(current.start(), START_TIMEOUT_MS, current.whenGivenUp);
    }
    if (current === undefined || current !== client || !current.isRunning()) {
      return; // the next start reads the settings anew
    }
    const update = settingsUpdate(lastSent, config());
    if (update.restartFor.length > 0) {
      // Back to the server's own value (e.g. `--device` in infill.server.extraArgs), which only a new process reads.
      output?.info(`${update.restartFor.map((key) => `${SECTION}.${key}`).join(', ')} no longer set: restarting the server.`);
      await stopClient();
      await startClient();
      return;
    }
    lastSent = update.current;
    if (update.changed) {
      await current.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: update.settings } });
    }
  });
}

/**
 * The palette and context-menu commands. They are the extension's own, registered whether the server
 * runs or not (the language client registers the server's commands only once it has started), and run
 * the server's command of the same name on the editor's selection.
 */
async function runEditorCommand(command: ServerCommand, args: unknown[]): Promise<unknown> {
  await lifecycle; // a start in progress first (it gives up after START_TIMEOUT_MS)
  const current = client;
  if (current === undefined || !current.isRunning()) {
    void vscode.window.showErrorMessage(notRunningMessage(command.title, lastFailure), 'Restart Server').then((choice) => {
      if (choice === 'Restart Server') {
        void restartClient();
      }
    });
    return undefined;
  }
  const offered = current.initializeResult?.capabilities.executeCommandProvider?.commands ?? [];
  if (!offered.includes(command.server)) {
    void vscode.window.showErrorMessage(`Infill: this server does not offer ${command.title} (${command.server}).`);
    return undefined;
  }
  const filled = commandArguments(current, command.server, args);
  if (filled === undefined) {
    return undefined;
  }
  try {
    return await current.sendRequest(ExecuteCommandRequest.type, { command: command.server, arguments: filled });
  } catch (err) {
    try {
      // Logs the error and shows it, as for the server's own commands.
      return current.handleFailedRequest(ExecuteCommandRequest.type, undefined, err, undefined);
    } catch {
      return undefined; // shown once already
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  deactivated = false;
  output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  memento = context.globalState;
  statusItem = vscode.window.createStatusBarItem('infill.status', vscode.StatusBarAlignment.Right, 100);
  statusItem.name = CLIENT_NAME;
  statusItem.command = 'infill.showMenu';
  refreshStatus();
  statusItem.show();
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand('infill.restartServer', restartClient),
    vscode.commands.registerCommand('infill.toggleSuggestions', togglePaused),
    vscode.commands.registerCommand('infill.showMenu', showMenu),
    ...SERVER_COMMANDS.map((command) =>
      vscode.commands.registerCommand(command.editor, (...args: unknown[]) => runEditorCommand(command, args)),
    ),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    // Another window may have paused or resumed suggestions meanwhile.
    vscode.window.onDidChangeWindowState(() => refreshStatus()),
    // In Restricted Mode the folder's own server command was ignored; now it applies. (VS Code reports the folder's
    // restricted settings as changed, too: `infill.modelPath` goes to the server from there, without a restart.)
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (workspaceSetsRestricted(config(), LAUNCH_KEYS)) {
        void restartClient();
      }
    }),
  );
  // Not awaited: VS Code waits for activate, and a start can take up to START_TIMEOUT_MS.
  void serialized(startClient);
}

export async function deactivate(): Promise<void> {
  deactivated = true;
  abandonStart();
  await serialized(stopClient);
}
