-- The few LSP client calls (and other functions) whose spelling or reach changed between Neovim 0.7 and today.
local M = {}

local has_method_calls = vim.fn.has('nvim-0.11') == 1

function M.request(client, method, params, handler, bufnr)
  if has_method_calls then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.cancel_request(client, id)
  if has_method_calls then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

function M.notify(client, method, params)
  if has_method_calls then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.is_stopped(client)
  if has_method_calls then
    return client:is_stopped()
  end
  return client.is_stopped()
end

-- A deep copy of `value` that keeps vim.NIL (JSON null): vim.deepcopy copies it only from Neovim 0.9 on, and
-- before raises "Cannot deepcopy object of type userdata".
function M.deepcopy(value)
  if type(value) ~= 'table' then
    return value
  end
  local copy = {}
  for k, v in pairs(value) do
    copy[k] = M.deepcopy(v)
  end
  -- vim.empty_dict()'s mark, which makes an empty table a JSON object.
  return setmetatable(copy, getmetatable(value))
end

-- Byte column in `line` of an LSP character offset counted in `encoding` units.
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, col
  if vim.fn.has('nvim-0.11') == 1 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  end
  if not ok then
    return #line -- past the end of the line: clamp, as the protocol asks
  end
  return col
end

-- LSP character offset, in `encoding` units, of byte column `col` of `line`.
function M.character(line, col, encoding)
  col = math.min(col, #line)
  if encoding == 'utf-8' then
    return col
  end
  if vim.fn.has('nvim-0.11') == 1 then
    return vim.str_utfindex(line, encoding, col, false)
  end
  local utf32, utf16 = vim.str_utfindex(line, col)
  return encoding == 'utf-16' and utf16 or utf32
end

return M
