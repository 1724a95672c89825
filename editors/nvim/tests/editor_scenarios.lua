-- Headless sessions of the plugin against a scripted server (tests/test_nvim_ghost_text.py runs
-- itself as that server), for what the editor does around the suggestions: one server across
-- :cd, recovering from a crash, a server that cannot start, leaving insert mode with <C-c>, the
-- user's own mappings of the plugin's keys, moving back into typed text, :InfillTrigger, compound
-- filetypes, setup() again, vim.NIL settings, Replace mode, a buffer read again, undo around an accept, buffers with
-- no name, a model kept after another failed to load, calls before setup(), the trigger key after a crash, setup()
-- with a key or delay it cannot use, multi-line suggestions, a statusline, commands run from insert mode (<C-o>), a
-- line of megabytes, deprecated calls, a buffer made nomodifiable or one that holds no file after it attached, each
-- kind of buffer with a 'buftype' and a 'readonly' one.
-- One scenario per run, INFILL_SCENARIO; it writes what it saw as JSON and quits.
--
-- Environment: INFILL_PLUGIN (plugin directory), INFILL_CMD (server command, JSON list),
-- INFILL_DIR (holds a.py, b.py, c.py and the directory elsewhere/), INFILL_LOG (the server's
-- JSON lines of events), INFILL_SCENARIO, INFILL_RESULT (JSON output).
local env = vim.env
vim.opt.runtimepath:prepend(env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
vim.lsp.set_log_level('WARN')

local uv = vim.uv or vim.loop
local result = { stages = {} }
local notes = {}
vim.notify = function(msg, level)
  table.insert(notes, { msg = msg, level = level })
end

local infill = require('infill')
local client = require('infill.client')

local function setup(extra)
  infill.setup(vim.tbl_extend('force', { cmd = vim.json.decode(env.INFILL_CMD), debounce_ms = 10 }, extra or {}))
end

local function file(name)
  return env.INFILL_DIR .. '/' .. name
end

local function edit(name)
  vim.cmd('edit ' .. vim.fn.fnameescape(file(name)))
  return vim.api.nvim_get_current_buf()
end

local function keys(k, mode)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(k, true, false, true), mode or 'm', false)
end

local function events(kind)
  local out = {}
  local f = io.open(env.INFILL_LOG)
  if f == nil then
    return out
  end
  for line in f:lines() do
    local ev = vim.json.decode(line)
    if ev.event == kind then
      table.insert(out, ev)
    end
  end
  f:close()
  return out
end

local function ready()
  local c = client.get()
  return c ~= nil and c.initialized
end

local function attached(bufnr)
  local c = client.get()
  return c ~= nil and vim.lsp.buf_is_attached(bufnr, c.id)
end

local function infill_clients()
  local n = 0
  local all = vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()
  for _, c in ipairs(all) do
    if c.name == 'infill' then
      n = n + 1
    end
  end
  return n
end

local function ghost()
  local parts = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, infill.namespace, 0, -1, { details = true })) do
    for _, chunk in ipairs(m[4].virt_text or {}) do
      if chunk[2] == 'InfillGhostText' then
        table.insert(parts, chunk[1])
      end
    end
  end
  return #parts > 0 and table.concat(parts) or nil
end

local function plugin_notes()
  local out = {}
  for _, n in ipairs(notes) do
    if n.msg:sub(1, 8) == 'infill: ' then
      table.insert(out, n.msg)
    end
  end
  return out
end

local function insert_at_end(bufnr, row)
  vim.api.nvim_set_current_buf(bufnr)
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  vim.cmd('startinsert!')
  return true
end

-- Steps return true once done and run again on the next tick until then.
local function pause(ms)
  local until_
  return function()
    until_ = until_ or uv.now() + ms
    return uv.now() >= until_
  end
end

-- A step that waits until `done()` holds, or `ms` have passed (the next step then records what did not happen).
local function until_or(ms, done)
  local wait = pause(ms)
  return function()
    return done() or wait()
  end
end

local function all_notes()
  local out = {}
  for _, n in ipairs(notes) do
    table.insert(out, n.msg)
  end
  return out
end

-- The plugin's autocommands for `bufnr` (Neovim 0.7 cannot ask for one buffer's).
local function autocmds_of(bufnr)
  local n = 0
  for _, a in ipairs(vim.api.nvim_get_autocmds({ group = 'infill' })) do
    if a.buffer == bufnr then
      n = n + 1
    end
  end
  return n
end

-- The insert-mode mappings of `bufnr`: lhs (lower case) -> the plugin's description, or the rhs of another.
local function insert_maps(bufnr)
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_keymap(bufnr, 'i')) do
    local desc = m.desc or ''
    out[m.lhs:lower()] = desc:sub(1, 8) == 'infill: ' and desc or (m.rhs or '')
  end
  return out
end

-- Waits up to `ms` for a suggestion in insert mode, asking for one now and again, and puts the
-- ghost text shown (or false) into result[key].
local function ghost_into(key, ms)
  local until_, asked = nil, 0
  return function()
    until_ = until_ or uv.now() + ms
    if vim.api.nvim_get_mode().mode ~= 'i' then
      return false
    end
    result[key] = ghost() or false
    if result[key] or uv.now() >= until_ then
      return true
    end
    if uv.now() >= asked then
      infill.trigger()
      asked = uv.now() + 500
    end
    return false
  end
end

local bufs = {}

-- A step that starts inserting at the end of the first line of bufs[NAME].
local function insert_in(name)
  return function()
    return insert_at_end(bufs[name], 1)
  end
end

-- A step that types `k` (`keys`).
local function press(k, mode)
  return function()
    keys(k, mode)
    return true
  end
end

-- A step that opens NAME.py into bufs[NAME].
local function open(name)
  return function()
    bufs[name] = edit(name .. '.py')
    return true
  end
end

-- A step: bufs.a holds `lines`; then insert at the end of its first line, or, given `row` (1-based)
-- and `col`, the cursor there in normal mode.
local function lines_of_a(lines, row, col)
  return function()
    vim.api.nvim_buf_set_lines(bufs.a, 0, -1, false, lines)
    if row == nil then
      return insert_at_end(bufs.a, 1)
    end
    vim.api.nvim_set_current_buf(bufs.a)
    vim.api.nvim_win_set_cursor(0, { row, col })
    return true
  end
end

local scenarios = {}

-- :cd between two buffers: still one server, and the first buffer still gets suggestions.
scenarios.cd = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      vim.cmd('cd ' .. vim.fn.fnameescape(file('elsewhere')))
      bufs.b = edit('b.py')
      return true
    end,
    function()
      return attached(bufs.b)
    end,
    pause(300),
    function()
      result.clients = infill_clients()
      result.a_attached = attached(bufs.a)
      return insert_at_end(bufs.a, 1)
    end,
    ghost_into('a_ghost', 3000),
    function()
      result.starts = #events('start')
      return true
    end,
  }
end

-- Neovim started in elsewhere/: project/src/c.py, then a.py and b.py beside elsewhere/, each outside the folders
-- before it but b.py.
scenarios.outside = function()
  vim.cmd('cd ' .. vim.fn.fnameescape(file('elsewhere')))
  setup()
  return {
    function()
      bufs.c = edit('project/src/c.py')
      return true
    end,
    ready,
    open('a'),
    open('b'),
    function()
      return attached(bufs.b)
    end,
    until_or(3000, function()
      return #events('folders') >= 2
    end),
    pause(300),
    function()
      result.initialize = events('initialize')[1].folders
      result.folders = {}
      for _, ev in ipairs(events('folders')) do
        table.insert(result.folders, { added = ev.added, removed = ev.removed })
      end
      return insert_at_end(bufs.c, 1)
    end,
    ghost_into('ghost', 3000),
  }
end

-- The server killed: the buffers join the next server (started by a new buffer), and
-- :InfillRestart starts another for all of them.
scenarios.crash = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      uv.kill(events('start')[1].pid, 9)
      return true
    end,
    function()
      return client.get() == nil and #notes > 0
    end,
    pause(300), -- for a second message
    function()
      result.notes_after_kill = all_notes()
      result.status_after_kill = infill.status()
      bufs.b = edit('b.py')
      return true
    end,
    ready,
    function()
      result.after_new_buffer = { a = attached(bufs.a), b = attached(bufs.b), clients = infill_clients() }
      return insert_at_end(bufs.a, 1)
    end,
    ghost_into('a_ghost', 3000),
    function()
      vim.cmd('stopinsert')
      result.id_before_restart = client.get().id
      vim.cmd('InfillRestart')
      return true
    end,
    function()
      return ready() and client.get().id ~= result.id_before_restart
    end,
    pause(300),
    function()
      result.after_restart = { a = attached(bufs.a), b = attached(bufs.b), clients = infill_clients() }
      result.starts = #events('start')
      result.notes = all_notes()
      return true
    end,
  }
end

-- A server that exits before answering `initialize`: one message for three buffers and no new
-- start for each, until :InfillRestart tries once more.
scenarios.bad_start = function()
  setup()
  local function exited(n)
    return function()
      return #events('start') >= n and client.get() == nil
    end
  end
  return {
    open('a'),
    exited(1),
    function()
      edit('b.py')
      return true
    end,
    pause(500),
    function()
      edit('c.py')
      return true
    end,
    pause(500),
    function()
      result.starts = #events('start')
      result.notes = all_notes()
      result.status_line = infill.status()
      vim.cmd('InfillRestart')
      return true
    end,
    exited(2),
    pause(500),
    function()
      result.starts_after_restart = #events('start')
      result.notes_after_restart = all_notes()
      return true
    end,
  }
end

-- <C-c> leaves insert mode without InsertLeave.
scenarios.ctrl_c = function()
  setup()
  return {
    open('a'),
    ready,
    insert_in('a'),
    ghost_into('ghost', 3000),
    press('<C-c>', 'n'),
    function()
      return vim.api.nvim_get_mode().mode == 'n'
    end,
    pause(200),
    function()
      result.after = { mode = vim.api.nvim_get_mode().mode, ghost = ghost() or false, visible = infill.visible() }
      return true
    end,
  }
end

-- The user's own insert mappings of the plugin's keys run when nothing is shown: global and
-- buffer-local ones, string, expr, Lua and <Plug> ones, one that starts with its own key.
scenarios.user_maps = function()
  vim.keymap.set('i', '<Tab>', '[TAB]')
  vim.keymap.set('i', '<M-]>', function()
    return '[NEXT]'
  end, { expr = true })
  vim.keymap.set('i', '<Plug>(user-prev)', '[PREV]')
  vim.keymap.set('i', '<M-[>', '<Plug>(user-prev)', { remap = true })
  vim.cmd([[inoremap <expr> <M-Right> '[' . 'WORD]']])
  -- Before the plugin's own FileType autocommand, as an ftplugin's would be.
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'python',
    callback = function(args)
      vim.keymap.set('i', '<C-]>', '<C-]>[DISMISS]', { buffer = args.buf, remap = true })
      vim.keymap.set('i', '<M-C-Right>', function()
        result.lua_callback_ran = true
      end, { buffer = args.buf })
    end,
  })
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    function()
      -- Setting up again maps the keys again, over the plugin's own mappings this time.
      setup({ auto_trigger = false })
      return insert_at_end(bufs.a, 1)
    end,
    function()
      result.original = vim.api.nvim_get_current_line()
      keys('<Tab><C-]><M-]><M-[><M-Right><M-C-Right>')
      return true
    end,
    pause(300),
    function()
      result.line = vim.api.nvim_get_current_line()
      return true
    end,
    ghost_into('ghost', 3000),
    function()
      result.before_accept = vim.api.nvim_get_current_line()
      keys('<Tab>')
      return true
    end,
    pause(200),
    function()
      result.accepted = vim.api.nvim_get_current_line()
      return true
    end,
  }
end

-- The accept call in the user's own <expr> mapping, the usual way to share <Tab> with a completion menu: there the
-- text is locked until the mapping returns.
scenarios.expr_accept = function()
  setup({ auto_trigger = false, keymaps = { accept = false, accept_word = false } })
  vim.keymap.set('i', '<Tab>', function()
    if require('infill').accept() then
      return ''
    end
    return '[TAB]'
  end, { expr = true })
  vim.keymap.set('i', '<M-Right>', function()
    return require('infill').accept_word() and '' or '[WORD]'
  end, { expr = true })
  return {
    open('a'),
    ready,
    insert_in('a'),
    press('<Tab>'),
    pause(200),
    function()
      result.nothing_shown = vim.api.nvim_get_current_line()
      return true
    end,
    ghost_into('ghost', 3000),
    function()
      result.before = vim.api.nvim_get_current_line()
      keys('<Tab>')
      return true
    end,
    pause(200),
    function()
      result.accepted = vim.api.nvim_get_current_line()
      result.ghost_after = ghost() or false
      vim.cmd('stopinsert')
      return true
    end,
    open('words'),
    ready,
    insert_in('words'),
    ghost_into('words_ghost', 3000),
    function()
      result.words_before = vim.api.nvim_get_current_line()
      keys('<M-Right>')
      return true
    end,
    pause(200),
    function()
      result.after_word = vim.api.nvim_get_current_line()
      result.ghost_after_word = ghost() or false
      result.notes = all_notes()
      return true
    end,
  }
end

-- setup() again with fewer filetypes: the buffers of the one taken out leave the server.
scenarios.narrower = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      result.before = attached(bufs.a)
      setup({ filetypes = { 'lua' } })
      return true
    end,
    pause(300),
    function()
      result.after = attached(bufs.a)
      result.closed = #events('close')
      result.clients = infill_clients()
      return true
    end,
  }
end

-- A buffer that cannot be changed: no suggestion is asked for, and no key fails.
scenarios.nomodifiable = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      vim.bo[bufs.a].modifiable = false
      return insert_at_end(bufs.a, 1)
    end,
    function()
      infill.trigger()
      return true
    end,
    pause(500),
    function()
      result.ghost = ghost() or false
      result.asked = #events('inline')
      keys('<Tab>')
      return true
    end,
    pause(200),
    function()
      result.line = vim.api.nvim_get_current_line()
      result.notes = all_notes()
      return true
    end,
  }
end

-- A suggestion shown, then the buffer made 'nomodifiable' (as a plugin may, in insert mode): the accept key says
-- why it inserts nothing, once, and does not fall through to the key as well (Neovim's E21, twice).
scenarios.refused = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = f(' }),
    ghost_into('ghost', 3000),
    function()
      vim.cmd('messages clear')
      vim.bo[bufs.a].modifiable = false
      keys('<Tab>')
      return true
    end,
    pause(300),
    function()
      result.line = vim.api.nvim_get_current_line()
      result.notes = all_notes()
      result.errors = vim.api.nvim_exec('messages', true)
      return true
    end,
  }
end

-- An action in a buffer that cannot be changed: said at once, not run on the server for an edit Neovim refuses.
scenarios.nomodifiable_action = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'FRESH_EDIT', 'line two' }, 1, 0),
    pause(200),
    function()
      vim.bo[bufs.a].modifiable = false
      vim.cmd('1InfillRewrite')
      return true
    end,
    pause(300),
    function()
      result.lines = vim.api.nvim_buf_get_lines(bufs.a, 0, -1, false)
      result.commands = events('command')
      result.applied = events('applied')
      result.notes = plugin_notes()
      return true
    end,
  }
end

-- A named Python buffer made one that holds no file after its filetype was set ('buftype' nofile), then a file
-- buffer again.
scenarios.buftype = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    function()
      result.before = attached(bufs.a)
      vim.cmd('setlocal buftype=nofile')
      return true
    end,
    pause(200),
    function()
      result.nofile = { attached = attached(bufs.a), why = infill.not_served(bufs.a) or false }
      vim.cmd('setlocal buftype=')
      return true
    end,
    pause(200),
    function()
      result.again = attached(bufs.a)
      return insert_at_end(bufs.a, 1)
    end,
    ghost_into('ghost', 3000),
  }
end

-- Each kind of buffer with a 'buftype' (help, terminal, prompt, quickfix, nofile; the last two each named and given a
-- Python filetype, with every filetype enabled), and a 'readonly' one: which the server is sent, and which shows a
-- suggestion in insert mode and takes it.
scenarios.buffer_kinds = function()
  setup({ filetypes = { '*' } })
  local function kind(name)
    local bufnr = bufs[name]
    result[name] = { attached = attached(bufnr), why = infill.not_served(bufnr) or false }
  end
  -- A step that asks for a suggestion in insert mode in bufs[name], with the trigger key and the call, and puts
  -- what is shown into result[name].ghost.
  local function asks_in(name)
    return {
      function()
        vim.api.nvim_set_current_buf(bufs[name])
        vim.cmd('startinsert!')
        return true
      end,
      function()
        keys('<M-\\>')
        infill.trigger()
        return true
      end,
      pause(300),
      function()
        result[name].ghost = ghost() or false
        keys('<Esc>', 'n')
        return true
      end,
    }
  end
  local steps = {
    open('a'),
    ready,
    function()
      vim.cmd('help')
      bufs.help = vim.api.nvim_get_current_buf()
      kind('help')
      vim.cmd('only')
      vim.fn.setqflist({ { filename = file('a.py'), lnum = 1, text = 'x' } })
      vim.cmd('copen')
      bufs.quickfix = vim.api.nvim_get_current_buf()
      kind('quickfix')
      vim.cmd('cclose')
      vim.cmd('terminal')
      bufs.terminal = vim.api.nvim_get_current_buf()
      kind('terminal')
      vim.cmd('enew')
      bufs.prompt = vim.api.nvim_get_current_buf()
      vim.cmd('setlocal buftype=prompt')
      vim.cmd('file ' .. vim.fn.fnameescape(file('prompt.py')))
      vim.cmd('setfiletype python')
      kind('prompt')
      bufs.nofile = vim.api.nvim_create_buf(true, true)
      vim.api.nvim_buf_set_name(bufs.nofile, file('scratch.py'))
      vim.bo[bufs.nofile].filetype = 'python'
      kind('nofile')
      vim.cmd('view ' .. vim.fn.fnameescape(file('c.py')))
      bufs.readonly = vim.api.nvim_get_current_buf()
      kind('readonly')
      return true
    end,
  }
  vim.list_extend(steps, asks_in('prompt'))
  vim.list_extend(steps, asks_in('nofile'))
  vim.list_extend(steps, {
    function()
      return insert_at_end(bufs.readonly, 1)
    end,
    ghost_into('readonly_ghost', 3000),
    function()
      vim.cmd('messages clear')
      keys('<Tab>')
      return true
    end,
    pause(300),
    function()
      result.readonly.ghost = result.readonly_ghost
      result.readonly.line = vim.api.nvim_get_current_line()
      result.readonly.messages = vim.api.nvim_exec('messages', true)
      result.notes = all_notes()
      return true
    end,
  })
  return steps
end

-- A server that exits with code 0 of its own accord (EXIT0 in a document it is asked about): said once, as a crash
-- is, and the status says how to start it again.
scenarios.exit0 = function()
  setup()
  return {
    function()
      bufs.a = edit('exit0.py')
      return true
    end,
    ready,
    insert_in('a'),
    function()
      infill.trigger()
      return true
    end,
    function()
      return client.get() == nil and #plugin_notes() > 0
    end,
    function()
      result.notes = plugin_notes()
      result.infill_status = infill.status()
      return true
    end,
  }
end

-- Typing two characters of the suggestion and going back one: the ghost text would be drawn
-- before the second one.
scenarios.left = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    insert_in('a'),
    ghost_into('ghost', 3000),
    press('ab', 'n'),
    pause(200),
    function()
      result.typed = { line = vim.api.nvim_get_current_line(), ghost = ghost() or false }
      keys('<Left>', 'n')
      return true
    end,
    pause(200),
    function()
      result.left = { col = vim.api.nvim_win_get_cursor(0)[2], ghost = ghost() or false }
      return true
    end,
  }
end

-- :InfillTrigger from normal mode says it works in insert mode; from insert mode it asks.
scenarios.trigger_command = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    function()
      vim.cmd('InfillTrigger')
      return true
    end,
    pause(300),
    function()
      result.normal_notes = plugin_notes()
      insert_at_end(bufs.a, 1)
      return true
    end,
    function()
      if vim.api.nvim_get_mode().mode ~= 'i' then
        return false
      end
      keys('<Cmd>InfillTrigger<CR>')
      return true
    end,
    function()
      result.insert_ghost = ghost()
      return result.insert_ghost ~= nil
    end,
    function()
      result.notes = plugin_notes()
      return true
    end,
  }
end

-- The completion menu opened over a suggestion: hidden while the menu is open, and its keys are the menu's.
scenarios.menu = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = ab', 'abcd abcq' }),
    ghost_into('ghost', 3000),
    press('<C-n>', 'n'),
    pause(300),
    function()
      result.menu = { pum = vim.fn.pumvisible() == 1, ghost = ghost() or false, accepted = infill.accept() }
      keys('<C-e>', 'n')
      return true
    end,
    pause(300),
    function()
      result.after = { line = vim.api.nvim_get_current_line(), pum = vim.fn.pumvisible() == 1 }
      return true
    end,
  }
end

-- :InfillRewrite on a line range after an old charwise selection there: the whole lines; from :'<,'>, the
-- selection.
scenarios.rewrite_range = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    function()
      vim.api.nvim_buf_set_lines(bufs.a, 0, -1, false, { 'abcd abcq', 'x = 1' })
      vim.api.nvim_win_set_cursor(0, { 1, 0 })
      keys('viwy', 'nx')
      vim.cmd('1InfillRewrite')
      vim.cmd("'<,'>InfillRewrite")
      -- The same word selected with 'selection' exclusive, whose mark stands after it.
      vim.o.selection = 'exclusive'
      keys('0v4ly', 'nx')
      vim.cmd("'<,'>InfillRewrite")
      return true
    end,
    function()
      local sent = events('command')
      if #sent < 3 then
        return false
      end
      result.ranges = { sent[1].arguments[2], sent[2].arguments[2], sent[3].arguments[2] }
      return true
    end,
  }
end

-- A rewrite whose edit comes back after a line was typed above the selection: in a buffer changed
-- before (INFILL_FRESH unset), or in one as it was opened, whose version is still 0.
scenarios.stale_edit = function()
  setup({ auto_trigger = false })
  if env.INFILL_FRESH then
    local f = assert(io.open(file('a.py'), 'w'))
    f:write('STALE\nline two\n')
    f:close()
  end
  return {
    open('a'),
    ready,
    function()
      if not env.INFILL_FRESH then
        vim.api.nvim_buf_set_lines(bufs.a, 0, -1, false, { 'STALE', 'line two' })
      end
      return true
    end,
    pause(300), -- the server has the text with STALE, and sends the command's edit after the next change
    function()
      vim.cmd('1InfillRewrite')
      return #events('command') > 0
    end,
    function()
      vim.api.nvim_buf_set_lines(bufs.a, 0, 0, false, { 'TYPED' })
      return true
    end,
    until_or(3000, function()
      return #events('applied') > 0
    end),
    function()
      result.lines = vim.api.nvim_buf_get_lines(bufs.a, 0, -1, false)
      result.applied = events('applied')
      return true
    end,
  }
end

-- A rewrite asked for in a buffer with no name (`:enew`).
scenarios.unnamed_edit = function()
  setup({ auto_trigger = false })
  return {
    function()
      vim.cmd('enew')
      bufs.u = vim.api.nvim_get_current_buf()
      vim.api.nvim_buf_set_lines(bufs.u, 0, -1, false, { 'FRESH_EDIT', 'line two' })
      vim.bo[bufs.u].filetype = 'python'
      return true
    end,
    pause(300), -- not attached: it would be `file://` on the server
    function()
      vim.cmd('1InfillRewrite')
      return true
    end,
    pause(300),
    function()
      result.lines = vim.api.nvim_buf_get_lines(bufs.u, 0, -1, false)
      result.commands = events('command')
      result.notes = plugin_notes()
      return true
    end,
  }
end

-- An action asked for in a buffer whose filetype the plugin does not serve.
scenarios.unserved_action = function()
  setup({ auto_trigger = false, filetypes = { 'go' } })
  return {
    open('a'),
    function()
      vim.cmd('1InfillRewrite')
      return true
    end,
    pause(300),
    function()
      result.commands = events('command')
      result.notes = plugin_notes()
      return true
    end,
  }
end

-- Two items: the second shown, then text typed that only the first agrees with.
-- The second candidate picked, then typed into while typing asks again: the pick stays shown.
scenarios.cycle_typing = function()
  setup()
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = TWO ' }),
    ghost_into('first', 3000),
    press('<M-]>', 'm'),
    pause(200),
    function()
      result.second = ghost() or false
      keys('x', 'n')
      return true
    end,
    until_or(2000, function()
      return #events('inline') >= 2 and ghost() ~= nil
    end),
    pause(300),
    function()
      result.typed = ghost() or false
      result.asked = #events('inline')
      return true
    end,
  }
end

scenarios.cycle = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = TWO ' }),
    ghost_into('first', 3000),
    press('<M-]>', 'm'),
    pause(200),
    function()
      result.second = ghost() or false
      keys('a', 'n')
      return true
    end,
    pause(300),
    function()
      result.typed = ghost() or false
      keys('<M-]>', 'm')
      return true
    end,
    pause(200),
    function()
      result.cycled = ghost() or false
      return true
    end,
  }
end

-- An item that replaces the `)` after the cursor too: how it is drawn.
scenarios.replaced_closer = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'foo() RANGE' }, 1, 4),
    function()
      vim.cmd('startinsert')
      return true
    end,
    ghost_into('ghost', 3000),
    function()
      local marks = vim.api.nvim_buf_get_extmarks(0, infill.namespace, 0, -1, { details = true })
      local details = marks[1][4]
      local parts = {}
      for _, chunk in ipairs(details.virt_text or {}) do
        table.insert(parts, chunk[1])
      end
      result.mark = { pos = details.virt_text_pos, text = vim.trim(table.concat(parts)) }
      return true
    end,
  }
end

-- A CRLF document's two-line item, accepted in a 'fileformat=dos' buffer, then one line of it.
scenarios.crlf = function()
  setup({ auto_trigger = false })
  local function accept_in(key, lines_key)
    return {
      lines_of_a({ 'x = CRLF ' }),
      ghost_into('ghost_' .. lines_key, 3000),
      press(key),
      pause(200),
      function()
        result[lines_key] = vim.api.nvim_buf_get_lines(bufs.a, 0, -1, false)
        vim.cmd('stopinsert')
        return true
      end,
      pause(100),
    }
  end
  local steps = {
    open('a'),
    ready,
    function()
      vim.bo[bufs.a].fileformat = 'dos'
      return true
    end,
  }
  vim.list_extend(steps, accept_in('<Tab>', 'whole'))
  vim.list_extend(steps, accept_in('<M-C-Right>', 'line'))
  return steps
end

-- Typed, accepted, then undone once; then the same in Replace mode, where nothing is shown.
scenarios.undo = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = f(' }, 1, 0),
    function()
      vim.bo[bufs.a].undolevels = 50 -- a buffer's own, as a plugin for big files sets
      keys('Azz', 'n')
      return true
    end,
    ghost_into('ghost', 3000),
    press('<Tab>'),
    pause(200),
    function()
      result.accepted = vim.api.nvim_get_current_line()
      result.undolevels = { vim.go.undolevels, vim.bo[bufs.a].undolevels }
      keys('<Esc>u', 'n')
      return true
    end,
    pause(200),
    function()
      result.undone = vim.api.nvim_get_current_line()
      vim.api.nvim_buf_set_lines(bufs.a, 0, -1, false, { 'x = f(QRSTUVWXYZ' })
      vim.api.nvim_win_set_cursor(0, { 1, 4 })
      keys('Rzz', 'n')
      return true
    end,
    pause(100),
    function()
      infill.trigger()
      return true
    end,
    pause(1500),
    function()
      result.replace_mode = vim.api.nvim_get_mode().mode
      result.replace_ghost = ghost() or false
      keys('<Esc>', 'n')
      return true
    end,
  }
end

-- Each accept key between text typed in the same insert (before it too: only then did the text typed after it
-- join the accepted text's undo step), then one `u`.
scenarios.undo_typed = function()
  setup({ auto_trigger = false })
  result.typed, result.undone = {}, {}
  local steps = { open('a'), ready }
  local cases = { { 'accept', '<Tab>' }, { 'accept_word', '<M-Right>' }, { 'accept_line', '<M-C-Right>' } }
  for _, case in ipairs(cases) do
    local name = case[1]
    vim.list_extend(steps, {
      lines_of_a({ 'x = WORDS ' }),
      press('yy ', 'n'),
      ghost_into('ghost_' .. name, 3000),
      press(case[2]),
      pause(100),
      press(' zz', 'n'),
      pause(100),
      function()
        result.typed[name] = vim.api.nvim_buf_get_lines(bufs.a, 0, -1, false)
        keys('<Esc>u', 'n')
        return true
      end,
      pause(200),
      function()
        result.undone[name] = vim.api.nvim_buf_get_lines(bufs.a, 0, -1, false)
        return true
      end,
    })
  end
  return steps
end

-- Two unnamed Python buffers (`:enew`), then each given a name: by :saveas, :write, :file.
scenarios.unnamed = function()
  setup({ auto_trigger = false })
  local function unnamed()
    vim.cmd('enew')
    vim.bo.filetype = 'python'
    vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'x = f(' })
    return vim.api.nvim_get_current_buf()
  end
  local function state(list)
    local uris = {}
    for _, ev in ipairs(events('open')) do
      table.insert(uris, ev.uri)
    end
    local out = { attached = {}, opened = uris }
    for _, bufnr in ipairs(list) do
      table.insert(out.attached, attached(bufnr))
    end
    return out
  end
  return {
    function()
      bufs.u1, bufs.u2 = unnamed(), unnamed()
      return true
    end,
    pause(500),
    function()
      result.unnamed = state({ bufs.u1, bufs.u2 })
      vim.api.nvim_set_current_buf(bufs.u1)
      vim.cmd('saveas ' .. vim.fn.fnameescape(file('s.py')))
      return true
    end,
    ready,
    function()
      vim.api.nvim_set_current_buf(bufs.u2)
      vim.cmd('write ' .. vim.fn.fnameescape(file('w.py')))
      bufs.u3 = unnamed()
      vim.cmd('file ' .. vim.fn.fnameescape(file('f.py')))
      return true
    end,
    until_or(3000, function()
      return #events('open') >= 3
    end),
    function()
      result.named = state({ bufs.u1, bufs.u2, bufs.u3 })
      return insert_at_end(bufs.u1, 1)
    end,
    ghost_into('ghost', 3000),
  }
end

-- A buffer whose filetype turns to one not enabled, and one of a compound filetype.
scenarios.filetype = function()
  setup({ auto_trigger = false, filetypes = { 'python' } })
  return {
    open('a'),
    ready,
    function()
      result.before = attached(bufs.a)
      vim.bo[bufs.a].filetype = 'text'
      return insert_at_end(bufs.a, 1)
    end,
    pause(100),
    function()
      result.after = attached(bufs.a)
      result.triggered = infill.trigger()
      return true
    end,
    pause(500),
    function()
      result.ghost = ghost() or false
      result.requests = #events('inline')
      vim.cmd('stopinsert')
      bufs.b = edit('b.py')
      vim.bo[bufs.b].filetype = 'python.django'
      return true
    end,
    pause(200),
    function()
      result.compound = attached(bufs.b)
      return true
    end,
  }
end

-- Three requests, each answered with an error whose text differs.
scenarios.failing = function()
  setup({ auto_trigger = false })
  local function ask()
    infill.trigger()
    return true
  end
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = FAILING ' }),
    pause(100), ask, pause(300), ask, pause(300), ask, pause(300),
    function()
      result.requests = #events('inline')
      result.shown = plugin_notes()
      return true
    end,
  }
end

-- Buffers of compound filetypes: the languageId each is opened with.
scenarios.compound = function()
  setup({ auto_trigger = false, filetypes = { 'python' } })
  local function new_buffer(name, filetype)
    return function()
      edit(name)
      vim.bo.filetype = filetype
      return true
    end
  end
  return {
    new_buffer('d.djpy', 'python.django'),
    ready,
    new_buffer('e.jpy', 'jinja.python'),
    function()
      return #events('open') >= 2
    end,
    function()
      result.language_ids = {}
      for _, ev in ipairs(events('open')) do
        table.insert(result.language_ids, ev.languageId)
      end
      return true
    end,
  }
end

-- setup() again: new settings and keys with the same command, then another command.
scenarios.setup_again = function()
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'python',
    callback = function(args)
      vim.keymap.set('i', '<C-]>', '[DISMISS]', { buffer = args.buf })
    end,
  })
  setup({ settings = { maxHoleTokens = 48 } })
  return {
    open('a'),
    ready,
    function()
      result.first_id = client.get().id
      result.first_maps = insert_maps(bufs.a)
      setup({ settings = { maxHoleTokens = 32 }, keymaps = { accept = '<C-L>', dismiss = false } })
      return true
    end,
    until_or(3000, function()
      local sent = events('settings') -- Neovim 0.11 sends the first ones after `initialize` too
      return #sent > 0 and vim.deep_equal(sent[#sent].settings, { infill = { maxHoleTokens = 32 } })
    end),
    function()
      result.same_cmd = { settings = events('settings'), same_client = client.get().id == result.first_id,
                          maps = insert_maps(bufs.a) }
      local cmd = vim.json.decode(env.INFILL_CMD)
      table.insert(cmd, '--second')
      setup({ cmd = cmd, settings = { maxHoleTokens = 32 } })
      return true
    end,
    until_or(3000, function()
      return ready() and client.get().id ~= result.first_id and infill_clients() == 1
    end),
    function()
      result.new_cmd = { starts = events('start'), clients = infill_clients(), attached = attached(bufs.a),
                         same_client = client.get() ~= nil and client.get().id == result.first_id }
      return true
    end,
  }
end

-- setup() again without settings it gave before, and update_settings() with vim.NIL for one: the server is told each
-- one's default, not left with it, nor sent null (which for typingMaxSteps means "as maxSteps").
scenarios.setup_drops = function()
  setup({ settings = { maxHoleTokens = 48, enabledLanguages = { 'go' }, typingMaxSteps = 2 } })
  local function sent_last(key, value)
    return until_or(3000, function()
      local sent = events('settings')
      return #sent > 0 and vim.deep_equal(sent[#sent].settings.infill[key], value)
    end)
  end
  return {
    open('a'),
    ready,
    function()
      setup({ settings = { maxHoleTokens = 48 } })
      return true
    end,
    until_or(3000, function()
      local sent = events('settings')
      return #sent > 0 and not vim.deep_equal(sent[#sent].settings.infill.enabledLanguages, { 'go' })
    end),
    function()
      result.setup_again = events('settings')[#events('settings')].settings
      infill.update_settings({ numCandidates = 5 })
      return true
    end,
    sent_last('numCandidates', 5),
    function()
      infill.update_settings({ numCandidates = vim.NIL })
      return true
    end,
    sent_last('numCandidates', 3),
    function()
      result.update = events('settings')[#events('settings')].settings
      result.plugin_settings = vim.tbl_keys(client.options().settings)
      result.id = client.get().id
      setup({ settings = { maxHoleTokens = 48, threads = 2 } })
      return true
    end,
    sent_last('threads', 2),
    function()
      setup({ settings = { maxHoleTokens = 48 } }) -- threads taken out: a new server, for its command line's
      return true
    end,
    until_or(5000, function()
      return ready() and client.get().id ~= result.id
    end),
    function()
      result.initialize = events('initialize')
      result.attached = attached(bufs.a)
      return true
    end,
  }
end

-- vim.NIL for a setting, given to setup() and to update_settings(): the setting is taken out (Neovim 0.7 and 0.8
-- could not copy vim.NIL, and every later call failed). A removed threads restarts the server, for its command
-- line's --threads to apply again (null means half the cores); a removed typingMaxSteps is sent as its default.
scenarios.nil_settings = function()
  setup({ settings = { threads = 2, typingMaxSteps = 3, device = vim.NIL } })
  result.calls = {}
  local function call(f, ...)
    local ok, err = pcall(f, ...)
    table.insert(result.calls, ok or tostring(err))
  end
  local function restarted()
    return until_or(5000, function()
      return ready() and client.get().id ~= result.id
    end)
  end
  return {
    open('a'),
    ready,
    function()
      result.id = client.get().id
      call(infill.update_settings, { typingMaxSteps = vim.NIL })
      return true
    end,
    until_or(3000, function()
      local sent = events('settings')
      return #sent > 0 and sent[#sent].settings.infill.typingMaxSteps == 6
    end),
    function()
      result.same_client = client.get() ~= nil and client.get().id == result.id
      call(infill.update_settings, { threads = vim.NIL })
      return true
    end,
    restarted(),
    function()
      result.id = client.get() and client.get().id
      call(vim.cmd, 'InfillRestart')
      return true
    end,
    restarted(),
    pause(300),
    function()
      result.settings = events('settings')
      result.initialize = events('initialize')
      result.status_line = infill.status()
      result.plugin_settings = vim.tbl_keys(client.options().settings)
      result.attached = attached(bufs.a)
      return true
    end,
  }
end

-- A model that could not load while the one before is kept: ready, with a warning, in :InfillStatus and :checkhealth.
scenarios.warning = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      infill.update_settings({ modelPath = file('broken-model') })
      return true
    end,
    until_or(3000, function()
      local status = client.status()
      return status ~= nil and status.kind == 'warning'
    end),
    function()
      result.status_lines = { infill.status(), infill.status(true) }
      vim.cmd('checkhealth infill')
      result.health = vim.api.nvim_buf_get_lines(0, 0, -1, false)
      return true
    end,
  }
end

-- setup() with options it cannot use: each refused in one line naming the option, and nothing mapped or started.
scenarios.bad_options = function()
  local cases = {
    { keymaps = { accept = '' } },
    { keymaps = { accept = true } },
    { keymaps = { acept = '<Tab>' } },
    { debounce_ms = -1 },
    { debounce_ms = 0 / 0 },
    { autotrigger = false },
  }
  result.errors = {}
  return {
    function()
      for _, extra in ipairs(cases) do
        local ok, err = pcall(setup, extra)
        table.insert(result.errors, ok and vim.NIL or tostring(err))
      end
      return true
    end,
    function()
      local bufnr = edit('a')
      result.mapped = #vim.api.nvim_buf_get_keymap(bufnr, 'i')
      result.starts = #events('start')
      result.notes = all_notes()
      return true
    end,
  }
end

-- Before setup(): every command and call says so in one line, and none raises an error.
scenarios.no_setup = function()
  local calls = {
    { 'InfillRewrite', vim.cmd, 'InfillRewrite' },
    { 'InfillFillPlaceholders', vim.cmd, 'InfillFillPlaceholders' },
    { 'InfillCloseStructure', vim.cmd, 'InfillCloseStructure' },
    { 'InfillToggle', vim.cmd, 'InfillToggle' },
    { 'InfillRestart', vim.cmd, 'InfillRestart' },
    { 'InfillTrigger', vim.cmd, 'InfillTrigger' },
    { 'InfillStatus', vim.cmd, 'InfillStatus' },
    { 'accept', infill.accept },
    { 'accept_word', infill.accept_word },
    { 'accept_line', infill.accept_line },
    { 'dismiss', infill.dismiss },
    { 'trigger', infill.trigger },
    { 'toggle', infill.toggle },
    { 'restart', infill.restart },
    { 'update_settings', infill.update_settings, { device = 'cpu' } },
    { 'run_action', infill.run_action, 'fill', 1, 1, false },
    { 'visible', infill.visible },
  }
  result.calls = {}
  return {
    open('a'),
    function()
      for _, c in ipairs(calls) do
        local before = #notes
        local ok, err = pcall(c[2], unpack(c, 3))
        local said = {}
        for i = before + 1, #notes do
          table.insert(said, notes[i].msg)
        end
        table.insert(result.calls, { name = c[1], error = not ok and tostring(err) or vim.NIL, said = said })
      end
      return true
    end,
    pause(300), -- for a message scheduled by a command
    function()
      result.notes = all_notes()
      result.status_line = infill.status()
      return true
    end,
  }
end

-- The trigger key after the server was killed: says once that it stopped, and how to start it again.
scenarios.crash_trigger = function()
  setup({ auto_trigger = false })
  return {
    open('a'),
    ready,
    function()
      uv.kill(events('start')[1].pid, 9)
      return true
    end,
    function()
      return client.get() == nil
    end,
    pause(300),
    function()
      result.before = plugin_notes()
      return insert_at_end(bufs.a, 1)
    end,
    press('<M-\\>'),
    pause(200),
    press('<M-\\>'),
    pause(200),
    function()
      result.after = plugin_notes()
      result.starts = #events('start')
      result.line = vim.api.nvim_get_current_line()
      return true
    end,
  }
end

-- A suggestion shown in insert mode, then <Insert> to Replace mode and a character of it typed there.
scenarios.replace = function()
  setup()
  return {
    open('a'),
    ready,
    insert_in('a'),
    ghost_into('ghost', 3000),
    press('<Insert>', 'n'),
    function()
      return vim.api.nvim_get_mode().mode == 'R'
    end,
    pause(200),
    function()
      result.entered = { mode = vim.api.nvim_get_mode().mode, ghost = ghost() or false }
      keys('a', 'n')
      return true
    end,
    pause(300),
    function()
      result.typed = { line = vim.api.nvim_get_current_line(), ghost = ghost() or false }
      keys('<Esc>', 'n')
      return true
    end,
  }
end

-- The same file read again (:e!), and deleted and opened again (:bd, :e): its autocommands each time.
scenarios.reopen = function()
  setup()
  return {
    open('a'),
    ready,
    function()
      result.autocmds = { autocmds_of(bufs.a) }
      vim.cmd('edit!')
      table.insert(result.autocmds, autocmds_of(bufs.a))
      edit('b.py')
      vim.cmd('bdelete ' .. bufs.a)
      bufs.a = edit('a.py')
      table.insert(result.autocmds, autocmds_of(bufs.a))
      return true
    end,
    insert_in('a'),
    ghost_into('ghost', 3000),
  }
end

-- Text of screen row `row` (1-based), trailing blanks left out.
local function screen_row(row)
  vim.cmd('redraw!')
  local cells = {}
  for col = 1, vim.o.columns do
    table.insert(cells, vim.fn.screenstring(row, col))
  end
  return (table.concat(cells):gsub('%s+$', ''))
end

-- A two-line suggestion at the end of a line with a diagnostic's text at its end, and at the end of a line that
-- reaches the window's edge: how it is drawn, and what the screen shows.
scenarios.multiline = function()
  setup({ auto_trigger = false })
  local long = 'x = WORDS ' .. string.rep('v', 66)
  local function shown(key, row)
    return {
      function()
        vim.api.nvim_win_set_cursor(0, { row, 0 })
        vim.cmd('startinsert!')
        return true
      end,
      ghost_into(key, 3000),
      function()
        local mark = vim.api.nvim_buf_get_extmarks(0, infill.namespace, 0, -1, { details = true })[1][4]
        local lines = {}
        for _, line in ipairs(mark.virt_lines or {}) do
          table.insert(lines, line[1][1])
        end
        result[key] = { pos = mark.virt_text_pos, first = mark.virt_text[1][1], lines = lines,
                        screen = { screen_row(row), screen_row(row + 1), screen_row(row + 2) } }
        keys('<Esc>', 'n')
        return true
      end,
      until_or(1000, function()
        return vim.api.nvim_get_mode().mode == 'n'
      end),
    }
  end
  local steps = {
    open('a'),
    ready,
    function()
      vim.o.columns, vim.wo.signcolumn, vim.wo.number = 80, 'no', false
      vim.api.nvim_buf_set_lines(bufs.a, 0, -1, false, { 'x = WORDS', long })
      local ns = vim.api.nvim_create_namespace('infill-test')
      vim.diagnostic.config({ virtual_text = true, signs = false })
      vim.diagnostic.set(ns, bufs.a, { { lnum = 0, col = 0, message = 'DIAG', severity = vim.diagnostic.severity.ERROR } })
      return true
    end,
  }
  vim.list_extend(steps, shown('diagnostic', 1))
  vim.list_extend(steps, shown('edge', 2))
  return steps
end

-- A statusline built on status() (with no key pressed), and the User InfillStatus events, as the server's state
-- changes and as it exits.
scenarios.statusline = function()
  setup()
  _G.INFILL_SL = function()
    _G.INFILL_SL_LAST = infill.status(true)
    return _G.INFILL_SL_LAST
  end
  local events_seen = 0
  vim.api.nvim_create_autocmd('User', { pattern = 'InfillStatus', callback = function()
    events_seen = events_seen + 1
  end })
  vim.o.laststatus, vim.o.statusline = 2, '%!v:lua.INFILL_SL()'
  return {
    open('a'),
    ready,
    pause(300),
    function()
      vim.cmd('redrawstatus')
      result.before = { shown = _G.INFILL_SL_LAST, events = events_seen }
      -- The scripted server cannot load it and says so: a "warning".
      infill.update_settings({ modelPath = file('broken-model') })
      return true
    end,
    until_or(3000, function()
      return infill.status(true) ~= result.before.shown
    end),
    pause(300),
    function()
      result.changed = { shown = _G.INFILL_SL_LAST, status = infill.status(true), events = events_seen }
      uv.kill(events('start')[1].pid, 9)
      return true
    end,
    until_or(3000, function()
      return client.get() == nil
    end),
    pause(300),
    function()
      result.exited = { shown = _G.INFILL_SL_LAST, status = infill.status(true), events = events_seen }
      return true
    end,
  }
end

-- Commands run from insert mode (i_CTRL-O): one that writes the file, then :InfillTrigger with suggestions while
-- typing off (its explicit request is the only one).
scenarios.ctrl_o = function()
  setup({ auto_trigger = vim.env.INFILL_AUTO == '1' })
  local back = nil
  vim.api.nvim_create_autocmd('ModeChanged', { pattern = 'niI:i', callback = function()
    back = uv.now()
  end })
  -- Back in insert mode for longer than the plugin's pause and the scripted server's answer take.
  local function settled()
    return until_or(6000, function()
      return back ~= nil and uv.now() > back + 500
    end)
  end
  return {
    open('a'),
    ready,
    insert_in('a'),
    ghost_into('ghost', 3000),
    function()
      back = nil
      -- Typed, as the user types it: Neovim then keeps the message of the write on screen for a while before it
      -- goes back to insert mode.
      vim.api.nvim_input('<C-o>:w<CR>')
      return true
    end,
    settled(),
    function()
      result.after_write = { mode = vim.api.nvim_get_mode().mode, ghost = ghost() or false }
      if vim.env.INFILL_AUTO ~= '1' then
        infill.dismiss()
      end
      back = nil
      vim.api.nvim_input('<C-o>:InfillTrigger<CR>')
      return true
    end,
    settled(),
    function()
      local kinds = {}
      for _, ev in ipairs(events('inline')) do
        table.insert(kinds, ev.trigger)
      end
      result.after_trigger = { mode = vim.api.nvim_get_mode().mode, ghost = ghost() or false,
                               notes = plugin_notes(), trigger_kinds = kinds }
      return true
    end,
  }
end

-- Typing into a suggestion at the end of a line of 2 MB (minified code): how much of that line the plugin reads and
-- measures per key.
scenarios.long_line = function()
  setup({ auto_trigger = false })
  local read, measured = 0, 0
  return {
    open('a'),
    ready,
    lines_of_a({ 'x = [' .. string.rep('1,', 1000000) .. ']; y = ' }),
    ghost_into('ghost', 5000),
    function()
      local get_lines, width = vim.api.nvim_buf_get_lines, vim.fn.strdisplaywidth
      -- Neovim's own LSP client reads the buffer too, to send it.
      local function by_plugin()
        return debug.getinfo(3, 'S').source:find('/lua/infill/', 1, true) ~= nil
      end
      vim.api.nvim_buf_get_lines = function(...)
        local lines = get_lines(...)
        if by_plugin() then
          for _, line in ipairs(lines) do
            read = read + #line
          end
        end
        return lines
      end
      vim.fn.strdisplaywidth = function(text, ...)
        if by_plugin() then
          measured = measured + #text
        end
        return width(text, ...)
      end
      result.restore = function()
        vim.api.nvim_buf_get_lines, vim.fn.strdisplaywidth = get_lines, width
      end
      keys('abc')
      return true
    end,
    until_or(3000, function()
      return ghost() == 'def'
    end),
    function()
      result.restore()
      result.restore = nil
      result.line_bytes = #vim.api.nvim_get_current_line()
      result.ghost_after = ghost() or false
      result.read, result.measured = read, measured
      return true
    end,
  }
end

-- :checkhealth vim.deprecated (Neovim 0.11 on) after setup().
scenarios.deprecated = function()
  setup()
  return {
    function()
      if vim.fn.has('nvim-0.11') == 1 then
        vim.cmd('checkhealth vim.deprecated')
        result.report = vim.api.nvim_buf_get_lines(0, 0, -1, false)
      end
      return true
    end,
  }
end

local function finish(status)
  result.status = status
  result.all_notes = notes
  local v = vim.version()
  result.nvim_version = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  result.messages = vim.api.nvim_exec('messages', true)
  local f = assert(io.open(env.INFILL_RESULT, 'w'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd('qall!')
end

local steps = scenarios[env.INFILL_SCENARIO]()
local index = 1
local deadline = uv.now() + 20000
local timer = uv.new_timer()
timer:start(50, 50, vim.schedule_wrap(function()
  if index > #steps then
    return
  end
  local ok, done = pcall(steps[index])
  if not ok or done or uv.now() > deadline then
    if not ok then
      result.error = 'step ' .. index .. ': ' .. tostring(done)
    elseif not done then
      result.error = 'timed out at step ' .. index
    end
    table.insert(result.stages, index)
    index = ok and done and index + 1 or #steps + 1
    if index > #steps then
      timer:stop()
      finish(result.error and 'error' or 'ok')
    end
  end
end))
