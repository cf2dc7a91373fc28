-- Disables every enabled key of a workspace, many at once.
--
--   MODELGATES_API_KEY=... lua5.4 examples/disable_workspace.lua WORKSPACE_ID
--
-- (MODELGATES_BASE_URL points it at another server, such as the bundled
-- local one.) Prints one line per key and exits 1 if any failed.
local modelgates = require("modelgates")

local workspace_id = assert(arg[1], "usage: disable_workspace.lua WORKSPACE_ID")
local client = modelgates.new()

-- One task per enabled key of the workspace.
local tasks = {}
for key in client.keys.each({ workspace_id = workspace_id }) do
  if not key.disabled then
    tasks[#tasks + 1] = function()
      return client.keys.update(key.hash, { disabled = true }).data.name
    end
  end
end

-- At most 20 updates in flight; whatever is still running after 2 minutes
-- ends with a TimeoutError.
local results = modelgates.gather(tasks, { concurrency = 20, timeout = 120 })
local failed = 0
for _, result in ipairs(results) do
  if result.ok then
    print("disabled " .. result[1])
  else
    failed = failed + 1
    print("failed: " .. tostring(result.error))
  end
end
print(("%d disabled, %d failed"):format(#results - failed, failed))
os.exit(failed == 0 and 0 or 1)
