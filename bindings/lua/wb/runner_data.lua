-- wb/runner_data.lua: the standard datasets a task's pending runs train on
-- are where wb.data reads them, checked before any run starts. $WB_DATA
-- naming a folder without mnist/ (an empty one, or one holding the IDX
-- files themselves) failed every run in its own child, each with the
-- library's file:line ("FAILED (exit 66): workbench: .../wb/data.lua:315:
-- MNIST not found ..."), then a table of none (audit N6); now one error,
-- naming the folder and what it should hold, and nothing is trained.
-- Private to the runner.
local _ENV = require "wb.std"
local wb = require "wb"

-- What to do to get standard set name, and where it is looked for.
local function how(name)
  if name == "fashion" or name == "fashion_mnist" then
    return "install Debian's dataset-fashion-mnist package"
  end
  local env = os.getenv("WB_DATA")
  if not env then return "run 'make data' (or set $WB_DATA to a folder holding mnist/)" end
  local where = string.format("$WB_DATA is %s: the folder that holds mnist/", env)
  if wb.sys.exists(env .. "/t10k-labels-idx1-ubyte") then
    where = where .. " (the files are in it directly: move them to " .. env .. "/mnist)"
  end
  return where
end

-- Raises an input error (exit 66) when a dataset of a run in `pending` (of
-- task ex) has a file missing.
return function(ex, pending)
  local seen = {}
  for _, s in ipairs(pending) do
    local name = s.config.dataset or "mnist"
    if not seen[name] then
      seen[name] = true
      local missing, all = {}, {}
      for _, f in ipairs(wb.data._files(name)) do
        all[#all + 1] = f:match("[^/]+$")
        if not wb.sys.exists(f) then missing[#missing + 1] = all[#all] end
      end
      if #missing > 0 then
        local dir = wb.data._location(name)
        local what = #missing == #all and string.format("none of its %d files (%s)", #all,
          table.concat(all, ", ")) or string.format("no %s (of %s)",
          table.concat(missing, ", "), table.concat(all, ", "))
        error(wb.spec.input_error(string.format("[%s] dataset '%s' not found: %s has %s; %s; "
          .. "nothing trained", ex.name, name, dir, what, how(name)), "ENOENT"), 0)
      end
    end
  end
end
