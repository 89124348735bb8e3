-- test_keys_hooks.lua: a key of an ablation that only changes training (a
-- warm-up callback, a measure) is declared with keys = {...} beside the
-- default model: it was refused without a build hook ("keys declares what a
-- build hook reads"), so such an ablation had to rebuild the default MLP by
-- hand in a build hook, where hidden, dropout and l2 stop applying (tryI 4).
local T = dofile("tests/lua/harness.lua")
local util = require "wb.util"

T.test("keys beside callbacks, measure or a fit_options function: the default model's keys too",
    function()
  local cb = function() return {} end
  for _, hook in ipairs{{callbacks = cb}, {measure = function() return {} end},
      {fit_options = function() return {} end}} do
    local ex = {base = {hidden = 16, dropout = 0.2}, vary = {warmup = {false, true}},
      keys = {"warmup"}}
    for k, v in pairs(hook) do ex[k] = v end
    local vs = wb.spec.check_experiment(ex, "x.lua:1: t")
    T.eq(#vs, 2)
  end
  -- a key nothing could read: refused, naming the hooks that would
  T.check_error("x.lua:1: t: experiment.keys: keys declares what a hook reads (build, "
    .. "callbacks, measure or a fit_options function); there is no hook",
    wb.spec.check_experiment, {vary = {warmup = {false, true}}, keys = {"warmup"}},
    "x.lua:1: t")
  T.check_error("experiment.keys: keys declares what a hook reads",
    wb.spec.check_experiment, {keys = {"warmup"}, fit_options = {}}, "x.lua:1: t")
  -- undeclared, still unknown; the hint says how to declare one
  T.check_error("unknown config key 'warmup'", wb.spec.check_experiment,
    {vary = {warmup = {false, true}}, callbacks = cb}, "x.lua:1: t")
  T.check_error("(a hook's own keys are declared: keys = {...})", wb.spec.check_experiment,
    {vary = {warmup = {false, true}}, callbacks = cb}, "x.lua:1: t")
end)

T.test("a callbacks-only ablation trains the default model with its key; hidden applies",
    function()
  local dir = T.tmpdir()
  util.write_file(dir .. "/warm.lua", [[
local function hook(cfg, model)
  local seen = cfg.warmup -- a declared key reads its value
  if not seen then return {} end
  return {{on_train_batch_begin = function(_, step)
    model.optimizer.lr = 0.05 * math.min(1, step / 4) end}}
end
return wb.task{name = "warm", experiment = {base = {epochs = 1, hidden = 8, lr = 0.05,
    optimizer = "sgd", subset = {train = 200, test = 50}}, seeds = {1},
    vary = {warmup = {false, true}}, keys = {"warmup"}, callbacks = hook,
    measure = function(model, cfg) return {width = model[1].n_out,
      misread = pcall(function() return cfg.warmupp end) and 1 or 0} end},
  report = function(task, runs) task:text(runs:table{"test_loss", "width", "misread"}) end}
]])
  local st, _, err = T.sh(string.format("WB_ECHO=0 %s %s --root %s", T.quote(T.wb),
    T.quote(dir .. "/warm.lua"), T.quote(dir .. "/root")))
  T.eq(st, 0, err)
  T.ok(not err:find("trained the same", 1, true), err) -- the key changed the training
  local runs = wb.runs.find{root = dir .. "/root", task = "warm"}
  T.eq(#runs, 2)
  for _, r in ipairs(runs) do
    T.eq(r.measures.width, 8, "hidden = 8 built the default MLP")
    T.eq(r.measures.misread, 0, "a typo of a declared key is an error in a hook")
  end
end)

T.done()
