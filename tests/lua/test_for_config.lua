-- wb.data.for_config checks a config's dataset and subset as wb.experiment
-- does (one check, wb/spec_keys.lua): before, {subset = {trian = 5}} gave
-- all 60000 rows, {train = 70000} silently 60000 and {train = 0} an empty
-- training set.
local T = dofile("tests/lua/harness.lua")

local function cfg(subset) return {dataset = "mnist", subset = subset} end

T.test("for_config refuses a subset wb.experiment refuses, with its words", function()
  T.check_error("for_config: cfg.subset: expected a table {train = n, test = n} of positive "
    .. "integers: unknown key 'trian' (did you mean 'train'?), got table {trian=5}",
    wb.data.for_config, cfg{trian = 5})
  T.check_error("for_config: cfg.subset.train = 70000 rows, but the mnist train set has "
    .. "60000", wb.data.for_config, cfg{train = 70000})
  T.check_error("for_config: cfg.subset.test = 10001 rows, but the mnist test set has 10000",
    wb.data.for_config, cfg{test = 10001})
  T.check_error("for_config: cfg.subset: expected a table {train = n, test = n} of positive "
    .. "integers, got table {train=0}", wb.data.for_config, cfg{train = 0})
  T.check_error("of positive integers, got table {train=2.5}", wb.data.for_config,
    cfg{train = 2.5})
  T.check_error("for_config: cfg.subset: expected a table {train = n, test = n}, got number 5",
    wb.data.for_config, cfg(5))
  -- the same words as the experiment's (its check is the same function)
  local ok, err = pcall(wb.experiment, {name = "x", base = {hidden = 8,
    subset = {train = 70000}}})
  T.ok(not ok and tostring(err):find("variant base: subset.train = 70000 rows, but the mnist "
    .. "train set has 60000", 1, true), tostring(err))
end)

T.test("for_config refuses a missing or unknown dataset, naming it", function()
  T.check_error("for_config: cfg.dataset: expected one of mnist, fashion, got nothing (it is "
    .. "missing)", wb.data.for_config, {subset = {train = 5}})
  T.check_error('for_config: cfg.dataset: expected one of mnist, fashion, got string "mnsit"',
    wb.data.for_config, {dataset = "mnsit"})
end)

T.test("for_config gives the rows asked for, at most all", function()
  local d = wb.data.for_config(cfg{train = 300, test = 100})
  T.eq(#d.train, 300)
  T.eq(#d.test, 100)
  d = wb.data.for_config(cfg{train = 60000})
  T.eq(#d.train, 60000)
  T.eq(#d.test, 10000)
  T.eq(#wb.data.for_config{dataset = "mnist"}.train, 60000)
end)
