-- test_audit_lead9.lua: a hook that changes its run's config. The config is
-- what identifies a run (its hash, its variant); a build hook doing
-- cfg.hidden = cfg.hidden * 2, a callbacks hook, a callback during training
-- or a measure hook changing cfg trained (or recorded) something else than
-- what the record filed under the planned config's hash and variant, beside
-- the other seeds of that config (trust7 found it). Now each is an error
-- naming the hook and the key, and no record is written; a hook that
-- changes a copy of cfg trains as before.
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"
local dir = T.tmpdir()

local BASE = {hidden = 4, epochs = 1, subset = {train = 100, test = 50}}

-- ex:run() of an experiment with hooks; the error (nil when it ran) and the
-- record files left.
local function run(name, hooks)
  local spec = {name = name, base = util.copy(BASE), seeds = {1}}
  for k, v in pairs(hooks) do spec[k] = v end
  local root = dir .. "/" .. name
  local ex = wb.experiment(spec, {root = root})
  local ok, err
  T.stderr_of(function() ok, err = pcall(ex.run, ex, {verbose = false}) end)
  local records = {}
  for _, n in ipairs(wb.sys.exists(root .. "/runs") and wb.sys.listdir(root .. "/runs") or {}) do
    if wb.record.is_record_file(n) then records[#records + 1] = n end
  end
  return not ok and tostring(err) or nil, records
end

T.test("a build hook that changes cfg fails its run naming the hook and the key", function()
  local err, records = run("build", {keys = {"hidden"}, build = function(cfg)
    cfg.hidden = cfg.hidden * 2
    return wb.nn.Sequential{wb.nn.Dense(784, cfg.hidden, {activation = "relu"}),
      wb.nn.Dense(cfg.hidden, 10, {activation = "softmax"})}
  end})
  T.ok(err and err:find("the build hook changed the run's config (hidden: 4 -> 8)", 1, true),
    tostring(err))
  T.eq(#records, 0, "no record")
end)

T.test("a callbacks hook, a callback during training and a measure hook: the same", function()
  local err, records = run("cbhook", {callbacks = function(cfg)
    cfg.note = "x"
    return {}
  end})
  T.ok(err and err:find("the callbacks hook changed the run's config (note: nil -> \"x\")", 1,
    true), tostring(err))
  T.eq(#records, 0, "no record")
  err, records = run("during", {callbacks = function(cfg)
    return {{on_epoch_end = function() cfg.subset.train = 99 end}}
  end})
  T.ok(err and err:find("a callback (during training) changed the run's config (subset: "
    .. "{\"test\":50,\"train\":100} -> {\"test\":50,\"train\":99})", 1, true), tostring(err))
  T.eq(#records, 0, "no record")
  err, records = run("measure", {measure = function(_, cfg)
    cfg.epochs = 3
    return {m = 1}
  end})
  T.ok(err and err:find("a hook changed the run's config (epochs: 1 -> 3)", 1, true),
    tostring(err))
  T.eq(#records, 0, "no record")
end)

T.test("a hook that changes a copy of cfg trains and records as before", function()
  local err, records = run("copy", {keys = {"hidden"}, build = function(cfg)
    local c = util.copy(cfg)
    c.hidden = c.hidden * 2
    return wb.nn.Sequential{wb.nn.Dense(784, c.hidden, {activation = "relu"}),
      wb.nn.Dense(c.hidden, 10, {activation = "softmax"})}
  end})
  T.eq(err, nil, "trained")
  T.eq(#records, 1, "one record")
end)

T.done()
