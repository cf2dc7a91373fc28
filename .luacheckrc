std = "max"
max_line_length = 130
files["spec/"] = { std = "+busted" }
-- Runs inside Neovim.
files["spec/hosts/neovim_init.lua"] = { read_globals = { "vim" } }
-- Replaces vim.notify to see what a run without a callback reports.
files["spec/hosts/neovim_async.lua"] = { globals = { "vim" } }
files["lua/modelgates/nvim.lua"] = { read_globals = { "vim" } }
files["lua/modelgates/health.lua"] = { read_globals = { "vim" } }
-- A LuaCATS function type cannot be split across lines.
files["lua/modelgates/types.lua"] = { max_line_length = false }
