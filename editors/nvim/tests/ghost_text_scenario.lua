-- A headless session with the plugin and a real server: open a file, enter insert mode,
-- ask for a suggestion and find its ghost text; dismiss it with the dismiss key; press the
-- accept key with nothing shown; show it again and leave insert mode; show it once more, type
-- its first character, accept its next word with the accept-word key and the rest with the
-- accept key; then rewrite another line with :InfillRewrite (the server's rewrite command,
-- applied through workspace/applyEdit), and with Neovim's own code action menu, first with the buffer
-- 'nomodifiable', counting the server's model runs; then turn suggestions off with :InfillToggle, type,
-- and on again, type, counting the completions the server was asked for. Writes what it saw
-- as JSON and quits.
--
-- Environment: INFILL_PLUGIN (plugin directory), INFILL_CMD (server command, JSON list),
-- INFILL_FILE (file to open), INFILL_ROW / INFILL_COL (1-based line, 0-based byte column
-- where insert mode starts), INFILL_REWRITE_ROW (1-based line to rewrite), INFILL_RESULT
-- (JSON output), INFILL_TIMEOUT_MS.
local env = vim.env
vim.opt.runtimepath:prepend(env.INFILL_PLUGIN)
vim.cmd('runtime plugin/infill.lua')
vim.lsp.set_log_level('WARN')

local infill = require('infill')
infill.setup({
  cmd = vim.json.decode(env.INFILL_CMD),
  settings = { maxHoleTokens = 16 },
  debounce_ms = 20,
})

local deadline = vim.loop.now() + tonumber(env.INFILL_TIMEOUT_MS)
local result = { stages = {} }
local bufnr

local function extmarks()
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, infill.namespace, 0, -1, { details = true })
  local out = {}
  for _, m in ipairs(marks) do
    local d = m[4]
    table.insert(out, {
      row = m[2],
      col = m[3],
      virt_text = d.virt_text or {},
      virt_lines = d.virt_lines or {},
      virt_text_pos = d.virt_text_pos,
    })
  end
  return out
end

local function ghost_text(marks)
  local parts = {}
  for _, chunk in ipairs(marks[1].virt_text) do
    if chunk[2] == 'InfillGhostText' then
      table.insert(parts, chunk[1])
    end
  end
  for _, line in ipairs(marks[1].virt_lines) do
    local text = {}
    for _, chunk in ipairs(line) do
      if chunk[2] == 'InfillGhostText' then
        table.insert(text, chunk[1])
      end
    end
    table.insert(parts, '\n' .. table.concat(text))
  end
  return table.concat(parts)
end

local function finish(status)
  result.status = status
  result.nvim_version = tostring(vim.version().major) .. '.' .. vim.version().minor .. '.' .. vim.version().patch
  result.messages = vim.api.nvim_exec('messages', true)
  result.lsp_log = vim.lsp.get_log_path()
  local f = assert(io.open(env.INFILL_RESULT, 'w'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd('qall!')
end

local function client_ready()
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = bufnr }) or vim.lsp.buf_get_clients(bufnr)
  for _, c in pairs(clients) do
    if c.name == 'infill' and c.initialized then
      return true
    end
  end
  return false
end

local function keys(k)
  -- 'm': through mappings, as if typed, so the plugin's own key mappings run.
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(k, true, false, true), 'm', false)
end

local function line_text(row)
  return vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1]
end

local row, col = tonumber(env.INFILL_ROW), tonumber(env.INFILL_COL)
local trigger_at = 0
local quiet_until = 0

-- The number of completions the server has been asked for, from its infill.stats command, into
-- result.toggle[key] once it answers.
local function requests_seen(key)
  result.toggle.pending = true
  local c = require('infill.client').get()
  require('infill.compat').request(c, 'workspace/executeCommand', { command = 'infill.stats' }, function(err, res)
    result.toggle[key] = err == nil and res.requests or -1
    result.toggle.pending = false
  end, bufnr)
end

-- The server's model runs so far, from its infill.stats command, into result.menu[key] once it answers.
local function model_runs(key)
  local c = require('infill.client').get()
  require('infill.compat').request(c, 'workspace/executeCommand', { command = 'infill.stats' }, function(err, res)
    result.menu[key] = err == nil and res.model_runs or -1
  end, bufnr)
end

-- Picks the server's `title` from Neovim's own code action menu over line `target`, as a user does.
local function pick_from_menu(title, target)
  result.menu.offered = {}
  vim.ui.select = function(items, _, on_choice)
    for _, item in ipairs(items) do
      local action = item.action or item[2] -- { client_id, action } before Neovim 0.8
      table.insert(result.menu.offered, action.title)
      if action.title == title then
        return on_choice(item)
      end
    end
    on_choice(nil)
  end
  local first, last = { target, 0 }, { target, #line_text(target) }
  if vim.fn.has('nvim-0.8') == 1 then
    vim.lsp.buf.code_action({ range = { start = first, ['end'] = last } })
  else
    vim.lsp.buf.range_code_action(nil, first, last)
  end
end

-- Each step returns true once done; it runs again on the next tick until then.
local function wait_for_ghost(record)
  return function()
    if vim.api.nvim_get_mode().mode ~= 'i' then
      return false
    end
    local marks = extmarks()
    if #marks > 0 then
      if record then
        result.before_accept = { line = line_text(row), cursor = vim.api.nvim_win_get_cursor(0) }
        result.extmarks = marks
        result.ghost = ghost_text(marks)
        result.tick_before_accept = vim.api.nvim_buf_get_changedtick(bufnr)
      end
      trigger_at = 0
      return true
    end
    -- Ask explicitly as well, now and again: an automatic request may have been answered
    -- before the model finished loading.
    if vim.loop.now() >= trigger_at then
      infill.trigger()
      trigger_at = vim.loop.now() + 2000
    end
    return false
  end
end

local function enter_insert()
  if col >= #line_text(row) then
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    vim.cmd('startinsert!') -- append: a normal-mode cursor cannot stand past the last character
  else
    vim.api.nvim_win_set_cursor(0, { row, col })
    vim.cmd('startinsert')
  end
  return true
end

-- Each step returns true once done; it runs again on the next tick until then.
local steps = {
  { 'open', function()
    vim.cmd('edit ' .. vim.fn.fnameescape(env.INFILL_FILE))
    bufnr = vim.api.nvim_get_current_buf()
    result.original_line = line_text(row)
    return true
  end },
  { 'server initialized', client_ready },
  { 'insert mode', enter_insert },
  { 'ghost text shown', wait_for_ghost(false) },
  { 'dismiss key', function()
    keys('<C-]>')
    return true
  end },
  { 'ghost text dismissed', function()
    if #extmarks() > 0 then
      return false
    end
    result.dismissed = { line = line_text(row), mode = vim.api.nvim_get_mode().mode }
    return true
  end },
  { 'accept key with nothing shown', function()
    keys('<Tab>')
    return true
  end },
  { 'accept key fell through', function()
    local line = line_text(row)
    if line == result.original_line then
      return false
    end
    result.tab_fallthrough = line
    -- Put the line back as it was, by the API rather than keys, to go on from the same place.
    vim.api.nvim_buf_set_lines(bufnr, row - 1, row, false, { result.original_line })
    vim.api.nvim_win_set_cursor(0, { row, col })
    return true
  end },
  { 'ghost text shown again', wait_for_ghost(false) },
  { 'leave insert mode', function()
    keys('<Esc>')
    return true
  end },
  { 'ghost text cleared on leaving', function()
    if vim.api.nvim_get_mode().mode ~= 'n' then
      return false
    end
    result.extmarks_after_leave = #extmarks()
    return true
  end },
  { 'insert mode again', enter_insert },
  { 'ghost text shown before accepting', wait_for_ghost(true) },
  { 'type the first character of the suggestion', function()
    local first = vim.fn.strcharpart(result.ghost, 0, 1)
    if first == '\n' or first == '\t' or vim.fn.strchars(result.ghost) < 2 then
      return true -- a new line or tab would be reindented, a one-character suggestion used up
    end
    result.typed = first
    result.tick_before_accept = nil
    -- 'n': no mappings, typed as is.
    vim.api.nvim_feedkeys(first, 'n', false)
    return true
  end },
  { 'suggestion kept while typing through it', function()
    if result.typed == nil then
      return true
    end
    local original = result.original_line
    if line_text(row) ~= original:sub(1, col) .. result.typed .. original:sub(col + 1) then
      return false
    end
    local marks = extmarks()
    if #marks == 0 then
      return false
    end
    result.ghost_after_typing = ghost_text(marks)
    result.tick_before_accept = vim.api.nvim_buf_get_changedtick(bufnr)
    return true
  end },
  { 'accept-word key', function()
    local rest = result.ghost_after_typing or result.ghost
    local part = require('infill.inline').next_part(rest, 'word')
    if part == rest then
      return true -- one word: accepting it would accept the whole suggestion
    end
    result.word = { rest = rest, part = part, tick = vim.api.nvim_buf_get_changedtick(bufnr) }
    keys('<M-Right>')
    return true
  end },
  { 'word inserted, the rest still shown', function()
    if result.word == nil then
      return true
    end
    local marks = extmarks()
    if vim.api.nvim_buf_get_changedtick(bufnr) == result.word.tick or #marks == 0 then
      return false
    end
    local cursor = vim.api.nvim_win_get_cursor(0)
    result.word.lines = vim.api.nvim_buf_get_lines(bufnr, row - 1, cursor[1], false)
    result.word.cursor = cursor
    result.word.ghost_after = ghost_text(marks)
    result.word.tick = nil
    result.tick_before_accept = vim.api.nvim_buf_get_changedtick(bufnr)
    return true
  end },
  { 'accept key', function()
    keys('<Tab>')
    return true
  end },
  { 'suggestion inserted', function()
    if vim.api.nvim_buf_get_changedtick(bufnr) == result.tick_before_accept then
      return false
    end
    local cursor = vim.api.nvim_win_get_cursor(0)
    result.after_accept = {
      lines = vim.api.nvim_buf_get_lines(bufnr, row - 1, cursor[1], false),
      cursor = cursor,
      mode = vim.api.nvim_get_mode().mode,
    }
    return true
  end },
  { 'leave insert mode for the rewrite', function()
    keys('<Esc>')
    return true
  end },
  { 'rewrite a line', function()
    if vim.api.nvim_get_mode().mode ~= 'n' then
      return false
    end
    local target = tonumber(env.INFILL_REWRITE_ROW)
    result.rewrite = { row = target, before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false) }
    vim.cmd(target .. 'InfillRewrite')
    return true
  end },
  { 'line rewritten', function()
    local now = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    if vim.deep_equal(now, result.rewrite.before) then
      return false
    end
    result.rewrite.after = now
    return true
  end },
  { "an action from Neovim's menu in a nomodifiable buffer", function()
    result.menu = { notes = {} }
    local notify = vim.notify
    vim.notify = function(msg, level)
      table.insert(result.menu.notes, msg)
      return notify(msg, level)
    end
    vim.cmd('messages clear')
    model_runs('runs_before')
    vim.bo[bufnr].modifiable = false
    result.menu.lines_before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    pick_from_menu('Rewrite selection', tonumber(env.INFILL_REWRITE_ROW))
    quiet_until = vim.loop.now() + 3000 -- the model's rewrite took a second or two, its error right after it
    return true
  end },
  { 'the action refused', function()
    if vim.loop.now() < quiet_until and #result.menu.notes == 0 then
      return false
    end
    if result.menu.lines_after == nil then
      result.menu.lines_after = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
      result.menu.messages = vim.api.nvim_exec('messages', true)
      model_runs('runs_after')
    end
    return result.menu.runs_after ~= nil
  end },
  { "an action from Neovim's menu in a buffer that can be changed", function()
    vim.bo[bufnr].modifiable = true
    result.menu.changed = { before = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), notes = #result.menu.notes }
    pick_from_menu('Rewrite selection', tonumber(env.INFILL_REWRITE_ROW))
    return true
  end },
  { 'the action applied', function()
    local now = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    if vim.deep_equal(now, result.menu.changed.before) and #result.menu.notes == result.menu.changed.notes then
      return false
    end
    if result.menu.changed.after == nil then
      result.menu.changed.after = now
      model_runs('runs_applied')
    end
    return result.menu.runs_applied ~= nil
  end },
  { 'turn suggestions off', function()
    result.status_on = { infill.status(), infill.status(true) }
    vim.cmd('InfillToggle')
    result.toggle = { enabled_off = infill.enabled() }
    result.status_off = infill.status(true)
    requests_seen('before')
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    vim.cmd('startinsert!')
    return true
  end },
  { 'type with suggestions off', function()
    if vim.api.nvim_get_mode().mode ~= 'i' or result.toggle.before == nil then
      return false
    end
    vim.api.nvim_feedkeys(' ', 'n', false)
    -- Far past the plugin's pause (20 ms) and the server's (60 ms): a request would be in by then.
    quiet_until = vim.loop.now() + 1500
    return true
  end },
  { 'nothing asked while off', function()
    if vim.loop.now() < quiet_until then
      return false
    end
    if result.toggle.extmarks_off == nil then
      result.toggle.extmarks_off = #extmarks()
      requests_seen('off')
    end
    return result.toggle.off ~= nil
  end },
  { 'turn suggestions on and type', function()
    vim.cmd('InfillToggle')
    result.toggle.enabled_on = infill.enabled()
    vim.api.nvim_feedkeys(' ', 'n', false)
    return true
  end },
  { 'asked again', function()
    if result.toggle.pending then
      return false
    end
    if result.toggle.on ~= nil and result.toggle.on > result.toggle.off then
      return true
    end
    requests_seen('on')
    return false
  end },
}

local index = 1
local timer = vim.loop.new_timer()
timer:start(50, 50, vim.schedule_wrap(function()
  if index > #steps then
    return
  end
  local name, step = steps[index][1], steps[index][2]
  local ok, done = pcall(step)
  if not ok then
    result.error = name .. ': ' .. tostring(done)
    index = #steps + 1
    timer:stop()
    finish('error')
    return
  end
  if done then
    table.insert(result.stages, name)
    index = index + 1
    if index > #steps then
      timer:stop()
      finish('ok')
    end
  elseif vim.loop.now() > deadline then
    result.error = 'timed out waiting for: ' .. name
    index = #steps + 1
    timer:stop()
    finish('timeout')
  end
end))
