import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  DocumentSelector,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { rewriteSelection } from './rewriteSelection';
import { SECTION, needsRestart, readServerLaunch, readServerSettings } from './settings';

const CLIENT_ID = 'infill';
const CLIENT_NAME = 'Infill';

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel | undefined;

function documentSelector(languages: string[]): DocumentSelector {
  return languages.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}

function createClient(outputChannel: vscode.LogOutputChannel): LanguageClient {
  const config = vscode.workspace.getConfiguration(SECTION);
  const launch = readServerLaunch(config);
  const settings = readServerSettings(config);
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(settings.enabledLanguages),
    initializationOptions: settings,
    outputChannel,
    traceOutputChannel: outputChannel,
  };
  return new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
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
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand('infill.rewriteSelection', async () => {
      if (client === undefined || !client.isRunning()) {
        void vscode.window.showWarningMessage('Infill: the language server is not running.');
        return;
      }
      await rewriteSelection(client);
    }),
    vscode.commands.registerCommand('infill.restartServer', restartClient),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
  );
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
