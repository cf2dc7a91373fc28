-- Ends a script that nvim --headless runs for the host specs: runs `fn`,
-- prints "result=" and its JSON report and quits, or prints the failure
-- and quits with status 1.
return function(fn)
  local ok, result = xpcall(fn, debug.traceback)
  if ok then
    io.stdout:write("result=", vim.json.encode(result), "\n")
    vim.cmd("qall!")
  else
    io.stdout:write(tostring(result), "\n")
    vim.cmd("cquit 1")
  end
end
