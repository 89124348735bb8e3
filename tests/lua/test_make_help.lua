-- `make help` lists the Makefile's targets, one line each, from the list at
-- the Makefile's head (its one source); README points to it (tryV 11: no
-- make help).
local T = dofile("tests/lua/harness.lua")

local mk = T.slurp("Makefile")

T.test("make help prints one line for every target a user runs", function()
  local st, out, err = T.sh("make -s --no-print-directory help")
  T.eq(st, 0, err)
  local said = {}
  for line in out:gmatch("[^\n]+") do
    local target, what = line:match("^make ?([%w-]*)%s+(%S.*)$")
    T.ok(target, "a line 'make TARGET  what it does': " .. line)
    if target then said[target == "" and "all" or target] = what end
  end
  local phony = mk:match("\n%.PHONY:([^\n]*)")
  T.ok(phony, ".PHONY")
  for target in (phony or ""):gmatch("%S+") do
    if target ~= "FORCE" then T.ok(said[target], "make help names " .. target .. ":\n" .. out) end
  end
  for target in pairs(said) do
    T.ok(target == "all" or mk:find("\n" .. target:gsub("%-", "%%-") .. ":"), "a rule for "
      .. target)
  end
end)

T.test("the list is the Makefile's head, and README points to make help", function()
  local _, out = T.sh("make -s --no-print-directory help")
  local head = {}
  for line in mk:gmatch("[^\n]+") do
    local l = line:match("^#   (make.*)$")
    if l then head[#head + 1] = l end
  end
  T.eq(out, table.concat(head, "\n") .. "\n", "one source")
  local readme = T.slurp("README.md")
  T.ok(readme:find("make help", 1, true), "README points to make help")
end)

T.done()
