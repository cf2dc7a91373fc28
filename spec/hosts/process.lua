-- Runs the real hosts (nvim, nginx) from the host specs: every process is
-- bounded in time by timeout(1), so that a hung host can neither hang the
-- suite nor outlive it for long, and its output and exit status come back.
local support = require("spec.support")

local process = {}

--- The repository the host specs test (`make check-hosts` sets it).
process.root = assert(os.getenv("MODELGATES_TEST_ROOT"), "run the host specs with make check-hosts")

process.shell_quote = support.shell_quote

local function command_line(argv, env, seconds)
  local words = {}
  for name, value in pairs(env or {}) do
    words[#words + 1] = name .. "=" .. process.shell_quote(value)
  end
  words[#words + 1] = "timeout " .. seconds
  for _, arg in ipairs(argv) do
    words[#words + 1] = process.shell_quote(arg)
  end
  return table.concat(words, " ") .. " 2>&1"
end

-- The shell reports the status itself: on Lua 5.1 a pipe's close does not.
local function split_status(output)
  local text, status = output:match("^(.*)exit=(%d+)\n$")
  return text or output, tonumber(status)
end

--- Runs `argv` with the variables `env` added, for at most `seconds`;
--- returns its output (stdout and stderr together) and its exit status.
function process.run(argv, env, seconds)
  local pipe = assert(io.popen(command_line(argv, env, seconds) .. '; echo "exit=$?"', "r"))
  local output = pipe:read("*a")
  pipe:close()
  return split_status(output)
end

local spawned_methods = {}
local spawned_mt = { __index = spawned_methods }

--- Starts `argv` in the background, as process.run does; the returned
--- object's `pid` is the process to signal.
function process.spawn(argv, env, seconds)
  local pipe = assert(io.popen(command_line(argv, env, seconds) .. ' & echo $!; wait $!; echo "exit=$?"', "r"))
  return setmetatable({ pipe = pipe, pid = tonumber(pipe:read("*l")) }, spawned_mt)
end

--- Whether the process has not exited yet: POSIX ps, not Linux's /proc; a
--- zombie (exited, not yet waited for) has exited.
function spawned_methods:running()
  local ps = assert(io.popen("ps -o stat= -p " .. self.pid .. " 2>/dev/null", "r"))
  local state = ps:read("*a"):match("^%s*(%a)")
  ps:close()
  return state ~= nil and state ~= "Z"
end

--- Sends SIGTERM (timeout(1) passes it on), waits for the exit and returns
--- the output and exit status. Safe to call twice.
function spawned_methods:stop()
  if not self.pipe then
    return self.output, self.status
  end
  os.execute("kill " .. self.pid .. " 2>/dev/null")
  self.output, self.status = split_status(self.pipe:read("*a"))
  self.pipe:close()
  self.pipe = nil
  return self.output, self.status
end

--- A new empty directory, readable by every user (nginx's workers run as
--- another user than a root master).
function process.temp_dir()
  local pipe = assert(io.popen("mktemp -d"))
  local dir = pipe:read("*l")
  pipe:close()
  assert(os.execute("chmod 755 " .. process.shell_quote(dir)))
  return dir
end

function process.remove_dir(dir)
  os.execute("rm -rf " .. process.shell_quote(dir))
end

function process.read_file(path)
  local file = io.open(path, "rb")
  if not file then
    return ""
  end
  local text = file:read("*a")
  file:close()
  return text
end

process.write_file = support.write_file

return process
