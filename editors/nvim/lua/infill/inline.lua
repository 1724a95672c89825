-- Inline completions for Neovim before 0.12: ask textDocument/inlineCompletion while typing,
-- keep the answer while the typed text agrees with it, draw it, accept it.
local compat = require('infill.compat')
local client = require('infill.client')
local ghost = require('infill.ghost')

local uv = vim.uv or vim.loop

local M = {}

local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_INVOKED = 1
local TRIGGER_AUTOMATIC = 2

-- Per buffer: timer, pending = {client, id, tick, row, col}, items, index, deferred (the kind of a request asked for
-- in a command run from insert mode, i_CTRL-O, to be sent on the return there).
local buffers = {}
local opts = nil

function M.configure(o)
  opts = o
end

local function buf_state(bufnr)
  local st = buffers[bufnr]
  if st == nil then
    st = {}
    buffers[bufnr] = st
  end
  return st
end

-- Replace mode overwrites as it types: text put in through the API is not what it overwrote, and
-- <BS> there would "restore" characters that never stood where it goes back to: no
-- suggestion is asked for, shown or accepted there, only in insert mode.
local function replacing()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == 'R'
end

-- Whether the last answer was an error: said once, not again until the server answers.
local failing = false

local function in_insert_mode()
  return vim.api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

-- The last line read, kept until the buffer changes: each key reads it for the text change and again for the
-- cursor move, several times each, which on a line of megabytes (minified code) was a copy of it every time.
local line_cache = {}

local function get_line(bufnr, row)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local c = line_cache
  if c.bufnr == bufnr and c.row == row and c.tick == tick then
    return c.line
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  line_cache = { bufnr = bufnr, row = row, tick = tick, line = line }
  return line
end

-- Plain text of a snippet: placeholders keep their default text, tab stops vanish.
local function snippet_text(snippet)
  local text = snippet:gsub('%${%d+:([^}]*)}', '%1'):gsub('%${%d+}', ''):gsub('%$%d+', '')
  return (text:gsub('\\([$}\\])', '%1'))
end

-- An answer item in buffer terms. The replaced range ends on the cursor line in every item
-- this plugin shows, so its end is kept as a distance from the end of that line, which
-- stays right while text is typed before it. So does `tail`, the text between the cursor and
-- that end: other text there means the cursor went back into what was typed.
local function to_item(raw, bufnr, row, col, encoding)
  local text = raw.insertText
  if type(text) == 'table' then
    text = text.kind == 'snippet' and snippet_text(text.value or '') or text.value
  end
  if type(text) ~= 'string' or text == '' then
    return nil
  end
  -- A CRLF document gets CRLF fills; a buffer holds lines, and its 'fileformat' writes the
  -- breaks, so a '\r' kept here would be drawn and inserted as ^M.
  text = text:gsub('\r\n', '\n'):gsub('\r', '\n')
  local start_row, start_col, end_col = row, col, col
  local line = get_line(bufnr, row)
  if type(raw.range) == 'table' then
    local s, e = raw.range.start, raw.range['end']
    if s.line ~= row or e.line ~= row then
      return nil -- a replacement spanning other lines cannot be drawn at the cursor
    end
    start_row = s.line
    start_col = compat.byte_col(line, s.character, encoding)
    end_col = compat.byte_col(line, e.character, encoding)
    if start_col > col or end_col < col then
      return nil
    end
  end
  return {
    row = start_row,
    start_col = start_col,
    end_from_eol = #line - end_col,
    tail = line:sub(col + 1, end_col),
    text = text,
    command = raw.command,
  }
end

-- What is left to show of `item` with the cursor where it is now, or nil when the text
-- typed since the answer no longer agrees with it.
local function view(bufnr, item)
  local row, col = cursor()
  if row ~= item.row or col < item.start_col then
    return nil
  end
  local line = get_line(bufnr, row)
  local end_col = #line - item.end_from_eol
  if end_col < col or line:sub(col + 1, end_col) ~= item.tail then
    return nil
  end
  local typed = line:sub(item.start_col + 1, col)
  if item.text:sub(1, #typed) ~= typed then
    return nil
  end
  local rest = item.text:sub(#typed + 1)
  if rest == '' then
    return nil
  end
  return { row = row, col = col, ghost = rest, end_col = end_col, after = line:sub(end_col + 1), line = line }
end

local function render(bufnr)
  local st = buffers[bufnr]
  if st == nil or st.items == nil then
    ghost.clear(bufnr)
    return false
  end
  -- Only the items the text typed since still agrees with stay; the one shown, if it is among them.
  local kept, index = {}, 1
  for i, item in ipairs(st.items) do
    if view(bufnr, item) ~= nil then
      table.insert(kept, item)
      if i == st.index then
        index = #kept
      end
    end
  end
  if #kept == 0 then
    st.items, st.picked = nil, nil
    ghost.clear(bufnr)
    return false
  end
  st.items, st.index = kept, index
  local v = view(bufnr, kept[index])
  local label = #st.items > 1 and string.format(' (%d/%d)', st.index, #st.items) or nil
  ghost.draw(bufnr, v.row, v.col, v.ghost, v.after, opts.hl_group, label, v.line)
  return true
end

local function cancel_pending(st)
  if st.pending ~= nil then
    pcall(compat.cancel_request, st.pending.client, st.pending.id)
    st.pending = nil
  end
end

local function stop_timer(st)
  if st.timer ~= nil then
    st.timer:stop()
  end
end

local function supports_inline(c)
  local caps = c.server_capabilities or {}
  return caps.inlineCompletionProvider ~= nil and caps.inlineCompletionProvider ~= false
end

--- Asks the server for a suggestion at the cursor of the current window.
function M.request(bufnr, trigger_kind)
  -- In a command run from insert mode (<C-o>:InfillTrigger<CR>) the cursor stands one character back, and leaving
  -- the command dropped what was asked there: it is asked for once insert mode is back (M.on_return).
  if vim.api.nvim_get_mode().mode:sub(1, 2) == 'ni' then
    buf_state(bufnr).deferred = trigger_kind or TRIGGER_INVOKED
    return true
  end
  local c = client.get()
  if c == nil or not c.initialized or not supports_inline(c) then
    return false
  end
  if vim.api.nvim_get_current_buf() ~= bufnr or not vim.lsp.buf_is_attached(bufnr, c.id) then
    return false -- a buffer the server does not have (its filetype not enabled) gets no suggestion
  end
  if not vim.bo[bufnr].modifiable then
    return false -- no suggestion that could not be inserted
  end
  if replacing() then
    return false
  end
  local st = buf_state(bufnr)
  cancel_pending(st)
  stop_timer(st) -- this answers for the cursor as it is; the pause's request would only replace it
  local params = vim.lsp.util.make_position_params(0, c.offset_encoding)
  params.context = { triggerKind = trigger_kind or TRIGGER_INVOKED }
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local row, col = cursor()
  local ok, id
  ok, id = compat.request(c, METHOD, params, function(err, result)
    if st.pending == nil or st.pending.id ~= id then
      return -- superseded by a later request
    end
    st.pending = nil
    if err ~= nil then
      -- Once until an answer comes: a message that differs each time (a time, a size in it) was
      -- shown on every keystroke.
      if not failing then
        failing = true
        vim.notify('infill: ' .. (err.message or vim.inspect(err)), vim.log.levels.WARN)
      end
      return
    end
    failing = false
    if vim.api.nvim_get_current_buf() ~= bufnr or not in_insert_mode() then
      return
    end
    local now_row, now_col = cursor()
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or now_row ~= row or now_col ~= col then
      return -- the text or cursor moved on; the next request answers for where it is now
    end
    local items = {}
    for _, raw in ipairs((result and (result.items or result)) or {}) do
      local item = to_item(raw, bufnr, row, col, c.offset_encoding)
      if item ~= nil and view(bufnr, item) ~= nil then
        table.insert(items, item)
      end
    end
    -- The item picked among an earlier answer's (the next and previous keys), typed into since and still agreeing,
    -- stays shown: the new answer's with the same rest, else the picked one, put first.
    local picked = st.items ~= nil and st.picked or nil
    local picked_view = picked ~= nil and view(bufnr, picked) or nil
    local index = 1
    if picked_view ~= nil then
      index = nil
      for i, item in ipairs(items) do
        if view(bufnr, item).ghost == picked_view.ghost then
          index = i
          break
        end
      end
      if index == nil then
        table.insert(items, 1, picked)
        index = 1
      end
    end
    if #items == 0 then
      st.items, st.picked = nil, nil
      ghost.clear(bufnr)
      return
    end
    st.items, st.index = items, index
    render(bufnr)
  end, bufnr)
  if ok then
    st.pending = { client = c, id = id, tick = tick, row = row, col = col }
  end
  return ok
end

--- Called when insert mode is back after a command run from it (i_CTRL-O): sends what the command asked for.
function M.on_return(bufnr)
  local st = buffers[bufnr]
  local kind = st and st.deferred
  if kind ~= nil then
    st.deferred = nil
    -- Scheduled: the cursor goes back to where insert mode left it only after this mode change.
    vim.schedule(function()
      if in_insert_mode() and vim.api.nvim_get_current_buf() == bufnr then
        M.request(bufnr, kind)
      end
    end)
  end
end

--- Forgets what a command run from insert mode asked for, where insert mode is not coming back.
function M.forget_deferred(bufnr)
  if buffers[bufnr] ~= nil then
    buffers[bufnr].deferred = nil
  end
end

--- Called on every text change and cursor move in insert mode; `ask`: whether to ask for a
--- suggestion after the pause, or only to redraw what is shown.
function M.on_edit(bufnr, ask)
  if replacing() then
    M.dismiss(bufnr)
    return
  end
  render(bufnr)
  if not ask then
    return
  end
  local st = buf_state(bufnr)
  local p = st.pending
  if p ~= nil and p.tick == vim.api.nvim_buf_get_changedtick(bufnr) then
    local row, col = cursor()
    if p.row == row and p.col == col then
      -- Nothing changed since that request (the cursor events of coming back to insert mode): asking again
      -- would only cancel it, and an explicit request's answer (every candidate) with it.
      return
    end
  end
  if st.timer == nil then
    st.timer = uv.new_timer()
  end
  st.timer:stop()
  st.timer:start(opts.debounce_ms, 0, vim.schedule_wrap(function()
    if in_insert_mode() and vim.api.nvim_get_current_buf() == bufnr and vim.fn.pumvisible() == 0 then
      M.request(bufnr, TRIGGER_AUTOMATIC)
    end
  end))
end

function M.visible(bufnr)
  local st = buffers[bufnr]
  return st ~= nil and st.items ~= nil and ghost.visible(bufnr)
end

-- The shown item and what is left of it to show now (nil when the text moved on), or nil.
local function shown_item(bufnr)
  if not M.visible(bufnr) then
    return nil
  end
  local st = buffers[bufnr]
  local item = st.items[st.index]
  return item, view(bufnr, item)
end

-- What was typed before a suggestion is accepted is one undo step, the accepted text another, and what is typed
-- after it a third: without the breaks on both sides, one `u` took back the accepted text with its neighbour.
local function break_undo()
  vim.go.undolevels = vim.go.undolevels -- the global value: a buffer's own stays as it is
end

-- After the inserted text closing the step is not enough in Neovim 0.7: the insert goes on without starting a new
-- one, and what is typed next was taken back with the accepted text. The insert-mode key that starts one
-- (i_CTRL-G_u) follows, in front of any keys typed ahead.
local function break_undo_after()
  break_undo()
  if in_insert_mode() then
    vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<C-g>u', true, false, true), 'ni', false)
  end
end

-- Replaces text of `bufnr` as accepting does: 'done'; 'refused' where the buffer takes no change (one line says why,
-- and the suggestion stays); 'later' where the change must wait: an <expr> mapping runs with the text locked, so
-- `again` runs once it has returned (with `retried` set: a second failure is said in one line, not waited for).
local function replace_text(bufnr, row, start_col, end_row, end_col, lines, again, retried)
  if not vim.bo[bufnr].modifiable then
    vim.notify("infill: the buffer is not 'modifiable'; the suggestion is not inserted", vim.log.levels.WARN)
    return 'refused'
  end
  local ok, err = pcall(vim.api.nvim_buf_set_text, bufnr, row, start_col, end_row, end_col, lines)
  if ok then
    return 'done'
  end
  if retried then
    vim.notify('infill: the suggestion could not be inserted: ' .. tostring(err):gsub('^.-:%d+: ', ''),
      vim.log.levels.WARN)
    return 'refused'
  end
  vim.schedule(again)
  return 'later'
end

--- Inserts the shown suggestion. Returns false when none is shown. From an <expr> mapping, where no text may
--- change until it returns, the insert follows right after it (and true is returned); true too where the buffer
--- takes no change, which is said: the key falling through as well added Neovim's E21, or typed a <Tab> there.
function M.accept(bufnr, retried)
  local item, v = shown_item(bufnr)
  if item == nil or replacing() then
    return false
  end
  if v == nil then
    M.dismiss(bufnr)
    return false
  end
  break_undo()
  local lines = vim.split(item.text, '\n', { plain = true })
  local done = replace_text(bufnr, item.row, item.start_col, item.row, v.end_col, lines,
    function() M.accept(bufnr, true) end, retried)
  if done ~= 'done' then
    return true
  end
  M.dismiss(bufnr)
  break_undo_after()
  local last_row = item.row + #lines - 1
  local last_col = #lines == 1 and item.start_col + #lines[1] or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { last_row + 1, last_col })
  if item.command ~= nil then
    local c = client.get()
    if c ~= nil then
      compat.request(c, 'workspace/executeCommand', item.command, function() end, bufnr)
    end
  end
  return true
end

-- Bytes of a word: ASCII letters, digits, underscore, and every byte of a multibyte UTF-8
-- character, so that a part never ends inside one.
local WORD = '[%w_\128-\255]'

--- The first part of `text` that accepting a word ('word') or a line ('line') takes: leading
--- whitespace (line breaks too) and then one word or one run of other characters; or the text
--- up to its next line break, and the break with the line after it when it starts with one.
function M.next_part(text, unit)
  local part
  if unit == 'line' then
    part = text:match('^\n[^\n]*') or text:match('^[^\n]+')
  else
    part = text:match('^%s*' .. WORD .. '+') or text:match('^%s*[^%w_%s\128-\255]+')
  end
  return part or text
end

--- Inserts the next word or line (`unit`) of the shown suggestion and keeps showing the rest,
--- which is what the server would answer once it is typed. Returns false when none is shown.
function M.accept_part(bufnr, unit, retried)
  local item, v = shown_item(bufnr)
  if v == nil or replacing() then
    return false
  end
  local part = M.next_part(v.ghost, unit)
  if part == v.ghost then
    return M.accept(bufnr, retried) -- all that is left: replaces the item's range and runs its command
  end
  local rest = M.rest_after(item, v, part)
  break_undo()
  local done = replace_text(bufnr, v.row, v.col, v.row, v.col, vim.split(part, '\n', { plain = true }),
    function() M.accept_part(bufnr, unit, true) end, retried)
  if done ~= 'done' then
    return true
  end
  local st = buffers[bufnr]
  st.items, st.index = { rest }, 1
  break_undo_after()
  vim.api.nvim_win_set_cursor(0, { rest.row + 1, rest.start_col })
  render(bufnr)
  return true
end

--- The item that is left of `item` (shown as view `v`) once `part` of it is inserted at the
--- cursor; the cursor then stands at its start. Text after the cursor moves along with the
--- part, so the end of the replaced range stays the same distance from the end of the line.
function M.rest_after(item, v, part)
  local lines = vim.split(part, '\n', { plain = true })
  return {
    row = v.row + #lines - 1,
    start_col = #lines == 1 and v.col + #part or #lines[#lines],
    end_from_eol = item.end_from_eol,
    tail = item.tail,
    text = v.ghost:sub(#part + 1),
    command = item.command,
  }
end

--- Hides the suggestion and forgets pending requests. Returns whether one was shown.
function M.dismiss(bufnr)
  local shown = M.visible(bufnr)
  local st = buffers[bufnr]
  if st ~= nil then
    stop_timer(st)
    cancel_pending(st)
    st.items, st.picked = nil, nil
  end
  ghost.clear(bufnr)
  return shown
end

--- Shows the next (delta 1) or previous (delta -1) suggestion of the last answer.
function M.cycle(bufnr, delta)
  local st = buffers[bufnr]
  -- Rendered first, so that the step goes among the items the typed text still agrees with.
  if st == nil or st.items == nil or not render(bufnr) then
    return false
  end
  st.index = (st.index - 1 + delta) % #st.items + 1
  st.picked = st.items[st.index]
  return render(bufnr)
end

--- Hides what is shown in every buffer and forgets pending requests.
function M.dismiss_all()
  for bufnr in pairs(buffers) do
    M.dismiss(bufnr)
  end
end

function M.detach(bufnr)
  M.dismiss(bufnr)
  local st = buffers[bufnr]
  if st ~= nil and st.timer ~= nil then
    st.timer:close()
  end
  buffers[bufnr] = nil
end

M.TRIGGER_INVOKED = TRIGGER_INVOKED
M.TRIGGER_AUTOMATIC = TRIGGER_AUTOMATIC

return M
