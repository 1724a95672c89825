-- The one infill-ls process this editor talks to: starting it, attaching buffers, settings.
local compat = require('infill.compat')

local M = {}

local NAME = 'infill'
local SECTION = 'infill'

local state = {
  opts = nil,
  client_id = nil,
  start_failed = false,
}

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

local function lsp_config(opts)
  return {
    name = NAME,
    cmd = opts.cmd,
    root_dir = vim.fn.getcwd(),
    init_options = as_object(vim.deepcopy(opts.settings)),
    -- Answers workspace/configuration requests for the `infill` section.
    settings = { [SECTION] = as_object(vim.deepcopy(opts.settings)) },
    capabilities = capabilities(),
    on_exit = function(code, signal)
      state.client_id = nil
      if code ~= 0 then
        vim.schedule(function()
          vim.notify(
            string.format('infill: %s exited with code %d (signal %d)', opts.cmd[1], code, signal or 0),
            vim.log.levels.WARN
          )
        end)
      end
    end,
  }
end

function M.configure(opts)
  state.opts = opts
  state.start_failed = false
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

local function report_start_failure(err)
  if state.start_failed then
    return
  end
  state.start_failed = true
  vim.notify(
    string.format('infill: could not start %s (%s); set cmd in require("infill").setup{}', state.opts.cmd[1], err),
    vim.log.levels.ERROR
  )
end

--- Starts the server if needed and attaches `bufnr` to it. Returns the client id or nil.
function M.attach(bufnr)
  if state.opts == nil or state.start_failed then
    return nil
  end
  if vim.fn.executable(state.opts.cmd[1]) == 0 then
    report_start_failure('not an executable')
    return nil
  end
  if vim.fn.has('nvim-0.11') == 1 then
    -- vim.lsp.start reuses the running client with the same name and root.
    local ok, id = pcall(vim.lsp.start, lsp_config(state.opts), { bufnr = bufnr })
    if not ok or id == nil then
      report_start_failure(tostring(id))
      return nil
    end
    state.client_id = id
    return id
  end
  if M.get() == nil then
    local ok, id = pcall(vim.lsp.start_client, lsp_config(state.opts))
    if not ok or id == nil then
      report_start_failure(tostring(id))
      return nil
    end
    state.client_id = id
  end
  vim.lsp.buf_attach_client(bufnr, state.client_id)
  return state.client_id
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

function M.stop()
  local client = M.get()
  if client ~= nil then
    vim.lsp.stop_client(client.id)
  end
  state.client_id = nil
  state.start_failed = false
end

return M
