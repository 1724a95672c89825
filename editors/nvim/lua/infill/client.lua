-- The one infill-ls process this editor talks to: starting it, attaching buffers, settings.
local compat = require('infill.compat')
local config = require('infill.config')

local M = {}

local NAME = 'infill'
local SECTION = 'infill'

local state = {
  opts = nil,
  client_id = nil,
  -- Set once the server could not start (nor answer `initialize`): no more tries, and so no
  -- message per buffer, until configure() or stop() (:InfillRestart).
  start_failed = false,
  -- Why it could not start, as reported (nil while it has not failed).
  start_failure = nil,
  -- How the last server stopped on its own ({ code, signal }), until the next one starts.
  exit = nil,
  -- The workspace folders the running server was told of (paths): the working directory it started in, and the
  -- project of each buffer attached outside those (`add_folder`).
  folders = {},
  -- Those added while it started, to be told once it has answered `initialize`.
  pending_folders = {},
  -- Told of each new client (its id), of its answer to `initialize`, and of the client's exit.
  on_start = function() end,
  on_ready = function() end,
  on_exit = function() end,
  -- Told of each of the server's code actions picked from Neovim's menu (the command, its context), to run it.
  on_action = function() end,
  -- The server's model, as its last infill/didChangeStatus said: { kind = 'loading' | 'ready' | 'warning' |
  -- 'error', message = one line }; nil while no server runs. 'warning': a model that could not load, the one loaded
  -- before kept and serving; or the model loaded failing as it fills.
  status = nil,
}

local STATUS = 'infill/didChangeStatus'

--- Tells the statusline that status() may say something else now. Neovim draws a statusline again only on a key
--- or a redraw, so one built on status() went on saying "starting" long after the model had loaded, and "ready"
--- after the server had gone. `User InfillStatus` is for statusline plugins that draw only on an event.
--- Scheduled: it may be called in a luv callback, where neither may run.
function M.status_changed()
  vim.schedule(function()
    vim.cmd('redrawstatus!')
    vim.api.nvim_exec_autocmds('User', { pattern = 'InfillStatus', modeline = false })
  end)
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  -- Without this the server offers its fills as ordinary completion items instead.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  -- Edits with the version they were made for, refused where the buffer changed since (`stale_edit`). Without
  -- a version, an action's edit that arrives after typing the server has not been sent yet (changes go out
  -- debounced) lands at the old positions, over other text.
  caps.workspace = caps.workspace or {}
  caps.workspace.workspaceEdit = caps.workspace.workspaceEdit or {}
  caps.workspace.workspaceEdit.documentChanges = true
  -- The server's actions come with their command, not an edit to resolve: Neovim's code action menu applied a
  -- resolved edit itself, after the model had run, where it could only fail (a 'nomodifiable' buffer, with a Lua
  -- error); a command goes through `commands` below, which can refuse it first.
  local resolve = caps.textDocument.codeAction and caps.textDocument.codeAction.resolveSupport
  if resolve ~= nil then
    resolve.properties = vim.tbl_filter(function(property)
      return property ~= 'edit'
    end, resolve.properties or {})
  end
  return caps
end

--- The commands of the server's code actions, by the names of require('infill').run_action.
M.ACTIONS = {
  rewrite = 'infill.rewriteSelection',
  fill = 'infill.fillPlaceholders',
  close = 'infill.closeStructure',
}

-- Neovim runs a code action's command through the client's own function of that name where there is one, rather
-- than sending it: each of the server's actions goes to the on_action hook.
local function action_commands()
  local commands = {}
  for _, name in pairs(M.ACTIONS) do
    commands[name] = function(command, ctx)
      state.on_action(command, ctx)
    end
  end
  return commands
end

-- JSON object for a possibly empty Lua table (an empty table would be sent as a list).
local function as_object(tbl)
  if next(tbl) == nil then
    return vim.empty_dict()
  end
  return tbl
end

-- Whether Neovim itself says that a client quit ("Client infill quit with exit code ..."), as every version
-- from 0.7 on does for these: a message of the plugin's would only repeat it.
local function neovim_reports(code, signal)
  return code ~= 0 or (signal ~= 0 and signal ~= 15)
end

-- `reported`: Neovim said so already; :InfillStatus and :checkhealth infill still tell what to do. `advice`: what
-- to do, where it is not to fix cmd or settings.
local function report_start_failure(err, reported, advice)
  if state.start_failed then
    return
  end
  state.start_failed = true
  state.start_failure = err
  M.status_changed()
  if reported then
    return
  end
  local msg = string.format('infill: could not start %s (%s); %s', state.opts.cmd[1], err,
    advice or 'fix cmd or settings in require("infill").setup{}, then :InfillRestart')
  vim.schedule(function()
    vim.notify(msg, vim.log.levels.ERROR)
  end)
end

-- The languageId of a buffer of `filetype`: of a compound one ('python.django'), its first part among
-- `filetypes` (any part for '*'), which the server knows by that name (its grammars, enabledLanguages).
local function language_id(filetype, filetypes)
  local any = vim.tbl_contains(filetypes, '*')
  for _, part in ipairs(vim.split(filetype, '.', { plain = true })) do
    if any or vim.tbl_contains(filetypes, part) then
      return part
    end
  end
  return filetype
end

-- The one loaded buffer whose URI is `uri`, or nil: none, or several (unnamed buffers all read as `file://`).
-- vim.uri_to_bufnr would make a new, empty buffer for a URI that no buffer has.
local function buffer_of(uri)
  local found = nil
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.uri_from_bufnr(bufnr) == uri then
      if found ~= nil then
        return nil
      end
      found = bufnr
    end
  end
  return found
end

-- Why `edit` (a WorkspaceEdit) may not be applied, or nil: a document edit made for another version of its
-- buffer than the one it holds now. Neovim checks versions itself, but not version 0, which its buffers
-- keep until their first change; the user may have typed in between.
local function stale_edit(edit)
  for _, change in ipairs(type(edit) == 'table' and edit.documentChanges or {}) do
    local doc = change.textDocument
    local version = doc and doc.version
    local bufnr = type(version) == 'number' and buffer_of(doc.uri) or nil
    local current = bufnr and vim.lsp.util.buf_versions[bufnr]
    if current ~= nil and current ~= version then
      return 'the buffer changed while it ran; nothing was applied'
    end
  end
  return nil
end

local UNESCAPED = { a = '\a', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t', v = '\v' }

-- The string that vim.inspect wrote as the literal `quoted`, or nil.
local function uninspect(quoted)
  local body = quoted:match('^"(.*)"$') or quoted:match("^'(.*)'$")
  return body and (body:gsub('\\(%d?%d?%d?)(.?)', function(code, char)
    if code ~= '' then
      return string.char(tonumber(code)) .. char
    end
    return UNESCAPED[char] or char
  end))
end

-- The size of the file at `path` (0 where there is none).
local function file_size(path)
  local stat = (vim.uv or vim.loop).fs_stat(path)
  return stat and stat.size or 0
end

-- The last line that `exe` wrote to its stderr in Neovim's LSP log `log` after byte `from`, or nil. Neovim keeps
-- a server's stderr nowhere else: it logs each chunk read as an error ("rpc", the command, "stderr", the chunk,
-- each as vim.inspect writes it), at the default log level and above. Plain I/O: it may run in a luv callback.
local function last_stderr_line(log, from, exe)
  local f = io.open(log, 'rb')
  if f == nil then
    return nil
  end
  local size = f:seek('end')
  -- The log may have been emptied since; a chatty one is read only as far back as a short error needs.
  f:seek('set', size < from and 0 or math.max(from, size - 65536))
  local chunks = {}
  for line in f:lines() do
    local cmd, chunk = line:match('\t"rpc"\t([^\t]*)\t"stderr"\t([^\t\r]*)')
    if cmd ~= nil and uninspect(cmd) == exe then
      table.insert(chunks, uninspect(chunk))
    end
  end
  f:close()
  local last = nil
  for text in table.concat(chunks):gmatch('[^\r\n]+') do
    if text:match('%S') then
      last = text
    end
  end
  -- Colours and tabs would show as ^[[31m and ^I in a message.
  return last and vim.trim((last:gsub('\27%[[%d;]*m', ''):gsub('%c', ' ')))
end

-- Files a project holds at its top: the folder of a buffer outside every workspace folder is the nearest above it
-- that holds one, else its own directory. The server searches only a document's own workspace folder for the files
-- beside it, and a file opened outside the directory Neovim started in had none.
local ROOT_MARKERS = { '.git', 'pyproject.toml', 'setup.py', 'setup.cfg', 'package.json', 'tsconfig.json', 'go.mod',
  'Cargo.toml', 'pom.xml', 'build.gradle', 'CMakeLists.txt', 'Makefile' }

local function project_of(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  local at = dir
  while true do
    for _, marker in ipairs(ROOT_MARKERS) do
      if (vim.uv or vim.loop).fs_stat(at .. '/' .. marker) ~= nil then
        return at
      end
    end
    local parent = vim.fn.fnamemodify(at, ':h')
    if parent == at then
      return dir
    end
    at = parent
  end
end

local function holds(folder, path)
  -- Windows' separators as '/', in both.
  folder, path = folder:gsub('\\', '/'), path:gsub('\\', '/')
  local prefix = folder:sub(-1) == '/' and folder or folder .. '/'
  return path == folder or path:sub(1, #prefix) == prefix
end

local function as_folder(path)
  return { uri = vim.uri_from_fname(path), name = path }
end

local function tell_folders(c, paths)
  local added = {}
  for _, path in ipairs(paths) do
    table.insert(added, as_folder(path))
    if type(c.workspace_folders) == 'table' then
      table.insert(c.workspace_folders, as_folder(path))
    end
  end
  compat.notify(c, 'workspace/didChangeWorkspaceFolders', { event = { added = added, removed = {} } })
end

-- Adds the project of `bufnr`'s file to the running server's workspace folders where none holds it.
local function add_folder(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return
  end
  local path = vim.fn.fnamemodify(name, ':p')
  for _, folder in ipairs(state.folders) do
    if holds(folder, path) then
      return
    end
  end
  local root = project_of(path)
  table.insert(state.folders, root)
  local c = M.get()
  if c ~= nil and c.initialized then
    tell_folders(c, { root })
  else
    table.insert(state.pending_folders, root)
  end
end

local function lsp_config(opts)
  local initialized = false
  local log = vim.lsp.get_log_path()
  -- Where this server's lines in the log start.
  local log_from = file_size(log)
  return {
    name = NAME,
    cmd = opts.cmd,
    root_dir = state.folders[1],
    workspace_folders = { as_folder(state.folders[1]) },
    init_options = as_object(compat.deepcopy(opts.settings)),
    -- Answers workspace/configuration requests for the `infill` section.
    settings = { [SECTION] = as_object(compat.deepcopy(opts.settings)) },
    capabilities = capabilities(),
    commands = action_commands(),
    get_language_id = function(_, filetype)
      return language_id(filetype, opts.filetypes)
    end,
    handlers = {
      ['workspace/applyEdit'] = function(err, params, ctx, config)
        local why = stale_edit(params and params.edit)
        if why ~= nil then
          return { applied = false, failureReason = why } -- the server tells the user
        end
        return vim.lsp.handlers['workspace/applyEdit'](err, params, ctx, config)
      end,
      [STATUS] = function(_, params, ctx)
        if ctx.client_id == state.client_id and type(params) == 'table' then
          state.status = params
          M.status_changed()
        end
      end,
    },
    on_init = function(c)
      initialized = true
      if #state.pending_folders > 0 then
        local pending = state.pending_folders
        state.pending_folders = {}
        tell_folders(c, pending)
      end
      -- Scheduled: the buffers attached while it started are opened on the server after this.
      vim.schedule(function()
        if c.id == state.client_id then
          state.on_ready()
        end
      end)
    end,
    -- May run in a luv callback: only state here, the rest once scheduled.
    on_exit = function(code, signal, id)
      if id ~= state.client_id then
        return -- a client stopped by stop(), or already replaced
      end
      state.client_id = nil
      state.status = nil
      signal = signal or 0
      local reported = neovim_reports(code, signal)
      local msg = nil
      if not initialized then
        -- Starting it again for the next buffer would only fail the same way. Neovim's message points to the
        -- log alone; the server's own reason is its last line there.
        local why = last_stderr_line(log, log_from, opts.cmd[1])
        if why ~= nil then
          report_start_failure(string.format('it exited with code %d: %s', code, why))
        else
          report_start_failure(string.format('it exited with code %d before answering; see %s', code, log), reported)
        end
      else -- stop() asked for none of these: an exit with code 0 is as unlooked-for as a crash
        state.exit = { code = code, signal = signal }
        if not reported then -- a SIGTERM or an exit with code 0, of which Neovim says nothing
          msg = string.format('infill: %s stopped (exit code %d, signal %d); :InfillRestart starts it again',
            opts.cmd[1], code, signal)
        end
      end
      vim.schedule(function()
        -- Neovim 0.7 stops its servers itself as it quits: an exit no stop() of ours asked for, and no news.
        if msg ~= nil and vim.v.exiting == vim.NIL then
          vim.notify(msg, vim.log.levels.WARN)
        end
        state.on_exit()
        M.status_changed()
      end)
    end,
  }
end

-- Sends the current settings to the running server `client`, which had `before`. A setting they held that the
-- current ones lack is sent with the server's default (left out, the server would keep what it was last sent);
-- where that is a command-line setting nothing is sent, and false returned: the server is to be restarted.
local function send_settings(client, before)
  local sent = compat.deepcopy(state.opts.settings)
  for key in pairs(before) do
    local default = config.server_defaults[key] -- nil for a key that is not the server's, which it ignored
    if sent[key] == nil and default ~= nil then
      if config.command_line_settings[key] then
        return false
      end
      sent[key] = compat.deepcopy(default)
    end
  end
  client.config.settings = { [SECTION] = as_object(compat.deepcopy(state.opts.settings)) }
  compat.notify(client, 'workspace/didChangeConfiguration', { settings = { [SECTION] = as_object(sent) } })
  return true
end

--- `hooks`: on_start(client_id) after a new server starts, on_ready() once it has answered `initialize` (and the
--- buffers attached before are open on it), on_exit() after it exits, on_action(command, ctx) for one of the
--- server's code actions picked from Neovim's menu (`vim.lsp.buf.code_action()`). Called again, a server
--- already running gets the new settings, or is stopped for the next attach() to start the new `cmd` (or to take
--- a command-line setting that was taken out from its command line again).
function M.configure(opts, hooks)
  local old = state.opts
  state.opts = opts
  state.start_failed = false
  state.start_failure = nil
  state.on_start = hooks and hooks.on_start or function() end
  state.on_ready = hooks and hooks.on_ready or function() end
  state.on_exit = hooks and hooks.on_exit or function() end
  state.on_action = hooks and hooks.on_action or function() end
  local client = M.get()
  if client == nil then
    return
  end
  if not vim.deep_equal(old.cmd, opts.cmd) then
    M.stop()
  elseif not vim.deep_equal(old.settings, opts.settings) and not send_settings(client, old.settings) then
    M.stop() -- a command-line setting taken out: the next server goes back to its command line's value
  end
end

function M.get()
  if state.client_id == nil then
    return nil
  end
  local client = vim.lsp.get_client_by_id(state.client_id)
  if client == nil or compat.is_stopped(client) then
    return nil
  end
  return client
end

--- Why the executable `exe` could not be run (one line): its path, and the interpreter its `#!` line names
--- where that is gone (an infill-ls left in a virtualenv whose Python was removed).
function M.cannot_run(exe)
  local path = vim.fn.exepath(exe)
  path = path ~= '' and path or exe
  local why = path .. ' could not be run'
  local f = io.open(path, 'rb')
  local first = f and f:read('*l')
  if f then
    f:close()
  end
  local interpreter = first and first:match('^#!%s*(%S+)')
  if interpreter and vim.fn.executable(interpreter) == 0 then
    why = why .. string.format(': its #! interpreter %s is not there', interpreter)
  end
  return why
end

--- Why `exe`, which vim.fn.executable() refuses, cannot be run (a few words): a bare command is looked for on PATH.
function M.not_executable(exe)
  if not exe:find('[/\\]') then
    return 'not found on PATH'
  end
  if (vim.uv or vim.loop).fs_stat(exe) == nil then
    return 'no such file'
  end
  return 'not executable'
end

local function start()
  state.folders, state.pending_folders = { vim.fn.getcwd() }, {}
  state.started_at = (vim.uv or vim.loop).now()
  local config = lsp_config(state.opts)
  state.pid = nil
  if vim.fn.has('nvim-0.11') == 1 then
    -- Neovim 0.11's client no longer gives the server's pid (client.rpc.pid), which :checkhealth infill shows: it is
    -- the child process that starting the server added (it is spawned before vim.lsp.start returns).
    local before = {}
    for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
      before[pid] = true
    end
    -- vim.lsp.start would reuse a client only with the same root, so one per :cd; never let it
    -- reuse (a stopping client included): this module keeps the one client itself.
    local ok, id = pcall(vim.lsp.start, config, { attach = false, reuse_client = function()
      return false
    end })
    local added = {}
    for _, pid in ipairs(ok and id and vim.api.nvim_get_proc_children(vim.fn.getpid()) or {}) do
      if not before[pid] then
        table.insert(added, pid)
      end
    end
    state.pid = #added == 1 and added[1] or nil
    return ok, id
  end
  return pcall(vim.lsp.start_client, config)
end

--- Starts the server if needed and attaches `bufnr` to it. Returns the client id or nil.
function M.attach(bufnr)
  if state.opts == nil or state.start_failed then
    return nil
  end
  local fresh = false
  if M.get() == nil then
    local exe = state.opts.cmd[1]
    if vim.fn.executable(exe) == 0 then
      report_start_failure(M.not_executable(exe), false, 'install the server (pip install . in the infill-ls '
        .. 'repository) or give its full path as cmd in require("infill").setup{}, then :InfillRestart; '
        .. ':checkhealth infill tells more')
      return nil
    end
    local ok, id = start()
    if not ok then
      report_start_failure(tostring(id))
      return nil
    elseif id == nil then
      -- Neovim could not spawn it, and said so (that it is "not installed, missing from PATH, or not executable").
      report_start_failure(M.cannot_run(state.opts.cmd[1]), true)
      return nil
    end
    state.client_id, fresh = id, true
    state.exit = nil
    M.status_changed()
  end
  vim.lsp.buf_attach_client(bufnr, state.client_id)
  add_folder(bufnr)
  if fresh then
    state.on_start(state.client_id)
  end
  return state.client_id
end

--- Milliseconds since the running server was started, or nil where none runs.
function M.running_ms()
  if M.get() == nil or state.started_at == nil then
    return nil
  end
  return (vim.uv or vim.loop).now() - state.started_at
end

--- The running server's model status ({ kind, message }), or nil.
function M.status()
  if M.get() == nil then
    return nil
  end
  return state.status
end

--- The running server's process id, or nil where it is not known.
function M.pid()
  local c = M.get()
  if c == nil then
    return nil
  end
  return c.rpc and c.rpc.pid or state.pid
end

--- Why the server could not start (one line), or nil while it has not failed since the last
--- configure() or stop().
function M.start_failure()
  return state.start_failure
end

--- Why no server runs after one stopped on its own (one line: it could not start, or its exit code and
--- signal), or nil.
function M.stopped()
  if state.start_failure ~= nil then
    return string.format('could not start %s (%s)', state.opts.cmd[1], state.start_failure)
  end
  if state.exit ~= nil and M.get() == nil then
    return string.format('%s stopped (exit code %d, signal %d)', state.opts.cmd[1], state.exit.code,
      state.exit.signal)
  end
  return nil
end

--- The options given to configure(), or nil before it.
function M.options()
  return state.opts
end

--- Merges `settings` into the current ones (vim.NIL for one takes it out) and sends them to the running server.
--- False where that server is to be restarted for them instead (a command-line setting taken out).
function M.update_settings(settings)
  local before = state.opts.settings
  state.opts.settings = config.without_nil(vim.tbl_deep_extend('force', before, settings))
  local client = M.get()
  return client == nil or send_settings(client, before)
end

--- Stops the server; the next attach() starts a new one, even after a failed start.
function M.stop()
  local client = M.get()
  state.client_id = nil
  state.status = nil
  state.start_failed = false
  state.start_failure = nil
  state.exit = nil
  if client ~= nil then
    vim.lsp.stop_client(client.id)
  end
  M.status_changed()
end

return M
