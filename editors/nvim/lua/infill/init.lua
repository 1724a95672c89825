-- infill: inline completions and code actions from the infill-ls language server.
--
--   require('infill').setup({
--     cmd = { 'infill-ls', '--stdio' },
--     settings = { modelPath = '/path/to/checkpoint', device = 'auto' },
--   })
local client = require('infill.client')
local compat = require('infill.compat')
local config = require('infill.config')
local inline = require('infill.inline')

local M = {}

local opts = nil
local group = nil
local attached = {}
-- Whether suggestions are asked for while typing: opts.auto_trigger until toggled.
local typing = false
-- Whether the trigger key has said that the server stopped, since the server last started or stopped.
local told_stopped = false

local NOT_SET_UP = "call require('infill').setup() first"
-- Runs one of the server's actions picked from Neovim's code action menu; with the plugin's own commands below.
local run_offered

-- Whether setup() has been called; if not, says so in one line (an error raised from a command or a mapping comes
-- with a stack trace).
local function set_up()
  if opts == nil then
    vim.notify('infill: ' .. NOT_SET_UP, vim.log.levels.WARN)
    return false
  end
  return true
end

local function builtin()
  -- Neovim's own inline completion always asks while typing, so with auto_trigger off the
  -- plugin keeps the drawing to itself.
  return opts ~= nil
    and opts.use_builtin_inline_completion
    and opts.auto_trigger
    and vim.fn.has('nvim-0.12') == 1
    and vim.lsp.inline_completion ~= nil
end

local function filetype_enabled(bufnr)
  if vim.bo[bufnr].buftype ~= '' then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  -- A compound filetype ('python.django') is each of its parts.
  local parts = vim.split(ft, '.', { plain = true })
  for _, enabled in ipairs(opts.filetypes) do
    if enabled == '*' and ft ~= '' or vim.tbl_contains(parts, enabled) then
      return true
    end
  end
  return false
end

-- Why `bufnr` is not sent to the server (one line), or nil when it is; and what to do, where the user can.
local function not_served(bufnr)
  if vim.bo[bufnr].buftype ~= '' then
    return string.format("it holds no file (buftype '%s')", vim.bo[bufnr].buftype)
  end
  if not filetype_enabled(bufnr) then
    return string.format("its filetype '%s' is not in setup{filetypes}", vim.bo[bufnr].filetype)
  end
  if vim.api.nvim_buf_get_name(bufnr) == '' then
    -- Its URI would be `file://`, every unnamed buffer's: the server would hold them all as one document.
    return 'it has no file name', 'write it to a file (:write NAME) or name it (:file NAME): it attaches then'
  end
  return nil
end

local function termcodes(keys)
  return vim.api.nvim_replace_termcodes(keys, true, true, true)
end

-- Per buffer and key: the buffer's own mapping that this plugin's replaced, or false.
local user_maps = {}

-- The insert-mode mapping of `key` among `maps` (from nvim_get_keymap or nvim_buf_get_keymap;
-- unlike maparg() they give Lua callbacks as functions), not counting this plugin's own.
local function find_map(maps, key)
  local raw = termcodes(key)
  for _, m in ipairs(maps) do
    if termcodes(m.lhs) == raw and (m.desc or ''):sub(1, 8) ~= 'infill: ' then
      return m
    end
  end
end

-- Feeds `keys` before anything typed ahead. Remapped keys that start with the mapped key would
-- run this mapping again; as Vim does, that first key is not remapped.
local function feed(keys, remap, lhs)
  local head = ''
  if remap and keys:sub(1, #lhs) == lhs then
    head, keys = lhs, keys:sub(#lhs + 1)
  end
  -- Each feed goes in front of the last, so the tail goes first.
  vim.api.nvim_feedkeys(keys, remap and 'mi' or 'ni', false)
  vim.api.nvim_feedkeys(head, 'ni', false)
end

-- Does what `key` would do without this plugin's mapping: the buffer's own mapping that it
-- replaced, else a global one (looked up now, so one made after setup counts, e.g. by a
-- completion plugin), else the key itself.
local function fall_through(bufnr, key)
  local lhs = termcodes(key)
  local m = user_maps[bufnr][key] or find_map(vim.api.nvim_get_keymap('i'), key)
  if not m then
    return feed(lhs, false, lhs)
  end
  local keys
  if m.callback then
    keys = m.callback()
    if m.expr ~= 1 or type(keys) ~= 'string' then
      return
    end
    if m.replace_keycodes == 1 then
      keys = termcodes(keys)
    end
  else
    keys = m.expr == 1 and vim.fn.eval(m.rhs) or termcodes(m.rhs)
  end
  feed(keys, m.noremap ~= 1, lhs)
end

local function map(bufnr, name, action)
  local key = opts.keymaps[name]
  if not key then
    return
  end
  user_maps[bufnr] = user_maps[bufnr] or {}
  if user_maps[bufnr][key] == nil then
    -- Once until unmap(): a buffer attached again (`:e!`) has only this plugin's own mapping there.
    user_maps[bufnr][key] = find_map(vim.api.nvim_buf_get_keymap(bufnr, 'i'), key) or false
  end
  vim.keymap.set('i', key, function()
    if not action(bufnr) then
      fall_through(bufnr, key)
    end
  end, { buffer = bufnr, silent = true, desc = 'infill: ' .. name })
end

-- Removes this plugin's mappings from `bufnr` and puts back the buffer's own that they replaced, so that
-- setup() again maps only its keys.
local function unmap(bufnr)
  local replaced = user_maps[bufnr] or {}
  user_maps[bufnr] = nil
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  for _, m in ipairs(vim.api.nvim_buf_get_keymap(bufnr, 'i')) do
    if (m.desc or ''):sub(1, 8) == 'infill: ' then
      vim.api.nvim_buf_del_keymap(bufnr, 'i', m.lhs)
    end
  end
  for _, m in pairs(replaced) do
    if m then
      vim.api.nvim_buf_set_keymap(bufnr, 'i', m.lhs, m.rhs or '', {
        noremap = m.noremap == 1, silent = m.silent == 1, expr = m.expr == 1, nowait = m.nowait == 1,
        script = m.script == 1, desc = m.desc, callback = m.callback,
        -- Only Neovim 0.8 on has it, and only then gives it.
        replace_keycodes = m.replace_keycodes == 1 or nil,
      })
    end
  end
end

-- Whether Neovim's own inline completion shows a suggestion in `bufnr`.
local function builtin_visible(bufnr)
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  return ns ~= nil and #vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { limit = 1 }) > 0
end

-- Neovim 0.12 offers accepting and cycling, but no call to hide a suggestion, to ask for one
-- now or to accept part of one, so dismiss, trigger, accept_word and accept_line are left to
-- their keys' usual meaning there.
local function builtin_actions()
  local ic = vim.lsp.inline_completion
  local function cycle(count)
    return function(bufnr)
      if not builtin_visible(bufnr) then
        return false
      end
      ic.select({ bufnr = bufnr, count = count })
      return true
    end
  end
  return {
    accept = function(bufnr)
      -- get() accepts the shown suggestion and says whether there was one; it never requests.
      return ic.get({ bufnr = bufnr })
    end,
    next = cycle(1),
    prev = cycle(-1),
  }
end

-- Asks for a suggestion now (the trigger key, :InfillTrigger). Nothing can come of it while the server is stopped,
-- which is said once: Neovim's own message of the exit does not say how to start it again.
local function ask_now(bufnr)
  local stopped = client.get() == nil and client.stopped()
  if stopped and not told_stopped then
    told_stopped = true
    vim.notify('infill: ' .. stopped .. '; :InfillRestart starts it again', vim.log.levels.WARN)
  end
  return inline.request(bufnr, inline.TRIGGER_INVOKED)
end

local plugin_actions = {
  accept = inline.accept,
  accept_word = function(bufnr)
    return inline.accept_part(bufnr, 'word')
  end,
  accept_line = function(bufnr)
    return inline.accept_part(bufnr, 'line')
  end,
  dismiss = inline.dismiss,
  trigger = function(bufnr)
    ask_now(bufnr)
    return true
  end,
  next = function(bufnr)
    return inline.cycle(bufnr, 1)
  end,
  prev = function(bufnr)
    return inline.cycle(bufnr, -1)
  end,
}
-- While the completion menu is open its keys come first: the suggestion is hidden then (see attach), and one
-- accepted under the menu was undone by its <C-e> or overwritten by its <C-y>.
for name, act in pairs(plugin_actions) do
  plugin_actions[name] = function(bufnr)
    return vim.fn.pumvisible() == 0 and act(bufnr)
  end
end

-- Attaches `bufnr` to the server (again, after a restart) and sets it up once.
local function attach(bufnr)
  if not_served(bufnr) ~= nil or client.attach(bufnr) == nil or attached[bufnr] then
    return
  end
  attached[bufnr] = true
  -- Attached again after `:e!` or `:bd`, which leave a buffer's autocommands: these replace them.
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  local actions = plugin_actions
  if builtin() then
    vim.lsp.inline_completion.enable(typing, { bufnr = bufnr })
    actions = builtin_actions()
  else
    vim.api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'CursorMovedI' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        inline.on_edit(bufnr, typing)
      end,
    })
    -- ModeChanged, not InsertLeave: leaving insert mode with <C-c> skips InsertLeave. Replace mode (<Insert>)
    -- shows no suggestion either.
    vim.api.nvim_create_autocmd('ModeChanged', {
      group = group,
      buffer = bufnr,
      callback = function()
        local new, old = vim.v.event.new_mode, vim.v.event.old_mode
        if new:sub(1, 1) ~= 'i' then
          inline.dismiss(bufnr)
          -- A command from insert mode (i_CTRL-O) passes through these on its way back there.
          if new:sub(1, 2) ~= 'ni' and new:sub(1, 1) ~= 'c' then
            inline.forget_deferred(bufnr)
          end
        elseif old:sub(1, 2) == 'ni' then
          -- Back from such a command; InsertEnter has already asked for the text as it is now, as an edit does.
          inline.on_return(bufnr)
        end
      end,
    })
    vim.api.nvim_create_autocmd({ 'BufLeave', 'CompleteChanged' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        inline.dismiss(bufnr)
      end,
    })
    -- The menu closed, its choice inserted or not: a suggestion for the text as it now is.
    vim.api.nvim_create_autocmd('CompleteDone', {
      group = group,
      buffer = bufnr,
      callback = function()
        if vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
          inline.on_edit(bufnr, typing)
        end
      end,
    })
  end
  vim.api.nvim_create_autocmd({ 'BufUnload', 'BufDelete' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      attached[bufnr] = nil
      inline.detach(bufnr)
    end,
  })
  for name, action in pairs(actions) do
    map(bufnr, name, action)
  end
end

-- Undoes `attach` for a buffer whose filetype is no longer enabled (`:set ft=text`): it was still sent to
-- the server and still got suggestions. Its keys stay mapped, and fall through with nothing shown.
local function detach(bufnr)
  if not attached[bufnr] then
    return
  end
  attached[bufnr] = nil
  vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  if builtin() then
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
  end
  inline.detach(bufnr)
  local c = client.get()
  if c ~= nil and vim.lsp.buf_is_attached(bufnr, c.id) then
    vim.lsp.buf_detach_client(bufnr, c.id)
  end
end

local function attach_loaded()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      attach(bufnr)
    end
  end
end

function M.setup(user_opts)
  local resolved = config.resolve(user_opts)
  if opts ~= nil then
    -- Set up again: nothing shown or mapped by the last setup stays.
    inline.dismiss_all()
    for bufnr in pairs(user_maps) do
      unmap(bufnr)
    end
  end
  opts = resolved
  typing = opts.auto_trigger
  told_stopped = false
  client.configure(opts, {
    -- A server started after the last one exited: the buffers it had join the new one.
    on_start = function()
      told_stopped = false
      for bufnr in pairs(attached) do
        if vim.api.nvim_buf_is_loaded(bufnr) then
          client.attach(bufnr)
        end
      end
    end,
    -- Insert mode entered while the server started asked it for nothing, and nothing else asks until a key.
    on_ready = function()
      local bufnr = vim.api.nvim_get_current_buf()
      if attached[bufnr] and not builtin() and vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
        inline.on_edit(bufnr, typing)
      end
    end,
    on_exit = function()
      told_stopped = false
      inline.dismiss_all()
    end,
    on_action = function(command, ctx)
      run_offered(command, ctx)
    end,
  })
  inline.configure(opts)
  -- A buffer the new options no longer serve (a filetype taken out) leaves the server: kept, it went on being sent
  -- there, and read beside the others, with no suggestion of its own.
  for bufnr in pairs(attached) do
    if vim.api.nvim_buf_is_valid(bufnr) and not_served(bufnr) ~= nil then
      detach(bufnr)
    end
  end
  vim.cmd('highlight default link InfillGhostText Comment')
  group = vim.api.nvim_create_augroup('infill', { clear = true })
  attached = {} -- the group's buffer autocommands went with it; attach every buffer anew
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    callback = function(args)
      if not_served(args.buf) == nil then
        attach(args.buf)
      else
        detach(args.buf)
      end
    end,
  })
  -- A buffer given a name (:saveas, :file, or :write, which names an unnamed buffer without a BufFilePost) attaches
  -- then; one whose name goes (:0file) leaves. Only then: a write must not start a server that stopped.
  vim.api.nvim_create_autocmd({ 'BufFilePost', 'BufWritePost' }, {
    group = group,
    callback = function(args)
      local served = not_served(args.buf) == nil
      if served and not attached[args.buf] and vim.api.nvim_buf_is_loaded(args.buf) then
        attach(args.buf)
      elseif not served and attached[args.buf] then
        detach(args.buf)
      end
    end,
  })
  -- A buffer made one that holds no file after its filetype was set (`:file x.py | setf python | setl bt=nofile`, as
  -- a scratch buffer's plugin may do) stayed on the server with suggestions, where :checkhealth said it was not sent.
  vim.api.nvim_create_autocmd('OptionSet', {
    group = group,
    pattern = 'buftype',
    callback = function()
      local bufnr = vim.api.nvim_get_current_buf()
      if not_served(bufnr) ~= nil then
        detach(bufnr)
      elseif not attached[bufnr] and vim.api.nvim_buf_is_loaded(bufnr) then
        -- Only a buffer that left: as for a name given, a stopped server is not started for one that stayed.
        attach(bufnr)
      end
    end,
  })
  attach_loaded()
end

--- Stops the server and starts a new one for every buffer, also after it could not start.
function M.restart()
  if not set_up() then
    return
  end
  told_stopped = false
  inline.dismiss_all()
  client.stop()
  attach_loaded()
end

local function current()
  return vim.api.nvim_get_current_buf()
end

-- The key action `name` on the current buffer, for composing your own mappings: what it did,
-- or false where there is no such action (Neovim's own inline completion has no dismiss) or no setup().
local function action(name)
  return function()
    if not set_up() then
      return false
    end
    local act = (builtin() and builtin_actions() or plugin_actions)[name]
    return act ~= nil and act(current())
  end
end

--- Inserts the shown suggestion; false when there is none.
M.accept = action('accept')
--- Inserts the next word of the shown suggestion and keeps the rest shown; false when none is
--- shown or Neovim draws the suggestions itself.
M.accept_word = action('accept_word')
--- As accept_word, up to the end of the suggestion's current line (or its next line).
M.accept_line = action('accept_line')
M.dismiss = action('dismiss')

--- Turns suggestions while typing on (true), off (false) or over (nil) in every buffer, and
--- returns whether they are now on (nil before setup()). Off, the trigger key still asks where the plugin draws
--- suggestions; Neovim's own inline completion is simply disabled.
function M.toggle(on)
  if not set_up() then
    return nil
  end
  if on == nil then
    on = not M.enabled()
  end
  if builtin() then
    for bufnr in pairs(attached) do
      vim.lsp.inline_completion.enable(on, { bufnr = bufnr })
    end
  elseif not on then
    inline.dismiss_all()
  end
  typing = on
  client.status_changed() -- status() says whether they are off
  return on
end

--- Whether suggestions are asked for while typing.
function M.enabled()
  return typing
end

--- One line for a statusline or :InfillStatus: the server's state and model, and whether
--- suggestions while typing are off. `short`: the state alone ('infill: ready', ...).
function M.status(short)
  if opts == nil then
    return 'infill: not set up' .. (short and '' or ': ' .. NOT_SET_UP)
  end
  local status = client.status()
  local line
  local stopped = client.stopped()
  if status == nil and stopped ~= nil and not short then
    line = 'infill: not running: ' .. stopped .. '; :InfillRestart starts it again'
  elseif status == nil then
    line = client.get() == nil and 'infill: not running' or 'infill: starting'
  elseif status.kind == 'warning' then
    -- A model that could not load, which its message says, and the one loaded before still serving.
    line = short and 'infill: ready (warning)' or 'infill: ready, but ' .. tostring(status.message)
  elseif short then
    line = 'infill: ' .. tostring(status.kind)
  else
    line = string.format('infill: %s (%s)', tostring(status.kind), tostring(status.message))
  end
  if not typing then
    line = line .. (short and ', paused' or '; suggestions while typing off (:InfillToggle)')
  end
  return line
end

--- What :checkhealth infill reports of the plugin: nil before setup(), else { filetypes,
--- builtin (Neovim draws the suggestions), typing (asked for while typing) }.
function M.info()
  if opts == nil then
    return nil
  end
  return { filetypes = opts.filetypes, builtin = builtin() and true or false, typing = typing }
end

--- Why buffer `bufnr` is not sent to the server (one line: no file in it, its filetype, no file name), or nil
--- when it is, and what to do about it where there is something (else nil); after setup().
function M.not_served(bufnr)
  return not_served(bufnr)
end

--- Asks for a suggestion at the cursor now, as an explicit request; false where Neovim draws
--- the suggestions itself, as it has no such request; nil before setup().
function M.trigger()
  if not set_up() then
    return nil
  end
  if builtin() then
    return false
  end
  return ask_now(current())
end

function M.visible()
  if builtin() then
    return builtin_visible(current())
  end
  return inline.visible(current())
end

M.namespace = require('infill.ghost').namespace

--- Sends changed server settings, e.g. require('infill').update_settings({ device = 'cpu' }); vim.NIL for a setting
--- takes it out. Taking out modelPath, device, dtype or threads restarts the server, for its command line to apply.
function M.update_settings(settings)
  if set_up() and not client.update_settings(settings) then
    M.restart()
  end
end

-- LSP range of lines `line1`..`line2` (1-based), narrowed to the visual selection when the
-- command was given from a charwise one.
local function selection_range(bufnr, line1, line2, encoding, from_visual)
  local first = vim.api.nvim_buf_get_lines(bufnr, line1 - 1, line1, false)[1] or ''
  local last = vim.api.nvim_buf_get_lines(bufnr, line2 - 1, line2, false)[1] or ''
  local start_col, end_col = 0, #last
  local vstart = vim.api.nvim_buf_get_mark(bufnr, '<')
  local vend = vim.api.nvim_buf_get_mark(bufnr, '>')
  if from_visual and vim.fn.visualmode() == 'v' and vstart[1] == line1 and vend[1] == line2 then
    start_col = math.min(vstart[2], #first)
    -- With 'selection' exclusive the mark stands after the selection, not on its last character.
    local last_char = vim.o.selection == 'exclusive' and 0 or vim.fn.byteidx(last:sub(vend[2] + 1), 1)
    end_col = math.min(vend[2] + math.max(last_char, 0), #last)
  end
  return {
    start = { line = line1 - 1, character = compat.character(first, start_col, encoding) },
    ['end'] = { line = line2 - 1, character = compat.character(last, end_col, encoding) },
  }
end

-- The running server, where one of its actions can run on `bufnr` now; else nil, said in one line.
local function action_client(bufnr)
  local why = nil
  local c = client.get()
  local unserved = not_served(bufnr)
  if vim.api.nvim_buf_get_name(bufnr) == '' then
    -- Its URI is `file://`, which Neovim cannot apply a workspace edit to (nor tell one such buffer from another).
    why = 'this buffer has no file name; write it to a file first, then run the action'
  elseif unserved ~= nil then
    -- The server would only say that it does not have the file open, or not be running at all.
    why = 'this buffer is not served: ' .. unserved
  elseif not vim.bo[bufnr].modifiable then
    -- The server ran the model for an edit that Neovim then refused, said with a place in its own files.
    why = "this buffer is not 'modifiable'; the action is not run"
  elseif c == nil or not vim.lsp.buf_is_attached(bufnr, c.id) then
    why = 'the language server is not running for this buffer'
  end
  if why ~= nil then
    vim.notify('infill: ' .. why, vim.log.levels.WARN)
    return nil
  end
  return c
end

-- Sends the server's action `command` with `args`; the server applies the edit itself (workspace/applyEdit) and
-- says so when there is none.
local function execute(c, bufnr, command, args)
  compat.request(c, 'workspace/executeCommand', { command = command, arguments = args }, function(err)
    if err ~= nil then
      vim.notify('infill: ' .. command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
end

-- One of the server's actions picked from Neovim's code action menu (`command`: the one the server offered, with
-- its arguments), in the buffer the menu was asked for in.
function run_offered(command, ctx)
  local bufnr = ctx and ctx.bufnr
  if bufnr == nil or bufnr == 0 then
    bufnr = current()
  end
  local c = action_client(bufnr)
  if c ~= nil then
    execute(c, bufnr, command.command, command.arguments)
  end
end

--- Runs one of the server's code actions ('rewrite', 'fill', 'close') on lines line1..line2; `from_visual`:
--- the range is the last visual selection's (`:'<,'>`), so a charwise one narrows it.
function M.run_action(name, line1, line2, from_visual)
  local command = client.ACTIONS[name]
  if command == nil then
    error('infill: unknown action ' .. tostring(name) .. ' (rewrite, fill or close)')
  end
  if not set_up() then
    return
  end
  local bufnr = current()
  local c = action_client(bufnr)
  if c == nil then
    return
  end
  execute(c, bufnr, command, {
    vim.uri_from_bufnr(bufnr),
    selection_range(bufnr, line1, line2, c.offset_encoding, from_visual),
    vim.NIL, -- no version check: the edit the server sends back carries the version it was made for (documentChanges)
  })
end

return M
