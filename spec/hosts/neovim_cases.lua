-- Run inside `nvim --headless` by spec/hosts/neovim_host.lua: busted runs
-- the suite's shared table of cases, each through modelgates.nvim on
-- Neovim's loop (spec/support.lua's transport there), and reports in TAP
-- on stdout. busted exits Neovim with its status when anything failed.
local root = os.getenv("MODELGATES_TEST_ROOT")
vim.opt.runtimepath:prepend(root)
package.path = root .. "/?.lua;" .. package.path
package.cpath = root .. "/build/luajit/?.so;" .. package.cpath

arg = { "--directory=" .. root, "--output=TAP" }
for _, file in ipairs(require("spec.support").shared_spec_files) do
  arg[#arg + 1] = file
end
require("busted.runner")({ standalone = false })
vim.cmd("qall!")
