-- Options of the plugin, with their defaults. `settings` goes to the server as is (vim.NIL for one takes it
-- out); the server reads camelCase keys (modelPath, device, dtype, maxHoleTokens, maxSteps, typingMaxSteps,
-- typingNewLines, debounceMs, enabledLanguages, numCandidates, fileLookup, neighborFiles, threads, prefixTokens).
local M = {}

M.defaults = {
  cmd = { 'infill-ls', '--stdio' },
  -- Filetypes whose buffers attach to the server; '*' attaches every file buffer.
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'go', 'rust', 'java', 'c', 'cpp',
  },
  settings = {},
  -- Ask for a suggestion while typing; otherwise only the trigger key asks.
  auto_trigger = true,
  -- Pause before asking, to send one request per burst of keys; the server waits
  -- `settings.debounceMs` more before it computes anything.
  debounce_ms = 30,
  -- Keys in insert mode; false leaves a key unmapped. All but trigger fall through to their
  -- usual meaning when no suggestion is shown.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>', -- the next word of the suggestion; the rest stays shown
    accept_line = '<M-C-Right>', -- the rest of its current line (then each next line)
    dismiss = '<C-]>',
    trigger = '<M-\\>',
    next = '<M-]>',
    prev = '<M-[>',
  },
  hl_group = 'InfillGhostText',
  -- Neovim 0.12 and later draw suggestions themselves (vim.lsp.inline_completion) when
  -- auto_trigger is on; set false to use this plugin's drawing there too.
  use_builtin_inline_completion = true,
}

-- The server's own value of each of its settings (vim.NIL: null), as infill_ls.settings.Settings and the VS Code
-- extension's package.json have them: a setting taken out of `settings` is sent with it. Sent as null instead, the
-- server would read null as a value of its own where it has one (typingMaxSteps: as maxSteps).
M.server_defaults = {
  modelPath = vim.NIL,
  device = 'auto',
  dtype = 'auto',
  maxHoleTokens = 48,
  maxSteps = vim.NIL,
  typingMaxSteps = 6,
  typingNewLines = vim.NIL,
  debounceMs = 60,
  enabledLanguages = { '*' },
  numCandidates = 3,
  fileLookup = true,
  neighborFiles = true,
  threads = vim.NIL,
  prefixTokens = vim.NIL,
}

-- Settings the server also takes on its command line (--model, --device, --dtype, --threads in `cmd`): only a new
-- server goes back to that value, so taking one of these out restarts the server rather than sending a default.
M.command_line_settings = { modelPath = true, device = true, dtype = true, threads = true }

--- `settings` without the keys given vim.NIL, which takes a setting out: the server's own value applies.
function M.without_nil(settings)
  local out = {}
  for key, value in pairs(settings) do
    if value ~= vim.NIL then
      out[key] = value
    end
  end
  return out
end

-- An error of the user's options: one line, with no place in this file before it.
local function refuse(fmt, ...)
  error(fmt:format(...), 0)
end

local TYPES = {
  { 'cmd', 'table' }, { 'filetypes', 'table' }, { 'settings', 'table' }, { 'auto_trigger', 'boolean' },
  { 'debounce_ms', 'number' }, { 'keymaps', 'table' }, { 'hl_group', 'string' },
  { 'use_builtin_inline_completion', 'boolean' },
}
-- vim.validate's table form is deprecated from Neovim 0.11 on (`:checkhealth vim.deprecated` warns of it), and its
-- per-field form is not there before.
local per_field_validate = vim.fn.has('nvim-0.11') == 1

local function check(opts)
  -- A misspelt option (`autotrigger`) was ignored without a word, its default kept.
  for name in pairs(opts) do
    if M.defaults[name] == nil then
      local names = vim.tbl_keys(M.defaults)
      table.sort(names)
      refuse('infill: setup{} has no option %q; its options are %s', name, table.concat(names, ', '))
    end
  end
  for _, field in ipairs(TYPES) do
    local name, kind = field[1], field[2]
    local ok, err
    if per_field_validate then
      ok, err = pcall(vim.validate, name, opts[name], kind)
    else
      ok, err = pcall(vim.validate, { [name] = { opts[name], kind } })
    end
    if not ok then
      refuse('infill: setup{} %s', (tostring(err):gsub('^.-:%d+: ', '')))
    end
  end
  if #opts.cmd == 0 or opts.cmd[1] == '' then
    refuse('infill: setup{cmd=...} must name the server executable, e.g. {"infill-ls", "--stdio"}')
  end
  -- A number in one was taken without a word: it never matched a filetype, and the server did not start.
  for _, name in ipairs({ 'cmd', 'filetypes' }) do
    for i, item in ipairs(opts[name]) do
      if type(item) ~= 'string' then
        refuse('infill: setup{%s=...} must be a list of strings; item %d is %s', name, i,
          vim.inspect(item, { newline = ' ', indent = '' }))
      end
    end
  end
  -- A negative delay is taken by the timer, which then never fires: no suggestion while typing, and no word why.
  if not (opts.debounce_ms >= 0 and opts.debounce_ms < math.huge) then
    refuse('infill: setup{debounce_ms=...} must be 0 or more milliseconds, got %s', opts.debounce_ms)
  end
  -- Checked here, not when a buffer is mapped: there, one bad key failed each buffer's mapping with a stack trace
  -- and left the keys after it unmapped.
  for name, key in pairs(opts.keymaps) do
    local default = M.defaults.keymaps[name]
    if default == nil then
      local names = vim.tbl_keys(M.defaults.keymaps)
      table.sort(names)
      refuse('infill: setup{keymaps=...} has no key %q; its keys are %s', name, table.concat(names, ', '))
    end
    if key ~= false and (type(key) ~= 'string' or key == '') then
      refuse('infill: setup{keymaps={%s=...}} must be a key such as %q, or false to leave it unmapped; got %s',
        name, default, vim.inspect(key))
    end
  end
end

function M.resolve(user)
  -- Anything else failed in vim.tbl_deep_extend, with a place in Neovim's files before the message.
  if user ~= nil and type(user) ~= 'table' then
    refuse('infill: setup() takes a table of options, got %s', type(user))
  end
  local opts = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), user or {})
  -- Lists replace, not merge: a user's shorter list must not keep the default's tail.
  for _, key in ipairs({ 'cmd', 'filetypes' }) do
    if user and user[key] then
      opts[key] = user[key]
    end
  end
  if user and type(user.settings) == 'table' and user.settings.enabledLanguages then
    opts.settings.enabledLanguages = user.settings.enabledLanguages
  end
  check(opts)
  opts.settings = M.without_nil(opts.settings)
  return opts
end

return M
