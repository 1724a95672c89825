import * as vscode from 'vscode';
import {
  CloseAction,
  ConfigurationParams,
  DidChangeConfigurationNotification,
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
import {
  SECTION,
  SERVED_SCHEMES,
  ServerLaunch,
  ServerSettings,
  needsRestart,
  readServerLaunch,
  readServerSettings,
  settingsUpdate,
} from './settings';
import { StderrTail, eachLine, notRunningMessage, startFailureMessage, stoppedMessage } from './startFailure';
import { ModelStatus, STATUS_NOTIFICATION, ServerState, parseModelStatus, statusView } from './status';

const CLIENT_ID = 'infill';
const CLIENT_NAME = 'Infill';
/** How long a failed start waits for the rest of the server's stderr (a process that exited closes it at once). */
const STDERR_WAIT_MS = 500;

/**
 * A language client whose start-up errors go to the output channel only: `startClient` shows one
 * message of its own for a failed start, naming the command it ran and the setting that fixes it,
 * instead of the library's "couldn't create connection to server" beside it.
 */
class InfillClient extends LanguageClient {
  quietErrors = false;
  /** Why initialize failed, when it did. */
  initializeError: unknown;
  /** Whether the server process went away before it had run. */
  exitedWhileStarting = false;
  /** Its process's stderr, whose last line says why it exited. */
  readonly stderr = new StderrTail();

  override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
    super.error(message, data, this.quietErrors ? false : showNotification);
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

function serialized(operation: () => Promise<void>): Promise<void> {
  const run = lifecycle.then(operation, operation);
  lifecycle = run.catch((err) => output?.error(`Infill: ${String(err)}`));
  return lifecycle;
}

/** Automatic suggestions paused by the user; invoked ones still run. */
function isPaused(): boolean {
  return memento?.get<boolean>(PAUSED_KEY, false) ?? false;
}

function serverState(): ServerState {
  if (startingNow || client?.state === State.Starting) {
    return 'starting';
  }
  if (client?.isRunning()) {
    return 'running';
  }
  return lastFailure !== undefined ? 'failed' : 'stopped';
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

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
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
 * would only fail again. Once it has run, a crash is handled as the library does by default.
 */
function errorHandler(getClient: () => InfillClient, hasRun: () => boolean): ErrorHandler {
  let fallback: ErrorHandler | undefined;
  const usual = () => (fallback ??= getClient().createDefaultErrorHandler());
  return {
    error: (error, message, count) => usual().error(error, message, count),
    closed: async () => {
      if (hasRun()) {
        const result = await usual().closed();
        if (result.action === CloseAction.DoNotRestart && getClient() === client) {
          // The library gave up on a server that keeps crashing: nothing is suggested until a restart. Its last
          // line on stderr (a traceback's exception) says why.
          lastFailure = stoppedMessage(result.message, await getClient().stderr.lastLine(500));
          refreshStatus();
        }
        return result;
      }
      getClient().exitedWhileStarting = true;
      return { action: CloseAction.DoNotRestart, message: 'The Infill server exited while starting.', handled: true };
    },
  };
}

function createClient(outputChannel: vscode.LogOutputChannel, launch: ServerLaunch): InfillClient {
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
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
  const created = new InfillClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  clientDisposables.push(
    created.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        hasRun = true;
      }
      if (event.newState !== State.Running) {
        modelStatus = undefined; // a restarted server loads its model again
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
  const launch = readServerLaunch(config());
  const next = createClient(output, launch);
  client = next;
  modelStatus = undefined;
  lastFailure = undefined;
  refreshStatus();
  next.quietErrors = true;
  let failure: unknown;
  try {
    await next.start();
  } catch (err) {
    failure = err;
  } finally {
    next.quietErrors = false;
  }
  // When the server exits during start-up, the library's start() can resolve without the client
  // running (it drops its own rejected start promise), so the state is what tells.
  if (failure !== undefined || !next.isRunning()) {
    const reason = next.exitedWhileStarting ? 'the server exited while starting' : failure ?? next.initializeError;
    const said = await next.stderr.lastLine(STDERR_WAIT_MS);
    lastFailure = startFailureMessage(launch, reason ?? 'the server did not answer initialize', said);
    output.error(lastFailure);
    void vscode.window.showErrorMessage(lastFailure, 'Open Settings', 'Show Output').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.server`);
      } else if (choice === 'Show Output') {
        output?.show(true);
      }
    });
    return;
  }
  lastFailure = undefined;
  if (next.initializeResult?.capabilities.inlineCompletionProvider === undefined) {
    output.warn('The server does not offer inline completions; only code actions are available.');
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
      // The library is restarting a crashed server: let that finish, then stop it.
      try {
        await current.start();
      } catch {
        // Reported by the library; what matters here is whether it runs now.
      }
    }
    if (current.isRunning()) {
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

function restartClient(): Promise<void> {
  return serialized(async () => {
    await stopClient();
    await startClient();
  });
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!event.affectsConfiguration(SECTION)) {
    return;
  }
  if (needsRestart(event)) {
    await restartClient();
    return;
  }
  await serialized(async () => {
    const current = client;
    if (current === undefined || !current.isRunning()) {
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
  await lifecycle; // a start in progress first
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
  );
  await serialized(startClient);
}

export async function deactivate(): Promise<void> {
  await serialized(stopClient);
}
