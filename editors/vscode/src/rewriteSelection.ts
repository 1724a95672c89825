import * as vscode from 'vscode';
import {
  CodeAction,
  CodeActionKind,
  CodeActionParams,
  CodeActionRequest,
  CodeActionResolveRequest,
  CodeActionTriggerKind,
  Command,
  ExecuteCommandRequest,
  LanguageClient,
} from 'vscode-languageclient/node';

/** Server command behind the "Rewrite selection" code action. */
export const SERVER_REWRITE_COMMAND = 'infill.rewriteSelection';

function isRewrite(action: Command | CodeAction): boolean {
  if (Command.is(action)) {
    return action.command === SERVER_REWRITE_COMMAND;
  }
  return action.command?.command === SERVER_REWRITE_COMMAND || action.kind === CodeActionKind.RefactorRewrite;
}

/**
 * Asks the server for its code actions on the selection and runs the rewrite one.
 * Going through code actions keeps the client independent of the command's argument layout.
 */
export async function rewriteSelection(client: LanguageClient): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage('Infill: select the code to rewrite first.');
    return;
  }
  const document = editor.document;
  const versionAtRequest = document.version;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Infill: rewriting selection', cancellable: true },
    async (_progress, token) => {
      const params: CodeActionParams = {
        textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri) },
        range: client.code2ProtocolConverter.asRange(editor.selection),
        context: { diagnostics: [], only: [CodeActionKind.RefactorRewrite], triggerKind: CodeActionTriggerKind.Invoked },
      };
      const actions = (await client.sendRequest(CodeActionRequest.type, params, token)) ?? [];
      if (token.isCancellationRequested) {
        return;
      }
      let action = actions.find(isRewrite);
      if (action === undefined) {
        void vscode.window.showInformationMessage('Infill: no rewrite is offered for this selection.');
        return;
      }
      if (!Command.is(action) && action.edit === undefined && action.command === undefined) {
        action = await client.sendRequest(CodeActionResolveRequest.type, action, token);
      }
      if (token.isCancellationRequested) {
        return;
      }
      if (document.version !== versionAtRequest) {
        // The rewrite was computed for text that has since changed; applying it could clobber the new edits.
        void vscode.window.showWarningMessage('Infill: the document changed while rewriting; try again.');
        return;
      }
      await runAction(client, action, token);
    },
  );
}

async function runAction(client: LanguageClient, action: Command | CodeAction, token: vscode.CancellationToken): Promise<void> {
  const command = Command.is(action) ? action : action.command;
  if (!Command.is(action) && action.edit !== undefined) {
    const edit = await client.protocol2CodeConverter.asWorkspaceEdit(action.edit, token);
    if (!(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage('Infill: the rewrite could not be applied.');
      return;
    }
  }
  if (command !== undefined) {
    // The server answers a command with a workspace/applyEdit request, which the client applies.
    await client.sendRequest(ExecuteCommandRequest.type, { command: command.command, arguments: command.arguments }, token);
  }
}
