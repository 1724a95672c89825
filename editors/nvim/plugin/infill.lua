-- User commands; the server starts only once require('infill').setup() has been called.
if vim.g.loaded_infill then
  return
end
vim.g.loaded_infill = true

local function infill()
  return require('infill')
end

local actions = {
  InfillRewrite = {
    action = 'rewrite',
    desc = 'infill: rewrite the selected text (a charwise selection is used as is; otherwise whole lines)',
  },
  InfillFillPlaceholders = { action = 'fill', desc = 'infill: fill placeholders in the range' },
  InfillCloseStructure = { action = 'close', desc = 'infill: close the open structure near the cursor' },
}

for name, spec in pairs(actions) do
  vim.api.nvim_create_user_command(name, function(args)
    -- Two addresses, as `:'<,'>` gives: an old selection's marks on a plain `:2InfillRewrite` must not narrow it.
    infill().run_action(spec.action, args.line1, args.line2, args.range == 2)
  end, { range = true, desc = spec.desc })
end

vim.api.nvim_create_user_command('InfillToggle', function()
  local on = infill().toggle()
  if on ~= nil then -- nil: not set up, which it said
    vim.notify('infill: suggestions while typing ' .. (on and 'on' or 'off'), vim.log.levels.INFO)
  end
end, { desc = 'infill: turn suggestions while typing off or on' })

vim.api.nvim_create_user_command('InfillTrigger', function()
  if infill().trigger() == nil then
    return -- not set up, which it said
  end
  -- Suggestions are shown in insert mode only. Typed after ':' the command runs in command-line
  -- mode also when it came from insert mode (i_CTRL-O), so look once back in that mode.
  vim.schedule(function()
    if vim.api.nvim_get_mode().mode:sub(1, 1) ~= 'i' then
      vim.notify('infill: :InfillTrigger works in insert mode (e.g. <Cmd>InfillTrigger<CR> in an imap)',
        vim.log.levels.WARN)
    end
  end)
end, { desc = 'infill: ask for an inline suggestion at the cursor (insert mode)' })

vim.api.nvim_create_user_command('InfillStatus', function()
  vim.notify(infill().status(), vim.log.levels.INFO)
end, { desc = "infill: the server's state, its model and whether suggestions while typing are on" })

vim.api.nvim_create_user_command('InfillRestart', function()
  infill().restart()
end, { desc = 'infill: stop the language server and start it again' })
