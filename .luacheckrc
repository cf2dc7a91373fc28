std = "max"
max_line_length = 130
files["spec/"] = { std = "+busted" }
-- Runs inside Neovim.
files["spec/hosts/neovim_init.lua"] = { read_globals = { "vim" } }
files["spec/hosts/neovim_report.lua"] = { read_globals = { "vim" } }
-- Replaces vim.notify to see what a run without a callback reports.
files["spec/hosts/neovim_async.lua"] = { globals = { "vim" } }
-- Points busted, run inside Neovim, at the cases.
files["spec/hosts/neovim_cases.lua"] = { read_globals = { "vim" }, globals = { "arg" } }
files["spec/support.lua"] = { std = "+busted", read_globals = { "vim" } }
files["lua/modelgates/nvim.lua"] = { read_globals = { "vim" } }
files["lua/modelgates/health.lua"] = { read_globals = { "vim" } }
-- A LuaCATS function type cannot be split across lines.
files["lua/modelgates/types.lua"] = { max_line_length = false }
-- Runs inside nginx with its Lua module.
files["lua/modelgates/cosocket.lua"] = { read_globals = { "ngx" } }
files["spec/hosts/nginx_list_keys.lua"] = { read_globals = { "ngx" } }
-- Points busted, run inside nginx, at the cases and at a report file.
files["spec/hosts/nginx_cases.lua"] = { read_globals = { "ngx" }, globals = { "arg", "io", "os" } }
