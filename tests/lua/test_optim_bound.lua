-- test_optim_bound.lua: an optimizer object that stepped in one model's fit
-- is refused by another model's fit. A script that built one Adam before a
-- loop over seeds trained seed 2 from seed 1's moments, step count and
-- lowered lr: its numbers were not seed 2's run (loss[1] 1.5147 against
-- 1.5360), without a word (tryN 1). Keras 3 refuses an optimizer built for
-- other variables; PyTorch's is bound to its parameters.
local T = dofile("tests/lua/harness.lua")
local wb = require "wb"

local data = T.linear_data(60, 6, 3, 7)

local function model(seed)
  wb.seed(seed)
  return wb.nn.Sequential{wb.nn.Dense(6, 5, {activation = "relu"}),
    wb.nn.Dense(5, 3, {activation = "softmax"})}
end

local function fit(m, opt, extra)
  local o = {epochs = 2, batch_size = 20, verbose = false, optimizer = opt, seed = 1}
  for k, v in pairs(extra or {}) do o[k] = v end
  return m:fit(data, o)
end

T.test("another model's used optimizer is refused before any work", function()
  local opt = wb.optim.Adam{lr = 0.01}
  fit(model(1), opt)
  T.eq(opt.iterations, 6)
  local m2 = model(2)
  local w0 = m2:get_weights()[1]:clone()
  local ok, err = pcall(fit, m2, opt)
  T.ok(not ok, "refused")
  T.ok(tostring(err):find("fit: optimizer Adam(lr=0.01", 1, true), tostring(err))
  T.ok(tostring(err):find("has taken 6 steps in the fit of another model", 1, true),
    tostring(err))
  T.ok(tostring(err):find("reset()", 1, true), tostring(err))
  T.eq(opt.iterations, 6, "the optimizer untouched")
  T.eq((m2:get_weights()[1] - w0):abs():max(), 0, "the model untouched")
  T.eq(m2.history, nil, "no history")
end)

T.test("the same model goes on; a reset or new optimizer trains as a fresh one", function()
  local opt = wb.optim.SGD{lr = 0.1, momentum = 0.9}
  local m = model(1)
  fit(m, opt)
  fit(m, opt) -- its own model: goes on with the moments, as Keras's does
  T.eq(opt.iterations, 12)
  local fresh = fit(model(2), wb.optim.SGD{lr = 0.1, momentum = 0.9})
  local again = fit(model(2), opt:reset())
  T.eq(again.loss[1], fresh.loss[1])
  T.eq(again.loss[2], fresh.loss[2])
  T.eq(opt.iterations, 6)
end)

T.test("refused when the first model is gone too; a name or none is a new one each fit",
  function()
  local opt = wb.optim.RMSprop{}
  do fit(model(1), opt) end
  collectgarbage(); collectgarbage()
  T.check_error("in the fit of another model", function() fit(model(2), opt) end)
  local m1, m2 = model(1), model(1)
  local h1, h2 = fit(m1, "adam"), fit(m2, nil)
  T.eq(h1.loss[2], h2.loss[2])
  T.ok(m1.optimizer ~= m2.optimizer)
  -- model.optimizer given to another model's fit: the same refusal
  T.check_error("in the fit of another model", function() fit(model(3), m1.optimizer) end)
end)

T.test("a resume takes the file's state, whoever used the optimizer", function()
  local path = T.tmpdir() .. "/st.safetensors"
  local m1 = model(1)
  fit(m1, wb.optim.Adam{lr = 0.01}, {epochs = 1})
  m1:save_state(path)
  local other = wb.optim.Adam{lr = 0.01}
  fit(model(5), other) -- 6 steps for another model
  local m2 = model(9)
  local h = fit(m2, other, {resume = path})
  T.eq(h.epochs, 2)
  T.eq(other.iterations, 6, "the file's 3 steps and this fit's 3")
  -- a resume with no optimizer given: the one built from the file is the model's
  local m3 = model(9)
  fit(m3, nil, {resume = path})
  T.check_error("in the fit of another model", function() fit(model(4), m3.optimizer) end)
end)

T.done()
