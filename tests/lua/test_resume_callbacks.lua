-- test_resume_callbacks.lua: fit{resume = path} checks the stateful
-- callbacks against the saved fit's (wb/state_callbacks.lua): a library
-- callback whose settings differ from the saved one's (EarlyStopping's
-- restore_best_weights, two EarlyStoppings swapped, ModelCheckpoint's and
-- ReduceLROnPlateau's monitor or factor), a stateful callback the saved fit
-- had not (a library one or the user's own) and a state saved without the
-- settings are refused before any training, naming the file, the callback
-- and each differing setting with both values. Before, each was accepted and
-- the counters were read under other settings (a resumed EarlyStopping with
-- restore_best_weights turned on restored the worst epoch's weights). With
-- the same callbacks (verbose, and where a ModelCheckpoint writes, may
-- differ) the resume stays bit-identical to an uninterrupted fit.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"
local cjson = require "cjson"
local CB = wb.callbacks

local train, val = T.tiny_data()
local dir = T.tmpdir()

local function opts(extra)
  local o = {epochs = 10, batch_size = 16, validation = val, verbose = false, seed = 9,
    optimizer = wb.optim.Adam{lr = 0.05}}
  for k, v in pairs(extra or {}) do o[k] = v end
  if o.resume then o.optimizer = nil end -- the saved one (a callback may have changed its lr)
  return o
end

-- the state after `epochs` epochs with the callbacks cbs() makes
local function saved(name, epochs, cbs)
  local m = T.tiny_mlp(1)
  m:fit(train, opts{epochs = epochs, callbacks = cbs})
  local path = dir .. "/" .. name .. ".safetensors"
  m:save_state(path)
  return path
end

-- fit{resume = path} with callbacks cbs must be refused before any
-- training: the error matches each of pats (plain) and the model is as built
local function refused(path, cbs, pats)
  local m = T.tiny_mlp(2)
  local before = T.tiny_mlp(2)
  local ok, err = pcall(m.fit, m, train, opts{resume = path, callbacks = cbs})
  T.ok(not ok, "resume accepted, expected a refusal naming " .. pats[1])
  err = tostring(err)
  T.ok(err:find(path, 1, true), "the error names the file: " .. err)
  for _, p in ipairs(pats) do T.ok(err:find(p, 1, true), "expected '" .. p .. "' in: " .. err) end
  T.ok(T.same_weights(m, before), "a refused resume left the weights as they were")
  return err
end

-- an uninterrupted fit and one resumed from `at` epochs, with the callbacks
-- make() gives (save_make: the saved fit's, when other) are bit-identical
local function exact(name, at, make, save_make)
  local u = T.tiny_mlp(1)
  local hu = u:fit(train, opts{callbacks = make()})
  local path = saved(name, at, (save_make or make)())
  local r = T.tiny_mlp(2)
  local hr = r:fit(train, opts{resume = path, callbacks = make()})
  T.ok(T.same_weights(u, r), name .. ": weights of the resumed fit differ")
  for _, k in ipairs{"loss", "val_loss", "lr"} do
    T.eq(#hr[k], #hu[k], name .. " " .. k)
    for e = 1, #hu[k] do T.eq(hr[k][e], hu[k][e], name .. " " .. k .. " epoch " .. e) end
  end
  for _, k in ipairs{"best_epoch", "stopped_epoch", "weights_epoch"} do
    T.eq(hr[k], hu[k], name .. " " .. k)
  end
  return hu, hr
end

T.test("EarlyStopping's restore_best_weights changed on resume: refused, naming it", function()
  local path = saved("es", 3, {CB.EarlyStopping{patience = 3}})
  refused(path, {CB.EarlyStopping{patience = 3, restore_best_weights = true}},
    {"EarlyStopping (callbacks[1]): restore_best_weights saved false, given true"})
  refused(path, {CB.EarlyStopping{patience = 4, min_delta = 0.01}},
    {"EarlyStopping (callbacks[1]): ", "min_delta saved 0, given 0.01",
      "patience saved 3, given 4"})
  -- tryN 5: named by its position in the list (a CSVLogger, stateless, before it; the file
  -- numbers it callbacks.1), not as "EarlyStopping 1"
  local csv = function() return CB.CSVLogger(dir .. "/es.csv") end
  refused(saved("es_csv", 3, {csv(), CB.EarlyStopping{patience = 3}}),
    {csv(), CB.EarlyStopping{patience = 4}},
    {"EarlyStopping (callbacks[2]): patience saved 3, given 4"})
  -- the same settings (verbose changes no result): as an uninterrupted fit
  local hu = exact("es_same", 3, function()
    return {CB.EarlyStopping{patience = 2, restore_best_weights = true}}
  end, function()
    return {CB.EarlyStopping{patience = 2, restore_best_weights = true, verbose = true}}
  end)
  T.ok(hu.best_epoch ~= nil, "EarlyStopping took a best epoch")
end)

T.test("two EarlyStoppings swapped on resume: refused, each differing setting named", function()
  local function es(mon, p) return CB.EarlyStopping{monitor = mon, patience = p} end
  local path = saved("swap", 3, {es("val_loss", 3), es("val_accuracy", 6)})
  refused(path, {es("val_accuracy", 6), es("val_loss", 3)},
    {'EarlyStopping (callbacks[1]): monitor saved "val_loss", given "val_accuracy", '
      .. "patience saved 3, given 6",
      'EarlyStopping (callbacks[2]): monitor saved "val_accuracy", given "val_loss"'})
  exact("swap_same", 3, function() return {es("val_loss", 3), es("val_accuracy", 6)} end)
end)

T.test("ModelCheckpoint's monitor, ReduceLROnPlateau's factor changed on resume: refused",
  function()
  local function mc(mon, sub)
    return CB.ModelCheckpoint{dir .. "/" .. sub .. "/e{epoch}.safetensors", monitor = mon,
      save_best_only = true}
  end
  local path = saved("mc", 3, {mc("val_loss", "a")})
  refused(path, {mc("val_accuracy", "a")},
    {'ModelCheckpoint (callbacks[1]): monitor saved "val_loss", given "val_accuracy"'})
  refused(path, {CB.ModelCheckpoint{dir .. "/a/e{epoch}.safetensors", save_best_only = false}},
    {"ModelCheckpoint (callbacks[1]): save_best_only saved true, given false"})
  local function rl(f) return CB.ReduceLROnPlateau{factor = f, patience = 1, min_delta = 10} end
  path = saved("rl", 3, {rl(0.5)})
  refused(path, {rl(0.2)}, {"ReduceLROnPlateau (callbacks[1]): factor saved 0.5, given 0.2"})
  refused(path, {CB.ReduceLROnPlateau{factor = 0.5, patience = 1, min_delta = 10,
    monitor = "val_accuracy"}},
    {'ReduceLROnPlateau (callbacks[1]): monitor saved "val_loss", given "val_accuracy"'})
  local _, hr = exact("rl_same", 3, function() return {rl(0.5)} end)
  T.ok(hr.lr[#hr.lr] < hr.lr[1], "ReduceLROnPlateau lowered the lr")
  -- where and how it writes may differ (a resumed fit may save elsewhere)
  exact("mc_same", 3, function() return {mc("val_loss", "c")} end,
    function() return {mc("val_loss", "d")} end)
end)

T.test("a stateful callback the saved fit had not: refused, naming it", function()
  local path = saved("none", 3, {})
  refused(path, {CB.EarlyStopping{patience = 3}},
    {"holds no state of EarlyStopping (callbacks[1])"})
  path = saved("one", 3, {CB.EarlyStopping{patience = 3}})
  refused(path, {CB.EarlyStopping{patience = 3}, CB.EarlyStopping{patience = 5}},
    {"holds no state of EarlyStopping (callbacks[2])"})
  -- the user's own: the same rule (a saved state for each, or a refusal)
  local function mine()
    local c = {n = 0}
    function c:on_epoch_end() self.n = self.n + 1 end
    function c:get_state() return {n = self.n} end
    function c:set_state(s) self.n = s.n end
    return c
  end
  refused(path, {CB.EarlyStopping{patience = 3}, mine()},
    {"holds no state of callbacks[2] (a table with get_state at "})
  path = saved("mine", 3, {mine()})
  local c = mine()
  local m = T.tiny_mlp(2)
  m:fit(train, opts{epochs = 5, resume = path, callbacks = {c}})
  T.eq(c.n, 5, "the user's callback went on from its saved count")
end)

-- A state as save_state wrote it before the settings were kept: the
-- workbench.callbacks entries without settings (its checksum made again).
local function without_settings(path, out)
  local tensors, meta = wb.io.load_safetensors(path)
  local cbs = cjson.decode(meta["workbench.callbacks"])
  for _, e in ipairs(cbs) do e.settings = nil end
  meta["workbench.callbacks"] = require("wb.checkpoint").exact_json(cbs)
  local fitstate = require "wb.state_fit"
  meta[fitstate.CHECKSUM] = fitstate.checksum(tensors, meta)
  wb.io.save_safetensors(out, tensors, meta)
  return out
end

T.test("a library callback's state saved without its settings (older file): refused",
  function()
  local path = saved("old", 3, {CB.EarlyStopping{patience = 3}})
  local meta = select(2, wb.io.load_safetensors(path))
  T.ok(meta["workbench.callbacks"]:find('"settings"', 1, true), "save_state writes settings")
  local old = without_settings(path, dir .. "/old_format.safetensors")
  refused(old, {CB.EarlyStopping{patience = 3}},
    {"holds the state of EarlyStopping (callbacks[1]) without its settings",
      "save the state again"})
end)

T.test("a killed run's state saved without the settings: the runner trains afresh, warned",
  function()
  local resume = require "wb.train_resume"
  local ex, spec = {name = "t", root = dir .. "/runner"}, {cacheable = true, hash = "abc123",
    variant = "base", seed = 1}
  local function from(m, fo) -- the epoch resumed after (nil: afresh) and the warning
    return T.stderr_of(function()
      return resume.from(ex, spec, m, fo, fo.callbacks, {}, fo.optimizer)
    end)
  end
  local function setup()
    return T.tiny_mlp(1), opts{epochs = 3, callbacks = {CB.EarlyStopping{patience = 3}}}
  end
  local m, fo = setup()
  T.eq(from(m, fo), nil, "no state yet")
  m:fit(train, fo) -- its ModelCheckpoint writes the state
  local state = wb.record.path(ex.root, "t", "abc123", "state.safetensors")
  m, fo = setup()
  T.eq(from(m, fo), 3, "resumed from the state as written")
  without_settings(state, state)
  m, fo = setup()
  local epoch, err = from(m, fo)
  T.eq(epoch, nil, "not resumed")
  T.ok(err:find("its callbacks: holds the state of EarlyStopping (callbacks[1]) without its "
    .. "settings", 1, true) and err:find("training from scratch", 1, true), err)
  T.ok(not wb.sys.exists(state), "the state removed")
end)

T.done()
