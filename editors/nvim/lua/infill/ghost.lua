-- Drawing a suggestion as ghost text: virtual text at the cursor for its first line and
-- virtual lines below for the rest. Only extmarks in this namespace; the buffer is untouched.
local M = {}

M.namespace = vim.api.nvim_create_namespace('infill')

local has_inline = vim.fn.has('nvim-0.10') == 1

-- Virtual text draws a tab one cell wide: each becomes the spaces that take it to the next tab stop from display
-- column `vcol`, as the text will stand once inserted.
local function expand_tabs(bufnr, text, vcol)
  local stop, out = vim.bo[bufnr].tabstop, {}
  for segment, tab in text:gmatch('([^\t]*)(\t?)') do
    table.insert(out, segment)
    vcol = vcol + vim.fn.strdisplaywidth(segment)
    if tab ~= '' then
      local width = stop - vcol % stop
      table.insert(out, string.rep(' ', width))
      vcol = vcol + width
    end
  end
  return table.concat(out)
end

local function split_lines(text)
  return vim.split(text, '\n', { plain = true })
end

function M.clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

function M.visible(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return false
  end
  return #vim.api.nvim_buf_get_extmarks(bufnr, M.namespace, 0, -1, { limit = 1 }) > 0
end

--- Draws `ghost` as if inserted at (row, col), 0-based bytes, with `rest` being what the line
--- shows after it once accepted. `label` (may be nil) is appended, e.g. " (2/3)". `line`: the text of that line,
--- where the caller has it.
function M.draw(bufnr, row, col, ghost, rest, hl, label, line)
  M.clear(bufnr)
  local lines = split_lines(ghost)
  local opts = { hl_mode = 'combine', priority = 200 }
  line = line or vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local after = line:sub(col + 1)
  -- The display column of the cursor, measured only where a tab makes it matter: on a line of megabytes
  -- (minified code) measuring it took milliseconds on every key.
  local vcol_cache
  local function vcol()
    vcol_cache = vcol_cache or vim.fn.strdisplaywidth(line:sub(1, col))
    return vcol_cache
  end
  local function expand_at(text, start)
    if not text:find('\t', 1, true) then
      return text
    end
    return expand_tabs(bufnr, text, type(start) == 'function' and start() or start)
  end
  local first_text = expand_at(lines[1], vcol)

  -- Inline virtual text pushes the real rest of the line to the right by itself, and wraps with it; an overlay is
  -- hidden under a diagnostic's text at the line's end and cut off at the window's edge. Not where the suggestion
  -- replaces some of that rest (the closer the editor inserted), which would then show twice, nor where a
  -- multi-line one leaves text after the cursor, which must be drawn again below its last line.
  if has_inline and (#lines == 1 and rest == after or after == '' and rest == '') then
    opts.virt_text = { { first_text, hl } }
    opts.virt_text_pos = 'inline'
    if #lines > 1 then
      opts.virt_lines = {}
      for i = 2, #lines do
        table.insert(opts.virt_lines, { { expand_at(lines[i], 0), hl } })
      end
    end
    if label then
      local last = #lines > 1 and opts.virt_lines[#opts.virt_lines] or opts.virt_text
      table.insert(last, { label, 'Comment' })
    end
    return vim.api.nvim_buf_set_extmark(bufnr, M.namespace, row, col, opts)
  end

  -- Overlay: the ghost covers the real text after the cursor, so the rest of the line is
  -- drawn again where it will end up, and padding hides whatever the ghost does not cover.
  local last_vcol = function()
    return #lines == 1 and vcol() + vim.fn.strdisplaywidth(first_text) or
        vim.fn.strdisplaywidth(expand_at(lines[#lines], 0))
  end
  local tail = {}
  if rest ~= '' then
    table.insert(tail, { expand_at(rest, last_vcol), 'Normal' })
  end
  if label then
    table.insert(tail, { label, 'Comment' })
  end
  local covered = 0
  if after ~= '' then
    covered = after:find('\t', 1, true) and vim.fn.strdisplaywidth(after, vcol()) or vim.fn.strdisplaywidth(after)
  end
  local first = { { first_text, hl } }
  local first_width = vim.fn.strdisplaywidth(first_text)
  if #lines == 1 then
    vim.list_extend(first, tail)
    for _, chunk in ipairs(tail) do
      first_width = first_width + vim.fn.strdisplaywidth(chunk[1])
    end
  end
  if covered > first_width then
    table.insert(first, { string.rep(' ', covered - first_width), 'Normal' })
  end
  opts.virt_text = first
  opts.virt_text_pos = 'overlay'
  if #lines > 1 then
    local virt_lines = {}
    for i = 2, #lines do
      table.insert(virt_lines, { { expand_at(lines[i], 0), hl } })
    end
    vim.list_extend(virt_lines[#virt_lines], tail)
    opts.virt_lines = virt_lines
  end
  return vim.api.nvim_buf_set_extmark(bufnr, M.namespace, row, col, opts)
end

return M
