-- wb/runner_fork.lua: one run of ex:run() (wb.runner.run_experiment) trained
-- in a forked child of this process, as a task's runs are in child
-- processes. In this process, what a hook kept from one run to the next (a
-- global counting its calls, a table it fills, a cached tensor it changed,
-- Lua's generator) reached the runs after it: a build hook with
-- `CALLS = (CALLS or 0) + 1` trained run 2 with another model than a
-- child would, under the same hash, and its numbers were reused as that
-- run's by every later sweep. The child starts each run from this
-- process as it was before the first, and ends with it: only its record and
-- weights come back (wb.Runs load the model), and what it wrote to an
-- io.stderr captured in Lua (a test's, a REPL's). Private to the runner.
local _ENV = require "wb.std"
local wb = require "wb"
local cjson = require "cjson"

local M = {}

-- The child's error as text: a wb.Error's fields as JSON (its kind travels
-- as a value), another error as its string.
local function encode(err)
  if wb.is_error(err) then
    return cjson.encode{code = err.code, message = err.message, path = err.path,
      reason = err.reason}
  end
  local s = tostring(err)
  return s ~= "" and s or "(an empty error)"
end

-- Raises the child's error again here.
local function raise(text)
  local ok, e = pcall(cjson.decode, text)
  if text:sub(1, 1) == "{" and ok and type(e) == "table" and type(e.code) == "string" then
    local err = wb.Error{code = e.code, message = e.message, path = type(e.path) == "string"
      and e.path or nil}
    if type(e.reason) == "string" then err.reason = e.reason end
    error(err, 0)
  end
  error(text, 0)
end

-- Trains run s with train(ex, s) in a child; returns its record as
-- written. The child's error is raised here as it was there; a child that
-- ended without one (killed, os.exit) is an error naming its status.
function M.train(ex, s, train, load_record)
  -- io.stderr replaced by a Lua object (a REPL's or a test's capture of a
  -- run's warnings): the child's writes to it come back and are written
  -- to it here, as they were when runs trained in this process
  local captured = io.type(io.stderr) ~= "file" and {} or nil
  local status, text = wb.sys.fork_call(function()
    if captured then
      io.stderr = {write = function(self, ...)
        for i = 1, select("#", ...) do captured[#captured + 1] = tostring((select(i, ...))) end
        return self
      end}
    end
    local ok, err = pcall(train, ex, s)
    local said = table.concat(captured or {})
    return #said .. "\n" .. said .. (ok and "" or encode(err))
  end)
  wb.sys.check_interrupt() -- a Ctrl-C stopped the child: stop here too
  local n = tonumber(text:match("^(%d+)\n"))
  if n then
    local head = #tostring(n) + 1
    if n > 0 then io.stderr:write(text:sub(head + 1, head + n)) end
    text = text:sub(head + n + 1)
  end
  if text ~= "" then raise(text) end
  local rec = status == 0 and load_record(ex, s.hash)
  if rec then return rec end
  error(string.format("run_experiment: [%s] run %s (%s seed %d): its process %s and said "
    .. "nothing", ex.name, s.hash, s.variant, s.seed, status == 0 and "wrote no record"
    or status > 128 and string.format("was killed by signal %d", status - 128)
    or string.format("ended with status %d", status)), 0)
end

return M
