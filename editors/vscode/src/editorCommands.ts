import * as vscode from 'vscode';
import { LanguageClient } from 'vscode-languageclient/node';
import { EditorTarget, resolveCommandArguments } from './commandArgs';

/**
 * The editor a command acts on: the one showing the document a menu passed (the editor context menu
 * passes its document's Uri), else the active editor.
 */
function targetEditor(args: readonly unknown[]): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  const uri = args[0];
  if (uri instanceof vscode.Uri) {
    const wanted = uri.toString();
    if (active?.document.uri.toString() === wanted) {
      return active;
    }
    return vscode.window.visibleTextEditors.find((editor) => editor.document.uri.toString() === wanted);
  }
  return active;
}

function editorTarget(client: LanguageClient, editor: vscode.TextEditor | undefined): EditorTarget | undefined {
  if (editor === undefined) {
    return undefined;
  }
  return {
    uri: client.code2ProtocolConverter.asUri(editor.document.uri),
    range: client.code2ProtocolConverter.asRange(editor.selection),
    version: editor.document.version,
    selectionEmpty: editor.selection.isEmpty,
  };
}

/**
 * Arguments for `command` in the server's `[uri, range, version]` form, or undefined (after telling the
 * user why) when there is nothing to run it on. Arguments already in that form are kept; anything else
 * (nothing from the palette, a `vscode.Uri` from the context menu) is replaced by the editor's document,
 * selection and version. Other commands keep their arguments.
 */
export function commandArguments(client: LanguageClient, command: string, args: unknown[]): unknown[] | undefined {
  const resolved = resolveCommandArguments(command, args, editorTarget(client, targetEditor(args)));
  if ('message' in resolved) {
    void vscode.window.showInformationMessage(resolved.message);
    return undefined;
  }
  return resolved.args;
}
