-- :checkhealth infill: whether the plugin is set up, the server can start, and what the running
-- server says of its model, each with what to do when it is not so.
local M = {}

-- How long a server just started may take to say whether its model is loaded (infill/didChangeStatus, sent as it
-- begins to load it), before its silence means a server too old to say so.
local STARTING_MS = 10000

-- vim.health from Neovim 0.10 on (report_* before); Neovim 0.7 has only the Vim script functions.
local function reporter()
  local h = vim.health
  if h ~= nil and h.start ~= nil then
    return h
  end
  if h ~= nil and h.report_start ~= nil then
    return { start = h.report_start, ok = h.report_ok, info = h.report_info, warn = h.report_warn,
             error = h.report_error }
  end
  local function fn(name)
    return function(...)
      vim.fn['health#report_' .. name](...)
    end
  end
  return { start = fn('start'), ok = fn('ok'), info = fn('info'), warn = fn('warn'), error = fn('error') }
end

-- The server command with --stdio replaced by --version: its first line of output, or nil and why.
local function server_version(cmd)
  local argv = {}
  for _, arg in ipairs(cmd) do
    if arg ~= '--stdio' then
      table.insert(argv, arg)
    end
  end
  table.insert(argv, '--version')
  local lines = {}
  local function collect(_, data)
    for _, line in ipairs(data or {}) do
      if line ~= '' then
        table.insert(lines, line)
      end
    end
  end
  local ok, job = pcall(vim.fn.jobstart, argv, { on_stdout = collect, on_stderr = collect, stdout_buffered = true,
                                                 stderr_buffered = true })
  if not ok or job <= 0 then
    return nil, require('infill.client').cannot_run(argv[1])
  end
  local code = vim.fn.jobwait({ job }, 10000)[1]
  if code == -1 then
    vim.fn.jobstop(job)
    return nil, table.concat(argv, ' ') .. ' did not answer within 10 s'
  end
  if code ~= 0 or lines[1] == nil or lines[1]:match('^infill%-ls ') == nil then
    return nil, string.format('%s exited with code %d: %s', table.concat(argv, ' '), code,
      lines[1] or 'no output')
  end
  return lines[1]
end

local function check_setup(h, info)
  local v = vim.version()
  local version = string.format('%d.%d.%d', v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') == 0 then
    h.error('Neovim ' .. version .. ': the plugin needs 0.7 or later')
  else
    h.ok('Neovim ' .. version)
  end
  if info == nil then
    h.warn('require("infill").setup() has not been called, so no server starts',
      { 'Call require("infill").setup({}) in your init.lua (options: editors/nvim/README.md).' })
    return false
  end
  h.ok('setup() called; buffers of these filetypes attach: ' .. table.concat(info.filetypes, ', '))
  if info.builtin then
    h.info("suggestions are drawn by Neovim's own vim.lsp.inline_completion")
  else
    h.info('suggestions are drawn by the plugin (extmarks)')
  end
  if info.typing then
    h.ok('suggestions while typing are on')
  else
    h.info('suggestions while typing are off: only the trigger key asks (:InfillToggle turns them on)')
  end
  return true
end

local function check_executable(h, cmd)
  local exe = cmd[1]
  if vim.fn.executable(exe) == 0 then
    h.error(string.format('the server command %q is not an executable', exe), {
      'Install the server: pip install . in the infill-ls repository (into the environment on your PATH).',
      'Or name it in setup({ cmd = { "/path/to/infill-ls", "--stdio" } }).',
    })
    return false
  end
  local version, why = server_version(cmd)
  if version == nil then
    h.warn('could not tell the server\'s version: ' .. why, { 'Is setup{cmd=...} the infill-ls command?' })
  else
    h.ok(string.format('%s (%s)', version, vim.fn.exepath(exe)))
  end
  h.info('`infill-ls --check` (with --model DIR for another checkpoint) loads the model, fills one hole and '
    .. 'prints the latency, in a terminal')
  return true
end

-- The buffers attached to client `c` (its own table from Neovim 0.9 on).
local function buffers_of(c)
  local out = {}
  if c.attached_buffers ~= nil then
    for bufnr in pairs(c.attached_buffers) do
      table.insert(out, bufnr)
    end
    return out
  end
  return vim.lsp.get_buffers_by_client_id(c.id)
end

local function check_server(h, client)
  local failure = client.start_failure()
  if failure ~= nil then
    h.error('the server could not start: ' .. failure, {
      'Fix cmd or settings in require("infill").setup{}, then :InfillRestart.',
      'Server log: ' .. vim.lsp.get_log_path(),
    })
    return
  end
  local c = client.get()
  local stopped = client.stopped()
  if c == nil and stopped ~= nil then
    -- Neovim's own message of its exit says nothing of how to start it again.
    h.warn('the server is not running: ' .. stopped, {
      ':InfillRestart starts it again for every buffer (so does opening a buffer of those filetypes).',
      'Server log: ' .. vim.lsp.get_log_path(),
    })
    return
  end
  if c == nil then
    h.info('the server is not running; it starts when a buffer of one of those filetypes is opened')
    return
  end
  local pid = client.pid()
  local buffers = #buffers_of(c)
  h.ok(string.format('the server is running (client %d%s), %d buffer%s attached, positions in %s', c.id,
    pid and (', pid ' .. pid) or '', buffers, buffers == 1 and '' or 's',
    tostring(c.offset_encoding)))
  local caps = c.server_capabilities or {}
  if caps.inlineCompletionProvider == nil and caps.completionProvider ~= nil then
    h.warn('the server offers its fills as completion items, not inline completions',
      { 'This plugin asks for inline completions; an older infill-ls may not offer them: update it.' })
  end
  local status = client.status()
  local running = client.running_ms()
  if status == nil and (not c.initialized or (running ~= nil and running < STARTING_MS)) then
    -- It says so once it has answered `initialize` and begun to load the model: no more than a moment.
    h.info('the server is starting and has not said yet whether its model is loaded; run :checkhealth infill '
      .. 'again in a moment')
  elseif status == nil then
    h.warn('the server has not said whether its model is loaded',
      { 'infill-ls sends infill/didChangeStatus from the version with :InfillStatus on; update it.' })
  elseif status.kind == 'ready' then
    h.ok('model: ' .. tostring(status.message))
  elseif status.kind == 'warning' then
    -- A model that could not load, and the one loaded before still serving.
    h.warn('the server is ready, but ' .. tostring(status.message), {
      'Check settings.modelPath (a checkpoint directory with config.json, tokenizer.json and *.safetensors).',
      'require("infill").update_settings({ modelPath = ... }) loads another without a restart.',
    })
  elseif status.kind == 'loading' then
    h.info('the model is loading: ' .. tostring(status.message))
  else
    h.error('no model: ' .. tostring(status.message), {
      'Check settings.modelPath (a checkpoint directory with config.json, tokenizer.json and *.safetensors).',
      'require("infill").update_settings({ modelPath = ... }) loads another without a restart.',
    })
  end
end

-- The buffer :checkhealth was run from: the report opens in a new one, whose alternate buffer that is.
local function checked_buffer()
  local alt = vim.fn.bufnr('#')
  if alt > 0 and vim.api.nvim_buf_is_loaded(alt) then
    return alt
  end
  return vim.api.nvim_get_current_buf()
end

local function check_buffer(h, infill, client)
  local bufnr = checked_buffer()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local label = string.format('buffer %d (%s)', bufnr, name ~= '' and vim.fn.fnamemodify(name, ':~:.') or 'no name')
  local why, todo = infill.not_served(bufnr)
  if todo ~= nil then
    h.warn(label .. ' is not sent to the server: ' .. why, { todo:sub(1, 1):upper() .. todo:sub(2) .. '.' })
  elseif why ~= nil then
    h.info(label .. ' is not sent to the server: ' .. why)
  else
    local c = client.get()
    if c ~= nil and vim.lsp.buf_is_attached(bufnr, c.id) then
      h.ok(label .. ' is attached to the server')
    else
      h.info(label .. ' attaches once the server runs')
    end
  end
end

function M.check()
  local h = reporter()
  local infill = require('infill')
  local client = require('infill.client')
  local info = infill.info()
  h.start('infill: setup')
  if not check_setup(h, info) then
    return
  end
  h.start('infill: server command')
  check_executable(h, client.options().cmd)
  h.start('infill: server')
  check_server(h, client)
  h.start('infill: this buffer')
  check_buffer(h, infill, client)
end

return M
