-- test_strict_find.lua: a run list's labels such as "v [identity.build=aa]"
-- could not be used as a filter: wb.runs.find rejected identity.build as a
-- key (audit I 7e). Each k=x part of a label is now a key and value find
-- takes, and finds that group's runs.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local util = require "wb.util"

local n_written = 0
local function rec(seed, extra)
  n_written = n_written + 1
  local r = {hash = string.format("%016x", n_written), task = "t", variant = "v", seed = seed,
    config = {epochs = 2, hidden = 64, seed = seed}, status = "ok",
    history = {loss = {1, 0.5}, val_loss = {1, 0.6}, epochs = 2},
    metrics = {test_accuracy = 0.9, best_epoch = 2}, measures = {}}
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end
local function write(dir, r)
  wb.record.write(string.format("%s/%s-%s.json", dir, r.task, r.hash), r)
end

-- the query a label's parts make: {["identity.build"] = "aa", ...}
local function query_of(label, dir)
  local q = {dir = dir, variant = label:match("^(.-) %[")}
  for part in label:match("%[(.*)%]$"):gmatch("[^,]+") do
    local k, v = part:match("^%s*(.-)=(.*)$")
    T.ok(k, "a part that is no key=value: " .. part)
    q[k] = math.tointeger(tonumber(v)) or tonumber(v) or v
  end
  return q
end

T.test("each part of a run list's label is a filter of wb.runs.find", function()
  local dir = T.tmpdir()
  write(dir, rec(1, {group_key = "000000000000000a", fit_options = {batch_size = 32},
    identity = {build = "aa"}}))
  write(dir, rec(2, {group_key = "000000000000000a", fit_options = {batch_size = 32},
    identity = {build = "aa"}}))
  write(dir, rec(1, {group_key = "000000000000000b", fit_options = {batch_size = 500},
    identity = {build = "bb"}}))
  local rs = wb.runs.find{dir = dir}
  local vs = rs:variants()
  T.eq(#vs, 2)
  T.eq(vs[1], "v [fit_options.batch_size=32, identity.build=aa]")
  for _, label in ipairs(vs) do
    local found = wb.runs.find(query_of(label, dir))
    T.eq(#found, #rs:of(label), label)
    for _, r in ipairs(found) do T.eq(found:variants()[1], "v", label) end
  end
  T.eq(#wb.runs.find{dir = dir, ["identity.build"] = "bb"}, 1)
  T.eq(#wb.runs.find{dir = dir, ["config.hidden"] = 64}, 3)
  -- a dotted key no record has is still an error, as a misspelt key
  T.check_error("wb.runs.find: unknown key 'identity.biuld' (did you mean 'identity.build'?)",
    wb.runs.find, {dir = dir, ["identity.biuld"] = "aa"})
end)

T.test("groups told apart by their group key only: group_key= is the filter", function()
  local dir = T.tmpdir()
  write(dir, rec(1, {group_key = "000000000000000a"}))
  write(dir, rec(2, {group_key = "000000000000000b"}))
  local vs = wb.runs.find{dir = dir}:variants()
  T.eq(vs[1], "v [group_key=000000000000000a]")
  local found = wb.runs.find(query_of(vs[2], dir))
  T.eq(#found, 1)
  T.eq(found[1].group_key, "000000000000000b")
end)

T.done()
