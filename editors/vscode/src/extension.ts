import * as vscode from 'vscode';
import {
  ConfigurationParams,
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { commandArguments } from './editorCommands';
import { SECTION, needsRestart, readServerLaunch, readServerSettings } from './settings';

const CLIENT_ID = 'infill';
const CLIENT_NAME = 'Infill';

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

function middleware(getClient: () => LanguageClient): Middleware {
  return {
    // The server reports each action's work as progress, which the client shows in the status bar.
    executeCommand: async (command, args, next) => {
      const filled = commandArguments(getClient(), command, args);
      return filled === undefined ? undefined : next(command, filled);
    },
    workspace: {
      // The section also holds client-only keys; the server is handed only its own.
      configuration: async (params: ConfigurationParams, token, next) => {
        const answers = await next(params, token);
        if (!Array.isArray(answers)) {
          return answers;
        }
        return params.items.map((item, index) =>
          item.section === SECTION ? readServerSettings(vscode.workspace.getConfiguration(SECTION)) : answers[index],
        );
      },
    },
  };
}

function createClient(outputChannel: vscode.LogOutputChannel): LanguageClient {
  const config = vscode.workspace.getConfiguration(SECTION);
  const launch = readServerLaunch(config);
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    // Every file goes to the server, which decides by `infill.enabledLanguages` what to complete.
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: readServerSettings(config),
    outputChannel,
    traceOutputChannel: outputChannel,
    middleware: middleware(() => created),
  };
  const created = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  return created;
}

async function startClient(): Promise<void> {
  if (output === undefined) {
    return;
  }
  const next = createClient(output);
  client = next;
  try {
    await next.start();
  } catch (err) {
    const launch = readServerLaunch(vscode.workspace.getConfiguration(SECTION));
    void vscode.window.showErrorMessage(
      `Infill: could not start "${launch.command} --stdio" (${String(err)}); set infill.server.command to the server executable.`,
    );
    return;
  }
  if (next.initializeResult?.capabilities.inlineCompletionProvider === undefined) {
    output.warn('The server does not offer inline completions; only code actions are available.');
  }
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  if (current !== undefined && current.isRunning()) {
    await current.stop();
  }
}

async function restartClient(): Promise<void> {
  await stopClient();
  await startClient();
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  if (!event.affectsConfiguration(SECTION)) {
    return;
  }
  if (needsRestart(event)) {
    await restartClient();
    return;
  }
  if (client?.isRunning()) {
    const settings = readServerSettings(vscode.workspace.getConfiguration(SECTION));
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: settings } });
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  // The selection commands themselves are registered by the language client from the server's
  // executeCommand capability; the middleware above supplies their arguments.
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('infill.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
  );
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
