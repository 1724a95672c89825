-- The one infill-ls process this editor talks to: starting it, attaching buffers, settings.
local compat = require('infill.compat')

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
  -- Told of each new client (its id), and of the client's exit.
  on_start = function() end,
  on_exit = function() end,
  -- The server's model, as its last infill/didChangeStatus said: { kind = 'loading' | 'ready' |
  -- 'error', message = one line }; nil while no server runs.
  status = nil,
}

local STATUS = 'infill/didChangeStatus'

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  -- Without this the server offers its fills as ordinary completion items instead.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  return caps
end

-- JSON object for a possibly empty Lua table (an empty table would be sent as a list).
local function as_object(tbl)
  if next(tbl) == nil then
    return vim.empty_dict()
  end
  return tbl
end

local function report_start_failure(err)
  if state.start_failed then
    return
  end
  state.start_failed = true
  state.start_failure = err
  local msg = string.format('infill: could not start %s (%s); fix cmd or settings in require("infill").setup{}, '
    .. 'then :InfillRestart', state.opts.cmd[1], err)
  vim.schedule(function()
    vim.notify(msg, vim.log.levels.ERROR)
  end)
end

local function lsp_config(opts)
  local initialized = false
  local log = vim.lsp.get_log_path()
  return {
    name = NAME,
    cmd = opts.cmd,
    root_dir = vim.fn.getcwd(),
    init_options = as_object(vim.deepcopy(opts.settings)),
    -- Answers workspace/configuration requests for the `infill` section.
    settings = { [SECTION] = as_object(vim.deepcopy(opts.settings)) },
    capabilities = capabilities(),
    handlers = {
      [STATUS] = function(_, params, ctx)
        if ctx.client_id == state.client_id and type(params) == 'table' then
          state.status = params
        end
      end,
    },
    on_init = function()
      initialized = true
    end,
    -- May run in a luv callback: only state here, the rest once scheduled.
    on_exit = function(code, signal, id)
      if id ~= state.client_id then
        return -- a client stopped by stop(), or already replaced
      end
      state.client_id = nil
      state.status = nil
      if not initialized then
        -- Starting it again for the next buffer would only fail the same way.
        report_start_failure(string.format('it exited with code %d before answering; see %s', code, log))
      end
      vim.schedule(function()
        if initialized and (code ~= 0 or (signal or 0) ~= 0) then
          vim.notify(
            string.format('infill: %s stopped (exit code %d, signal %d); :InfillRestart starts it again',
              opts.cmd[1], code, signal or 0),
            vim.log.levels.WARN
          )
        end
        state.on_exit()
      end)
    end,
  }
end

--- `hooks`: on_start(client_id) after a new server starts, on_exit() after it exits.
function M.configure(opts, hooks)
  state.opts = opts
  state.start_failed = false
  state.start_failure = nil
  state.on_start = hooks and hooks.on_start or function() end
  state.on_exit = hooks and hooks.on_exit or function() end
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

local function start()
  local config = lsp_config(state.opts)
  if vim.fn.has('nvim-0.11') == 1 then
    -- vim.lsp.start would reuse a client only with the same root, so one per :cd; never let it
    -- reuse (a stopping client included): this module keeps the one client itself.
    return pcall(vim.lsp.start, config, { attach = false, reuse_client = function()
      return false
    end })
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
    if vim.fn.executable(state.opts.cmd[1]) == 0 then
      report_start_failure('not an executable')
      return nil
    end
    local ok, id = start()
    if not ok or id == nil then
      report_start_failure(ok and 'no client' or tostring(id))
      return nil
    end
    state.client_id, fresh = id, true
  end
  vim.lsp.buf_attach_client(bufnr, state.client_id)
  if fresh then
    state.on_start(state.client_id)
  end
  return state.client_id
end

--- The running server's model status ({ kind, message }), or nil.
function M.status()
  if M.get() == nil then
    return nil
  end
  return state.status
end

--- Why the server could not start (one line), or nil while it has not failed since the last
--- configure() or stop().
function M.start_failure()
  return state.start_failure
end

--- The options given to configure(), or nil before it.
function M.options()
  return state.opts
end

--- Merges `settings` into the current ones and sends them to the running server.
function M.update_settings(settings)
  local opts = state.opts
  opts.settings = vim.tbl_deep_extend('force', opts.settings, settings)
  local client = M.get()
  if client == nil then
    return
  end
  local section = as_object(vim.deepcopy(opts.settings))
  client.config.settings = { [SECTION] = section }
  compat.notify(client, 'workspace/didChangeConfiguration', { settings = { [SECTION] = section } })
end

--- Stops the server; the next attach() starts a new one, even after a failed start.
function M.stop()
  local client = M.get()
  state.client_id = nil
  state.status = nil
  state.start_failed = false
  state.start_failure = nil
  if client ~= nil then
    vim.lsp.stop_client(client.id)
  end
end

return M
